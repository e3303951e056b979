"""Transactional outbox: an event row is committed with the state change that caused it.

``record()`` adds the row inside the caller's transaction. ``OutboxRelay`` publishes unsent
rows in order and marks them sent. On PostgreSQL the insert also sends a NOTIFY, delivered
only on commit, which wakes the relay at once; rows are claimed with FOR UPDATE SKIP LOCKED so
two relays never publish the same row. On SQLite the relay polls a partial index every few
milliseconds. A broker that is down makes the relay back off and retry; the rows wait.

With traces on (shared/tracing.py), a row keeps the W3C trace context of its writing
(``traceparent``, ``tracestate``) and its message carries the relay's publish span onwards.
"""
from __future__ import annotations

import json
import logging
import select
import threading
from datetime import datetime, timezone

from sqlalchemy import (BigInteger, Column, Index, func, Integer, MetaData, String, Table, Text,
                        bindparam, insert, literal, select as sa_select, update)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Update

from . import topology, tracing
from .db import Database, UTCDateTime
from .events import Event

log = logging.getLogger("prize.outbox")

BigId = BigInteger().with_variant(Integer, "sqlite")


def define_outbox(metadata: MetaData) -> Table:
    table = Table(
        "outbox", metadata,
        Column("seq", BigId, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("type", String(100), nullable=False),
        Column("routing_key", String(100), nullable=False),
        Column("correlation_id", String(100), nullable=False),
        Column("body", Text, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("published_at", UTCDateTime, nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", Text, nullable=True),
        # the W3C trace context of the span that wrote the row (shared/tracing.py), if traces are on
        Column("traceparent", String(55), nullable=True),
        Column("tracestate", Text, nullable=True),
    )
    Index("ix_outbox_unsent", table.c.seq,
          postgresql_where=table.c.published_at.is_(None),
          sqlite_where=table.c.published_at.is_(None))
    return table


def _row(event: Event, trace_columns: dict) -> dict:
    return {"event_id": str(event.id), "type": event.type, "routing_key": event.routing_key,
            "correlation_id": event.correlation_id, "body": json.dumps(event.to_message()),
            "created_at": datetime.now(timezone.utc), "attempts": 0,
            "traceparent": trace_columns.get("traceparent"), "tracestate": trace_columns.get("tracestate")}


def record(session: Session | Connection, outbox: Table, event: Event, channel: str | None = None) -> None:
    """Add the event to the outbox in the caller's transaction (a session's, or a Core
    connection's with the ``channel`` to wake the relay on: Database.notify_channel).

    On PostgreSQL the insert and the relay's wake-up (pg_notify, delivered on commit) go in one
    statement: one round trip per event instead of two.
    """
    with tracing.creating(event) as trace_columns:
        row = insert(outbox).values(**_row(event, trace_columns))
        channel = channel or session.info.get("outbox_channel")
        dialect = session.dialect if isinstance(session, Connection) else session.get_bind().dialect
        if channel and dialect.name == "postgresql":
            added = row.returning(outbox.c.seq).cte("added")
            session.execute(sa_select(func.pg_notify(literal(channel), literal(""))).select_from(added))
        else:
            session.execute(row)


class GuardedRecord:
    """An UPDATE whose WHERE says when it may happen and, only if it changed a row, the event's
    outbox row: for optimistic writes (read without a lock, decide, let the guard in the WHERE
    catch a concurrent change).

    ``change`` is a template with bind parameters (built once, at import); calling the instance
    with a connection, the event and the template's parameters returns True if the row changed
    and the event was added. On PostgreSQL it is one statement (UPDATE ... RETURNING, INSERT ...
    SELECT from it, pg_notify for the relay), atomic even in autocommit mode, compiled once and
    reused. Elsewhere (SQLite) the caller holds a transaction and the two statements run in it.
    """

    COLUMNS = ("event_id", "type", "routing_key", "correlation_id", "body", "created_at", "attempts",
               "traceparent", "tracestate")

    def __init__(self, outbox: Table, change: Update):
        self.change, self.outbox = change, outbox
        changed = change.returning(*change.table.primary_key.columns).cte("changed")
        row = sa_select(*[bindparam(f"outbox_{c}", type_=outbox.c[c].type).label(c) for c in self.COLUMNS])
        added = (insert(outbox).from_select(list(self.COLUMNS), row.select_from(changed))
                 .returning(outbox.c.seq).cte("added"))
        self.postgresql = sa_select(func.pg_notify(bindparam("outbox_channel", type_=String), literal(""))
                                    ).select_from(added)

    def __call__(self, conn: Connection, event: Event, params: dict, channel: str) -> bool:
        with tracing.creating(event) as trace_columns:
            values = _row(event, trace_columns)
            if conn.dialect.name == "postgresql":
                done = conn.execute(self.postgresql, {**params, **{f"outbox_{c}": v for c, v in values.items()},
                                                      "outbox_channel": channel}).first() is not None
            elif conn.execute(self.change, params).rowcount != 1:
                done = False
            else:
                conn.execute(insert(self.outbox).values(**values))
                done = True
            tracing.note(**{"prize.outbox.written": done})
            return done


def pending_count(db: Database, outbox: Table) -> int:
    with db.engine.connect() as conn:
        return conn.execute(sa_select(func.count()).select_from(outbox)
                            .where(outbox.c.published_at.is_(None))).scalar_one()


class _Waker:
    """Wait for 'an outbox row was committed': PostgreSQL LISTEN, else a short poll."""

    def __init__(self, db: Database, poll_interval: float):
        self.db = db
        self.poll_interval = poll_interval
        self.conn = None

    def _listen(self):
        if self.db.dialect != "postgresql" or self.conn is not None:
            return
        import psycopg
        url = self.db.engine.url.set(drivername="postgresql")
        self.conn = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
        self.conn.execute(f'LISTEN "{self.db.notify_channel}"')

    def wait(self, stop: threading.Event) -> None:
        try:
            self._listen()
        except Exception as exc:  # the relay still works by polling
            log.warning("outbox LISTEN unavailable, polling instead: %s", exc)
            self.conn = None
        if self.conn is None:
            stop.wait(self.poll_interval)
            return
        try:
            ready, _, _ = select.select([self.conn.fileno()], [], [], self.poll_interval)
            if ready:
                for _ in self.conn.notifies(timeout=0):
                    pass
        except Exception as exc:
            log.warning("outbox LISTEN connection lost: %s", exc)
            self.close()
            stop.wait(self.poll_interval)

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None


class OutboxRelay:
    """Publishes unsent outbox rows in order; safe to run in several processes at once."""

    def __init__(self, db: Database, outbox: Table, publisher, *, batch_size: int = 500,
                 poll_interval: float | None = None, max_backoff: float = 10.0):
        self.db = db
        self.outbox = outbox
        self.publisher = publisher
        self.batch_size = batch_size
        if poll_interval is None:
            poll_interval = 1.0 if db.dialect == "postgresql" else 0.02
        self.waker = _Waker(db, poll_interval)
        self.max_backoff = max_backoff
        self.stop_event = threading.Event()
        self.published = 0
        self.span_attributes = tracing.broker_attributes(
            getattr(publisher, "url", ""), topology.exchange(getattr(publisher, "namespace", "")).name)

    def run_once(self) -> int:
        """Publish one batch; return how many rows were published."""
        o = self.outbox
        query = (sa_select(o.c.seq, o.c.event_id, o.c.routing_key, o.c.body, o.c.correlation_id,
                           o.c.traceparent, o.c.tracestate)
                 .where(o.c.published_at.is_(None)).order_by(o.c.seq).limit(self.batch_size))
        if self.db.dialect == "postgresql":
            # The lock is held while publishing, so a second relay skips these rows.
            with self.db.engine.begin() as conn:
                rows = conn.execute(query.with_for_update(skip_locked=True)).all()
                if not rows:
                    return 0
                self._publish(rows)
                conn.execute(update(o).where(o.c.seq.in_([r.seq for r in rows]))
                             .values(published_at=datetime.now(timezone.utc)))
        else:
            # SQLite: read without the write lock so web requests are never blocked on the
            # broker; a second relay may publish a row twice, which consumers' inboxes absorb.
            with self.db.engine.connect() as conn:
                rows = conn.execute(query).all()
            if not rows:
                return 0
            self._publish(rows)
            with self.db.engine.begin() as conn:
                conn.execute(update(o).where(o.c.seq.in_([r.seq for r in rows]))
                             .where(o.c.published_at.is_(None))
                             .values(published_at=datetime.now(timezone.utc)))
        self.published += len(rows)
        return len(rows)

    def _publish(self, rows) -> None:
        # The stored body is already the JSON on the wire: no decoding and encoding again.
        with tracing.Publishing(self.db.service, self.span_attributes) as spans:
            self.publisher.publish_many(
                [(r.routing_key, r.body, r.correlation_id, r.event_id, spans.headers(r)) for r in rows])

    def _note_failure(self, exc: Exception) -> None:
        try:
            with self.db.engine.begin() as conn:
                o = self.outbox
                first = conn.execute(sa_select(o.c.seq).where(o.c.published_at.is_(None))
                                     .order_by(o.c.seq).limit(1)).scalar()
                if first is not None:
                    conn.execute(update(o).where(o.c.seq == first)
                                 .values(attempts=o.c.attempts + 1, last_error=str(exc)[:2000]))
        except Exception:  # the database may be the thing that is down
            pass

    def run(self) -> None:
        backoff = 0.0
        while not self.stop_event.is_set():
            try:
                n = self.run_once()
                backoff = 0.0
            except Exception as exc:
                backoff = min(self.max_backoff, max(0.2, backoff * 2))
                log.warning("outbox relay could not publish, retrying in %.1fs: %s", backoff, exc)
                self._note_failure(exc)
                self.publisher.reset()
                self.stop_event.wait(backoff)
                continue
            if n < self.batch_size:
                self.waker.wait(self.stop_event)
        self.waker.close()

    def stop(self) -> None:
        self.stop_event.set()
