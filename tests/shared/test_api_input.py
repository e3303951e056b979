"""Bad input to every endpoint of intake, review and notify: a 4xx with a JSON body that names
the problem, never a 500 or an HTML page; and the intake rules, each checked to leave what was
already stored untouched.

In-process embedded stack (Flask test clients, SQLite); no workers.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import delete, func, select, update

from services.intake.rules import PROJECT_CRITERIA
from services.intake.models import Applicant, Application, Call, Consent, Session, SignInLink, outbox
from shared.auth import issue_token
from services.intake.ops.applicants import registration_message
from tests.support.stack import KAOHSIUNG, Stack, auth, complete_new_draft, open_call, register

UNKNOWN_ID = "0f0f0f0f-0000-4000-8000-000000000000"
ONE_MIB = 1024 * 1024

NEW_CALL = {"year": 2027, "theme": "Cities that listen", "opens_at": "2027-01-01T00:00:00+09:00",
            "closes_at": "2027-07-14T18:00:00+09:00", "time_zone": "Asia/Seoul"}
NEW_APPLICANT = dict(KAOHSIUNG, organisation="Bogotá Mayor's Office", country="CO", city="Bogotá",
                     contact_email="innovacion@bogota.example.co")
MISSING = ["Missing data for required field."]
# what a new draft lacks under the default terms, after its title and summary
UNANSWERED = [f"answers.{key}" for key, _ in PROJECT_CRITERIA] + ["documents.application_form"]


@pytest.fixture
def stack(embedded_settings):
    s = Stack(embedded_settings)
    yield s
    s.stop()


@pytest.fixture
def world(stack):
    """An open call, a draft call, an applicant with a complete draft in tech_innovacity."""
    intake = stack.clients["intake"]
    sec = stack.secretariat_token()
    call = open_call(intake, sec)
    r = intake.post("/api/calls", json={**NEW_CALL, "year": 2028}, headers=auth(sec))
    assert r.status_code == 201, r.get_json()
    draft_call = r.get_json()
    applicant, token = register(intake)
    # complete: every criterion answered, the application form uploaded and checked
    draft = complete_new_draft(intake, token, call["id"], title="Hydrogen buses", summary="Clean harbour.")
    return SimpleNamespace(stack=stack, intake=intake, review=stack.clients["review"],
                           notify=stack.clients["notify"], sec=sec, call=call, draft_call=draft_call,
                           applicant=applicant, token=token, draft=draft,
                           db=stack.apps["intake"].extensions["prize"]["db"])


def json_error(response, status: int) -> dict:
    """The response is a JSON error of this status with a message; return its body."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["code"] == status
    assert isinstance(body["message"], str) and body["message"] != ""
    return body


def intake_state(w) -> dict:
    """Everything intake stores, as seen through its database."""
    with w.db.session() as s:
        def rows(model):
            return sorted(
                tuple((c.name, getattr(r, c.key)) for c in model.__table__.columns)
                for r in s.scalars(select(model)))
        return {"calls": rows(Call), "applicants": rows(Applicant), "applications": rows(Application),
                "outbox": s.scalar(select(func.count()).select_from(outbox))}


def outbox_count(w, type_: str) -> int:
    with w.db.session() as s:
        return s.scalar(select(func.count()).select_from(outbox).where(outbox.c.type == type_))


# ----- bodies ---------------------------------------------------------------------------------

def _body_endpoints(w):
    """(name, method, path, headers, a valid body, a required field or None, a wrong-type pair)."""
    second, second_token = register(w.intake, **dict(NEW_APPLICANT, contact_email="second@x.example"))
    return [
        ("create call", "post", "/api/calls", auth(w.sec), dict(NEW_CALL), "theme", ("year", "2027")),
        ("register", "post", "/api/applicants", {}, dict(NEW_APPLICANT), "contact_email", ("type", 5)),
        ("start draft", "post", "/api/applications", auth(second_token),
         {"call_id": w.call["id"], "category": "human_centricity", "title": "t", "summary": "s"},
         "category", ("call_id", 12)),
        ("save draft", "patch", f"/api/applications/{w.draft['id']}", auth(w.token),
         {"title": "A better title"}, None, ("title", 42)),
        ("change own record", "patch", "/api/applicants/me", auth(w.token),
         {"city": "高雄 Kaohsiung"}, None, ("language", 3)),
    ]


@pytest.fixture
def body_endpoints(world):
    return _body_endpoints(world)


def test_api_body_missing_field_gets_422_naming_it(world, body_endpoints):
    for name, method, path, headers, valid, required, _ in body_endpoints:
        if required is None:
            continue
        before = intake_state(world)
        body = dict(valid)
        del body[required]
        r = getattr(world.intake, method)(path, json=body, headers=headers)
        assert json_error(r, 422)["errors"] == {"json": {required: MISSING}}, name
        assert intake_state(world) == before, name


def test_api_body_empty_object_gets_422_listing_every_required_field(world):
    r = world.intake.post("/api/applicants", json={})
    assert sorted(json_error(r, 422)["errors"]["json"]) == ["city", "contact_email", "contact_name",
                                                            "country", "organisation", "privacy_consent", "type"]
    r = world.intake.post("/api/calls", json={}, headers=auth(world.sec))
    assert sorted(json_error(r, 422)["errors"]["json"]) == ["closes_at", "opens_at", "theme", "year"]


def test_api_body_no_body_at_all_gets_422_not_500(world):
    r = world.intake.post("/api/applications", headers=auth(world.token))
    assert sorted(json_error(r, 422)["errors"]["json"]) == ["call_id", "category"]


def test_api_body_wrong_type_gets_422_naming_the_field(world, body_endpoints):
    for name, method, path, headers, valid, _, (field, value) in body_endpoints:
        before = intake_state(world)
        r = getattr(world.intake, method)(path, json={**valid, field: value}, headers=headers)
        assert list(json_error(r, 422)["errors"]["json"]) == [field], name
        assert intake_state(world) == before, name


def test_api_body_null_for_a_string_gets_422(world):
    r = world.intake.patch(f"/api/applications/{world.draft['id']}", json={"title": None},
                           headers=auth(world.token))
    assert json_error(r, 422)["errors"] == {"json": {"title": ["Field may not be null."]}}


def test_api_body_unknown_field_gets_422_naming_it(world, body_endpoints):
    for name, method, path, headers, valid, _, _ in body_endpoints:
        before = intake_state(world)
        r = getattr(world.intake, method)(path, json={**valid, "colour": "blue"}, headers=headers)
        assert json_error(r, 422)["errors"] == {"json": {"colour": ["Unknown field."]}}, name
        assert intake_state(world) == before, name


def test_api_body_patch_cannot_set_status_or_owner(world):
    before = intake_state(world)
    r = world.intake.patch(f"/api/applications/{world.draft['id']}",
                           json={"status": "submitted", "applicant_id": UNKNOWN_ID}, headers=auth(world.token))
    assert json_error(r, 422)["errors"] == {"json": {"status": ["Unknown field."],
                                                     "applicant_id": ["Unknown field."]}}
    assert intake_state(world) == before


def test_api_body_malformed_json_gets_400(world, body_endpoints):
    for name, method, path, headers, _, _, _ in body_endpoints:
        before = intake_state(world)
        r = getattr(world.intake, method)(path, data='{"title": "unterminated', headers=headers,
                                          content_type="application/json")
        assert json_error(r, 400)["message"].split(":")[0] == "request body is not valid JSON", name
        assert intake_state(world) == before, name


def test_api_body_invalid_utf8_gets_400(world):
    r = world.intake.post("/api/applicants", data=b'{"organisation": "\xff\xfe"}', content_type="application/json")
    assert json_error(r, 400)["message"].split(":")[0] == "request body is not valid JSON"


def test_api_body_nested_too_deep_gets_400_not_500(world, body_endpoints):
    deep = "[" * 100_000 + "]" * 100_000
    for name, method, path, headers, _, _, _ in body_endpoints:
        r = getattr(world.intake, method)(path, data=deep, headers=headers, content_type="application/json")
        assert json_error(r, 400)["message"] == "request body is not valid JSON: nested too deeply", name


def test_api_body_non_json_content_type_gets_415(world, body_endpoints):
    for name, method, path, headers, valid, _, _ in body_endpoints:
        before = intake_state(world)
        for data, content_type in [("title=x&summary=y", "application/x-www-form-urlencoded"),
                                   ('{"title": "looks like JSON"}', "text/plain"),
                                   ("<a/>", "application/xml")]:
            r = getattr(world.intake, method)(path, data=data, content_type=content_type, headers=headers)
            assert json_error(r, 415)["message"] == \
                f"request body must be JSON (Content-Type: application/json), not {content_type}", name
        assert intake_state(world) == before, name


def test_api_body_json_suffix_content_type_is_accepted(world):
    r = world.intake.patch(f"/api/applications/{world.draft['id']}", data='{"title": "Via +json"}',
                           content_type="application/merge-patch+json", headers=auth(world.token))
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["title"] == "Via +json"


def test_api_body_not_an_object_gets_422(world, body_endpoints):
    for name, method, path, headers, _, _, _ in body_endpoints:
        for body in ([1, 2], "text", 3):
            r = getattr(world.intake, method)(path, json=body, headers=headers)
            assert json_error(r, 422)["errors"] == {"json": {"_schema": ["Invalid input type."]}}, (name, body)


def test_api_body_over_one_mib_gets_413(world, body_endpoints):
    for name, method, path, headers, valid, _, _ in body_endpoints:
        before = intake_state(world)
        r = getattr(world.intake, method)(path, json={**valid, "padding": "x" * ONE_MIB}, headers=headers)
        assert json_error(r, 413)["message"] == "request body is larger than 1048576 bytes", name
        assert intake_state(world) == before, name


def test_api_body_over_one_mib_to_a_bodyless_endpoint_gets_413(world):
    r = world.intake.post(f"/api/applications/{world.draft['id']}/submit", json={"p": "x" * ONE_MIB},
                          headers=auth(world.token))
    json_error(r, 413)
    assert world.intake.get(f"/api/applications/{world.draft['id']}",
                            headers=auth(world.token)).get_json()["status"] == "draft"


def test_api_body_nul_character_gets_422_naming_the_field(world, body_endpoints):
    # PostgreSQL refuses NUL in text; it must be a 422 on every stack, not a 500 on the real one
    for name, method, path, headers, valid, _, _ in body_endpoints:
        before = intake_state(world)
        field = next(k for k, v in valid.items() if isinstance(v, str) and k != "call_id")
        r = getattr(world.intake, method)(path, json={**valid, field: "a\u0000b"}, headers=headers)
        assert json_error(r, 422)["errors"] == {"json": {field: ["may not contain NUL characters"]}}, name
        assert intake_state(world) == before, name


def test_api_body_to_bodyless_endpoint_must_still_be_json(world):
    before = intake_state(world)
    for path, token in [(f"/api/calls/{world.draft_call['id']}/open", world.sec),
                        (f"/api/applications/{world.draft['id']}/submit", world.token)]:
        json_error(world.intake.post(path, data="go", content_type="text/plain", headers=auth(token)), 415)
        json_error(world.intake.post(path, data="{go", content_type="application/json", headers=auth(token)), 400)
    assert intake_state(world) == before  # the call is still a draft, the application too


def test_api_body_error_echoes_the_correlation_id(world):
    r = world.intake.post("/api/applicants", data="x", content_type="text/plain",
                          headers={"X-Correlation-ID": "corr-415"})
    json_error(r, 415)
    assert r.headers["X-Correlation-ID"] == "corr-415"


# ----- calls: the terms -------------------------------------------------------------------------

@pytest.mark.parametrize("field,value", [
    ("year", 1999), ("year", 2101), ("year", 2027.5), ("year", True), ("theme", ""), ("theme", "x" * 301),
    ("opens_at", "2027-01-01T00:00:00"), ("opens_at", "next monday"), ("closes_at", "0001-01-01T00:00:00+14:00"),
    ("closes_at", "9999-12-31T23:59:59-14:00"), ("time_zone", "Mars/Olympus_Mons"), ("time_zone", "../../etc/passwd"),
    ("score_min", 10 ** 30), ("score_max", -(10 ** 30)), ("score_max", "10"), ("categories", []),
    ("categories", [{"key": "best_city", "title": "B", "applicant_types": ["individual"],
                     "criteria": [{"key": "a", "title": "A", "weight": 1}]}]),
    ("categories", [{"key": "leadership", "title": "", "applicant_types": ["individual"],
                     "criteria": [{"key": "a", "title": "A", "weight": 1}]}]),
    ("categories", [{"key": "leadership", "title": "L", "applicant_types": ["individual"],
                     "criteria": [{"key": "a", "title": "A", "weight": 0}]}]),
    ("categories", [{"key": "leadership", "title": "L", "applicant_types": ["individual"], "criteria": []}]),
    ("categories", [{"key": "leadership", "title": "L", "applicant_types": ["individual"],
                     "criteria": [{"key": "a", "title": "A", "weight": 1}, {"key": "a", "title": "B", "weight": 1}]}]),
    ("categories", 2 * [{"key": "leadership", "title": "L", "applicant_types": ["individual"],
                         "criteria": [{"key": "a", "title": "A", "weight": 1}]}]),
])
def test_api_create_call_bad_value_gets_422_naming_the_field(world, field, value):
    before = intake_state(world)
    r = world.intake.post("/api/calls", json={**NEW_CALL, field: value}, headers=auth(world.sec))
    assert list(json_error(r, 422)["errors"]["json"]) == [field]
    assert intake_state(world) == before


def test_api_create_call_weight_nan_gets_422(world):
    body = ('{"year": 2027, "theme": "t", "opens_at": "2027-01-01T00:00:00+00:00", '
            '"closes_at": "2027-07-01T00:00:00+00:00", "categories": [{"key": "leadership", "title": "L", '
            '"applicant_types": ["individual"], "criteria": [{"key": "a", "title": "A", "weight": NaN}]}]}')
    r = world.intake.post("/api/calls", data=body, content_type="application/json", headers=auth(world.sec))
    assert list(json_error(r, 422)["errors"]["json"]) == ["categories"]


@pytest.mark.parametrize("closes_at", ["2026-12-31T23:59:59+09:00", "2027-01-01T00:00:00+09:00",
                                       "2026-12-31T15:00:00+00:00"])
def test_api_create_call_closes_before_opens_gets_422_naming_closes_at(world, closes_at):
    before = intake_state(world)
    r = world.intake.post("/api/calls", json={**NEW_CALL, "closes_at": closes_at}, headers=auth(world.sec))
    assert json_error(r, 422)["errors"] == {"json": {"closes_at": ["must be after opens_at"]}}
    assert intake_state(world) == before


def test_api_create_call_score_scale_inverted_gets_422_naming_score_max(world):
    r = world.intake.post("/api/calls", json={**NEW_CALL, "score_min": 10, "score_max": 10}, headers=auth(world.sec))
    assert json_error(r, 422)["errors"] == {"json": {"score_max": ["must be greater than score_min"]}}


def test_api_create_call_same_year_twice_gets_409(world):
    before = intake_state(world)
    r = world.intake.post("/api/calls", json={**NEW_CALL, "year": 2026}, headers=auth(world.sec))
    assert json_error(r, 409)["message"] == "an edition for 2026 already exists"
    assert intake_state(world) == before


def test_api_open_call_twice_is_200_with_one_event(world):
    path = f"/api/calls/{world.draft_call['id']}/open"
    for _ in range(2):
        r = world.intake.post(path, headers=auth(world.sec))
        assert r.status_code == 200, r.get_json()
        assert r.get_json()["status"] == "open"
    assert outbox_count(world, "call.opened") == 2  # the fixture's call and this one, once each


# ----- applicants ------------------------------------------------------------------------------

@pytest.mark.parametrize("field,value", [
    ("type", "ngo"), ("country", "kr"), ("country", "KOR"), ("contact_email", "not-an-address"),
    ("contact_email", "a@" + "b" * 320 + ".org"), ("secondary_email", "nope"), ("language", "klingon"),
    ("organisation", ""), ("city", "x" * 201), ("contact_name", ["Lin"]),
    ("secondary_email", NEW_APPLICANT["contact_email"].upper()),
])
def test_api_register_bad_value_gets_422_naming_the_field(world, field, value):
    before = intake_state(world)
    r = world.intake.post("/api/applicants", json={**NEW_APPLICANT, field: value})
    assert list(json_error(r, 422)["errors"]["json"]) == [field]
    assert intake_state(world) == before


@pytest.mark.parametrize("email", [KAOHSIUNG["contact_email"], KAOHSIUNG["contact_email"].upper()])
def test_api_register_registered_email_answers_as_a_new_one_and_stores_no_applicant(world, email):
    before = intake_state(world)
    r = world.intake.post("/api/applicants", json={**NEW_APPLICANT, "contact_email": email})
    assert r.status_code == 202 and r.mimetype == "application/json"
    assert r.get_json() == {"message": registration_message(KAOHSIUNG["contact_email"])}
    after = intake_state(world)
    assert {k: after[k] for k in ("calls", "applicants", "applications")} == \
        {k: before[k] for k in ("calls", "applicants", "applications")}
    assert after["outbox"] == before["outbox"] + 1  # the registered contact's sign-in link, nothing else


# ----- applications ----------------------------------------------------------------------------

def test_api_start_draft_individual_in_tech_innovacity_gets_422_naming_category(world):
    _, token = register(world.intake, **dict(NEW_APPLICANT, type="individual", contact_email="kim@x.example"))
    before = intake_state(world)
    r = world.intake.post("/api/applications", json={"call_id": world.call["id"], "category": "tech_innovacity"},
                          headers=auth(token))
    body = json_error(r, 422)
    assert list(body["errors"]["json"]) == ["category"]
    assert body["message"] == "Tech-InnovaCity is open to city_government, institution, corporation, not to individual"
    assert intake_state(world) == before


def test_api_start_draft_city_in_leadership_gets_422_naming_category(world):
    before = intake_state(world)
    r = world.intake.post("/api/applications", json={"call_id": world.call["id"], "category": "leadership"},
                          headers=auth(world.token))
    assert list(json_error(r, 422)["errors"]["json"]) == ["category"]
    assert intake_state(world) == before


@pytest.mark.parametrize("which", ["unknown", "draft"])
def test_api_start_draft_in_a_call_that_is_not_open_gets_422_naming_call_id(world, which):
    call_id = UNKNOWN_ID if which == "unknown" else world.draft_call["id"]
    before = intake_state(world)
    r = world.intake.post("/api/applications", json={"call_id": call_id, "category": "human_centricity"},
                          headers=auth(world.token))
    assert json_error(r, 422)["errors"] == {"json": {"call_id": ["no such call"]}}
    assert intake_state(world) == before


def test_api_start_draft_second_in_same_category_gets_409(world):
    before = intake_state(world)
    r = world.intake.post("/api/applications", json={"call_id": world.call["id"], "category": "tech_innovacity",
                                                     "title": "Another"}, headers=auth(world.token))
    assert world.draft["id"] in json_error(r, 409)["message"]
    assert intake_state(world) == before
    mine = world.intake.get("/api/applications", headers=auth(world.token)).get_json()
    assert mine == [world.draft]


def test_api_start_draft_other_category_is_allowed(world):
    r = world.intake.post("/api/applications", json={"call_id": world.call["id"], "category": "human_centricity"},
                          headers=auth(world.token))
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["missing"] == ["title", "summary"] + UNANSWERED


def test_api_start_draft_with_a_deleted_applicants_token_gets_401(world):
    ghost, ghost_token = register(world.intake, **dict(NEW_APPLICANT, contact_email="ghost@x.example"))
    with world.db.session() as s, s.begin():
        # its sign-in links, sessions and consents go with it (they refer to it)
        s.execute(delete(SignInLink).where(SignInLink.applicant_id == ghost["id"]))
        s.execute(delete(Consent).where(Consent.applicant_id == ghost["id"]))
        s.execute(delete(Session).where(Session.applicant_id == ghost["id"]))
        s.delete(s.get(Applicant, ghost["id"]))
    signed = issue_token(world.stack.settings.secret_key, "applicant", ghost["id"])
    for token in (ghost_token, signed):
        r = world.intake.post("/api/applications", json={"call_id": world.call["id"], "category": "human_centricity"},
                              headers=auth(token))
        json_error(r, 401)


def _start(w, **fields):
    r = w.intake.post("/api/applications", json={"call_id": w.call["id"], "category": "human_centricity", **fields},
                      headers=auth(w.token))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _get(w, app_id):
    r = w.intake.get(f"/api/applications/{app_id}", headers=auth(w.token))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


@pytest.mark.parametrize("fields,missing", [
    ({}, ["title", "summary"] + UNANSWERED), ({"title": "T"}, ["summary"] + UNANSWERED),
    ({"title": "   ", "summary": "S"}, ["title"] + UNANSWERED),
    ({"title": "T", "summary": "S"}, UNANSWERED)])
def test_api_submit_incomplete_draft_gets_422(world, fields, missing):
    draft = _start(world, **fields)
    before = intake_state(world)
    r = world.intake.post(f"/api/applications/{draft['id']}/submit", headers=auth(world.token))
    assert json_error(r, 422)["message"] == f"the application is incomplete: {', '.join(missing)} missing"
    assert intake_state(world) == before
    assert _get(world, draft["id"]) == draft
    assert outbox_count(world, "application.submitted") == 0


def test_api_submit_twice_is_200_both_times_with_one_event(world):
    path = f"/api/applications/{world.draft['id']}/submit"
    first = world.intake.post(path, headers=auth(world.token))
    assert first.status_code == 200, first.get_json()
    second = world.intake.post(path, headers=auth(world.token))
    assert second.status_code == 200, second.get_json()
    assert first.get_json()["status"] == "submitted"
    assert second.get_json() == first.get_json()
    assert outbox_count(world, "application.submitted") == 1


def test_api_edit_after_submission_gets_409(world):
    path = f"/api/applications/{world.draft['id']}"
    assert world.intake.post(f"{path}/submit", headers=auth(world.token)).status_code == 200
    submitted = _get(world, world.draft["id"])
    before = intake_state(world)
    r = world.intake.patch(path, json={"title": "Sneaky late change"}, headers=auth(world.token))
    assert json_error(r, 409)["message"] == "the application is submitted; its content is frozen"
    assert intake_state(world) == before
    assert _get(world, world.draft["id"]) == submitted


def _move_call(w, **times):
    with w.db.session() as s, s.begin():
        s.execute(update(Call).where(Call.id == w.call["id"]).values(**times))


def test_api_submit_after_the_call_closed_gets_409(world):
    closed = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=1)
    _move_call(world, closes_at=closed)
    before = intake_state(world)
    r = world.intake.post(f"/api/applications/{world.draft['id']}/submit", headers=auth(world.token))
    assert json_error(r, 409)["message"] == \
        f"the 2026 call is not open for submissions now (it closes {closed.isoformat()})"
    assert intake_state(world) == before
    assert _get(world, world.draft["id"]) == world.draft
    assert outbox_count(world, "application.submitted") == 0


def test_api_submit_before_the_call_opens_gets_409(world):
    _move_call(world, opens_at=datetime.now(timezone.utc) + timedelta(days=1))
    before = intake_state(world)
    r = world.intake.post(f"/api/applications/{world.draft['id']}/submit", headers=auth(world.token))
    json_error(r, 409)
    assert intake_state(world) == before


def test_api_edit_draft_saves_only_the_given_fields(world):
    r = world.intake.patch(f"/api/applications/{world.draft['id']}", json={"summary": "Longer summary."},
                           headers=auth(world.token))
    assert r.status_code == 200, r.get_json()
    saved = _get(world, world.draft["id"])
    assert (saved["title"], saved["summary"]) == ("Hydrogen buses", "Longer summary.")


# ----- paths, queries, methods ------------------------------------------------------------------

def _path_endpoints(w):
    """(client, method, path template with {id}, token, the 404 message for an unknown id)."""
    return [
        (w.intake, "get", "/api/calls/{id}", None, "no call {id}"),
        (w.intake, "post", "/api/calls/{id}/open", w.sec, "no call {id}"),
        (w.intake, "get", "/api/applications/{id}", w.token, "no application {id}"),
        (w.intake, "patch", "/api/applications/{id}", w.token, "no application {id}"),
        (w.intake, "post", "/api/applications/{id}/submit", w.token, "no application {id}"),
        (w.review, "get", "/api/applications/{id}", w.sec, "no application {id} in review"),
        (w.notify, "get", "/api/deliveries/{id}", w.sec, "no delivery {id}"),
    ]


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "123", "0f0f0f0f-0000-4000-8000-00000000000g", "%00"])
def test_api_path_bad_uuid_gets_404(world, bad_id):
    before = intake_state(world)
    for client, method, template, token, _ in _path_endpoints(world):
        path = template.format(id=bad_id)
        kwargs = {"json": {"title": "x"}} if method == "patch" else {}
        r = getattr(client, method)(path, headers=auth(token) if token else {}, **kwargs)
        assert json_error(r, 404)["message"].startswith("no such resource: /api/"), path
    assert intake_state(world) == before


def test_api_path_unknown_uuid_gets_404_naming_it(world):
    for client, method, template, token, message in _path_endpoints(world):
        kwargs = {"json": {"title": "x"}} if method == "patch" else {}
        r = getattr(client, method)(template.format(id=UNKNOWN_ID), headers=auth(token) if token else {}, **kwargs)
        assert json_error(r, 404)["message"] == message.format(id=UNKNOWN_ID), template


REVIEW_BAD_QUERIES = [("limit", "abc"), ("limit", "0"), ("limit", "1001"), ("offset", "-1"),
                      ("offset", "99999999999999999999999"), ("stage", "winner!"), ("category", "best_city"),
                      ("call_id", "not-a-uuid"), ("colour", "blue"), ("stage", "sub\x00mitted")]
NOTIFY_BAD_QUERIES = [("limit", "abc"), ("limit", "-5"), ("offset", "1.5"), ("offset", "99999999999999999999999"),
                      ("status", "lost"), ("recipient", "not-an-address"), ("template", "t" * 101),
                      ("template", "submission\x00ack"), ("colour", "blue")]


@pytest.mark.parametrize("arg,value", REVIEW_BAD_QUERIES)
def test_api_review_list_bad_query_gets_422_naming_the_arg(world, arg, value):
    r = world.review.get("/api/applications", query_string={arg: value}, headers=auth(world.sec))
    assert list(json_error(r, 422)["errors"]["query"]) == [arg]


@pytest.mark.parametrize("arg,value", NOTIFY_BAD_QUERIES)
def test_api_notify_list_bad_query_gets_422_naming_the_arg(world, arg, value):
    r = world.notify.get("/api/deliveries", query_string={arg: value}, headers=auth(world.sec))
    assert list(json_error(r, 422)["errors"]["query"]) == [arg]


def test_api_list_good_query_is_200(world):
    r = world.review.get("/api/applications", query_string={"limit": 5, "offset": 0, "stage": "submitted",
                                                             "category": "leadership", "call_id": world.call["id"]},
                         headers=auth(world.sec))
    assert (r.status_code, r.get_json()) == (200, {"total": 0, "items": []})
    r = world.notify.get("/api/deliveries", query_string={"limit": 5, "status": "sent", "recipient": "a@b.example",
                                                           "template": "submission_ack"}, headers=auth(world.sec))
    assert (r.status_code, r.get_json()) == (200, {"total": 0, "items": []})


WRONG_METHODS = [
    ("intake", "delete", "/api/calls", "GET, HEAD, OPTIONS, POST"),
    ("intake", "put", "/api/calls/{call}", "GET, HEAD, OPTIONS, PATCH"),
    ("intake", "get", "/api/calls/{call}/open", "OPTIONS, POST"),
    ("intake", "get", "/api/applicants", "OPTIONS, POST"),
    ("intake", "delete", "/api/applicants/me", "GET, HEAD, OPTIONS, PATCH"),
    ("intake", "delete", "/api/applications", "GET, HEAD, OPTIONS, POST"),
    ("intake", "delete", "/api/applications/{app}", "GET, HEAD, OPTIONS, PATCH"),
    ("intake", "put", "/api/applications/{app}", "GET, HEAD, OPTIONS, PATCH"),
    ("intake", "get", "/api/applications/{app}/submit", "OPTIONS, POST"),
    ("review", "post", "/api/applications", "GET, HEAD, OPTIONS"),
    ("review", "delete", "/api/applications/{app}", "GET, HEAD, OPTIONS"),
    ("review", "post", "/api/calls", "GET, HEAD, OPTIONS"),
    ("notify", "post", "/api/deliveries", "GET, HEAD, OPTIONS"),
    ("notify", "patch", "/api/deliveries/{app}", "GET, HEAD, OPTIONS"),
    ("intake", "post", "/healthz", "GET, HEAD, OPTIONS"),
    ("review", "post", "/readyz", "GET, HEAD, OPTIONS"),
    ("notify", "delete", "/metrics", "GET, HEAD, OPTIONS"),
    ("intake", "post", "/openapi.json", "GET, HEAD, OPTIONS"),
]


@pytest.mark.parametrize("service,method,template,allowed", WRONG_METHODS)
def test_api_wrong_method_gets_405_json(world, service, method, template, allowed):
    path = template.format(call=world.call["id"], app=world.draft["id"])
    before = intake_state(world)
    r = getattr(world.stack.clients[service], method)(path, headers=auth(world.sec), data="x",
                                                      content_type="text/plain")
    assert json_error(r, 405)["message"] == f"{method.upper()} is not allowed on {path}"
    assert sorted(r.headers["Allow"].split(", ")) == sorted(allowed.split(", "))
    assert intake_state(world) == before


@pytest.mark.parametrize("service", ["intake", "review", "notify"])
def test_api_unknown_path_gets_404_json(world, service):
    r = world.stack.clients[service].get("/api/nothing-here")
    assert json_error(r, 404)["message"] == "no such resource: /api/nothing-here"


def test_api_start_draft_after_the_call_closed_gets_409(world):
    closed = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=1)
    _move_call(world, closes_at=closed)
    before = intake_state(world)
    r = world.intake.post("/api/applications", json={"call_id": world.call["id"],
                                                     "category": "human_centricity"},
                          headers=auth(world.token))
    assert "the 2026 call is not open" in json_error(r, 409)["message"]
    assert intake_state(world) == before
