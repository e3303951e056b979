"""Deliveries: written before sending, moved pending → sent (or failed), never sent twice.

The event handler only records the delivery, in the same transaction as the inbox row, so a
redelivered event creates nothing. Sending happens after that commit. Each attempt is a claim
(``attempts``) with a lease; once the whole message (for SMTP, up to the final dot of DATA) has
gone to the provider, ``handed_at`` is committed, and it is cleared with the attempt's outcome. A
worker that dies mid-attempt leaves the claim; when the sweep takes it up again:

* the mailbox can tell whether it has the message, and the attempt is reconciled with it;
* before the hand-over (``handed_at`` empty) the server has no message: it is sent again;
* after it, the server had the whole message and died or we did before its answer was read:
  SMTP and SES cannot be asked, and the message has almost surely arrived, so the delivery
  becomes ``unconfirmed`` and is not sent again by itself (that would make two); SES's delivery
  notification settles it as sent (ops/sns.py), and the secretariat sees it and can resend it.

Temporary failures are retried for a time, not a number of attempts: ``retry_for``
(``PRIZE_MAIL_RETRY_HOURS``, four days by default, as mail servers do after RFC 5321
§4.5.4.1), with a backoff of at least 15 s growing to an hour. An email whose content has an end
(a sign-in link, ``expires_at``) is not sent after it. When the server itself fails (no
connection, 421, our sender refused, SES throttled, or several recipients in a row refused for
now), no message is charged for it: the whole sender pauses (``ServerBackoff``) and tries one
email when the pause ends.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from shared.db import Database
from shared.events import Event
from shared.refusals import Refused

from ..mail import Outgoing, PermanentMailError, ServerUnavailable, TransientMailError
from ..models import Delivery
from . import optout, templates
from .backoff import ServerBackoff
from .claims import (ALERT_TEMPLATE, EXPIRED, NOT_TO_A_CITY, ClaimLost, Claims, ResendRefused,  # noqa: F401 (API)
                     Suppressed, as_utc, delivery_key)

log = logging.getLogger("prize.notify.delivery")

SEND_LEASE_SECONDS = 120
RETRY_FOR = timedelta(hours=96)  # PRIZE_MAIL_RETRY_HOURS
STATUSES = ("pending", "sending", "sent", "failed", "unconfirmed")


def utcnow() -> datetime:
    """Now, for every timing decision of sending (a test moves it to run days of outage in
    seconds): the Sender, the sweep and, through CLOCK, ops/claims.py all read it from here."""
    return datetime.now(timezone.utc)


class _Clock:
    """This module's time for ops/claims.py: utcnow and SEND_LEASE_SECONDS read at each call, so
    a test that replaces either here moves every claim and lease too."""

    @staticmethod
    def now() -> datetime:
        return utcnow()

    @staticmethod
    def lease_end(now: datetime) -> datetime:
        return now + timedelta(seconds=SEND_LEASE_SECONDS)


CLOCK = _Clock()


def queue_email(session: Session, event: Event, template: str, recipient: str, language: str | None,
                context: dict, expires_at: datetime | None = None) -> Delivery | None:
    """Record the email, already claimed for sending right after this transaction commits.

    Claiming here saves a transaction per email; if the worker dies before sending, the
    claim's lease runs out and the sweep sends it. ``expires_at``: the moment after which the
    email is pointless (a sign-in link's end) and is not sent any more.
    """
    key = delivery_key(event.id, template, recipient)
    # Core statements on the session's connection (an email per event: the ORM's unit of work
    # costs more than the insert); a delivery the ORM holds unflushed (claims.copy) is written first.
    if any(isinstance(obj, Delivery) for obj in session.new):
        session.flush()
    conn = session.connection()
    if conn.execute(_KEY_TAKEN, {"key": key}).first() is not None:
        return None
    language = templates.language_for(template, language)
    subject, text, html = templates.render(template, language, context, session)  # the edition's override, if any
    now = utcnow()
    values = dict(id=str(uuid.uuid4()), key=key, event_id=str(event.id), event_type=event.type,
                  correlation_id=event.correlation_id, template=template, language=language,
                  recipient=recipient, subject=subject, body_text=text, body_html=html,
                  status="sending", attempts=1, created_at=now, expires_at=expires_at,
                  next_attempt_at=now + timedelta(seconds=SEND_LEASE_SECONDS))
    refused = optout.opted_out(session, recipient) if optout.honours_opt_out(template) else None
    if refused is not None:  # recorded, not sent: the outbox shows why
        values.update(status="failed", attempts=0, last_error=optout.reason(refused), next_attempt_at=now)
        conn.execute(insert(Delivery.__table__), values)
        log.info("delivery %s not sent: %s opted out of outreach email", key, recipient)
        return None
    conn.execute(insert(Delivery.__table__), values)
    return Delivery(**values)  # not in the session: what the sender reads after the commit


_KEY_TAKEN = select(Delivery.__table__.c.id).where(Delivery.__table__.c.key == bindparam("key"))


class Sender:
    """Sends deliveries: claims each attempt (ops/claims.py), hands the email to the mailer, and
    records what it answered; pauses when the server fails (ServerBackoff)."""

    def __init__(self, db: Database, mailer, sender_address: str, retry_for: timedelta = RETRY_FOR,
                 unsubscribe: optout.Unsubscribe | None = None):
        self.db = db
        self.unsubscribe = unsubscribe  # the unsubscribe links of outreach emails (ops/optout.py)
        self.mailer = mailer
        self.sender_address = sender_address
        self.retry_for = retry_for
        self.server = ServerBackoff()
        self.claims = Claims(db, CLOCK, retry_for, sender_address)
        self.claims.unsubscribe = unsubscribe

    def outgoing(self, row: Delivery) -> Outgoing:
        return self.claims.outgoing(row)

    def send(self, delivery_id: str) -> str:
        """Try to send one pending delivery now; return its status afterwards."""
        if self.server.paused(utcnow()):
            return "pending"  # the sweep's rows stay as they are until the server is tried again
        claimed = self.claims.claim(delivery_id)
        if isinstance(claimed, str):
            return claimed
        outgoing, attempt = claimed
        return self.deliver(delivery_id, outgoing, attempt)

    def deliver_queued(self, row: Delivery) -> str:
        """Send a delivery queue_email recorded (claimed) in a transaction that has just committed.

        What ``deliver`` looks up first is known here, from the row as it was committed: the
        claim is this attempt's and fresh while less than half its lease has passed (the sweep
        takes a claim over only once its lease has run out; an erasure since is caught by the
        check before DATA), no earlier attempt handed it over, and its expiry. So the look is
        skipped; the suppression list is read by that check, the last moment before any of the
        message goes. Past half the lease (a long batch), ``deliver`` looks as always.
        """
        outgoing, now = self.outgoing(row), utcnow()
        half = timedelta(seconds=SEND_LEASE_SECONDS) / 2
        if row.attempts != 1 or as_utc(row.next_attempt_at) - now <= half:
            return self.deliver(row.id, outgoing, row.attempts)
        if row.expires_at is not None and as_utc(row.expires_at) <= now:
            return self._failed(row.id, EXPIRED, permanent=True)
        paused = self.server.paused(now)
        if paused:
            return self.claims.later(row.id, row.attempts, paused)
        return self._hand_over(row.id, outgoing, row.attempts, handed_before=False, row=row)

    def deliver(self, delivery_id: str, outgoing: Outgoing, attempt: int) -> str:
        """Hand a delivery we hold the claim on to the provider and record the outcome.

        The claim is checked first: a batch's emails are claimed when queued and sent one after
        the other after the commit, and when that outlasts the lease (a slow or unreachable
        server) the sweep may have claimed and sent one meanwhile: sending it here too would
        send it twice. So ``attempt`` must still be the row's latest claim, and a lease with
        less than half its time left is renewed before sending.
        """
        now = utcnow()
        look = self.claims.look(delivery_id, attempt, outgoing.recipient, now)
        mine = look.mine
        if mine and not look.fresh:
            mine = self.claims.renew(delivery_id, attempt)
        if not mine:
            log.info("delivery %s: attempt %d is no longer ours (%s); not sending", outgoing.key, attempt, look.status)
            return look.status
        if look.suppressed is not None:
            log.warning("delivery %s not sent: %s is on the suppression list", outgoing.key, outgoing.recipient)
            return self._failed(delivery_id, look.suppressed, permanent=True)
        if look.expired and not look.handed_before:
            return self._failed(delivery_id, EXPIRED, permanent=True)
        paused = self.server.paused(now)
        if paused and not look.handed_before:
            return self.claims.later(delivery_id, attempt, paused)
        return self._hand_over(delivery_id, outgoing, attempt, look.handed_before)

    def _hand_over(self, delivery_id: str, outgoing: Outgoing, attempt: int, handed_before: bool,
                   row: Delivery | None = None) -> str:
        """Talk to the mailer (or ask it whether it has the email already) and record its answer
        (``row``: the delivery as queued, when known, which lets claims.sent write it at once)."""
        try:
            if attempt > 1 and self.mailer.already_sent(outgoing.key):
                provider_id = "already-delivered"
            elif handed_before and not getattr(self.mailer, "can_tell", False):
                return self.claims.unconfirmed(delivery_id, outgoing, attempt)
            else:
                provider_id = self.mailer.send(outgoing, check=lambda: self.claims.check(delivery_id, attempt,
                                                                                          outgoing.recipient),
                                               handed=lambda: self.claims.handed(delivery_id, attempt))
        except ServerUnavailable as exc:
            until = self.server.server_failed(utcnow())
            log.warning("mail server failing (%s): sending paused until %s", exc, f"{until:%H:%M:%S}")
            return self._failed(delivery_id, str(exc), permanent=False, retry_at=until)
        except TransientMailError as exc:
            until = self.server.recipient_refused(utcnow())
            if until is not None:
                log.warning("mail server refused %d emails in a row for now: sending paused until %s",
                            ServerBackoff.STREAK, f"{until:%H:%M:%S}")
                return self._failed(delivery_id, str(exc), permanent=False, retry_at=until)
            return self._failed(delivery_id, str(exc), permanent=False)
        except PermanentMailError as exc:
            return self._failed(delivery_id, str(exc), permanent=True)
        except Suppressed as exc:
            log.warning("delivery %s not sent: %s is on the suppression list", outgoing.key, outgoing.recipient)
            return self._failed(delivery_id, exc.reason, permanent=True)
        except ClaimLost:
            log.info("delivery %s: attempt %d lost its claim before the message went; not sending", outgoing.key,
                     attempt)
            return "sending"
        self.server.succeeded()
        if self.claims.sent(delivery_id, provider_id, row):
            log.info("email %s sent to %s", outgoing.key, outgoing.recipient)
        return "sent"

    def _failed(self, delivery_id: str, error: str, permanent: bool, retry_at: datetime | None = None) -> str:
        """Record the failure (ops/claims.Claims.failed) and send its follow-ups now (the sweep
        would, later)."""
        status, follow_up = self.claims.failed(delivery_id, error, permanent, retry_at)
        for extra in follow_up:
            self.deliver(extra.id, self.outgoing(extra), extra.attempts)
        return status

    def sweep(self, older_than: float = 0.0, limit: int = 200) -> int:
        return sweep(self, older_than, limit)


# --- the sweep -----------------------------------------------------------------------------------

def expire_overdue(sender: Sender, now: datetime, limit: int) -> None:
    """End the waiting emails that expired (sign-in links), even while the server is paused."""
    for delivery_id in sender.claims.expired_waiting(now, limit):
        sender._failed(delivery_id, EXPIRED, permanent=True)


def sweep(sender: Sender, older_than: float = 0.0, limit: int = 200) -> int:
    """Send pending deliveries whose time has come (retries, and any a crash left behind)."""
    now = utcnow()
    expire_overdue(sender, now, limit)  # whatever the server's state: they will not be sent
    if sender.server.paused(now):
        return 0
    tried = 0
    for delivery_id in sender.claims.due(now, older_than, limit):
        if sender.server.paused(utcnow()):
            break  # the server failed again: the rest wait for the next try
        sender.send(delivery_id)
        tried += 1
    return tried


# --- the secretariat's view and Resend -------------------------------------------------------------

def resend(sender: Sender, delivery_id: str, by: str | None = None) -> tuple[Delivery, str]:
    """Send a delivery's email again, as it was rendered, as a new delivery (the secretariat's
    Resend, recorded as requested ``by`` them): returns (the new delivery, its status after trying to send it now). Refused (404)
    if there is no such delivery, ResendRefused (409) if its address is suppressed."""
    extra_id, outgoing, attempts, key = sender.claims.resend_copy(delivery_id, by)
    status = sender.deliver(extra_id, outgoing, attempts)
    with sender.db.session() as s:
        fresh = s.get(Delivery, extra_id)
        s.expunge(fresh)
    log.info("delivery %s resent as %s: %s", delivery_id, key, status)
    return fresh, status


def page_of_deliveries(db: Database, filters: dict, limit: int, offset: int) -> dict:
    """Deliveries, newest first, whose status, recipient or template are those of ``filters``."""
    q = select(Delivery)
    for key in ("status", "recipient", "template"):
        if key in filters:
            q = q.where(getattr(Delivery, key) == filters[key])
    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(q.subquery()))
        items = s.scalars(q.order_by(Delivery.created_at.desc(), Delivery.id).limit(limit).offset(offset)).all()
    return {"total": total, "items": items}


def get(db: Database, delivery_id: str) -> Delivery:
    with db.session() as s:
        row = s.get(Delivery, delivery_id)
    if row is None:
        raise Refused(404, f"no delivery {delivery_id}")
    return row


def browse(db: Database, given: dict, page: int, per_page: int) -> tuple[int, list[Delivery], list[str], list[str]]:
    """The secretariat's outbox page: (how many match, that page of them newest first, the
    template names and the event types to filter by). ``given``: status, template, event_type,
    and part of the recipient's address ("" for any)."""
    q = select(Delivery)
    if given["status"] in STATUSES:
        q = q.where(Delivery.status == given["status"])
    if given["template"]:
        q = q.where(Delivery.template == given["template"])
    if given["event_type"]:
        q = q.where(Delivery.event_type == given["event_type"])
    if given["recipient"]:
        q = q.where(func.lower(Delivery.recipient).contains(given["recipient"].lower(), autoescape=True))
    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(q.subquery()))
        rows = s.scalars(q.order_by(Delivery.created_at.desc(), Delivery.id)
                         .limit(per_page).offset((page - 1) * per_page)).all()
        template_names = sorted(set(templates.available()) | set(s.scalars(select(Delivery.template).distinct())))
        event_types = sorted(s.scalars(select(Delivery.event_type).distinct()))
    return total, rows, template_names, event_types


def with_resends(db: Database, delivery_id: str) -> Delivery | None:
    """One delivery, detached, its ``resends`` (newest last) attached; None if there is none."""
    with db.session() as s:
        row = s.get(Delivery, delivery_id)
        if row is None:
            return None
        resends = s.scalars(select(Delivery).where(
            Delivery.key.startswith(f"{row.key}:resend:"[:180], autoescape=True))
            .order_by(Delivery.created_at)).all()
        s.expunge_all()
    row.resends = resends
    return row
