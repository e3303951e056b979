"""Applications: answers per criterion, word limits, stale autosaves, completeness, submission,
withdrawal and the status timeline with its embargo.

In-process embedded stack (Flask test clients, SQLite); no workers. Review's decision events are
handed to intake's handlers directly, through the same inbox unit of work the consumer uses.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from services.intake.rules import default_categories
from services.intake.handlers import HANDLERS
from services.intake.models import inbox, outbox
from services.intake.api.schemas import ApplicationOut
from shared.events import make_event, parse_message
from shared.inbox import InboxDispatcher, bind
from tests.support.stack import (answer_every_criterion, auth, complete_draft, open_call, register,
                                 upload_document)

NOW = datetime(2026, 9, 1, 9, 0, tzinfo=timezone.utc)
UNKNOWN_ID = "0f0f0f0f-0000-4000-8000-000000000000"


def _strict_categories(word_limit=5):
    categories = default_categories()
    for c in categories:
        for criterion in c["criteria"]:
            criterion["required"] = True
            criterion["word_limit"] = word_limit
    return categories


ANSWERS = {k: "Short and to the point." for k in
           ("problem", "design", "budget", "implementation", "learning", "value")}


@pytest.fixture
def strict_call(intake, sec):
    return open_call(intake, sec, categories=_strict_categories(), documents=[
        {"key": "application_form", "title": "Application form", "required": False}])


@pytest.fixture
def applicant(intake):
    return register(intake)


def _draft(intake, token, call_id, **fields):
    body = {"call_id": call_id, "category": "tech_innovacity", "title": "Hydrogen buses",
            "summary": "Clean harbour.", **fields}
    r = intake.post("/api/applications", json=body, headers=auth(token))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _patch(intake, token, app_id, **body):
    return intake.patch(f"/api/applications/{app_id}", json=body, headers=auth(token))


def test_application_answers_saved_with_word_counts_and_guidance(intake, strict_call, applicant):
    _, token = applicant
    draft = _draft(intake, token, strict_call["id"])
    r = _patch(intake, token, draft["id"], answers={"problem": "Diesel buses choke 高雄's harbour."})
    assert r.status_code == 200
    body = r.get_json()
    assert body["answers"] == {"problem": "Diesel buses choke 高雄's harbour."}
    problem = [c for c in body["criteria"] if c["key"] == "problem"][0]
    assert (problem["words"], problem["word_limit"], problem["required"]) == (5, 5, True)
    assert problem["guidance"] != []


def test_application_answers_merge_by_criterion(intake, strict_call, applicant):
    _, token = applicant
    draft = _draft(intake, token, strict_call["id"])
    _patch(intake, token, draft["id"], answers={"problem": "one"})
    r = _patch(intake, token, draft["id"], answers={"design": "two"})
    assert r.get_json()["answers"] == {"problem": "one", "design": "two"}


def test_application_unknown_criterion_is_422_naming_it(intake, strict_call, applicant):
    _, token = applicant
    draft = _draft(intake, token, strict_call["id"])
    r = _patch(intake, token, draft["id"], answers={"problem": "ok", "vision": "a leadership key", "bogus": "x"})
    assert r.status_code == 422
    assert sorted(r.get_json()["errors"]["json"]["answers"]) == ["bogus", "vision"]
    assert intake.get(f"/api/applications/{draft['id']}", headers=auth(token)).get_json()["answers"] == {}


def test_application_project_facts_saved(intake, strict_call, applicant):
    _, token = applicant
    draft = _draft(intake, token, strict_call["id"])
    r = _patch(intake, token, draft["id"], location="Beyoğlu, İstanbul", start_date="2025-03-01",
               budget="TRY 4,000,000", partners="Boğaziçi University")
    body = r.get_json()
    assert (body["location"], body["start_date"], body["budget"], body["partners"]) == (
        "Beyoğlu, İstanbul", "2025-03-01", "TRY 4,000,000", "Boğaziçi University")


def test_application_bad_start_date_is_422(intake, strict_call, applicant):
    _, token = applicant
    draft = _draft(intake, token, strict_call["id"])
    r = _patch(intake, token, draft["id"], start_date="next spring")
    assert r.status_code == 422
    assert list(r.get_json()["errors"]["json"]) == ["start_date"]


def test_application_empty_start_date_is_accepted_while_drafting(intake, strict_call, applicant):
    _, token = applicant
    draft = _draft(intake, token, strict_call["id"])
    _patch(intake, token, draft["id"], start_date="2025-03-01")
    r = _patch(intake, token, draft["id"], start_date="")
    assert (r.status_code, r.get_json()["start_date"]) == (200, "")


def test_application_save_bumps_revision(intake, strict_call, applicant):
    _, token = applicant
    draft = _draft(intake, token, strict_call["id"])
    r = _patch(intake, token, draft["id"], title="v2", revision=draft["revision"])
    assert r.get_json()["revision"] == draft["revision"] + 1


def test_application_stale_revision_is_409_and_keeps_newer_work(intake, strict_call, applicant):
    _, token = applicant
    draft = _draft(intake, token, strict_call["id"])
    assert _patch(intake, token, draft["id"], title="newer", revision=draft["revision"]).status_code == 200
    r = _patch(intake, token, draft["id"], title="stale autosave", revision=draft["revision"])
    assert r.status_code == 409
    assert intake.get(f"/api/applications/{draft['id']}", headers=auth(token)).get_json()["title"] == "newer"


def test_application_completeness_counts_required_parts(intake, strict_call, applicant):
    _, token = applicant
    draft = _draft(intake, token, strict_call["id"], summary="")
    # 2 fields + 6 required answers; only the title is there
    assert draft["completeness"] == round(100 * 1 / 8)
    assert draft["missing"] == ["summary"] + [f"answers.{k}" for k in ANSWERS]
    r = _patch(intake, token, draft["id"], summary="Clean harbour.", answers={"problem": "x", "design": "y"})
    assert r.get_json()["completeness"] == round(100 * 4 / 8)
    r = _patch(intake, token, draft["id"], answers=ANSWERS)
    assert (r.get_json()["completeness"], r.get_json()["missing"]) == (100, [])


def test_default_terms_require_every_answer_and_the_application_form(intake, sec, applicant):
    call = open_call(intake, sec)  # no categories or documents given: the defaults
    assert all(c["required"] for t in call["categories"] for c in t["criteria"])
    assert {d["key"]: d["required"] for d in call["documents"]} == {
        "application_form": True, "supporting_material": False}
    _, token = applicant
    draft = _draft(intake, token, call["id"])
    assert draft["missing"] == [f"answers.{k}" for k in ANSWERS] + ["documents.application_form"]
    # 2 fields + 6 required answers + 1 required document; title and summary are there
    assert draft["completeness"] == round(100 * 2 / 9)
    r = intake.post(f"/api/applications/{draft['id']}/submit", headers=auth(token))
    assert r.status_code == 422
    assert r.get_json()["message"] == "the application is incomplete: " + ", ".join(
        [f"answers.{k}" for k in ANSWERS] + ["documents.application_form"]) + " missing"

    # every answer but one, and supporting material instead of the form: still refused
    _patch(intake, token, draft["id"], answers={k: v for k, v in ANSWERS.items() if k != "budget"})
    upload_document(intake, token, draft["id"], kind="supporting_material", filename="photos.pdf")
    r = intake.post(f"/api/applications/{draft['id']}/submit", headers=auth(token))
    assert r.status_code == 422
    assert r.get_json()["message"] == \
        "the application is incomplete: answers.budget, documents.application_form missing"

    # every answer: only the form is missing
    answer_every_criterion(intake, token, draft["id"])
    r = intake.post(f"/api/applications/{draft['id']}/submit", headers=auth(token))
    assert r.status_code == 422
    assert r.get_json()["message"] == "the application is incomplete: documents.application_form missing"
    # a form started but never uploaded (pending, unchecked) does not count
    r = intake.post(f"/api/applications/{draft['id']}/documents", headers=auth(token), json={
        "kind": "application_form", "filename": "form.pdf", "content_type": "application/pdf", "size": 10})
    assert r.status_code == 201
    assert intake.post(f"/api/applications/{draft['id']}/submit", headers=auth(token)).status_code == 422

    upload_document(intake, token, draft["id"])
    got = intake.get(f"/api/applications/{draft['id']}", headers=auth(token)).get_json()
    assert (got["missing"], got["completeness"]) == ([], 100)
    r = intake.post(f"/api/applications/{draft['id']}/submit", headers=auth(token))
    assert (r.status_code, r.get_json()["status"]) == (200, "submitted")


def test_a_leadership_draft_must_answer_the_leadership_criteria(intake, sec):
    call = open_call(intake, sec)
    _, token = register(intake, type="individual", organisation="City of Ryde", country="AU",
                        city="City of Ryde", contact_email="siobhan@ryde.example.au")
    draft = _draft(intake, token, call["id"], category="leadership")
    assert draft["missing"] == ["answers.vision", "answers.impact", "answers.collaboration",
                                "answers.influence", "documents.application_form"]
    complete_draft(intake, token, draft["id"])
    r = intake.post(f"/api/applications/{draft['id']}/submit", headers=auth(token))
    assert r.status_code == 200, r.get_json()


def test_submit_incomplete_is_422_listing_what_is_missing(intake, strict_call, applicant):
    _, token = applicant
    draft = _draft(intake, token, strict_call["id"])
    _patch(intake, token, draft["id"], answers={k: v for k, v in ANSWERS.items() if k != "value"})
    r = intake.post(f"/api/applications/{draft['id']}/submit", headers=auth(token))
    assert r.status_code == 422
    assert r.get_json()["message"] == "the application is incomplete: answers.value missing"


def test_submit_over_word_limit_is_422(intake, strict_call, applicant):
    _, token = applicant
    draft = _draft(intake, token, strict_call["id"])
    _patch(intake, token, draft["id"], answers={**ANSWERS, "design": "one two three four five six"})
    r = intake.post(f"/api/applications/{draft['id']}/submit", headers=auth(token))
    assert r.status_code == 422
    assert "answers.design (over 5 words)" in r.get_json()["message"]


def test_submit_complete_then_content_is_frozen(intake, strict_call, applicant):
    _, token = applicant
    draft = _draft(intake, token, strict_call["id"])
    _patch(intake, token, draft["id"], answers=ANSWERS)
    r = intake.post(f"/api/applications/{draft['id']}/submit", headers=auth(token))
    assert r.status_code == 200
    assert _patch(intake, token, draft["id"], answers={"problem": "changed"}).status_code == 409
    assert intake.get(f"/api/applications/{draft['id']}", headers=auth(token)).get_json()["answers"] == ANSWERS


def test_submit_answers_the_application_exactly_as_get_shows_it(intake, sec, applicant):
    """The submit view writes its answer without ApplicationOut's dump: it must still be that
    schema's shape, value for value, the first time and on a repeat."""
    _, token = applicant
    call = open_call(intake, sec)
    draft = complete_draft(intake, token, _draft(intake, token, call["id"])["id"])
    first = intake.post(f"/api/applications/{draft['id']}/submit", headers=auth(token))
    again = intake.post(f"/api/applications/{draft['id']}/submit", headers=auth(token))
    shown = intake.get(f"/api/applications/{draft['id']}", headers=auth(token))
    assert first.status_code == again.status_code == shown.status_code == 200
    assert first.mimetype == "application/json"
    assert first.get_json()["status"] == "submitted"
    assert first.get_json() == again.get_json() == shown.get_json()
    assert set(first.get_json()) == set(ApplicationOut().fields)


def _outbox_count(stack, type_):
    db = stack.apps["intake"].extensions["prize"]["db"]
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(outbox).where(outbox.c.type == type_))


def _submitted(intake, sec, token):
    call = open_call(intake, sec)
    draft = complete_draft(intake, token, _draft(intake, token, call["id"])["id"])
    r = intake.post(f"/api/applications/{draft['id']}/submit", headers=auth(token))
    assert r.status_code == 200
    return r.get_json()


def test_withdraw_submitted_publishes_event_once(stack, intake, sec, applicant):
    _, token = applicant
    app = _submitted(intake, sec, token)
    r = intake.post(f"/api/applications/{app['id']}/withdraw", json={"reason": "merged with Lublin's entry"},
                    headers=auth(token))
    assert r.status_code == 200
    assert (r.get_json()["status"], r.get_json()["withdrawal_reason"]) == ("withdrawn", "merged with Lublin's entry")
    again = intake.post(f"/api/applications/{app['id']}/withdraw", json={"reason": "again"}, headers=auth(token))
    assert again.status_code == 200
    assert again.get_json()["withdrawal_reason"] == "merged with Lublin's entry"
    assert _outbox_count(stack, "application.withdrawn") == 1


def test_withdraw_draft_is_409(intake, strict_call, applicant):
    _, token = applicant
    draft = _draft(intake, token, strict_call["id"])
    assert intake.post(f"/api/applications/{draft['id']}/withdraw", json={}, headers=auth(token)).status_code == 409


def test_withdraw_after_decision_is_409(stack, intake, sec, applicant):
    _, token = applicant
    app = _submitted(intake, sec, token)
    _deliver(stack, "award.decided", {"application_id": app["id"], "reference": app["reference"],
                                      "outcome": "winner", "decided_at": NOW})
    r = intake.post(f"/api/applications/{app['id']}/withdraw", json={}, headers=auth(token))
    assert r.status_code == 409
    assert _outbox_count(stack, "application.withdrawn") == 0


def test_withdraw_another_applicants_application_is_404(intake, sec, applicant):
    _, token = applicant
    app = _submitted(intake, sec, token)
    _, other = register(intake, contact_email="zofia@lublin.example.pl", organisation="Lublin")
    r = intake.post(f"/api/applications/{app['id']}/withdraw", json={}, headers=auth(other))
    assert r.status_code == 404


def _deliver(stack, type_, data):
    """Hand review's event to intake as its consumer would: parsed from JSON, through the inbox."""
    event = make_event(type_, data, producer="review", correlation_id=str(data["application_id"]))
    db = stack.apps["intake"].extensions["prize"]["db"]
    InboxDispatcher(db, inbox, outbox, "intake", bind(HANDLERS, invite=lambda session, application_id: 0))(parse_message(json.loads(json.dumps(event.to_message()))))


def _stages(intake, token, app_id):
    r = intake.get(f"/api/applications/{app_id}/status", headers=auth(token))
    assert r.status_code == 200
    return [s["stage"] for s in r.get_json()["stages"]]


def test_status_timeline_draft_then_submitted(intake, sec, applicant):
    _, token = applicant
    app = _submitted(intake, sec, token)
    assert _stages(intake, token, app["id"]) == ["draft", "submitted"]


def test_status_screening_shown_at_once(stack, intake, sec, applicant):
    _, token = applicant
    app = _submitted(intake, sec, token)
    _deliver(stack, "application.screened", {"application_id": app["id"], "reference": app["reference"],
                                             "eligible": True, "screened_at": NOW})
    assert _stages(intake, token, app["id"]) == ["draft", "submitted", "eligible"]


def test_status_decisions_embargoed_until_released(stack, intake, sec, applicant):
    _, token = applicant
    app = _submitted(intake, sec, token)
    ref = {"application_id": app["id"], "reference": app["reference"]}
    _deliver(stack, "application.screened", {**ref, "eligible": True, "screened_at": NOW})
    _deliver(stack, "application.advanced", {**ref, "decided_at": NOW})
    _deliver(stack, "award.decided", {**ref, "outcome": "winner", "award": "Grand Prize", "decided_at": NOW})
    assert _stages(intake, token, app["id"]) == ["draft", "submitted", "eligible"]
    _deliver(stack, "results.released", {"application_id": app["id"], "round": "finalist", "released_at": NOW})
    assert _stages(intake, token, app["id"]) == ["draft", "submitted", "eligible", "finalist"]
    _deliver(stack, "results.released", {"application_id": app["id"], "round": "award", "released_at": NOW})
    assert _stages(intake, token, app["id"]) == ["draft", "submitted", "eligible", "finalist", "winner"]


def test_status_embargo_applies_to_the_secretariat_view_too(stack, intake, sec, applicant):
    _, token = applicant
    app = _submitted(intake, sec, token)
    _deliver(stack, "application.eliminated", {"application_id": app["id"], "reference": app["reference"],
                                               "decided_at": NOW})
    assert _stages(intake, sec, app["id"]) == ["draft", "submitted"]


def test_status_withdrawn_shows_as_last_stage(intake, sec, applicant):
    _, token = applicant
    app = _submitted(intake, sec, token)
    intake.post(f"/api/applications/{app['id']}/withdraw", json={"reason": "r"}, headers=auth(token))
    assert _stages(intake, token, app["id"]) == ["draft", "submitted", "withdrawn"]


def test_status_of_another_applicants_application_is_404(intake, sec, applicant):
    _, token = applicant
    app = _submitted(intake, sec, token)
    _, other = register(intake, contact_email="zofia@lublin.example.pl", organisation="Lublin")
    mine = intake.get(f"/api/applications/{app['id']}/status", headers=auth(other))
    missing = intake.get(f"/api/applications/{UNKNOWN_ID}/status", headers=auth(other))
    assert (mine.status_code, missing.status_code) == (404, 404)
    assert mine.get_json()["message"].replace(app["id"], "X") == missing.get_json()["message"].replace(UNKNOWN_ID, "X")


def test_status_without_token_is_401(intake, sec, applicant):
    _, token = applicant
    app = _submitted(intake, sec, token)
    assert intake.get(f"/api/applications/{app['id']}/status").status_code == 401


def test_decision_for_unknown_application_is_ignored(stack, intake, sec, applicant):
    _deliver(stack, "award.decided", {"application_id": str(uuid.uuid4()), "reference": "SSCP-2026-XXXXXX",
                                      "outcome": "winner", "decided_at": NOW})
