"""The secretariat's wording of the emails per edition: stored overrides of the template files
saved (checked first, ops/templates.check), deleted, listed and previewed, for the API and the
pages."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from sqlalchemy import select

from shared.refusals import Refused
from shared.staff.roles import ROLE_LABELS

from ..models import TemplateOverride
from . import plain_wording, template_catalogue, templates
from .templates import TemplateProblem

log = logging.getLogger("prize.notify.templates")


def save_override(session, template: str, language: str, edition: int, text_source: str, html_source: str,
                  by: str):
    """Check and store the override (a new version each save); TemplateProblem if it is broken
    (nothing is stored then), LookupError for a template or language there is no file of."""
    templates.file_sources(template, language)
    try:
        templates.check(template, language, text_source, html_source, edition)
    except TemplateProblem as exc:
        raise TemplateProblem(exc.problems, saying="the template is not saved: ") from None
    row = session.get(TemplateOverride, (template, language, edition), with_for_update=True)
    now = datetime.now(timezone.utc)
    if row is None:
        row = TemplateOverride(template=template, language=language, edition=edition, version=0)
        session.add(row)
    row.text_source, row.html_source = text_source, html_source
    row.version, row.updated_at, row.updated_by = (row.version or 0) + 1, now, by[:200]
    session.flush()
    log.info("template %s.%s overridden for %s by %s (version %d)", template, language, edition, by, row.version)
    return row


def delete_override(session, template: str, language: str, edition: int) -> bool:
    """Back to the file for that edition; False if there was no override."""
    row = session.get(TemplateOverride, (template, language, edition))
    if row is None:
        return False
    session.delete(row)
    return True


def overrides_by_template(session) -> dict[tuple[str, str], list]:
    """(template, language) -> its overrides, latest edition first."""
    found: dict[tuple[str, str], list] = {}
    for row in session.scalars(select(TemplateOverride).order_by(TemplateOverride.edition.desc())):
        found.setdefault((row.template, row.language), []).append(row)
    return found


def preview(session, template: str, language: str, edition: int | None) -> dict:
    """The email rendered with the sample data: the edition's override if it has one, else the
    file (no edition: the file). The sample's year becomes the edition's. TemplateProblem if
    the stored wording fails."""
    templates.file_sources(template, language)
    context = templates.sample_of(template, language, edition)
    row = session.get(TemplateOverride, (template, language, edition)) if edition is not None else None
    if row is not None:
        try:
            subject, text, html = templates._render_stored_pair(
                templates._stored_text.from_string(row.text_source),
                templates._stored_html.from_string(row.html_source), context)
        except Exception as exc:  # saved before a change of the sample data, or of Jinja
            raise TemplateProblem({"stored": [f"the {edition} wording fails with the sample data: "
                                              f"{type(exc).__name__}: {exc}"]}) from exc
    else:
        subject, text, html = templates.render(template, language, context)
    return {"template": template, "language": language, "edition": edition, "overridden": row is not None,
            "subject": subject, "text": text, "html": html}


def require_known(name: str, language: str, edition: int | None = None) -> None:
    """Refused (404) unless there is a template ``name`` in ``language`` (and ``edition`` can be one)."""
    if language not in templates.available().get(name, []):
        raise Refused(404, f"no email template {name} in language {language}")
    # checked before any query: a number past the database's integer range is a 500 there
    if edition is not None and not templates.is_edition(edition):
        raise Refused(404, f"no edition {edition}: an edition is a year from 2000 to 2999")


def listing(db) -> list[dict]:
    """Every email template, what it is for (ops/template_catalogue.py), its languages and the
    editions whose wording is overridden."""
    with db.session() as s:
        stored = overrides_by_template(s)
        return [{"name": name, **template_catalogue.facts(name), "languages": [
            {"language": lang, "overridden": [
                {"edition": o.edition, "version": o.version, "updated_at": o.updated_at, "updated_by": o.updated_by}
                for o in stored.get((name, lang), [])]} for lang in languages]}
            for name, languages in templates.available().items()]


def edition_sources(db, name: str, language: str, edition: int) -> TemplateOverride | dict:
    """The sources used for ``edition``: its stored override, else the file's (as a dict)."""
    with db.session() as s:
        row = s.get(TemplateOverride, (name, language, edition))
    if row is not None:
        return row
    text, html = templates.file_sources(name, language)
    return {"template": name, "language": language, "edition": edition, "overridden": False,
            "text_source": text, "html_source": html}


def overrides(db) -> dict[tuple[str, str], list]:
    """overrides_by_template, the rows detached (for a page)."""
    with db.session() as s:
        stored = overrides_by_template(s)
        s.expunge_all()
    return stored


def remove_override(db, template: str, language: str, edition: int) -> bool:
    """delete_override in a transaction of its own."""
    with db.session() as s, s.begin():
        return delete_override(s, template, language, edition)


def edition_page(db, template: str, language: str, edition: int | None, details: bool = True) -> dict:
    """What the secretariat's template page shows: ``shown`` (the preview; empty, with its
    ``problems``, when the stored wording fails), and with ``details`` the edition's ``override``
    (detached, or None) and the ``editions`` that have one."""
    found = {"problems": {}, "override": None, "editions": []}
    with db.session() as s:
        try:
            found["shown"] = preview(s, template, language, edition)
        except TemplateProblem as exc:
            found["shown"] = {"subject": "", "text": "", "html": "", "overridden": True}
            found["problems"] = dict(exc.problems)
        if not details:
            return found
        row = s.get(TemplateOverride, (template, language, edition)) if edition is not None else None
        found["editions"] = [o.edition for o in overrides_by_template(s).get((template, language), [])]
        if row is not None:
            s.expunge(row)
        found["override"] = row
    return found


def save(db, template: str, language: str, edition: int, text_source: str, html_source: str, by: str):
    """save_override in a transaction of its own: the stored row (detached), or TemplateProblem."""
    with db.session() as s, s.begin():
        return save_override(s, template, language, edition, text_source, html_source, by)


def preview_of(db, template: str, language: str, edition: int | None) -> dict:
    """preview in a session of its own."""
    with db.session() as s:
        return preview(s, template, language, edition)


# --- the people's editor (ops/plain_wording.py) --------------------------------------------------

RAW_REFUSED = ("only an administrator writes the raw Jinja sources (text_source, html_source); your role ({role}) "
               "changes the wording with the subject and text editor of notify's template page")


def may_write_raw(staff_role: str | None) -> bool:
    """Whether a member of the secretariat with ``staff_role`` may store raw Jinja: administrators,
    and operators' tokens (shared.web gives them the staff role admin; a secretariat principal with
    no staff role at all can only be such a token): operators run the system."""
    return staff_role in ("admin", None)


def raw_refusal(staff_role: str | None) -> str:
    return RAW_REFUSED.format(role=ROLE_LABELS.get(staff_role or "", staff_role))


def current_wording(db, template: str, language: str, edition: int | None) -> plain_wording.Wording:
    """The edition's wording (its override, else the file) as the people's editor shows it."""
    if edition is None:
        return plain_wording.wording_of(templates.file_sources(template, language)[0])
    found = edition_sources(db, template, language, edition)
    return plain_wording.wording_of(found["text_source"] if isinstance(found, dict) else found.text_source)


def people_sources(template: str, language: str, edition: int | None, subject: str, body: str,
                   parts: list[str]) -> tuple[str, str]:
    """The (text, html) sources of a wording typed in the people's editor; TemplateProblem on
    "subject" and "body" when it has statements or unknown placeholders, or does not render."""
    sources = plain_wording.sources_of(subject, body, parts, templates.sample_of(template, language, edition), language)
    try:
        templates.check(template, language, *sources, edition)
    except TemplateProblem as exc:
        raise TemplateProblem(plain_wording.as_people_problems(exc.problems)) from None
    return sources


def try_wording(template: str, language: str, edition: int | None, text_source: str, html_source: str) -> dict:
    """A wording rendered with the sample data, without storing anything (the editors' Preview);
    TemplateProblem as on save."""
    templates.file_sources(template, language)
    subject, text, html = templates.check(template, language, text_source, html_source, edition)
    return {"template": template, "language": language, "edition": edition, "overridden": True, "unsaved": True,
            "subject": subject, "text": text, "html": html}
