"""Erasure at the applicant's request (GDPR Art. 17, PIPA Art. 36). Flask-free.

The applicant asks on their My data page once the edition is over for them (rules.erasure_blockers:
no application of theirs still in the running or invited to a ceremony still to come). The
secretariat looks at what will be erased in each service (``look``, with a marker of what it
showed) and approves or refuses with a reason; who decided and when are kept. On approval intake
erases its part (ops/erasure_apply.py) and publishes ``applicant.erased`` (ids only) in the same
transaction; review and notify erase theirs when it reaches them. The files go from the store
after the commit; approving again changes nothing and removes any file left behind.
"""
from __future__ import annotations

import hashlib
import json
import logging
import uuid

from sqlalchemy import func, select

from shared.events import make_event
from shared.erasure import ERASED
from shared.outbox import record
from shared.refusals import Refused

from .. import rules
from ..models import (Applicant, Application, Call, Ceremony, CeremonyInvitation, ContactChange, Document,
                      ErasureRequest, Rsvp, StatusUpdate, outbox, signin_tables)
from .documents import key_prefix, verified_prefix
from .erasure_apply import erase, redactor_for

log = logging.getLogger("prize.intake.erasure")
PRODUCER = "intake"


class ErasureWaits(Refused):
    """An application of the applicant's stops erasure for now (409); ``waiting`` lists which and why."""

    def __init__(self, waiting: list[dict]):
        parts = "; ".join(f"{w['reference']} {rules.ERASURE_WAITS[w['why']]}" for w in waiting)
        super().__init__(409, f"your data can be erased once the edition is over for you: {parts}", waiting=waiting)


class Stale(Refused):
    """What the confirmation showed has changed since (409): look again."""

    def __init__(self):
        super().__init__(409, "this request changed since the page was shown: read it again before deciding")


def _id() -> str:
    return str(uuid.uuid4())


def waiting(s, applicant_id: str, now) -> list[dict]:
    """Each application of the applicant's that stops erasure now: {reference, year, why}."""
    applications = s.scalars(select(Application).where(Application.applicant_id == applicant_id)
                             .order_by(Application.created_at)).all()
    ids = [a.id for a in applications]
    updates: dict[str, list] = {}
    for u in s.scalars(select(StatusUpdate).where(StatusUpdate.application_id.in_(ids))):
        updates.setdefault(u.application_id, []).append(u)
    ahead = set(s.scalars(select(CeremonyInvitation.application_id).join(
        Ceremony, Ceremony.call_id == CeremonyInvitation.call_id).where(
        CeremonyInvitation.application_id.in_(ids), Ceremony.starts_at > now)))
    years = {c.id: c.year for c in s.scalars(select(Call))}
    return [{"reference": a.reference, "year": years.get(a.call_id), "why": why}
            for a, why in rules.erasure_blockers(applications, updates, ahead)]


def _open_request(s, applicant_id: str) -> ErasureRequest | None:
    return s.scalar(select(ErasureRequest).where(ErasureRequest.applicant_id == applicant_id,
                                                 ErasureRequest.status == "requested"))


def my_erasure(db, applicant_id: str, now) -> dict:
    """What the applicant's My data page says of erasure: a request waiting, the last refusal,
    or what stops a request now."""
    with db.session() as s:
        last = s.scalar(select(ErasureRequest).where(ErasureRequest.applicant_id == applicant_id)
                        .order_by(ErasureRequest.requested_at.desc()).limit(1))
        return {"open": last if last is not None and last.status == "requested" else None,
                "refused": last if last is not None and last.status == "refused" else None,
                "waiting": waiting(s, applicant_id, now)}


def request_erasure(db, applicant_id: str, now) -> tuple[ErasureRequest, bool]:
    """Ask for erasure: (the request, whether it is new). A request already waiting is returned
    as it is (a second click); ErasureWaits while an application stops it."""
    with db.session() as s, s.begin():
        applicant = s.get(Applicant, applicant_id, with_for_update=True)
        if applicant is None or applicant.erased_at is not None:
            raise Refused(404, f"no applicant {applicant_id}")
        existing = _open_request(s, applicant_id)
        if existing is not None:
            return existing, False
        blocked = waiting(s, applicant_id, now)
        if blocked:
            raise ErasureWaits(blocked)
        row = ErasureRequest(id=_id(), applicant_id=applicant_id, status="requested", requested_at=now,
                             refusal_reason="", summary={})
        s.add(row)
        return row, True


# --- the secretariat ---------------------------------------------------------------------------

def requests(db) -> list[dict]:
    """Every request, those waiting first (oldest first), then the decided ones (newest first)."""
    with db.session() as s:
        rows = s.execute(select(ErasureRequest, Applicant).join(Applicant, Applicant.id == ErasureRequest.applicant_id)
                         .order_by(ErasureRequest.requested_at)).all()
        shown = [{"request": r, "applicant": a} for r, a in rows]
    waiting_ = [x for x in shown if x["request"].status == "requested"]
    decided = sorted((x for x in shown if x["request"].status != "requested"),
                     key=lambda x: rules.as_utc(x["request"].decided_at or x["request"].requested_at), reverse=True)
    return waiting_ + decided


def _load(s, request_id: str, *, lock: bool = False) -> tuple[ErasureRequest, Applicant]:
    try:
        uuid.UUID(str(request_id))
    except ValueError:
        raise Refused(404, f"no erasure request {request_id}") from None
    row = s.get(ErasureRequest, str(request_id), with_for_update=lock)
    if row is None:
        raise Refused(404, f"no erasure request {request_id}")
    return row, s.get(Applicant, row.applicant_id, with_for_update=lock)


def _look(s, row: ErasureRequest, applicant: Applicant, now) -> dict:
    applications = s.scalars(select(Application).where(Application.applicant_id == applicant.id)
                             .order_by(Application.created_at)).all()
    ids = [a.id for a in applications]
    years = {c.id: c.year for c in s.scalars(select(Call))}
    files = s.execute(select(func.count(), func.coalesce(func.sum(Document.size), 0))
                      .where(Document.application_id.in_(ids), Document.status == "verified")).one()
    links, sessions = signin_tables.links, signin_tables.sessions
    rsvps = [r for r in (s.get(Rsvp, i) for i in ids) if r is not None]
    redactor = redactor_for(s, applicant, applications)
    return {
        "applicant": {"id": applicant.id, "type": applicant.type, "organisation": applicant.organisation,
                      "country": applicant.country, "city": applicant.city, "contact_name": applicant.contact_name,
                      "contact_email": applicant.contact_email, "secondary_name": applicant.secondary_name,
                      "secondary_email": applicant.secondary_email, "erased": applicant.erased_at is not None},
        "individual": applicant.type == "individual",
        "applications": [{"id": a.id, "reference": a.reference, "year": years.get(a.call_id), "status": a.status}
                         for a in applications],
        "files": {"count": files[0], "bytes": int(files[1])},
        "sign_in_links": s.scalar(select(func.count()).select_from(links).where(links.c.applicant_id == applicant.id)),
        "sessions": s.scalar(select(func.count()).select_from(sessions).where(sessions.c.applicant_id == applicant.id)),
        "address_changes": s.scalar(select(func.count()).select_from(ContactChange)
                                    .where(ContactChange.applicant_id == applicant.id)),
        "ceremony_answers": len(rsvps),
        "addresses": redactor.emails,
        "waiting": waiting(s, applicant.id, now) if row.status == "requested" else [],
    }


def marker(look: dict) -> str:
    return hashlib.sha256(json.dumps(look, sort_keys=True, default=str).encode()).hexdigest()[:20]


def look(db, request_id: str, now) -> tuple[ErasureRequest, dict, str]:
    """(the request, what approving it will erase, the marker of that) for the confirmation."""
    with db.session() as s:
        row, applicant = _load(s, request_id)
        shown = _look(s, row, applicant, now)
    return row, shown, marker(shown)


def approve(db, storage, request_id: str, who: str, expected: str, now) -> tuple[ErasureRequest, bool]:
    """Erase the applicant (intake's part, and applicant.erased for review's and notify's): returns
    (the request, whether it was approved before). A second approval changes nothing but
    removes any file a first one left in the store."""
    with db.session() as s, s.begin():
        row, applicant = _load(s, request_id, lock=True)
        already = row.status == "approved"
        if row.status == "refused":
            raise Refused(409, f"this request was refused on {rules.as_utc(row.decided_at):%Y-%m-%d}; "
                               "the applicant may ask again")
        if not already:
            if expected != marker(_look(s, row, applicant, now)):
                raise Stale()
            blocked = waiting(s, applicant.id, now)
            if blocked:
                raise ErasureWaits(blocked)
            _erase(s, row, applicant, who, now)
        application_ids = list(row.summary.get("application_ids") or [])
        keys = list(row.summary.get("storage_keys") or [])
    remove_files(storage, application_ids, keys)
    return row, already


def _erase(s, row: ErasureRequest, applicant: Applicant, who: str, now) -> None:
    done = erase(s, applicant, now)
    s.flush()
    kept = s.scalars(select(Application).where(Application.applicant_id == applicant.id)
                     .order_by(Application.created_at)).all()
    event = make_event("applicant.erased", {
        "applicant_id": applicant.id, "applicant_type": applicant.type, "application_ids": done.application_ids,
        "applications": [_content(a) for a in kept], "request_id": row.id, "erased_at": now},
        producer=PRODUCER, correlation_id=applicant.id)
    record(s, outbox, event)
    row.status, row.decided_by, row.decided_at, row.event_id = "approved", who, now, str(event.id)
    # keys and ids only: what a second approval needs to finish removing the files
    row.summary = {"counts": done.counts, "application_ids": done.application_ids,
                   "storage_keys": done.storage_keys}


def _content(row: Application) -> dict:
    """A kept application's content after the erasure (what review's copy becomes)."""
    return {"application_id": row.id, "title": row.title or ERASED, "summary": row.summary or "",
            "answers": {k: v or "" for k, v in (row.answers or {}).items()},
            "project": {f: getattr(row, f) or "" for f in ("location", "start_date", "budget", "partners")}}


def remove_files(storage, application_ids: list[str], keys: list[str]) -> int:
    """Delete the applicant's objects from the store: the documents' keys and anything else under
    their applications' folders. A failure is logged; approving again tries again."""
    removed = 0
    for application_id in application_ids:
        try:
            keys = keys + storage.list_keys(key_prefix(application_id)) + storage.list_keys(verified_prefix(application_id))
        except Exception:
            log.exception("could not list the files of application %s", application_id)
    for key in dict.fromkeys(keys):
        if key.startswith("erased/"):
            continue
        try:
            storage.delete(key)
            removed += 1
        except Exception:
            log.exception("could not delete %s from the store", key)
    return removed


def refuse(db, request_id: str, who: str, reason: str, now) -> ErasureRequest:
    """Refuse a waiting request with a reason the applicant reads; refusing it again changes nothing."""
    with db.session() as s, s.begin():
        row, _ = _load(s, request_id, lock=True)
        if row.status == "approved":
            raise Refused(409, "this request was approved and the data erased: it cannot be refused now")
        if row.status == "requested":
            row.status, row.decided_by, row.decided_at, row.refusal_reason = "refused", who, now, reason
        return row
