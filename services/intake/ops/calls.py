"""The editions of the prize (calls): one edition a year, their terms and the versions of an
opened call's terms, and the deadline exceptions granted to one applicant."""
from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timezone

from sqlalchemy import select

from shared.events import make_event
from shared.outbox import record
from shared.refusals import Refused

from .. import rules
from ..models import Applicant, Application, Call, CallVersion, DeadlineException, outbox

PRODUCER = "intake"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def call_event(call: Call) -> dict:
    return make_event("call.opened", {
        "call_id": call.id, "year": call.year, "theme": call.theme,
        "opens_at": rules.as_utc(call.opens_at), "closes_at": rules.as_utc(call.closes_at),
        "time_zone": call.time_zone, "score_min": call.score_min, "score_max": call.score_max,
        "categories": call.categories, "version": call.version or 1,
    }, producer=PRODUCER, correlation_id=call.id)


def terms(call: Call) -> dict:
    """The terms an opened call's version keeps."""
    utc = timezone.utc
    return {"theme": call.theme, "opens_at": rules.as_utc(call.opens_at).astimezone(utc).isoformat(),
            "closes_at": rules.as_utc(call.closes_at).astimezone(utc).isoformat(), "time_zone": call.time_zone,
            "score_min": call.score_min, "score_max": call.score_max, "categories": call.categories,
            "documents": call.documents, "max_upload_bytes": call.max_upload_bytes}


def marker(call: Call) -> str:
    """What a form or a confirmation was built from: the status, version and terms of the call.
    A draft keeps version 1 through its edits, so the terms themselves are in it."""
    seen = {"status": call.status, "version": call.version or 1, "terms": terms(call)}
    return hashlib.sha256(json.dumps(seen, sort_keys=True, default=str).encode()).hexdigest()[:20]


class Stale(Refused):
    """The edition changed since the page that sent this was built (someone else changed it)."""

    def __init__(self, call: Call):
        super().__init__(409, "someone else changed this edition since you opened the page", marker=marker(call))


def _check_marker(call: Call, expected: str | None) -> None:
    if expected is not None and expected != marker(call):
        raise Stale(call)


def get_call(s, call_id, *, lock: bool = False) -> Call:
    call = s.get(Call, str(call_id), with_for_update=lock)
    if call is None:
        raise Refused(404, f"no call {call_id}")
    return call


def list_calls(db) -> list[Call]:
    with db.session() as s:
        return s.scalars(select(Call).order_by(Call.year.desc())).all()


def read_call(db, call_id) -> Call:
    with db.session() as s:
        return get_call(s, call_id)


def create_call(db, data: dict, who: str = "") -> Call:
    """A new edition, as a draft: one edition a year."""
    data = dict(data)
    call = Call(id=str(uuid.uuid4()), status="draft", created_at=_now(), version=1, created_by=who or None,
                categories=data.pop("categories", None) or rules.default_categories(),
                documents=data.pop("documents", None) or rules.DEFAULT_DOCUMENTS, **data)
    with db.session() as s, s.begin():
        if s.scalar(select(Call.id).where(Call.year == call.year)):
            raise Refused(409, f"an edition for {call.year} already exists")
        s.add(call)
    return call


def _inconsistent(call: Call) -> dict:
    errors = {}
    if rules.as_utc(call.closes_at) <= rules.as_utc(call.opens_at):
        errors["closes_at"] = ["must be after opens_at"]
    if call.score_max <= call.score_min:
        errors["score_max"] = ["must be greater than score_min"]
    return errors


def change_call(db, call_id, data: dict, who: str, *, expected: str | None = None) -> Call:
    """Change the terms. A draft is simply edited; an opened call gets a new version, with who
    changed it, when and why, and call.opened is published again so review learns the change.
    ``expected`` is the marker of the terms the form was built from (a page's guard against
    overwriting someone else's change; the API sends none)."""
    data = dict(data)
    reason = data.pop("reason", None)
    with db.session() as s, s.begin():
        call = get_call(s, call_id, lock=True)
        _check_marker(call, expected)
        if call.status != "draft" and not reason:
            raise Refused(422, "the call is open: a change needs a reason",
                          {"json": {"reason": ["required once the call is open"]}})
        for key, value in data.items():
            # we only store UTC; the call's time zone says how to show it
            setattr(call, key, value.astimezone(timezone.utc) if isinstance(value, datetime) else value)
        errors = _inconsistent(call)
        if errors:
            raise Refused(422, "the changed terms are inconsistent", {"json": errors})
        call.changed_by, call.changed_at = who, _now()
        if call.status != "draft":
            _new_version(s, call, who, reason)
    return call


def _new_version(s, call: Call, who: str, reason: str) -> None:
    call.version = (call.version or 1) + 1
    s.add(CallVersion(id=str(uuid.uuid4()), call_id=call.id, version=call.version,
                      terms=terms(call), changed_by=who, reason=reason, changed_at=_now()))
    record(s, outbox, call_event(call))


def call_versions(db, call_id) -> list[CallVersion]:
    with db.session() as s:
        get_call(s, call_id)
        return s.scalars(select(CallVersion).where(CallVersion.call_id == str(call_id))
                         .order_by(CallVersion.version)).all()


def open_call(db, call_id, *, expected: str | None = None, who: str = "") -> Call:
    """Open the edition: applicants may enter, review learns its terms (call.opened). Opening an
    open call changes nothing (a second click); ``expected``: the marker of the draft the
    confirmation showed, refused as stale if the draft changed since."""
    with db.session() as s, s.begin():
        call = get_call(s, call_id, lock=True)
        if call.status != "open":
            _check_marker(call, expected)
            call.status, call.opened_at, call.opened_by = "open", _now(), who or None
            record(s, outbox, call_event(call))
    return call


def is_closed(call: Call, now: datetime | None = None) -> bool:
    return call.status == "open" and rules.as_utc(call.closes_at) <= (now or _now())


def close_call(db, call_id, reason: str, who: str, *, expected: str | None = None) -> tuple[Call, bool]:
    """Close an open edition now, before its closing time: a versioned change of the closing time
    (who, when, why), and call.opened again so review learns it. Exceptions already granted still
    let their applicant submit until their own time. Closing a closed call changes nothing
    (returns False); a draft is not open, nor is a call whose opening time is still ahead."""
    with db.session() as s, s.begin():
        call = get_call(s, call_id, lock=True)
        now = _now()
        if call.status != "open":
            raise Refused(409, "the edition is a draft: there is nothing to close")
        if is_closed(call, now):
            return call, False
        _check_marker(call, expected)
        if rules.as_utc(call.opens_at) >= now:
            raise Refused(409, "the edition has not opened yet: change its dates instead")
        call.closes_at, call.changed_by, call.changed_at = now, who, now
        _new_version(s, call, who, reason)
    return call, True


def exceptions(db, call_id) -> list[DeadlineException]:
    with db.session() as s:
        return s.scalars(select(DeadlineException).where(DeadlineException.call_id == str(call_id))
                         .order_by(DeadlineException.granted_at)).all()


def grant_exception(db, call_id, data: dict, who: str) -> DeadlineException:
    """Let one applicant submit until a later time; who granted it and why is kept."""
    with db.session() as s, s.begin():
        call = get_call(s, call_id)
        if s.get(Applicant, str(data["applicant_id"])) is None:
            raise Refused(422, "no such applicant", {"json": {"applicant_id": ["no such applicant"]}})
        if data["closes_at"] <= rules.as_utc(call.closes_at):
            raise Refused(422, "an exception must extend the closing time",
                          {"json": {"closes_at": ["must be after the call's closing time"]}})
        row = DeadlineException(id=str(uuid.uuid4()), call_id=call.id,
                                applicant_id=str(data["applicant_id"]), closes_at=data["closes_at"],
                                reason=data["reason"], granted_by=who, granted_at=_now())
        s.add(row)
    return row


def revoke_exception(db, call_id, exception_id, who: str) -> DeadlineException:
    """Revoke: the row stays, marked revoked with who did it and when, so the audit trail keeps it.
    Revoking a revoked exception changes nothing."""
    with db.session() as s, s.begin():
        row = s.get(DeadlineException, str(exception_id), with_for_update=True)
        if row is None or row.call_id != str(call_id):
            raise Refused(404, f"no exception {exception_id}")
        if row.revoked_at is None:
            row.revoked_at, row.revoked_by = _now(), who
    return row


def find_applicant(db, wanted: str) -> Applicant | None:
    """The applicant a secretariat page names: by the address they sign in with, or by the
    reference of one of their applications (SSCP-2026-...)."""
    wanted = wanted.strip()
    with db.session() as s:
        if "@" in wanted:
            return s.scalar(select(Applicant).where(Applicant.contact_email == wanted.lower()))
        applicant_id = s.scalar(select(Application.applicant_id).where(Application.reference == wanted.upper()))
        return s.get(Applicant, applicant_id) if applicant_id else None


def exceptions_with_applicants(db, call_id) -> list[tuple[DeadlineException, Applicant]]:
    """The call's exceptions, oldest first, each with its applicant (for the secretariat's page)."""
    with db.session() as s:
        return [tuple(row) for row in s.execute(
            select(DeadlineException, Applicant).join(Applicant, Applicant.id == DeadlineException.applicant_id)
            .where(DeadlineException.call_id == str(call_id)).order_by(DeadlineException.granted_at)).all()]
