"""Visa and passport details deleted a set time after the ceremony (PRIZE_TRAVEL_DATA_DAYS, 30 by
default): kept no longer than their purpose needs (GDPR Article 5(1)(e); PIPA Article 21, which
asks that personal information be destroyed without delay once its purpose is achieved).

Intake's worker runs ``delete_travel_data`` periodically (jobs.py). One UPDATE blanks
``visa_letter`` and ``visa_details`` of every answer whose ceremony started more than the set
days ago and marks the row with the time (``travel_data_deleted_at``); its WHERE skips rows
already marked, so two workers at once each blank a row at most once (on PostgreSQL the second
waits for the first's row lock and then finds the row marked). In the same transaction the
copies in intake's outbox (the ``ceremony.rsvp_received`` events that carried them) are blanked.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update

from ..models import Application, Ceremony, Rsvp, outbox
from ..rules import as_utc

log = logging.getLogger("prize.intake.retention")
CARRIER = "ceremony.rsvp_received"  # the event whose data repeat the answer's visa details


def deleted_on(ceremony: Ceremony, days: int) -> datetime:
    """When the visa and passport details given for ``ceremony`` are deleted (at the latest: the
    worker's next pass after this moment)."""
    return as_utc(ceremony.starts_at) + timedelta(days=days)


def delete_travel_data(db, now: datetime, days: int) -> int:
    """Blank the travel data of every answer whose ceremony started more than ``days`` before
    ``now``; returns how many answers this call marked (those marked before are left alone)."""
    past = (select(Application.id).join(Ceremony, Ceremony.call_id == Application.call_id)
            .where(Ceremony.starts_at < now - timedelta(days=days)))
    with db.session() as s, s.begin():
        marked = s.scalars(
            update(Rsvp).where(Rsvp.travel_data_deleted_at.is_(None), Rsvp.application_id.in_(past))
            .values(visa_letter=False, visa_details="", travel_data_deleted_at=now)
            .returning(Rsvp.application_id).execution_options(synchronize_session=False)).all()
        if marked:
            blank_outbox_copies(s, list(marked), CARRIER)
    if marked:
        log.info("deleted the visa and passport details of %d ceremony answer(s)", len(marked))
    return len(marked)


def blank_outbox_copies(s, correlation_ids: list[str], carrier: str) -> None:
    """Blank the visa letter and details in the outbox's copies of the ``carrier`` events (the
    answers) correlated with ``correlation_ids``: sent events are kept, their travel data is not."""
    rows = s.execute(select(outbox.c.seq, outbox.c.body).where(
        outbox.c.type == carrier, outbox.c.correlation_id.in_(correlation_ids))).all()
    for seq, body in rows:
        message = json.loads(body)
        data = message.get("data") or {}
        if data.get("visa_details") or data.get("visa_letter"):
            data["visa_details"], data["visa_letter"] = "", False
            s.execute(update(outbox).where(outbox.c.seq == seq).values(body=json.dumps(message)))
