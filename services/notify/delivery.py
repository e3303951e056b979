"""Deliveries: written before sending, moved pending → sent (or failed), never sent twice.

The event handler only records the delivery, in the same transaction as the inbox row, so a
redelivered event creates nothing. Sending happens after that commit. A worker that dies
between the provider accepting and our commit leaves the row pending; the sweep then asks the
backend whether it already has the message (the mailbox can tell; SMTP cannot, so such a
resend is counted in ``attempts`` and logged).
"""
from __future__ import annotations

import logging
import random
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import Database
from shared.events import Event, make_event
from shared.outbox import record

from . import templates
from .mail import Outgoing, PermanentMailError, TransientMailError
from .models import Delivery, outbox

log = logging.getLogger("prize.notify.delivery")

MAX_ATTEMPTS = 8
SEND_LEASE_SECONDS = 120


def as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def delivery_key(event_id, template: str, recipient: str) -> str:
    return f"{event_id}:{template}:{recipient.lower()}"


def queue_email(session: Session, event: Event, template: str, recipient: str, language: str | None,
                context: dict) -> Delivery | None:
    """Record the email, already claimed for sending right after this transaction commits.

    Claiming here saves a transaction per email; if the worker dies before sending, the
    claim's lease runs out and the sweep sends it.
    """
    key = delivery_key(event.id, template, recipient)
    if session.scalar(select(Delivery.id).where(Delivery.key == key)):
        return None
    language = templates.language_for(template, language)
    subject, text, html = templates.render(template, language, context)
    now = datetime.now(timezone.utc)
    row = Delivery(id=str(uuid.uuid4()), key=key, event_id=str(event.id), event_type=event.type,
                   correlation_id=event.correlation_id, template=template, language=language,
                   recipient=recipient, subject=subject, body_text=text, body_html=html,
                   status="sending", attempts=1, created_at=now,
                   next_attempt_at=now + timedelta(seconds=SEND_LEASE_SECONDS))
    session.add(row)
    return row


def _backoff(attempts: int) -> timedelta:
    # exponential with full jitter: 2 s, 4 s, 8 s ... capped at 10 minutes
    return timedelta(seconds=random.uniform(0, min(600, 2 ** attempts)))


class Sender:
    def __init__(self, db: Database, mailer, sender_address: str):
        self.db = db
        self.mailer = mailer
        self.sender_address = sender_address

    def send(self, delivery_id: str) -> str:
        """Try to send one pending delivery now; return its status afterwards."""
        with self.db.session() as s, s.begin():
            row = s.get(Delivery, delivery_id, with_for_update=True)
            if row is None:
                return "missing"
            claimable = row.status == "pending" or (
                row.status == "sending" and as_utc(row.next_attempt_at) <= datetime.now(timezone.utc))
            if not claimable:
                return row.status
            # Claim it with a lease and count the attempt before talking to the provider: a
            # second sender skips it, and a crash after this commit shows up as an attempt
            # without an outcome, picked up again when the lease runs out.
            row.status = "sending"
            row.next_attempt_at = datetime.now(timezone.utc) + timedelta(seconds=SEND_LEASE_SECONDS)
            row.attempts += 1
            attempt = row.attempts
            outgoing = self.outgoing(row)
        return self.deliver(delivery_id, outgoing, attempt)

    def outgoing(self, row: Delivery) -> Outgoing:
        return Outgoing(key=row.key, sender=self.sender_address, recipient=row.recipient,
                        subject=row.subject, text=row.body_text, html=row.body_html)

    def deliver(self, delivery_id: str, outgoing: Outgoing, attempt: int) -> str:
        """Hand a delivery we hold the claim on to the provider and record the outcome."""
        now = datetime.now(timezone.utc)
        try:
            if attempt > 1 and self.mailer.already_sent(outgoing.key):
                provider_id = "already-delivered"
            else:
                if attempt > 1:
                    log.warning("delivery %s: attempt %d, the earlier one may have been sent", outgoing.key, attempt)
                provider_id = self.mailer.send(outgoing)
        except TransientMailError as exc:
            return self._failed(delivery_id, str(exc), permanent=attempt >= MAX_ATTEMPTS)
        except PermanentMailError as exc:
            return self._failed(delivery_id, str(exc), permanent=True)
        with self.db.session() as s, s.begin():
            row = s.get(Delivery, delivery_id, with_for_update=True)
            row.status, row.sent_at, row.provider_message_id, row.last_error = "sent", now, provider_id, None
            record(s, outbox, make_event("email.sent", {
                "delivery_key": row.key, "event_id": row.event_id, "template": row.template,
                "recipient": row.recipient, "provider_message_id": provider_id, "sent_at": now,
            }, producer="notify", correlation_id=row.correlation_id))
        log.info("email %s sent to %s", outgoing.key, outgoing.recipient)
        return "sent"

    def _failed(self, delivery_id: str, error: str, permanent: bool) -> str:
        now = datetime.now(timezone.utc)
        with self.db.session() as s, s.begin():
            row = s.get(Delivery, delivery_id, with_for_update=True)
            row.last_error = error[:2000]
            if not permanent:
                row.status = "pending"
                row.next_attempt_at = now + _backoff(row.attempts)
                log.warning("delivery %s failed (attempt %d), retrying later: %s", row.key, row.attempts, error)
                return "pending"
            row.status = "failed"
            log.error("delivery %s failed for good: %s", row.key, error)
            record(s, outbox, make_event("email.failed", {
                "delivery_key": row.key, "event_id": row.event_id, "template": row.template,
                "recipient": row.recipient, "error": error[:2000], "permanent": True, "failed_at": now,
            }, producer="notify", correlation_id=row.correlation_id))
        return "failed"

    def sweep(self, older_than: float = 0.0, limit: int = 200) -> int:
        """Send pending deliveries whose time has come (retries, and any a crash left behind)."""
        now = datetime.now(timezone.utc)
        with self.db.session() as s:
            ids = s.scalars(select(Delivery.id).where(
                Delivery.status.in_(("pending", "sending")), Delivery.next_attempt_at <= now,
                Delivery.created_at <= now - timedelta(seconds=older_than))
                .order_by(Delivery.next_attempt_at).limit(limit)).all()
        for delivery_id in ids:
            self.send(delivery_id)
        return len(ids)
