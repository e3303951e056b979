"""Figure 9: the deadline hour replayed with locust, on PostgreSQL + RabbitMQ, every service a process.

The services run as an operator runs them: ``prize web intake`` and ``prize web review``
(gunicorn, gthread 2×4), ``prize worker intake`` (the outbox relay), ``prize worker review`` and
``prize worker notify``, each on a fresh PostgreSQL database and one RabbitMQ namespace; notify
mails to a recording SMTP server in this process (tests/support/smtp.py); documents go to the
local file store through intake's presigned upload route (what the portal uses without S3).

Prepared before the clock starts, with the services' ORM models: an open call with intake's
categories and documents (the application form required, supporting material optional), 240
applicants (a whole edition) each signed in (an API session, as sign-in opens one, its secret
the bearer token) with a draft whose title, summary and project facts are filled and whose
answers and documents are still to come (the call closes two hours later; the drafts' 7-day and
1-day reminders already went out); on review's side the jury of figure 8 (2,400
applications of an earlier round, 50 jurors, 16 of them with 60 assignments each).

The load is bench/deadline_locust.py run by locust as a library in a subprocess (gevent): each
applicant autosaves every 10 s, uploads its two documents through the presigned path in the
first part of the hour, and submits within its last stretch; 16 jurors browse their pages
meanwhile. The hour is time-compressed (``hour_s``) with the autosave period kept at the real
10 s, so the autosave load is the real one (240 / 10 s = 24 saves/s) and the last 5 minutes
become the last ``window_s`` seconds: a submission rate (scale) times the real one, harsher than
the real deadline.

Reported: every request type's p50 / p99 (target p99 ≤ 250 ms), errors (target 0), and every
submission acknowledged once: the acknowledgement emails at the SMTP server, by reference,
equal to the submissions with no duplicate; beside the machine's load average.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

from .common import (ProcessGroup, RABBITMQ_URL, Row, free_port, fresh_databases, load_note, namespace,
                     percentile, prize_command, say, sqlalchemy_url)

SERVICES = ("intake", "review", "notify")
SECRET = "bench-deadline-secret"
CATEGORY = "tech_innovacity"
TARGET_MS = 250.0
REFERENCE = re.compile(r"SSCP-\d{4}-[A-Z0-9]{6}")
# the two documents each applicant uploads: (kind, size in bytes)
DOCUMENTS = (("application_form", 400_000), ("supporting_material", 200_000))
WARM_UP = 4  # applicants whose whole path runs once before the clock (not counted)


# --- preparing -----------------------------------------------------------------------------------

def prepare_intake(url: str, count: int, tag: str) -> list[dict]:
    """An open call and ``count`` signed-in applicants with a draft each (answers and documents to
    come); returns what the locust users need (id, reference, token, revision, criteria)."""
    from sqlalchemy import create_engine, insert

    from services.intake import rules as domain
    from services.intake.models import Applicant, Application, Call, DraftReminderSent, Session
    from services.intake.ops.reminders import REMINDERS

    from .submit import application_fields

    now = datetime.now(timezone.utc)
    closes_at = now + timedelta(hours=2)  # the deadline: just after the replayed hour
    categories = domain.default_categories()
    criteria = next(c for c in categories if c["key"] == CATEGORY)["criteria"]
    call_id = str(uuid.uuid4())
    applicants, applications, sessions, users, reminded = [], [], [], [], []
    for i in range(count):
        applicant_id, application_id, secret = str(uuid.uuid4()), str(uuid.uuid4()), secrets.token_urlsafe(32)
        reference = f"SSCP-2026-D{i:05d}"
        applicants.append({
            "id": applicant_id, "type": "city_government", "organisation": f"Deadline City {i}",
            "country": "KR", "city": "Seoul", "contact_name": "Kim Min-ji",
            "contact_email": f"deadline-{tag}-{i}@city.example.kr", "secondary_email": None,
            "secondary_name": None, "language": "en", "created_at": now - timedelta(days=20)})
        applications.append({
            "id": application_id, "reference": reference, "call_id": call_id, "applicant_id": applicant_id,
            "category": CATEGORY, "status": "draft", "created_at": now - timedelta(days=10), "updated_at": now,
            "submitted_at": None, "revision": 1, "withdrawn_at": None, "withdrawal_reason": "",
            **dict(application_fields(i, criteria), answers={})})
        sessions.append({"id_hash": hashlib.sha256(secret.encode()).hexdigest(), "applicant_id": applicant_id,
                         "kind": "api", "csrf_token": secrets.token_urlsafe(32), "created_at": now,
                         "expires_at": now + timedelta(hours=12), "last_seen_at": now, "revoked_at": None})
        # the draft reminders (7 days and 1 day before) went out before this hour
        reminded += [{"event_id": str(uuid.uuid4()), "application_id": application_id, "offset_key": key,
                      "closes_at": closes_at, "missing": 3, "sent_at": closes_at - offset}
                     for key, offset in REMINDERS.items()]
        users.append({"id": application_id, "reference": reference, "token": secret, "revision": 1,
                      "criteria": [{"key": c["key"], "word_limit": c.get("word_limit") or 500} for c in criteria]})
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(insert(Call), [{
                "id": call_id, "year": 2026, "theme": "Smart cities for everyone",
                "opens_at": now - timedelta(days=30), "closes_at": closes_at,
                "time_zone": "Asia/Seoul", "score_min": 1, "score_max": 10, "categories": categories,
                "status": "open", "created_at": now - timedelta(days=31), "opened_at": now - timedelta(days=30),
                "documents": domain.DEFAULT_DOCUMENTS, "max_upload_bytes": 50 * 1024 * 1024, "version": 1}])
            for table, rows in ((Applicant, applicants), (Application, applications), (Session, sessions),
                                (DraftReminderSent, reminded)):
                for start in range(0, len(rows), 500):
                    conn.execute(insert(table), rows[start:start + 500])
    finally:
        engine.dispose()
    return users


def prepare_review(url: str, jurors: int, applications: int = 2400) -> list[dict]:
    """Figure 8's jury (bench/jury_page.py): the first ``jurors`` of its 16 client jurors, tokens."""
    from shared.auth import issue_token

    from . import jury_page
    prepared = jury_page.prepare(url, n_applications=applications)
    return [{"id": c["id"], "token": issue_token(SECRET, "juror", c["id"])} for c in prepared["clients"][:jurors]]


# --- the services ------------------------------------------------------------------------------

def _environment(urls: dict, ns: str, smtp_url: str, folder: Path) -> dict:
    env = dict(os.environ, PRIZE_BROKER_URL=RABBITMQ_URL, PRIZE_NAMESPACE=ns, PRIZE_MAIL_URL=smtp_url,
               PRIZE_SECRET_KEY=SECRET, PRIZE_VAR_DIR=str(folder / "var"), PRIZE_WEB_WORKERS="2",
               PRIZE_WEB_THREADS="4", PRIZE_INTAKE_PORT=str(free_port()), PRIZE_REVIEW_PORT=str(free_port()),
               PRIZE_NOTIFY_PORT=str(free_port()), PYTHONUNBUFFERED="1")
    for svc, url in urls.items():
        env[f"PRIZE_{svc.upper()}_DATABASE_URL"] = url
    return env


def _wait_ready(base: str, path: str, procs: ProcessGroup, timeout: float = 90) -> None:
    import requests
    deadline = time.monotonic() + timeout
    while True:
        procs.check_alive()
        try:
            if requests.get(base + path, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{base}{path} did not answer 200 within {timeout:.0f} s")
        time.sleep(0.2)


def start_services(env: dict, folder: Path, stack: contextlib.ExitStack) -> ProcessGroup:
    procs = ProcessGroup(folder)
    stack.callback(procs.stop)
    for name, args in (("intake-web", ("web", "intake")), ("review-web", ("web", "review")),
                       ("intake-worker", ("worker", "intake")), ("review-worker", ("worker", "review")),
                       ("notify-worker", ("worker", "notify"))):
        procs.start(name, prize_command() + list(args), env)
    _wait_ready(f"http://127.0.0.1:{env['PRIZE_INTAKE_PORT']}", "/readyz", procs)
    _wait_ready(f"http://127.0.0.1:{env['PRIZE_REVIEW_PORT']}", "/healthz", procs)
    return procs


# --- the run -----------------------------------------------------------------------------------

def warm_up(plan: dict, users: list[dict], smtp) -> None:
    """Before the clock: each warm-up applicant's whole path once (autosave, both uploads, submit)
    and its acknowledgement in, and the jurors' pages, so every gunicorn worker, worker process
    and cache is past its first request, as it is an hour into a real deadline day."""
    import requests
    from concurrent.futures import ThreadPoolExecutor

    from .deadline_plan import answers, pdf

    def applicant(user: dict) -> None:
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {user['token']}"
            base = plan["intake"]
            http.patch(f"{base}/api/applications/{user['id']}", timeout=60,
                       json={"answers": answers(user["criteria"], 1.0, 0)}).raise_for_status()
            for n, doc in enumerate(plan["documents"]):
                content = pdf(doc["size"], n)
                r = http.post(f"{base}/api/applications/{user['id']}/documents", timeout=60, json={
                    "kind": doc["kind"], "filename": "warm.pdf", "content_type": "application/pdf",
                    "size": len(content)})
                r.raise_for_status()
                started = r.json()
                url = urlsplit(started["upload"]["url"])
                http.post(f"{base}{url.path}?{url.query}", data=started["upload"]["fields"], timeout=60,
                          files={"file": ("warm.pdf", content, "application/pdf")}).raise_for_status()
                http.post(f"{base}/api/documents/{started['document']['id']}/complete", timeout=60).raise_for_status()
            http.post(f"{base}/api/applications/{user['id']}/submit", timeout=60).raise_for_status()

    def juror(me: dict) -> None:
        for path in ("/jury", "/api/jury/assignments") * 2:
            requests.get(plan["review"] + path, headers={"Authorization": f"Bearer {me['token']}"},
                         timeout=60).raise_for_status()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(applicant, users))
        list(pool.map(juror, (plan["jurors"] * 8)[:8]))
    wanted = {u["reference"] for u in users}
    if not wanted <= acknowledgements(smtp, wanted, timeout=60).keys():
        raise RuntimeError("the warm-up submissions' acknowledgements did not arrive within 60 s")


def acknowledgements(smtp, wanted: set[str], timeout: float) -> Counter:
    """Acknowledgement emails by reference, once every wanted one arrived (or at the timeout),
    then one more second for any duplicate on its way."""
    def count() -> Counter:
        with smtp.lock:
            subjects = [str(m["message"]["Subject"] or "") for m in smtp.messages]
        return Counter(found.group(0) for s in subjects if (found := REFERENCE.search(s)))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not wanted <= count().keys():
        time.sleep(0.1)
    time.sleep(1.0)
    return count()


def _load(plan: dict, folder: Path) -> dict:
    """Run the locust plan in a subprocess (gevent patches only that process); its result."""
    plan_path, result_path = folder / "plan.json", folder / "result.json"
    plan_path.write_text(json.dumps(plan), encoding="utf-8")
    with open(folder / "locust.log", "wb") as log:
        done = subprocess.run([sys.executable, "-m", "bench.deadline_locust", str(plan_path), str(result_path)],
                              stdout=log, stderr=subprocess.STDOUT, timeout=plan["hour_s"] + 120,
                              cwd=str(Path(__file__).resolve().parents[1]))
    if done.returncode != 0 or not result_path.exists():
        tail = (folder / "locust.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"locust exited with {done.returncode}:\n{tail}")
    return json.loads(result_path.read_text(encoding="utf-8"))


def measure(applicants: int = 240, jurors: int = 16, hour_s: float = 180.0, window_s: float = 15.0,
            autosave_s: float = 10.0, sizes=DOCUMENTS, warm_ups: int = WARM_UP, jury_applications: int = 2400) -> dict:
    from shared.migrations import upgrade
    from tests.support.smtp import RecordingSMTPServer

    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="prize-bench-deadline-"))
    smtp = RecordingSMTPServer()
    smtp.start()
    try:
        with fresh_databases(SERVICES) as urls, namespace() as ns, contextlib.ExitStack() as stack:
            env = _environment(urls, ns, smtp.url, folder)
            for svc in SERVICES:
                upgrade(svc, sqlalchemy_url(urls[svc]))
            marks = [("", started), ("fresh databases and migrations", time.monotonic())]
            users = prepare_intake(urls["intake"], applicants + warm_ups, ns)
            warm, users = users[:warm_ups], users[warm_ups:]
            jury = prepare_review(urls["review"], jurors, jury_applications)
            marks.append(("preparing the data", time.monotonic()))
            procs = start_services(env, folder, stack)  # stopped before the databases and namespace go
            marks.append(("starting the services", time.monotonic()))
            plan = {"intake": f"http://127.0.0.1:{env['PRIZE_INTAKE_PORT']}",
                    "review": f"http://127.0.0.1:{env['PRIZE_REVIEW_PORT']}", "hour_s": hour_s,
                    "submit_window_s": window_s, "autosave_s": autosave_s, "seed": 9,
                    "applicants": users, "jurors": jury, "juror_users": jurors,
                    "documents": [{"kind": kind, "size": size} for kind, size in sizes]}
            warm_up(plan, warm, smtp)
            marks.append(("the warm-up", time.monotonic()))
            plan["lead_s"] = 2.0 + applicants / 100  # from locust's start: the users spawn first
            load_before, cpu0 = os.getloadavg(), procs.cpu()
            result = _load(plan, folder)
            load_after, cpu1 = os.getloadavg(), procs.cpu()
            ok = {s["reference"] for s in result["submitted"] if s["ok"]}
            acks = acknowledgements(smtp, ok, timeout=60)
            for user in warm:
                acks.pop(user["reference"], None)
            procs.check_alive()
            marks.append(("the hour and its acknowledgements", time.monotonic()))
            took = {name: end - begin for (_, begin), (name, end) in zip(marks, marks[1:])}
            return {"result": result, "acks": acks, "ok": ok, "plan": plan, "took": took, "warm_ups": len(warm),
                    "load": (load_before, load_after), "received": _received(urls["review"]),
                    "cpu": {name: cpu1[name] - cpu0.get(name, 0.0) for name in cpu1},
                    "problems": {name: _problems(folder / f"{name}.log") for name in procs.procs}}
    finally:
        smtp.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _problems(path: Path) -> str:
    """Gunicorn's worker timeouts and the errors a service logged, in a few words."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    counts = {"worker timeouts": text.count("WORKER TIMEOUT"), "errors": text.count('"level": "ERROR"'),
              "tracebacks": text.count("Traceback")}
    return ", ".join(f"{n} {what}" for what, n in counts.items() if n)


def _received(review_url: str) -> int:
    """Submissions review's worker took in (stage 'submitted': figure 8's are all screened)."""
    from sqlalchemy import create_engine, text
    engine = create_engine(sqlalchemy_url(review_url))
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM applications WHERE stage = 'submitted'")).scalar_one()
    finally:
        engine.dispose()


# --- the figure ----------------------------------------------------------------------------------

def verdict(m: dict) -> dict:
    """Per request type p50/p99/count/failures; the acknowledgement accounting; errors."""
    result, acks, ok = m["result"], m["acks"], m["ok"]
    types = {}
    for name, times in sorted(result["times"].items()):
        failures = result["failures"].get(name, [])
        types[name] = {"n": len(times), "p50": percentile(times, 50), "p99": percentile(times, 99),
                       "max": max(times), "failures": failures}
    errors = sum(len(t["failures"]) for t in types.values())
    applicants = len(m["plan"]["applicants"])
    duplicates = sorted(ref for ref, n in acks.items() if n > 1)
    strays = sorted(set(acks) - ok)
    missing = sorted(ok - set(acks))
    once = (len(ok) == applicants and not duplicates and not strays and not missing)
    return {"types": types, "errors": errors, "submitted": len(ok), "applicants": applicants,
            "acks": sum(acks.values()), "duplicates": duplicates, "strays": strays, "missing": missing,
            "once": once}


def run(applicants: int, jurors: int, hour_s: float, window_s: float, autosave_s: float = 10.0) -> list[Row]:
    scale = 3600.0 / hour_s
    say(f"\n== 9. The deadline hour replayed with locust: {applicants} signed-in applicants autosaving every "
        f"{autosave_s:.0f} s, two documents each through the presigned path, all submitting in the last stretch, "
        f"while {jurors} jurors browse their pages; PostgreSQL + RabbitMQ, `prize web intake`/`review` and the "
        f"intake/review/notify workers as processes. The hour compressed {scale:.0f}x into {hour_s:.0f} s, the "
        f"last 5 minutes into the last {window_s:.0f} s (submissions at {applicants / window_s:.1f}/s) ==")
    rows = [Row("9. deadline hour: worst p99 of any request", None, "ms", target=f"p99 ≤ {TARGET_MS:.0f} ms"),
            Row("   errors", None, "", target="0"),
            Row("   submissions acknowledged once", None, f"of {applicants}", target="all, no duplicate")]
    import importlib.util
    if importlib.util.find_spec("locust") is None:
        say("  FAILED: locust is not installed (make bench installs it; or: .venv/bin/pip install -e '.[bench]')")
        for row in rows:
            row.met = False
        return rows
    try:
        m = measure(applicants, jurors, hour_s, window_s, autosave_s)
    except Exception as exc:
        say(f"  FAILED: {type(exc).__name__}: {exc}")
        for row in rows:
            row.met = False
        return rows
    v = verdict(m)
    say("  took: " + ", ".join(f"{name} {s:.1f} s" for name, s in m["took"].items()))
    say(f"  prepared {applicants} applicants with drafts and API sessions, and figure 8's jury; load average {m['load'][0][0]:.2f} before, {m['load'][1][0]:.2f} after "
        f"(1 min; {os.cpu_count()} CPUs)")
    for name, t in v["types"].items():
        say(f"  {name:<52} {t['n']:6,} requests  p50 {t['p50']:7.1f} ms  p99 {t['p99']:7.1f} ms  "
            f"max {t['max']:7.1f} ms" + (f"  {len(t['failures'])} failed, first: {t['failures'][0]}"
                                         if t["failures"] else ""))
        rows.append(Row(f"   {name}", t["p99"], "ms", target=f"p99 ≤ {TARGET_MS:.0f} ms",
                        met=t["p99"] <= TARGET_MS and not t["failures"]))
    say(f"  submissions: {v['submitted']} of {v['applicants']} acknowledged by intake (200, submitted); "
        f"review's worker took in {m['received'] - m['warm_ups']} (besides the {m['warm_ups']} warm-up ones); acknowledgement emails at the SMTP server: {v['acks']} "
        f"for {len(m['acks'])} references, duplicates {len(v['duplicates'])}, missing {len(v['missing'])}, "
        f"not submitted {len(v['strays'])}")
    late = v["applicants"] - len(m["result"]["submitted"])
    if late:
        say(f"  {late} applicants never reached their submit moment before the hour ended (their earlier "
            "requests too slow): not submitted")
    problems = {name: text for name, text in m["problems"].items() if text}
    if problems:
        say("  in the services' logs: " + "; ".join(f"{name}: {text}" for name, text in problems.items()))
    moments = sorted(s["at"] for s in m["result"]["submitted"])
    if moments:
        say(f"  the submissions went in from {moments[0]:.1f} s to {moments[-1]:.1f} s of the {hour_s:.0f} s hour")
    cpu = m["cpu"]
    say("  CPU seconds during the run: " + ", ".join(f"{name} {s:.1f}" for name, s in cpu.items())
        + f", locust {m['result'].get('cpu_s', 0):.1f}")
    worst = max((t["p99"] for t in v["types"].values()), default=None)
    rows[0].value, rows[0].met = worst, worst is not None and worst <= TARGET_MS and v["errors"] == 0
    rows[0].notes.append(load_note())
    rows[1].value, rows[1].met = v["errors"], v["errors"] == 0
    rows[2].value, rows[2].met = v["submitted"] - len(v["duplicates"]) - len(v["missing"]), v["once"]
    return rows
