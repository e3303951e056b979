"""One set of draft rules (services/intake/drafts.py) behind both doors: the JSON API and the portal's
form. The page's save now refuses a stale revision and answers to criteria the category lacks, as
PATCH /api/applications/<id> always did; the API answers exactly as before.
"""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

import pytest
from sqlalchemy import update

from services.intake.ops import drafts
from services.intake.rules import RuleViolation, default_categories
from services.intake.models import Application, Call
from tests.support.stack import KAOHSIUNG, auth, open_call, open_signin_link, register, signin_events

UNKNOWN_ID = "0f0f0f0f-0000-4000-8000-000000000000"


def _db(stack):
    return stack.apps["intake"].extensions["prize"]["db"]


def _browser_session(stack, email: str):
    """A Flask client signed in through the emailed link, like a browser."""
    client = stack.apps["intake"].test_client()
    assert client.post("/api/signin", json={"email": email, "purpose": "browser"}).status_code == 202
    link = urlparse(signin_events(client, email)[-1]["url"]).path
    assert open_signin_link(client, link).status_code == 303
    return client


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden {name} field in the page"
    return found.group(1)


def _stored(stack, application_id: str) -> Application:
    with _db(stack).session() as s:
        row = s.get(Application, application_id)
        s.expunge(row)
        return row


def _relaxed_categories():
    """The default categories with nothing required: these tests are about saving, not submitting."""
    categories = default_categories()
    for c in categories:
        for criterion in c["criteria"]:
            criterion["required"] = False
    return categories


@pytest.fixture
def world(stack, intake, sec):
    """An open call, the Kaohsiung applicant with an API token and a signed-in browser."""
    call = open_call(intake, sec, categories=_relaxed_categories(),
                     documents=[{"key": "application_form", "title": "Application form", "required": False}])
    applicant, token = register(intake)
    browser = _browser_session(stack, KAOHSIUNG["contact_email"])
    return {"call": call, "applicant": applicant, "token": token, "browser": browser}


def _start_on_page(world, category="tech_innovacity") -> str:
    browser = world["browser"]
    page = browser.get("/portal").get_data(as_text=True)
    r = browser.post("/portal/applications", data={"csrf_token": _hidden(page, "csrf_token"),
                                                    "choice": f"{world['call']['id']}:{category}"})
    assert r.status_code == 302, r.get_data(as_text=True)
    return r.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


def _edit_form(world, application_id: str) -> dict:
    """The hidden fields of the edit page as the browser received it."""
    r = world["browser"].get(f"/portal/applications/{application_id}")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    return {"csrf_token": _hidden(page, "csrf_token"), "revision": _hidden(page, "revision")}


def _save_on_page(world, application_id: str, form: dict, **fields):
    return world["browser"].post(f"/portal/applications/{application_id}", data={**form, **fields})


# ----- the page's start and save, through drafts ------------------------------------------------

def test_page_start_creates_a_draft_the_api_sees_and_a_second_start_continues_it(world, intake):
    app_id = _start_on_page(world)
    r = intake.get(f"/api/applications/{app_id}", headers=auth(world["token"]))
    assert r.status_code == 200
    body = r.get_json()
    assert (body["status"], body["category"], body["revision"], body["answers"]) == ("draft", "tech_innovacity", 1, {})
    assert _start_on_page(world) == app_id  # one per applicant, call and category: back to the same draft
    # the API refuses the same second start with its 409, naming the draft
    r = intake.post("/api/applications", json={"call_id": world["call"]["id"], "category": "tech_innovacity"},
                    headers=auth(world["token"]))
    assert r.status_code == 409 and app_id in r.get_json()["message"]


def test_page_start_in_a_category_closed_to_the_applicant_type_shows_why(world):
    browser = world["browser"]
    page = browser.get("/portal").get_data(as_text=True)
    r = browser.post("/portal/applications", data={"csrf_token": _hidden(page, "csrf_token"),
                                                    "choice": f"{world['call']['id']}:leadership"},
                     follow_redirects=True)
    assert "Leadership is open to individual, not to city_government" in r.get_data(as_text=True)


def test_page_start_honours_a_deadline_exception(stack, world, intake, sec):
    with _db(stack).session() as s, s.begin():
        s.execute(update(Call).where(Call.id == world["call"]["id"]).values(
            closes_at=datetime.now(timezone.utc) - timedelta(hours=1)))
    browser = world["browser"]
    page = browser.get("/portal").get_data(as_text=True)
    choice = {"csrf_token": _hidden(page, "csrf_token"), "choice": f"{world['call']['id']}:tech_innovacity"}
    r = browser.post("/portal/applications", data=choice, follow_redirects=True)
    assert "is not open" in r.get_data(as_text=True)
    r = intake.post(f"/api/calls/{world['call']['id']}/exceptions", headers=auth(sec), json={
        "applicant_id": world["applicant"]["id"], "closes_at": "2099-01-01T00:00:00+00:00",
        "reason": "flood in the city hall"})
    assert r.status_code == 201, r.get_json()
    r = browser.post("/portal/applications", data=choice)
    assert r.status_code == 302 and "/portal/applications/" in r.headers["Location"]


def test_page_save_with_the_current_revision_saves_and_bumps_it(stack, world):
    app_id = _start_on_page(world)
    form = _edit_form(world, app_id)
    assert form["revision"] == "1"
    r = _save_on_page(world, app_id, form, title="Hydrogen buses", **{"answer-problem": "Diesel smoke."})
    assert r.status_code == 302
    row = _stored(stack, app_id)
    assert (row.title, row.answers, row.revision) == ("Hydrogen buses", {"problem": "Diesel smoke."}, 2)
    assert _edit_form(world, app_id)["revision"] == "2"  # the next page carries the new revision


def test_page_save_on_a_stale_revision_is_refused_and_keeps_the_newer_work(stack, world, intake):
    app_id = _start_on_page(world)
    form = _edit_form(world, app_id)  # the page was opened at revision 1 ...
    r = intake.patch(f"/api/applications/{app_id}", json={"title": "Saved in another tab", "revision": 1},
                     headers=auth(world["token"]))  # ... then another tab saved
    assert r.status_code == 200 and r.get_json()["revision"] == 2

    r = _save_on_page(world, app_id, form, title="Stale tab", **{"answer-problem": "Typed in the stale tab."})
    assert r.status_code == 409
    page = r.get_data(as_text=True)
    assert "saved elsewhere" in page and "Reload the page" in page
    assert "Typed in the stale tab." in page and 'value="Stale tab"' in page  # shown back, not lost
    assert _hidden(page, "revision") == "1"  # still stale: saving again is refused again
    row = _stored(stack, app_id)
    assert (row.title, row.answers, row.revision) == ("Saved in another tab", {}, 2)

    assert _save_on_page(world, app_id, form, title="Stale tab").status_code == 409
    assert _stored(stack, app_id).title == "Saved in another tab"
    fresh = _edit_form(world, app_id)  # reloading gives the current revision, which saves
    assert _save_on_page(world, app_id, fresh, title="After reload").status_code == 302
    assert (_stored(stack, app_id).title, _stored(stack, app_id).revision) == ("After reload", 3)


def test_page_save_with_answers_to_unknown_criteria_is_refused_naming_them(stack, world):
    app_id = _start_on_page(world)
    form = _edit_form(world, app_id)
    r = _save_on_page(world, app_id, form, title="Hydrogen buses",
                      **{"answer-problem": "ok", "answer-vision": "a leadership criterion", "answer-bogus": "x"})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "no such criteria in this category: bogus, vision" in page
    row = _stored(stack, app_id)
    assert (row.title, row.answers, row.revision) == ("", {}, 1)  # nothing of the refused save stored


def test_page_save_of_a_submitted_application_sends_to_its_status(stack, world, intake):
    r = intake.post("/api/applications", json={"call_id": world["call"]["id"], "category": "human_centricity",
                                               "title": "Hydrogen buses for the harbour", "summary": "Clean."},
                    headers=auth(world["token"]))
    assert r.status_code == 201, r.get_json()
    r = intake.post(f"/api/applications/{r.get_json()['id']}/submit", headers=auth(world["token"]))
    assert r.status_code == 200, r.get_json()
    submitted = r.get_json()
    form = _edit_form(world, _start_on_page(world))  # any page of this session carries its CSRF token
    r = _save_on_page(world, submitted["id"], {"csrf_token": form["csrf_token"], "revision": submitted["revision"]},
                      title="changed after submission")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/portal/applications/{submitted['id']}/status")
    assert _stored(stack, submitted["id"]).title == "Hydrogen buses for the harbour"


def test_page_save_of_another_applicants_draft_looks_missing(stack, world, intake):
    app_id = _start_on_page(world)
    form = _edit_form(world, app_id)
    register(intake, contact_email="ana@guarulhos.example.br", city="Guarulhos", country="BR")
    other = _browser_session(stack, "ana@guarulhos.example.br")
    other_csrf = _hidden(other.get("/portal").get_data(as_text=True), "csrf_token")
    r = other.post(f"/portal/applications/{app_id}", data={"csrf_token": other_csrf, "revision": form["revision"],
                                                           "title": "taken over"})
    assert r.status_code == 404
    assert _stored(stack, app_id).title == ""


def test_page_and_api_share_one_revision_sequence(stack, world, intake):
    app_id = _start_on_page(world)
    assert _save_on_page(world, app_id, _edit_form(world, app_id), title="page").status_code == 302
    # the API's client, still at revision 1, is now stale too
    r = intake.patch(f"/api/applications/{app_id}", json={"title": "api", "revision": 1}, headers=auth(world["token"]))
    assert r.status_code == 409
    assert r.get_json()["errors"] == {"json": {"revision": ["2"]}}
    assert _stored(stack, app_id).title == "page"


# ----- drafts.py called directly ---------------------------------------------------------------

def test_save_draft_refuses_before_changing_anything(stack, world, intake):
    app_id = _start_on_page(world)
    now = datetime.now(timezone.utc)
    with _db(stack).session() as s, s.begin():
        with pytest.raises(drafts.StaleRevision) as stale:
            drafts.save_draft(s, app_id, world["applicant"]["id"], {"title": "x", "revision": 7}, now)
        assert (stale.value.status, stale.value.field, stale.value.current) == (409, "revision", 1)
        with pytest.raises(drafts.DraftRefused) as unknown:
            drafts.save_draft(s, app_id, world["applicant"]["id"], {"answers": {"bogus": "x"}}, now)
        assert unknown.value.status == 422 and unknown.value.errors == {
            "answers": {"bogus": ["not a criterion of this category"]}}
        with pytest.raises(RuleViolation) as foreign:
            drafts.save_draft(s, app_id, str(uuid.uuid4()), {"title": "x"}, now)
        assert foreign.value.status == 404
    row = _stored(stack, app_id)
    assert (row.title, row.answers, row.revision) == ("", {}, 1)


def test_start_draft_refuses_an_unknown_call_naming_call_id(stack, world):
    with _db(stack).session() as s, s.begin():
        with pytest.raises(drafts.DraftRefused) as refused:
            drafts.start_draft(s, world["applicant"]["id"], UNKNOWN_ID, "tech_innovacity", "", "",
                               datetime.now(timezone.utc))
    assert (refused.value.status, refused.value.errors) == (422, {"call_id": ["no such call"]})


# ----- the API answers as before --------------------------------------------------------------

def test_api_start_and_save_answer_as_before(world, intake):
    token, call_id = world["token"], world["call"]["id"]
    r = intake.post("/api/applications", json={"call_id": call_id, "category": "tech_innovacity",
                                               "title": "Hydrogen buses", "summary": "Clean harbour."},
                    headers=auth(token))
    assert r.status_code == 201
    draft = r.get_json()
    assert (draft["revision"], draft["status"], draft["title"], draft["answers"]) == (1, "draft", "Hydrogen buses", {})
    assert "title" not in draft["missing"] and "summary" not in draft["missing"]

    r = intake.post("/api/applications", json={"call_id": call_id, "category": "tech_innovacity"}, headers=auth(token))
    assert r.status_code == 409
    assert r.get_json()["message"] == f"you already have an application in this category: {draft['id']}"
    r = intake.post("/api/applications", json={"call_id": UNKNOWN_ID, "category": "tech_innovacity"},
                    headers=auth(token))
    assert (r.status_code, r.get_json()["message"], r.get_json()["errors"]) == (
        422, "no open call with this id", {"json": {"call_id": ["no such call"]}})
    r = intake.post("/api/applications", json={"call_id": call_id, "category": "leadership"}, headers=auth(token))
    assert (r.status_code, list(r.get_json()["errors"]["json"])) == (422, ["category"])

    path = f"/api/applications/{draft['id']}"
    r = intake.patch(path, json={"answers": {"problem": "one"}, "revision": 1}, headers=auth(token))
    assert (r.status_code, r.get_json()["revision"]) == (200, 2)
    r = intake.patch(path, json={"answers": {"design": "two"}}, headers=auth(token))  # no revision: no check
    assert (r.status_code, r.get_json()["answers"]) == (200, {"problem": "one", "design": "two"})
    r = intake.patch(path, json={"title": "stale", "revision": 1}, headers=auth(token))
    assert r.status_code == 409
    assert r.get_json()["message"] == ("this draft was saved elsewhere since (now revision 3); "
                                       "reload it before saving")
    assert r.get_json()["errors"] == {"json": {"revision": ["3"]}}
    r = intake.patch(path, json={"answers": {"vision": "x", "bogus": "y"}}, headers=auth(token))
    assert r.status_code == 422
    assert r.get_json()["message"] == "no such criteria in this category: bogus, vision"
    assert r.get_json()["errors"] == {"json": {"answers": {"bogus": ["not a criterion of this category"],
                                                           "vision": ["not a criterion of this category"]}}}
    r = intake.patch(f"/api/applications/{UNKNOWN_ID}", json={"title": "x"}, headers=auth(token))
    assert (r.status_code, r.get_json()["message"]) == (404, f"no application {UNKNOWN_ID}")
    assert intake.post(f"{path}/submit", headers=auth(token)).status_code == 200
    r = intake.patch(path, json={"title": "after"}, headers=auth(token))
    assert (r.status_code, r.get_json()["message"]) == (409, "the application is submitted; its content is frozen")
