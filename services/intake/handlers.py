"""What intake does with the events it consumes: one handler per event type."""
from __future__ import annotations

from datetime import datetime, timezone

from shared.events import Event
from shared.inbox import UnitOfWork

from . import ceremony
from .domain import RELEASED_PREFIX
from .models import Application, StatusUpdate


def _keep(uow: UnitOfWork, event: Event, stage: str, detail: str, at) -> None:
    application_id = str(event.data["application_id"])
    if uow.session.get(Application, application_id) is None:
        return  # not ours: nothing to show
    uow.session.add(StatusUpdate(event_id=str(event.id), application_id=application_id,
                                 stage=stage, detail=detail, occurred_at=at))


def application_screened(uow: UnitOfWork, event: Event) -> None:
    """Keep the screening result for the applicant's timeline (shown at once: see domain.timeline)."""
    data = event.data
    _keep(uow, event, "eligible" if data["eligible"] else "ineligible", data.get("reason", ""),
          data["screened_at"])


def application_advanced(uow: UnitOfWork, event: Event) -> None:
    _keep(uow, event, "finalist", "", event.data["decided_at"])


def application_eliminated(uow: UnitOfWork, event: Event) -> None:
    _keep(uow, event, "not_advanced", "", event.data["decided_at"])


def award_decided(uow: UnitOfWork, event: Event) -> None:
    _keep(uow, event, event.data["outcome"], event.data.get("award", ""), event.data["decided_at"])


def results_released(uow: UnitOfWork, event: Event) -> None:
    """Kept as a marker row: the timeline reveals the round's decision once this exists."""
    _keep(uow, event, RELEASED_PREFIX + event.data["round"], "", event.data["released_at"])


HANDLERS = {
    "application.screened": application_screened,
    "application.advanced": application_advanced,
    "application.eliminated": application_eliminated,
    "award.decided": award_decided,
    "results.released": results_released,
}


def make_handlers(public_url: str) -> dict:
    """The handlers, each followed by the ceremony invitation a decision and its release may
    now make due (in the same transaction: see ceremony.py)."""
    def inviting(handler):
        def handle(uow: UnitOfWork, event: Event) -> None:
            handler(uow, event)
            if event.type != "application.screened":
                uow.session.flush()
                ceremony.invite_due(uow.session, datetime.now(timezone.utc), public_url,
                                    application_id=str(event.data["application_id"]))
        return handle
    return {type_: inviting(handler) for type_, handler in HANDLERS.items()}
