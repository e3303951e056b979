"""A PostgreSQL connection that died in the pool is found out before a request uses it.

shared.db pings a pooled connection only when it has sat idle for PING_AFTER_IDLE or longer
(a burst of requests reuses connections without a round trip each). These tests kill the
pool's server processes with pg_terminate_backend, as a database restart or failover does.
"""
from __future__ import annotations

import time

import psycopg
import pytest
from sqlalchemy import exc, text

from shared import db as shared_db
from shared.db import Database


def _backend_pids(database: Database) -> set[int]:
    """The server process ids of every connection the pool holds now (checked in)."""
    pids = set()
    pool = database.engine.pool
    held = [database.engine.raw_connection() for _ in range(pool.checkedin())]
    try:
        for conn in held:
            pids.add(conn.driver_connection.info.backend_pid)
    finally:
        for conn in held:
            conn.close()
    return pids


def _terminate(admin_url: str, pids: set[int]) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for pid in pids:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + 10
        while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)",
                           (list(pids),)).fetchone()[0]:
            assert time.monotonic() < deadline, "the terminated backends did not go away"
            time.sleep(0.05)


@pytest.fixture
def database(pg_database_urls, monkeypatch):
    monkeypatch.setattr(shared_db, "PING_AFTER_IDLE", 0.2)
    database = Database(pg_database_urls["intake"], "intake")
    yield database
    database.dispose()


def _warm(database: Database, connections: int = 3) -> None:
    """Put ``connections`` live connections in the pool."""
    held = [database.engine.connect() for _ in range(connections)]
    for conn in held:
        assert conn.execute(text("SELECT 1")).scalar_one() == 1
    for conn in held:
        conn.close()


def test_connections_killed_while_idle_are_replaced_before_use(database, postgres_admin_url):
    _warm(database)
    pids = _backend_pids(database)
    assert len(pids) == 3
    _terminate(postgres_admin_url, pids)
    time.sleep(0.3)  # idle past the window: the next checkout pings, fails, reconnects
    for _ in range(5):
        with database.engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
            assert conn.connection.driver_connection.info.backend_pid not in pids


def test_a_connection_used_within_the_window_is_not_pinged(database, postgres_admin_url):
    """The other side of the trade: inside the window the pool trusts the connection, so one
    killed a moment after its last use fails the next statement (and the pool is renewed)."""
    _warm(database, connections=1)
    pids = _backend_pids(database)
    _terminate(postgres_admin_url, pids)
    with pytest.raises(exc.DBAPIError) as failed:
        with database.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    assert failed.value.connection_invalidated
    with database.engine.connect() as conn:  # the failure invalidated it: a new one now
        assert conn.execute(text("SELECT 1")).scalar_one() == 1


def test_the_ping_is_skipped_under_load_and_runs_after_a_pause(database):
    _warm(database, connections=1)
    pings = []
    original = database.engine.dialect.do_ping

    def counting_ping(dbapi_conn):
        pings.append(1)
        return original(dbapi_conn)

    database.engine.dialect.do_ping = counting_ping
    try:
        for _ in range(20):
            with database.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        assert pings == []
        time.sleep(0.3)
        with database.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert pings == [1]
    finally:
        database.engine.dialect.do_ping = original


def test_a_request_on_a_connection_that_died_is_a_503_and_the_next_one_works(pg_database_urls, postgres_admin_url,
                                                                            tmp_path, monkeypatch):
    """Inside the window a dead connection fails its request: the answer is a 503 saying to try
    again (never a 500), and the retry gets a fresh connection."""
    from services.intake.app import create_app
    from shared.config import load_settings
    from shared.migrations import upgrade

    monkeypatch.setattr(shared_db, "PING_AFTER_IDLE", 60.0)  # nothing is pinged in this test
    upgrade("intake", pg_database_urls["intake"])
    settings = load_settings({"PRIZE_VAR_DIR": str(tmp_path), "PRIZE_INTAKE_DATABASE_URL": pg_database_urls["intake"],
                              "PRIZE_SECRET_KEY": "test-secret"})
    app = create_app(settings=settings)
    database = app.extensions["prize"]["db"]
    client = app.test_client()
    try:
        assert client.get("/api/calls").status_code == 200
        _terminate(postgres_admin_url, _backend_pids(database))
        failed = client.get("/api/calls")
        assert failed.status_code == 503, failed.get_data(as_text=True)
        assert failed.get_json()["message"] == "the database is unavailable for a moment; please try again"
        assert failed.headers["Retry-After"] == "1"
        assert client.get("/api/calls").status_code == 200
    finally:
        database.dispose()
