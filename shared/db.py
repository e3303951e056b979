"""Database engines: SQLite on the embedded stack, PostgreSQL on the real one."""
from __future__ import annotations

import os
import time
from urllib.parse import urlparse

from datetime import timezone

from sqlalchemy import DateTime, create_engine, event, exc, text
from sqlalchemy.types import TypeDecorator
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


class UTCDateTime(TypeDecorator):
    """A timestamp that is always timezone-aware UTC, also on SQLite (which drops the zone)."""
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime: store UTC-aware datetimes only")
            value = value.astimezone(timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


# Constraint names every service's tables follow, so migrations name them the same way.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, **kwargs) -> Engine:
    if is_sqlite(url):
        path = urlparse(url).path
        if path and path != "/:memory:":
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # We issue BEGIN ourselves: pysqlite's implicit transactions upgrade read locks to
            # write locks mid-transaction, which deadlocks with SQLITE_BUSY across processes.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # Prepared statements (psycopg prepares a query on its 5th run on a connection) keep one
    # generic plan instead of planning every execution again: our queries look rows up by key,
    # where the generic plan is the custom one, and planning cost more than running them.
    kwargs.setdefault("connect_args", {"options": "-c plan_cache_mode=force_generic_plan"})
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 10)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        ping_when_idle(engine, PING_AFTER_IDLE)
    return engine


# A pooled connection idle longer than this is pinged before use; one returned more recently is
# taken as it is (as HikariCP's alive-bypass window does): a server restart or a dropped
# connection is found out after a pause, but a burst of requests does not pay a round trip each.
PING_AFTER_IDLE = 1.0


def ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Pessimistic disconnect handling, only for connections that sat idle in the pool.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout. Here the ping (the dialect's own,
    as pre-ping uses) runs only when the connection was checked in ``idle_seconds`` ago or
    more; a failed ping raises DisconnectionError, on which the pool discards the connection
    and checks out a fresh one (the pool's documented checkout contract).
    """
    @event.listens_for(engine, "checkin")
    def _returned(dbapi_conn, record):
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn, record, proxy):
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < idle_seconds:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception as error:
            raise exc.DisconnectionError(f"pooled connection failed its ping: {error}") from error
        if alive is False:
            raise exc.DisconnectionError("pooled connection failed its ping")


class Database:
    """One service's database: its engine, sessions and outbox wake-up channel."""

    def __init__(self, url: str, service: str):
        self.url = url
        self.service = service
        self.engine = make_engine(url)
        self.notify_channel = f"prize_outbox_{service}"
        self.sessions = sessionmaker(self.engine, expire_on_commit=False,
                                     info={"outbox_channel": self.notify_channel})

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        return self.sessions()

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
