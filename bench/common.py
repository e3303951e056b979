"""What every benchmark figure shares: servers, fresh databases and namespaces, the table."""
from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import sys
import time
import uuid
from dataclasses import dataclass, field

RABBITMQ_URL = os.environ.get("PRIZE_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
POSTGRES_ADMIN_URL = os.environ.get("PRIZE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def say(*parts) -> None:
    print(*parts, flush=True)


def load_note() -> str:
    """The machine's load average now: other work on a 2-core machine moves every figure."""
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return ""
    busy = " (the machine is busy with other work: expect noisy figures)" if one > 1.0 else ""
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min){busy}"


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def require_servers() -> None:
    missing = []
    if not reachable("127.0.0.1", 5672):
        missing.append("RabbitMQ at 127.0.0.1:5672 (start it with: rabbitmq-server -detached)")
    if not reachable("127.0.0.1", 5432):
        missing.append("PostgreSQL at 127.0.0.1:5432 (start it with: pg_ctlcluster --skip-systemctl-redirect "
                       "$(ls /etc/postgresql) main start)")
    if missing:
        raise SystemExit("bench: not reachable: " + "; ".join(missing))


def quiet_logs() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("alembic", "amqp", "kombu", "mail.log", "aiosmtpd"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # kombu warns "No hostname was supplied" for every sqlite:/// connection: noise here.
    logging.getLogger("kombu.connection").setLevel(logging.ERROR)


@contextlib.contextmanager
def worker_logging(service: str, path):
    """Log as ``prize worker`` does (JSON lines at INFO), but into a file instead of stderr."""
    from shared.logs import configure_logging
    root = logging.getLogger()
    noisy = ("amqp", "kombu", "botocore", "urllib3")
    saved = root.handlers[:], root.level, {name: logging.getLogger(name).level for name in noisy}
    configure_logging(service, "INFO")
    stream = open(path, "a", encoding="utf-8")
    root.handlers[0].setStream(stream)
    try:
        yield
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)
        stream.close()


def log_problems(path) -> tuple[int, str]:
    """How many WARNING or worse lines a JSON log file holds, and the first of them."""
    count, first = 0, ""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if '"level": "WARNING"' in line or '"level": "ERROR"' in line or '"level": "CRITICAL"' in line:
                    count += 1
                    first = first or line.strip()[:300]
    except OSError:
        pass
    return count, first


def new_namespace(prefix: str = "bench") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@contextlib.contextmanager
def namespace(prefix: str = "bench"):
    """Exchanges and queues of one measurement alone; deleted from RabbitMQ afterwards."""
    from tests.support.broker import delete_topology
    ns = new_namespace(prefix)
    try:
        yield ns
    finally:
        delete_topology(RABBITMQ_URL, ns)


def sqlalchemy_url(url: str) -> str:
    """postgresql://... → postgresql+psycopg://... (what shared.config does for PRIZE_* URLs)."""
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


@contextlib.contextmanager
def fresh_databases(names):
    """Fresh PostgreSQL databases (name → plain postgresql:// URL); dropped afterwards."""
    import psycopg
    suffix = uuid.uuid4().hex[:10]
    real = {name: f"prize_b{suffix}_{name}" for name in names}
    created = []
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            for db in real.values():
                conn.execute(f'CREATE DATABASE "{db}"')
                created.append(db)
        base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
        yield {name: f"{base}/{db}" for name, db in real.items()}
    finally:
        if created:
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
                for db in created:
                    conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def processes_cpu(predicate) -> float:
    """CPU seconds (user + system) used so far by the live processes whose command line matches."""
    total = 0.0
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return float("nan")
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
            if not predicate(cmdline):
                continue
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / _TICK
        except (OSError, ValueError, IndexError):
            continue
    return total


def tree_cpu(root_pid: int) -> float:
    """CPU seconds used so far by a live process and its live descendants (gunicorn's workers)."""
    parents, cpu = {}, {}
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return float("nan")
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            parents[pid] = int(fields[1])
            cpu[pid] = (int(fields[11]) + int(fields[12])) / _TICK
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0.0, [root_pid]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return total


def rabbitmq_cpu() -> float:
    """CPU seconds of the RabbitMQ node (the whole node: other users of it count too)."""
    return processes_cpu(lambda cmd: "rabbit boot" in cmd)


def postgres_cpu(database_names) -> float:
    """CPU seconds of the live PostgreSQL backends serving these databases."""
    names = tuple(database_names)
    return processes_cpu(lambda cmd: cmd.startswith("postgres:") and any(f" {n} " in cmd for n in names))


def percentile(values, q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


class Stopwatch:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


@dataclass
class Row:
    """One line of the summary: a figure beside its baseline from the same run."""
    figure: str
    value: float | None
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    ratio: float | None = None
    target: str = "-"
    met: bool | None = None           # None: no target for this line
    notes: list[str] = field(default_factory=list)

    def cells(self) -> list[str]:
        def num(v):
            if v is None:
                return "n/a"
            if abs(v) >= 100:
                return f"{v:,.0f}"
            return f"{v:,.1f}" if abs(v) >= 10 else f"{v:,.2f}"
        value = "FAILED" if self.value is None else f"{num(self.value)} {self.unit}"
        base = "n/a" if self.baseline is None else f"{num(self.baseline)} {self.unit} {self.baseline_label}".strip()
        ratio = "n/a" if self.ratio is None else f"{self.ratio:.2f}x"
        met = "-" if self.met is None and self.target == "-" else ("yes" if self.met else "NO")
        return [self.figure, value, base, ratio, self.target, met]


def print_table(rows: list[Row]) -> None:
    header = ["figure", "measured", "baseline (same run)", "ratio", "target", "met"]
    lines = [header] + [r.cells() for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    rule = "-+-".join("-" * w for w in widths)
    say(" | ".join(h.ljust(w) for h, w in zip(header, widths)))
    say(rule)
    for line in lines[1:]:
        say(" | ".join(c.ljust(w) for c, w in zip(line, widths)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prize_command() -> list[str]:
    """The ``prize`` script beside this interpreter (or the module when it is not installed)."""
    from pathlib import Path
    prize = Path(sys.executable).parent / "prize"
    return [str(prize)] if prize.exists() else [sys.executable, "-m", "services.cli"]


class ProcessGroup:
    """Subprocesses of one measurement, each logging to ``<folder>/<name>.log``."""

    def __init__(self, folder):
        import subprocess
        self._subprocess = subprocess
        self.folder = folder
        self.procs: dict = {}

    def start(self, name: str, argv: list[str], env: dict) -> None:
        with open(self.folder / f"{name}.log", "wb") as log:
            self.procs[name] = self._subprocess.Popen(argv, env=env, stdout=log,
                                                      stderr=self._subprocess.STDOUT, cwd=os.getcwd())

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of each process, with its children (gunicorn's workers)."""
        return {name: tree_cpu(proc.pid) for name, proc in self.procs.items()}

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 15) -> str:
        try:
            return "\n".join((self.folder / f"{name}.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except self._subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
