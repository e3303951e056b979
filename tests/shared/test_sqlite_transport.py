"""The embedded broker: a kombu transport on one SQLite file, at least once across processes."""
from __future__ import annotations

import json
import subprocess
import sys
import time

from kombu import Connection, Consumer, Producer

from shared import sqlite_transport  # noqa: F401  (registers sqlite://)
from shared import topology


def _url(tmp_path):
    return f"sqlite:///{tmp_path / 'broker.sqlite'}"


def _declare(conn, ns="t"):
    channel = conn.channel()
    topology.declare(channel, ns)
    return channel


def _publish(conn, ns, routing_key, bodies):
    producer = Producer(conn.channel(), exchange=topology.exchange(ns))
    for body in bodies:
        producer.publish(body, routing_key=routing_key, serializer="json")


def _collect(conn, queue, n, ack=True, timeout=10):
    got = []

    def on_message(body, message):
        got.append(body)
        if ack:
            message.ack()

    with Consumer(conn.channel(), queues=[queue], callbacks=[on_message], accept=["json"],
                  prefetch_count=10):
        deadline = time.monotonic() + timeout
        while len(got) < n and time.monotonic() < deadline:
            try:
                conn.drain_events(timeout=0.5)
            except TimeoutError:
                pass
    return got


def test_topic_routing_reaches_only_subscribed_queues(tmp_path):
    with Connection(_url(tmp_path)) as conn:
        channel = _declare(conn)
        _publish(conn, "t", "call.opened", [{"n": 1}])
        _publish(conn, "t", "application.submitted", [{"n": 2}])
        sizes = {svc: channel._size(topology.queue_name(svc, "t")) for svc in topology.SUBSCRIPTIONS}
    assert sizes == {"intake": 0, "review": 2, "notify": 1}


def test_messages_come_out_in_order_and_ack_deletes_them(tmp_path):
    with Connection(_url(tmp_path)) as conn:
        channel = _declare(conn)
        _publish(conn, "t", "call.opened", [{"n": i} for i in range(25)])
        got = _collect(conn, topology.service_queue("review", "t"), 25)
        assert [b["n"] for b in got] == list(range(25))
        assert channel._size(topology.queue_name("review", "t")) == 0


def test_unacked_message_returns_after_the_visibility_timeout_when_the_consumer_dies(tmp_path):
    url = _url(tmp_path)
    with Connection(url) as conn:
        _declare(conn)
        _publish(conn, "t", "call.opened", [{"n": 1}])
    # A separate process takes the message and is killed before it acks.
    script = (
        "import os, sys, json\n"
        "from kombu import Connection\n"
        "import shared.sqlite_transport\n"
        f"conn = Connection({url!r}, transport_options={{'visibility_timeout': 1}})\n"
        "m = conn.channel().basic_get('t.review.events', no_ack=False)\n"
        "print(json.dumps(m.payload), flush=True)\n"
        "os._exit(9)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert json.loads(out.stdout) == {"n": 1}
    with Connection(url, transport_options={"visibility_timeout": 1}) as conn:
        assert conn.channel().basic_get("t.review.events") is None  # still invisible
        time.sleep(1.2)
        again = conn.channel().basic_get("t.review.events", no_ack=False)
        assert again is not None and again.payload == {"n": 1}
        again.ack()
        assert conn.channel()._size("t.review.events") == 0


def test_graceful_close_makes_unacked_messages_visible_at_once(tmp_path):
    url = _url(tmp_path)
    with Connection(url) as conn:
        _declare(conn)
        _publish(conn, "t", "call.opened", [{"n": 1}, {"n": 2}])
        got = _collect(conn, topology.service_queue("review", "t"), 2, ack=False)
        assert len(got) == 2
    with Connection(url) as conn:
        got = _collect(conn, topology.service_queue("review", "t"), 2)
    assert sorted(b["n"] for b in got) == [1, 2]


def test_reject_with_requeue_keeps_the_message_and_without_drops_it(tmp_path):
    url = _url(tmp_path)
    with Connection(url) as conn:
        channel = _declare(conn)
        _publish(conn, "t", "call.opened", [{"n": 1}, {"n": 2}])
        first = channel.basic_get("t.review.events", no_ack=False)
        first.reject(requeue=True)
        second = channel.basic_get("t.review.events", no_ack=False)
        second.reject(requeue=False)
        assert channel._size("t.review.events") == 1


def test_default_exchange_delivers_to_a_queue_by_name(tmp_path):
    with Connection(_url(tmp_path)) as conn:
        channel = _declare(conn)
        Producer(channel).publish({"dead": True}, routing_key="t.review.events.dead", serializer="json")
        assert channel._size("t.review.events.dead") == 1
        assert channel._size("t.review.events") == 0


def test_two_processes_share_one_broker_file(tmp_path):
    url = _url(tmp_path)
    with Connection(url) as conn:
        _declare(conn)
    script = (
        "from kombu import Connection, Producer\n"
        "import shared.sqlite_transport\n"
        "from shared import topology\n"
        f"conn = Connection({url!r})\n"
        "topology.declare(conn.channel(), 't')  # routing happens in the client\n"
        "p = Producer(conn.channel(), exchange=topology.exchange('t'))\n"
        "[p.publish({'n': i}, routing_key='call.opened', serializer='json') for i in range(200)]\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(2)]
    with Connection(url) as conn:
        got = _collect(conn, topology.service_queue("review", "t"), 400, timeout=30)
    assert all(p.wait(timeout=30) == 0 for p in procs)
    assert len(got) == 400
    assert sorted(b["n"] for b in got) == sorted(list(range(200)) * 2)
