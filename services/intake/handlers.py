"""What intake does with the events it consumes: one handler per event type."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from sqlalchemy.orm import Session

from shared import group_messages
from shared.events import Event
from shared.inbox import UnitOfWork

from .models import Application, StatusUpdate, outbox
from .ops import audiences, ceremony, dashboard
from .rules import RELEASED_PREFIX

# Who may now be due a ceremony invitation, given the session and an application id.
Inviter = Callable[[Session, str], int]


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


def application_advanced(uow: UnitOfWork, event: Event, *, invite: Inviter) -> None:
    _keep(uow, event, "finalist", "", event.data["decided_at"])
    _invite_due(uow, event, invite)


def application_eliminated(uow: UnitOfWork, event: Event, *, invite: Inviter) -> None:
    _keep(uow, event, "not_advanced", "", event.data["decided_at"])
    _invite_due(uow, event, invite)


def award_decided(uow: UnitOfWork, event: Event, *, invite: Inviter) -> None:
    _keep(uow, event, event.data["outcome"], event.data.get("award", ""), event.data["decided_at"])
    _invite_due(uow, event, invite)


def results_released(uow: UnitOfWork, event: Event, *, invite: Inviter) -> None:
    """Kept as a marker row: the timeline reveals the round's decision once this exists."""
    _keep(uow, event, RELEASED_PREFIX + event.data["round"], "", event.data["released_at"])
    _invite_due(uow, event, invite)


def inviter(public_url: str) -> Inviter:
    """The ``invite`` dependency of the decision handlers: invite whoever a decision and its
    release now make due, with links to ``public_url`` (see ops/ceremony.invite_due)."""
    def invite(session: Session, application_id: str) -> int:
        return ceremony.invite_due(session, datetime.now(timezone.utc), public_url,
                                   application_id=application_id)
    return invite


def _invite_due(uow: UnitOfWork, event: Event, invite: Inviter) -> None:
    # in the same transaction as the decision it follows (see ops/ceremony.py)
    uow.session.flush()
    invite(uow.session, str(event.data["application_id"]))


def message_requested(uow: UnitOfWork, event: Event) -> None:
    """A group email of the secretariat's: name the members of an audience intake knows."""
    if not group_messages.owns("intake", event.data["audience"]):
        return  # review's to answer
    found, refused = audiences.members(uow.session, event.data["year"], event.data["audience"])
    group_messages.answer(uow.session, outbox, "intake", event.data, found, refused)


def email_failed(uow: UnitOfWork, event: Event) -> None:
    """notify gave up on an email: kept for the secretariat's dashboard."""
    dashboard.record_failure(uow.session, event.data, str(event.id))


# Wired in app.py (shared.inbox.bind): the decision handlers take ``invite``.
def address_opted_out(uow: UnitOfWork, event: Event) -> None:
    """notify's unsubscribe link was used: the prospect with that address is opted out."""
    from .ops.outreach_links import address_opted_out as opted_out
    opted_out(uow.session, event.data["email"], event.data["opted_out_at"])


HANDLERS = {
    "application.screened": application_screened,
    "application.advanced": application_advanced,
    "application.eliminated": application_eliminated,
    "award.decided": award_decided,
    "results.released": results_released,
    "message.requested": message_requested,
    "email.failed": email_failed,
    "address.opted_out": address_opted_out,
}
