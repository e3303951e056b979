"""Fixtures: real RabbitMQ, real PostgreSQL, a real SMTP server, and the embedded stack.

Outside CI a missing server skips the tests that need it, saying how to start it; with
CI=true it fails them instead: in CI nothing may skip.
"""
from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest

from shared.config import load_settings

IN_CI = os.environ.get("CI", "").lower() == "true"
# tests/compose/ brings docker-compose.yml up: only `make test-compose` runs it (with Docker).
collect_ignore = [] if os.environ.get("PRIZE_TEST_COMPOSE") == "1" else ["compose"]
RABBITMQ_URL = os.environ.get("PRIZE_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
POSTGRES_ADMIN_URL = os.environ.get("PRIZE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

HOW_TO_START = {
    "RabbitMQ": "start it with: rabbitmq-server -detached",
    "PostgreSQL": "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
}


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _require(name: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}; {HOW_TO_START[name]}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def rabbitmq_url() -> str:
    _require("RabbitMQ", "127.0.0.1", 5672)
    return RABBITMQ_URL


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    _require("PostgreSQL", "127.0.0.1", 5432)
    return POSTGRES_ADMIN_URL


@pytest.fixture
def namespace(request):
    """Exchange and queue names of this test alone; deleted from RabbitMQ afterwards."""
    ns = "t" + uuid.uuid4().hex[:10]
    yield ns
    if _reachable("127.0.0.1", 5672):
        from tests.support.broker import delete_topology
        delete_topology(RABBITMQ_URL, ns)


@pytest.fixture
def pg_database_urls(postgres_admin_url):
    """Three fresh PostgreSQL databases, one per service; dropped afterwards."""
    import psycopg
    suffix = uuid.uuid4().hex[:10]
    names = {svc: f"prize_t{suffix}_{svc}" for svc in ("intake", "review", "notify")}
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        for name in names.values():
            conn.execute(f'CREATE DATABASE "{name}"')
    base = postgres_admin_url.rsplit("/", 1)[0]
    yield {svc: f"{base}/{name}" for svc, name in names.items()}
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        for name in names.values():
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def embedded_env(var_dir: Path, **extra) -> dict:
    env = {"PRIZE_VAR_DIR": str(var_dir), "PRIZE_SECRET_KEY": "test-secret"}
    env.update(extra)
    return env


def real_env(var_dir: Path, db_urls: dict, namespace: str, **extra) -> dict:
    env = embedded_env(var_dir, PRIZE_BROKER_URL=RABBITMQ_URL, PRIZE_NAMESPACE=namespace)
    for svc, url in db_urls.items():
        env[f"PRIZE_{svc.upper()}_DATABASE_URL"] = url
    env.update(extra)
    return env


def env_for(request, var_dir: Path, kind: str, **extra) -> dict:
    """The PRIZE_* environment of one stack, "embedded" or "real" (then this test's fresh
    PostgreSQL databases and RabbitMQ namespace, from their fixtures), with extra variables."""
    if kind == "embedded":
        return embedded_env(var_dir, **extra)
    request.getfixturevalue("rabbitmq_url")
    return real_env(var_dir, request.getfixturevalue("pg_database_urls"), request.getfixturevalue("namespace"),
                    **extra)


@pytest.fixture
def embedded_settings(tmp_path):
    return load_settings(embedded_env(tmp_path / "var"))


@pytest.fixture
def real_settings(tmp_path, pg_database_urls, rabbitmq_url, namespace):
    return load_settings(real_env(tmp_path / "var", pg_database_urls, namespace))


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free port; ``.messages`` holds what arrived."""
    from tests.support.smtp import RecordingSMTPServer
    server = RecordingSMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def free_port():
    def _free():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    return _free


# --- intake alone in this process, on the embedded stack (files that need all three services, or
# another stack, define their own ``stack``) ---------------------------------------------------------

@pytest.fixture
def stack(embedded_settings):
    from tests.support.stack import Stack
    s = Stack(embedded_settings, services=("intake",))
    yield s
    s.stop()


@pytest.fixture
def intake(stack):
    return stack.clients["intake"]


@pytest.fixture
def sec(stack):
    return stack.secretariat_token()


@pytest.fixture(scope="session")
def oidc_provider():
    """A real OpenID Connect provider (node, oidc-provider) for the session; tests/support/oidc.py."""
    from tests.support.oidc import running_provider
    with running_provider() as provider:
        yield provider


# --- Amazon SQS, as moto's server plays it ---------------------------------------------------------

@pytest.fixture(scope="session")
def moto_endpoint():
    """One moto server for the session (tests keep apart by namespace, as on RabbitMQ)."""
    from tests.support.moto import moto_server
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def sqs_url(moto_endpoint, namespace):
    """PRIZE_BROKER_URL=sqs://... on the moto server; this test's namespace's queues deleted after."""
    from tests.support.moto import sqs_broker_url
    from tests.support.sqs import delete_queues
    url = sqs_broker_url(moto_endpoint, visibility_timeout=5)
    yield url
    delete_queues(url, namespace)
