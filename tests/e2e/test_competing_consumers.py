"""Competing consumers on RabbitMQ and PostgreSQL, as real processes: three notify workers, two
review workers and two intake workers (each with its outbox relay) through a deadline burst.

One review worker is killed (SIGKILL) in the middle of it. Every event also reaches the broker
twice, as when a relay dies after the broker confirmed a batch and before it marked the rows
sent: each copy may go to another worker, at the same time as the first. Every effect must
still happen once: one review application per submission, one inbox row per event per service,
every outbox row sent, every email once at the SMTP server (counted by Message-ID, which notify
derives from the event, the template and the recipient), no dead letters. With the inbox taken
out (no row recorded, no look-up), review dead-letters every second copy of a submission and
this test fails.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from kombu import Connection
from sqlalchemy import create_engine, select

from services.intake.models import outbox as intake_outbox
from services.notify.models import Delivery
from services.review.models import Application
from shared import topology
from shared.bus import Publisher
from shared.config import load_settings
from tests.conftest import real_env
from tests.support.stack import (Stack, auth, complete_new_draft, migrate, open_call, register,
                                 wait_until)

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
APPLICANTS = 60
WORKERS = {"intake": 2, "review": 2, "notify": 3}


class WorkerProcesses:
    """``prize worker SERVICE`` processes, several per service, each with its own log file."""

    def __init__(self, env: dict, log_dir: Path):
        self.env = dict(os.environ, **env, PYTHONPATH=str(ROOT))
        self.log_dir = log_dir
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, counts: dict[str, int]) -> None:
        for service, count in counts.items():
            for i in range(count):
                log = open(self.log_dir / f"{service}-{i}.log", "w")
                proc = subprocess.Popen([sys.executable, "-m", "services.cli", "worker", service], cwd=ROOT,
                                        env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
                log.close()
                self.procs.append((f"{service}-{i}", proc))

    def kill(self, name: str) -> None:
        """SIGKILL: the worker dies holding what it prefetched, unacknowledged."""
        proc = dict(self.procs)[name]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        self.procs = [(n, p) for n, p in self.procs if n != name]

    def dead(self) -> list[str]:
        return [name for name, proc in self.procs if proc.poll() is not None]

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n" + (self.log_dir / f"{name}.log").read_text()[-1500:]
                         for name, _ in self.procs)

    def stop(self) -> None:
        for _, proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for _, proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def consumers(url: str, namespace: str) -> dict[str, int]:
    with Connection(url, connect_timeout=3) as conn:
        channel = conn.channel()
        out = {}
        for service in WORKERS:
            try:
                out[service] = channel.queue_declare(topology.queue_name(service, namespace), passive=True)[2]
            except Exception:  # not declared yet: the channel is closed, take another
                out[service], channel = 0, conn.channel()
        return out


def depths(url: str, namespace: str) -> dict[str, int]:
    with Connection(url, connect_timeout=3) as conn:
        channel = conn.channel()
        return {name: channel.queue_declare(name, passive=True)[1]
                for service in WORKERS
                for name in (topology.queue_name(service, namespace),
                             topology.dead_letter_queue_name(service, namespace))}


class Duplicator(threading.Thread):
    """Publishes every intake outbox row once more, soon after a relay published it."""

    def __init__(self, settings):
        super().__init__(daemon=True)
        self.engine = create_engine(settings.database_url("intake"))
        self.publisher = Publisher(settings.broker_url, settings.namespace, kind=topology.queue_kind(settings))
        self.sent: set[str] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        o = intake_outbox
        while not self.stop.wait(0.05):
            with self.engine.connect() as conn:
                rows = [r for r in conn.execute(select(o.c.event_id, o.c.routing_key, o.c.body, o.c.correlation_id)
                                                .where(o.c.published_at.is_not(None)).order_by(o.c.seq))
                        if r.event_id not in self.sent]
            if rows:
                self.publisher.publish_many([(r.routing_key, r.body, r.correlation_id, r.event_id) for r in rows])
                self.sent.update(r.event_id for r in rows)

    def finish(self, expected: int) -> None:
        assert wait_until(lambda: len(self.sent) >= expected, timeout=30), f"{len(self.sent)} of {expected} copied"
        self.stop.set()
        self.join(timeout=10)
        self.publisher.close()
        self.engine.dispose()


def prepare(stack, call_id: str, count: int) -> list[tuple[dict, str, dict]]:
    """``count`` applicants registered and signed in, each with a complete draft: (applicant, token, draft)."""
    def one(i):
        intake = stack.apps["intake"].test_client()
        who, token = register(intake, organisation=f"City {i} Office", city=f"City {i}",
                              contact_name=f"Contact {i}", contact_email=f"contact{i}@city{i}.example.org")
        return who, token, complete_new_draft(stack.apps["intake"].test_client(), token, call_id,
                                              title=f"Project of city {i}")
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(count)))


def submit_all(stack, prepared) -> list[dict]:
    """Every applicant submits at once, as at the deadline."""
    start = threading.Barrier(len(prepared))

    def one(item):
        _who, token, draft = item
        intake = stack.apps["intake"].test_client()
        start.wait()
        r = intake.post(f"/api/applications/{draft['id']}/submit", headers=auth(token))
        assert r.status_code == 200, r.get_json()
        return r.get_json()
    with ThreadPoolExecutor(len(prepared)) as pool:
        return list(pool.map(one, prepared))


def rows(settings, service: str, table, *columns):
    engine = create_engine(settings.database_url(service))
    try:
        with engine.connect() as conn:
            return conn.execute(select(*(columns or [table]))).all()
    finally:
        engine.dispose()


def emails_by_template(smtp_server) -> Counter:
    with smtp_server.lock:
        keys = [m["message"]["X-Prize-Delivery-Key"] for m in smtp_server.messages]
    return Counter(key.split(":")[1] for key in keys)


def check_every_effect_once(settings, smtp_server, submitted: list[dict], applicants: list[dict]) -> None:
    from services.intake.models import inbox as intake_inbox
    from services.notify.models import inbox as notify_inbox
    from services.notify.models import outbox as notify_outbox
    from services.review.models import inbox as review_inbox
    from services.review.models import outbox as review_outbox
    outboxes = {"intake": intake_outbox, "review": review_outbox, "notify": notify_outbox}
    inboxes = {"intake": intake_inbox, "review": review_inbox, "notify": notify_inbox}
    published = {svc: rows(settings, svc, o, o.c.event_id, o.c.type, o.c.published_at) for svc, o in outboxes.items()}
    for svc, sent in published.items():
        assert all(r.published_at for r in sent), f"{svc}: outbox rows left unsent"
    events = [r for sent in published.values() for r in sent]
    for svc, table in inboxes.items():
        wanted = sorted(r.event_id for r in events if r.type in topology.SUBSCRIPTIONS[svc])
        handled = sorted(r.event_id for r in rows(settings, svc, table, table.c.event_id))
        assert handled == wanted, f"{svc}: inbox rows are not one per event"

    review = rows(settings, "review", Application.__table__, Application.id)
    assert sorted(r.id for r in review) == sorted(a["id"] for a in submitted)

    deliveries = rows(settings, "notify", Delivery.__table__, Delivery.key, Delivery.status, Delivery.template,
                      Delivery.recipient)
    assert {r.status for r in deliveries} == {"sent"}
    with smtp_server.lock:
        message_ids = Counter(m["message"]["Message-ID"] for m in smtp_server.messages)
    assert [mid for mid, n in message_ids.items() if n > 1] == [], "an email went out more than once"
    assert len(message_ids) == len(deliveries)
    acks = sorted(r.recipient for r in deliveries if r.template == "submission_ack")
    assert acks == sorted(a["contact_email"] for a in applicants)


def test_competing_workers_through_a_deadline_burst(tmp_path, pg_database_urls, rabbitmq_url, namespace,
                                                     smtp_server):
    env = real_env(tmp_path / "var", pg_database_urls, namespace, PRIZE_MAIL_URL=smtp_server.url,
                   PRIZE_QUEUE_TYPE="quorum")
    settings = load_settings(env)
    migrate(settings)
    stack = Stack(settings, services=("intake",))
    workers = WorkerProcesses(env, tmp_path)
    duplicator = Duplicator(settings)
    try:
        call = open_call(stack.clients["intake"], stack.secretariat_token())
        began = time.monotonic()
        prepared = prepare(stack, call["id"], APPLICANTS)
        prepared_in = time.monotonic() - began
        # The sign-in emails of the registrations wait in intake's outbox: they go with the burst.
        workers.start(WORKERS)
        assert wait_until(lambda: consumers(rabbitmq_url, namespace) == WORKERS, timeout=30), workers.logs()
        duplicator.start()

        began = time.monotonic()
        submitted = submit_all(stack, prepared)
        burst = time.monotonic() - began
        # One review worker dies in the middle of it: RabbitMQ hands what it held to the other one.
        workers.kill("review-0")
        assert wait_until(lambda: emails_by_template(smtp_server)["submission_ack"] >= APPLICANTS, timeout=90), \
            f"{emails_by_template(smtp_server)}\n{workers.logs()}"
        all_mailed = time.monotonic() - began
        with stack.apps["intake"].extensions["prize"]["db"].engine.connect() as conn:
            duplicator.finish(len(conn.execute(select(intake_outbox.c.event_id)).all()))
        assert wait_until(lambda: not any(depths(rabbitmq_url, namespace).values()), timeout=30), \
            depths(rabbitmq_url, namespace)
        time.sleep(1)  # a second copy handled twice would mail now
        assert not workers.dead(), workers.logs()
        assert consumers(rabbitmq_url, namespace) == dict(WORKERS, review=WORKERS["review"] - 1)
        assert not any(depths(rabbitmq_url, namespace).values()), "dead letters or unhandled events"
        check_every_effect_once(settings, smtp_server, submitted, [who for who, _, _ in prepared])
        print(f"\n{APPLICANTS} applicants prepared in {prepared_in:.1f}s; submitted in {burst:.1f}s; "
              f"every acknowledgement at the SMTP server {all_mailed:.1f}s after the burst began; "
              f"{len(duplicator.sent)} events published twice; emails {dict(emails_by_template(smtp_server))}")
    finally:
        duplicator.stop.set()
        workers.stop()
        stack.stop()
