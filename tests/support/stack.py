"""The services in this test process: Flask test clients and workers on threads."""
from __future__ import annotations

import importlib
import io
import json
import re
import threading
import time
from urllib.parse import urlsplit

from sqlalchemy import select

from shared.auth import issue_token
from shared.migrations import upgrade

SERVICES = ("intake", "review", "notify")


def migrate(settings, services=SERVICES) -> None:
    for svc in services:
        upgrade(svc, settings.database_url(svc))


class Stack:
    def __init__(self, settings, services=SERVICES):
        self.settings = settings
        self.services = services
        migrate(settings, services)
        # Every test client calls from 127.0.0.1: the per-client sign-in limit would otherwise
        # stop tests that register many applicants (tests of the limit set it back).
        test_config = {"TESTING": True, "SIGNIN_LIMIT_PER_CLIENT": 10_000}
        self.apps = {svc: importlib.import_module(f"services.{svc}.app").create_app(
            settings=settings, test_config=test_config) for svc in services}
        self.clients = {svc: app.test_client() for svc, app in self.apps.items()}
        self.workers = {}
        self._threads = []

    def start_workers(self, services=None):
        for svc in services or self.services:
            worker = importlib.import_module(f"services.{svc}.app").create_worker(settings=self.settings)
            self.workers[svc] = worker
            t = threading.Thread(target=worker.run, name=f"test-{svc}-worker", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self):
        for worker in self.workers.values():
            worker.stop()
        for t in self._threads:
            t.join(timeout=10)
        for app in self.apps.values():
            app.extensions["prize"]["db"].dispose()

    def secretariat_token(self) -> str:
        return issue_token(self.settings.secret_key, "secretariat", "test-secretariat")


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def open_call(intake, token: str, year: int = 2026, **overrides) -> dict:
    body = {"year": year, "theme": "Smart cities for everyone",
            "opens_at": "2026-01-01T00:00:00+09:00", "closes_at": "2099-07-14T18:00:00+09:00",
            "time_zone": "Asia/Seoul"}
    body.update(overrides)
    r = intake.post("/api/calls", json=body, headers=auth(token))
    assert r.status_code == 201, r.get_json()
    call = r.get_json()
    r = intake.post(f"/api/calls/{call['id']}/open", headers=auth(token))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


KAOHSIUNG = {"type": "city_government", "organisation": "Kaohsiung City Government", "country": "TW",
             "city": "高雄 Kaohsiung", "contact_name": "Lin Mei-hua",
             "contact_email": "mei.lin@kcg.example.tw", "language": "en",
             "privacy_consent": 1}  # the version of the privacy notice read: the default notice's


def register(intake, **overrides) -> tuple[dict, str]:
    """Register an applicant and sign in for the API the real way: returns (applicant, token)."""
    body = dict(KAOHSIUNG)
    body.update(overrides)
    r = intake.post("/api/applicants", json=body)
    assert r.status_code == 202, r.get_json()
    token = api_token(intake, body["contact_email"])
    # registration tells nothing about the applicant (it answers the same for a registered
    # address); the record is the signed-in applicant's to read
    r = intake.get("/api/applicants/me", headers=auth(token))
    assert r.status_code == 200, r.get_json()
    return r.get_json(), token


def signin_events(intake, email: str | None = None) -> list[dict]:
    """The data of intake's signin.requested outbox rows (for ``email``), oldest first."""
    from services.intake.models import outbox
    db = intake.application.extensions["prize"]["db"]
    with db.engine.connect() as conn:
        bodies = conn.execute(select(outbox.c.body).where(outbox.c.type == "signin.requested")
                              .order_by(outbox.c.seq)).scalars().all()
    events = [json.loads(b)["data"] for b in bodies]
    return [e for e in events if email is None or e["email"] == email.lower()]


def open_signin_link(client, path: str, **kwargs):
    """Open a one-time sign-in link as a person does: its page (a GET spends nothing, since mail
    scanners open every link), then its Sign in button (the POST that spends it). Returns the
    POST's answer (303 to the portal when it signed in)."""
    page = client.get(path, **kwargs)
    assert page.status_code == 200, page.get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post(path, data={"csrf_token": token}, **kwargs)


def api_token(intake, email: str) -> str:
    """Ask for an API sign-in code, read it from the outbox, exchange it for a bearer token."""
    r = intake.post("/api/signin", json={"email": email, "purpose": "api"})
    assert r.status_code == 202, r.get_json()
    code = signin_events(intake, email)[-1]["code"]
    r = intake.post("/api/signin/token", json={"token": code})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["token"]


# The smallest file the document check accepts as a PDF (it reads the content, not the name).
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"


def start_draft(intake, token: str, call_id: str, category="tech_innovacity",
                title="Hydrogen buses for the harbour", summary="Clean mobility for 高雄.") -> dict:
    r = intake.post("/api/applications", json={"call_id": call_id, "category": category,
                                               "title": title, "summary": summary}, headers=auth(token))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def answer_every_criterion(intake, token: str, app_id: str, text="Evidence from residents shaped it.") -> dict:
    """Fill the answer of each criterion of the application's category (its call's terms)."""
    r = intake.get(f"/api/applications/{app_id}", headers=auth(token))
    assert r.status_code == 200, r.get_json()
    answers = {c["key"]: text for c in r.get_json()["criteria"]}
    r = intake.patch(f"/api/applications/{app_id}", json={"answers": answers}, headers=auth(token))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def upload_document(intake, token: str, app_id: str, kind="application_form", body: bytes = PDF,
                    filename="application-form.pdf", content_type="application/pdf") -> dict:
    """Upload a file the way the portal does, through the embedded file store (``file://``):
    ask for a signed form, post the file to it, then have intake check it. Returns the
    document, verified."""
    r = intake.post(f"/api/applications/{app_id}/documents", headers=auth(token), json={
        "kind": kind, "filename": filename, "content_type": content_type, "size": len(body)})
    assert r.status_code == 201, r.get_json()
    started = r.get_json()
    url = urlsplit(started["upload"]["url"])
    assert url.path == "/storage/upload", f"not the embedded file store: {started['upload']['url']}"
    form = {**started["upload"]["fields"], "file": (io.BytesIO(body), filename, content_type)}
    r = intake.post(f"{url.path}?{url.query}", data=form, content_type="multipart/form-data")
    assert r.status_code == 204, r.get_data(as_text=True)[:500]
    r = intake.post(f"/api/documents/{started['document']['id']}/complete", headers=auth(token))
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "verified", r.get_json()
    return r.get_json()


def complete_draft(intake, token: str, app_id: str) -> dict:
    """Make a draft submittable under its call's terms: every criterion answered and a checked
    PDF for each document the call requires. Returns the application as the API shows it."""
    r = intake.get(f"/api/applications/{app_id}", headers=auth(token))
    assert r.status_code == 200, r.get_json()
    call = intake.get(f"/api/calls/{r.get_json()['call_id']}").get_json()
    answer_every_criterion(intake, token, app_id)
    for document in call["documents"] or []:
        if document.get("required"):
            upload_document(intake, token, app_id, kind=document["key"])
    r = intake.get(f"/api/applications/{app_id}", headers=auth(token))
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["missing"] == [], r.get_json()["missing"]
    return r.get_json()


def complete_new_draft(intake, token: str, call_id: str, category="tech_innovacity", **fields) -> dict:
    """A new draft, complete: ready to submit."""
    return complete_draft(intake, token, start_draft(intake, token, call_id, category, **fields)["id"])


def submit_application(intake, token: str, call_id: str, category="tech_innovacity",
                       title="Hydrogen buses for the harbour", summary="Clean mobility for 高雄.") -> dict:
    """Start a draft, complete it (answers, required documents) and submit it."""
    draft = complete_new_draft(intake, token, call_id, category, title=title, summary=summary)
    r = intake.post(f"/api/applications/{draft['id']}/submit", headers=auth(token))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def unpublished(db, outbox) -> int:
    """How many rows of a service's outbox its relay has not published yet."""
    from sqlalchemy import func
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None)))


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    return predicate()
