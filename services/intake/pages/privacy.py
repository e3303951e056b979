"""The privacy notice as applicants read it (``/privacy``: the notice registration consents to;
``/privacy/<year>``: an edition's), in their language, and what the portal's forms need of it:
the notice's version for the consent boxes of registration and of the ceremony answer, and the
consent refusals of ops/consents.py as translated sentences. On the portal's blueprint."""
from __future__ import annotations

from flask import abort, current_app, url_for

from shared.i18n import _, _l
from shared.refusals import Refused

from ..ops import consents, privacy
from ..ops.privacy import Notice
from ..ops.privacy_text import SECTIONS
from ..web import _db, notice_terms
from .applicant import _render, _signed_in_applicant, portal

PURPOSE_LABELS = {consents.REGISTRATION: _l("Registration: your account and applications"),
                  consents.TRAVEL_DATA: _l("Visa and passport details for the award ceremony")}
CONSENT_MISSING = _l("Please tick the box to confirm that you have read the privacy notice: we cannot register you "
                     "without your consent.")
TRAVEL_CONSENT_MISSING = _l("Please tick the box to agree to the privacy notice for the visa and passport details, "
                            "or leave the visa letter unticked.")
CONSENT_STALE = _l("The privacy notice changed while you were filling in this form (it is now version %(version)s). "
                   "Please read it again and tick the box once more.")


@portal.app_context_processor
def _secretariat_contact():
    """The secretariat's address, for the footer of every portal page."""
    return {"secretariat_email": current_app.extensions["prize"]["settings"].secretariat_email}


def page_url(notice: Notice) -> str:
    if notice.year is None:
        return url_for("portal.privacy_notice")
    return url_for("portal.edition_privacy_notice", year=notice.year)


def sections(notice: Notice) -> list[dict]:
    """The notice as the page shows it: the default notice translated into the page's language,
    or the secretariat's own text as written (headings: none; paragraphs split by blank lines)."""
    if not notice.is_default:
        return [{"heading": None, "paragraphs": [p.split("\n") for p in privacy.paragraphs(notice.text)]}]
    terms = notice_terms()
    values = {"email": terms.email, "days": terms.travel_data_days}
    return [{"heading": _(heading), "paragraphs": [[_(p, **values)] for p in paragraphs]}
            for heading, paragraphs in SECTIONS]


def consent_box(notice: Notice) -> dict:
    """What a consent checkbox shows and sends: the version it agrees to, and where to read it."""
    return {"version": notice.version, "url": page_url(notice), "year": notice.year}


def registration_box() -> dict:
    return consent_box(privacy.current_notice(_db()))


def consent_message(exc: consents.ConsentRefused, missing=CONSENT_MISSING) -> str:
    """A consent refusal of ops/consents.py, in the page's language."""
    if exc.reason == "stale":
        return str(CONSENT_STALE) % {"version": exc.notice.version}
    return str(missing)


def given_version(raw: str | None) -> int | None:
    """The version a ticked consent box sent (None: not ticked, or nothing a version can be)."""
    raw = (raw or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) < 10 else None


def _show(notice: Notice):
    with _db().session() as s:
        applicant = _signed_in_applicant(s, required=False)
    agreed = consents.consents_of(_db(), applicant.id) if applicant is not None else []
    for row in agreed:
        row["label"] = str(PURPOSE_LABELS.get(row["purpose"], row["purpose"]))
    return _render("portal/privacy.html", applicant, notice=notice, sections=sections(notice), agreed=agreed,
                   terms=notice_terms())


@portal.get("/privacy")
def privacy_notice():
    """The notice that applies now: the one a registration consents to."""
    return _show(privacy.current_notice(_db()))


@portal.get("/privacy/<int:year>")
def edition_privacy_notice(year: int):
    """An edition's notice (a draft edition's is not published yet)."""
    try:
        return _show(privacy.published_notice(_db(), year))
    except Refused:
        abort(404)
