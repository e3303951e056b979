"""notify through mail-server outages longer than a few minutes, on both stacks, and a worker
killed before the final dot.

Mail servers retry a temporary failure for days (RFC 5321 §4.5.4.1); so must we. The outages
here run on a simulated clock (``delivery.utcnow``, which every timing decision of the sender
reads), and each round also makes the pending rows due at once (as in test_notify_faults), so
a sender that spends a message's budget on every sweep shows it within a few rounds. Each test
prints its figures: emails queued, delivered (once each), failed, and how often the sender
knocked on the failing server.
"""
from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as AioSMTP

from services.notify.ops import deliveries as delivery
from services.notify.ops.deliveries import Sender
from services.notify.handlers import HANDLERS
from services.notify.mail import mailer_from_url
from services.notify.models import inbox, outbox
from shared.config import load_settings
from shared.db import Database
from shared.events import make_event, parse_message
from shared.inbox import InboxDispatcher, bind
from tests.notify import test_notify_faults as faults
from tests.notify.test_notify_faults import (
    WorkerProcess, _FaultyHandler, email_events, events_for, expected_keys, keys_received, publish, rows, summary,
    time_passes, visibility_timeout_passes)
from tests.support.stack import migrate, wait_until
from tests.support.tcpproxy import TcpProxy

# that file's fixtures: both stacks, and an SMTP server that can greylist and hold messages
env_of, smtp = faults.env_of, faults.smtp


class Clock:
    """The sender's idea of now, moved by the test."""

    def __init__(self):
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(delivery, "utcnow", c, raising=False)
    return c


def signin_events(count: int, clock: Clock, minutes: int = 15) -> list:
    return [make_event("signin.requested", {
        "applicant_id": str(uuid.uuid4()), "email": f"officer{i:03d}@signin.example.org",
        "contact_name": f"Officer {i}", "language": "en", "purpose": "browser",
        "url": f"http://127.0.0.1:8001/signin/{uuid.uuid4().hex}",
        "expires_at": clock.now + timedelta(minutes=minutes)}, producer="intake") for i in range(count)]


def signin_keys(events) -> set[str]:
    return {delivery.delivery_key(e.id, "signin_link", e.data["email"]) for e in events}


class Notify:
    """notify's handlers and sender in this process, without a broker: events are handed to the
    inbox as the consumer would, and the sweep is run by the test, round by round."""

    def __init__(self, settings):
        migrate(settings, ("notify",))
        self.db = Database(settings.database_url("notify"), "notify")
        self.sender = Sender(self.db, mailer_from_url(settings.mail_url), settings.mail_from,
                             **({"retry_for": timedelta(hours=settings.mail_retry_hours)}
                                if hasattr(settings, "mail_retry_hours") else {}))
        self.dispatcher = InboxDispatcher(self.db, inbox, outbox, "notify", bind(HANDLERS, sender=self.sender))

    def handle(self, events) -> None:
        """As the consumer would: each event as it comes off the broker, in one batch."""
        self.dispatcher.many([parse_message(e.to_message()) for e in events])

    def rounds(self, clock: Clock, count: int, every: timedelta, until=None) -> int:
        for done in range(1, count + 1):
            clock.advance(seconds=every.total_seconds())
            time_passes(self.db, "pending")
            self.sender.sweep()
            if until is not None and until():
                return done
        return count

    def statuses(self) -> Counter:
        return Counter(r.status for r in rows(self.db))

    def all_sent(self) -> bool:
        return set(self.statuses()) == {"sent"}


def report(what: str, queued: int, smtp, notify: Notify, knocks: int,
           knocks_are: str = "attempts recorded while the server failed (each email's first claim included)") -> None:
    received = keys_received(smtp)
    print(f"\n{what}: {queued} queued, {len(received)} delivered ({sum(received.values())} copies), "
          f"{notify.statuses().get('failed', 0)} failed, {knocks} {knocks_are}")


# --- the outage: 100 emails, the server failing for longer than the old budget ------------------

@pytest.mark.parametrize("fault", ["connection refused", "451 for every recipient"])
def test_an_outage_longer_than_the_old_budget_loses_no_email(env_of, smtp, clock, fault):
    """60 sign-in links and 40 acknowledgements go out while the server fails for 10 minutes (the
    old budget of 8 attempts ran out after about two), then it is back. Every email arrives once,
    nothing ends ``failed``, the secretariat gets no alert. Would fail if a temporary failure
    counted against a number of attempts (rows ``failed`` within 8 rounds), or if a failing server
    were knocked on for every message on every sweep instead of the sender backing off."""
    proxy = TcpProxy(smtp.port)
    if fault == "connection refused":
        url = f"smtp://127.0.0.1:{proxy.port}"  # not started: connections are refused
    else:
        proxy.start()
        url = smtp.url
    notify = Notify(load_settings(env_of(PRIZE_MAIL_URL=url)))
    links, acks = signin_events(60, clock), events_for(40, "OUT")
    everyone = {e.data["email"] for e in links} | {e.data["applicant"]["contact_email"] for e in acks}
    if fault != "connection refused":
        smtp.greylisted.update(a.lower() for a in everyone)
    smtp.rcpt_seen = 0
    try:
        notify.handle(links + acks)
        notify.rounds(clock, 20, timedelta(seconds=30))  # ten minutes of outage
        during = notify.statuses()
        knocks = smtp.rcpt_seen if fault != "connection refused" else sum(r.attempts for r in rows(notify.db))
        assert during.get("failed", 0) == 0, summary(notify.db)
        assert smtp.messages == []

        if fault == "connection refused":
            proxy.start()
        else:
            smtp.greylisted.clear()
        took = notify.rounds(clock, 12, timedelta(seconds=30), until=notify.all_sent)
        assert notify.all_sent(), summary(notify.db)
        assert keys_received(smtp) == Counter({k: 1 for k in signin_keys(links) | expected_keys(acks)})
        assert email_events(notify.db, "email.failed") == 0
        report(f"{fault} for 10 min (all sent {took * 30} s after it ended)", 100, smtp, notify, knocks,
               *(["RCPT commands the failing server answered 451"] if fault != "connection refused" else []))
        # backing off the whole sender: far fewer knocks than 100 emails x 20 sweeps
        assert knocks < 200, knocks
    finally:
        proxy.stop()
        notify.db.dispose()


def test_a_days_long_outage_delivers_afterwards_and_expired_links_are_not_sent(env_of, smtp, clock):
    """The server refuses connections for three days (inside the default four-day budget). The
    acknowledgements go out once it is back; the sign-in links, useless after their 15 minutes,
    end ``failed`` as expired without reaching anyone and without alerting the secretariat."""
    proxy = TcpProxy(smtp.port)
    notify = Notify(load_settings(env_of(PRIZE_MAIL_URL=f"smtp://127.0.0.1:{proxy.port}")))
    links, acks = signin_events(10, clock), events_for(40, "DAY")
    try:
        notify.handle(links + acks)
        notify.rounds(clock, 72, timedelta(hours=1))
        by_key = {r.key: r for r in rows(notify.db)}
        assert all(by_key[k].status == "failed" and "expired" in by_key[k].last_error for k in signin_keys(links)), \
            summary(notify.db)
        assert all(by_key[k].status == "pending" for k in expected_keys(acks)), summary(notify.db)
        knocks = sum(r.attempts for r in rows(notify.db))

        proxy.start()
        notify.rounds(clock, 6, timedelta(minutes=2),
                      until=lambda: all(r.status != "pending" for r in rows(notify.db)))
        assert keys_received(smtp) == Counter({k: 1 for k in expected_keys(acks)})
        assert {r.key for r in rows(notify.db) if r.status == "sent"} == expected_keys(acks)
        assert not [r for r in rows(notify.db) if r.template == delivery.ALERT_TEMPLATE]
        report("connection refused for 3 days", 50, smtp, notify, knocks)
    finally:
        proxy.stop()
        notify.db.dispose()


def test_one_address_refused_for_longer_than_the_budget_fails_once_then(env_of, smtp, clock):
    """One address answered 451 for five days while the others go out: it stays ``pending`` for
    the whole four-day budget, then fails for good once, with the budget in its error, and the
    same email goes to the second contact. Would fail if the budget were a number of attempts
    (failed on day 1)."""
    notify = Notify(load_settings(env_of(PRIZE_MAIL_URL=smtp.url)))
    acks = events_for(5, "BUD")
    stuck = acks[2].data["applicant"]["contact_email"]
    smtp.greylisted.add(stuck.lower())
    try:
        notify.handle(acks)
        notify.rounds(clock, 95, timedelta(hours=1))  # 95 hours: inside the budget
        [row] = [r for r in rows(notify.db) if r.recipient == stuck]
        assert row.status == "pending" and "451" in row.last_error, summary(notify.db)
        assert set(keys_received(smtp)) == expected_keys(acks[:2] + acks[3:])
        notify.rounds(clock, 3, timedelta(hours=1))
        [row] = [r for r in rows(notify.db) if r.recipient == stuck]
        assert row.status == "failed" and "96 hours" in row.last_error, summary(notify.db)
        assert email_events(notify.db, "email.failed") == 1
        assert wait_until(lambda: any(r.recipient == "second@faults.example.org" and r.status == "sent"
                                      for r in rows(notify.db)), timeout=10), summary(notify.db)
        print(f"\none address refused for 98 h: failed after {row.attempts} attempts; "
              f"{len(keys_received(smtp))} other emails delivered once")
    finally:
        notify.db.dispose()


# --- a worker killed before the final dot -------------------------------------------------------------

class _HoldBeforeDot(AioSMTP):
    """Holds the answer to DATA (the 354) of the n-th message: the client has the envelope
    accepted and waits to send the message, none of which the server has."""

    async def smtp_DATA(self, arg):
        srv = self.event_handler.server
        with srv.lock:
            srv.data_commands += 1
            hold = srv.data_commands == srv.hold_before_dot
        if hold:
            srv.held.set()
            while not srv.release:
                await asyncio.sleep(0.01)
            return  # the client is gone: nothing more to say
        return await super().smtp_DATA(arg)


class _HoldingController(Controller):
    def factory(self):
        return _HoldBeforeDot(self.handler, **self.SMTP_kwargs)


def test_the_worker_killed_before_the_final_dot_is_resent_and_arrives_once(env_of, smtp, tmp_path):
    """The worker dies while waiting for the server's go-ahead to send the 30th message: the
    server never had it. The new worker sends it (and everything else) once; nothing ends
    ``unconfirmed``. Would fail if the hand-over were marked before the message went (the email
    would end unconfirmed and never be sent)."""
    smtp.stop()
    smtp.data_commands, smtp.hold_before_dot = 0, 30
    smtp.controller = _HoldingController(_FaultyHandler(smtp), hostname="127.0.0.1", port=smtp.port)
    smtp.start()
    total = 80
    env = env_of(PRIZE_MAIL_URL=smtp.url)
    settings = load_settings(env)
    migrate(settings, ("notify",))
    db = Database(settings.database_url("notify"), "notify")
    events = events_for(total, "DOT")
    worker = WorkerProcess(env, tmp_path / "notify-worker.log")
    try:
        publish(settings, events)
        worker.start()
        assert smtp.held.wait(40), "the 30th email never reached DATA:\n" + worker.output()[-3000:]
        worker.kill()
        smtp.release = True
        assert sum(keys_received(smtp).values()) == 29
        time_passes(db, "sending")
        visibility_timeout_passes(settings)
        worker = WorkerProcess(env, tmp_path / "notify-worker.log").start()
        done = wait_until(lambda: (lambda rs: len(rs) == total and all(r.status == "sent" for r in rs))(rows(db)),
                          timeout=40)
        assert done, f"{summary(db)}\n" + worker.output()[-3000:]
        received = keys_received(smtp)
        assert received == Counter({k: 1 for k in expected_keys(events)})
        assert all(r.handed_at is None for r in rows(db))
        print(f"\nworker killed before the dot: {total} queued, {len(received)} delivered once, 0 unconfirmed")
    finally:
        worker.stop()
        db.dispose()
