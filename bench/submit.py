"""Figure 4: deadline burst, the submit path of intake against a bare Flask insert, on PostgreSQL.

Measured: ``POST /api/applications/<id>/submit`` on ``prize web intake`` (gunicorn, gthread,
PRIZE_WEB_WORKERS=2 × PRIZE_WEB_THREADS=4, a fresh PostgreSQL database): bearer-token auth,
one read of the draft with its call, applicant, deadline exception and verified documents,
intake's submission rules (call open, draft complete), and one guarded write that changes the
state and adds the application.submitted outbox row (services/intake/submission.py). No intake worker runs: the outbox rows just wait
(nothing is published), so only the web request is timed.

Baseline: ``bare_app()`` below, a Flask app with one endpoint that validates the same
application fields (title, summary, answers per criterion, location, start date, budget,
partners) with a marshmallow schema and inserts one row per request with the SQLAlchemy ORM
into its own fresh PostgreSQL database (a plain ``create_engine``: no pool pre-ping, no logging),
served by gunicorn with the same workers, threads and
worker class (a BaseApplication configured like ``prize web``).

Target: the submit path at ≥ 0.5x the bare endpoint's requests/s in the same run (issue 16,
"Figure 4, decided": the bare endpoint does about half the work, so the earlier ≥ 1.0x is
withdrawn). The deadline as users feel it is figure 9 (bench/deadline.py), the hour replayed.

The drafts are prepared before the clock starts, straight into intake's database with its ORM
models: an open call, one applicant and one complete draft each (every criterion answered
within its word limit, the project facts, a verified required document), and a signed bearer
token per applicant (shared.auth.issue_token). Load: 16 client threads, each with its own
keep-alive connection (http.client), each sending its own share of the requests as fast as
answers come back (closed loop). Rounds alternate baseline, submit path, baseline, ...; the
figure is the median round (p50/p99 over every round's requests). The submit request has no
body (intake checks the stored draft); the baseline's carries the application as JSON (about
5 KB). Afterwards: every draft submitted exactly once, exactly one
application.submitted outbox row per draft, every baseline request one row.

    .venv/bin/python -m bench.submit --profile 300
        # where the submit path spends its time: in-process, one thread, cProfile and SQL timing
"""
from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import JSON, DateTime, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .common import (ProcessGroup, free_port, prize_command, RABBITMQ_URL, Row, fresh_databases, namespace, percentile, postgres_cpu,
                           say, sqlalchemy_url, tree_cpu)

CLIENTS = 16
# The target (issue 16, "Figure 4, decided"): ≥ 0.5x the bare endpoint, which does half the work
# (no auth, no rules, no outbox row); the ≥ 1.0x of earlier notes is withdrawn.
TARGET_RATIO = 0.5
WORKERS = 2
THREADS = 4
WARMUP_PER_CLIENT = 2
SECRET = "bench-submit-secret"
CATEGORY = "tech_innovacity"
REQUIRED_DOCUMENT = {"key": "application_form", "title": "Application form (PDF)", "required": True}
WORDS = ("smart crossings adaptive signals school routes safer streets sensors data citizens "
         "mobility Seoul 高雄 São Paulo Beyoğlu budget pilot district partners evaluation").split()


# --- the payload ---------------------------------------------------------------------------

def _word_limit(criterion: dict, default: int = 500) -> int:
    """A criterion's word limit, whatever intake calls it (word_limit, max_words, words...)."""
    for key, value in criterion.items():
        if "word" in key.lower() and isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return default


def _text(words: int, seed: int) -> str:
    return " ".join(WORDS[(seed + i) % len(WORDS)] for i in range(words))


def application_fields(i: int, criteria: list[dict]) -> dict:
    """One complete application: every criterion answered within its limit, the project facts."""
    answers = {c["key"]: _text(max(1, min(_word_limit(c), 120)), i + n) for n, c in enumerate(criteria)}
    return {"title": f"Smart crossings {i}", "summary": _text(60, i), "answers": answers,
            "location": "Seoul, Republic of Korea", "start_date": "2026-09-01",
            "budget": "KRW 1,200,000,000", "partners": "Seoul Metropolitan Government; KAIST; 고려대학교"}


# --- the baseline: a bare Flask endpoint -----------------------------------------------------

def bare_app():
    """marshmallow validation + one ORM insert per request, nothing else (no auth, no outbox)."""
    from flask import Flask, jsonify, request
    from marshmallow import Schema, ValidationError, fields, validate
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    class ApplicationIn(Schema):
        title = fields.String(required=True, validate=validate.Length(min=1, max=300))
        summary = fields.String(required=True, validate=validate.Length(min=1, max=5000))
        answers = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=50)),
                              values=fields.String(validate=validate.Length(max=20000)), required=True)
        location = fields.String(required=True, validate=validate.Length(min=1, max=300))
        start_date = fields.Date(required=True)
        budget = fields.String(required=True, validate=validate.Length(min=1, max=100))
        partners = fields.String(load_default="", validate=validate.Length(max=5000))

    engine = create_engine(sqlalchemy_url(os.environ["BENCH_BARE_DATABASE_URL"]))
    sessions = sessionmaker(engine, expire_on_commit=False)
    schema = ApplicationIn()
    app = Flask("bare")

    @app.post("/applications")
    def create():
        try:
            data = schema.load(request.get_json())
        except ValidationError as exc:
            return jsonify(errors=exc.messages), 422
        row = BareApplication(id=str(uuid.uuid4()), created_at=datetime.now(timezone.utc),
                              **dict(data, start_date=data["start_date"].isoformat()))
        with sessions() as s, s.begin():
            s.add(row)
        return jsonify(id=row.id), 201

    return app


class _BareBase(DeclarativeBase):
    pass


class BareApplication(_BareBase):
    """The baseline's one table, in its own database."""
    __tablename__ = "bare_applications"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text)
    answers: Mapped[dict] = mapped_column(JSON)
    location: Mapped[str] = mapped_column(String(300))
    start_date: Mapped[str] = mapped_column(String(10))
    budget: Mapped[str] = mapped_column(String(100))
    partners: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def serve_bare(bind: str) -> None:
    """gunicorn configured as ``prize web`` configures it, serving bare_app()."""
    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", bind)
            self.cfg.set("workers", WORKERS)
            self.cfg.set("threads", THREADS)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("accesslog", None)
            self.cfg.set("graceful_timeout", 10)
            self.cfg.set("proc_name", "prize-bench-bare-web")
            if "no_control_socket" in self.cfg.settings:
                self.cfg.set("no_control_socket", True)

        def load(self):
            return bare_app()

    _Server().run()


# --- preparing intake's drafts ---------------------------------------------------------------

def prepare_drafts(url: str, count: int, tag: str) -> tuple[list[dict], float]:
    """An open call, `count` applicants with one complete draft each; their tokens. Direct ORM."""
    from sqlalchemy import create_engine, insert

    from services.intake import rules as domain
    from services.intake.models import Applicant, Application, Call, Document
    from shared.auth import issue_token

    started = time.monotonic()
    now = datetime.now(timezone.utc)
    categories = domain.default_categories()
    criteria = next(c for c in categories if c["key"] == CATEGORY)["criteria"]
    call_id = str(uuid.uuid4())
    applicants, applications, documents, drafts = [], [], [], []
    for i in range(count):
        applicant_id, application_id = str(uuid.uuid4()), str(uuid.uuid4())
        applicants.append({
            "id": applicant_id, "type": "city_government", "organisation": f"Bench City {i}",
            "country": "KR", "city": "Seoul", "contact_name": "Kim Min-ji",
            "contact_email": f"bench-{tag}-{i}@city.example.kr", "secondary_email": None,
            "secondary_name": None, "language": "en", "created_at": now})
        applications.append({
            "id": application_id, "reference": f"SSCP-2026-B{i:05d}", "call_id": call_id,
            "applicant_id": applicant_id, "category": CATEGORY, "status": "draft",
            "created_at": now, "updated_at": now, "submitted_at": None, "revision": 1,
            "withdrawn_at": None, "withdrawal_reason": "", **application_fields(i, criteria)})
        documents.append({
            "id": str(uuid.uuid4()), "application_id": application_id, "kind": REQUIRED_DOCUMENT["key"],
            "filename": f"form-{i}.pdf", "content_type": "application/pdf",
            "storage_key": f"applications/{application_id}/{uuid.uuid4().hex}/form-{i}.pdf",
            "size": 123_456, "sha256": "0" * 64, "status": "verified", "rejection_reason": "",
            "created_at": now, "verified_at": now})
        drafts.append({"id": application_id, "applicant_id": applicant_id,
                       "token": issue_token(SECRET, "applicant", applicant_id)})
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(insert(Call), [{
                "id": call_id, "year": 2026, "theme": "Smart cities for everyone",
                "opens_at": now - timedelta(days=30), "closes_at": now + timedelta(days=30),
                "time_zone": "Asia/Seoul", "score_min": 1, "score_max": 10, "categories": categories,
                "status": "open", "created_at": now - timedelta(days=31), "opened_at": now - timedelta(days=30),
                "documents": [REQUIRED_DOCUMENT], "max_upload_bytes": 50 * 1024 * 1024, "version": 1}])
            for table, rows in ((Applicant, applicants), (Application, applications), (Document, documents)):
                for start in range(0, len(rows), 500):
                    conn.execute(insert(table), rows[start:start + 500])
    finally:
        engine.dispose()
    return drafts, time.monotonic() - started


def open_api_sessions(url: str, drafts: list[dict]) -> None:
    """Give each draft's applicant an API session and use its secret as the bearer token."""
    import hashlib
    import secrets

    from sqlalchemy import create_engine, insert

    from services.intake.models import Session

    now = datetime.now(timezone.utc)
    rows = []
    for d in drafts:
        secret = secrets.token_urlsafe(32)
        d["token"] = secret
        rows.append({"id_hash": hashlib.sha256(secret.encode("utf-8")).hexdigest(), "applicant_id": d["applicant_id"],
                     "kind": "api", "csrf_token": secrets.token_urlsafe(32), "created_at": now,
                     "expires_at": now + timedelta(hours=12), "last_seen_at": now, "revoked_at": None})
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.begin() as conn:
            for start in range(0, len(rows), 500):
                conn.execute(insert(Session), rows[start:start + 500])
    finally:
        engine.dispose()


def _probe(port: int, draft: dict) -> tuple[int, bytes]:
    """GET one prepared draft with its token: does intake take the token, is the draft complete?"""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", f"/api/applications/{draft['id']}", headers={"Authorization": f"Bearer {draft['token']}"})
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


def check_drafts(url: str, drafts: list[dict]) -> tuple[int, int, int]:
    """(drafts submitted, application.submitted outbox rows, distinct applications in them)."""
    from sqlalchemy import create_engine, text
    ids = {d["id"] for d in drafts}
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            submitted = {row[0] for row in conn.execute(text(
                "SELECT id FROM applications WHERE status = 'submitted'"))}
            bodies = [row[0] for row in conn.execute(text(
                "SELECT body FROM outbox WHERE type = 'application.submitted'"))]
    finally:
        engine.dispose()
    in_outbox = [json.loads(b)["data"]["application_id"] for b in bodies]
    return len(submitted & ids), len(in_outbox), len(set(in_outbox) & ids)


# --- the load ----------------------------------------------------------------------------------

def _wait_ready(port: int, path: str, alive, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        alive()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            status = conn.getresponse().status
            conn.close()
            if status < 500:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server on port {port} did not become ready")
        time.sleep(0.2)


def load(port: int, requests: list[tuple[str, dict, bytes]], expect: int) -> dict:
    """Send the requests from CLIENTS threads (thread k: requests k, k+16, ...), keep-alive each.

    Returns requests/s over the run (first send to last answer), per-request seconds, errors.
    """
    shares = [requests[k::CLIENTS] for k in range(CLIENTS)]
    times: list[list[float]] = [[] for _ in range(CLIENTS)]
    errors: list[str] = []
    marks: list[tuple[float, float]] = [(0.0, 0.0)] * CLIENTS
    barrier = threading.Barrier(CLIENTS)

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = times[k]
        try:
            conn.connect()
            barrier.wait()
            first = time.perf_counter()
            for path, headers, body in shares[k]:
                start = time.perf_counter()
                try:
                    conn.request("POST", path, body=body, headers=headers)
                    response = conn.getresponse()
                    payload = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    continue
                mine.append(time.perf_counter() - start)
                if response.status != expect:
                    errors.append(f"{response.status} {payload[:200]!r}")
            marks[k] = (first, time.perf_counter())
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = [x for part in times for x in part]
    elapsed = max(end for _, end in marks) - min(start for start, _ in marks)
    return {"rate": len(flat) / elapsed if elapsed > 0 else 0.0, "times": flat, "errors": errors,
            "seconds": elapsed}


def _submit_requests(drafts: list[dict]) -> list[tuple[str, dict, bytes]]:
    return [(f"/api/applications/{d['id']}/submit",
             {"Authorization": f"Bearer {d['token']}", "Content-Length": "0"}, b"") for d in drafts]


def _bare_requests(count: int, offset: int) -> list[tuple[str, dict, bytes]]:
    from services.intake import rules as domain
    criteria = next(c for c in domain.default_categories() if c["key"] == CATEGORY)["criteria"]
    headers = {"Content-Type": "application/json"}
    return [("/applications", headers, json.dumps(application_fields(offset + i, criteria)).encode("utf-8"))
            for i in range(count)]


def measure(n: int, rounds: int) -> dict:
    per_round = n // rounds
    n = per_round * rounds
    warmup = WARMUP_PER_CLIENT * CLIENTS
    folder = Path(tempfile.mkdtemp(prefix="prize-bench-submit-"))
    procs = ProcessGroup(folder)
    try:
        # The servers stop before their namespace and databases go.
        with fresh_databases(("intake", "bare")) as urls, namespace() as ns, \
                contextlib.ExitStack() as stack:
            stack.callback(procs.stop)
            intake_port, bare_port = free_port(), free_port()
            env = dict(os.environ, PRIZE_INTAKE_DATABASE_URL=urls["intake"], PRIZE_BROKER_URL=RABBITMQ_URL,
                       PRIZE_NAMESPACE=ns, PRIZE_SECRET_KEY=SECRET, PRIZE_INTAKE_PORT=str(intake_port),
                       PRIZE_WEB_WORKERS=str(WORKERS), PRIZE_WEB_THREADS=str(THREADS),
                       PRIZE_VAR_DIR=str(folder / "var"), PYTHONUNBUFFERED="1")
            done = subprocess.run(prize_command() + ["db", "upgrade", "--only", "intake"], env=env,
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError("prize db upgrade --only intake failed:\n" + done.stdout[-2000:] + done.stderr[-2000:])
            from sqlalchemy import create_engine
            bare_engine = create_engine(sqlalchemy_url(urls["bare"]))
            BareApplication.metadata.create_all(bare_engine)
            bare_engine.dispose()

            drafts, prepare_s = prepare_drafts(urls["intake"], n + warmup, ns)

            procs.start("intake-web", prize_command() + ["web", "intake"], env)
            procs.start("bare-web", [sys.executable, "-m", "bench.submit", "--serve-bare",
                                     f"127.0.0.1:{bare_port}"],
                        dict(os.environ, BENCH_BARE_DATABASE_URL=urls["bare"], PYTHONUNBUFFERED="1"))
            _wait_ready(intake_port, "/readyz", procs.check_alive)
            _wait_ready(bare_port, "/", procs.check_alive)

            # Is a draft complete by intake's rules now, and its token accepted? Ask intake itself.
            status, body = _probe(intake_port, drafts[0])
            tokens = "signed bearer tokens (shared.auth.issue_token)"
            if status == 401:
                # intake no longer takes signed applicant tokens: open API sessions as sign-in does
                open_api_sessions(urls["intake"], drafts)
                tokens = "opaque API bearer tokens (sessions rows, as services/intake/accounts.py opens them)"
                status, body = _probe(intake_port, drafts[0])
            if status != 200:
                raise RuntimeError(f"intake refused a prepared draft's token: {status} {body[:300]!r}")
            missing = json.loads(body).get("missing") or []
            if missing:
                raise RuntimeError(f"a prepared draft is not complete by intake's rules: missing {missing}")

            # Warm-up, not counted: every worker's connections, imports and caches.
            bare_warm = load(bare_port, _bare_requests(warmup, 10**6), 201)
            intake_warm = load(intake_port, _submit_requests(drafts[:warmup]), 200)
            if bare_warm["errors"] or intake_warm["errors"]:
                procs.check_alive()
                raise RuntimeError("warm-up failed: " + "; ".join((bare_warm["errors"] + intake_warm["errors"])[:3]))

            timed = drafts[warmup:]
            results = {"bare": [], "submit": []}
            cpu = {kind: {"web": 0.0, "postgres": 0.0, "clients": 0.0} for kind in ("bare", "submit")}
            for r in range(rounds):
                for kind in ("bare", "submit"):
                    if kind == "bare":
                        port, reqs, expect = bare_port, _bare_requests(per_round, r * per_round), 201
                    else:
                        port, reqs, expect = intake_port, _submit_requests(timed[r * per_round:(r + 1) * per_round]), 200
                    pid = procs.procs["bare-web" if kind == "bare" else "intake-web"].pid
                    database = urls["bare" if kind == "bare" else "intake"].rsplit("/", 1)[1]
                    cpu0 = (tree_cpu(pid), postgres_cpu([database]), time.process_time())
                    result = load(port, reqs, expect)
                    cpu1 = (tree_cpu(pid), postgres_cpu([database]), time.process_time())
                    for name, before, after in zip(("web", "postgres", "clients"), cpu0, cpu1):
                        cpu[kind][name] += after - before
                    results[kind].append(result)
                    say(f"  round {r + 1} {'bare Flask insert' if kind == 'bare' else 'intake submit   '}: "
                        f"{result['rate']:.0f} requests/s, p50 {percentile(result['times'], 50) * 1000:.1f} ms, "
                        f"p99 {percentile(result['times'], 99) * 1000:.1f} ms"
                        + (f"; {len(result['errors'])} errors, first: {result['errors'][0]}" if result["errors"] else ""))
            procs.check_alive()
            procs.stop()  # before counting: nothing may still be writing

            integrity = check_drafts(urls["intake"], drafts)
            from sqlalchemy import func, select
            bare_engine = create_engine(sqlalchemy_url(urls["bare"]))
            with bare_engine.connect() as conn:
                bare_rows = conn.execute(select(func.count()).select_from(BareApplication.__table__)).scalar_one()
            bare_engine.dispose()
            return {"n": n, "rounds": rounds, "warmup": warmup, "prepare_s": prepare_s, "results": results,
                    "integrity": integrity, "drafts": len(drafts), "bare_rows": bare_rows, "tokens": tokens,
                    "bare_expected": warmup + n, "cpu_ms": {kind: {name: v / n * 1000 for name, v in parts.items()} for kind, parts in cpu.items()}}
    finally:
        procs.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _median_round(results: list[dict]) -> dict:
    """The median round's requests/s; p50/p99 over the requests of every round."""
    return {"rate": statistics.median(r["rate"] for r in results),
            "times": [x for r in results for x in r["times"]]}


def run(n: int, rounds: int) -> list[Row]:
    say(f"\n== 4. Deadline burst: POST /api/applications/<id>/submit on `prize web intake` vs a bare Flask "
        f"marshmallow+ORM insert, gunicorn gthread {WORKERS}×{THREADS}, {CLIENTS} keep-alive clients, "
        f"PostgreSQL; {n:,} submissions in {rounds} rounds each, alternating ==")
    rows = [Row("4. deadline burst: submit path", None, "req/s", baseline_label="(bare Flask insert)",
                target=f"≥ {TARGET_RATIO}x"),
            Row("   submit p50", None, "ms"),
            Row("   submit p99", None, "ms")]
    try:
        m = measure(n, rounds)
    except Exception as exc:
        say(f"  FAILED: {type(exc).__name__}: {exc}")
        rows[0].met = False
        return rows
    bare, submit = _median_round(m["results"]["bare"]), _median_round(m["results"]["submit"])
    errors = [e for kind in m["results"].values() for r in kind for e in r["errors"]]
    submitted, outbox_rows, distinct = m["integrity"]
    intact = (submitted == outbox_rows == distinct == m["drafts"]) and m["bare_rows"] == m["bare_expected"]
    say(f"  prepared an open call, {m['drafts']:,} applicants and complete drafts (with a verified required "
        f"document each) with intake's ORM in {m['prepare_s']:.1f} s; {m['tokens']}; "
        f"{m['warmup']} of them for warm-up")
    say(f"  integrity: {submitted:,} of {m['drafts']:,} drafts submitted, {outbox_rows:,} application.submitted "
        f"outbox rows for {distinct:,} distinct applications (unpublished: no intake worker runs); "
        f"bare table {m['bare_rows']:,} rows of {m['bare_expected']:,} sent; "
        + ("OK" if intact and not errors else f"NOT OK ({len(errors)} errors)"))
    body = len(_bare_requests(1, 0)[0][2])
    say(f"  the bare endpoint's request body: {body:,} bytes of JSON; the submit request has none "
        f"(intake checks the stored draft)")
    say(f"  median round: bare {bare['rate']:.0f} req/s (p50 {percentile(bare['times'], 50) * 1000:.1f} ms, "
        f"p99 {percentile(bare['times'], 99) * 1000:.1f} ms); submit {submit['rate']:.0f} req/s "
        f"(p50 {percentile(submit['times'], 50) * 1000:.1f} ms, p99 {percentile(submit['times'], 99) * 1000:.1f} ms)")
    for kind, label in (("bare", "bare Flask insert"), ("submit", "intake submit")):
        parts = m["cpu_ms"][kind]
        say(f"  CPU per request, {label}: {sum(parts.values()):.2f} ms in all: web (gunicorn master + workers) "
            f"{parts['web']:.2f}, its PostgreSQL backends {parts['postgres']:.2f}, the 16 clients {parts['clients']:.2f}"
            f" (on {os.cpu_count()} cores that caps the rate near {os.cpu_count() / sum(parts.values()) * 1000:.0f}/s)")
    ratio = submit["rate"] / bare["rate"] if bare["rate"] else None
    rows[0].value, rows[0].baseline, rows[0].ratio = submit["rate"], bare["rate"], ratio
    rows[0].met = bool(intact and not errors and ratio is not None and ratio >= TARGET_RATIO)
    rows[1].value = percentile(submit["times"], 50) * 1000
    rows[1].baseline, rows[1].baseline_label = percentile(bare["times"], 50) * 1000, "(bare)"
    rows[2].value = percentile(submit["times"], 99) * 1000
    rows[2].baseline, rows[2].baseline_label = percentile(bare["times"], 99) * 1000, "(bare)"
    if not intact:
        rows[0].notes.append("integrity check failed")
    return rows


# --- where the time goes -----------------------------------------------------------------------

AREAS = (("psycopg", "psycopg"), ("sqlalchemy", "sqlalchemy"), ("marshmallow", "marshmallow"),
         ("flask_smorest", "flask-smorest"), ("werkzeug", "flask/werkzeug"), ("flask", "flask/werkzeug"),
         ("itsdangerous", "itsdangerous"), ("pythonjsonlogger", "logging"), ("logging", "logging"),
         ("prometheus_client", "prometheus"), ("json", "json"), ("/services/", "intake"), ("/shared/", "shared"))


def _area(filename: str, name: str) -> str:
    if filename == "~":  # a builtin: socket waits, select, hashing...
        return "builtins (" + ("I/O wait" if any(w in name for w in ("poll", "select", "recv", "send")) else
                               "other") + ")"
    for needle, area in AREAS:
        if needle in filename:
            return area
    return "other"


def profile(n: int) -> None:
    """The submit path in-process, one thread, Flask's test client: cProfile and the SQL's share."""
    import cProfile
    import logging
    import pstats

    from sqlalchemy import event

    from services.intake.app import create_app
    from shared.config import load_settings
    from shared.logs import configure_logging
    from shared.migrations import upgrade

    folder = Path(tempfile.mkdtemp(prefix="prize-bench-submit-profile-"))
    try:
        with fresh_databases(("intake",)) as urls:
            env = dict(os.environ, PRIZE_INTAKE_DATABASE_URL=urls["intake"], PRIZE_BROKER_URL=RABBITMQ_URL,
                       PRIZE_SECRET_KEY=SECRET, PRIZE_VAR_DIR=str(folder / "var"))
            settings = load_settings(env)
            upgrade("intake", sqlalchemy_url(settings.database_url("intake")))
            drafts, _ = prepare_drafts(urls["intake"], 2 * n + 20, "profile")
            app = create_app(settings=settings)
            db = app.extensions["prize"]["db"]
            sql = {"n": 0, "s": 0.0, "by": {}}

            @event.listens_for(db.engine, "before_cursor_execute")
            def _before(conn, cursor, statement, params, context, many):
                conn.info["bench_t"] = time.perf_counter()

            @event.listens_for(db.engine, "after_cursor_execute")
            def _after(conn, cursor, statement, params, context, many):
                took = time.perf_counter() - conn.info.pop("bench_t", time.perf_counter())
                sql["n"] += 1
                sql["s"] += took
                key = " ".join(statement.split())[:70]
                sql["by"][key] = sql["by"].get(key, 0.0) + took

            client = app.test_client()
            configure_logging("intake", "INFO")  # as `prize web` logs, into the void
            logging.getLogger().handlers[0].setStream(open(os.devnull, "w"))

            def submit(batch):
                for d in batch:
                    r = client.post(f"/api/applications/{d['id']}/submit",
                                    headers={"Authorization": f"Bearer {d['token']}"})
                    assert r.status_code == 200, r.get_data(as_text=True)[:300]

            submit(drafts[:20])  # warm-up
            sql.update(n=0, s=0.0, by={})
            started, cpu = time.perf_counter(), time.process_time()
            submit(drafts[20:20 + n])
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            say(f"submit, in-process (Flask test client), one thread: {wall / n * 1000:.2f} ms per request, "
                f"{cpu / n * 1000:.2f} ms of it CPU in this process; {sql['n'] / n:.1f} SQL statements per "
                f"request taking {sql['s'] / n * 1000:.2f} ms ({sql['s'] / wall:.0%} of the time)")
            for statement, took in sorted(sql["by"].items(), key=lambda kv: -kv[1]):
                say(f"  {took / n * 1000:6.3f} ms  {statement}")
            profiler = cProfile.Profile()
            profiler.enable()
            submit(drafts[20 + n:20 + 2 * n])
            profiler.disable()
            stats = pstats.Stats(profiler)
            areas: dict[str, float] = {}
            for (filename, _, name), (_, _, tottime, _, _) in stats.stats.items():
                areas[_area(filename, name)] = areas.get(_area(filename, name), 0.0) + tottime
            total = sum(areas.values())
            trips = sum(calls for (filename, _, name), (calls, *_) in stats.stats.items()
                        if name == "wait" and filename.endswith("psycopg/connection.py"))
            say(f"round trips to PostgreSQL per request (psycopg waits, pool pre-ping, BEGIN and COMMIT "
                f"included): {trips / n:.1f}")
            say("own time by area under cProfile (inflates many small calls): " + ", ".join(
                f"{area} {t / total:.0%}" for area, t in sorted(areas.items(), key=lambda kv: -kv[1])))
            stats.sort_stats("cumulative").print_stats(r"services/|shared/", 25)
            stats.sort_stats("tottime").print_stats(25)
            db.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-bare":
        serve_bare(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "--profile":
        from .common import quiet_logs
        quiet_logs()
        profile(int(sys.argv[2]))
    else:
        raise SystemExit("usage: python -m bench.submit --profile N | --serve-bare HOST:PORT")
