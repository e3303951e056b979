"""What intake does with the events it consumes: one handler per event type."""
from __future__ import annotations

from shared.events import Event
from shared.inbox import UnitOfWork

from .models import Application, StatusUpdate


def application_screened(uow: UnitOfWork, event: Event) -> None:
    """Keep the screening result for the applicant's timeline (shown once released)."""
    data = event.data
    if uow.session.get(Application, str(data["application_id"])) is None:
        return  # not ours: nothing to show
    uow.session.add(StatusUpdate(
        event_id=str(event.id), application_id=str(data["application_id"]),
        stage="eligible" if data["eligible"] else "ineligible", detail=data.get("reason", ""),
        occurred_at=data["screened_at"]))


HANDLERS = {
    "application.screened": application_screened,
}
