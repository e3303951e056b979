"""intake's tables of the edition's events (issue 17): the General Assembly, the Mayors Forum, the
ceremony or another event the secretariat invites prospects and applicants to, the invitations
(one per address and event, with the RSVP link's token hash) and the answers (RSVPs). Kept apart
from models.py (its size); models.py imports them so that one metadata holds every table."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import UTCDateTime

from .models import Base

EVENT_KINDS = ("general_assembly", "mayors_forum", "ceremony", "other")


class EditionEvent(Base):
    """An event of an edition that the secretariat invites people to. ``rsvp_by`` is the date
    answers are asked by; answers are taken and changed until ``starts_at``. ``version`` guards
    edits (409 when someone else changed it meanwhile)."""
    __tablename__ = "edition_events"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # EVENT_KINDS
    name: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    time_zone: Mapped[str] = mapped_column(String(64))
    venue: Mapped[str] = mapped_column(String(300))
    address: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[str] = mapped_column(Text, default="")
    rsvp_by: Mapped[datetime] = mapped_column(UTCDateTime)
    max_delegates: Mapped[int] = mapped_column(Integer, default=3)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(200))


class EventInvitation(Base):
    """One person invited to an event: a prospect (no account) or an applicant. Their name,
    address, language and organisation are copied when invited (what the email said). The RSVP
    link carries a random token; only its SHA-256 is stored. One invitation per address and event
    (the unique key makes a double click, or two colleagues at once, invite once)."""
    __tablename__ = "event_invitations"
    __table_args__ = (UniqueConstraint("edition_event_id", "email", name="uq_event_invitations_event_email"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    edition_event_id: Mapped[str] = mapped_column(ForeignKey("edition_events.id"), index=True)
    prospect_id: Mapped[str | None] = mapped_column(ForeignKey("prospects.id"), nullable=True, index=True)
    applicant_id: Mapped[str | None] = mapped_column(ForeignKey("applicants.id"), nullable=True, index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320))  # lower-cased
    language: Mapped[str] = mapped_column(String(5), default="en")
    organisation: Mapped[str] = mapped_column(String(300), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    event_id: Mapped[str] = mapped_column(String(36))  # the event.invited event that asked notify to mail it
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime)
    invited_by: Mapped[str] = mapped_column(String(200))


class EventRsvp(Base):
    """An invitee's answer, as for the ceremony (ceremony_rsvps): who comes, a substitute,
    accessibility needs, a visa letter; changed in place, ``revision`` guarding against two
    edits at once. ``consent_version``: the privacy notice version agreed to with visa details."""
    __tablename__ = "event_rsvps"
    invitation_id: Mapped[str] = mapped_column(ForeignKey("event_invitations.id"), primary_key=True)
    attending: Mapped[bool] = mapped_column(Boolean)
    delegates: Mapped[list] = mapped_column(JSON, default=list)  # [{name, role, email}]
    substitute: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    accessibility: Mapped[str] = mapped_column(Text, default="")
    visa_letter: Mapped[bool] = mapped_column(Boolean, default=False)
    visa_details: Mapped[str] = mapped_column(Text, default="")
    comments: Mapped[str] = mapped_column(Text, default="")
    consent_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    first_answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # when intake's worker blanked visa_letter and visa_details, PRIZE_TRAVEL_DATA_DAYS after the
    # event (ops/event_retention.py); None while they are kept
    travel_data_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
