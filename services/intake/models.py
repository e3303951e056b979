"""intake's tables. Only intake reads or writes this database."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (JSON, BigInteger, Boolean, ForeignKey, Integer, MetaData, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import NAMING_CONVENTION, UTCDateTime
from shared.inbox import define_inbox
from shared.outbox import define_outbox
from shared.signin import define_signin_tables
from shared.staff.tables import define_staff_tables

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    metadata = metadata


outbox = define_outbox(metadata)
inbox = define_inbox(metadata)


class Call(Base):
    """An edition of the prize and its terms."""
    __tablename__ = "calls"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    theme: Mapped[str] = mapped_column(String(300))
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    time_zone: Mapped[str] = mapped_column(String(64))
    score_min: Mapped[int] = mapped_column(Integer)
    score_max: Mapped[int] = mapped_column(Integer)
    categories: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # documents: [{"key", "title", "required"}]; the upload limit applies to each file
    documents: Mapped[list] = mapped_column(JSON, default=list)
    max_upload_bytes: Mapped[int] = mapped_column(BigInteger, default=50 * 1024 * 1024)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Who did what to it (a draft's edits are not versioned, so its last change is kept here);
    # empty for editions older than these columns.
    created_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    opened_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    changed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The edition's privacy notice, as the secretariat wrote it ("": the default notice of
    # ops/privacy_text.py); its version goes up with every change (privacy_notice_versions).
    privacy_notice: Mapped[str] = mapped_column(Text, default="")
    privacy_version: Mapped[int] = mapped_column(Integer, default=1)
    privacy_changed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    privacy_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PrivacyNoticeVersion(Base):
    """Each version of an edition's privacy notice after the first (the default notice): what it
    said, who wrote it and when, so a consent to version N can be read as the person read it."""
    __tablename__ = "privacy_notice_versions"
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)  # "": back to the default notice
    changed_by: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CallVersion(Base):
    """The terms of a call as they were after each change: changes after opening are versioned."""
    __tablename__ = "call_versions"
    __table_args__ = (UniqueConstraint("call_id", "version", name="uq_call_versions_call_version"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    terms: Mapped[dict] = mapped_column(JSON)
    changed_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeadlineException(Base):
    """A named applicant may submit until a later time; who granted it and why is kept."""
    __tablename__ = "deadline_exceptions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), index=True)
    applicant_id: Mapped[str] = mapped_column(ForeignKey("applicants.id"), index=True)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
    granted_by: Mapped[str] = mapped_column(String(200))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


class Applicant(Base):
    """An organisation (or person) that applies."""
    __tablename__ = "applicants"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(30))
    organisation: Mapped[str] = mapped_column(String(300))
    country: Mapped[str] = mapped_column(String(2))
    city: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(320), unique=True)
    secondary_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    secondary_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    language: Mapped[str] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The WeGO region of the country (ops/regions.py), kept for the statistics; it follows the
    # country wherever that is set (ops/applicants.set_country).
    region: Mapped[str] = mapped_column(String(20), server_default="other")
    # Set when the person's data was erased at their request (ops/erasure.py): the row stays,
    # holding what is no person's (type, country, an organisation's name), so the decisions stay.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ErasureRequest(Base):
    """An applicant asked for their personal data to be erased (GDPR Art. 17, PIPA Art. 36); the
    secretariat approves (intake erases and publishes applicant.erased) or refuses with a reason.
    Who decided and when are kept; ``summary`` says what was erased, in counts and ids only."""
    __tablename__ = "erasure_requests"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    applicant_id: Mapped[str] = mapped_column(ForeignKey("applicants.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="requested", index=True)  # requested | approved | refused
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    refusal_reason: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    event_id: Mapped[str | None] = mapped_column(String(36), nullable=True)  # the applicant.erased event


class Consent(Base):
    """A person's consent, as given: to which edition's notice (none: the default notice, before
    any edition) in which version, for what, when and from which client address. The person's
    record of what they agreed to; rows are only ever added."""
    __tablename__ = "consents"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    applicant_id: Mapped[str] = mapped_column(ForeignKey("applicants.id"), index=True)
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id"), nullable=True)
    purpose: Mapped[str] = mapped_column(String(20))  # registration | travel_data
    notice_version: Mapped[int] = mapped_column(Integer)
    notice_sha256: Mapped[str] = mapped_column(String(64))  # of the notice's English text as it stood
    given_at: Mapped[datetime] = mapped_column(UTCDateTime)
    client: Mapped[str] = mapped_column(String(100), default="")


class ContactChange(Base):
    """The secretariat changed an applicant's sign-in address: who, when, from what to what and
    why are kept, since whoever controls that address controls the applicant's account."""
    __tablename__ = "contact_changes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    applicant_id: Mapped[str] = mapped_column(ForeignKey("applicants.id"), index=True)
    old_email: Mapped[str] = mapped_column(String(320))
    new_email: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


# The sign-in tables are shared.signin's, with the subject column named applicant_id.
signin_tables = define_signin_tables(metadata, subject_column="applicant_id", subject_table="applicants")
# Staff (shared.staff): intake keeps the list and the sign-in links; review and notify keep copies.
staff_tables = define_staff_tables(metadata, with_links=True)


class SignInLink(Base):
    """A one-time sign-in link; only its hash is stored.

    A request for an address that is not registered is kept too (applicant_id NULL, a hash
    nobody holds the token of), so the rate limits count it and cannot tell who is registered.
    Columns: token_hash, applicant_id, email, client, purpose (browser | api), created_at,
    expires_at, used_at.
    """
    __table__ = signin_tables.links


class Session(Base):
    """A server-side session (browser) or bearer token (API): revocable; only its hash is stored.

    Columns: id_hash, applicant_id, kind (browser | api), csrf_token, created_at, expires_at,
    last_seen_at, revoked_at.
    """
    __table__ = signin_tables.sessions


class Application(Base):
    __tablename__ = "applications"
    __table_args__ = (UniqueConstraint("applicant_id", "call_id", "category",
                                       name="uq_applications_one_per_category"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"))
    applicant_id: Mapped[str] = mapped_column(ForeignKey("applicants.id"), index=True)
    category: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(300), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="draft")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # one answer per criterion key of the category, plus the project facts
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    location: Mapped[str] = mapped_column(String(300), default="")
    start_date: Mapped[str] = mapped_column(String(10), default="")  # ISO date, may be partial while drafting
    budget: Mapped[str] = mapped_column(String(100), default="")
    partners: Mapped[str] = mapped_column(Text, default="")
    revision: Mapped[int] = mapped_column(Integer, default=1)  # bumped on every save: stale autosaves lose
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    withdrawal_reason: Mapped[str] = mapped_column(Text, default="")


class Document(Base):
    """A file of an application. The bytes live in object storage, never in intake."""
    __tablename__ = "documents"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    kind: Mapped[str] = mapped_column(String(50))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    storage_key: Mapped[str] = mapped_column(String(500), unique=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | verified | rejected
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The document of the same kind this upload replaces once it passes the check (the old one
    # stays until then, so a failed replacement loses nothing). No foreign key: the old one may
    # be deleted meanwhile, and then there is nothing left to replace.
    replaces: Mapped[str | None] = mapped_column(String(36), nullable=True)


class StatusUpdate(Base):
    """A decision review told us about, kept for the applicant's status timeline."""
    __tablename__ = "status_updates"
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    stage: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DraftReminderSent(Base):
    """A reminder that an application is still a draft, published once per reminder offset before
    the applicant's closing time (services/intake/reminders.py). Written in the transaction that
    adds the reminder's outbox row; the unique key makes a second worker that reaches the same
    reminder publish nothing."""
    __tablename__ = "draft_reminders_sent"
    __table_args__ = (UniqueConstraint("application_id", "offset_key", name="uq_draft_reminders_sent_key"),)
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the application.draft_reminder event
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    offset_key: Mapped[str] = mapped_column(String(20))  # e.g. "7d": seven days before the closing time
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the closing time it reminded of
    missing: Mapped[int] = mapped_column(Integer)  # how many things still stopped submission
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Ceremony(Base):
    """The award ceremony of an edition, as the secretariat set it (services/intake/ceremony.py).

    ``rsvp_by`` is the date the secretariat asks for answers by: a reminder goes out the day
    before to those who have not answered, and once more when it passes. Answers are still taken
    (and changed) until the ceremony starts; the guest list shows when each came."""
    __tablename__ = "ceremonies"
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    time_zone: Mapped[str] = mapped_column(String(64))
    venue: Mapped[str] = mapped_column(String(300))
    address: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[str] = mapped_column(Text, default="")  # programme, dress code, livestream ...
    rsvp_by: Mapped[datetime] = mapped_column(UTCDateTime)
    max_delegates: Mapped[int] = mapped_column(Integer, default=3)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(200))


class CeremonyInvitation(Base):
    """An application invited to its edition's ceremony: a released finalist, or a released winner
    or special mention. Written with the ceremony.invited event in one transaction; the primary
    key makes it happen once per application."""
    __tablename__ = "ceremony_invitations"
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), index=True)
    basis: Mapped[str] = mapped_column(String(20))  # finalist | award
    event_id: Mapped[str] = mapped_column(String(36))
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Rsvp(Base):
    """An invited applicant's answer: who comes (the delegation), a substitute, accessibility
    needs, and whether they need a letter for their visa. Changed in place; ``revision`` counts
    the answers and guards against two people editing at once."""
    __tablename__ = "ceremony_rsvps"
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    attending: Mapped[bool] = mapped_column(Boolean)
    delegates: Mapped[list] = mapped_column(JSON, default=list)  # [{name, role, email}]
    substitute: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # {name, role, email}
    accessibility: Mapped[str] = mapped_column(Text, default="")
    visa_letter: Mapped[bool] = mapped_column(Boolean, default=False)
    visa_details: Mapped[str] = mapped_column(Text, default="")  # names as in passports, nationalities
    comments: Mapped[str] = mapped_column(Text, default="")
    revision: Mapped[int] = mapped_column(Integer, default=1)
    first_answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # when intake's worker blanked visa_letter and visa_details, PRIZE_TRAVEL_DATA_DAYS after the
    # ceremony (ops/retention.py); None while they are kept
    travel_data_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RsvpReminderSent(Base):
    """An RSVP reminder published once per application and reminder (the day before ``rsvp_by``,
    and once it has passed); same exactly-once claim as DraftReminderSent."""
    __tablename__ = "rsvp_reminders_sent"
    __table_args__ = (UniqueConstraint("application_id", "offset_key", name="uq_rsvp_reminders_sent_key"),)
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the ceremony.rsvp_reminder event
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    offset_key: Mapped[str] = mapped_column(String(20))  # "1d" | "overdue"
    rsvp_by: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EmailFailure(Base):
    """An email notify gave up on (email.failed), kept for the secretariat's dashboard: what
    failed for good recently, with a link to notify's outbox for the rest."""
    __tablename__ = "email_failures"
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    template: Mapped[str] = mapped_column(String(100))
    recipient: Mapped[str] = mapped_column(String(320))
    error: Mapped[str] = mapped_column(Text)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SubmissionCopy(Base):
    """The PDF of an application as it was submitted, stored with the documents: made by intake's
    worker from the application.submitted record (ops/submission_copy.py), or at the owner's
    first download if the worker has not made it yet. One per application."""
    __tablename__ = "submission_copies"
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    storage_key: Mapped[str] = mapped_column(String(500), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str] = mapped_column(String(5))  # the language of its headings
    made_at: Mapped[datetime] = mapped_column(UTCDateTime)


# outreach (prospects, invitations to apply, reminders), the public photos and the edition's events
# (issue 17): in modules of their own, imported here so that this metadata has their tables
from .models_outreach import (OutreachInvitation, OutreachReminderSent, Prospect,  # noqa: E402,F401
                              PublicPhoto)
# the edition's events, their invitations and answers (issue 17): in a module of their own
from .models_events import EditionEvent, EventInvitation, EventRsvp  # noqa: E402,F401
