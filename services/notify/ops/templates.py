"""Email templates: Jinja2 files per template and language, plain text and HTML (autoescaped),
and the secretariat's stored overrides of them per edition (checked on save, run sandboxed)."""
from __future__ import annotations

import logging
import unicodedata
from functools import lru_cache
from pathlib import Path

from jinja2 import (Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, TemplateSyntaxError,
                    UndefinedError, meta, select_autoescape)
from jinja2.exceptions import SecurityError
from sqlalchemy import bindparam, select

from shared.refusals import Refused
from shared.staff.roles import ROLE_LABELS

from . import languages, sandbox
from ..models import TemplateOverride
from ..samples import SAMPLES
from .template_catalogue import CATALOGUE

log = logging.getLogger("prize.notify.templates")

FOLDER = Path(__file__).parent.parent / "templates" / "email"
DEFAULT_LANGUAGE = "en"

_env = Environment(
    loader=FileSystemLoader(FOLDER),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,  # a missing value fails loudly instead of mailing a blank
    keep_trailing_newline=True,
)

# The per-language words of the emails (categories, rounds, pages, dates) are in languages.py;
# the handlers and tests read them here too.
CATEGORY_TITLES, ROUND_TITLES, SIGNIN_PLACES = languages.CATEGORY_TITLES, languages.ROUND_TITLES, languages.SIGNIN_PLACES


def signin_context(d: dict, occurred_at, language: str) -> dict:
    """What the signin_link template says of a ``signin.requested`` event's link or code."""
    expires_at = d["expires_at"]
    place, site = SIGNIN_PLACES[language][d.get("audience") or "applicant"]
    return {
        "contact_name": d["contact_name"], "purpose": d["purpose"], "url": d["url"], "place": place, "site": site,
        # a registration for an address that is registered already: the email says so
        "already_registered": d.get("reason") == "already_registered",
        "code": d.get("code") or "", "minutes": max(1, round((expires_at - occurred_at).total_seconds() / 60)),
        # a staff invitation: who invited them, as what, and where to sign in afterwards
        "invited": d.get("reason") == "staff_invited", "invited_by": d.get("invited_by") or "",
        "role_label": ROLE_LABELS.get(d.get("role") or "", ""),
        "signin_page": d["url"].split("/staff/signin/")[0] + "/staff/signin",
        "expires_at": expires_at.strftime("%Y-%m-%d %H:%M UTC"),
    }


# --- which language an email is written in ------------------------------------------------------

def translated_templates() -> list[str]:
    """The templates people read in their own language: every one but the secretariat's own
    (the catalogue's audience "staff", in English as the staff pages are)."""
    return [name for name in available() if name not in CATALOGUE or CATALOGUE[name].audience != "staff"]


def missing_emails(language: str) -> list[str]:
    """What notify lacks to write every email in ``language``: the template files
    (``finalist_notice.pt.html``) and the tables of languages.py without it."""
    files = [f"{name}.{language}.{kind}" for name in translated_templates() for kind in ("txt", "html")
             if not (FOLDER / f"{name}.{language}.{kind}").exists()]
    return files + [f"languages.{table}" for table in languages.missing_words(language)]


def complete_languages() -> tuple[str, ...]:
    """The languages every email a person gets exists in (English first): an email is written
    in its recipient's language only if that language is here, so nobody reads some emails
    in their language and the next one in English."""
    return _complete(FOLDER)


@lru_cache(maxsize=4)
def _complete(folder: Path) -> tuple[str, ...]:
    # once per process (and folder): the template files are part of the release
    found = {language for languages_of in available().values() for language in languages_of}
    return (DEFAULT_LANGUAGE,) + tuple(sorted(lang for lang in found - {DEFAULT_LANGUAGE}
                                              if not missing_emails(lang)))


def language_for(template: str, wanted: str | None) -> str:
    """The language of an email of ``template`` to someone who reads ``wanted``: theirs when
    notify has every email in it (complete_languages), else English, and the fallback logged
    with what is missing. The secretariat's own emails are in English."""
    if not wanted or wanted == DEFAULT_LANGUAGE or template not in translated_templates():
        return DEFAULT_LANGUAGE
    if wanted in complete_languages():
        return wanted
    missing = missing_emails(wanted)
    log.warning("email %s in English for a reader of %r: notify's emails are not complete in %r "
                "(missing %s%s)", template, wanted, wanted, ", ".join(missing[:5]),
                f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    return DEFAULT_LANGUAGE


def render(template: str, language: str, context: dict, session=None) -> tuple[str, str, str]:
    """Return (subject, text, html).

    With a database ``session``, the secretariat's stored override of this template and language
    for the email's edition is used instead of the file (see ``override_for``). A stored template
    that fails on real data (it passed the sample data when saved) is logged and the file is used:
    an email in the default wording beats an event stuck in the dead-letter queue.
    """
    if session is not None:
        override = override_for(session, template, language, context.get("year"))
        if override is not None:
            try:
                return _render_stored(*override, context)
            except sandbox.TooCostly as exc:  # the data of this email is what makes it costly
                log.warning("stored template %s.%s (edition %s) is too costly for this email (%s); "
                            "using the file", template, language, override[0][2], exc)
            except Exception:
                log.exception("stored template %s.%s (edition %s) failed; using the file",
                              template, language, override[0][2])
    try:
        text_tpl = _env.get_template(f"{template}.{language}.txt")
        html_tpl = _env.get_template(f"{template}.{language}.html")
    except TemplateNotFound as exc:
        raise LookupError(f"no email template {exc.name}") from exc
    return _render_pair(text_tpl, html_tpl, context)


def _render_pair(text_tpl, html_tpl, context: dict) -> tuple[str, str, str]:
    ctx = text_tpl.new_context(dict(context))
    subject = "".join(text_tpl.blocks["subject"](ctx)).strip()
    text = "".join(text_tpl.blocks["text"](ctx)).strip() + "\n"
    html = html_tpl.render(**context)
    return subject, text, html


# --- the file templates there are ----------------------------------------------------------------

def available() -> dict[str, list[str]]:
    """Every template name with the languages it exists in (a .txt and an .html file each)."""
    found: dict[str, list[str]] = {}
    for path in sorted(FOLDER.glob("*.txt")):
        name, _, language = path.stem.rpartition(".")
        if name and (FOLDER / f"{name}.{language}.html").exists():
            found.setdefault(name, []).append(language)
    return found


def file_sources(template: str, language: str) -> tuple[str, str]:
    """The (text, html) source of the file template; LookupError if there is none."""
    if language not in available().get(template, []):
        raise LookupError(f"no email template {template} in {language}")
    return ((FOLDER / f"{template}.{language}.txt").read_text(encoding="utf-8"),
            (FOLDER / f"{template}.{language}.html").read_text(encoding="utf-8"))


# --- stored overrides (the secretariat's wording per edition) ---------------------------------------

# A stored template is user input run for every email of its edition: in sandbox.py's sandbox,
# within a budget of time, loop steps, output and value sizes (each render of the subject and
# text, and of the HTML, gets RENDER_SECONDS).
_stored_text = sandbox.Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_stored_html = sandbox.Sandbox(undefined=StrictUndefined, autoescape=True, keep_trailing_newline=True)
MAX_SOURCE = 100_000  # characters of one stored source
RENDER_SECONDS = sandbox.RENDER_SECONDS

# (template, language, edition, version, updated_at) -> compiled (text, html): a saved override
# gets a new version, so a stale entry is never used, only left behind (bounded below).
_compiled: dict[tuple, tuple] = {}


_T = TemplateOverride.__table__
_LATEST_OVERRIDE = (select(_T.c.edition, _T.c.version, _T.c.updated_at)
                    .where(_T.c.template == bindparam("template"), _T.c.language == bindparam("language"))
                    .order_by(_T.c.edition.desc()).limit(1))
_EDITION_OVERRIDE = _LATEST_OVERRIDE.where(_T.c.edition == bindparam("edition"))


def override_for(session, template: str, language: str, year) -> tuple[tuple, tuple] | None:
    """The stored override to use for an email of ``template`` in ``language``, or None (the file).

    Edition: the email's ``year`` (its call's year) when its context has one: the override of
    exactly that edition, else the file (another edition's wording is not borrowed). Emails with
    no year (signin_link, juror_invited, delivery_failed_alert) belong to no one edition: they use
    the override of the latest edition that has one for this template and language, so the
    secretariat's current wording applies. One indexed query of a small table per email (the key
    and version only); the sources are read and compiled once per version and process, so an
    override saved in the web app applies to the very next email the worker renders.
    """
    # Core on the session's connection: this runs for every email, and the ORM's execution of a
    # plain column query costs several times the query itself (no autoflush needed: the
    # transaction writes no override).
    found = session.connection().execute(
        _LATEST_OVERRIDE if not isinstance(year, int) or isinstance(year, bool) else _EDITION_OVERRIDE,
        {"template": template, "language": language, "edition": year}).first()
    if found is None:
        return None
    key = (template, language, found.edition, found.version, found.updated_at)
    compiled = _compiled.get(key)
    if compiled is None:
        row = session.get(TemplateOverride, (template, language, found.edition))
        if row is None:  # deleted in between
            return None
        compiled = (_stored_text.from_string(row.text_source), _stored_html.from_string(row.html_source))
        if len(_compiled) > 500:  # old versions pile up only as fast as people save
            _compiled.clear()
        _compiled[key] = compiled
    return key, compiled


def _render_stored(key, compiled, context: dict) -> tuple[str, str, str]:
    return _render_stored_pair(compiled[0], compiled[1], context)


def _render_stored_pair(text_tpl, html_tpl, context: dict) -> tuple[str, str, str]:
    """_render_pair for stored templates: the subject and text, then the HTML, each on a budget."""
    with sandbox.budget(RENDER_SECONDS):
        ctx = text_tpl.new_context(dict(context))
        subject = "".join(text_tpl.blocks["subject"](ctx)).strip()
        text = "".join(text_tpl.blocks["text"](ctx)).strip() + "\n"
    with sandbox.budget(RENDER_SECONDS):
        html = html_tpl.render(**context)
    return subject, text, html


def _subject_problem(subject: str) -> str | None:
    """Why the subject cannot be an email's Subject header, or None."""
    if not subject:
        return "the subject is empty"
    for i, char in enumerate(subject):
        # Cc: C0 and C1 controls (\n, \t, \x0b...); Zl, Zp: Unicode line breaks; Cs: lone surrogates
        if unicodedata.category(char) in ("Cc", "Zl", "Zp", "Cs"):
            return ("the subject must be one line of text without control characters: it has "
                    f"U+{ord(char):04X} at position {i + 1}")
    if len(subject) > 500:
        return "the subject is longer than 500 characters"
    return None


FIRST_EDITION, LAST_EDITION = 2000, 2999


def is_edition(year: int) -> bool:
    """Whether ``year`` can be an edition (a call's year) whose wording is stored."""
    return FIRST_EDITION <= year <= LAST_EDITION


def sample_of(template: str, language: str = DEFAULT_LANGUAGE, edition: int | None = None) -> dict:
    """The template's sample data (samples.py) as an email in ``language`` has it (its category,
    round, dates... in that language), of ``edition`` when given (its emails carry that year)."""
    context = languages.localised(SAMPLES[template], language)
    if edition is not None and "year" in context:
        context["year"] = edition
    return context


class TemplateProblem(Refused, ValueError):
    """A stored template that cannot be used (422); ``problems`` maps "text_source"/"html_source"
    to sentences a person can act on (the API's ``errors.json``). ``saying`` comes before them in
    the message ("the template is not saved: " on save)."""

    def __init__(self, problems: dict[str, list[str]], saying: str = ""):
        self.problems = problems
        said = "; ".join(f"{field}: {p}" for field, ps in problems.items() for p in ps)
        super().__init__(422, saying + said, errors={"json": problems})


def check(template: str, language: str, text_source: str, html_source: str,
          edition: int | None = None) -> tuple[str, str, str]:
    """Compile and render a candidate override with the template's sample data (samples.py), in
    the sandbox with StrictUndefined and its budget; return what it renders, or raise
    TemplateProblem naming every problem: a syntax error (with its line), a variable the emails
    of this template do not have, a missing ``subject`` or ``text`` block, what the sandbox
    refuses or finds too costly, an empty subject or one with a line break or any other control
    character (which every email of the template would then fail on)."""
    sample = sample_of(template, language, edition)
    problems: dict[str, list[str]] = {}
    compiled = {}
    for field, env, source in (("text_source", _stored_text, text_source), ("html_source", _stored_html, html_source)):
        said = problems.setdefault(field, [])
        tpl = _compiled_source(env, source, sample, said)
        if tpl is not None:
            compiled[field] = tpl
    text_problems = problems["text_source"]
    if "text_source" in compiled:
        missing = [b for b in ("subject", "text") if b not in compiled["text_source"].blocks]
        if missing:
            text_problems.append("missing block" + ("s " if len(missing) > 1 else " ")
                                 + " and ".join(f"{{% block {b} %}}" for b in missing))
    rendered = {}
    for field, tpl in compiled.items():
        if not problems[field]:
            _render_sample(field, tpl, sample, rendered, problems[field])
    if "subject" in rendered and (problem := _subject_problem(rendered["subject"])):
        text_problems.append(problem)
    problems = {f: ps for f, ps in problems.items() if ps}
    if problems:
        raise TemplateProblem(problems)
    return rendered["subject"], rendered["text"], rendered["html"]


def _compiled_source(env, source: str, sample: dict, said: list[str]):
    """The compiled source, or None with what is wrong with it added to ``said``."""
    if not source.strip():
        said.append("is empty")
        return None
    if len(source) > MAX_SOURCE:
        said.append(f"is longer than {MAX_SOURCE} characters")
        return None
    try:
        parsed = env.parse(source)
    except TemplateSyntaxError as exc:
        said.append(f"syntax error on line {exc.lineno}: {exc.message}")
        return None
    unknown = sorted(meta.find_undeclared_variables(parsed) - set(sample) - set(env.globals))
    if unknown:
        said.append(f"unknown variable{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                    f"this email has: {', '.join(sorted(sample))}")
        return None
    return env.from_string(source)


def _render_sample(field: str, tpl, sample: dict, rendered: dict, said: list[str]) -> None:
    """Render one compiled source with the sample into ``rendered``, or say why it fails."""
    try:
        with sandbox.budget(RENDER_SECONDS):
            if field == "text_source":
                ctx = tpl.new_context(dict(sample))
                rendered["subject"] = "".join(tpl.blocks["subject"](ctx)).strip()
                rendered["text"] = "".join(tpl.blocks["text"](ctx)).strip() + "\n"
            else:
                rendered["html"] = tpl.render(**sample)
    except UndefinedError as exc:
        said.append(f"fails with the sample data: {exc.message}")
    except sandbox.TooCostly as exc:
        said.append(f"too costly to render: {exc}")
    except SecurityError as exc:
        said.append(f"not allowed: {exc}")
    except Exception as exc:  # a template may divide by zero, call a number...: say so, do not crash
        said.append(f"fails with the sample data: {type(exc).__name__}: {exc}")
