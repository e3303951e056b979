"""Consents, each kept with the notice's version it was given to: at registration (the notice of
the latest published edition) and before a ceremony answer gives visa and passport details (the
notice of the application's edition). A consent row says who, to which edition's notice in which
version (and the SHA-256 of its text), for what, when and from which client address: what GDPR
Article 7(1) asks ("able to demonstrate that the data subject has consented") and PIPA Articles
15 and 22 (consent asked for each purpose, separately).

The versions are what the person read: a form built on an older version is refused, so nobody is
recorded as agreeing to a text they were not shown.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from ..models import Call, Consent
from ..rules import RuleViolation
from .privacy import Notice, NoticeTerms, current_call, notice_of

REGISTRATION, TRAVEL_DATA = "registration", "travel_data"
PURPOSES = (REGISTRATION, TRAVEL_DATA)
FIELD = "privacy_consent"
# The API's message when a registration sends no consent (the schema's "required").
MISSING_AT_REGISTRATION = ("consent to the privacy notice is required to register: read it (GET /api/privacy-notice "
                           "or the /privacy page) and send its version as privacy_consent")


class ConsentRefused(RuleViolation):
    """No consent, or a consent to a version that is no longer the notice's (422 on
    ``privacy_consent``). ``reason`` is "missing" or "stale"; ``notice`` the notice now."""

    def __init__(self, reason: str, message: str, notice: Notice):
        super().__init__(422, message, field=FIELD)
        self.reason, self.notice = reason, notice


def _stale(notice: Notice, given: int) -> ConsentRefused:
    return ConsentRefused("stale", f"version {given} is not the privacy notice's current version ({notice.version}): "
                                   "read the notice again and consent to the version you read", notice)


def registration_notice(s, given: int) -> Notice:
    """The notice a registration consents to, if ``given`` is its current version."""
    notice = notice_of(current_call(s))
    if given != notice.version:
        raise _stale(notice, given)
    return notice


def record(s, applicant_id: str, notice: Notice, purpose: str, now: datetime, client: str,
           terms: NoticeTerms) -> Consent:
    """Add the consent row in the caller's transaction."""
    row = Consent(id=str(uuid.uuid4()), applicant_id=applicant_id, call_id=notice.call_id, purpose=purpose,
                  notice_version=notice.version, notice_sha256=notice.digest(terms), given_at=now,
                  client=(client or "")[:100])
    s.add(row)
    return row


def on_record(s, applicant_id: str, notice: Notice, purpose: str) -> Consent | None:
    """The person's latest consent for ``purpose`` to this very version of ``notice``, if any."""
    return s.scalars(select(Consent).where(
        Consent.applicant_id == applicant_id, Consent.purpose == purpose, Consent.notice_version == notice.version,
        Consent.call_id.is_(None) if notice.call_id is None else Consent.call_id == notice.call_id)
        .order_by(Consent.given_at.desc()).limit(1)).first()


def require_travel_consent(s, applicant_id: str, call: Call, given: int | None, now: datetime, client: str,
                           terms: NoticeTerms) -> None:
    """Visa and passport details are taken with a consent to the edition's current notice: given
    now (``given``, the version read; recorded), or earlier to this same version."""
    notice = notice_of(call)
    if given is not None and given != notice.version:
        raise _stale(notice, given)
    if on_record(s, applicant_id, notice, TRAVEL_DATA) is not None:
        return
    if given is None:
        raise ConsentRefused("missing", "to give visa and passport details, consent to the privacy notice: send its "
                                        f"version ({notice.version}) as privacy_consent", notice)
    record(s, applicant_id, notice, TRAVEL_DATA, now, client, terms)


def consents_of(db, applicant_id: str) -> list[dict]:
    """The person's record of what they agreed to, oldest first."""
    with db.session() as s:
        rows = s.execute(select(Consent, Call.year).outerjoin(Call, Call.id == Consent.call_id)
                         .where(Consent.applicant_id == applicant_id).order_by(Consent.given_at)).all()
        return [{"purpose": c.purpose, "year": year, "version": c.notice_version, "given_at": c.given_at,
                 "sha256": c.notice_sha256} for c, year in rows]
