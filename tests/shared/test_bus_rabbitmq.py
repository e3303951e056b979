"""The bus on a real RabbitMQ: delivery, retries, dead letters, and the inbox."""
from __future__ import annotations

import json
import uuid

import pytest
from kombu import Connection
from sqlalchemy import func, select

from services.review import handlers as review_handlers
from services.review.models import Application, inbox, outbox
from shared import topology
from shared.bus import ATTEMPTS_HEADER, EventConsumer, Publisher
from shared.db import Database
from shared.events import make_event
from shared.inbox import InboxDispatcher
from shared.migrations import upgrade
from tests.support.broker import drain, queue_depth
from tests.support.consumers import RunningConsumer
from tests.support.stack import wait_until

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres]


def submitted_event(title="Hydrogen buses", correlation=None):
    app_id = str(uuid.uuid4())
    return make_event("application.submitted", {
        "application_id": app_id, "reference": "SSCP-2026-" + app_id.replace("-", "")[:16].upper(),
        "call_id": str(uuid.uuid4()), "year": 2026, "category": "tech_innovacity",
        "title": title, "summary": "Clean mobility", "submitted_at": "2026-06-01T09:00:00+00:00",
        "applicant": {"id": str(uuid.uuid4()), "type": "city_government",
                      "organisation": "Lublin City Office", "country": "PL", "city": "Lublin",
                      "contact_name": "Anna Nowak", "contact_email": "anna@lublin.example.eu",
                      "language": "en"},
    }, producer="intake", correlation_id=correlation or app_id)


@pytest.fixture
def review_db(pg_database_urls):
    url = pg_database_urls["review"].replace("postgresql://", "postgresql+psycopg://")
    upgrade("review", url)
    db = Database(url, "review")
    yield db
    db.dispose()


def count_applications(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Application))


def test_publish_then_consume_runs_the_handler(rabbitmq_url, namespace, review_db):
    dispatcher = InboxDispatcher(review_db, inbox, outbox, "review", review_handlers.HANDLERS)
    consumer = EventConsumer(rabbitmq_url, "review", dispatcher, namespace=namespace)
    publisher = Publisher(rabbitmq_url, namespace)
    events = [submitted_event(f"Project {i}") for i in range(20)]
    with RunningConsumer(consumer):
        assert publisher.publish_many([(e.routing_key, e.to_message(), e.correlation_id) for e in events]) == 20
        assert wait_until(lambda: count_applications(review_db) == 20)
    publisher.close()
    with review_db.session() as s:
        titles = sorted(s.scalars(select(Application.title)))
    assert titles == sorted(f"Project {i}" for i in range(20))
    assert queue_depth(rabbitmq_url, topology.queue_name("review", namespace)) == 0


def test_failing_handler_is_retried_then_dead_lettered_and_the_next_message_flows(
        rabbitmq_url, namespace, review_db):
    calls = {"poison": 0, "good": 0}

    def flaky(uow, event):
        if event.data["title"] == "poison":
            calls["poison"] += 1
            raise RuntimeError("cannot handle this one")
        calls["good"] += 1
        review_handlers.application_submitted(uow, event)

    dispatcher = InboxDispatcher(review_db, inbox, outbox, "review", {"application.submitted": flaky})
    consumer = EventConsumer(rabbitmq_url, "review", dispatcher, namespace=namespace, max_attempts=3)
    publisher = Publisher(rabbitmq_url, namespace)
    poison, good = submitted_event("poison"), submitted_event("good")
    with RunningConsumer(consumer):
        publisher.publish(poison)
        publisher.publish(good)
        assert wait_until(lambda: consumer.dead_lettered == 1 and calls["good"] == 1)
    publisher.close()

    # three attempts of its own (plus, maybe, the batch it first arrived in)
    assert calls["poison"] in (3, 4) and calls["good"] >= 1
    assert count_applications(review_db) == 1
    dead = drain(rabbitmq_url, topology.dead_letter_queue_name("review", namespace))
    assert len(dead) == 1
    assert dead[0]["body"]["id"] == str(poison.id)
    assert dead[0]["headers"][ATTEMPTS_HEADER] == 3
    assert "cannot handle this one" in dead[0]["headers"]["x-prize-error"]
    assert dead[0]["headers"]["x-prize-routing-key"] == "application.submitted"
    # a failed attempt leaves no trace in the inbox: the retry ran the handler again
    with review_db.session() as s:
        assert s.scalar(select(func.count()).select_from(inbox)) == 1


def test_malformed_message_is_dead_lettered_at_once(rabbitmq_url, namespace, review_db):
    dispatcher = InboxDispatcher(review_db, inbox, outbox, "review", review_handlers.HANDLERS)
    consumer = EventConsumer(rabbitmq_url, "review", dispatcher, namespace=namespace, max_attempts=5)
    good = submitted_event("after the bad one")
    with Connection(rabbitmq_url) as conn:
        producer = conn.Producer()
        topology.declare(conn.channel(), namespace)
        bad = good.to_message()
        bad = dict(bad, data=dict(bad["data"], year="not a year"))
        bad["id"] = str(uuid.uuid4())
        producer.publish(bad, exchange=topology.exchange(namespace), routing_key="application.submitted",
                         serializer="json")
        producer.publish(b"\x00not json", exchange=topology.exchange(namespace),
                         routing_key="application.submitted", content_type="application/json",
                         content_encoding="binary")
        producer.publish(good.to_message(), exchange=topology.exchange(namespace),
                         routing_key="application.submitted", serializer="json")
    with RunningConsumer(consumer):
        assert wait_until(lambda: count_applications(review_db) == 1 and consumer.dead_lettered == 2)
    dead = drain(rabbitmq_url, topology.dead_letter_queue_name("review", namespace))
    assert len(dead) == 2
    assert any("year" in d["headers"]["x-prize-error"] for d in dead)


def test_redelivered_message_has_no_second_effect(rabbitmq_url, namespace, review_db):
    dispatcher = InboxDispatcher(review_db, inbox, outbox, "review", review_handlers.HANDLERS)
    publisher = Publisher(rabbitmq_url, namespace)
    event = submitted_event("delivered twice")
    publisher.publish(event)
    queue = topology.queue_name("review", namespace)

    # A consumer handles the message and commits, then dies before it acks.
    with Connection(rabbitmq_url) as conn:
        message = conn.channel().basic_get(queue, no_ack=False)
        assert message is not None
        from shared.events import parse_message
        dispatcher(parse_message(json.loads(message.body)))
    assert count_applications(review_db) == 1

    # RabbitMQ redelivers it to the next consumer, and the same event is also published again.
    publisher.publish(event)
    consumer = EventConsumer(rabbitmq_url, "review", dispatcher, namespace=namespace)
    with RunningConsumer(consumer):
        assert wait_until(lambda: consumer.handled == 2)
    publisher.close()
    assert count_applications(review_db) == 1
    assert dispatcher.duplicates == 2
    assert queue_depth(rabbitmq_url, queue) == 0
