"""intake's outreach tables beyond the base ones in models.py (kept apart so models.py stays
under the module size limit); imported at the end of models.py, so its metadata has them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import UTCDateTime

from .models import Base


class OutreachReminderSent(Base):
    """A reminder before an edition closes to an invited prospect (services/intake/ops/
    outreach_reminders.py), once per prospect, edition and offset: written in the transaction that
    adds the outreach.reminder outbox row; the unique key makes a second worker publish nothing."""
    __tablename__ = "outreach_reminders_sent"
    __table_args__ = (UniqueConstraint("prospect_id", "call_id", "offset_key", name="uq_outreach_reminders_sent_key"),)
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the outreach.reminder event
    prospect_id: Mapped[str] = mapped_column(ForeignKey("prospects.id"), index=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"))
    offset_key: Mapped[str] = mapped_column(String(20))  # e.g. "14d": fourteen days before closing
    stage: Mapped[str] = mapped_column(String(20))  # not_registered | not_submitted
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
