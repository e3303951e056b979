"""What review does with the events it consumes: one handler per event type."""
from __future__ import annotations

from datetime import datetime, timezone

from shared.events import Event
from shared.inbox import UnitOfWork

from .models import Application, Call


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
    uow.session.add(Application(
        id=str(d["application_id"]), reference=d["reference"], call_id=str(d["call_id"]),
        category=d["category"], title=d["title"], summary=d["summary"],
        applicant_type=a["type"], organisation=a["organisation"], country=a["country"],
        city=a["city"], contact_email=a["contact_email"], stage="submitted",
        submitted_at=d["submitted_at"], received_at=datetime.now(timezone.utc),
        applicant_id=str(a["id"]), language=a["language"], answers=dict(d.get("answers") or {}),
        project=dict(d.get("project") or {}),
        documents=[dict(doc, id=str(doc["id"])) for doc in d.get("documents") or []]))


def application_withdrawn(uow: UnitOfWork, event: Event) -> None:
    """A withdrawn application leaves every round."""
    row = uow.session.get(Application, str(event.data["application_id"]))
    if row is not None:
        row.stage = "withdrawn"


HANDLERS = {
    "call.opened": call_opened,
    "application.submitted": application_submitted,
    "application.withdrawn": application_withdrawn,
}
