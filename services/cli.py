"""The ``prize`` command: run the services, migrate their databases, administer the prize."""
from __future__ import annotations

import atexit
import importlib
import os
import shlex
import shutil
import sys
import tempfile
import time

import click

from shared.config import SERVICES, ConfigError, load_settings
from shared.logs import configure_logging


def _settings():
    try:
        return load_settings()
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


def _service_module(service: str, name: str = "app"):
    return importlib.import_module(f"services.{service}.{name}")


def _services_option(value: str | None) -> list[str]:
    if not value:
        return list(SERVICES)
    chosen = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in SERVICES]
    if unknown:
        raise click.BadParameter(f"unknown service(s) {', '.join(unknown)}; choose from {', '.join(SERVICES)}")
    return chosen


@click.group()
def main():
    """Seoul Smart City Prize: intake, review and notify."""


@main.group()
def db():
    """Database migrations (Alembic, one history per service)."""


@db.command("upgrade")
@click.option("--only", help="comma-separated services (default: all)")
def db_upgrade(only):
    """Bring each service's database to the newest schema."""
    from shared.migrations import upgrade
    settings = _settings()
    for service in _services_option(only):
        upgrade(service, settings.database_url(service))
        click.echo(f"{service}: database at the newest schema")


@main.command()
@click.argument("service", type=click.Choice(SERVICES))
@click.option("--host", default=None, help="address to listen on (default PRIZE_<SERVICE>_HOST or 127.0.0.1)")
@click.option("--port", type=int, default=None, help="port (default PRIZE_<SERVICE>_PORT or 8001/8002/8003)")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="gunicorn worker processes (default PRIZE_WEB_WORKERS or 2)")
@click.option("--threads", type=click.IntRange(1, 64), default=None,
              help="threads per worker (default PRIZE_WEB_THREADS or 4)")
def web(service, host, port, workers, threads):
    """Serve one service's web app with gunicorn."""
    from services.processes import exit_if_ports_in_use, gunicorn_server

    settings = _settings()
    configure_logging(service, settings.log_level)
    host = host or settings.hosts[service]
    port = port or settings.ports[service]
    exit_if_ports_in_use(settings, [service], port=port, host=host)
    workers = workers or settings.web_workers
    threads = threads or settings.web_threads
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # /metrics adds up the workers' HTTP counts from files here (shared.web); set before
        # the workers start, which is when they first import prometheus_client
        metrics_dir = tempfile.mkdtemp(prefix=f"prize-{service}-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        atexit.register(shutil.rmtree, metrics_dir, ignore_errors=True)
    gunicorn_server(service, settings, host, port, workers, threads).run()


@main.command()
@click.argument("service", type=click.Choice(SERVICES))
@click.option("--host", default=None, help="address to listen on (default PRIZE_<SERVICE>_HOST or 127.0.0.1)")
@click.option("--port", type=int, default=None, help="port (default PRIZE_<SERVICE>_PORT or 8001/8002/8003)")
@click.option("--no-migrate", is_flag=True, help="skip bringing the service's database to the newest schema")
def serve(service, host, port, no_migrate):
    """Run one service's web app and worker in one process (what `prize run` starts on the
    embedded stack): a threaded web server and the worker's threads."""
    from services.processes import exit_if_ports_in_use, serve as serve_service

    settings = _settings()
    configure_logging(service, settings.log_level)
    host = host or settings.hosts[service]
    port = port or settings.ports[service]
    exit_if_ports_in_use(settings, [service], port=port, host=host)
    sys.exit(serve_service(service, settings, host, port, migrate=not no_migrate))


@main.command()
@click.argument("service", type=click.Choice(SERVICES))
def worker(service):
    """Run one service's worker: event consumer, outbox relay, timed jobs."""
    settings = _settings()
    configure_logging(service, settings.log_level)
    _service_module(service).create_worker(settings=settings).run()


@main.command("worker-health")
@click.argument("service", type=click.Choice(SERVICES))
@click.option("--max-age", type=click.FloatRange(0.1, None), default=None,
              help="seconds after which the heartbeat is stale (default 30)")
def worker_health(service, max_age):
    """Exit 0 if SERVICE's worker on this machine is alive (its heartbeat is fresh), 1 if not:
    the health check of a worker container or pod."""
    from shared.heartbeat import MAX_AGE_SECONDS, check, heartbeat_path
    alive, why = check(heartbeat_path(_settings().var_dir, service), max_age or MAX_AGE_SECONDS)
    click.echo(f"{service} worker: {'alive' if alive else 'not alive'}; {why}", err=not alive)
    sys.exit(0 if alive else 1)


@main.command()
@click.option("--only", help="comma-separated services to run (default: all)")
@click.option("--no-migrate", is_flag=True, help="skip 'prize db upgrade' before starting")
@click.option("--split/--combined", default=None,
              help="each web app under gunicorn and each worker as a process of its own (the default "
                   "with RabbitMQ or SQS), or each service's web app and worker in one process (the "
                   "default on the embedded stack)")
def run(only, no_migrate, split):
    """Run the services: on the embedded stack one process per service, else each web app
    (gunicorn) and worker as its own process; honcho prints their output."""
    from honcho.printer import Printer

    from services.processes import exit_if_ports_in_use, say_when_ready, supervisor

    started = time.monotonic()
    services = _services_option(only)
    settings = _settings()
    exit_if_ports_in_use(settings, services)
    split = not settings.embedded if split is None else split
    command = [sys.argv[0]] if sys.argv[0].endswith("prize") else [sys.executable, "-m", "services.cli"]
    if split and not no_migrate:  # in a process of its own: this one stays small while it watches
        import subprocess
        if subprocess.run([*command, "db", "upgrade", "--only", ",".join(services)]).returncode:
            sys.exit(1)
    if settings.storage_url.startswith("file://"):
        os.makedirs(settings.storage_url[len("file://"):], exist_ok=True)

    prize = " ".join(shlex.quote(part) for part in command)
    manager = supervisor(Printer(sys.stdout))
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    for service in services:  # exec: the shell honcho starts becomes the service's process
        if split:
            manager.add_process(f"{service}-web", f"exec {prize} web {service}", env=env)
            manager.add_process(f"{service}-worker", f"exec {prize} worker {service}", env=env)
        else:
            manager.add_process(service, f"exec {prize} serve {service}" + (" --no-migrate" if no_migrate else ""),
                                env=env)
    _banner(settings, services)
    say_when_ready(settings, services, lambda line: (click.echo(line), sys.stdout.flush()), started)
    manager.loop()
    sys.exit(manager.returncode)


WHAT_EACH_SERVES = {"intake": "the applicant portal; staff sign in at /staff/signin",
                    "review": "the jurors' pages and the secretariat's review",
                    "notify": "the emails: the secretariat's outbox and templates"}


def _banner(settings, services) -> None:
    from services.processes import prize_command
    click.echo("Seoul Smart City Prize")
    for service in services:
        click.echo(f"  {service:<7} {settings.service_url(service)}/  {WHAT_EACH_SERVES[service]}")
    click.echo("          (each also answers /docs, its API, and /readyz, its health)")
    click.echo(f"  broker  {settings.broker_url}")
    click.echo(f"  mail    {settings.mail_url}")
    click.echo(f"Next, in a second shell here: {prize_command()} demo  (a sample edition, and a sign-in link "
               "for each person to be)")
    sys.stdout.flush()


@main.group()
def dlq():
    """Dead-letter queues: messages a service could not handle after its retries."""


@dlq.command("list")
@click.argument("service", type=click.Choice(SERVICES))
@click.option("--limit", type=int, default=100, show_default=True)
def dlq_list(service, limit):
    """One line per dead letter: event id, type, attempts, error."""
    from shared.dlq import peek
    from shared.topology import queue_kind
    settings = _settings()
    letters = peek(settings.broker_url, service, settings.namespace, limit, kind=queue_kind(settings))
    if not letters:
        click.echo(f"{service}: no dead letters")
    for letter in letters:
        # One line per letter and nothing personal: the error's class and first line, with SQL,
        # its parameters and addresses taken out (`prize dlq show` has the letter in full).
        kind = "(undecodable)" if letter.undecodable else _one_line(letter.type or "-")
        replays = f" replays={letter.replays}" if letter.replays else ""
        click.echo(f"{_one_line(str(letter.event_id or '-'))}  {kind:<24} attempts={letter.attempts}"
                   f"{replays}  {letter.summary()}")


def _one_line(text: str) -> str:
    return " ".join(text.split())[:80]


@dlq.command("show")
@click.argument("service", type=click.Choice(SERVICES))
@click.option("--limit", type=int, default=10, show_default=True)
def dlq_show(service, limit):
    """Dead letters in full, as JSON."""
    import dataclasses
    import json as _json

    from shared.dlq import peek
    from shared.topology import queue_kind
    settings = _settings()
    letters = peek(settings.broker_url, service, settings.namespace, limit, kind=queue_kind(settings))
    if not letters:
        click.echo(f"{service}: no dead letters")
    for letter in letters:
        click.echo(_json.dumps(dataclasses.asdict(letter), indent=2, ensure_ascii=False, default=str))


@dlq.command("replay")
@click.argument("service", type=click.Choice(SERVICES))
@click.option("--limit", type=int, default=None, help="at most this many (default: all)")
@click.option("--id", "event_id", default=None, help="only the dead letter of this event id")
def dlq_replay(service, limit, event_id):
    """Send dead letters back to the service's queue, with their attempts reset.

    A run takes at most the letters the queue held when it started and sends each back once:
    a letter that fails again while the run goes on stays for the next run, counted as left."""
    from shared.dlq import replay
    from shared.topology import dead_letter_queue_name, queue_kind, queue_name
    settings = _settings()
    done = replay(settings.broker_url, service, settings.namespace, limit, event_id, kind=queue_kind(settings))
    again = f" ({done.again} of them sent back by this run and failed again)" if done.again else ""
    click.echo(f"{service}: {done.found} found, {done.sent_back} dead letter(s) sent back to "
               f"{queue_name(service, settings.namespace)}; {done.left} left in "
               f"{dead_letter_queue_name(service, settings.namespace)}{again}")
    if event_id and not done.sent_back:
        click.echo(f"{service}: no dead letter of event {event_id} among the {done.found} found")


@main.command()
@click.argument("role", type=click.Choice(["secretariat"]))
@click.option("--name", default=None, help="the operator it is for, recorded with what it does "
                                           "(default: your login name)")
@click.option("--hours", type=click.IntRange(1, 12), default=12, show_default=True, help="how long it works")
def token(role, name, hours):
    """Print an operator's bearer token for the secretariat's API and pages (expires; staff use
    their own sign-in and personal tokens instead)."""
    import getpass

    from shared.auth import issue_token
    name = (name or getpass.getuser() or "operator").strip()
    click.echo(issue_token(_settings().secret_key, role, name, hours=hours))
    click.echo(f"token: for operator {name}, expires in {hours} hour(s)", err=True)


@main.group()
def staff():
    """The secretariat's staff: the first administrator, and the list."""


@staff.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "secretariat", "jury_chair", "observer"]), required=True)
@click.option("--name", required=True, help="the person's name, as pages and audit records show it")
@click.option("--language", default="en", show_default=True, help="the language of their emails")
def staff_add(email, role, name, language):
    """Add a staff member (the first admin; afterwards admins invite people on /secretariat/staff).
    They sign in with their address at intake's /staff/signin."""
    import getpass

    from shared.migrations import upgrade
    from shared.refusals import Refused
    from services.intake.ops import staff as staff_ops
    settings = _settings()
    upgrade("intake", settings.database_url("intake"))
    app = _service_module("intake").create_app(settings=settings)
    try:
        added = staff_ops.add_member(app.extensions["prize"]["db"], email, name, role, language,
                                     f"operator {getpass.getuser() or 'operator'}")
    except Refused as exc:
        click.echo(f"staff add: {exc.message}", err=True)
        sys.exit(1)
    finally:
        app.extensions["prize"]["db"].dispose()
    click.echo(f"staff: {added['name']} <{added['email']}> added as {added['role']}; sign in at "
               f"{settings.public_url}/staff/signin")


@staff.command("list")
def staff_list():
    """Every staff member, their role and whether they are active."""
    from services.intake.ops import staff as staff_ops
    settings = _settings()
    app = _service_module("intake").create_app(settings=settings)
    try:
        for m in staff_ops.members(app.extensions["prize"]["db"]):
            click.echo(f"{m['email']}\t{m['name']}\t{m['role']}\t{'active' if m['active'] else 'deactivated'}")
    finally:
        app.extensions["prize"]["db"].dispose()


from services.demo_cli import demo as _demo  # noqa: E402  (its own module: it spans intake and review)
main.add_command(_demo)


from services.mail_cli import mail as _mail  # noqa: E402
main.add_command(_mail)


if __name__ == "__main__":
    main()
