"""Applications seen whole: who may read one, what it still misses, its stages, withdrawal.
Starting and saving drafts is ops/drafts.py; submission is ops/submission.py."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from shared.events import make_event
from shared.outbox import record
from shared.refusals import Refused

from .. import rules
from ..models import Application, Call, StatusUpdate, outbox
from . import drafts
from .documents import missing_documents

PRODUCER = "intake"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def own(s, application_id, applicant_id: str | None, *, lock: bool = False) -> Application:
    """The application, if ``applicant_id`` owns it (None: the secretariat, who may see all);
    404 otherwise, with no hint that it exists."""
    row = s.get(Application, str(application_id), with_for_update=lock)
    if row is None or (applicant_id is not None and row.applicant_id != applicant_id):
        raise Refused(404, f"no application {application_id}")
    return row


def with_missing(s, app_row: Application, call: Call | None = None) -> Application:
    """Attach what the form shows beside the stored fields: counts, completeness, what is missing."""
    call = call or s.get(Call, app_row.call_id)
    docs = missing_documents(s, app_row, call)
    app_row.criteria, app_row.missing, app_row.completeness = rules.assess(app_row, call, docs)
    return app_row


def list_applications(db, applicant_id: str | None) -> list[Application]:
    """The applicant's applications (None: every application, for the secretariat)."""
    with db.session() as s:
        q = select(Application).order_by(Application.created_at)
        if applicant_id is not None:
            q = q.where(Application.applicant_id == applicant_id)
        return [with_missing(s, a) for a in s.scalars(q).all()]


def read_application(db, application_id, applicant_id: str | None) -> Application:
    with db.session() as s:
        return with_missing(s, own(s, application_id, applicant_id))


def start(db, applicant_id: str, data: dict) -> Application:
    """Start a draft: one per applicant, category and edition."""
    with db.session() as s, s.begin():
        row = drafts.start_draft(s, applicant_id, str(data["call_id"]), data["category"],
                                 data["title"], data["summary"], _now())
        return with_missing(s, row)


def save(db, application_id, applicant_id: str, data: dict) -> Application:
    """Save the draft (only while it is a draft); another applicant's is a 404 like a missing one."""
    with db.session() as s, s.begin():
        row = drafts.save_draft(s, application_id, applicant_id, data, _now())
        return with_missing(s, row)


def withdraw(db, application_id, applicant_id: str, reason: str) -> Application:
    """Withdraw a submitted application before any decision (application.withdrawn). Safe to repeat."""
    now = _now()
    with db.session() as s, s.begin():
        row = own(s, application_id, applicant_id, lock=True)
        if row.status == "withdrawn":
            return with_missing(s, row)
        rules.check_may_withdraw(row)
        decided = s.scalar(select(StatusUpdate.event_id).where(
            StatusUpdate.application_id == row.id,
            StatusUpdate.stage.in_(list(rules.ROUND_OF_STAGE))))
        if decided:
            raise Refused(409, "a decision has been made on this application; it can no longer be withdrawn")
        row.status, row.withdrawn_at, row.withdrawal_reason, row.updated_at = "withdrawn", now, reason, now
        record(s, outbox, make_event("application.withdrawn", {
            "application_id": row.id, "reference": row.reference, "reason": reason,
            "withdrawn_at": now}, producer=PRODUCER, correlation_id=row.id))
        return with_missing(s, row)


def status(db, application_id, applicant_id: str | None) -> dict:
    """The application's stages; a round's decisions appear only once the secretariat released them."""
    with db.session() as s:
        row = own(s, application_id, applicant_id)
        updates = s.scalars(select(StatusUpdate).where(StatusUpdate.application_id == row.id)).all()
        return {"application_id": row.id, "reference": row.reference, "status": row.status,
                "stages": rules.timeline(row, updates)}


def withdraw_draft(db, storage, application_id, applicant_id: str) -> str:
    """Withdraw a draft: it was never submitted, so no other service knows it and no event goes
    out. It is deleted with its documents, and its category of the edition is free again (a city
    that started the wrong category starts the right one). Returns its reference."""
    from .erasure import remove_files
    from .erasure_apply import Erased, delete_draft_rows

    with db.session() as s, s.begin():
        row = own(s, application_id, applicant_id, lock=True)
        if row.status != "draft":
            raise Refused(409, "only a draft is withdrawn this way; a submitted application is withdrawn with "
                               "POST /api/applications/{id}/withdraw")
        reference, done = row.reference, Erased()
        delete_draft_rows(s, row, done)
    remove_files(storage, [application_id], done.storage_keys)
    return reference
