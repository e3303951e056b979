"""`prize worker-health SERVICE`: the worker containers' healthcheck and the pods' liveness probe.

A real worker runs on a thread (its heartbeat scaled from every 5 s to every 50 ms, the check's
limit from 30 s to 3 s); the command answers 0 while it consumes, 1 once it stopped, once its
outbox relay died, and while its broker is unreachable.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from services import cli
from shared.config import load_settings
from shared.heartbeat import heartbeat_path
from tests.conftest import embedded_env, real_env
from tests.support.stack import migrate
from tests.support.tcpproxy import TcpProxy

ROOT = Path(__file__).resolve().parents[2]
# Above the consumer loop's longest pause between iterations when idle (about 1-2 s on the
# embedded broker, which polls), so that a live worker never looks stale.
MAX_AGE = "3"


def health(settings, service="notify") -> tuple[int, str]:
    result = CliRunner().invoke(cli.main, ["worker-health", service, "--max-age", MAX_AGE],
                                env={"PRIZE_VAR_DIR": str(settings.var_dir)})
    return result.exit_code, result.output


def wait_for(settings, code: int, seconds: float = 15) -> str:
    deadline = time.monotonic() + seconds
    while True:
        got, output = health(settings)
        if got == code or time.monotonic() > deadline:
            assert got == code, f"worker-health answered {got}, not {code}: {output}"
            return output
        time.sleep(0.05)


class RefusingProxy(TcpProxy):
    """TcpProxy whose stop also refuses the next connection: on Linux, closing a listening socket
    that a thread is blocked accepting on leaves it listening until that accept returns."""

    def stop(self) -> None:
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept, which then ends
            except OSError:
                pass
        super().stop()


class RunningWorker:
    def __init__(self, settings, service="notify"):
        from services.notify.app import create_worker
        migrate(settings, (service,))
        self.worker = create_worker(settings=settings)
        self.worker.heartbeat.every = 0.05
        self.thread = threading.Thread(target=self.worker.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self.worker

    def __exit__(self, *exc):
        self.worker.stop()
        self.thread.join(timeout=20)
        assert not self.thread.is_alive()


def test_worker_health_is_0_while_the_worker_consumes_and_1_once_it_stopped(tmp_path):
    settings = load_settings(embedded_env(tmp_path / "var"))
    assert health(settings)[0] == 1  # before it started: no heartbeat
    with RunningWorker(settings):
        output = wait_for(settings, 0)
        assert "notify worker: alive" in output
        assert heartbeat_path(settings.var_dir, "notify").is_file()
        assert health(settings, "review")[0] == 1  # each service's worker beats for itself
        time.sleep(4)  # longer than the limit: it keeps beating
        assert health(settings)[0] == 0
    code, output = health(settings)
    assert code == 1 and "no heartbeat" in output, output


def test_worker_health_is_1_when_the_outbox_relay_died(tmp_path):
    settings = load_settings(embedded_env(tmp_path / "var"))
    with RunningWorker(settings) as worker:
        wait_for(settings, 0)
        worker.relay.stop()  # its thread ends; the consumer loop goes on
        output = wait_for(settings, 1, seconds=8)
        assert "s old" in output, output
        assert worker.consumer.should_stop is False


@pytest.mark.rabbitmq
@pytest.mark.postgres
def test_worker_health_is_1_while_the_broker_is_unreachable_and_0_once_it_is_back(
        tmp_path, pg_database_urls, rabbitmq_url, namespace):
    proxy = RefusingProxy(5672).start()
    url = rabbitmq_url.replace("127.0.0.1:5672", f"127.0.0.1:{proxy.port}")
    settings = load_settings(real_env(tmp_path / "var", pg_database_urls, namespace, PRIZE_BROKER_URL=url))
    try:
        with RunningWorker(settings):
            wait_for(settings, 0)
            proxy.stop()  # the consumer loses its connection and retries: no iteration, no beat
            output = wait_for(settings, 1)
            assert "stuck" in output, output
            proxy.start()
            wait_for(settings, 0, seconds=30)
    finally:
        proxy.stop()


def test_worker_health_command_exits_1_as_a_process_when_no_worker_runs(tmp_path):
    """What compose and Kubernetes run: the real command line, its exit status."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), PRIZE_VAR_DIR=str(tmp_path / "var"))
    run = subprocess.run([sys.executable, "-m", "services.cli", "worker-health", "intake"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "intake worker: not alive" in run.stderr
    path = heartbeat_path(tmp_path / "var", "intake")
    path.parent.mkdir(parents=True)
    path.touch()
    run = subprocess.run([sys.executable, "-m", "services.cli", "worker-health", "intake"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    old = time.time() - 31  # older than the default limit of 30 s
    os.utime(path, (old, old))
    run = subprocess.run([sys.executable, "-m", "services.cli", "worker-health", "intake"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "stuck" in run.stderr, run.stdout + run.stderr
