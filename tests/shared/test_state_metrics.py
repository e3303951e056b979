"""/metrics reads each service's state where it lies, on both stacks (SQLite and the embedded
broker; PostgreSQL and RabbitMQ): the outbox's unsent rows and the age of the oldest, the
messages waiting in the service's queue and in its dead-letter queue, notify's emails by status.
Read once per few seconds however many scrapes come, and a broker that does not answer leaves
its series out while /metrics still answers.
"""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event, func, select, update

from shared import topology
from shared.bus import Publisher, connect
from shared.config import load_settings
from shared.metrics import BrokerDepths
from shared.outbox import record
from tests.conftest import env_for
from tests.notify.test_notify_decisions import submitted
from tests.support.stack import Stack, wait_until


def scrape(stack, service) -> dict[tuple, float]:
    """The page's samples whose name starts with prize_ and is not HTTP's, by (name, labels)."""
    response = stack.clients[service].get("/metrics")
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for s in family.samples:
            if s.name.startswith("prize_") and not s.name.startswith("prize_http_"):
                samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(stack, service, name, **labels):
    return scrape(stack, service).get((name, tuple(sorted({"service": service, **labels}.items()))))


def fresh(stack):
    """No cache between the test's scrapes (the cache has a test of its own)."""
    for app in stack.apps.values():
        app.extensions["prize"]["state_metrics"].max_age = 0
        if "emails_metrics" in app.extensions["prize"]:
            app.extensions["prize"]["emails_metrics"].sent_every = 0
    return stack


def declare_topology(settings):
    with connect(settings.broker_url) as conn:
        channel = conn.channel()
        topology.declare(channel, settings.namespace)
        channel.close()


@pytest.fixture(params=["embedded", "real"])
def kind(request):
    return request.param


@pytest.fixture
def settings(request, tmp_path, kind):
    return load_settings(env_for(request, tmp_path / "var", kind))


def test_unsent_outbox_rows_waiting_and_dead_letters_show(settings):
    stack = fresh(Stack(settings))
    try:
        declare_topology(settings)
        for service in stack.services:
            assert value(stack, service, "prize_outbox_backlog") == 0
            assert value(stack, service, "prize_outbox_oldest_age_seconds") == 0
            assert value(stack, service, "prize_queue_messages", queue="events") == 0
            assert value(stack, service, "prize_queue_messages", queue="dead") == 0

        # three events committed in intake, no relay running: they wait, the oldest for 10 minutes
        from services.intake.models import outbox
        db = stack.apps["intake"].extensions["prize"]["db"]
        with db.session() as s, s.begin():
            for n in range(3):
                record(s, outbox, submitted(f"SSCP-2026-M{n}", "Clean buses", f"m{n}@example.org", "en")[1])
        with db.session() as s, s.begin():
            first = s.scalar(select(func.min(outbox.c.seq)))
            s.execute(update(outbox).where(outbox.c.seq == first)
                      .values(created_at=datetime.now(timezone.utc) - timedelta(minutes=10)))
        assert value(stack, "intake", "prize_outbox_backlog") == 3
        assert 600 <= value(stack, "intake", "prize_outbox_oldest_age_seconds") < 700
        assert value(stack, "review", "prize_outbox_backlog") == 0  # each service its own

        # an event on the bus that nobody consumes yet waits in review's and notify's queues;
        # a dead letter in review's dead-letter queue
        publisher = Publisher(settings.broker_url, settings.namespace)
        try:
            application = submitted("SSCP-2026-M9", "Clean buses", "m9@example.org", "en")[1]
            publisher.publish(application)
            publisher.send_to_queue(topology.dead_letter_queue_name("review", settings.namespace),
                                    application.to_message(), {"x-prize-attempts": 5, "x-prize-error": "boom",
                                                               "x-prize-routing-key": application.routing_key})
        finally:
            publisher.close()
        assert wait_until(lambda: value(stack, "review", "prize_queue_messages", queue="dead") == 1, timeout=10)
        assert value(stack, "review", "prize_queue_messages", queue="events") == 1
        assert value(stack, "notify", "prize_queue_messages", queue="events") == 1
        assert value(stack, "notify", "prize_queue_messages", queue="dead") == 0
        assert value(stack, "intake", "prize_queue_messages", queue="events") == 0  # not subscribed

        # published: the backlog is gone
        with db.session() as s, s.begin():
            s.execute(update(outbox).values(published_at=datetime.now(timezone.utc)))
        assert value(stack, "intake", "prize_outbox_backlog") == 0
        assert value(stack, "intake", "prize_outbox_oldest_age_seconds") == 0
    finally:
        stack.stop()


def _by_status(db) -> dict[str, int]:
    from services.notify.models import Delivery
    with db.session() as s, s.begin():
        return dict(s.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())


def test_emails_sent_and_failed_are_counted_by_status(request, tmp_path, kind, smtp_server):
    settings = load_settings(env_for(request, tmp_path / "var", kind, PRIZE_MAIL_URL=smtp_server.url))
    stack = fresh(Stack(settings, services=("notify",)))
    try:
        declare_topology(settings)
        assert {s: value(stack, "notify", "prize_emails", status=s)
                for s in ("pending", "sending", "sent", "failed", "unconfirmed")} == dict.fromkeys(
            ("pending", "sending", "sent", "failed", "unconfirmed"), 0)
        stack.start_workers()
        db = stack.apps["notify"].extensions["prize"]["db"]
        publisher = Publisher(settings.broker_url, settings.namespace)
        try:
            publisher.publish(submitted("SSCP-2026-E1", "Clean buses", "ok@example.org", "en")[1])
            assert wait_until(lambda: smtp_server.messages and _by_status(db).get("sent") == len(smtp_server.messages))
            sent = len(smtp_server.messages)
            assert value(stack, "notify", "prize_emails", status="sent") == sent
            assert value(stack, "notify", "prize_emails", status="failed") == 0

            smtp_server.refuse_with = "550 5.1.1 No such user"  # permanent: the emails fail
            publisher.publish(submitted("SSCP-2026-E2", "Clean buses", "gone@example.org", "en")[1])
            assert wait_until(lambda: _by_status(db).get("failed", 0) >= 1
                              and not {"pending", "sending"} & set(_by_status(db)), timeout=30)
        finally:
            publisher.close()
        counts = _by_status(db)
        assert value(stack, "notify", "prize_emails", status="failed") == counts["failed"] >= 1
        assert value(stack, "notify", "prize_emails", status="sent") == counts["sent"] == sent
    finally:
        stack.stop()


@pytest.fixture
def embedded(tmp_path):
    stack = Stack(load_settings(env_for(None, tmp_path / "var", "embedded")), services=("intake",))
    yield stack
    stack.stop()


def test_a_storm_of_scrapes_reads_the_database_once(embedded):
    collector = embedded.apps["intake"].extensions["prize"]["state_metrics"]
    collector.max_age = 0.5
    statements = []
    engine = embedded.apps["intake"].extensions["prize"]["db"].engine
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    for _ in range(50):
        scrape(embedded, "intake")
    assert len([s for s in statements if "outbox" in s]) == 2  # the count and the oldest row, once
    time.sleep(0.6)
    scrape(embedded, "intake")
    assert len([s for s in statements if "outbox" in s]) == 4  # read again once the figures are old


def test_a_broker_that_does_not_answer_leaves_its_series_out(embedded, free_port):
    collector = embedded.apps["intake"].extensions["prize"]["state_metrics"]
    collector.max_age = 0
    collector.broker = BrokerDepths(f"amqp://guest:guest@127.0.0.1:{free_port()}//", "intake")
    started = time.perf_counter()
    samples = scrape(embedded, "intake")
    took = time.perf_counter() - started
    assert ("prize_outbox_backlog", (("service", "intake"),)) in samples
    assert not any(name == "prize_queue_messages" for name, _ in samples)
    assert took < 5, took

    # a queue not declared yet: not counted either (a passive look declares nothing)
    collector.broker = BrokerDepths(embedded.settings.broker_url, "intake", "nobody" + uuid.uuid4().hex[:6])
    samples = scrape(embedded, "intake")
    assert not any(name == "prize_queue_messages" for name, _ in samples)
    assert ("prize_outbox_backlog", (("service", "intake"),)) in samples
