"""`make bench`: throughput and latency figures, each beside a baseline measured in the same run.

    .venv/bin/python -m bench            # the full run (about 3 minutes on 2 cores)
    .venv/bin/python -m bench --quick    # smaller N, about a minute
    .venv/bin/python -m bench --only 1,3
    .venv/bin/python -m bench --only 6,7   # pure Python: needs no servers
    .venv/bin/python -m bench --only 8     # needs PostgreSQL only
    .venv/bin/python -m bench --only 9     # the deadline hour with locust (pip install '.[bench]')
    .venv/bin/python -m bench --only 10    # the embedded stack: needs no servers

Figures (see the modules beside this file for exactly what is timed):
 1. full-path throughput on RabbitMQ + PostgreSQL: outbox → OutboxRelay + Publisher → RabbitMQ →
    EventConsumer + InboxDispatcher + review's handlers; baseline: raw kombu, publish with
    confirms one by one, then consume with manual ack.            target ≥ 1.0x baseline
 2. submission → acknowledgement email latency over real HTTP (intake web under gunicorn, intake
    and notify workers as processes, SMTP to a recording server), 20 submissions/s for 15 s;
    baseline: one bare smtplib send to the same server.   target p50 ≤ 50 ms, p99 ≤ 250 ms
    and notify's worker CPU per email (its process, from /proc) beside a bare loop in the same run
    (render the same cached template + build the message + smtplib send + one insert).
                                                                  target ≤ 3x that loop
 3. the embedded SQLite kombu transport draining a 20,000-event backlog with acks; baseline:
    kombu's own SQLAlchemy transport on SQLite.                   target ≥ 500 events/s
 4. deadline burst on PostgreSQL: POST /api/applications/<id>/submit on `prize web intake` (auth,
    rules, state change, outbox row) from 16 keep-alive clients; baseline: a bare Flask endpoint
    validating the same fields with marshmallow and inserting one ORM row, same gunicorn settings,
    rounds alternating; p50/p99 beside it (no intake worker: the outbox rows wait). The bare
    endpoint does about half the work (no auth, no rules, no state change, no outbox row), so the
    target is half its rate (issue 16 withdrew the earlier ≥ 1.0x).  target ≥ 0.5x baseline
 5. a 500 MB document upload leaves intake's memory where it was: `prize web intake` with
    PRIZE_STORAGE_URL=s3:// on a moto server process; the file streamed from disk to the
    presigned POST, intake's check hashing it from S3, a presigned download; RSS of the gunicorn
    process tree sampled every 50 ms; baseline: the RSS before (warm); the check's read+hash
    beside a bare boto3 one.                                      target growth ≤ 5 MB
 6. review's ranking, pure Python in the bench process: scoring.aggregate with per-juror
    normalisation plus Krippendorff's alpha over 10,000 applications × 3 reviews × 6 criteria;
    baseline: a plain mean per application over the same reviews.  target ≤ 1 s
 7. review's juror assignment, pure Python: assignment.assign of 2,400 applications × k=3 among
    50 jurors with conflicts (40 countries, shared organisations and email domains, declared
    ones, some max loads); baseline: a greedy round-robin skipping conflicted jurors, ignoring
    balance and expertise.                                        target ≤ 2 s
 8. the juror's assignment page: GET /api/jury/assignments (JSON) and GET /jury (the HTML page, when
    review serves it to a bearer token) on `prize web review` (gunicorn 2×4, PostgreSQL), each of 16
    keep-alive clients a juror with exactly 60 assignments among 2,400 applications, 50 jurors,
    conflicts and an open finalist round; baseline: GET /healthz on the same server, same load.
                                                                  target p99 ≤ 3x /healthz's p99
    (a ratio, which survives a slow day; the absolute 50 ms of a good day is printed as information)
 9. the deadline hour replayed with locust (bench/deadline.py, bench/deadline_locust.py): 240
    signed-in applicants autosaving every 10 s (PATCH /api/applications/<id>, as portal.js), two
    documents each through the presigned upload, all submitting in the hour's last stretch, while
    16 jurors browse /jury and their assignments; `prize web intake`/`review` and the intake,
    review and notify workers as processes on PostgreSQL + RabbitMQ, SMTP to a recording server.
    The hour is compressed 20x into 180 s, its last 5 minutes into the last 15 s (16 submissions/s);
    --quick compresses the hour 60x into 60 s with the same 15 s burst. The autosave period stays
    the real 10 s. Printed with the machine's load average.
                                        target every request type's p99 ≤ 250 ms, 0 errors,
                                        every submission acknowledged by exactly one email
10. the embedded stack as `make run` starts it: `prize run` in a fresh folder timed to every
    service's /readyz answering 200 (migrations included), then idle for 5 s: its processes
    counted, their RSS and PSS (smaps_rollup) summed; baseline: the old layout (bench/old_run.py:
    migrations in `prize run`, honcho forking a copy of it per child, gunicorn 2 workers and a
    worker process per service) in the same run.       target ≤ 5 s, PSS ≤ 300 MB

Every measurement uses its own broker namespace and fresh PostgreSQL databases, and removes
them afterwards. RabbitMQ and PostgreSQL must be running for figures 1-5 and 9 (PRIZE_TEST_RABBITMQ_URL and
PRIZE_TEST_POSTGRES_URL override the defaults, as for the tests); 6 and 7 need neither; 8 needs
PostgreSQL only; 10 neither.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time

from bench.common import Row, load_note, print_table, quiet_logs, reachable, require_servers, say

FULL = {"throughput_n": 5000, "throughput_rounds": 3, "latency_rate": 20.0, "latency_seconds": 15.0,
        "embedded_backlog": 20000, "sqla_backlog": 2000, "submit_n": 3000, "submit_rounds": 3,
        "upload_mb": 500, "ranking_apps": 10000, "assignment_apps": 2400, "assignment_jurors": 50,
        "jury_page_n": 6000, "jury_page_seconds": 15.0, "jury_page_rounds": 3,
        "deadline_applicants": 240, "deadline_jurors": 16, "deadline_hour_s": 180.0, "deadline_window_s": 15.0}
QUICK = {"throughput_n": 1000, "throughput_rounds": 1, "latency_rate": 20.0, "latency_seconds": 5.0,
         "embedded_backlog": 5000, "sqla_backlog": 500, "submit_n": 1000, "submit_rounds": 2,
         "upload_mb": 100, "ranking_apps": 10000, "assignment_apps": 2400, "assignment_jurors": 50,
         "jury_page_n": 1500, "jury_page_seconds": 5.0, "jury_page_rounds": 1,
         "deadline_applicants": 240, "deadline_jurors": 16, "deadline_hour_s": 60.0, "deadline_window_s": 15.0}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller N: a minute instead of a few")
    parser.add_argument("--only", default="1,2,3,4,5,6,7,8,9,10",
                        help="comma-separated figures to run (default 1,2,3,4,5,6,7,8,9,10)")
    args = parser.parse_args(argv)
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    sizes = QUICK if args.quick else FULL

    quiet_logs()
    if only & {"1", "2", "3", "4", "5", "9"}:
        require_servers()
    elif "8" in only and not reachable("127.0.0.1", 5432):
        raise SystemExit("bench: not reachable: PostgreSQL at 127.0.0.1:5432 (start it with: pg_ctlcluster "
                         "--skip-systemctl-redirect $(ls /etc/postgresql) main start)")
    say(f"Seoul Smart City Prize bench ({'quick' if args.quick else 'full'} run) on {platform.node()}: "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}")
    started = time.monotonic()
    rows: list[Row] = []
    if "1" in only:
        from bench import throughput as bench_throughput
        say(f"\n[{load_note()}]")
        rows += bench_throughput.run(sizes["throughput_n"], sizes["throughput_rounds"])
    if "2" in only:
        from bench import latency as bench_latency
        say(f"\n[{load_note()}]")
        rows += bench_latency.run(sizes["latency_rate"], sizes["latency_seconds"])
    if "3" in only:
        from bench import embedded as bench_embedded
        say(f"\n[{load_note()}]")
        rows += bench_embedded.run(sizes["embedded_backlog"], sizes["sqla_backlog"])
    if "4" in only:
        from bench import submit as bench_submit
        say(f"\n[{load_note()}]")
        rows += bench_submit.run(sizes["submit_n"], sizes["submit_rounds"])
    if "5" in only:
        from bench import upload as bench_upload
        say(f"\n[{load_note()}]")
        rows += bench_upload.run(sizes["upload_mb"])
    if "6" in only:
        from bench import review as bench_review
        say(f"\n[{load_note()}]")
        rows += bench_review.run_ranking(sizes["ranking_apps"])
    if "7" in only:
        from bench import review as bench_review
        say(f"\n[{load_note()}]")
        rows += bench_review.run_assignment(sizes["assignment_apps"], sizes["assignment_jurors"])
    if "8" in only:
        from bench import jury_page as bench_jury_page
        say(f"\n[{load_note()}]")
        rows += bench_jury_page.run(sizes["jury_page_n"], sizes["jury_page_seconds"], sizes["jury_page_rounds"])
    if "9" in only:
        from bench import deadline as bench_deadline
        say(f"\n[{load_note()}]")
        rows += bench_deadline.run(sizes["deadline_applicants"], sizes["deadline_jurors"],
                                   sizes["deadline_hour_s"], sizes["deadline_window_s"])
    if "10" in only:
        from bench import embedded_stack as bench_embedded_stack
        say(f"\n[{load_note()}]")
        rows += bench_embedded_stack.run(with_split=not args.quick)

    say(f"\n== Summary ({'quick' if args.quick else 'full'} run, {time.monotonic() - started:.0f} s; "
        f"{load_note()}) ==")
    print_table(rows)
    targets = [r for r in rows if r.met is not None]
    missed = [r for r in targets if not r.met]
    say(f"\n{len(targets) - len(missed)} of {len(targets)} targets met" +
        (": missed " + "; ".join(r.figure.strip() for r in missed) if missed else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
