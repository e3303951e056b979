"""intake's outreach tables beyond the base ones in models.py (kept apart so models.py stays
under the module size limit); imported at the end of models.py, so its metadata has them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import UTCDateTime

from .models import Base


class Prospect(Base):
    """An organisation the secretariat met or wants as an applicant (outreach): who, where and
    when they were met, who on the staff follows them up. ``call_id`` is the edition the outreach
    is for (the funnel's "met" stage); ``applicant_id`` is set once they register (through an
    invitation, or with the same address). ``opted_out_at``: they asked for no more outreach
    email; notify keeps the address on its opt-out list too. ``version`` guards edits (409)."""
    __tablename__ = "prospects"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id"), nullable=True, index=True)
    organisation: Mapped[str] = mapped_column(String(300))
    applicant_type: Mapped[str] = mapped_column(String(30), default="city_government")
    city: Mapped[str] = mapped_column(String(200), default="")
    country: Mapped[str] = mapped_column(String(2))
    region: Mapped[str] = mapped_column(String(20), default="other")  # follows the country (ops/regions.py)
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), unique=True)  # lower-cased
    language: Mapped[str] = mapped_column(String(5), default="en")
    met_at: Mapped[str] = mapped_column(String(300), default="")  # the event where they were met
    met_on: Mapped[str] = mapped_column(String(10), default="")  # ISO date, "" if unknown
    notes: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(320), default="")  # the staff member who follows up
    applicant_id: Mapped[str | None] = mapped_column(ForeignKey("applicants.id"), nullable=True, index=True)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(200))


class OutreachInvitation(Base):
    """An invitation to apply sent to a prospect for an edition: a personal email with a
    registration link that fills in what we know. Only the token's hash is stored; the link works
    once (``used_at``) and until ``expires_at``. A new invitation to the same prospect is a new
    row (the older links keep working until they expire or one is used)."""
    __tablename__ = "outreach_invitations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    prospect_id: Mapped[str] = mapped_column(ForeignKey("prospects.id"), index=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    event_id: Mapped[str] = mapped_column(String(36))  # the event that asked notify to send it
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_by: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    applicant_id: Mapped[str | None] = mapped_column(ForeignKey("applicants.id"), nullable=True)


class PublicPhoto(Base):
    """The photo the secretariat approved for an awarded application's public results page: one
    of its checked image documents (pages/results_staff.py). Shown only once the award round is
    released (ops/results.py); who approved it and when are kept. No foreign key on the document:
    the photo route checks it is still this application's verified image."""
    __tablename__ = "public_photos"
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    document_id: Mapped[str] = mapped_column(String(36))
    approved_by: Mapped[str] = mapped_column(String(200))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime)


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
