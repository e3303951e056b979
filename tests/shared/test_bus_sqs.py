"""The bus on Amazon SQS (moto's server): topic routing, retries, dead letters, the redrive
policy our code sets, the namespace, and redelivery after the visibility timeout."""
from __future__ import annotations

import base64
import json
import time
import uuid

import pytest
from sqlalchemy import func, select

from services.review import handlers as review_handlers
from services.review.models import Application, inbox, outbox
from shared import sqs, topology
from shared.bus import ATTEMPTS_HEADER, EventConsumer, Publisher, connect
from shared.db import Database
from shared.events import parse_message
from shared.inbox import InboxDispatcher
from shared.migrations import upgrade
from tests.shared.test_bus_rabbitmq import count_applications, submitted_event
from tests.support.consumers import RunningConsumer
from tests.support.moto import sqs_broker_url
from tests.support.sqs import delete_queues, drain, queue_depth, queue_url
from tests.support.stack import wait_until

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def review_db(pg_database_urls):
    url = pg_database_urls["review"].replace("postgresql://", "postgresql+psycopg://")
    upgrade("review", url)
    db = Database(url, "review")
    yield db
    db.dispose()


def test_our_queue_names_become_sqs_names_with_dashes(sqs_url, namespace):
    Publisher(sqs_url, namespace)._ensure()
    names = {u.rsplit("/", 1)[1] for u in sqs.client(sqs_url).list_queues(
        QueueNamePrefix=namespace)["QueueUrls"]}
    assert names == {f"{namespace}-{svc}-events{dead}" for svc in topology.SUBSCRIPTIONS for dead in ("", "-dead")}
    assert sqs.sqs_name("review.events") == "review-events"


def test_publish_then_consume_runs_the_handler_and_routes_by_topic(sqs_url, namespace, review_db):
    dispatcher = InboxDispatcher(review_db, inbox, outbox, "review", review_handlers.HANDLERS)
    consumer = EventConsumer(sqs_url, "review", dispatcher, namespace=namespace)
    publisher = Publisher(sqs_url, namespace)
    events = [submitted_event(f"Project {i}") for i in range(20)]
    with RunningConsumer(consumer):
        assert publisher.publish_many([(e.routing_key, e.to_message(), e.correlation_id) for e in events]) == 20
        assert wait_until(lambda: count_applications(review_db) == 20)
        assert wait_until(lambda: queue_depth(sqs_url, topology.queue_name("review", namespace)) == 0)
    publisher.close()
    with review_db.session() as s:
        titles = sorted(s.scalars(select(Application.title)))
    assert titles == sorted(f"Project {i}" for i in range(20))
    # application.submitted is bound to notify's queue too, and not to intake's
    assert queue_depth(sqs_url, topology.queue_name("notify", namespace)) == 20
    assert queue_depth(sqs_url, topology.queue_name("intake", namespace)) == 0


def test_failing_handler_is_retried_then_dead_lettered_and_the_next_message_flows(sqs_url, namespace, review_db):
    calls = {"poison": 0, "good": 0}

    def flaky(uow, event):
        if event.data["title"] == "poison":
            calls["poison"] += 1
            raise RuntimeError("cannot handle this one")
        calls["good"] += 1
        review_handlers.application_submitted(uow, event)

    dispatcher = InboxDispatcher(review_db, inbox, outbox, "review", {"application.submitted": flaky})
    consumer = EventConsumer(sqs_url, "review", dispatcher, namespace=namespace, max_attempts=3)
    publisher = Publisher(sqs_url, namespace)
    poison, good = submitted_event("poison"), submitted_event("good")
    with RunningConsumer(consumer):
        publisher.publish(poison)
        publisher.publish(good)
        assert wait_until(lambda: consumer.dead_lettered == 1 and calls["good"] == 1)
    publisher.close()

    assert calls["poison"] in (3, 4) and calls["good"] >= 1
    assert count_applications(review_db) == 1
    dead = drain(sqs_url, topology.dead_letter_queue_name("review", namespace))
    assert len(dead) == 1
    assert dead[0]["body"]["id"] == str(poison.id)
    assert dead[0]["headers"][ATTEMPTS_HEADER] == 3
    assert "cannot handle this one" in dead[0]["headers"]["x-prize-error"]
    assert dead[0]["headers"]["x-prize-routing-key"] == "application.submitted"
    assert queue_depth(sqs_url, topology.queue_name("review", namespace)) == 0
    with review_db.session() as s:
        assert s.scalar(select(func.count()).select_from(inbox)) == 1


def test_malformed_message_is_dead_lettered_at_once(sqs_url, namespace, review_db):
    dispatcher = InboxDispatcher(review_db, inbox, outbox, "review", review_handlers.HANDLERS)
    consumer = EventConsumer(sqs_url, "review", dispatcher, namespace=namespace, max_attempts=5)
    good = submitted_event("after the bad one")
    bad = good.to_message()
    bad = dict(bad, data=dict(bad["data"], year="not a year"), id=str(uuid.uuid4()))
    with connect(sqs_url) as conn:
        channel = conn.channel()
        topology.declare(channel, namespace)
        producer = conn.Producer(channel)
        producer.publish(bad, exchange=topology.exchange(namespace), routing_key="application.submitted",
                         serializer="json")
        producer.publish(b"\x00not json", exchange=topology.exchange(namespace),
                         routing_key="application.submitted", content_type="application/json",
                         content_encoding="binary")
        producer.publish(good.to_message(), exchange=topology.exchange(namespace),
                         routing_key="application.submitted", serializer="json")
    with RunningConsumer(consumer):
        assert wait_until(lambda: count_applications(review_db) == 1 and consumer.dead_lettered == 2)
    dead = drain(sqs_url, topology.dead_letter_queue_name("review", namespace))
    assert len(dead) == 2
    assert any("year" in d["headers"]["x-prize-error"] for d in dead)


def test_a_message_not_acknowledged_comes_back_after_the_visibility_timeout_with_no_second_effect(
        moto_endpoint, namespace, review_db):
    url = sqs_broker_url(moto_endpoint, visibility_timeout=2)
    try:
        dispatcher = InboxDispatcher(review_db, inbox, outbox, "review", review_handlers.HANDLERS)
        publisher = Publisher(url, namespace)
        event = submitted_event("delivered twice")
        publisher.publish(event)
        queue = topology.queue_name("review", namespace)

        # A consumer receives the message, handles it and commits, then dies (kill -9: no
        # goodbye to SQS) before it acks.
        received = sqs.client(url).receive_message(QueueUrl=queue_url(url, queue))["Messages"]
        envelope = json.loads(received[0]["Body"])
        dispatcher(parse_message(json.loads(base64.b64decode(envelope["body"]))))
        assert count_applications(review_db) == 1
        received_at = time.monotonic()

        consumer = EventConsumer(url, "review", dispatcher, namespace=namespace)
        with RunningConsumer(consumer):
            assert wait_until(lambda: consumer.handled == 1, timeout=15)
            waited = time.monotonic() - received_at
        publisher.close()
        assert count_applications(review_db) == 1
        assert dispatcher.duplicates == 1
        assert waited >= 1.5  # SQS kept it hidden for the visibility timeout
        assert queue_depth(url, queue) == 0
    finally:
        delete_queues(url, namespace)


def test_two_namespaces_do_not_see_each_others_messages(sqs_url, namespace, review_db):
    other = "t" + uuid.uuid4().hex[:10]
    try:
        Publisher(sqs_url, other)._ensure()
        publisher = Publisher(sqs_url, namespace)
        publisher.publish(submitted_event("ours"))
        publisher.close()
        assert wait_until(lambda: queue_depth(sqs_url, topology.queue_name("review", namespace)) == 1)
        assert queue_depth(sqs_url, topology.queue_name("review", other)) == 0
        assert queue_depth(sqs_url, topology.queue_name("notify", other)) == 0
        dispatcher = InboxDispatcher(review_db, inbox, outbox, "review", review_handlers.HANDLERS)
        consumer = EventConsumer(sqs_url, "review", dispatcher, namespace=other)
        with RunningConsumer(consumer):
            time.sleep(1.5)  # a long poll and a half: anything routed to the other namespace arrives
        assert consumer.handled == 0 and count_applications(review_db) == 0
    finally:
        delete_queues(sqs_url, other)


def _redrive(url, queue_name):
    attrs = sqs.client(url).get_queue_attributes(QueueUrl=queue_url(url, queue_name),
                                                 AttributeNames=["All"])["Attributes"]
    return attrs, json.loads(attrs["RedrivePolicy"]) if "RedrivePolicy" in attrs else None


def test_our_code_sets_the_redrive_policy_on_queues_kombu_created_and_again_without_harm(sqs_url, namespace):
    Publisher(sqs_url, namespace)._ensure()  # kombu creates the queues first, with no redrive policy
    assert _redrive(sqs_url, topology.queue_name("review", namespace))[1] is None
    first = sqs.ensure_queues(sqs_url, namespace, max_receive_count=4)
    second = sqs.ensure_queues(sqs_url, namespace, max_receive_count=4)
    assert first == second and len(first) == 6
    for service in topology.SUBSCRIPTIONS:
        attrs, redrive = _redrive(sqs_url, topology.queue_name(service, namespace))
        dead_attrs, dead_redrive = _redrive(sqs_url, topology.dead_letter_queue_name(service, namespace))
        assert redrive["deadLetterTargetArn"] == dead_attrs["QueueArn"]
        assert int(redrive["maxReceiveCount"]) == 4
        assert dead_redrive is None
        assert attrs["VisibilityTimeout"] == "5"
        assert attrs["MessageRetentionPeriod"] == dead_attrs["MessageRetentionPeriod"] == str(14 * 24 * 3600)


def test_a_message_received_too_often_without_an_ack_is_moved_to_the_dead_letter_queue(sqs_url, namespace):
    """What SQS does for a message that kills its worker each time: after maxReceiveCount
    receives, it lands in the service's dead-letter queue, where `prize dlq` finds it."""
    from shared.dlq import BROKER_MOVED, peek
    sqs.ensure_queues(sqs_url, namespace, max_receive_count=2)
    event = submitted_event("kills its worker")
    publisher = Publisher(sqs_url, namespace)
    publisher.publish(event)
    publisher.close()
    client = sqs.client(sqs_url)
    live = queue_url(sqs_url, topology.queue_name("review", namespace))
    for _ in range(2):  # two workers receive it and die (visibility 0: it is back at once)
        assert len(client.receive_message(QueueUrl=live, VisibilityTimeout=0).get("Messages", [])) == 1
    assert client.receive_message(QueueUrl=live, VisibilityTimeout=0).get("Messages", []) == []
    letters = peek(sqs_url, "review", namespace)
    assert [letter.event_id for letter in letters] == [str(event.id)]
    assert letters[0].routing_key is None and letters[0].error == BROKER_MOVED  # SQS moved it, not our consumer


def test_the_broker_urls_query_tunes_the_transport_and_kombu_gets_the_url_without_it():
    assert sqs.transport_options("sqs://?wait_time_seconds=2&visibility_timeout=60&region=us-east-2") == (
        "sqs://", {"region": "us-east-2", "wait_time_seconds": 2, "visibility_timeout": 60,
                   "polling_interval": 0, "sqs_base64_encoding": False})
    url, options = sqs.transport_options("sqs://", wait_time_seconds=1)
    assert url == "sqs://" and options["wait_time_seconds"] == 1
    assert options["visibility_timeout"] == sqs.VISIBILITY_TIMEOUT
    assert sqs.split_url("sqs://key:secret@localhost:4566?wait_time_seconds=1") == (
        "sqs://key:secret@localhost:4566", {"wait_time_seconds": 1})
    with pytest.raises(ValueError, match="unknown SQS option 'wait'"):
        sqs.split_url("sqs://?wait=1")


def test_a_batch_is_handled_as_it_arrives_not_after_another_long_poll(moto_endpoint, namespace, review_db):
    """The consumer batches what arrives together; on SQS one receive is the batch: waiting for
    more would be another long poll (here 5 s) on a queue that is now empty."""
    url = sqs_broker_url(moto_endpoint, wait_time_seconds=5)
    try:
        dispatcher = InboxDispatcher(review_db, inbox, outbox, "review", review_handlers.HANDLERS)
        assert hasattr(dispatcher, "many")  # so the consumer batches
        consumer = EventConsumer(url, "review", dispatcher, namespace=namespace)
        publisher = Publisher(url, namespace)
        publisher._ensure()
        with RunningConsumer(consumer):
            time.sleep(0.5)  # the consumer is in its long poll
            started = time.monotonic()
            publisher.publish_many([(e.routing_key, e.to_message(), e.correlation_id)
                                    for e in [submitted_event("one"), submitted_event("two")]])
            assert wait_until(lambda: count_applications(review_db) == 2, timeout=15)
            took = time.monotonic() - started
        publisher.close()
        assert took < 3.0, f"handled {took:.1f} s after publishing"
    finally:
        delete_queues(url, namespace)
