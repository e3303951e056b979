"""Figure 10: the embedded stack as `make run` starts it, its cold start and its idle memory.

`prize run` with the embedded defaults in a fresh folder (every database created and migrated on
the way), timed from the command's start until the /readyz of all three services answers 200.
Then, after IDLE_SECONDS of nothing, the processes of its tree are counted and their memory
summed: RSS, and PSS from /proc/<pid>/smaps_rollup (a page shared by n processes counts 1/n,
so the sum is what the stack costs the machine).

Baseline: the previous way, bench/old_run.py (migrations in the `prize run` process, honcho
forking a copy of it per child, gunicorn with 2 workers and a worker process per service),
measured in the same run. For information: a second start on the same folder (nothing left to
migrate) and `prize run --split`, the layout kept for RabbitMQ and SQS (gunicorn and worker
processes) with honcho's children watched by threads. Targets: cold start ≤ 5 s, idle PSS ≤ 300 MB.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from .common import Row, free_port, prize_command, say, tree_cpu

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("intake", "review", "notify")
IDLE_SECONDS = 5.0
# measured on the old layout by the session that filed the issue, on a loaded 2-core machine
ISSUE_FIGURES = "19 s to healthy, 26 processes, 1,215 MB RSS, 645 MB PSS"


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                with open(f"/proc/{entry}/stat") as fh:
                    children.setdefault(int(fh.read().rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in kB, from /proc/<pid>/smaps_rollup."""
    rss = pss = 0
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            name, _, rest = line.partition(":")
            if name == "Rss":
                rss = int(rest.split()[0])
            elif name == "Pss":
                pss = int(rest.split()[0])
    return rss, pss


def _command(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as fh:
        words = fh.read().split(b"\0")
    return " ".join(Path(w.decode()).name if i < 2 else w.decode() for i, w in enumerate(words) if w)


def _wait_ready(proc, ports: dict, log: Path, started: float, limit: float = 120.0) -> float:
    """Seconds from STARTED until every service's /readyz answers 200."""
    pending = set(ports)
    while pending:
        if proc.poll() is not None or time.monotonic() - started > limit:
            raise RuntimeError(f"not ready: {sorted(pending)}\n" + log.read_text(errors="replace")[-2000:])
        for svc in list(pending):
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"http://127.0.0.1:{ports[svc]}/readyz", timeout=1).status_code == 200:
                    pending.discard(svc)
        time.sleep(0.02)
    return time.monotonic() - started


def measure(argv: list[str], folder: Path, name: str) -> dict:
    """Start ARGV in FOLDER (its var/ kept between calls), time it to healthy, measure it idle, stop it."""
    ports = {svc: free_port() for svc in SERVICES}
    env = dict(os.environ, PRIZE_VAR_DIR=str(folder / "var"), PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1",
               **{f"PRIZE_{svc.upper()}_PORT": str(port) for svc, port in ports.items()})
    for variable in [v for v in env if v.startswith("PRIZE_") and v.endswith(("_URL", "_WORKERS"))]:
        del env[variable]  # the embedded defaults, as `make run` has them
    log = folder / f"{name}.log"
    started = time.monotonic()
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, env=env, cwd=folder, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        ready = _wait_ready(proc, ports, log, started)
        cpu = tree_cpu(proc.pid)  # what starting cost, whatever else the machine was doing
        time.sleep(IDLE_SECONDS)
        memory = {}
        for pid in _tree(proc.pid):
            with contextlib.suppress(OSError):
                memory[pid] = (_command(pid), *_memory_kb(pid))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return {"start": ready, "cpu": cpu, "procs": len(memory), "rss": sum(m[1] for m in memory.values()) / 1024,
            "pss": sum(m[2] for m in memory.values()) / 1024, "memory": memory}


def _report(label: str, found: dict) -> None:
    say(f"  {label}: {found['start']:.1f} s to healthy ({found['cpu']:.1f} CPU seconds); idle: {found['procs']} processes, "
        f"{found['rss']:,.0f} MB RSS, {found['pss']:,.0f} MB PSS")
    counted: dict[str, list] = {}
    for command, rss, pss in found["memory"].values():
        entry = counted.setdefault(command, [0, 0, 0])
        entry[0], entry[1], entry[2] = entry[0] + 1, entry[1] + rss, entry[2] + pss
    for command, (n, rss, pss) in sorted(counted.items(), key=lambda item: -item[1][2]):
        say(f"      {n} × {command[:70]:<70} {rss / 1024:6.0f} MB RSS {pss / 1024:6.0f} MB PSS")


def _rows(new: dict, old: dict, again: dict | None, split: dict | None) -> list[Row]:
    label = "(old layout)"
    rows = [Row("10. embedded stack: cold start to all healthy", new["start"], "s", old["start"], label,
                new["start"] / old["start"], "≤ 5 s", new["start"] <= 5.0),
            Row("10. embedded stack: idle PSS, whole process tree", new["pss"], "MB", old["pss"], label,
                new["pss"] / old["pss"], "≤ 300 MB", new["pss"] <= 300.0),
            Row("    embedded stack: CPU seconds to all healthy", new["cpu"], "s", old["cpu"], label,
                new["cpu"] / old["cpu"]),
            Row("    embedded stack: idle RSS, whole process tree", new["rss"], "MB", old["rss"], label,
                new["rss"] / old["rss"]),
            Row("    embedded stack: processes", new["procs"], "processes", old["procs"], label, new["procs"] / old["procs"])]
    if again:
        rows.append(Row("    embedded stack: second start (nothing to migrate)", again["start"], "s"))
    if split:
        rows.append(Row("    prize run --split (gunicorn 2 workers): start", split["start"], "s"))
        rows.append(Row("    prize run --split: idle PSS", split["pss"], "MB"))
    return rows


def run(with_split: bool = True) -> list[Row]:
    say("\n== 9. The embedded stack as `make run` starts it: cold start to healthy, idle memory ==")
    say(f"  (the issue's figures for the old layout: {ISSUE_FIGURES})")
    folder = Path(tempfile.mkdtemp(prefix="prize-bench-stack-"))
    row = Row("10. embedded stack: cold start to all healthy", None, "s", target="≤ 5 s", met=False)
    try:
        runs = {}
        for name, argv in (("new", prize_command() + ["run"]), ("old", [sys.executable, "-m", "bench.old_run"]),
                           ("again", prize_command() + ["run"]), ("split", prize_command() + ["run", "--split"])):
            if name == "split" and not with_split:
                continue
            place = folder / ("new" if name == "again" else name)
            place.mkdir(exist_ok=True)
            runs[name] = measure(argv, place, name)
        _report("prize run (one process per service), fresh var/", runs["new"])
        _report("old layout (bench/old_run.py), fresh var/", runs["old"])
        _report("prize run again on the same var/", runs["again"])
        if "split" in runs:
            _report("prize run --split, fresh var/", runs["split"])
        return _rows(runs["new"], runs["old"], runs.get("again"), runs.get("split"))
    except Exception as exc:
        say(f"  FAILED: {type(exc).__name__}: {exc}")
        return [row]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
