"""notify's tables: every email we owe someone, and what became of it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import NAMING_CONVENTION, UTCDateTime
from shared.inbox import define_inbox
from shared.outbox import define_outbox
from shared.staff.tables import define_staff_tables

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    metadata = metadata


outbox = define_outbox(metadata)
inbox = define_inbox(metadata)
# copies of intake's staff list, and this service's own staff sessions and token hashes (shared.staff)
staff_tables = define_staff_tables(metadata)


class Delivery(Base):
    """One email to one person because of one event. ``key`` makes it happen once."""
    __tablename__ = "deliveries"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    event_id: Mapped[str] = mapped_column(String(36), index=True)
    event_type: Mapped[str] = mapped_column(String(100))
    correlation_id: Mapped[str] = mapped_column(String(100))
    template: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(5))
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(String(500))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    provider_message_id: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Set (committed) once the provider accepted the envelope, just before the message itself
    # goes; cleared with the attempt's outcome. Still set when a new attempt starts means the
    # last one died after handing the email over: it may have arrived (status "unconfirmed").
    handed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # After this the email is pointless (a sign-in link that no longer works): not sent any more.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A resend's: who pressed Resend (a staff member's name and address, or an operator's name).
    requested_by: Mapped[str | None] = mapped_column(String(300), nullable=True)


class Recipient(Base):
    """Who hears about an application's decisions (from application.submitted), and which of the
    decisions are still to be mailed.

    Decisions and their release may arrive in either order: each is recorded here and the email
    goes out when both are known, once, because ``*_notified_at`` is set in the same transaction
    as the delivery row. A row may exist before application.submitted arrives (a decision that
    overtook it); it then has no ``contact_email`` yet and nothing is mailed until it does.
    """
    __tablename__ = "recipients"
    application_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), default="")
    title: Mapped[str | None] = mapped_column(String(300), nullable=True)
    category: Mapped[str | None] = mapped_column(String(50), nullable=True)
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    organisation: Mapped[str | None] = mapped_column(String(300), nullable=True)
    contact_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    contact_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    secondary_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    language: Mapped[str | None] = mapped_column(String(5), nullable=True)
    # eligibility screening: mailed at once (kept only until application.submitted arrives)
    screening_eligible: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    screening_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    screening_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # round "finalist": advanced | eliminated, mailed only once the round is released
    finalist_decision: Mapped[str | None] = mapped_column(String(20), nullable=True)
    finalist_released: Mapped[bool] = mapped_column(Boolean, default=False)
    finalist_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # round "award": winner | special_mention | not_awarded, mailed only once released
    award_outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    award_title: Mapped[str | None] = mapped_column(String(300), nullable=True)
    award_released: Mapped[bool] = mapped_column(Boolean, default=False)
    award_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # the award ceremony (from ceremony.invited): date, venue, time zone, RSVP link and deadline;
    # the invitation is mailed once, and a winner's award email carries it too
    ceremony: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    ceremony_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Suppression(Base):
    """An address we must not mail: it bounced for good, complained, or was refused for good.

    Filled from SES's bounce and complaint notifications (through SNS) and by permanent
    failures; the secretariat sees the list and can clear an address from it.
    """
    __tablename__ = "suppressions"
    email: Mapped[str] = mapped_column(String(320), primary_key=True)  # lower-cased
    reason: Mapped[str] = mapped_column(String(20))  # bounce | complaint | failed
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    source_message_id: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TemplateOverride(Base):
    """The secretariat's own wording of one email template in one language for one edition (call
    year): used instead of the file in templates/email/ for that edition's emails. Stored
    templates are user input: they are checked on save and rendered in Jinja's sandbox."""
    __tablename__ = "template_overrides"
    template: Mapped[str] = mapped_column(String(100), primary_key=True)
    language: Mapped[str] = mapped_column(String(5), primary_key=True)
    edition: Mapped[int] = mapped_column(Integer, primary_key=True)
    text_source: Mapped[str] = mapped_column(Text)  # blocks "subject" and "text"
    html_source: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(200))


class GroupMessage(Base):
    """An email the secretariat writes to a group of one edition (shared/events/notify.py's
    MESSAGE_AUDIENCES), in the languages it has wording for (``texts``: language -> subject and
    body). Drafted here; its members are asked of the service that knows them (message.requested)
    and kept as they arrive (message.addressed); sent once, as one delivery per address.

    status: draft -> addressing -> addressed (or refused) -> sent. ``revision`` grows with every
    change of the wording or the members, and a send names the revision its confirmation showed.
    """
    __tablename__ = "group_messages"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    audience: Mapped[str] = mapped_column(String(30))
    texts: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_by: Mapped[str | None] = mapped_column(String(300), nullable=True)
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    parts: Mapped[int | None] = mapped_column(Integer, nullable=True)
    parts_received: Mapped[list] = mapped_column(JSON, default=list)
    refused: Mapped[str | None] = mapped_column(Text, nullable=True)
    sent_by: Mapped[str | None] = mapped_column(String(300), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class GroupMessageRecipient(Base):
    """One member of a group email's audience: one address once."""
    __tablename__ = "group_message_recipients"
    message_id: Mapped[str] = mapped_column(ForeignKey("group_messages.id"), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), primary_key=True)  # lower-cased
    name: Mapped[str] = mapped_column(String(200), default="")
    organisation: Mapped[str] = mapped_column(String(300), default="")
    reference: Mapped[str] = mapped_column(String(40), default="")
    language: Mapped[str] = mapped_column(String(5), default="en")
    application_id: Mapped[str | None] = mapped_column(String(36), nullable=True)


class OptOut(Base):
    """An address that asked for no more outreach email (services/notify/ops/optout.py): the
    templates of OPTOUT_TEMPLATES are not sent to it; the emails a person needs still are. Apart
    from the suppression list, which stops every email."""
    __tablename__ = "opt_outs"
    email: Mapped[str] = mapped_column(String(320), primary_key=True)  # lower-cased
    source: Mapped[str] = mapped_column(String(30))  # unsubscribe_link | secretariat
    template: Mapped[str] = mapped_column(String(100), default="")  # the email whose link was used
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
