"""Database engines: SQLite on the embedded stack, PostgreSQL on the real one."""
from __future__ import annotations

import os
from urllib.parse import urlparse

from datetime import timezone

from sqlalchemy import DateTime, create_engine, event, text
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
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 10)
    return create_engine(url, **kwargs)


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
