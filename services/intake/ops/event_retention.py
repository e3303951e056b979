"""Visa and passport details given with answers to the edition's events (issue 17), deleted a set
time after the event (PRIZE_TRAVEL_DATA_DAYS), as the ceremony's (ops/retention.py): one UPDATE
blanks ``visa_letter`` and ``visa_details`` of every answer whose event started more than the set
days ago and marks the row; the copies in intake's outbox (the ``event.rsvp_received`` events)
are blanked in the same transaction. Run by intake's worker with the ceremony's (jobs.travel_data)."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update

from ..models import EditionEvent, EventInvitation, EventRsvp
from ..rules import as_utc
from .retention import blank_outbox_copies

log = logging.getLogger("prize.intake.retention")
CARRIER = "event.rsvp_received"


def deleted_on(starts_at: datetime, days: int) -> datetime:
    return as_utc(starts_at) + timedelta(days=days)


def delete_travel_data(db, now: datetime, days: int) -> int:
    """Blank the travel data of every event answer whose event started more than ``days`` before
    ``now``; returns how many answers this call marked."""
    past = (select(EventInvitation.id).join(EditionEvent, EditionEvent.id == EventInvitation.edition_event_id)
            .where(EditionEvent.starts_at < now - timedelta(days=days)))
    with db.session() as s, s.begin():
        marked = s.scalars(
            update(EventRsvp).where(EventRsvp.travel_data_deleted_at.is_(None), EventRsvp.invitation_id.in_(past))
            .values(visa_letter=False, visa_details="", travel_data_deleted_at=now)
            .returning(EventRsvp.invitation_id).execution_options(synchronize_session=False)).all()
        if marked:
            blank_outbox_copies(s, list(marked), CARRIER)
    if marked:
        log.info("deleted the visa and passport details of %d event answer(s)", len(marked))
    return len(marked)
