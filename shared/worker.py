"""A service's worker process: its event consumer, its outbox relay and its timed jobs."""
from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import Table

from . import sqs, topology, tracing
from .bus import EventConsumer, Publisher
from .config import Settings
from .db import Database
from .heartbeat import Heartbeat, heartbeat_path
from .inbox import Handler, InboxDispatcher
from .outbox import OutboxRelay

log = logging.getLogger("prize.worker")


@dataclass
class PeriodicJob:
    name: str
    every_seconds: float
    run: Callable[[], None]


@dataclass
class ServiceWorker:
    service: str
    settings: Settings
    db: Database
    outbox: Table
    inbox: Table
    handlers: dict[str, Handler]
    jobs: list[PeriodicJob] = field(default_factory=list)
    prefetch_count: int = 50

    def __post_init__(self):
        ns, kind = self.settings.namespace, topology.queue_kind(self.settings)
        self.relay = OutboxRelay(self.db, self.outbox, Publisher(self.settings.broker_url, ns, kind=kind))
        self.dispatcher = InboxDispatcher(self.db, self.inbox, self.outbox, self.service, self.handlers)
        self.consumer = EventConsumer(self.settings.broker_url, self.service, self.dispatcher,
                                      namespace=ns, max_attempts=self.settings.max_redeliveries,
                                      prefetch_count=self.prefetch_count, kind=kind)
        tracing.setup(self.service)  # the OTEL_* variables, read at start (the log says if traces are on)
        self.dispatcher.span_attributes = tracing.broker_attributes(self.settings.broker_url, self.consumer.queue.name)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        # `prize worker-health` reads it; touched from the consumer loop while the threads live
        self.heartbeat = Heartbeat(heartbeat_path(self.settings.var_dir, self.service),
                                   alive=lambda: all(t.is_alive() for t in self._threads))
        self.consumer.on_iteration = self.heartbeat.beat

    def _job_loop(self, job: PeriodicJob) -> None:
        while not self._stop.wait(job.every_seconds):
            try:
                job.run()
            except Exception:
                log.exception("timed job %s failed; it runs again in %ss", job.name, job.every_seconds)

    def start_background(self) -> None:
        t = threading.Thread(target=self.relay.run, name=f"{self.service}-relay", daemon=True)
        t.start()
        self._threads.append(t)
        for job in self.jobs:
            t = threading.Thread(target=self._job_loop, args=(job,), name=f"{self.service}-{job.name}",
                                 daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, *_args) -> None:
        self._stop.set()
        self.relay.stop()
        self.consumer.should_stop = True

    def run(self) -> None:
        """Run until SIGTERM or SIGINT; the consumer uses the main thread."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
        if sqs.is_sqs(self.settings.broker_url):
            sqs.ensure_queues(self.settings.broker_url, self.settings.namespace, self.settings.max_redeliveries)
        self.start_background()
        log.info("worker %s consuming %s", self.service, self.consumer.queue.name)
        try:
            self.consumer.run()
        except topology.TopologyMismatch as exc:
            raise SystemExit(str(exc)) from None  # one line for the operator, not a traceback
        finally:
            self.heartbeat.clear()
            self.stop()
            for t in self._threads:
                t.join(timeout=5)
            self.db.dispose()
