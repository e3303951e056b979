"""How the services run as processes: `prize run`'s supervisor, one service in one process (the
embedded stack's layout), the gunicorn server of `prize web`, and the check of a port in use.

`prize run` on the embedded stack starts one process per service (`prize serve SERVICE`): its web
app on a threaded WSGI server and its worker on threads beside it. With a broker of its own
(RabbitMQ, SQS), or with `prize run --split`, each web app runs under gunicorn and each worker as
a process of its own, as they run in production.
"""
from __future__ import annotations

import ast
import errno
import importlib
import logging
import os
import queue
import re
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import click

log = logging.getLogger("prize.run")


# --- a port in use: one line naming the variable ----------------------------------------------

def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on (host, port): binding as the servers do fails."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def port_in_use_line(service: str, host: str, port: int) -> str:
    variable = f"PRIZE_{service.upper()}_PORT"
    return (f"prize: port {port} on {host} is in use ({variable}, {service}): stop what listens there "
            f"or set {variable} to a free port")


def exit_if_ports_in_use(settings, services, port: int | None = None, host: str | None = None) -> None:
    """Stop with one line per port in use (naming PRIZE_<SERVICE>_PORT) before anything starts."""
    busy = [(svc, host or settings.hosts[svc], port or settings.ports[svc]) for svc in services]
    busy = [found for found in busy if port_in_use(found[1], found[2])]
    for svc, where, number in busy:
        click.echo(port_in_use_line(svc, where, number), err=True)
    if busy:
        raise SystemExit(1)


# --- prize run's supervisor -------------------------------------------------------------------

def supervisor(printer):
    """honcho's Manager, each child watched by a thread of this process (honcho forks a copy of
    the whole `prize run` process per child to do that: six copies of 67 MB on the old stack)."""
    from honcho.manager import Manager

    class ThreadedManager(Manager):
        def __init__(self, printer):
            super().__init__(printer)
            self.events = queue.Queue()

        def _start(self):
            for name, p in self._processes.items():
                p["process"] = threading.Thread(target=p["obj"].run, args=(self.events, False),
                                                name=f"watch-{name}", daemon=True)
                p["process"].start()

    return ThreadedManager(printer)


# --- one service, web app and worker, in one process ------------------------------------------

def serve(service: str, settings, host: str, port: int, migrate: bool) -> int:
    """Run a service's web app (werkzeug's threaded server) and its worker (on threads) in this
    process until SIGTERM or SIGINT, or until either of them stops; the exit code says which."""
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel("WARNING")  # no access log, as under gunicorn
    if migrate and not database_at_head(service, settings.database_url(service)):
        logging.getLogger("alembic").setLevel("WARNING")  # as quiet as `prize run` was when it migrated
        from shared.migrations import upgrade
        upgrade(service, settings.database_url(service))
        logging.getLogger("alembic").setLevel(logging.NOTSET)
    module = importlib.import_module(f"services.{service}.app")
    app, worker = module.create_app(settings=settings), module.create_worker(settings=settings)
    try:
        server = make_server(host, port, app, threaded=True)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        click.echo(port_in_use_line(service, host, port), err=True)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threads = [threading.Thread(target=_logged(server.serve_forever, service, "web"), name=f"{service}-web"),
               threading.Thread(target=_logged(worker.run, service, "worker"), name=f"{service}-worker")]
    for t in threads:
        t.start()
    log.info("%s: web app on http://%s:%s/ and worker in one process", service, host, port)
    while not stop.wait(0.2) and all(t.is_alive() for t in threads):
        pass
    failed = not stop.is_set()
    if failed:
        log.error("%s: %s stopped; stopping the service", service,
                  " and ".join(t.name for t in threads if not t.is_alive()))
    server.shutdown()
    worker.stop()
    for t in threads:
        t.join(timeout=15)
    server.server_close()
    return 1 if failed else 0


REVISION = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.M)


def database_at_head(service: str, url: str) -> bool:
    """Whether the service's database is at its newest migration, told without importing Alembic
    (a third of a second of CPU, and its memory, in each process of every start): the one head of
    the migration files against the database's version table. In any doubt False: Alembic decides."""
    try:
        folder = Path(importlib.import_module(f"services.{service}").__file__).parent / "migrations" / "versions"
        revisions, parents = set(), set()
        for path in folder.glob("*.py"):
            found = dict(REVISION.findall(path.read_text(encoding="utf-8")))
            revisions.add(ast.literal_eval(found["revision"]))
            down = ast.literal_eval(found.get("down_revision", "None"))
            parents.update(down if isinstance(down, (tuple, list)) else [down] if down else [])
        heads = revisions - parents
        if len(heads) != 1:
            return False
        from sqlalchemy import text

        from shared.db import make_engine
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                versions = [row[0] for row in conn.execute(text(f"SELECT version_num FROM alembic_version_{service}"))]
        finally:
            engine.dispose()
        return versions == sorted(heads)
    except Exception:
        return False


def _logged(run, service: str, part: str):
    def target():
        try:
            run()
        except Exception:
            log.exception("%s: the %s failed", service, part)
    return target


# --- one service's web app under gunicorn -----------------------------------------------------

KEEPALIVE_SECONDS = 75


def gunicorn_server(service: str, settings, host: str, port: int, workers: int, threads: int):
    """The gunicorn application of `prize web`: gthread workers, no access log, and no control
    socket (gunicorn ≥ 25.1 opens one at the same path for every server of a user, unless told)."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("accesslog", None)
            self.cfg.set("graceful_timeout", 10)
            # An idle keep-alive connection stays open longer than clients and load balancers keep
            # theirs (gunicorn's 2 s closes one just as a juror clicks again: the request is lost
            # with "Remote end closed connection without response").
            self.cfg.set("keepalive", KEEPALIVE_SECONDS)
            self.cfg.set("proc_name", f"prize-{service}-web")
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self):
            return importlib.import_module(f"services.{service}.app").create_app(settings=settings)

    return Server()


def say_when_ready(settings, services, say, started: float, within: float = 120.0) -> threading.Thread:
    """Watch each service's /readyz from a thread and, once all answer 200, ``say`` one line with
    the address to open and the next command: the banner has scrolled away under the services'
    start-up logs by then. Says nothing if they are not ready ``within`` seconds."""
    def ready(service: str) -> bool:
        return answers_ok(f"http://{_reachable(settings.hosts[service])}:{settings.ports[service]}/readyz")

    def watch() -> None:
        pending = list(services)
        while pending and time.monotonic() - started < within:
            pending = [s for s in pending if not ready(s)]
            if pending:
                time.sleep(0.25)
        if not pending:
            say(f"ready after {time.monotonic() - started:.1f} s: open {settings.service_url(services[0])}/ "
                f"- next, in a second shell here: {prize_command()} demo")

    thread = threading.Thread(target=watch, name="prize-ready", daemon=True)
    thread.start()
    return thread


def _reachable(host: str) -> str:
    """Where to reach a server listening on ``host`` from this machine."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"[{host}]" if ":" in host else host


def answers_ok(url: str) -> bool:
    """Whether ``url`` answers 200 within 2 s (a service's /readyz or /healthz)."""
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def prize_command() -> str:
    """How this shell runs prize: the path it was started by (.venv/bin/prize), or plain prize."""
    started = sys.argv[0] if sys.argv and sys.argv[0].endswith("prize") else ""
    if started and os.path.isabs(started) and started.startswith(os.getcwd() + os.sep):
        return os.path.relpath(started)
    return started if started and os.sep in started else "prize"
