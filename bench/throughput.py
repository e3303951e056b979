"""Figure 1: full-path throughput, outbox → relay → RabbitMQ → consumer → inbox + handler.

The events are application.submitted, consumed by review's real handlers into a fresh review
database. They wait in an outbox table (notify's ``outbox`` Table, in a fresh database of its
own: the producer's) and are published by ``OutboxRelay`` + ``Publisher`` running in a child
process, as a producer service's worker would; the consumer (``EventConsumer`` +
``InboxDispatcher``) runs in this process, as review's worker would. The clock runs from the
relay's first publish to the commit of the last handler's transaction.

Baseline, same broker, same topology (so each message is routed to the same queues): raw kombu
publishing the same bodies one by one with publisher confirms, then a plain kombu Consumer
(prefetch 50, manual ack) draining the review queue. Baseline rate = N / (publish + consume).
"""
from __future__ import annotations

import contextlib
import multiprocessing
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

from kombu import Connection, Consumer, Producer

from shared import topology
from shared.bus import EventConsumer, Publisher
from shared.db import Database
from shared.events import Event, make_event, parse_message
from shared.outbox import OutboxRelay, pending_count, record

from .common import (RABBITMQ_URL, Row, Stopwatch, fresh_databases, log_problems, namespace,
                           postgres_cpu, quiet_logs, rabbitmq_cpu, say, sqlalchemy_url, worker_logging)

SOURCE_SERVICE = "notify"   # whose outbox Table (and migration) the source database uses
ROUTING_KEY = "application.submitted"


def submitted_event(i: int, call_id: str, run: str) -> Event:
    app_id = str(uuid.uuid4())
    return make_event(ROUTING_KEY, {
        "application_id": app_id, "reference": f"SSCP-B{run}-{i:07d}", "call_id": call_id,
        "year": 2026, "category": "tech_innovacity", "title": f"Hydrogen buses for harbour {i}",
        "summary": "Clean mobility for the harbour district: 40 fuel-cell buses, 2 depots.",
        "submitted_at": "2026-06-01T09:00:00+00:00",
        "applicant": {"id": str(uuid.uuid4()), "type": "city_government",
                      "organisation": "Lublin City Office", "country": "PL", "city": "Lublin",
                      "contact_name": "Anna Nowak", "contact_email": f"anna.{i}@lublin.example.eu",
                      "language": "en"},
    }, producer="intake", correlation_id=app_id)


def make_events(n: int) -> list[Event]:
    call_id, run = str(uuid.uuid4()), uuid.uuid4().hex[:6].upper()
    return [submitted_event(i, call_id, run) for i in range(n)]


# --------------------------------------------------------------------------- baseline
def raw_kombu(bodies: list[dict]) -> dict:
    """Publish one by one with confirms, then consume all with manual ack; seconds of each."""
    n = len(bodies)
    with namespace("benchraw") as ns:
        with Connection(RABBITMQ_URL, transport_options={"confirm_publish": True}) as conn:
            channel = conn.channel()
            topology.declare(channel, ns)
            producer = Producer(channel, exchange=topology.exchange(ns))
            rabbit0, cpu0 = rabbitmq_cpu(), time.process_time()
            with Stopwatch() as pub:
                for body in bodies:
                    producer.publish(body, routing_key=ROUTING_KEY, serializer="json", delivery_mode=2)
            got = [0]

            def on_message(body, message):
                message.ack()
                got[0] += 1

            consumer = Consumer(channel, queues=[topology.service_queue("review", ns)],
                                callbacks=[on_message], accept=["json"], prefetch_count=50)
            with Stopwatch() as con:
                with consumer:
                    deadline = time.monotonic() + 120
                    while got[0] < n and time.monotonic() < deadline:
                        conn.drain_events(timeout=5)
            rabbit1, cpu1 = rabbitmq_cpu(), time.process_time()
    if got[0] != n:
        raise RuntimeError(f"raw kombu consumer got {got[0]} of {n} messages")
    return {"publish_s": pub.seconds, "consume_s": con.seconds,
            "rate": n / (pub.seconds + con.seconds),
            "cpu_us": {"client": (cpu1 - cpu0) / n * 1e6, "rabbitmq": (rabbit1 - rabbit0) / n * 1e6}}


# --------------------------------------------------------------------------- full path
class _TimedPublisher(Publisher):
    first_publish: float | None = None

    def publish_many(self, messages):
        messages = list(messages)
        if messages and self.first_publish is None:
            self.first_publish = time.monotonic()
        return super().publish_many(messages)


class _TimedRelay(OutboxRelay):
    def __init__(self, *args, target: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.target = target
        self.all_published: float | None = None
        self.batches = 0
        self.done = threading.Event()

    def run_once(self) -> int:
        n = super().run_once()
        if n:
            self.batches += 1
        if self.published >= self.target and self.all_published is None:
            self.all_published = time.monotonic()
            self.done.set()
        return n


def _relay_process(db_url: str, ns: str, target: int, log_path: str, ready, go, results, release) -> None:
    """The producer's worker: OutboxRelay + Publisher, in a process of its own."""
    quiet_logs()
    worker_logging(SOURCE_SERVICE, log_path).__enter__()  # for the life of this process
    from services.notify.models import outbox
    db = Database(db_url, SOURCE_SERVICE)
    publisher = _TimedPublisher(RABBITMQ_URL, ns)
    publisher.publish_many([])  # connect, declare, confirm mode: a relay that is already up
    relay = _TimedRelay(db, outbox, publisher, target=target)
    ready.set()
    go.wait(120)
    thread = threading.Thread(target=relay.run, name="bench-relay", daemon=True)
    cpu0 = time.process_time()
    thread.start()
    relay.done.wait(max(120, target / 20))
    relay.stop()
    thread.join(timeout=10)
    results.put({"first_publish": publisher.first_publish, "all_published": relay.all_published,
                 "published": relay.published, "batches": relay.batches,
                 "cpu_s": time.process_time() - cpu0})
    release.wait(60)  # keep the database connections (and their CPU counters) until sampled
    publisher.close()
    db.dispose()


class TimedDispatcher:
    """Wraps an InboxDispatcher: notes when each handler's transaction has committed.

    Offers ``many`` exactly when the wrapped dispatcher does, so an EventConsumer that handles
    batches in one transaction sees the same dispatcher it would see in a worker.
    """

    def __init__(self, inner, *, target: int, finished: threading.Event):
        self.inner = inner
        self.target = target
        self.finished = finished
        self.state = {"count": 0, "first_commit": None, "last_commit": None, "batches": 0}

    def _tick(self, k: int) -> None:
        now = time.monotonic()
        self.state["count"] += k
        self.state["first_commit"] = self.state["first_commit"] or now
        self.state["last_commit"] = now
        if self.state["count"] >= self.target:
            self.finished.set()

    def __call__(self, event) -> None:
        self.inner(event)       # returns once the handler's transaction has committed
        self._tick(1)

    @property
    def many(self):
        inner_many = self.inner.many    # AttributeError when the dispatcher has no batches

        def many(events):
            inner_many(events)
            self.state["batches"] += 1
            self._tick(len(events))
        return many

    @property
    def duplicates(self) -> int:
        return self.inner.duplicates


class _ReadyConsumer(EventConsumer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ready = threading.Event()

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        self.ready.set()


def full_path(events: list[Event], urls: dict, ns: str, logs: Path) -> dict:
    from services.notify.models import outbox as source_outbox
    from services.review.handlers import HANDLERS
    from services.review.models import Application, inbox, outbox as review_outbox
    from shared.inbox import InboxDispatcher
    from shared.migrations import upgrade
    from sqlalchemy import func, select

    n = len(events)
    source_url, review_url = sqlalchemy_url(urls["source"]), sqlalchemy_url(urls["review"])
    upgrade(SOURCE_SERVICE, source_url)
    upgrade("review", review_url)

    source = Database(source_url, SOURCE_SERVICE)
    with Stopwatch() as fill:
        for i in range(0, n, 500):
            with source.session() as s, s.begin():
                for event in events[i:i + 500]:
                    record(s, source_outbox, event)
    source.dispose()

    review = Database(review_url, "review")
    review.ping()  # a worker that has been running has its connection already
    finished = threading.Event()
    dispatcher = TimedDispatcher(InboxDispatcher(review, inbox, review_outbox, "review", HANDLERS),
                                 target=n, finished=finished)
    state = dispatcher.state

    consumer = _ReadyConsumer(RABBITMQ_URL, "review", dispatcher, namespace=ns, prefetch_count=50)
    consumer_thread = threading.Thread(target=consumer.run, name="bench-review-consumer", daemon=True)
    ctx = multiprocessing.get_context("spawn")
    ready, go, release, results = ctx.Event(), ctx.Event(), ctx.Event(), ctx.Queue()
    relay_log, consumer_log = logs / "relay.log", logs / "review-worker.log"
    relay = ctx.Process(target=_relay_process, args=(source_url, ns, n, str(relay_log), ready, go, results, release),
                        name="bench-relay", daemon=True)
    with contextlib.ExitStack() as cleanup:
        # Both workers log as `prize worker` does (JSON at INFO), into files.
        cleanup.enter_context(worker_logging("review", consumer_log))

        @cleanup.callback
        def _stop():
            release.set()
            consumer.should_stop = True
            if consumer_thread.is_alive():
                consumer_thread.join(timeout=10)
            consumer.requeue.close()
            if relay.pid is not None:
                relay.join(timeout=15)
                if relay.is_alive():
                    relay.terminate()
                    relay.join(timeout=5)

        consumer_thread.start()
        if not consumer.ready.wait(30):
            raise RuntimeError("the review consumer did not start")
        relay.start()
        if not ready.wait(60):
            raise RuntimeError("the relay process did not start")
        databases = [source_url.rsplit("/", 1)[1], review_url.rsplit("/", 1)[1]]
        rabbit0, pg0, cpu0 = rabbitmq_cpu(), postgres_cpu(databases), time.process_time()
        go.set()
        finished.wait(max(120, n / 20))
        relay_result = results.get(timeout=60)
        # the relay process keeps its connections until released: its backends still count
        rabbit1, pg1, cpu1 = rabbitmq_cpu(), postgres_cpu(databases), time.process_time()
        release.set()

    with review.session() as s:
        applications = s.scalar(select(func.count()).select_from(Application))
        inbox_rows = s.scalar(select(func.count()).select_from(inbox))
    source = Database(source_url, SOURCE_SERVICE)
    left = pending_count(source, source_outbox)
    source.dispose()

    if state["count"] < n or applications != n:
        raise RuntimeError(f"full path incomplete: {state['count']} handled, {applications} applications "
                           f"in review, {left} rows unsent in the outbox, of {n}")
    start = relay_result["first_publish"]
    seconds = state["last_commit"] - start
    return {
        "rate": n / seconds, "seconds": seconds, "fill_s": fill.seconds,
        "relay_rate": n / (relay_result["all_published"] - start),
        "relay_batches": relay_result["batches"],
        "first_commit_after": state["first_commit"] - start,
        "consumer_rate": (n - 1) / max(1e-9, state["last_commit"] - state["first_commit"]),
        "applications": applications, "inbox": inbox_rows, "unsent": left,
        "duplicates": dispatcher.duplicates, "dead_lettered": consumer.dead_lettered,
        "log_problems": [log_problems(relay_log), log_problems(consumer_log)],
        "cpu_us": {"consumer": (cpu1 - cpu0) / n * 1e6, "relay": relay_result["cpu_s"] / n * 1e6,
                   "postgres": (pg1 - pg0) / n * 1e6, "rabbitmq": (rabbit1 - rabbit0) / n * 1e6},
        "consumer_batches": state["batches"], "batch_size": getattr(consumer, "batch_size", 1),
        "review": review,
    }


# --------------------------------------------------------------------------- breakdown
def breakdown(review: Database, ns: str, sample: int) -> dict:
    """Per-event cost of each stage alone, in this process, on a fresh sample."""
    from services.review.handlers import HANDLERS
    from services.review.models import inbox, outbox as review_outbox
    from shared.inbox import InboxDispatcher

    events = make_events(sample)
    bodies = [e.to_message() for e in events]
    with Stopwatch() as parse:
        parsed = [parse_message(b) for b in bodies]
    dispatcher = InboxDispatcher(review, inbox, review_outbox, "review", HANDLERS)
    half = sample // 2
    with Stopwatch() as handle:
        for event in parsed[:half]:
            dispatcher(event)
    many_us = None
    if hasattr(dispatcher, "many"):
        with Stopwatch() as batched:
            for i in range(half, sample, 50):
                dispatcher.many(parsed[i:i + 50])
        many_us = batched.seconds / (sample - half) * 1e6
    publisher = Publisher(RABBITMQ_URL, ns)
    publisher.publish_many([])
    with Stopwatch() as pub:
        for i in range(0, sample, 500):
            publisher.publish_many([(ROUTING_KEY, b, b["correlation_id"]) for b in bodies[i:i + 500]])
    publisher.close()
    us = lambda sw: sw.seconds / sample * 1e6  # noqa: E731
    return {"parse_us": us(parse), "dispatch_us": handle.seconds / half * 1e6, "many_us": many_us,
            "publish_us": us(pub)}


@contextlib.contextmanager
def _removing(folder: Path):
    try:
        yield
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _one_round(k: int, events: list[Event], bodies: list[dict], with_breakdown: bool) -> dict:
    n = len(events)
    base = raw_kombu(bodies)
    say(f"  round {k}: baseline raw kombu: publish (confirm each) {n / base['publish_s']:,.0f}/s in "
        f"{base['publish_s']:.2f} s, consume (ack, prefetch 50) {n / base['consume_s']:,.0f}/s in "
        f"{base['consume_s']:.2f} s → {base['rate']:,.0f} events/s")
    logs = Path(tempfile.mkdtemp(prefix="prize-bench-throughput-"))
    with fresh_databases(["source", "review"]) as urls, namespace() as ns, _removing(logs):
        result = full_path(events, urls, ns, logs)
        say(f"  round {k}: full path {result['rate']:,.0f} events/s ({n:,} in {result['seconds']:.2f} s) "
            f"→ {result['rate'] / base['rate']:.2f}x baseline")
        say(f"    relay (own process): all published and marked sent at {result['relay_rate']:,.0f}/s in "
            f"{result['relay_batches']} batches; first handler commit {result['first_commit_after'] * 1000:.0f} ms "
            f"after the first publish; consumer {result['consumer_rate']:,.0f}/s from its first commit; "
            f"{result['consumer_batches']} batches through InboxDispatcher.many (batch size {result['batch_size']})")
        say(f"    checks: {result['applications']:,} applications and {result['inbox']:,} inbox rows in review, "
            f"{result['unsent']} outbox rows unsent, {result['duplicates']} duplicates, "
            f"{result['dead_lettered']} dead-lettered")
        cpu, bcpu = result["cpu_us"], base["cpu_us"]
        say(f"    CPU per event, µs: full path {sum(cpu.values()):,.0f} (review consumer {cpu['consumer']:,.0f}, "
            f"relay {cpu['relay']:,.0f}, PostgreSQL {cpu['postgres']:,.0f}, RabbitMQ {cpu['rabbitmq']:,.0f}); "
            f"baseline {sum(bcpu.values()):,.0f} (client {bcpu['client']:,.0f}, RabbitMQ {bcpu['rabbitmq']:,.0f})")
        for name, (count, first) in zip(("relay", "review worker"), result["log_problems"]):
            if count:
                say(f"    {name} logged {count} warnings or errors; the first: {first}")
        costs = None
        if with_breakdown:
            costs = breakdown(result["review"], ns, sample=min(1000, n))
        result["review"].dispose()
    return {"base": base, "full": result, "ratio": result["rate"] / base["rate"], "costs": costs}


def run(n: int, rounds: int) -> list[Row]:
    say(f"\n== 1. Full-path throughput: {n:,} application.submitted events, outbox → RabbitMQ → review; "
        f"{rounds} rounds of baseline then full path, the median round counts ==")
    events = make_events(n)
    bodies = [e.to_message() for e in events]
    row = Row("1. full path outbox→relay→RabbitMQ→consumer→inbox+handler", None, "events/s",
              baseline_label="(raw kombu)", target="≥ 1.0x baseline")
    rows = [row]
    done = []
    try:
        for k in range(1, rounds + 1):
            done.append(_one_round(k, events, bodies, with_breakdown=k == rounds))
    except Exception as exc:
        say(f"  FAILED: {type(exc).__name__}: {exc}")
        row.notes.append(str(exc))
        row.met = False
        return rows
    median = sorted(done, key=lambda r: r["ratio"])[len(done) // 2]
    row.value, row.baseline, row.ratio = median["full"]["rate"], median["base"]["rate"], median["ratio"]
    row.met = row.ratio >= 1.0
    ratios = ", ".join(f"{r['ratio']:.2f}x" for r in done)
    say(f"  ratios by round: {ratios}; median {row.ratio:.2f}x")
    costs = done[-1]["costs"]
    many = (f", InboxDispatcher.many (50 per transaction) {costs['many_us']:,.0f}"
            if costs["many_us"] is not None else ", InboxDispatcher.many: not available")
    say(f"  where the time goes (each stage alone in this process, µs per event): parse_message "
        f"{costs['parse_us']:,.0f}, InboxDispatcher + review handler (one transaction each) "
        f"{costs['dispatch_us']:,.0f}{many}, Publisher.publish_many(500) {costs['publish_us']:,.0f}")
    best = min(x for x in (costs["dispatch_us"], costs["many_us"]) if x is not None)
    say(f"    → one consumer process cannot pass about {1e6 / (costs['parse_us'] + best):,.0f} events/s, "
        f"before any broker work")
    cpu, bcpu = sum(median["full"]["cpu_us"].values()), sum(median["base"]["cpu_us"].values())
    rows.append(Row("   CPU per event, all processes (median round)", cpu, "µs", baseline=bcpu,
                    baseline_label="(raw kombu)", ratio=cpu / bcpu if bcpu else None))
    full_cpu = median["full"]["cpu_us"]
    rows.append(Row("   CPU per event, review consumer process", full_cpu["consumer"], "µs",
                    baseline=median["base"]["cpu_us"]["client"], baseline_label="(raw kombu client)",
                    ratio=full_cpu["consumer"] / median["base"]["cpu_us"]["client"]
                    if median["base"]["cpu_us"]["client"] else None))
    rows.append(Row("   consumer stage alone: parse_message + dispatch", costs["parse_us"] + best, "µs/event"))
    return rows
