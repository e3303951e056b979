"""The database side of sending a delivery: each attempt's claim (with its lease), its renewal,
the hand-over, and the outcome recorded (sent, failed, retried later, unconfirmed), with the
follow-ups of an email failed for good (the second contact, the secretariat's alert).

No mailer and no clock of its own: every time comes from the ``clock`` given (ops/deliveries.py's,
which a test moves), and ops/deliveries.Sender does the talking to the mail server.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parseaddr

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from shared.db import Database
from shared.erasure import ERASED_EMAIL
from shared.events import make_event
from shared.outbox import GuardedRecord, record
from shared.refusals import Refused

from ..mail import Outgoing
from ..models import Delivery, OptOut, Recipient, Suppression, outbox
from . import templates
from .backoff import retry_backoff
from .optout import honours_opt_out

log = logging.getLogger("prize.notify.delivery")

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


_D, _S = Delivery.__table__, Suppression.__table__
# the delivery as an attempt finds it before sending, with its address's suppression, if any
_LOOK = (select(_D.c.status, _D.c.attempts, _D.c.next_attempt_at, _D.c.handed_at, _D.c.expires_at,
                _S.c.reason, _S.c.detail)
         .select_from(_D.outerjoin(_S, _S.c.email == bindparam("address"))).where(_D.c.id == bindparam("d_id")))
_SUPPRESSED = select(_S.c.reason, _S.c.detail).where(_S.c.email == bindparam("address"))
# this attempt's claim, still its own: being sent, and no later attempt since
_STILL_OURS = (_D.c.id == bindparam("d_id"), _D.c.status == "sending", _D.c.attempts == bindparam("attempt"))
# still ours, and the address's suppression if any (the last look before any of the message goes)
_OURS = (select(_D.c.id, _S.c.reason, _S.c.detail)
         .select_from(_D.outerjoin(_S, _S.c.email == bindparam("address"))).where(*_STILL_OURS))
_RENEW = update(_D).where(*_STILL_OURS).values(next_attempt_at=bindparam("when"))
_HANDED = update(_D).where(*_STILL_OURS).values(handed_at=bindparam("when"))
_SENT = (update(_D).where(_D.c.id == bindparam("d_id"), _D.c.status != "sent")
         .values(status="sent", sent_at=bindparam("when"), provider_message_id=bindparam("provider"),
                 last_error=None, handed_at=None)
         .returning(_D.c.key, _D.c.event_id, _D.c.template, _D.c.recipient, _D.c.correlation_id))


_SENT_AS_QUEUED = GuardedRecord(outbox, update(_D).where(
    _D.c.id == bindparam("d_id"), _D.c.status != "sent", _D.c.key == bindparam("d_key"),
    _D.c.recipient == bindparam("address")).values(
    status="sent", sent_at=bindparam("when"), provider_message_id=bindparam("provider"), last_error=None,
    handed_at=None))


def _sent_event(key, event_id, template, recipient, correlation_id, provider_id, now):
    return make_event("email.sent", {
        "delivery_key": key, "event_id": event_id, "template": template, "recipient": recipient,
        "provider_message_id": provider_id, "sent_at": now}, producer="notify", correlation_id=correlation_id)


def as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def delivery_key(event_id, template: str, recipient: str) -> str:
    return f"{event_id}:{template}:{recipient.lower()}"


class ClaimLost(Exception):
    """Another sender claimed the delivery since this attempt began: this one must not send."""


class Suppressed(Exception):
    """The address went on the suppression list: the email must not go (``reason`` says why)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ResendRefused(Refused):
    """A resend that cannot be done (409); ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(409, f"not resent: {reason}")
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class Look:
    """A claimed delivery as an attempt finds it just before sending."""
    status: str
    mine: bool             # still this attempt's claim
    fresh: bool            # with more than half its lease left
    handed_before: bool    # an earlier attempt handed the email over and died before its outcome
    expired: bool          # what it carries is no longer valid
    suppressed: str | None  # why its address is on the suppression list, or None


class Claims:
    def __init__(self, db: Database, clock, retry_for: timedelta, sender_address: str):
        self.db, self.clock, self.retry_for, self.sender_address = db, clock, retry_for, sender_address
        # One statement needs no transaction of its own: on PostgreSQL, in autocommit, it is one
        # round trip instead of three (BEGIN, it, COMMIT or ROLLBACK). SQLite keeps its BEGIN
        # IMMEDIATE (shared/db.py).
        self.one_statement = (db.engine.execution_options(isolation_level="AUTOCOMMIT")
                              if db.dialect == "postgresql" else db.engine)

    unsubscribe = None  # ops/optout.Unsubscribe: the List-Unsubscribe headers of outreach emails

    def outgoing(self, row: Delivery) -> Outgoing:
        headers = (self.unsubscribe.headers(row.recipient, row.template)
                   if self.unsubscribe is not None and honours_opt_out(row.template) else None)
        return Outgoing(key=row.key, sender=self.sender_address, recipient=row.recipient,
                        subject=row.subject, text=row.body_text, html=row.body_html, headers=headers)

    def claim(self, delivery_id: str) -> tuple[Outgoing, int] | str:
        """Claim a pending delivery (or one whose lease ran out): (its email, the attempt), else
        its status ("missing" if there is none)."""
        with self.db.session() as s, s.begin():
            row = s.get(Delivery, delivery_id, with_for_update=True)
            if row is None:
                return "missing"
            claimable = row.status == "pending" or (
                row.status == "sending" and as_utc(row.next_attempt_at) <= self.clock.now())
            if not claimable:
                return row.status
            # Claim it with a lease and count the attempt before talking to the provider: a
            # second sender skips it, and a crash after this commit shows up as an attempt
            # without an outcome, picked up again when the lease runs out.
            row.status = "sending"
            row.next_attempt_at = self.clock.lease_end(self.clock.now())
            row.attempts += 1
            return self.outgoing(row), row.attempts

    # look, renew, check, handed and sent run once or twice for every email: each is one Core
    # statement (a conditional UPDATE where the ORM read the row under a lock and then wrote it),
    # which costs a fraction of the CPU of an ORM session, with the same guarantees.

    def look(self, delivery_id: str, attempt: int, recipient: str, now: datetime) -> Look:
        address = recipient.strip().lower()
        with self.one_statement.connect() as conn:
            row = conn.execute(_LOOK, {"d_id": delivery_id, "address": address}).first()
            if row is None:  # no such delivery: the suppression list alone
                row = conn.execute(_SUPPRESSED, {"address": address}).first()
                status = "missing"
            else:
                status = row.status
        mine = status == "sending" and row.attempts == attempt
        half = (self.clock.lease_end(now) - now) / 2
        fresh = mine and as_utc(row.next_attempt_at) - now > half
        handed_before = mine and row.handed_at is not None
        expired = mine and row.expires_at is not None and as_utc(row.expires_at) <= now
        reason = None
        if row is not None and row.reason is not None:
            reason = f"suppressed: {row.reason}" + (f" ({row.detail})" if row.detail else "")
        return Look(status, mine, fresh, handed_before, expired, reason)

    def renew(self, delivery_id: str, attempt: int) -> bool:
        """Extend our claim's lease before sending; False if another sender has claimed it since."""
        with self.one_statement.begin() as conn:
            return conn.execute(_RENEW, {"d_id": delivery_id, "attempt": attempt,
                                             "when": self.clock.lease_end(self.clock.now())}).rowcount == 1

    def check(self, delivery_id: str, attempt: int, recipient: str) -> None:
        """Called by the backend once the provider accepted the envelope, before any of the
        message goes: raise ClaimLost (and nothing is sent) if another sender claimed it since,
        Suppressed if its address went on the suppression list."""
        with self.one_statement.connect() as conn:
            row = conn.execute(_OURS, {"d_id": delivery_id, "attempt": attempt,
                                       "address": recipient.strip().lower()}).first()
        if row is None:
            raise ClaimLost(delivery_id)
        if row.reason is not None:
            raise Suppressed(f"suppressed: {row.reason}" + (f" ({row.detail})" if row.detail else ""))

    def handed(self, delivery_id: str, attempt: int) -> None:
        """Called by the backend once the whole message has gone, before the provider's answer:
        commit that, so that a crash from here on is not followed by a blind second copy. Never
        raises: the message is gone, and its answer must still be read and recorded."""
        try:
            with self.one_statement.begin() as conn:
                conn.execute(_HANDED, {"d_id": delivery_id, "attempt": attempt, "when": self.clock.now()})
        except Exception:
            log.exception("delivery %s: could not record the hand-over; reading the server's answer all the same",
                          delivery_id)

    def unconfirmed(self, delivery_id: str, outgoing: Outgoing, attempt: int) -> str:
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

    def later(self, delivery_id: str, attempt: int, until: datetime) -> str:
        """Give back our claim, untried, for when sending resumes (the server is paused)."""
        with self.db.session() as s, s.begin():
            row = s.get(Delivery, delivery_id, with_for_update=True)
            if row is None or row.status != "sending" or row.attempts != attempt:
                return row.status if row is not None else "missing"
            row.status, row.next_attempt_at = "pending", until
            return "pending"

    def sent(self, delivery_id: str, provider_id: str, queued: Delivery | None = None) -> bool:
        """Record the provider's acceptance, and email.sent in the outbox; False if it was
        recorded as sent already.

        ``queued``: the row as queue_email wrote it. Then the update and the event are one
        statement (GuardedRecord), guarded by the row's key and address being still those the
        event names (an erasure in between changes the address): if the guard fails, the row is
        read and written as without it."""
        now = self.clock.now()
        if queued is not None:
            event = _sent_event(queued.key, queued.event_id, queued.template, queued.recipient, queued.correlation_id,
                                provider_id, now)
            with self.one_statement.begin() as conn:
                if _SENT_AS_QUEUED(conn, event, {"d_id": delivery_id, "d_key": queued.key, "address": queued.recipient,
                                                 "when": now, "provider": provider_id}, self.db.notify_channel):
                    return True
        with self.db.engine.begin() as conn:
            row = conn.execute(_SENT, {"d_id": delivery_id, "when": now, "provider": provider_id}).first()
            if row is None:  # SES's delivery notification overtook our answer (ops/sns.py)
                return False
            record(conn, outbox, _sent_event(row.key, row.event_id, row.template, row.recipient, row.correlation_id,
                                             provider_id, now), channel=self.db.notify_channel)
        return True

    def failed(self, delivery_id: str, error: str, permanent: bool,
               retry_at: datetime | None = None) -> tuple[str, list[Delivery]]:
        """Record a failed attempt: retried later (at ``retry_at`` when the server is paused, else
        after a backoff) unless ``permanent``, or unless the email is older than ``retry_for`` and
        this refusal was about it (a failing server alone never ends an email). Returns the
        status and the follow-ups to send now (committed and claimed)."""
        now = self.clock.now()
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
                row.next_attempt_at = retry_at or now + retry_backoff(row.attempts)
                log.warning("delivery %s failed (attempt %d), retrying later: %s", row.key, row.attempts, error)
                return "pending", []
            return "failed", self._failed_for_good(s, row, error, now)

    def _failed_for_good(self, s: Session, row: Delivery, error: str, now: datetime) -> list[Delivery]:
        row.status = "failed"
        log.error("delivery %s failed for good: %s", row.key, error)
        record(s, outbox, make_event("email.failed", {
            "delivery_key": row.key, "event_id": row.event_id, "template": row.template,
            "recipient": row.recipient, "error": error[:2000], "permanent": True, "failed_at": now,
        }, producer="notify", correlation_id=row.correlation_id))
        if row.template in NOT_TO_A_CITY or self._senders_fault(error):
            return []
        extra = self._fallback(s, row, now) or self._alert(s, row, error, now)
        return [extra] if extra is not None else []

    def _senders_fault(self, error: str) -> bool:
        sender = parseaddr(self.sender_address)[1].lower()
        return any(p in error for p in _SENDER_PROBLEMS) or bool(sender and sender in error.lower())

    def copy(self, s: Session, row: Delivery, key: str, recipient: str, now: datetime, **rendered) -> Delivery | None:
        """A new delivery for ``row``'s event, claimed for sending after this transaction commits;
        None if one with ``key`` exists already (so it happens once)."""
        if s.scalar(select(Delivery.id).where(Delivery.key == key)):
            return None
        fields = {"template": row.template, "language": row.language, "subject": row.subject,
                  "body_text": row.body_text, "body_html": row.body_html, **rendered}
        extra = Delivery(id=str(uuid.uuid4()), key=key, event_id=row.event_id, event_type=row.event_type,
                         correlation_id=row.correlation_id, recipient=recipient, status="sending", attempts=1,
                         created_at=now, next_attempt_at=self.clock.lease_end(now), **fields)
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
        extra = self.copy(s, row, delivery_key(row.event_id, row.template, secondary), secondary.strip(), now)
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
        return self.copy(s, row, key, secretariat, now, template=ALERT_TEMPLATE, language=language,
                         subject=subject, body_text=text, body_html=html)

    # --- what the sweep and the secretariat's Resend take up -------------------------------------

    def expired_waiting(self, now: datetime, limit: int) -> list[str]:
        """The waiting emails that expired (sign-in links)."""
        with self.db.session() as s:
            return s.scalars(select(Delivery.id).where(
                Delivery.status == "pending", Delivery.expires_at.is_not(None), Delivery.expires_at <= now)
                .limit(limit)).all()

    def due(self, now: datetime, older_than: float, limit: int) -> list[str]:
        """Pending deliveries whose time has come (retries, and any a crash left behind)."""
        with self.db.session() as s:
            return s.scalars(select(Delivery.id).where(
                Delivery.status.in_(("pending", "sending")), Delivery.next_attempt_at <= now,
                Delivery.created_at <= now - timedelta(seconds=older_than))
                .order_by(Delivery.next_attempt_at).limit(limit)).all()

    def resend_copy(self, delivery_id: str, by: str | None = None) -> tuple[str, Outgoing, int, str]:
        """Record a resend of a delivery, claimed: (its id, its email, its attempt, its key).

        Its key is the original's with ``:resend:<n>`` (n counts the resends of it), so two clicks
        at once make one resend. An address on the suppression list is refused before anything is
        recorded (ResendRefused, saying why): clear it from the list first.
        """
        now = self.clock.now()
        with self.db.session() as s, s.begin():
            row = s.get(Delivery, delivery_id)
            if row is None:
                raise Refused(404, f"no delivery {delivery_id}")
            if row.recipient == ERASED_EMAIL:
                raise ResendRefused("this email's address and text were erased at the person's request")
            suppressed = s.get(Suppression, row.recipient.strip().lower())
            if suppressed is not None:
                detail = f" ({suppressed.detail})" if suppressed.detail else ""
                raise ResendRefused(f"{row.recipient} is on the suppression list ({suppressed.reason}{detail}); "
                                    "clear it from the list before resending")
            if honours_opt_out(row.template) and s.get(OptOut, row.recipient.strip().lower()) is not None:
                raise ResendRefused(f"{row.recipient} opted out of outreach email")
            prefix = f"{row.key}:resend:"
            done = s.scalar(select(func.count()).select_from(Delivery).where(
                Delivery.key.startswith(prefix[:180], autoescape=True)))
            suffix = f":resend:{done + 1}"
            key = row.key[:200 - len(suffix)] + suffix
            extra = self.copy(s, row, key, row.recipient, now)
            if extra is None:
                raise ResendRefused("this email is being resent already; reload the page")
            extra.requested_by = (by or "")[:300] or None
            return extra.id, self.outgoing(extra), extra.attempts, key
