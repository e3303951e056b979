"""Figure 8: the juror's assignment page, 60 assignments, under 16 concurrent clients.

Measured: ``GET /api/jury/assignments`` (JSON) on ``prize web review`` (gunicorn, gthread,
PRIZE_WEB_WORKERS=2 × PRIZE_WEB_THREADS=4, as figure 4; a fresh PostgreSQL database), and the
server-rendered page ``GET /jury`` when review serves it to a bearer token: signed juror token
(shared.auth.issue_token) as ``Authorization: Bearer``, the active-juror check, the query of the
juror's live assignments with their applications, round and call (services/review/desk.py
``my_assignments``), progress per round, and the marshmallow answer (or the Jinja page).

Baseline, same server, same run, same load: ``GET /healthz`` (the framework's floor: gunicorn,
Flask, shared.web's request hooks and logging, a small JSON answer, no database).

Data, prepared before the clock starts with review's ORM models (``prize db upgrade --only
review`` first, then direct inserts, then ANALYZE as autovacuum would soon do): one call with
intake's categories and criteria (services.intake.rules.default_categories), 2,400 applications
with realistic titles, summaries, answers per criterion (~120 words each), project facts and
documents' metadata (about 90% screened eligible, the rest ineligible or withdrawn), 50 jurors
from 40 countries, detected conflicts (same country, shared university / email domain) and a
few declared ones, an open finalist round with every eligible application assigned to 3
non-conflicted jurors; 16 of the jurors (one per client) hold exactly 60 live assignments each
(a mix of submitted with full scores and comments, and pending, some half-scored by autosave)
plus one removed after a declared conflict; the other 34 carry the rest (~180 each).

Load: 16 client threads, each with its own keep-alive connection (http.client), each GETting
its own juror's page as fast as answers come back (closed loop) for ``seconds`` or its share of
``n_requests`` per endpoint, whichever ends first. Rounds alternate healthz, JSON, page, ...;
p50/p99 over all rounds' requests, requests/s of the median round. Before timing, every
juror's answer is checked: 60 assignments, the progress matching the inserted statuses; during
timing every answer must be 200 with the checked length (JSON) or the 60 links (page).

    .venv/bin/python -m bench.jury_page --py-spy 10
        # the same setup, then py-spy (--gil) on each gunicorn worker during 10 s of JSON load:
        # where the workers' time goes, by area and by function
"""
from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .common import (ProcessGroup, Row, fresh_databases, free_port, new_namespace, percentile,
                           postgres_cpu, prize_command, say, sqlalchemy_url, tree_cpu)

CLIENTS = 16
WORKERS = 2
THREADS = 4
PER_JUROR = 60
N_APPLICATIONS = 2400
N_JURORS = 50
K = 3
TARGET_RATIO = 3.0  # the target: p99 ≤ 3× /healthz's p99 in the same run (it survives a slow day)
TARGET_MS = 50.0    # the absolute p99 of a good day: printed as information
WARMUP_PER_CLIENT = 3
SECRET = "bench-jury-page-secret"
PAGE_LINK = b"/jury/applications/"

COUNTRIES = ["KR", "TW", "PL", "HU", "TH", "BR", "AU", "TR", "NG", "AE", "EC", "KZ", "CN", "JP", "ID",
             "VN", "PH", "MY", "IN", "MN", "UZ", "KE", "RW", "GH", "ZA", "EG", "MA", "FR", "DE", "ES",
             "IT", "GB", "US", "CA", "MX", "CO", "PE", "CL", "AR", "NZ"]
CITIES = {"KR": "Busan", "TW": "Kaohsiung", "PL": "Gdańsk", "HU": "Debrecen", "TH": "Chiang Mai",
          "BR": "Curitiba", "AU": "Adelaide", "TR": "İzmir", "NG": "Lagos", "AE": "Dubai", "EC": "Cuenca",
          "KZ": "Almaty", "CN": "Chengdu", "JP": "Fukuoka", "ID": "Surabaya", "VN": "Đà Nẵng",
          "PH": "Quezon City", "MY": "Penang", "IN": "Pune", "MN": "Ulaanbaatar", "UZ": "Tashkent",
          "KE": "Nairobi", "RW": "Kigali", "GH": "Accra", "ZA": "Cape Town", "EG": "Alexandria",
          "MA": "Casablanca", "FR": "Lyon", "DE": "Hamburg", "ES": "Bilbao", "IT": "Bologna",
          "GB": "Bristol", "US": "Pittsburgh", "CA": "Montréal", "MX": "Guadalajara", "CO": "Medellín",
          "PE": "Arequipa", "CL": "Valparaíso", "AR": "Rosario", "NZ": "Wellington"}
FIRST = ["Min-ji", "Ji-ho", "Seo-yeon", "Ana", "Tomasz", "Zsófia", "Somchai", "Lucas", "Olivia", "Emre",
         "Chinedu", "Fatima", "Diego", "Aigerim", "Wei", "Haruto", "Putri", "Linh", "Maria", "Arjun",
         "Bolor", "Dilnoza", "Wanjiru", "Aline", "Kwame", "Thandi", "Nour", "Youssef", "Camille", "Jonas"]
LAST = ["Kim", "Lee", "Park", "Chen", "Kowalski", "Nagy", "Srisuk", "Silva", "Smith", "Yılmaz", "Okafor",
        "Al Mansoori", "Vega", "Nurlanovna", "Zhang", "Sato", "Wijaya", "Nguyen", "Santos", "Patel",
        "Bat-Erdene", "Karimova", "Mwangi", "Uwase", "Mensah", "Dlamini", "Hassan", "Benali", "Martin", "Weber"]
UNIVERSITIES = [f"{name} University" for name in ("Yonsei", "KAIST", "Seoul National", "Tsinghua", "Delft",
                                                   "ETH Zürich", "Melbourne", "Nairobi", "São Paulo",
                                                   "Warsaw", "Chulalongkorn", "Istanbul Technical")]
SUBJECTS = ["Adaptive traffic signals", "Flood early warning", "Open air-quality sensors", "Digital twin",
            "Smart street lighting", "Citizen budgeting platform", "Heat-island mapping", "Smart water meters",
            "Accessible transit app", "AI waste sorting", "Community energy sharing", "Elderly care alerts",
            "Bike-share rebalancing", "Open data portal", "Noise monitoring network", "Parking guidance",
            "Wildfire detection", "Smart bus stops", "Emergency dispatch", "Public Wi-Fi mesh"]
PURPOSES = ["for school routes", "for informal settlements", "for older residents", "across the river basin",
            "in the historic centre", "for night-time safety", "for small businesses", "in public housing",
            "for commuters", "for people with disabilities", "for coastal districts", "for street vendors"]
WORDS = ("the city residents data sensors platform pilot district citizens open public service mobility "
         "safety energy budget partners evaluation outcomes design participation neighbourhood network "
         "maintenance procurement privacy inclusion training volunteers schools transport results "
         "municipal council university startup monitoring dashboard feedback survey households cost "
         "replication scale years phase 서울 São Paulo İzmir Gdańsk Đà Nẵng").split()


def _text(rng: random.Random, words: int) -> str:
    out = " ".join(rng.choice(WORDS) for _ in range(words))
    return out[:1].upper() + out[1:] + "."


def _criteria(categories: list[dict]) -> dict[str, list[str]]:
    return {c["key"]: [x["key"] for x in c["criteria"]] for c in categories}


# --- the data -------------------------------------------------------------------------------------

def prepare(url: str, seed: int = 8, n_applications: int = N_APPLICATIONS) -> dict:
    """Insert the call, applications, jurors, conflicts, round and assignments with review's ORM
    models (no HTTP, no events); returns the 16 client jurors with tokens and what they should see."""
    from sqlalchemy import create_engine, insert, text

    from services.intake.rules import default_categories
    from services.review.models import Application, Assignment, Call, Conflict, Juror, Round
    from shared.auth import issue_token

    started = time.monotonic()
    rng = random.Random(seed)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    categories = default_categories()
    criteria = _criteria(categories)
    call_id, round_id = str(uuid.uuid4()), str(uuid.uuid4())

    jurors = []
    for i in range(N_JURORS):
        country = COUNTRIES[(i * 7) % len(COUNTRIES)]
        university = rng.random() < 0.35
        organisation = rng.choice(UNIVERSITIES) if university else f"{CITIES[country]} Urban Lab {i}"
        domain = organisation.lower().replace(" ", "").replace("ü", "u").replace("ã", "a") + ".example"
        name = f"{FIRST[i % len(FIRST)]} {LAST[(i * 11) % len(LAST)]}"
        jurors.append({
            "id": str(uuid.uuid4()), "name": name, "email": f"juror{i}@{domain}", "country": country,
            "organisation": organisation,
            "expertise": rng.sample(["tech_innovacity", "human_centricity", "leadership", "mobility", "energy",
                                     "disaster management", "data governance"], 2),
            "languages": ["en"] + (["ko"] if country == "KR" else []), "language": "en",
            "max_load": None, "active": True, "invited_by": "secretariat:bench", "invited_at": now - timedelta(days=40)})

    applications, stage_of = [], {}
    references = set()
    for a in range(n_applications):
        category = rng.choices(["tech_innovacity", "human_centricity", "leadership"], [5, 4, 1])[0]
        country = rng.choice(COUNTRIES)
        city = CITIES[country]
        if category == "leadership":
            organisation, applicant_type = f"Office of the Mayor of {city}", "individual"
        elif rng.random() < 0.05:
            organisation, applicant_type = rng.choice(UNIVERSITIES), "institution"
        else:
            organisation, applicant_type = f"{city} Metropolitan Government {a % 97}", "city_government"
        domain = organisation.lower().replace(" ", "").replace("ü", "u").replace("ã", "a") + ".example"
        while True:
            reference = "SSCP-2026-" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6))
            if reference not in references:
                references.add(reference)
                break
        roll = rng.random()
        stage = "eligible" if roll < 0.90 else ("ineligible" if roll < 0.985 else "withdrawn")
        app_id = str(uuid.uuid4())
        stage_of[app_id] = stage
        submitted = now - timedelta(days=60, minutes=rng.randrange(60 * 24 * 20))
        applications.append({
            "id": app_id, "reference": reference, "call_id": call_id, "category": category,
            "title": f"{rng.choice(SUBJECTS)} {rng.choice(PURPOSES)} in {city}",
            "summary": _text(rng, 60), "applicant_type": applicant_type, "organisation": organisation,
            "country": country, "city": city, "contact_email": f"smartcity{a}@{domain}", "stage": stage,
            "submitted_at": submitted, "received_at": submitted + timedelta(seconds=2),
            "answers": {key: _text(rng, 120) for key in criteria[category]},
            "project": {"location": f"{city}, {country}", "start_date": "2025-03-01",
                        "budget": f"USD {rng.randrange(100, 5000) * 1000:,}", "partners": f"{rng.choice(UNIVERSITIES)}"},
            "documents": [{"id": str(uuid.uuid4()), "kind": "application_form", "filename": "application-form.pdf",
                           "content_type": "application/pdf", "size": rng.randrange(200_000, 4_000_000),
                           "sha256": f"{rng.getrandbits(256):064x}",
                           "storage_key": f"applications/{app_id}/{uuid.uuid4().hex}/application-form.pdf"}],
            "applicant_id": str(uuid.uuid4()), "language": "en",
            "screening_reason": "" if stage != "ineligible" else "outside the call's scope",
            "screened_by": None if stage == "withdrawn" else "secretariat:bench",
            "screened_at": None if stage == "withdrawn" else now - timedelta(days=20),
            "outcome": None, "award": "", "decided_by": None, "decided_at": None})

    # conflicts as review detects them, plus a few declared ones
    conflicts, conflicted = [], set()

    def conflict(j, app, source, reason):
        conflicted.add((j["id"], app["id"]))
        conflicts.append({"id": str(uuid.uuid4()), "juror_id": j["id"], "application_id": app["id"],
                          "source": source, "reason": reason,
                          "created_by": "system" if source != "declared" else f"juror:{j['id']}",
                          "created_at": now - timedelta(days=10)})

    for j in jurors:
        for app in applications:
            if app["country"] == j["country"]:
                conflict(j, app, "country", f"same country ({j['country']})")
            elif app["organisation"] == j["organisation"]:
                conflict(j, app, "organisation", f"same organisation ({j['organisation']})")

    # the finalist round: every eligible application to K non-conflicted jurors; the 16 client
    # jurors get exactly PER_JUROR each, the other 34 the rest, least loaded first
    clients, others = jurors[:CLIENTS], jurors[CLIENTS:]
    eligible = [app for app in applications if app["stage"] == "eligible"]
    holders: dict[str, list[str]] = {app["id"]: [] for app in eligible}
    for j in clients:
        free = [app for app in eligible if (j["id"], app["id"]) not in conflicted and len(holders[app["id"]]) < K]
        for app in rng.sample(free, PER_JUROR):
            holders[app["id"]].append(j["id"])
    load = Counter()
    for app in eligible:
        while len(holders[app["id"]]) < K:
            pool = [j for j in others if (j["id"], app["id"]) not in conflicted and j["id"] not in holders[app["id"]]]
            least = min(load[j["id"]] for j in pool)
            pick = rng.choice([j for j in pool if load[j["id"]] == least])
            holders[app["id"]].append(pick["id"])
            load[pick["id"]] += 1

    client_ids = {j["id"]: k for k, j in enumerate(clients)}
    assignments, expected = [], {j["id"]: {"total": 0, "submitted": 0} for j in clients}
    app_by_id = {app["id"]: app for app in applications}
    submitted_share = {j["id"]: (5 + (k * 7) % 50) / PER_JUROR for k, j in enumerate(clients)}

    def assignment(juror_id, app, status, assigned_at):
        keys = criteria[app["category"]]
        scores, comments, revision, updated, submitted = {}, {}, 1, None, None
        if status == "submitted":
            scores = {key: rng.choice([4, 5, 6, 6.5, 7, 7.5, 8, 9]) for key in keys}
            comments = {key: _text(rng, 25) for key in keys}
            revision = len(keys) + rng.randrange(1, 4)
            updated = submitted = assigned_at + timedelta(days=rng.randrange(1, 6), minutes=rng.randrange(600))
        elif status == "pending" and rng.random() < 0.3:  # half-scored by autosave
            done = keys[:rng.randrange(1, len(keys))]
            scores = {key: rng.choice([5, 6, 7, 8]) for key in done}
            comments = {key: _text(rng, 15) for key in done[:-1]}
            revision = len(done) + 1
            updated = assigned_at + timedelta(days=1)
        return {"id": str(uuid.uuid4()), "round_id": round_id, "application_id": app["id"], "juror_id": juror_id,
                "assigned_by": "auto", "assigned_at": assigned_at, "status": status, "scores": scores,
                "comments": comments, "revision": revision, "updated_at": updated, "submitted_at": submitted}

    assigned_at = now - timedelta(days=7)
    mine: dict[str, list[str]] = {j["id"]: [] for j in clients}
    for app in eligible:
        for juror_id in holders[app["id"]]:
            if juror_id in client_ids:
                mine[juror_id].append(app["id"])
                continue
            status = "submitted" if rng.random() < 0.45 else "pending"
            assignments.append(assignment(juror_id, app, status, assigned_at))
    for juror_id, app_ids in mine.items():
        n_submitted = round(submitted_share[juror_id] * PER_JUROR)
        for n, app_id in enumerate(app_ids):
            status = "submitted" if n < n_submitted else "pending"
            assignments.append(assignment(juror_id, app_by_id[app_id], status, assigned_at))
            expected[juror_id]["total"] += 1
            expected[juror_id]["submitted"] += status == "submitted"

    # declared conflicts: each client juror, and a few others, declared one on an application they
    # had been assigned (that assignment removed; a 61st, so 60 stay live), as desk.declare_conflict does
    for j in clients + others[:6]:
        held = set(mine.get(j["id"], [])) | {a["application_id"] for a in assignments if a["juror_id"] == j["id"]}
        app = rng.choice([a for a in eligible if a["id"] not in held and (j["id"], a["id"]) not in conflicted])
        conflict(j, app, "declared", "I advised this city on the project in 2024")
        row = assignment(j["id"], app, "pending", assigned_at)
        row.update(status="removed", updated_at=now - timedelta(days=3), assigned_by="secretariat:bench")
        assignments.append(row)

    # the withdrawn applications' assignments stay (review keeps them; the desk hides them)
    withdrawn = [app for app in applications if app["stage"] == "withdrawn"]
    for app in withdrawn[:10]:
        for j in rng.sample([j for j in others if (j["id"], app["id"]) not in conflicted], K):
            assignments.append(assignment(j["id"], app, "pending", assigned_at))

    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(insert(Call), [{
                "id": call_id, "year": 2026, "theme": "Smart cities for everyone",
                "closes_at": now - timedelta(days=45), "score_min": 0, "score_max": 10, "categories": categories,
                "updated_at": now - timedelta(days=45), "version": 1}])
            conn.execute(insert(Juror), jurors)
            for table, rows in ((Application, applications), (Conflict, conflicts)):
                for start in range(0, len(rows), 500):
                    conn.execute(insert(table), rows[start:start + 500])
            conn.execute(insert(Round), [{
                "id": round_id, "call_id": call_id, "kind": "finalist", "status": "open",
                "jurors_per_application": K, "advance_per_category": 10, "min_reviews": 2,
                "peer_scores": "after_own", "disagreement_threshold": 2.5, "due_at": now + timedelta(days=14),
                "opened_at": assigned_at, "closed_at": None, "released_at": None, "ties": []}])
            for start in range(0, len(assignments), 500):
                conn.execute(insert(Assignment), assignments[start:start + 500])
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()

    counts = Counter(a["status"] for a in assignments)
    return {
        "clients": [{"id": j["id"], "name": j["name"], "token": issue_token(SECRET, "juror", j["id"]),
                     **expected[j["id"]]} for j in clients],
        "seconds": time.monotonic() - started,
        "summary": (f"{len(applications):,} applications ({len(eligible):,} eligible, {len(withdrawn)} withdrawn), "
                    f"{len(jurors)} jurors, {len(conflicts):,} conflicts "
                    f"({sum(1 for c in conflicts if c['source'] == 'declared')} declared), 1 open finalist round, "
                    f"{len(assignments):,} assignments ({counts['submitted']:,} submitted, {counts['pending']:,} "
                    f"pending, {counts['removed']} removed); client jurors {PER_JUROR} live each, the others "
                    f"{min(load.values())}-{max(load.values())}"),
    }


# --- the checks -----------------------------------------------------------------------------------

def _get(port: int, path: str, token: str) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def check_json(port: int, clients: list[dict]) -> dict[str, int]:
    """Every client juror's JSON lists its 60 assignments with the right progress; its length."""
    lengths = {}
    for c in clients:
        status, _, body = _get(port, "/api/jury/assignments", c["token"])
        if status != 200:
            raise RuntimeError(f"GET /api/jury/assignments for juror {c['id']}: {status} {body[:300]!r}")
        data = json.loads(body)
        listed = [a for rnd in data["rounds"] for a in rnd["assignments"]]
        scored = sum(rnd["progress"]["scored"] for rnd in data["rounds"])
        if len(listed) != c["total"] or len({a["id"] for a in listed}) != c["total"] or scored != c["submitted"]:
            raise RuntimeError(f"juror {c['id']}: {len(listed)} assignments listed, {scored} scored; "
                               f"expected {c['total']} and {c['submitted']}")
        if data["juror"]["id"] != c["id"]:
            raise RuntimeError(f"juror {c['id']} got {data['juror']}")
        lengths[c["id"]] = len(body)
    return lengths


def check_page(port: int, clients: list[dict]) -> tuple[bool, str]:
    """Does review serve /jury to a bearer token, listing the 60 assignments? (ok, why not)."""
    status, headers, body = _get(port, "/jury", clients[0]["token"])
    kind = headers.get("Content-Type", "")
    if status in (301, 302, 303, 307, 308):
        return False, (f"GET /jury with the bearer header redirects to {headers.get('Location')!r}: the page "
                       "wants a cookie sign-in, so it is not measured")
    if status == 404:
        return False, "review does not serve GET /jury (404): the page is not measured"
    if status != 200 or "text/html" not in kind:
        return False, f"GET /jury answered {status} {kind}: {body[:200]!r}; the page is not measured"
    for c in clients:
        status, _, body = _get(port, "/jury", c["token"])
        links = body.count(PAGE_LINK)
        if status != 200 or links != c["total"]:
            raise RuntimeError(f"GET /jury for juror {c['id']}: {status}, {links} application links, "
                               f"expected {c['total']}")
    return True, f"GET /jury served to the bearer token: {len(body):,} bytes of HTML, {PAGE_LINK.decode()}… ×60"


# --- the load -------------------------------------------------------------------------------------

def load(port: int, path: str, clients: list[dict], per_client: int, seconds: float, check) -> dict:
    """CLIENTS threads, one keep-alive connection and one juror each, closed loop on ``path`` until
    ``per_client`` requests or ``seconds``. ``check(k, status, body)`` → an error string or None."""
    times: list[list[float]] = [[] for _ in range(CLIENTS)]
    errors: list[str] = []
    marks: list[tuple[float, float]] = [(0.0, 0.0)] * CLIENTS
    barrier = threading.Barrier(CLIENTS)

    def client(k: int) -> None:
        headers = {"Authorization": f"Bearer {clients[k]['token']}"}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = times[k]
        try:
            conn.connect()
            barrier.wait()
            first = time.perf_counter()
            stop = first + seconds
            while len(mine) < per_client and time.perf_counter() < stop:
                start = time.perf_counter()
                try:
                    conn.request("GET", path, headers=headers)
                    response = conn.getresponse()
                    body = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    continue
                mine.append(time.perf_counter() - start)
                problem = check(k, response.status, body)
                if problem:
                    errors.append(problem)
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
    return {"rate": len(flat) / elapsed if elapsed > 0 else 0.0, "times": flat, "errors": errors, "seconds": elapsed}


def _checks(clients: list[dict], lengths: dict[str, int]) -> dict:
    def healthz(k, status, body):
        return None if status == 200 else f"/healthz {status} {body[:200]!r}"

    def as_json(k, status, body):
        if status != 200 or len(body) != lengths[clients[k]["id"]]:
            return f"/api/jury/assignments {status}, {len(body)} bytes {body[:200]!r}"
        return None

    def page(k, status, body):
        if status != 200 or body.count(PAGE_LINK) != clients[k]["total"]:
            return f"/jury {status}, {body.count(PAGE_LINK)} links"
        return None

    return {"healthz": ("/healthz", healthz), "json": ("/api/jury/assignments", as_json), "page": ("/jury", page)}


@contextlib.contextmanager
def serving(folder: Path):
    """A fresh database upgraded by ``prize db upgrade --only review``, prepared, and ``prize web
    review`` on it: yields (port, procs, prepared, database name)."""
    procs = ProcessGroup(folder)
    with fresh_databases(("review",)) as urls, contextlib.ExitStack() as stack:
        stack.callback(procs.stop)  # the server stops before its database goes
        port = free_port()
        env = dict(os.environ, PRIZE_REVIEW_DATABASE_URL=urls["review"], PRIZE_NAMESPACE=new_namespace(),
                   PRIZE_SECRET_KEY=SECRET, PRIZE_REVIEW_PORT=str(port), PRIZE_WEB_WORKERS=str(WORKERS),
                   PRIZE_WEB_THREADS=str(THREADS), PRIZE_VAR_DIR=str(folder / "var"), PYTHONUNBUFFERED="1")
        done = subprocess.run(prize_command() + ["db", "upgrade", "--only", "review"], env=env,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError("prize db upgrade --only review failed:\n" + done.stdout[-2000:] + done.stderr[-2000:])
        prepared = prepare(urls["review"])
        procs.start("review-web", prize_command() + ["web", "review"], env)
        _wait_ready(port, procs.check_alive)
        yield port, procs, prepared, urls["review"].rsplit("/", 1)[1]


def _wait_ready(port: int, alive, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        alive()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"prize web review on port {port} did not become ready")
        time.sleep(0.2)


def measure(n_requests: int, seconds: float, rounds: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="prize-bench-jury-"))
    try:
        with serving(folder) as (port, procs, prepared, database):
            clients = prepared["clients"]
            lengths = check_json(port, clients)
            page_ok, page_note = check_page(port, clients)
            checks = _checks(clients, lengths)
            kinds = ["healthz", "json"] + (["page"] if page_ok else [])
            for kind in kinds:  # warm-up, not counted
                path, check = checks[kind]
                warm = load(port, path, clients, WARMUP_PER_CLIENT, 30.0, check)
                if warm["errors"]:
                    procs.check_alive()
                    raise RuntimeError(f"warm-up of {path} failed: " + "; ".join(warm["errors"][:3]))
            per_client = max(1, n_requests // rounds // CLIENTS)
            results = {kind: [] for kind in kinds}
            cpu = {kind: {"web": 0.0, "postgres": 0.0, "clients": 0.0} for kind in kinds}
            pid = procs.procs["review-web"].pid
            for r in range(rounds):
                for kind in kinds:
                    path, check = checks[kind]
                    cpu0 = (tree_cpu(pid), postgres_cpu([database]), time.process_time())
                    result = load(port, path, clients, per_client, seconds / rounds, check)
                    cpu1 = (tree_cpu(pid), postgres_cpu([database]), time.process_time())
                    for name, before, after in zip(("web", "postgres", "clients"), cpu0, cpu1):
                        cpu[kind][name] += after - before
                    results[kind].append(result)
                    say(f"  round {r + 1} {path:<22}: {len(result['times']):5,} requests in {result['seconds']:.1f} s, "
                        f"{result['rate']:.0f}/s, p50 {percentile(result['times'], 50) * 1000:.1f} ms, "
                        f"p99 {percentile(result['times'], 99) * 1000:.1f} ms"
                        + (f"; {len(result['errors'])} errors, first: {result['errors'][0]}" if result["errors"] else ""))
            procs.check_alive()
            done = {kind: sum(len(r["times"]) for r in parts) for kind, parts in results.items()}
            return {"prepared": prepared, "page_ok": page_ok, "page_note": page_note, "results": results,
                    "cpu_ms": {kind: {name: v / max(1, done[kind]) * 1000 for name, v in parts.items()}
                               for kind, parts in cpu.items()},
                    "json_bytes": statistics.median(lengths.values())}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _summary(parts: list[dict]) -> dict:
    times = [x for r in parts for x in r["times"]]
    return {"rate": statistics.median(r["rate"] for r in parts), "p50": percentile(times, 50) * 1000,
            "p99": percentile(times, 99) * 1000, "n": len(times), "errors": [e for r in parts for e in r["errors"]]}


def run(n_requests: int, seconds: float = 15.0, rounds: int = 3) -> list[Row]:
    """Figure 8: n_requests per endpoint at most (or ``seconds`` each), in ``rounds`` alternating rounds."""
    say(f"\n== 8. The juror's assignment page: {PER_JUROR} assignments, GET /api/jury/assignments and GET /jury on "
        f"`prize web review`, gunicorn gthread {WORKERS}×{THREADS}, {CLIENTS} keep-alive clients (one juror each), "
        f"PostgreSQL; up to {n_requests:,} requests or {seconds:.0f} s per endpoint in {rounds} round(s); "
        f"baseline GET /healthz on the same server ==")
    rows = [Row("8. juror page JSON p99 (60 assignments)", None, "ms", baseline_label="(/healthz)",
                target=f"p99 ≤ {TARGET_RATIO:.0f}x /healthz's"),
            Row("   JSON p50", None, "ms", baseline_label="(/healthz)"),
            Row("   JSON rate", None, "req/s", baseline_label="(/healthz)")]
    try:
        m = measure(n_requests, seconds, rounds)
    except Exception as exc:
        say(f"  FAILED: {type(exc).__name__}: {exc}")
        rows[0].met = False
        return rows
    say(f"  prepared with review's ORM in {m['prepared']['seconds']:.1f} s: {m['prepared']['summary']}")
    say(f"  checked before timing: each of the {CLIENTS} jurors' JSON lists its {PER_JUROR} assignments with the "
        f"progress of the inserted statuses ({m['json_bytes']:,.0f} bytes each)")
    say(f"  {m['page_note']}")
    base = _summary(m["results"]["healthz"])
    measured = {kind: _summary(m["results"][kind]) for kind in m["results"] if kind != "healthz"}
    labels = {"json": "GET /api/jury/assignments", "page": "GET /jury (HTML)"}
    say(f"  baseline GET /healthz: {base['rate']:.0f} req/s, p50 {base['p50']:.1f} ms, p99 {base['p99']:.1f} ms "
        f"({base['n']:,} requests)")
    for kind, s in measured.items():
        say(f"  {labels[kind]}: {s['rate']:.0f} req/s, p50 {s['p50']:.1f} ms, p99 {s['p99']:.1f} ms ({s['n']:,} "
            f"requests); p99 {s['p99'] / base['p99']:.1f}x the floor's, rate {s['rate'] / base['rate']:.2f}x"
            + (f"; {len(s['errors'])} bad answers, first: {s['errors'][0]}" if s["errors"] else "; every answer checked"))
    for kind, parts in m["cpu_ms"].items():
        say(f"  CPU per request, {labels.get(kind, 'GET /healthz')}: {sum(parts.values()):.2f} ms in all: web "
            f"(gunicorn master + workers) {parts['web']:.2f}, its PostgreSQL backends {parts['postgres']:.2f}, "
            f"the {CLIENTS} clients {parts['clients']:.2f} (on {os.cpu_count()} cores that caps the rate near "
            f"{os.cpu_count() / max(1e-9, sum(parts.values())) * 1000:.0f}/s)")

    def fill(first: int, kind: str, name: str) -> None:
        s = measured[kind]
        ok = not s["errors"] and not base["errors"]
        rows[first].value, rows[first].baseline = s["p99"], base["p99"]
        rows[first].ratio = s["p99"] / base["p99"] if base["p99"] else None
        rows[first].met = ok and base["p99"] > 0 and s["p99"] <= TARGET_RATIO * base["p99"]
        say(f"  {name} p99 {s['p99']:.1f} ms = {s['p99'] / base['p99'] if base['p99'] else float('nan'):.2f}x "
            f"/healthz's {base['p99']:.1f} ms (target ≤ {TARGET_RATIO:.0f}x); the absolute {TARGET_MS:.0f} ms of a "
            f"good day (information): {'within' if s['p99'] <= TARGET_MS else 'over'}")
        if not ok:
            rows[first].notes.append(f"{name}: bad answers")
        rows[first + 1].value, rows[first + 1].baseline = s["p50"], base["p50"]
        rows[first + 1].ratio = s["p50"] / base["p50"] if base["p50"] else None
        rows[first + 2].value, rows[first + 2].baseline = s["rate"], base["rate"]
        rows[first + 2].ratio = s["rate"] / base["rate"] if base["rate"] else None

    fill(0, "json", "JSON")
    if "page" in measured:
        rows += [Row("8. juror page HTML /jury p99", None, "ms", baseline_label="(/healthz)",
                     target=f"p99 ≤ {TARGET_RATIO:.0f}x /healthz's"),
                 Row("   HTML p50", None, "ms", baseline_label="(/healthz)"),
                 Row("   HTML rate", None, "req/s", baseline_label="(/healthz)")]
        fill(3, "page", "HTML")
    else:
        rows.append(Row("8. juror page HTML /jury: not measured", None, "ms", notes=[m["page_note"]]))
    return rows


# --- where the time goes --------------------------------------------------------------------------

AREAS = (("psycopg", "psycopg"), ("sqlalchemy", "sqlalchemy"), ("marshmallow", "marshmallow"),
         ("flask_smorest", "flask-smorest"), ("apispec", "flask-smorest"), ("werkzeug", "flask/werkzeug"),
         ("flask/", "flask/werkzeug"), ("jinja2", "jinja2"), ("markupsafe", "jinja2"), ("itsdangerous", "itsdangerous"),
         ("pythonjsonlogger", "logging"), ("logging/", "logging"), ("prometheus_client", "prometheus"),
         ("json/", "json"), ("gunicorn", "gunicorn"), ("selectors", "gunicorn"), ("socket", "socket"),
         ("threading", "threading"), ("services/", "review"), ("shared/", "shared"))


def _area(frame: str) -> str:
    for needle, area in AREAS:
        if needle in frame:
            return area
    return "other"


def py_spy(seconds: float, path: str = "/api/jury/assignments") -> None:
    """Set up as the figure does, load ``path`` for ``seconds`` while py-spy (--gil: only the thread
    holding the GIL is sampled, i.e. where Python's time goes) records each gunicorn worker."""
    spy = Path(sys.executable).parent / "py-spy"
    folder = Path(tempfile.mkdtemp(prefix="prize-bench-jury-spy-"))
    keep = Path(tempfile.mkdtemp(prefix="prize-bench-jury-profile-"))
    try:
        with serving(folder) as (port, procs, prepared, _):
            clients = prepared["clients"]
            lengths = check_json(port, clients)
            page_ok, _ = check_page(port, clients)
            if path == "/jury" and not page_ok:
                raise SystemExit("review does not serve /jury to a bearer token")
            check = dict(_checks(clients, lengths).values())[path]
            load(port, path, clients, WARMUP_PER_CLIENT, 30.0, check)
            master = procs.procs["review-web"].pid
            workers = [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) == master]
            recorders = [subprocess.Popen([str(spy), "record", "--gil", "--format", "raw", "--rate", "200",
                                           "--duration", str(int(seconds) + 1), "--pid", str(w),
                                           "--output", str(keep / f"worker-{w}.txt"), "--nonblocking"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for w in workers]
            time.sleep(1.0)
            result = load(port, path, clients, 10**9, seconds, check)
            for r in recorders:
                r.wait(timeout=60)
            say(f"{path}: {result['rate']:.0f} req/s, p50 {percentile(result['times'], 50) * 1000:.1f} ms, "
                f"p99 {percentile(result['times'], 99) * 1000:.1f} ms under py-spy ({len(result['errors'])} errors)")
        own, inclusive, areas, total = Counter(), Counter(), Counter(), 0
        for f in keep.glob("worker-*.txt"):
            for line in f.read_text(errors="replace").splitlines():
                stack, _, count = line.rpartition(" ")
                if not count.isdigit():
                    continue
                n = int(count)
                frames = stack.split(";")
                total += n
                own[frames[-1]] += n
                areas[_area(frames[-1])] += n
                for frame in {re.sub(r":\d+\)$", ")", frame) for frame in frames}:  # per function
                    inclusive[frame] += n
        if not total:
            say(f"py-spy recorded nothing (see {keep})")
            return
        say(f"{total:,} samples holding the GIL in {len(workers)} workers; raw stacks kept in {keep}")
        say("own time by area: " + ", ".join(f"{a} {n / total:.0%}" for a, n in areas.most_common()))
        say("inclusive, per function (top 40):")
        for frame, n in [(fr, n) for fr, n in inclusive.most_common() if "threading.py" not in fr][:40]:
            say(f"  {n / total:5.1%}  {frame}")
        say("own time, top frames:")
        for frame, n in own.most_common(25):
            say(f"  {n / total:5.1%}  {frame}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


if __name__ == "__main__":
    from .common import quiet_logs
    quiet_logs()
    if len(sys.argv) in (3, 4) and sys.argv[1] == "--py-spy":
        py_spy(float(sys.argv[2]), sys.argv[3] if len(sys.argv) == 4 else "/api/jury/assignments")
    elif len(sys.argv) == 2 and sys.argv[1].isdigit():
        from .common import print_table
        print_table(run(int(sys.argv[1])))
    else:
        raise SystemExit("usage: python -m bench.jury_page N | --py-spy SECONDS [PATH]")
