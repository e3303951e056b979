"""review's tables: its projection of calls and submitted applications, jurors, conflicts of
interest, rounds, assignments, scores, decisions and the hash-chained history."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (JSON, BigInteger, Boolean, Float, ForeignKey, Integer, MetaData, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import NAMING_CONVENTION, UTCDateTime
from shared.inbox import define_inbox
from shared.outbox import define_outbox
from shared.staff.tables import define_staff_tables
from shared.signin import define_signin_tables

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    metadata = metadata


outbox = define_outbox(metadata)
inbox = define_inbox(metadata)
# copies of intake's staff list, and this service's own staff sessions and token hashes (shared.staff)
staff_tables = define_staff_tables(metadata)


class Call(Base):
    __tablename__ = "calls"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    theme: Mapped[str] = mapped_column(String(300))
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    score_min: Mapped[int] = mapped_column(Integer)
    score_max: Mapped[int] = mapped_column(Integer)
    categories: Mapped[list] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class Application(Base):
    """A submitted application as review knows it."""
    __tablename__ = "applications"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    call_id: Mapped[str] = mapped_column(String(36), index=True)
    category: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text)
    applicant_type: Mapped[str] = mapped_column(String(30))
    organisation: Mapped[str] = mapped_column(String(300))
    country: Mapped[str] = mapped_column(String(2))
    city: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(320))
    stage: Mapped[str] = mapped_column(String(20), default="submitted")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # the frozen content jurors read: answers per criterion, project facts, documents' metadata
    # (their bytes stay in object storage under storage_key; review hands out short-lived links)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    project: Mapped[dict] = mapped_column(JSON, default=dict)
    documents: Mapped[list] = mapped_column(JSON, default=list)
    applicant_id: Mapped[str] = mapped_column(String(36), default="")
    language: Mapped[str] = mapped_column(String(5), default="en")
    # screening (round 1)
    screening_reason: Mapped[str] = mapped_column(Text, default="")
    screened_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    screened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # the award decision (round 3): winner | special_mention | not_awarded
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    award: Mapped[str] = mapped_column(String(300), default="")
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # the applicant's personal data was erased at their request (applicant.erased, ops/erasure.py):
    # the scores and decisions stay, nobody's name or address does; no group email reaches it
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Juror(Base):
    """An expert the secretariat invited. Signs in passwordless (shared.signin)."""
    __tablename__ = "jurors"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    country: Mapped[str] = mapped_column(String(2))
    organisation: Mapped[str] = mapped_column(String(300))
    expertise: Mapped[list] = mapped_column(JSON, default=list)  # category keys and topics
    languages: Mapped[list] = mapped_column(JSON, default=list)  # e.g. ["en", "ko"]
    language: Mapped[str] = mapped_column(String(5), default="en")  # for emails
    max_load: Mapped[int | None] = mapped_column(Integer, nullable=True)  # most applications per round
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    invited_by: Mapped[str] = mapped_column(String(200))
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # the juror's answer to the invitation: invited | accepted | declined (with their reason)
    invitation: Mapped[str] = mapped_column(String(20), default="invited")
    declined_reason: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deactivated_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)  # counts changes: a stale edit is refused


class Conflict(Base):
    """A conflict of interest: detected (same country, organisation, email domain) or declared."""
    __tablename__ = "conflicts"
    __table_args__ = (UniqueConstraint("juror_id", "application_id", "source", name="uq_conflicts_pair_source"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    juror_id: Mapped[str] = mapped_column(ForeignKey("jurors.id"), index=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    source: Mapped[str] = mapped_column(String(30))  # country | organisation | email_domain | declared
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Round(Base):
    """One of a call's three rounds: screening, finalist selection, winner selection."""
    __tablename__ = "rounds"
    __table_args__ = (UniqueConstraint("call_id", "kind", name="uq_rounds_call_kind"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # screening | finalist | award
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | closed
    jurors_per_application: Mapped[int] = mapped_column(Integer, default=3)
    advance_per_category: Mapped[int] = mapped_column(Integer, default=10)
    min_reviews: Mapped[int] = mapped_column(Integer, default=2)
    peer_scores: Mapped[str] = mapped_column(String(20), default="after_own")  # after_own | never
    disagreement_threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # tied applications at the cut, left for the secretariat: [application ids]
    ties: Mapped[list] = mapped_column(JSON, default=list)


class Assignment(Base):
    """A juror asked to score an application in a round, with the scores once given."""
    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("round_id", "application_id", "juror_id", name="uq_assignments_triple"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"), index=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    juror_id: Mapped[str] = mapped_column(ForeignKey("jurors.id"), index=True)
    assigned_by: Mapped[str] = mapped_column(String(200))  # "auto" or who adjusted it
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | submitted | removed
    scores: Mapped[dict] = mapped_column(JSON, default=dict)  # criterion key -> number
    comments: Mapped[dict] = mapped_column(JSON, default=dict)  # criterion key -> text
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LedgerEntry(Base):
    """The tamper-evident history: every score, change, conflict and decision, hash-chained
    (services/review/ledger.py): editing or deleting a row breaks the chain."""
    __tablename__ = "ledger"
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    application_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    juror_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AccessDenial(Base):
    """A juror refused an application (conflicted or not assigned): kept for the secretariat."""
    __tablename__ = "access_denials"
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    juror_id: Mapped[str] = mapped_column(String(36), index=True)
    application_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    path: Mapped[str] = mapped_column(String(500))
    reason: Mapped[str] = mapped_column(String(100))


# Jurors' passwordless sign-in (shared.signin): one-time links and sessions, review's own.
signin_tables = define_signin_tables(metadata, subject_column="juror_id", subject_table="jurors")


class ReminderSent(Base):
    """A reminder of pending reviews published for a juror in a round, one per reminder offset
    (services/review/ops/reminders.py). Written in the transaction that adds the reminder's outbox
    row; the unique key makes a second worker that reaches the same reminder publish nothing."""
    __tablename__ = "reminders_sent"
    __table_args__ = (UniqueConstraint("round_id", "juror_id", "offset_key", name="uq_reminders_sent_key"),)
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the review.reminder event
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"), index=True)
    juror_id: Mapped[str] = mapped_column(ForeignKey("jurors.id"), index=True)
    offset_key: Mapped[str] = mapped_column(String(20))  # e.g. "3d": three days before the due date
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the due date it reminded of
    pending: Mapped[int] = mapped_column(Integer)  # how many reviews were pending
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)



class ScreeningDecision(Base):
    """One screening decision as the secretariat confirmed it. Its application.screened event (the
    applicant's email) is held until ``send_after`` so that it can be undone; review's worker then
    writes the event to the outbox and sets ``published_at`` in one transaction (ops/screening.py).
    ``previous_*`` is what undoing it restores; ``fingerprint`` is the preview it was confirmed
    from (unique: a second click on the same Confirm finds this row instead of deciding again)."""
    __tablename__ = "screening_decisions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    eligible: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text, default="")
    # held | published | undone | superseded (replaced while held) | dropped (withdrawn while held)
    status: Mapped[str] = mapped_column(String(20), default="held", index=True)
    fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    previous_stage: Mapped[str] = mapped_column(String(20))
    previous_reason: Mapped[str] = mapped_column(Text, default="")
    previous_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    previous_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    send_after: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    event_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    undone_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
