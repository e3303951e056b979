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
  notification settles it as sent (sns.py), and the secretariat sees it and can resend it.

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
import random
import threading
import uuid
from datetime import datetime, timedelta, timezone
from email.utils import parseaddr

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.db import Database
from shared.events import Event, make_event
from shared.outbox import record

from . import templates
from .mail import Outgoing, PermanentMailError, ServerUnavailable, TransientMailError
from .models import Delivery, Recipient, Suppression, outbox

log = logging.getLogger("prize.notify.delivery")

SEND_LEASE_SECONDS = 120
RETRY_FOR = timedelta(hours=96)  # PRIZE_MAIL_RETRY_HOURS
BACKOFF_FIRST = 30.0  # seconds; each retry waits between half of it and all of it, then doubles
BACKOFF_CAP = 3600.0
EXPIRED = "expired before it could be sent (what it carries is no longer valid); not sent"

# Emails that are not to a city: no second contact is tried and the secretariat is not alerted
# when they fail for good (a sign-in link goes only to the address that asked for it; the notice
# of a moved sign-in address is for that one mailbox, and the old one is often gone, which is
# why the secretariat moved it).
NOT_TO_A_CITY = frozenset({"signin_link", "juror_invited", "review_assigned", "review_reminder",
                           "delivery_failed_alert", "contact_email_changed"})
ALERT_TEMPLATE = "delivery_failed_alert"
# SES errors that are about our sender or account, not the recipient: another address sent the
# same way fails the same way, so neither the second contact nor an alert is tried.
_SENDER_PROBLEMS = ("MailFromDomainNotVerified", "AccountSendingPaused", "ConfigurationSetSendingPaused")


def utcnow() -> datetime:
    """Now, for every timing decision here (a test moves it to run days of outage in seconds)."""
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def delivery_key(event_id, template: str, recipient: str) -> str:
    return f"{event_id}:{template}:{recipient.lower()}"


def queue_email(session: Session, event: Event, template: str, recipient: str, language: str | None,
                context: dict, expires_at: datetime | None = None) -> Delivery | None:
    """Record the email, already claimed for sending right after this transaction commits.

    Claiming here saves a transaction per email; if the worker dies before sending, the
    claim's lease runs out and the sweep sends it. ``expires_at``: the moment after which the
    email is pointless (a sign-in link's end) and is not sent any more.
    """
    key = delivery_key(event.id, template, recipient)
    if session.scalar(select(Delivery.id).where(Delivery.key == key)):
        return None
    language = templates.language_for(template, language)
    subject, text, html = templates.render(template, language, context, session)  # the edition's override, if any
    now = utcnow()
    row = Delivery(id=str(uuid.uuid4()), key=key, event_id=str(event.id), event_type=event.type,
                   correlation_id=event.correlation_id, template=template, language=language,
                   recipient=recipient, subject=subject, body_text=text, body_html=html,
                   status="sending", attempts=1, created_at=now, expires_at=expires_at,
                   next_attempt_at=now + timedelta(seconds=SEND_LEASE_SECONDS))
    session.add(row)
    return row


def _backoff(attempts: int) -> timedelta:
    """Wait before retrying one email the server refused for now: 15-30 s after the first
    attempt, doubling up to an hour, with jitter so that a batch refused together spreads out."""
    longest = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** max(0, attempts - 1))
    return timedelta(seconds=random.uniform(longest / 2, longest))


class ServerBackoff:
    """The mail server as a whole, as this process sees it.

    When it fails for everyone (``server_failed``), or refuses ``STREAK`` different emails in a
    row for now (``recipient_refused``: a server answering 451 to every RCPT looks like that),
    sending pauses: 5 s, doubling up to 2 minutes (short enough for a 15-minute sign-in link to
    go out soon after the server is back). One email is tried when the pause ends; a success
    ends it. Kept in memory: each worker finds out for itself, at the cost of one attempt.
    """
    FIRST = 5.0
    CAP = 120.0
    STREAK = 3

    def __init__(self):
        self._lock = threading.Lock()
        self.until: datetime | None = None
        self._pause = 0.0
        self._streak = 0

    def paused(self, now: datetime) -> datetime | None:
        """Until when sending is paused, or None."""
        until = self.until
        return until if until is not None and now < until else None

    def server_failed(self, now: datetime) -> datetime:
        with self._lock:
            self._pause = self.FIRST if not self._pause else min(self.CAP, self._pause * 2)
            self.until = now + timedelta(seconds=self._pause)
            self._streak = 0
            return self.until

    def recipient_refused(self, now: datetime) -> datetime | None:
        with self._lock:
            self._streak += 1
            if self._streak < self.STREAK:
                return None
        return self.server_failed(now)

    def succeeded(self) -> None:
        with self._lock:
            self.until, self._pause, self._streak = None, 0.0, 0


class Sender:
    def __init__(self, db: Database, mailer, sender_address: str, retry_for: timedelta = RETRY_FOR):
        self.db = db
        self.mailer = mailer
        self.sender_address = sender_address
        self.retry_for = retry_for
        self.server = ServerBackoff()

    def send(self, delivery_id: str) -> str:
        """Try to send one pending delivery now; return its status afterwards."""
        if self.server.paused(utcnow()):
            return "pending"  # the sweep's rows stay as they are until the server is tried again
        with self.db.session() as s, s.begin():
            row = s.get(Delivery, delivery_id, with_for_update=True)
            if row is None:
                return "missing"
            claimable = row.status == "pending" or (
                row.status == "sending" and as_utc(row.next_attempt_at) <= utcnow())
            if not claimable:
                return row.status
            # Claim it with a lease and count the attempt before talking to the provider: a
            # second sender skips it, and a crash after this commit shows up as an attempt
            # without an outcome, picked up again when the lease runs out.
            row.status = "sending"
            row.next_attempt_at = utcnow() + timedelta(seconds=SEND_LEASE_SECONDS)
            row.attempts += 1
            attempt = row.attempts
            outgoing = self.outgoing(row)
        return self.deliver(delivery_id, outgoing, attempt)

    def outgoing(self, row: Delivery) -> Outgoing:
        return Outgoing(key=row.key, sender=self.sender_address, recipient=row.recipient,
                        subject=row.subject, text=row.body_text, html=row.body_html)

    def deliver(self, delivery_id: str, outgoing: Outgoing, attempt: int) -> str:
        """Hand a delivery we hold the claim on to the provider and record the outcome.

        The claim is checked first: a batch's emails are claimed when queued and sent one after
        the other after the commit, and when that outlasts the lease (a slow or unreachable
        server) the sweep may have claimed and sent one meanwhile: sending it here too would
        send it twice. So ``attempt`` must still be the row's latest claim, and a lease with
        less than half its time left is renewed before sending.
        """
        now = utcnow()
        with self.db.session() as s:
            row = s.get(Delivery, delivery_id)
            status = row.status if row is not None else "missing"
            mine = status == "sending" and row.attempts == attempt
            fresh = mine and as_utc(row.next_attempt_at) - now > timedelta(seconds=SEND_LEASE_SECONDS / 2)
            # an earlier attempt handed the email over and then died before its outcome was kept
            handed_before = mine and row.handed_at is not None
            expired = mine and row.expires_at is not None and as_utc(row.expires_at) <= now
            suppressed = s.get(Suppression, outgoing.recipient.strip().lower())
            if suppressed is not None:
                reason = f"suppressed: {suppressed.reason}" + (f" ({suppressed.detail})" if suppressed.detail else "")
        if mine and not fresh:
            mine = self._renew(delivery_id, attempt)
        if not mine:
            log.info("delivery %s: attempt %d is no longer ours (%s); not sending", outgoing.key, attempt, status)
            return status
        if suppressed is not None:
            log.warning("delivery %s not sent: %s is on the suppression list", outgoing.key, outgoing.recipient)
            return self._failed(delivery_id, reason, permanent=True)
        if expired and not handed_before:
            return self._failed(delivery_id, EXPIRED, permanent=True)
        paused = self.server.paused(now)
        if paused and not handed_before:
            return self._later(delivery_id, attempt, paused)
        try:
            if attempt > 1 and self.mailer.already_sent(outgoing.key):
                provider_id = "already-delivered"
            elif handed_before and not getattr(self.mailer, "can_tell", False):
                return self._unconfirmed(delivery_id, outgoing, attempt)
            else:
                provider_id = self.mailer.send(outgoing, check=lambda: self._check_claim(delivery_id, attempt),
                                               handed=lambda: self._handed(delivery_id, attempt))
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
        except ClaimLost:
            log.info("delivery %s: attempt %d lost its claim before the message went; not sending", outgoing.key,
                     attempt)
            return "sending"
        self.server.succeeded()
        now = utcnow()
        with self.db.session() as s, s.begin():
            row = s.get(Delivery, delivery_id, with_for_update=True)
            if row.status == "sent":  # SES's delivery notification overtook our answer (sns.py)
                return "sent"
            row.status, row.sent_at, row.provider_message_id, row.last_error = "sent", now, provider_id, None
            row.handed_at = None
            record(s, outbox, make_event("email.sent", {
                "delivery_key": row.key, "event_id": row.event_id, "template": row.template,
                "recipient": row.recipient, "provider_message_id": provider_id, "sent_at": now,
            }, producer="notify", correlation_id=row.correlation_id))
        log.info("email %s sent to %s", outgoing.key, outgoing.recipient)
        return "sent"

    def _check_claim(self, delivery_id: str, attempt: int) -> None:
        """Called by the backend once the provider accepted the envelope, before any of the
        message goes: raise ClaimLost (and nothing is sent) if another sender claimed it since."""
        with self.db.session() as s:
            row = s.get(Delivery, delivery_id)
            if row is None or row.status != "sending" or row.attempts != attempt:
                raise ClaimLost(delivery_id)

    def _handed(self, delivery_id: str, attempt: int) -> None:
        """Called by the backend once the whole message has gone, before the provider's answer:
        commit that, so that a crash from here on is not followed by a blind second copy. Never
        raises: the message is gone, and its answer must still be read and recorded."""
        try:
            with self.db.session() as s, s.begin():
                row = s.get(Delivery, delivery_id, with_for_update=True)
                if row is not None and row.status == "sending" and row.attempts == attempt:
                    row.handed_at = utcnow()
        except Exception:
            log.exception("delivery %s: could not record the hand-over; reading the server's answer all the same",
                          delivery_id)

    def _unconfirmed(self, delivery_id: str, outgoing: Outgoing, attempt: int) -> str:
        """The last attempt died after the whole email reached a provider that cannot be asked
        whether it kept it (SMTP, SES), before its answer was read: it has almost surely arrived.
        Sending it again would make two, so it is not sent by itself: it is marked
        ``unconfirmed``; SES's delivery notification settles it as sent, and the secretariat's
        outbox page shows it with a Resend button."""
        with self.db.session() as s, s.begin():
            row = s.get(Delivery, delivery_id, with_for_update=True)
            if row is None or row.status != "sending" or row.attempts != attempt:
                return row.status if row is not None else "missing"
            row.status = "unconfirmed"
            row.last_error = (f"attempt {attempt - 1} stopped after the whole email reached the mail server "
                              f"(at {as_utc(row.handed_at):%Y-%m-%d %H:%M:%S} UTC) and before the server's answer "
                              "was read: it has almost surely arrived, but it may not have. Not sent again by "
                              "itself; resend it if the recipient did not get it.")
        log.error("delivery %s to %s is unconfirmed: the worker stopped while handing it over; not resending it",
                  outgoing.key, outgoing.recipient)
        return "unconfirmed"

    def _later(self, delivery_id: str, attempt: int, until: datetime) -> str:
        """Give back our claim, untried, for when sending resumes (the server is paused)."""
        with self.db.session() as s, s.begin():
            row = s.get(Delivery, delivery_id, with_for_update=True)
            if row is None or row.status != "sending" or row.attempts != attempt:
                return row.status if row is not None else "missing"
            row.status, row.next_attempt_at = "pending", until
            return "pending"

    def _renew(self, delivery_id: str, attempt: int) -> bool:
        """Extend our claim's lease before sending; False if another sender has claimed it since."""
        with self.db.session() as s, s.begin():
            row = s.get(Delivery, delivery_id, with_for_update=True)
            if row is None or row.status != "sending" or row.attempts != attempt:
                return False
            row.next_attempt_at = utcnow() + timedelta(seconds=SEND_LEASE_SECONDS)
            return True

    def _failed(self, delivery_id: str, error: str, permanent: bool, retry_at: datetime | None = None) -> str:
        """Record a failed attempt: retried later (at ``retry_at`` when the server is paused, else
        after a backoff) unless ``permanent``, or unless the email is older than ``retry_for`` and
        this refusal was about it (a failing server alone never ends an email)."""
        now = utcnow()
        follow_up: list[Delivery] = []
        with self.db.session() as s, s.begin():
            row = s.get(Delivery, delivery_id, with_for_update=True)
            row.last_error = error[:2000]
            row.handed_at = None  # this attempt's outcome is known
            if not permanent and retry_at is None and as_utc(row.created_at) + self.retry_for <= now:
                hours = self.retry_for.total_seconds() / 3600
                error = (f"still refused for now after {hours:g} hours of retries (PRIZE_MAIL_RETRY_HOURS), "
                         f"{row.attempts} attempts; last answer: {error}")
                row.last_error = error[:2000]
                permanent = True
            if not permanent:
                row.status = "pending"
                row.next_attempt_at = retry_at or now + _backoff(row.attempts)
                log.warning("delivery %s failed (attempt %d), retrying later: %s", row.key, row.attempts, error)
                return "pending"
            row.status = "failed"
            log.error("delivery %s failed for good: %s", row.key, error)
            record(s, outbox, make_event("email.failed", {
                "delivery_key": row.key, "event_id": row.event_id, "template": row.template,
                "recipient": row.recipient, "error": error[:2000], "permanent": True, "failed_at": now,
            }, producer="notify", correlation_id=row.correlation_id))
            if row.template not in NOT_TO_A_CITY and not self._senders_fault(error):
                extra = self._fallback(s, row, now) or self._alert(s, row, error, now)
                if extra is not None:
                    follow_up.append(extra)
        for extra in follow_up:  # committed and claimed: send now (the sweep would, later)
            self.deliver(extra.id, self.outgoing(extra), extra.attempts)
        return "failed"

    def _senders_fault(self, error: str) -> bool:
        sender = parseaddr(self.sender_address)[1].lower()
        return any(p in error for p in _SENDER_PROBLEMS) or bool(sender and sender in error.lower())

    def _copy(self, s: Session, row: Delivery, key: str, recipient: str, now: datetime, **rendered) -> Delivery | None:
        """A new delivery for ``row``'s event, claimed for sending after this transaction commits;
        None if one with ``key`` exists already (so it happens once)."""
        if s.scalar(select(Delivery.id).where(Delivery.key == key)):
            return None
        fields = {"template": row.template, "language": row.language, "subject": row.subject,
                  "body_text": row.body_text, "body_html": row.body_html, **rendered}
        extra = Delivery(id=str(uuid.uuid4()), key=key, event_id=row.event_id, event_type=row.event_type,
                         correlation_id=row.correlation_id, recipient=recipient, status="sending", attempts=1,
                         created_at=now, next_attempt_at=now + timedelta(seconds=SEND_LEASE_SECONDS), **fields)
        s.add(extra)
        s.flush()
        return extra

    def _fallback(self, s: Session, row: Delivery, now: datetime) -> Delivery | None:
        """The same email to the applicant's second contact, once, if they gave one."""
        secondary = s.scalar(select(Recipient.secondary_email).where(
            func.lower(Recipient.contact_email) == row.recipient.lower(),
            Recipient.secondary_email.is_not(None), Recipient.secondary_email != "").limit(1))
        if not secondary or secondary.strip().lower() == row.recipient.strip().lower():
            return None
        extra = self._copy(s, row, delivery_key(row.event_id, row.template, secondary), secondary.strip(), now)
        if extra is not None:
            log.warning("delivery %s failed for good; sending it to the second contact %s", row.key, secondary)
        return extra

    def _alert(self, s: Session, row: Delivery, error: str, now: datetime) -> Delivery | None:
        """Tell the secretariat (the PRIZE_MAIL_FROM address) that an email to a city failed for good."""
        secretariat = parseaddr(self.sender_address)[1]
        if not secretariat or secretariat.lower() == row.recipient.lower():
            return None
        tried = s.scalars(select(Delivery.recipient).where(
            Delivery.event_id == row.event_id, Delivery.template == row.template,
            Delivery.status == "failed", Delivery.id != row.id)).all()
        context = {"recipient": row.recipient, "also_tried": sorted(set(tried)), "template": row.template,
                   "subject": row.subject, "error": error[:500], "event_type": row.event_type,
                   "event_id": row.event_id, "failed_at": now.strftime("%Y-%m-%d %H:%M UTC")}
        language = templates.language_for(ALERT_TEMPLATE, "en")
        subject, text, html = templates.render(ALERT_TEMPLATE, language, context, s)
        key = f"{row.event_id}:{ALERT_TEMPLATE}:{row.recipient.lower()}"[:200]
        return self._copy(s, row, key, secretariat, now, template=ALERT_TEMPLATE, language=language,
                          subject=subject, body_text=text, body_html=html)

    def _expire_overdue(self, now: datetime, limit: int) -> None:
        """End the waiting emails that expired (sign-in links), even while the server is paused."""
        with self.db.session() as s:
            ids = s.scalars(select(Delivery.id).where(
                Delivery.status == "pending", Delivery.expires_at.is_not(None), Delivery.expires_at <= now)
                .limit(limit)).all()
        for delivery_id in ids:
            self._failed(delivery_id, EXPIRED, permanent=True)

    def sweep(self, older_than: float = 0.0, limit: int = 200) -> int:
        """Send pending deliveries whose time has come (retries, and any a crash left behind)."""
        now = utcnow()
        self._expire_overdue(now, limit)  # whatever the server's state: they will not be sent
        if self.server.paused(now):
            return 0
        with self.db.session() as s:
            ids = s.scalars(select(Delivery.id).where(
                Delivery.status.in_(("pending", "sending")), Delivery.next_attempt_at <= now,
                Delivery.created_at <= now - timedelta(seconds=older_than))
                .order_by(Delivery.next_attempt_at).limit(limit)).all()
        tried = 0
        for delivery_id in ids:
            if self.server.paused(utcnow()):
                break  # the server failed again: the rest wait for the next try
            self.send(delivery_id)
            tried += 1
        return tried


class ClaimLost(Exception):
    """Another sender claimed the delivery since this attempt began: this one must not send."""


class ResendRefused(Exception):
    """A resend that cannot be done; the message says why."""


def resend(sender: Sender, delivery_id: str) -> tuple[Delivery, str]:
    """Send a delivery's email again, as it was rendered, as a new delivery (the secretariat's
    Resend): returns (the new delivery, its status after trying to send it now).

    Its key is the original's with ``:resend:<n>`` (n counts the resends of it), so two clicks at
    once make one resend. An address on the suppression list is refused before anything is
    recorded (ResendRefused, saying why): clear it from the list first.
    """
    now = utcnow()
    with sender.db.session() as s, s.begin():
        row = s.get(Delivery, delivery_id)
        if row is None:
            raise LookupError(f"no delivery {delivery_id}")
        suppressed = s.get(Suppression, row.recipient.strip().lower())
        if suppressed is not None:
            detail = f" ({suppressed.detail})" if suppressed.detail else ""
            raise ResendRefused(f"{row.recipient} is on the suppression list ({suppressed.reason}{detail}); "
                                "clear it from the list before resending")
        prefix = f"{row.key}:resend:"
        done = s.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.key.startswith(prefix[:180], autoescape=True)))
        suffix = f":resend:{done + 1}"
        key = row.key[:200 - len(suffix)] + suffix
        extra = sender._copy(s, row, key, row.recipient, now)
        if extra is None:
            raise ResendRefused("this email is being resent already; reload the page")
        extra_id, outgoing, attempts = extra.id, sender.outgoing(extra), extra.attempts
    status = sender.deliver(extra_id, outgoing, attempts)
    with sender.db.session() as s:
        fresh = s.get(Delivery, extra_id)
        s.expunge(fresh)
    log.info("delivery %s resent as %s: %s", delivery_id, key, status)
    return fresh, status
