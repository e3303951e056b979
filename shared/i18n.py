"""Pages in the applicant's and the juror's language: Babel message catalogues through Flask-Babel.

The catalogues live in ``shared/locales``: ``messages.pot`` holds every English message of the
applicants' and jurors' pages (extracted from the code and templates by ``make messages``), and
``<language>/LC_MESSAGES/messages.po`` one translation. A language is offered when its catalogue
translates every message of the template and nothing in it is marked fuzzy; English is the
source and always offered. Adding a language is adding one ``.po`` file (README, "Languages").

The catalogues are read from their ``.po`` text and compiled in memory once per process, so
there is no build step and no compiled file to keep in step with its source.

Staff pages stay in English: the locale of a staff request is always English.
"""
from __future__ import annotations

import io
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as _babel_date, format_datetime as _babel_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal as _babel_decimal
from babel.support import NullTranslations, Translations
from flask import Blueprint, Flask, abort, g, redirect, request
from flask_babel import Babel, Domain, get_locale
from werkzeug.exceptions import HTTPException
from flask_babel import gettext as _flask_gettext
from flask_babel import lazy_gettext as _flask_lazy_gettext
from flask_babel import ngettext as _flask_ngettext

LOCALES = Path(__file__).resolve().parent / "locales"
TEMPLATE = LOCALES / "messages.pot"
SOURCE_LANGUAGE = "en"
LANGUAGE_COOKIE = "prize_lang"
# Roles whose pages are translated; every other caller (staff, operators) reads English.
TRANSLATED_ROLES = ("applicant", "juror")

_ = gettext = _flask_gettext
_l = lazy_gettext = _flask_lazy_gettext
ngettext = _flask_ngettext


# --- the catalogues ---------------------------------------------------------------------------

def _po_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / "messages.po"


@lru_cache(maxsize=None)
def _catalogue(path: Path):
    language = path.parent.parent.name if path.suffix == ".po" else None
    with path.open("rb") as fh:
        return read_po(fh, locale=language)


def template_ids() -> set:
    """The message ids of the English template (a plural message is its (singular, plural) pair)."""
    return {m.id for m in _catalogue(TEMPLATE) if m.id}


def catalogue_languages() -> list[str]:
    """Every language that has a catalogue file, complete or not."""
    return sorted(p.name for p in LOCALES.iterdir() if _po_path(p.name).is_file())


def missing_messages(language: str) -> list:
    """The template's messages that ``language``'s catalogue does not translate (absent, empty,
    or fuzzy): what a translator still has to write before the language is offered."""
    path = _po_path(language)
    if not path.is_file():
        return sorted(template_ids(), key=str)
    po = _catalogue(path)
    missing = []
    for mid in template_ids():
        message = po.get(mid)
        strings = [] if message is None else (
            list(message.string) if isinstance(message.string, (tuple, list)) else [message.string])
        if message is None or message.fuzzy or not strings or not all(strings):
            missing.append(mid)
    return sorted(missing, key=str)


@lru_cache(maxsize=None)
def offered_languages() -> tuple[str, ...]:
    """English, then every language whose catalogue is complete, in code order."""
    return (SOURCE_LANGUAGE,) + tuple(lang for lang in catalogue_languages()
                                      if lang != SOURCE_LANGUAGE and not missing_messages(lang))


def is_offered(language: str | None) -> bool:
    return bool(language) and language in offered_languages()


@lru_cache(maxsize=None)
def translations(language: str):
    """``language``'s catalogue compiled in memory (English: no translation at all)."""
    if language == SOURCE_LANGUAGE or not _po_path(language).is_file():
        return NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, _catalogue(_po_path(language)), use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain="messages")


def language_name(language: str) -> str:
    """The language's own name for itself: English, 한국어, Português."""
    name = Locale.parse(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]


def text_direction(language: str) -> str:
    """``rtl`` for a language written right to left (Arabic), else ``ltr``."""
    try:
        order = Locale.parse(language).character_order
    except (ValueError, TypeError):
        return "ltr"
    return "rtl" if order == "right-to-left" else "ltr"


def choose(accepted: str | None = None, *candidates: str | None) -> str:
    """The first offered language among ``candidates``, else the best offered match of an
    Accept-Language header, else English."""
    for candidate in candidates:
        if is_offered(candidate):
            return candidate
    if accepted:
        from werkzeug.datastructures import LanguageAccept
        from werkzeug.http import parse_accept_header
        best = parse_accept_header(accepted, LanguageAccept).best_match(offered_languages())
        if best:
            return best
    return SOURCE_LANGUAGE


# --- formatting per locale --------------------------------------------------------------------

def _locale() -> str:
    found = get_locale()
    return str(found) if found is not None else SOURCE_LANGUAGE


def local_datetime(moment: datetime | None, time_zone: str = "UTC", length: str = "medium") -> str:
    """``moment`` in ``time_zone``, written the way the page's language writes dates and times."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return _babel_datetime(moment, length, tzinfo=ZoneInfo(time_zone or "UTC"), locale=_locale())


def local_date(day, length: str = "long") -> str:
    return "" if day is None else _babel_date(day, length, locale=_locale())


def local_number(value) -> str:
    return "" if value is None else _babel_decimal(value, locale=_locale())


# --- Flask ------------------------------------------------------------------------------------

class _PoDomain(Domain):
    """Flask-Babel's domain reading our in-memory catalogues instead of compiled files."""

    def get_translations(self):
        locale = get_locale()
        return translations(str(locale)) if locale is not None else NullTranslations()


class _Babel(Babel):
    @property
    def domain_instance(self):
        return _DOMAIN


_DOMAIN = _PoDomain()


def _safe_next(target: str | None) -> str:
    """A path on this site to go back to: never another host."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


# /storage/: the embedded file store's upload and download, no page. Its upload must not meet the
# signed-in person's lookup either: a session cookie on a POST makes that lookup read the form for
# a CSRF token, which would consume the multipart body before the upload's own streaming parser.
_UNTRANSLATED_PATHS = ("/api/", "/static/", "/storage/", "/healthz", "/readyz", "/metrics", "/openapi.json",
                       "/docs")
# The staff's pages, in English whatever the browser asks.
STAFF_PATHS = ("/secretariat", "/staff", "/operator")


class PageLanguage:
    """Wires a service's pages for languages.

    ``person`` answers (role, language) of whoever is signed in, or None; ``set_person`` records
    a signed-in applicant's or juror's new language; ``csrf_token``/``csrf_ok`` are the service's
    form token and its check.
    """

    def __init__(self, person: Callable[[], tuple[str, str | None] | None],
                 set_person: Callable[[str], None], csrf_token: Callable[[], str],
                 csrf_ok: Callable[[], bool]):
        self.person, self.set_person = person, set_person
        self.csrf_token, self.csrf_ok = csrf_token, csrf_ok

    def current(self) -> str:
        """The language of this request: staff read English; a signed-in applicant or juror their
        own language; anyone else the switch's cookie, else their browser's preference."""
        if "prize_language" in g:
            return g.prize_language
        english_only = request.path.startswith(STAFF_PATHS + _UNTRANSLATED_PATHS)
        who = None if english_only else self._who()
        if english_only or (who is not None and who[0] not in TRANSLATED_ROLES):
            language = SOURCE_LANGUAGE
        else:
            own = who[1] if who is not None else None
            language = choose(request.headers.get("Accept-Language"), own, request.cookies.get(LANGUAGE_COOKIE))
        g.prize_language = language
        return language

    def _who(self):
        try:
            return self.person()
        except HTTPException:  # an expired or unreadable session reads as anonymous here
            return None

    def init_app(self, app: Flask) -> None:
        _Babel(app, locale_selector=self.current)

        @app.before_request
        def _decide_language():
            # Decided before a page opens its own database session: on SQLite every transaction
            # takes the write lock, so reading the person inside a page's session would wait on it.
            if not request.path.startswith(_UNTRANSLATED_PATHS):
                self.current()
        app.jinja_env.filters.update(local_datetime=local_datetime, local_date=local_date,
                                     local_number=local_number)
        app.jinja_env.globals.update(language_name=language_name)

        @app.context_processor
        def _language_context():
            if request.path.startswith(STAFF_PATHS):
                return {}
            language = self.current()
            return {"lang": language, "text_dir": text_direction(language),
                    "languages": [(code, language_name(code)) for code in offered_languages()],
                    "language_csrf": self.csrf_token, "language_next": request.full_path.rstrip("?")}

        switch = Blueprint(f"{app.name.rsplit('.', 1)[-1]}_language", __name__)

        @switch.post("/language")
        def change_language():
            """The language switch of every page: remembered in a cookie and, for a signed-in
            applicant or juror, as their language (emails follow it too)."""
            if not self.csrf_ok():
                abort(403)
            chosen = request.form.get("language", "")
            if not is_offered(chosen):
                abort(400, f"The language {chosen!r} is not offered here. Offered: "
                           f"{', '.join(offered_languages())}.")
            who = self.person()
            if who is not None and who[0] in TRANSLATED_ROLES:
                self.set_person(chosen)
            response = redirect(_safe_next(request.form.get("next")), 303)
            response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax",
                                httponly=True, secure=request.is_secure)
            return response

        app.register_blueprint(switch)
