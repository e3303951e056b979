"""What review does with the events it consumes: one handler per event type."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from shared import group_messages
from shared.events import Event
from shared.inbox import UnitOfWork
from shared.staff import handlers as staff_handlers

from .ops import audiences, erasure, history
from .ops.jurors import record_conflicts
from .models import Application, Assignment, Call, Juror, Round, outbox, staff_tables


def call_opened(uow: UnitOfWork, event: Event) -> None:
    """Learn (or update) an edition's categories, criteria and scale."""
    d = event.data
    call = uow.session.get(Call, str(d["call_id"]))
    if call is not None and (d.get("version") or 1) < (call.version or 1):
        return  # a late copy of older terms: the newer version stays
    call = call or Call(id=str(d["call_id"]))
    call.year, call.theme, call.closes_at = d["year"], d["theme"], d["closes_at"]
    call.score_min, call.score_max = d["score_min"], d["score_max"]
    call.categories = [dict(c, criteria=[dict(x) for x in c["criteria"]]) for c in d["categories"]]
    call.version = d.get("version") or 1
    call.updated_at = datetime.now(timezone.utc)
    uow.session.add(call)


def application_submitted(uow: UnitOfWork, event: Event) -> None:
    """A new application enters review, awaiting eligibility screening."""
    d, a = event.data, event.data["applicant"]
    # No look-up first: the inbox already guarantees one submission event is handled once,
    # and skipping it lets a batch of inserts reach the database in one round trip.
    row = Application(
        id=str(d["application_id"]), reference=d["reference"], call_id=str(d["call_id"]),
        category=d["category"], title=d["title"], summary=d["summary"],
        applicant_type=a["type"], organisation=a["organisation"], country=a["country"],
        city=a["city"], contact_email=a["contact_email"], stage="submitted",
        submitted_at=d["submitted_at"], received_at=datetime.now(timezone.utc),
        applicant_id=str(a["id"]), language=a["language"], answers=dict(d.get("answers") or {}),
        project=dict(d.get("project") or {}),
        documents=[dict(doc, id=str(doc["id"])) for doc in d.get("documents") or []])
    uow.session.add(row)
    _detect_conflicts(uow, row)


def _detect_conflicts(uow: UnitOfWork, row: Application) -> None:
    """Conflicts with every active juror are stored before any juror can see the application.

    The jurors are read once per transaction (a batch of submissions shares them); a juror
    invited at the same moment is caught by the invitation itself or at assignment time.
    """
    jurors = uow.session.info.get("review_active_jurors")
    if jurors is None:
        jurors = list(uow.session.scalars(select(Juror).where(Juror.active.is_(True))))
        uow.session.info["review_active_jurors"] = jurors
    if jurors:
        uow.session.flush()  # the application row first: conflicts refer to it
        record_conflicts(uow.session, jurors, [row], "auto", row.received_at)


def application_withdrawn(uow: UnitOfWork, event: Event) -> None:
    """A withdrawn application leaves every round."""
    row = uow.session.get(Application, str(event.data["application_id"]))
    if row is None:
        return
    row.stage = "withdrawn"
    # its assignments in open rounds end now: jurors stop seeing it on their next request
    open_rounds = select(Round.id).where(Round.status == "open")
    removed = uow.session.scalars(select(Assignment).where(
        Assignment.application_id == row.id, Assignment.status != "removed",
        Assignment.round_id.in_(open_rounds))).all()
    for assignment in removed:
        assignment.status = "removed"
    history.append(uow.session, "applicant", "application.withdrawn", application_id=row.id,
                   data={"reason": event.data.get("reason", ""), "assignments_removed": len(removed)})


def message_requested(uow: UnitOfWork, event: Event) -> None:
    """A group email of the secretariat's: name the members of an audience review knows."""
    if not group_messages.owns("review", event.data["audience"]):
        return  # intake's to answer
    found, refused = audiences.members(uow.session, event.data["year"], event.data["audience"])
    group_messages.answer(uow.session, outbox, "review", event.data, found, refused)


def applicant_erased(uow: UnitOfWork, event: Event) -> None:
    """intake erased an applicant at their request: review's copies lose the person, the scores
    and decisions stay (ops/erasure.py)."""
    erasure.erase_applicant(uow.session, event.data, datetime.now(timezone.utc))


HANDLERS = {
    "call.opened": call_opened,
    "application.submitted": application_submitted,
    "application.withdrawn": application_withdrawn,
    "message.requested": message_requested,
    "applicant.erased": applicant_erased,
    **staff_handlers.handlers_for(staff_tables),  # staff.changed, staff.token_changed, staff.signed_out
}
