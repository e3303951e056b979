"""What a scrape of a web app's /metrics reads from its service's database and broker.

The workers have no HTTP server, so what they leave behind is measured where it lies: the
outbox's unsent rows in the service's database, the messages waiting in its queue and its
dead-letter queue on the broker, and whatever a service adds (notify: its emails by status).
The figures are read at scrape time by a prometheus_client collector and kept for a few
seconds, so a storm of scrapes (several Prometheis, a reloading dashboard) reads them once.

Every replica of a service reports the same figures: a dashboard takes ``max by (service)``.
A source that does not answer (the broker down, a queue not declared yet) leaves its series
out of the page and logs why; /metrics itself always answers.

Series (all with the label ``service``):

- ``prize_outbox_backlog``: events committed but not yet published to the broker.
- ``prize_outbox_oldest_age_seconds``: how long the oldest of them has waited (0 when none).
- ``prize_queue_messages{queue="events"|"dead"}``: messages waiting in the service's queue
  (its consumer lag) and in its dead-letter queue (``prize dlq list`` shows them).
- ``prize_state_read_seconds``: how long the last reading of all the above took.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from typing import Callable, Iterable

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import column, func, select, table
from sqlalchemy.engine import Connection

from . import topology
from .bus import connect
from .db import UTCDateTime

log = logging.getLogger("prize.metrics")

CACHE_SECONDS = 5.0
BROKER_TIMEOUT = 2.0  # seconds to connect: a scrape must not hang on a broker that is down

# The columns read, by name: every service's outbox has them (shared.outbox.define_outbox).
_OUTBOX = table("outbox", column("seq"), column("created_at", UTCDateTime), column("published_at", UTCDateTime))

# A service's own figures: read in the same connection, returning the metric families.
Probe = Callable[[Connection, str, datetime], Iterable[Metric]]


def outbox_metrics(conn: Connection, service: str, now: datetime) -> list[Metric]:
    """Two statements, both on the partial index of unsent rows (ix_outbox_unsent)."""
    unsent = _OUTBOX.c.published_at.is_(None)
    backlog = conn.execute(select(func.count()).select_from(_OUTBOX).where(unsent)).scalar_one()
    oldest = conn.execute(select(_OUTBOX.c.created_at).where(unsent)
                          .order_by(_OUTBOX.c.seq).limit(1)).scalar()
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    count = GaugeMetricFamily("prize_outbox_backlog", "Events committed but not yet published to the broker",
                              labels=["service"])
    count.add_metric([service], backlog)
    oldest_age = GaugeMetricFamily("prize_outbox_oldest_age_seconds",
                                   "Age of the oldest event not yet published (0 when none waits)",
                                   labels=["service"])
    oldest_age.add_metric([service], age)
    return [count, oldest_age]


class BrokerDepths:
    """Messages waiting in a service's queue and dead-letter queue: a passive declare of each
    (RabbitMQ's and SQS's message count; the embedded broker's rows of that queue). Declares
    nothing: a queue nobody has declared yet is not counted. One connection is kept between
    readings and made again once when it fails."""

    def __init__(self, url: str, service: str, namespace: str = ""):
        self.url = url
        self.queues = {"events": topology.queue_name(service, namespace),
                       "dead": topology.dead_letter_queue_name(service, namespace)}
        self.conn = None
        self.channel = None

    def _open(self):
        self.conn = connect(self.url)
        self.conn.connect_timeout = BROKER_TIMEOUT
        self.channel = self.conn.channel()

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.release()
            except Exception:
                pass
        self.conn = self.channel = None

    def _read(self) -> dict[str, int]:
        if self.channel is None:
            self._open()
        return {kind: int(self.channel.queue_declare(queue=name, passive=True).message_count or 0)
                for kind, name in self.queues.items()}

    def read(self) -> dict[str, int]:
        try:
            return self._read()
        except Exception:  # a connection the broker closed (idle, restarted): once more, afresh
            self.close()
        try:
            return self._read()
        except Exception:
            self.close()
            raise


class StateCollector(Collector):
    """The figures of one service's state, read at most once per ``max_age`` seconds."""

    def __init__(self, service: str, db, broker: BrokerDepths | None, *, max_age: float = CACHE_SECONDS):
        self.service, self.db, self.broker = service, db, broker
        self.max_age = max_age
        self.probes: list[Probe] = [outbox_metrics]
        self._lock = threading.Lock()
        self._read_at: float | None = None
        self._families: list[Metric] = []

    def add_probe(self, probe: Probe) -> None:
        self.probes.append(probe)

    def describe(self):
        return []  # registering must not read the database

    def collect(self):
        with self._lock:
            now = time.monotonic()
            if self._read_at is None or now - self._read_at >= self.max_age:
                self._families = self._read()
                self._read_at = time.monotonic()
            families = self._families
        return iter(families)

    def _read(self) -> list[Metric]:
        started = time.perf_counter()
        families = self._database() + self._broker()
        spent = GaugeMetricFamily("prize_state_read_seconds",
                                  "Time the last reading of the outbox, queues and the service's own figures took",
                                  labels=["service"])
        spent.add_metric([self.service], time.perf_counter() - started)
        return families + [spent]

    def _database(self) -> list[Metric]:
        try:
            with self.db.engine.connect() as conn:
                now = datetime.now(timezone.utc)
                return [family for probe in self.probes for family in probe(conn, self.service, now)]
        except Exception as exc:  # the database's trouble is /readyz's to report
            log.warning("metrics: %s's database not read: %s", self.service, exc)
            return []

    def _broker(self) -> list[Metric]:
        if self.broker is None:
            return []
        try:
            depths = self.broker.read()
        except Exception as exc:
            log.warning("metrics: %s's queues not counted: %s", self.service, exc)
            return []
        family = GaugeMetricFamily("prize_queue_messages",
                                   "Messages waiting in the service's queue (events) and dead-letter queue (dead)",
                                   labels=["service", "queue"])
        for kind, count in depths.items():
            family.add_metric([self.service, kind], count)
        return [family]


def install_state_metrics(registry, service: str, settings, db) -> StateCollector:
    broker = BrokerDepths(settings.broker_url, service, settings.namespace) if settings.broker_url else None
    collector = StateCollector(service, db, broker)
    registry.register(collector)
    return collector
