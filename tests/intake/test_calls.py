"""Calls: criteria guidance and word limits, documents, versioned changes, deadline exceptions.

In-process embedded stack (Flask test clients, SQLite); no workers.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from services.intake.models import Call, outbox
from tests.support.stack import auth, complete_draft, open_call, register

DRAFT = {"year": 2027, "theme": "Cities that listen", "opens_at": "2027-01-01T00:00:00+09:00",
         "closes_at": "2027-07-14T18:00:00+09:00", "time_zone": "Asia/Seoul"}


def _db(stack):
    return stack.apps["intake"].extensions["prize"]["db"]


def _call_events(stack) -> list[dict]:
    with _db(stack).session() as s:
        bodies = s.scalars(select(outbox.c.body).where(outbox.c.type == "call.opened").order_by(outbox.c.seq)).all()
    return [json.loads(b)["data"] for b in bodies]


def _close_call(stack, call_id):
    """Move the closing time into the past, as if the deadline had passed."""
    with _db(stack).session() as s, s.begin():
        s.execute(update(Call).where(Call.id == call_id).values(
            closes_at=datetime.now(timezone.utc) - timedelta(hours=1)))


def test_call_default_terms_carry_guidance_word_limits_and_documents(intake, sec):
    r = intake.post("/api/calls", json=DRAFT, headers=auth(sec))
    assert r.status_code == 201
    call = r.get_json()
    leadership = [c for c in call["categories"] if c["key"] == "leadership"][0]
    assert [c["key"] for c in leadership["criteria"]] == ["vision", "impact", "collaboration", "influence"]
    assert all(c["guidance"] and c["word_limit"] == 500 and c["weight"] == 1.0 for c in leadership["criteria"])
    # what a real application needs: every criterion answered, the application form (PDF)
    assert all(c["required"] for category in call["categories"] for c in category["criteria"])
    assert [(d["key"], d["required"]) for d in call["documents"]] == [
        ("application_form", True), ("supporting_material", False)]
    assert call["max_upload_bytes"] == 50 * 1024 * 1024
    assert call["version"] == 1


def test_call_patch_before_opening_edits_draft_without_version(stack, intake, sec):
    call = intake.post("/api/calls", json=DRAFT, headers=auth(sec)).get_json()
    r = intake.patch(f"/api/calls/{call['id']}", json={"theme": "Cities that hear"}, headers=auth(sec))
    assert r.status_code == 200
    assert (r.get_json()["theme"], r.get_json()["version"]) == ("Cities that hear", 1)
    assert intake.get(f"/api/calls/{call['id']}/versions").get_json() == []
    assert _call_events(stack) == []


def test_call_patch_after_opening_without_reason_is_422(intake, sec):
    call = open_call(intake, sec)
    r = intake.patch(f"/api/calls/{call['id']}", json={"theme": "Quietly changed"}, headers=auth(sec))
    assert r.status_code == 422
    assert list(r.get_json()["errors"]["json"]) == ["reason"]
    assert intake.get(f"/api/calls/{call['id']}").get_json()["theme"] == call["theme"]


def test_call_patch_after_opening_is_versioned_and_republished(stack, intake, sec):
    call = open_call(intake, sec)
    closes = "2099-08-01T18:00:00+09:00"
    r = intake.patch(f"/api/calls/{call['id']}", headers=auth(sec),
                     json={"closes_at": closes, "reason": "typhoon closed the city hall"})
    assert r.status_code == 200
    assert r.get_json()["version"] == 2
    versions = intake.get(f"/api/calls/{call['id']}/versions").get_json()
    assert [(v["version"], v["changed_by"], v["reason"]) for v in versions] == [
        (2, "operator test-secretariat", "typhoon closed the city hall")]
    assert versions[0]["terms"]["closes_at"] == "2099-08-01T09:00:00+00:00"
    events = _call_events(stack)
    assert [e.get("version") for e in events] == [1, 2]
    assert events[-1]["closes_at"] == "2099-08-01T09:00:00+00:00"


def test_call_patch_inconsistent_dates_is_422(intake, sec):
    call = open_call(intake, sec)
    r = intake.patch(f"/api/calls/{call['id']}", headers=auth(sec),
                     json={"closes_at": "2025-01-01T00:00:00+00:00", "reason": "typo"})
    assert r.status_code == 422
    assert list(r.get_json()["errors"]["json"]) == ["closes_at"]


def test_call_patch_by_applicant_is_403(intake, sec):
    call = open_call(intake, sec)
    _, token = register(intake)
    r = intake.patch(f"/api/calls/{call['id']}", json={"theme": "mine now", "reason": "x"}, headers=auth(token))
    assert r.status_code == 403


def test_call_draft_does_not_accept_applications(intake, sec):
    call = intake.post("/api/calls", json=DRAFT, headers=auth(sec)).get_json()
    _, token = register(intake)
    r = intake.post("/api/applications", json={"call_id": call["id"], "category": "tech_innovacity"},
                    headers=auth(token))
    assert r.status_code == 422


def _draft(intake, token, call_id, title="Hydrogen buses", summary="Clean harbour."):
    r = intake.post("/api/applications", json={"call_id": call_id, "category": "tech_innovacity",
                                               "title": title, "summary": summary}, headers=auth(token))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _grant(intake, sec, call_id, applicant_id, closes_at="2099-01-01T00:00:00+00:00"):
    return intake.post(f"/api/calls/{call_id}/exceptions", headers=auth(sec), json={
        "applicant_id": applicant_id, "closes_at": closes_at, "reason": "flood in the city hall"})


def test_exception_granted_is_recorded_with_who_and_why(stack, intake, sec):
    call = open_call(intake, sec)
    applicant, _ = register(intake)
    r = _grant(intake, sec, call["id"], applicant["id"], closes_at="2099-12-31T00:00:00+00:00")
    assert r.status_code == 201
    body = r.get_json()
    assert (body["applicant_id"], body["granted_by"], body["reason"], body["revoked_at"]) == (
        applicant["id"], "operator test-secretariat", "flood in the city hall", None)


def test_exception_not_extending_the_deadline_is_422(intake, sec):
    call = open_call(intake, sec)
    applicant, _ = register(intake)
    r = _grant(intake, sec, call["id"], applicant["id"], closes_at="2026-02-01T00:00:00+00:00")
    assert r.status_code == 422
    assert list(r.get_json()["errors"]["json"]) == ["closes_at"]


def test_exception_honoured_for_submit_after_deadline(stack, intake, sec):
    call = open_call(intake, sec)
    applicant, token = register(intake)
    draft = complete_draft(intake, token, _draft(intake, token, call["id"])["id"])
    _close_call(stack, call["id"])
    assert intake.post(f"/api/applications/{draft['id']}/submit", headers=auth(token)).status_code == 409
    assert _grant(intake, sec, call["id"], applicant["id"]).status_code == 201
    r = intake.post(f"/api/applications/{draft['id']}/submit", headers=auth(token))
    assert r.status_code == 200
    assert r.get_json()["status"] == "submitted"


def test_exception_honoured_for_draft_creation_after_deadline(stack, intake, sec):
    call = open_call(intake, sec)
    applicant, token = register(intake)
    _close_call(stack, call["id"])
    body = {"call_id": call["id"], "category": "tech_innovacity"}
    assert intake.post("/api/applications", json=body, headers=auth(token)).status_code == 409
    _grant(intake, sec, call["id"], applicant["id"])
    assert intake.post("/api/applications", json=body, headers=auth(token)).status_code == 201


def test_exception_only_for_the_named_applicant(stack, intake, sec):
    call = open_call(intake, sec)
    favoured, _ = register(intake)
    _, other_token = register(intake, contact_email="other@lublin.example.pl", organisation="Lublin")
    draft = complete_draft(intake, other_token, _draft(intake, other_token, call["id"])["id"])
    _close_call(stack, call["id"])
    _grant(intake, sec, call["id"], favoured["id"])
    assert intake.post(f"/api/applications/{draft['id']}/submit", headers=auth(other_token)).status_code == 409


def test_exception_revoked_is_no_longer_honoured(stack, intake, sec):
    call = open_call(intake, sec)
    applicant, token = register(intake)
    draft = complete_draft(intake, token, _draft(intake, token, call["id"])["id"])
    _close_call(stack, call["id"])
    granted = _grant(intake, sec, call["id"], applicant["id"]).get_json()
    r = intake.delete(f"/api/calls/{call['id']}/exceptions/{granted['id']}", headers=auth(sec))
    assert r.status_code == 200
    assert r.get_json()["revoked_at"] is not None
    assert intake.post(f"/api/applications/{draft['id']}/submit", headers=auth(token)).status_code == 409
    listed = intake.get(f"/api/calls/{call['id']}/exceptions", headers=auth(sec)).get_json()
    assert [e["id"] for e in listed] == [granted["id"]]


def test_exception_revoke_unknown_is_404(intake, sec):
    call = open_call(intake, sec)
    r = intake.delete(f"/api/calls/{call['id']}/exceptions/0f0f0f0f-0000-4000-8000-000000000000",
                      headers=auth(sec))
    assert r.status_code == 404


def test_exception_grant_by_applicant_is_403(intake, sec):
    call = open_call(intake, sec)
    applicant, token = register(intake)
    assert _grant(intake, token, call["id"], applicant["id"]).status_code == 403
