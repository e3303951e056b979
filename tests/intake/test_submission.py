"""The submit path under concurrency, on both stacks: one event per application, never a
submission of content or documents that changed after the rules judged them."""
from __future__ import annotations

import json
import threading

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from services.intake import rules as domain
from services.intake.ops import submission
from services.intake.models import Application, Document, outbox
from shared.events import make_event
from tests.support.stack import Stack, auth, complete_new_draft, open_call, register


@pytest.fixture(params=["embedded", "postgresql"])
def stack(request, tmp_path):
    settings = request.getfixturevalue("embedded_settings" if request.param == "embedded" else "real_settings")
    s = Stack(settings, services=("intake",))
    yield s
    s.stop()


@pytest.fixture
def intake(stack):
    return stack.clients["intake"]


@pytest.fixture
def db(intake):
    return intake.application.extensions["prize"]["db"]


@pytest.fixture
def draft(stack, intake):
    call = open_call(intake, stack.secretariat_token())
    _, token = register(intake)
    return complete_new_draft(intake, token, call["id"]), token


def submitted_events(db, application_id: str) -> list[dict]:
    with db.engine.connect() as conn:
        bodies = conn.execute(select(outbox.c.body).where(outbox.c.type == "application.submitted")).scalars().all()
    return [json.loads(b)["data"] for b in bodies if json.loads(b)["data"]["application_id"] == application_id]


def test_simultaneous_submits_of_one_draft_make_one_event(stack, draft, db):
    application, token = draft
    app = stack.apps["intake"]
    answers, barrier = [], threading.Barrier(6)

    def click():
        client = app.test_client()
        barrier.wait()
        r = client.post(f"/api/applications/{application['id']}/submit", headers=auth(token))
        answers.append((r.status_code, r.get_json()["status"]))

    threads = [threading.Thread(target=click) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert answers == [(200, "submitted")] * 6
    assert len(submitted_events(db, application["id"])) == 1


def test_the_guard_refuses_a_stale_revision_and_a_document_gone(draft, db):
    application, _ = draft
    now = datetime.now(timezone.utc)
    event = make_event("application.submitted", {
        "application_id": application["id"], "reference": application["reference"], "call_id": application["call_id"],
        "year": 2026, "category": application["category"], "title": application["title"],
        "summary": application["summary"], "submitted_at": now,
        "applicant": {"id": application["applicant_id"], "type": "city_government", "organisation": "x",
                      "country": "TW", "city": "Kaohsiung", "contact_name": "Lin", "contact_email": "a@b.tw",
                      "secondary_email": None, "language": "en"}}, producer="intake", correlation_id=application["id"])

    with db.engine.connect() as conn:  # what the submit read: one checked document, checked then
        [(count, last)] = conn.execute(select(func.count(), func.max(Document.verified_at)).where(
            Document.application_id == application["id"], Document.status == "verified")).all()
    assert count == 1

    def attempt(revision, verified_count=count, last_verified_at=last):
        with db.engine.connect() as conn, conn.begin():
            return submission._SUBMIT(conn, event, {
                "application_id": application["id"], "read_revision": revision, "now": now,
                "verified_count": verified_count, "last_verified_at": last_verified_at}, db.notify_channel)

    assert attempt(application["revision"] - 1) is False  # saved since it was read
    assert attempt(application["revision"], last_verified_at=last - timedelta(seconds=1)) is False  # checked since
    with db.engine.begin() as conn:  # the required PDF no longer verified
        conn.execute(update(Document).where(Document.application_id == application["id"]).values(status="rejected"))
    assert attempt(application["revision"]) is False
    assert submitted_events(db, application["id"]) == []
    with db.engine.connect() as conn:
        assert conn.execute(select(Application.status).where(Application.id == application["id"])).scalar() == "draft"
    with db.engine.begin() as conn:
        conn.execute(update(Document).where(Document.application_id == application["id"]).values(status="verified"))
    assert attempt(application["revision"]) is True
    assert len(submitted_events(db, application["id"])) == 1


# On SQLite the read and the write share one write-locked transaction: nothing can come between.
@pytest.mark.parametrize("stack", ["postgresql"], indirect=True)
def test_a_save_between_the_read_and_the_write_is_judged_again(stack, draft, db, intake, monkeypatch):
    """The draft changes after the rules read it: the write is refused by its guard, the draft is
    read again, and what is submitted (and published) is the saved content."""
    application, token = draft
    real_check, saves = domain.check_may_submit, []

    def check_then_someone_saves(app_row, *args, **kwargs):
        real_check(app_row, *args, **kwargs)
        if not saves:  # another tab saves a new title just after the first read
            saves.append(stack.apps["intake"].test_client().patch(
                f"/api/applications/{application['id']}", json={"title": "Hydrogen ferries for the harbour"},
                headers=auth(token)).status_code)

    monkeypatch.setattr(domain, "check_may_submit", check_then_someone_saves)
    r = intake.post(f"/api/applications/{application['id']}/submit", headers=auth(token))
    assert saves == [200]
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["title"] == "Hydrogen ferries for the harbour"
    [event] = submitted_events(db, application["id"])
    assert event["title"] == "Hydrogen ferries for the harbour"


@pytest.mark.parametrize("stack", ["postgresql"], indirect=True)
def test_a_draft_that_keeps_changing_is_refused_with_409_not_submitted_stale(stack, draft, db, intake, monkeypatch):
    application, token = draft
    real_check, other = domain.check_may_submit, stack.apps["intake"].test_client()

    def check_then_save_again(app_row, *args, **kwargs):
        real_check(app_row, *args, **kwargs)
        assert other.patch(f"/api/applications/{application['id']}", json={"summary": f"Revised {app_row.revision}"},
                           headers=auth(token)).status_code == 200

    monkeypatch.setattr(domain, "check_may_submit", check_then_save_again)
    r = intake.post(f"/api/applications/{application['id']}/submit", headers=auth(token))
    assert r.status_code == 409, r.get_json()
    assert "kept changing" in r.get_json()["message"]
    assert submitted_events(db, application["id"]) == []


def test_the_event_carries_the_frozen_content_for_the_jurors(draft, db, intake):
    application, token = draft
    r = intake.post(f"/api/applications/{application['id']}/submit", headers=auth(token))
    assert r.status_code == 200, r.get_json()
    [event] = submitted_events(db, application["id"])
    assert event["answers"] == application["answers"] and len(event["answers"]) == len(application["criteria"])
    assert set(event["project"]) == {"location", "start_date", "budget", "partners"}
    documents = intake.get(f"/api/applications/{application['id']}/documents", headers=auth(token)).get_json()
    checked = [d for d in (documents["items"] if isinstance(documents, dict) else documents) if d["status"] == "verified"]
    assert [(d["id"], d["kind"], d["sha256"]) for d in event["documents"]] == \
        [(d["id"], d["kind"], d["sha256"]) for d in checked]
    assert all(d["storage_key"] and d["size"] > 0 for d in event["documents"])
