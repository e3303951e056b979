"""Figure 3: the embedded broker, shared.sqlite_transport, with a large backlog.

Fill one service queue (review's, through the real topology; application.withdrawn routes only
there) with a backlog, publishing one message at a time, then drain it with a plain kombu
Consumer (prefetch 50, one manual ack per message). The same on kombu's own SQLAlchemy
transport on SQLite (``sqla+sqlite://``), the baseline: it is slow enough that it gets a
smaller backlog, said in the output.

Also, for information: review's real worker path on the embedded stack, EventConsumer +
InboxDispatcher + review's handlers into a SQLite database, draining application.submitted
from the SQLite transport.
"""
from __future__ import annotations

import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

from kombu import Connection, Consumer, Producer

from shared import topology
from shared.events import make_event

from .common import Row, Stopwatch, new_namespace, say

ROUTING_KEY = "application.withdrawn"


def _body() -> dict:
    return make_event(ROUTING_KEY, {
        "application_id": str(uuid.uuid4()), "reference": "SSCP-2026-ABCDEF",
        "reason": "We merged our entry with the metropolitan one.",
        "withdrawn_at": "2026-06-01T09:00:00+00:00"}, producer="intake").to_message()


def fill_and_drain(url: str, backlog: int, drain_budget_s: float = 120.0) -> dict:
    """Publish `backlog` messages one by one, then drain them all with acks, on one URL."""
    import shared.bus  # noqa: F401  (registers the sqlite:// transport)
    ns = new_namespace("benchemb")
    body = _body()
    with Connection(url) as conn:
        channel = conn.channel()
        topology.declare(channel, ns)
        producer = Producer(channel, exchange=topology.exchange(ns))
        with Stopwatch() as pub:
            for _ in range(backlog):
                producer.publish(body, routing_key=ROUTING_KEY, serializer="json", delivery_mode=2)
    got = [0]

    def on_message(body, message):
        message.ack()
        got[0] += 1

    # A fresh connection, as a worker process that starts with the backlog waiting.
    with Connection(url) as conn:
        channel = conn.channel()
        topology.declare(channel, ns)
        queue = topology.service_queue("review", ns)
        with Stopwatch() as con:
            with Consumer(channel, queues=[queue], callbacks=[on_message], accept=["json"], prefetch_count=50):
                deadline = time.monotonic() + drain_budget_s
                while got[0] < backlog and time.monotonic() < deadline:
                    try:
                        conn.drain_events(timeout=2)
                    except TimeoutError:
                        break
        left = queue(channel).queue_declare(passive=True).message_count
    return {"publish_rate": backlog / pub.seconds, "drain_rate": got[0] / con.seconds,
            "drained": got[0], "left": left, "backlog": backlog}


def worker_path(url: str, folder: Path, backlog: int) -> dict:
    """review's EventConsumer + InboxDispatcher draining application.submitted on SQLite."""
    from services.review.handlers import HANDLERS
    from services.review.models import Application, inbox, outbox
    from shared.bus import EventConsumer, Publisher
    from shared.db import Database
    from shared.inbox import InboxDispatcher
    from shared.migrations import upgrade
    from sqlalchemy import func, select
    from bench.throughput import make_events

    ns = new_namespace("benchembw")
    db_url = f"sqlite:///{folder / 'review.sqlite'}"
    upgrade("review", db_url)
    db = Database(db_url, "review")
    events = make_events(backlog)
    publisher = Publisher(url, ns)
    for i in range(0, backlog, 500):
        publisher.publish_many([(e.routing_key, e.to_message(), e.correlation_id) for e in events[i:i + 500]])
    publisher.close()
    dispatcher = InboxDispatcher(db, inbox, outbox, "review", HANDLERS)
    done, count = threading.Event(), [0]

    def dispatch(event):
        dispatcher(event)
        count[0] += 1
        if count[0] >= backlog:
            done.set()

    consumer = EventConsumer(url, "review", dispatch, namespace=ns)
    thread = threading.Thread(target=consumer.run, daemon=True)
    with Stopwatch() as sw:
        thread.start()
        done.wait(max(60, backlog / 20))
    consumer.should_stop = True
    thread.join(timeout=10)
    consumer.requeue.close()
    with db.session() as s:
        stored = s.scalar(select(func.count()).select_from(Application))
    db.dispose()
    return {"rate": count[0] / sw.seconds, "handled": count[0], "stored": stored}


def run(backlog: int, sqla_backlog: int) -> list[Row]:
    say(f"\n== 3. Embedded transport: a {backlog:,}-event backlog on shared.sqlite_transport, drained with acks ==")
    folder = Path(tempfile.mkdtemp(prefix="prize-bench-embedded-"))
    row = Row(f"3. SQLite transport: drain {backlog:,} backlog, ack each", None, "events/s",
              baseline_label=f"(kombu sqla+sqlite, {sqla_backlog:,} backlog)", target="≥ 500 events/s")
    pub_row = Row(f"   SQLite transport: publish {backlog:,} one by one", None, "events/s",
                  baseline_label="(kombu sqla+sqlite)")
    rows = [row, pub_row]
    try:
        ours = fill_and_drain(f"sqlite:///{folder / 'broker.sqlite'}", backlog)
        say(f"  shared.sqlite_transport: publish {ours['publish_rate']:,.0f}/s, drain with ack "
            f"{ours['drain_rate']:,.0f}/s ({ours['drained']:,} of {ours['backlog']:,}; "
            f"{ours['left']} left in the queue)")
        row.value, pub_row.value = ours["drain_rate"], ours["publish_rate"]
        row.met = ours["drained"] == backlog and ours["left"] == 0 and ours["drain_rate"] >= 500
        base = fill_and_drain(f"sqla+sqlite:///{folder / 'kombu-sqla.sqlite'}", sqla_backlog)
        say(f"  baseline kombu SQLAlchemy transport on SQLite, {sqla_backlog:,}-event backlog (a {backlog:,} one "
            f"would take minutes to fill): publish {base['publish_rate']:,.0f}/s, drain with ack "
            f"{base['drain_rate']:,.0f}/s ({base['drained']:,} of {base['backlog']:,})")
        row.baseline, pub_row.baseline = base["drain_rate"], base["publish_rate"]
        row.ratio = row.value / row.baseline
        pub_row.ratio = pub_row.value / pub_row.baseline
        sample = min(2000, backlog)
        worker = worker_path(f"sqlite:///{folder / 'broker-worker.sqlite'}", folder, sample)
        say(f"  for information, review's worker path on the embedded stack (EventConsumer + InboxDispatcher + "
            f"handler into SQLite), {sample:,} application.submitted: {worker['rate']:,.0f} events/s "
            f"({worker['handled']:,} handled, {worker['stored']:,} stored)")
        rows.append(Row(f"   embedded worker path: EventConsumer+inbox+handler ({sample:,})", worker["rate"],
                        "events/s"))
    except Exception as exc:
        say(f"  FAILED: {type(exc).__name__}: {exc}")
        row.met = False
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return rows
