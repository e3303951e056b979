"""PRIZE_QUEUE_TYPE=quorum on the local RabbitMQ: quorum queues, their delivery limit, and the
normal path, our retries and our dead letters working on them as on classic queues."""
from __future__ import annotations

import os
import select
import subprocess
import sys
from pathlib import Path

import amqp
import pytest
from kombu import Connection

import shared.dlq
from services.review import handlers as review_handlers
from services.review.models import inbox, outbox
from shared import topology
from shared.bus import ATTEMPTS_HEADER, EventConsumer, Publisher
from shared.config import ConfigError, load_settings
from shared.inbox import InboxDispatcher
from tests.shared.test_bus_rabbitmq import count_applications, review_db, submitted_event  # noqa: F401
from tests.support.broker import drain, queue_depth
from tests.support.consumers import RunningConsumer
from tests.support.stack import wait_until

pytestmark = [pytest.mark.rabbitmq]

ROOT = Path(__file__).resolve().parents[2]


def quorum(limit: int = 5) -> topology.QueueKind:
    return topology.QueueKind("quorum", limit)


def test_queue_type_setting():
    assert load_settings({}).queue_type == "classic"
    settings = load_settings({"PRIZE_QUEUE_TYPE": "quorum", "PRIZE_MAX_REDELIVERIES": "7"})
    assert topology.queue_kind(settings) == topology.QueueKind("quorum", 7)
    assert topology.queue_kind(load_settings({})) == topology.CLASSIC
    with pytest.raises(ConfigError) as caught:
        load_settings({"PRIZE_QUEUE_TYPE": "mirrored"})
    assert str(caught.value) == ("configuration error: PRIZE_QUEUE_TYPE must be classic or quorum "
                                 "(RabbitMQ's queue type), got 'mirrored'")


def test_every_queue_is_a_quorum_queue(rabbitmq_url, namespace):
    Publisher(rabbitmq_url, namespace, kind=quorum())._ensure()
    queues = topology.all_queues(namespace, quorum())
    assert len(queues) == 6
    with Connection(rabbitmq_url) as conn:
        for queue in queues:
            # RabbitMQ says what the queue is when asked to take it for a classic one.
            channel = conn.channel()
            with pytest.raises(amqp.exceptions.PreconditionFailed, match="received 'classic' but current is 'quorum'"):
                channel.queue_declare(queue.name, durable=True, auto_delete=False,
                                      arguments={**queue.queue_arguments, "x-queue-type": "classic"})
    service = topology.service_queue("review", namespace, quorum()).queue_arguments
    assert service["x-delivery-limit"] == 5 and service["x-dead-letter-strategy"] == "at-least-once"


def test_switching_an_existing_broker_is_one_clear_line(rabbitmq_url, namespace):
    Publisher(rabbitmq_url, namespace)._ensure()  # classic queues, as before the switch
    with pytest.raises(topology.TopologyMismatch) as caught:
        Publisher(rabbitmq_url, namespace, kind=quorum())._ensure()
    line = str(caught.value)
    assert "\n" not in line
    assert line.startswith(f"configuration error: PRIZE_QUEUE_TYPE is quorum but the queue {namespace}.")
    assert "drain the queues" in line and "delete the queues" in line and "new PRIZE_NAMESPACE" in line


def test_a_worker_on_the_wrong_queue_type_stops_with_that_line(rabbitmq_url, namespace, tmp_path):
    Publisher(rabbitmq_url, namespace)._ensure()
    env = dict(os.environ, PRIZE_VAR_DIR=str(tmp_path), PRIZE_BROKER_URL=rabbitmq_url, PRIZE_NAMESPACE=namespace,
               PRIZE_QUEUE_TYPE="quorum", PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-m", "services.cli", "db", "upgrade"], env=env, check=True, capture_output=True)
    done = subprocess.run([sys.executable, "-m", "services.cli", "worker", "review"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("configuration error: PRIZE_QUEUE_TYPE is quorum but the queue"), done.stderr[-2000:]
    assert "Traceback" not in done.stderr


def test_normal_path_retries_and_dead_letters_on_quorum_queues(rabbitmq_url, namespace, review_db):  # noqa: F811
    calls = {"poison": 0}

    def flaky(uow, event):
        if event.data["title"] == "poison":
            calls["poison"] += 1
            raise RuntimeError("cannot handle this one")
        review_handlers.application_submitted(uow, event)

    dispatcher = InboxDispatcher(review_db, inbox, outbox, "review", {"application.submitted": flaky})
    consumer = EventConsumer(rabbitmq_url, "review", dispatcher, namespace=namespace, max_attempts=3, kind=quorum(3))
    publisher = Publisher(rabbitmq_url, namespace, kind=quorum(3))
    events = [submitted_event(f"Project {i}") for i in range(20)]
    poison = submitted_event("poison")
    with RunningConsumer(consumer):
        publisher.publish_many([(e.routing_key, e.to_message(), e.correlation_id) for e in events[:10]])
        publisher.publish(poison)
        publisher.publish_many([(e.routing_key, e.to_message(), e.correlation_id) for e in events[10:]])
        assert wait_until(lambda: count_applications(review_db) == 20 and consumer.dead_lettered == 1)
    publisher.close()
    assert calls["poison"] in (3, 4)  # our own three attempts (plus, maybe, the batch it came in)
    assert queue_depth(rabbitmq_url, topology.queue_name("review", namespace)) == 0
    letters = shared.dlq.peek(rabbitmq_url, "review", namespace, kind=quorum(3))
    assert [(x.event_id, x.attempts) for x in letters] == [(str(poison.id), 3)]
    assert "cannot handle this one" in letters[0].error


# A consumer whose handler kills its process on the poison message: it never acks, never retries,
# never dead-letters; only RabbitMQ can end the loop.
CRASHING_CONSUMER = """
import os, sys
from shared import topology
from shared.bus import EventConsumer
url, namespace, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])

def dispatch(event):
    if event.data["title"] == "poison":
        os._exit(3)
    print("handled", event.data["title"], flush=True)

EventConsumer(url, "review", dispatch, namespace=namespace, prefetch_count=1,
              kind=topology.QueueKind("quorum", limit)).run()
"""


def _start(rabbitmq_url, namespace, limit):
    return subprocess.Popen([sys.executable, "-c", CRASHING_CONSUMER, rabbitmq_url, namespace, str(limit)],
                            cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            stdout=subprocess.PIPE, text=True)


def test_the_delivery_limit_dead_letters_a_message_that_kills_its_consumer(rabbitmq_url, namespace):
    limit = 2
    publisher = Publisher(rabbitmq_url, namespace, kind=quorum(limit))
    poison, good = submitted_event("poison"), submitted_event("good")
    publisher.publish(poison)
    publisher.publish(good)
    publisher.close()
    dead = topology.dead_letter_queue_name("review", namespace)

    for crash in range(1, limit + 2):  # delivered once, then again `limit` times
        proc = _start(rabbitmq_url, namespace, limit)
        assert proc.wait(timeout=30) == 3, f"consumer {crash} did not die on the poison message"
        if crash <= limit:
            assert queue_depth(rabbitmq_url, dead) == 0, f"dead-lettered after {crash} deliveries only"
    assert wait_until(lambda: queue_depth(rabbitmq_url, dead) == 1)

    # the next consumer lives, and handles the message that waited behind the poison
    proc = _start(rabbitmq_url, namespace, limit)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready and proc.stdout.readline().strip() == "handled good"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    letters = shared.dlq.peek(rabbitmq_url, "review", namespace, kind=quorum(limit))
    assert len(letters) == 1 and letters[0].event_id == str(poison.id)
    assert letters[0].error == f"dead-lettered by RabbitMQ: delivery_limit in {topology.queue_name('review', namespace)}"
    assert letters[0].routing_key == "application.submitted"
    body = drain(rabbitmq_url, dead)[0]
    assert ATTEMPTS_HEADER not in body["headers"]  # RabbitMQ's doing, not our consumer's
