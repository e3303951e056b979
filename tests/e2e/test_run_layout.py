"""`prize run` as a newcomer meets it: one process per service on the embedded stack, banner links
that answer, a port in use said in one line, and gunicorn servers that share no control socket."""
from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from services.processes import gunicorn_server
from shared.config import load_settings
from tests.conftest import embedded_env

PRIZE = str(Path(sys.executable).parent / "prize")
SERVICES = ("intake", "review", "notify")


def process_tree(root: int) -> dict[int, str]:
    """pid → command line of a process and its live descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                with open(f"/proc/{entry}/stat") as fh:
                    parent = int(fh.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry))
    found, todo = {}, [root]
    while todo:
        pid = todo.pop()
        with contextlib.suppress(OSError):
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                found[pid] = fh.read().replace(b"\0", b" ").decode().strip()
            todo.extend(children.get(pid, []))
    return found


@contextlib.contextmanager
def prize_run(env: dict, ports: dict, log_path: Path, *args: str, command: list[str] | None = None,
              cwd: Path | None = None, ready_within: float = 60):
    """`prize run ARGS` (or ``command``) until every service's /readyz answers 200; stopped with
    SIGTERM after."""
    log = open(log_path, "w")
    proc = subprocess.Popen(command or [PRIZE, "run", *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, cwd=cwd)
    try:
        deadline, pending = time.monotonic() + ready_within, set(ports)
        while pending and time.monotonic() < deadline and proc.poll() is None:
            for svc in list(pending):
                with contextlib.suppress(requests.RequestException):
                    if requests.get(f"http://127.0.0.1:{ports[svc]}/readyz", timeout=2).status_code == 200:
                        pending.discard(svc)
            time.sleep(0.1)
        assert not pending, f"not ready: {pending}\n" + log_path.read_text()[-3000:]
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def run_env(tmp_path: Path, ports: dict, **extra) -> dict:
    env = dict(os.environ, **embedded_env(tmp_path / "var"), **extra)
    for name in ("PRIZE_PUBLIC_URL", "PRIZE_REVIEW_PUBLIC_URL", "PRIZE_NOTIFY_PUBLIC_URL"):
        env.pop(name, None)  # unset: they follow the ports
    env.update({f"PRIZE_{svc.upper()}_PORT": str(port) for svc, port in ports.items()})
    return env


@pytest.mark.e2e
def test_embedded_run_is_one_process_per_service_and_every_banner_link_answers(tmp_path, free_port):
    ports = {svc: free_port() for svc in SERVICES}
    log_path = tmp_path / "prize-run.log"
    with prize_run(run_env(tmp_path, ports), ports, log_path) as proc:
        tree = process_tree(proc.pid)
        # prize run itself and one process per service: no copy of prize run per child, no shell
        assert sorted(cmd.split(" ", 2)[-1] for pid, cmd in tree.items() if pid != proc.pid) == [
            f"serve {svc}" for svc in sorted(SERVICES)], tree
        assert len(tree) == 4, tree
        links = re.findall(r"^\s+(\w+)\s+(http://\S+/)\s", log_path.read_text(), re.M)
        assert [svc for svc, _ in links] == list(SERVICES)
        for svc, link in links:
            for path in ("", "docs", "readyz"):
                r = requests.get(link + path, timeout=10)
                assert r.status_code == 200, (link + path, r.status_code, r.text[:300])
                assert r.headers["Content-Type"].startswith("text/html" if path != "readyz" else "application/json")
            if svc != "intake":  # a page saying what the service is, linking to the secretariat's
                # pages, which go through intake's staff sign-in
                staff = {"review": "/secretariat", "notify": "/secretariat/outbox"}[svc]
                r = requests.get(link, timeout=10)
                assert not r.history and f'href="{staff}"' in r.text, svc
                r = requests.get(link + staff[1:], timeout=10)
                assert r.history and r.history[0].status_code == 302, svc
                assert r.url.startswith(f"http://127.0.0.1:{ports['intake']}/staff/signin"), r.url
        os.kill(proc.pid, signal.SIGTERM)  # honcho passes it on; every process ends
        assert proc.wait(timeout=20) is not None
        time.sleep(0.2)
        assert not [pid for pid in tree if os.path.exists(f"/proc/{pid}") and
                    "prize" in Path(f"/proc/{pid}/cmdline").read_text()], tree


@pytest.mark.e2e
def test_a_port_in_use_is_one_line_naming_its_variable(tmp_path, free_port):
    ports = {svc: free_port() for svc in SERVICES}
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", ports["review"]))
        holder.listen()
        env = run_env(tmp_path, ports)
        for argv in (["run"], ["web", "review"], ["serve", "review"]):
            done = subprocess.run([PRIZE, *argv], env=env, capture_output=True, text=True, timeout=60)
            lines = (done.stdout + done.stderr).strip().splitlines()
            assert done.returncode == 1, (argv, lines)
            assert lines == [f"prize: port {ports['review']} on 127.0.0.1 is in use (PRIZE_REVIEW_PORT, review): "
                             "stop what listens there or set PRIZE_REVIEW_PORT to a free port"], (argv, lines)
    assert not (tmp_path / "var" / "review.sqlite").exists()  # stopped before anything started


@pytest.mark.e2e
def test_split_run_keeps_gunicorn_and_its_servers_open_no_control_socket(tmp_path, free_port):
    ports = {svc: free_port() for svc in SERVICES}
    home, runtime = tmp_path / "home", tmp_path / "runtime"
    home.mkdir()
    runtime.mkdir()
    # where gunicorn ≥ 25.1 puts its control socket unless told otherwise: one path for every server
    env = run_env(tmp_path, ports, HOME=str(home), XDG_RUNTIME_DIR=str(runtime), PRIZE_WEB_WORKERS="1")
    with prize_run(env, ports, tmp_path / "prize-run.log", "--split") as proc:
        tree = process_tree(proc.pid)
        kinds = sorted(cmd.split(" ", 2)[-1] for pid, cmd in tree.items() if pid != proc.pid)
        # each gunicorn arbiter, its one worker, and each service's worker process
        assert kinds == sorted([f"web {svc}" for svc in SERVICES] * 2 + [f"worker {svc}" for svc in SERVICES]), tree
        sockets = [p for folder in (home, runtime, tmp_path / "var") for p in folder.rglob("*") if p.is_socket()]
        assert sockets == []


def test_gunicorn_server_turns_its_control_socket_off(tmp_path):
    server = gunicorn_server("notify", load_settings(embedded_env(tmp_path / "var")), "127.0.0.1", 8003, 2, 4)
    if "control_socket_disable" not in server.cfg.settings:
        pytest.skip("this gunicorn has no control socket (before 25.1)")
    assert server.cfg.control_socket_disable is True
    assert (server.cfg.workers, server.cfg.threads, server.cfg.worker_class_str) == (2, 4, "gthread")


def test_database_at_head_is_told_without_alembic_and_any_doubt_means_migrate(tmp_path):
    from sqlalchemy import text

    from services.processes import database_at_head
    from shared.db import make_engine
    from shared.migrations import upgrade
    url = f"sqlite:///{tmp_path / 'review.sqlite'}"
    assert database_at_head("review", url) is False  # nothing there yet
    upgrade("review", url)
    assert database_at_head("review", url) is True
    assert database_at_head("notify", url) is False  # no notify version table in it
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version_review SET version_num = '0001'"))
    engine.dispose()
    assert database_at_head("review", url) is False  # behind: Alembic brings it up


@pytest.mark.e2e
def test_a_keep_alive_connection_idle_for_seconds_still_answers(tmp_path, free_port):
    """A juror reads a page for a few seconds and clicks again on the same connection: gunicorn's
    default keep-alive (2 s) closed it meanwhile and the click was lost without an answer."""
    import http.client

    port = free_port()
    env = run_env(tmp_path, {"review": port})
    subprocess.run([PRIZE, "db", "upgrade", "--only", "review"], env=env, check=True, capture_output=True)
    server = subprocess.Popen([PRIZE, "web", "review", "--workers", "1", "--threads", "2"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError):
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            assert server.poll() is None and time.monotonic() < deadline, "prize web review did not start"
            time.sleep(0.2)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/healthz")
        first = conn.getresponse()
        first.read()
        assert first.status == 200 and not first.will_close
        time.sleep(3.5)  # longer than gunicorn's default keep-alive of 2 s
        conn.request("GET", "/healthz")  # on the same connection: http.client does not reconnect
        again = conn.getresponse()
        assert again.status == 200
        conn.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
