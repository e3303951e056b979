"""The applicant portal's account: registration that does not tell who is registered, and the
applicant's own record (read and changed over the API and on /portal/profile), with the
applicant.updated event that brings the new contacts and language to notify's recipients.

In process (Flask test clients), on SQLite and on PostgreSQL; notify's handlers are called
through its inbox with the event intake recorded, no workers.
"""
from __future__ import annotations

import json
import re
import uuid
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select

from services.intake.models import Applicant, outbox
from services.notify.handlers import HANDLERS as NOTIFY_HANDLERS
from services.notify.models import Recipient
from services.notify.models import inbox as notify_inbox
from shared.inbox import bind
from tests.support.applicants import intake_and_notify_stack, intake_client, two_applicants  # noqa: F401 (fixtures)
from tests.support.applicants import (OTHER, dispatch_to_notify, outbox_messages, seed_recipients,
                                     service_db)
from tests.support.stack import (KAOHSIUNG, auth, open_call, open_signin_link, signin_events, start_draft,
                                 submit_application)

EMAIL = KAOHSIUNG["contact_email"]


def _applicants(stack) -> list[tuple]:
    with service_db(stack).session() as s:
        return [tuple((c.name, getattr(a, c.key)) for c in Applicant.__table__.columns)
                for a in s.scalars(select(Applicant).order_by(Applicant.contact_email))]


def _outbox_count(stack) -> int:
    with service_db(stack).session() as s:
        return s.scalar(select(func.count()).select_from(outbox))


def _blank(text: str, *addresses: str) -> str:
    for address in addresses:
        text = text.replace(address, "<email>")
    return text


# --- A. registration answers the same for a registered address ---------------------------------

def test_register_registered_address_answers_exactly_as_a_new_one_and_stores_nothing(stack, intake):
    first = intake.post("/api/applicants", json=KAOHSIUNG)
    [registered] = _applicants(stack)
    outbox_before = _outbox_count(stack)

    again = intake.post("/api/applicants", json=dict(KAOHSIUNG, organisation="Impostor City",
                                                     contact_name="Someone Else", contact_email=EMAIL.upper()))
    new = intake.post("/api/applicants", json=OTHER)

    assert (first.status_code, again.status_code, new.status_code) == (202, 202, 202)
    assert first.get_json() == again.get_json()
    assert {k: _blank(v, EMAIL) for k, v in again.get_json().items()} == \
        {k: _blank(v, OTHER["contact_email"]) for k, v in new.get_json().items()}
    assert sorted(again.headers.keys()) == sorted(new.headers.keys())
    assert again.get_json() == {"message": f"Check the inbox of {EMAIL}: a sign-in link is on its way to it. "
                                           "It works once, within 15 minutes."}
    # the registered record is as it was; the new address is the only new applicant
    applicants = _applicants(stack)
    assert len(applicants) == 2 and registered in applicants
    assert [e["data"]["contact_email"] for e in outbox_messages(stack, "applicant.registered")] == [
        EMAIL, OTHER["contact_email"]]
    # the registered contact got a sign-in link, saying so: one more outbox row for it
    assert _outbox_count(stack) == outbox_before + 1 + 2  # + the new applicant's two events
    link, reminder = signin_events(intake, EMAIL)
    assert "reason" not in link and reminder["reason"] == "already_registered"
    assert (reminder["applicant_id"], reminder["contact_name"], reminder["purpose"]) == (
        dict(registered)["id"], KAOHSIUNG["contact_name"], "browser")
    # ... and it signs in
    r = open_signin_link(intake, urlparse(reminder["url"]).path)
    assert (r.status_code, r.headers["Location"]) == (303, "/portal")


def test_register_registered_address_counts_for_the_address_limit_like_a_new_one(stack, intake):
    stack.apps["intake"].config["SIGNIN_LIMIT_PER_ADDRESS"] = 2
    answers = {}
    for address in (EMAIL, "new@kcg.example.tw"):
        if address == EMAIL:
            assert intake.post("/api/applicants", json=KAOHSIUNG).status_code == 202
        else:
            assert intake.post("/api/signin", json={"email": address}).status_code == 202
        r = intake.post("/api/applicants", json=dict(KAOHSIUNG, contact_email=address))
        assert r.status_code == 202, address
        r = intake.post("/api/applicants", json=dict(KAOHSIUNG, contact_email=address))
        answers[address] = (r.status_code, r.get_json())
    assert answers[EMAIL] == answers["new@kcg.example.tw"] == (
        429, {"code": 429, "message": "too many sign-in requests for this address; try again in 15 minutes",
              "status": "Too Many Requests"})


def test_register_racing_a_registration_of_the_same_address_answers_the_same(stack, intake, monkeypatch):
    """Two registrations of a new address at once: the one that loses the unique constraint is
    answered as a registered address is (its mailbox gets the link), not with a 500."""
    from services.intake.ops import applicants as accounts
    assert intake.post("/api/applicants", json=KAOHSIUNG).status_code == 202
    find, misses = accounts.find_applicant, []

    def not_yet_committed(s, email):  # the first look misses the other transaction's row
        if not misses:
            misses.append(email)
            return None
        return find(s, email)
    monkeypatch.setattr(accounts, "find_applicant", not_yet_committed)
    r = intake.post("/api/applicants", json=dict(KAOHSIUNG, organisation="Second Tab"))
    assert (r.status_code, r.get_json()) == (202, {"message": accounts.registration_message(EMAIL)})
    assert misses == [EMAIL] and len(_applicants(stack)) == 1
    assert [e.get("reason") for e in signin_events(intake, EMAIL)] == [None, "already_registered"]


def _form_token(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


PAGE_FORM = {k: KAOHSIUNG[k] for k in ("type", "organisation", "country", "city", "contact_name", "contact_email",
                                    "language", "privacy_consent")}


def test_register_page_answers_the_same_for_a_registered_address(stack, intake):
    token = _form_token(intake, "/register")
    first = intake.post("/register", data={**PAGE_FORM, "csrf_token": token})
    again = intake.post("/register", data={**PAGE_FORM, "organisation": "Impostor City", "csrf_token": token})
    new = intake.post("/register", data={**PAGE_FORM, "contact_email": OTHER["contact_email"], "csrf_token": token})
    assert (first.status_code, again.status_code, new.status_code) == (202, 202, 202)
    assert first.get_data() == again.get_data()
    assert _blank(again.get_data(as_text=True), EMAIL) == _blank(new.get_data(as_text=True), OTHER["contact_email"])
    assert f"Check the inbox of {EMAIL}" in again.get_data(as_text=True)
    assert len(_applicants(stack)) == 2
    assert dict(_applicants(stack)[0])["organisation"] == KAOHSIUNG["organisation"]
    assert [e.get("reason") for e in signin_events(intake, EMAIL)] == [None, "already_registered"]


def test_register_page_without_the_form_token_is_refused(stack, intake):
    r = intake.post("/register", data=PAGE_FORM)
    assert r.status_code == 403
    assert _applicants(stack) == [] and signin_events(intake) == []


# --- B. the applicant's own record over the API ------------------------------------------------


def test_applicant_reads_own_record_as_me_and_by_id(intake, two):
    a, a_token, b, _ = two
    assert a["contact_email"] == EMAIL and a["secondary_name"] == "Chen Wei"
    assert b["organisation"] == OTHER["organisation"]
    for path in ("/api/applicants/me", f"/api/applicants/{a['id']}"):
        r = intake.get(path, headers=auth(a_token))
        assert (r.status_code, r.get_json()) == (200, a), path


def test_applicant_changes_own_record_and_intake_records_applicant_updated(stack, intake, two):
    a, a_token, _, _ = two
    call = open_call(intake, stack.secretariat_token())
    draft = start_draft(intake, a_token, call["id"])
    r = intake.patch("/api/applicants/me", headers=auth(a_token), json={
        "organisation": "高雄市政府 Kaohsiung City Government", "language": "ko",
        "secondary_name": "Wang Yu-ting", "secondary_email": "wang@kcg.example.tw"})
    assert r.status_code == 200, r.get_json()
    changed = r.get_json()
    assert changed == {**a, "organisation": "高雄市政府 Kaohsiung City Government", "language": "ko",
                       "secondary_name": "Wang Yu-ting", "secondary_email": "wang@kcg.example.tw"}
    assert intake.get("/api/applicants/me", headers=auth(a_token)).get_json() == changed
    [event] = outbox_messages(stack, "applicant.updated")
    assert (event["producer"], event["correlation_id"]) == ("intake", a["id"])
    data = event["data"]
    assert data["changes"] == ["organisation", "secondary_name", "secondary_email", "language"]
    assert data["application_ids"] == [draft["id"]]
    assert (data["id"], data["organisation"], data["language"], data["secondary_email"], data["contact_email"]) == (
        a["id"], "高雄市政府 Kaohsiung City Government", "ko", "wang@kcg.example.tw", EMAIL)
    assert data["updated_at"]

    # by id, the same; null clears the second contact
    r = intake.patch(f"/api/applicants/{a['id']}", headers=auth(a_token),
                     json={"secondary_name": None, "secondary_email": None})
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["secondary_name"], r.get_json()["secondary_email"]) == (None, None)
    assert len(outbox_messages(stack, "applicant.updated")) == 2


def test_applicant_patch_without_a_change_records_no_event(stack, intake, two):
    a, a_token, _, _ = two
    for body in ({}, {"city": a["city"], "language": a["language"]}):
        r = intake.patch("/api/applicants/me", headers=auth(a_token), json=body)
        assert (r.status_code, r.get_json()) == (200, a)
    assert outbox_messages(stack, "applicant.updated") == []


def test_another_applicants_record_answers_exactly_as_a_missing_one(stack, intake, two):
    a, a_token, b, b_token = two
    before = _applicants(stack)
    for method, body in (("get", None), ("patch", {"organisation": "Hijacked"})):
        missing = str(uuid.uuid4())
        kwargs = {"json": body} if body is not None else {}
        theirs = getattr(intake, method)(f"/api/applicants/{a['id']}", headers=auth(b_token), **kwargs)
        absent = getattr(intake, method)(f"/api/applicants/{missing}", headers=auth(b_token), **kwargs)
        assert theirs.status_code == absent.status_code == 404, method
        assert theirs.get_json() == {**absent.get_json(), "message": f"no applicant {a['id']}"}
        assert absent.get_json()["message"] == f"no applicant {missing}"
    assert _applicants(stack) == before
    assert outbox_messages(stack, "applicant.updated") == []
    assert intake.get("/api/applicants/not-a-uuid", headers=auth(a_token)).status_code == 404


@pytest.mark.parametrize("method,path", [("get", "/api/applicants/me"), ("patch", "/api/applicants/me"),
                                         ("get", "/api/applicants/{id}"), ("patch", "/api/applicants/{id}")])
def test_applicant_record_without_a_token_is_401(stack, intake, two, method, path):
    a = two[0]
    for headers in ({}, auth("not-a-token")):
        r = getattr(intake, method)(path.format(id=a["id"]), headers=headers, json={"city": "x"})
        assert r.status_code == 401 and r.get_json()["code"] == 401
    assert stack.apps["intake"].test_client().get("/api/applicants/me").status_code == 401


@pytest.mark.parametrize("field,value", [
    ("organisation", ""), ("organisation", None), ("city", "x" * 201), ("contact_name", ["Lin"]),
    ("secondary_email", "nope"), ("secondary_name", ""), ("language", "klingon"), ("language", None),
    ("secondary_email", EMAIL.upper()), ("nickname", "Mei"),
])
def test_applicant_patch_bad_value_is_422_naming_the_field(stack, intake, two, field, value):
    a, a_token, _, _ = two
    before = _applicants(stack)
    r = intake.patch("/api/applicants/me", headers=auth(a_token), json={"city": "Kaohsiung", field: value})
    assert r.status_code == 422, r.get_json()
    assert list(r.get_json()["errors"]["json"]) == [field]
    assert _applicants(stack) == before and outbox_messages(stack, "applicant.updated") == []


@pytest.mark.parametrize("field,value", [("type", "institution"), ("country", "KR"),
                                         ("contact_email", "new@kcg.example.tw"), ("contact_email", EMAIL)])
def test_applicant_patch_of_a_fixed_field_is_422_naming_it(stack, intake, two, field, value):
    a, a_token, _, _ = two
    before = _applicants(stack)
    r = intake.patch(f"/api/applicants/{a['id']}", headers=auth(a_token), json={"city": "Kaohsiung", field: value})
    assert r.status_code == 422, r.get_json()
    errors = r.get_json()["errors"]["json"]
    assert list(errors) == [field] and "cannot be changed" in errors[field][0]
    assert _applicants(stack) == before and outbox_messages(stack, "applicant.updated") == []


def test_registration_with_the_same_second_address_is_422(stack, intake):
    r = intake.post("/api/applicants", json=dict(KAOHSIUNG, secondary_email=EMAIL.upper()))
    assert r.status_code == 422 and list(r.get_json()["errors"]["json"]) == ["secondary_email"]
    assert _applicants(stack) == []


# --- notify: the recipients of the applicant's applications follow the change ------------------


def _recipient(stack, application_id: str) -> Recipient:
    with service_db(stack, "notify").session() as s:
        return s.get(Recipient, application_id)


def test_notify_updates_the_recipients_of_the_applicants_applications_once(stack, intake, two):
    a, a_token, b, b_token = two
    call = open_call(intake, stack.secretariat_token())
    mine = submit_application(intake, a_token, call["id"])
    theirs = submit_application(intake, b_token, call["id"])
    draft = start_draft(intake, a_token, call["id"], category="human_centricity")
    # what notify knows of the two submissions (as application.submitted left it)
    seed_recipients(stack, ((mine, a), (theirs, b)))
    r = intake.patch("/api/applicants/me", headers=auth(a_token), json={
        "contact_name": "Lin Mei-hua 林美華", "secondary_email": "wang@kcg.example.tw", "language": "ko",
        "organisation": "高雄市政府"})
    assert r.status_code == 200, r.get_json()
    [message] = outbox_messages(stack, "applicant.updated")
    assert sorted(message["data"]["application_ids"]) == sorted([mine["id"], draft["id"]])

    for _ in range(2):  # redelivered: the inbox absorbs it
        dispatch_to_notify(stack, json.loads(json.dumps(message)))
    updated = _recipient(stack, mine["id"])
    assert (updated.contact_name, updated.organisation, updated.secondary_email, updated.language,
            updated.contact_email, updated.reference) == (
        "Lin Mei-hua 林美華", "高雄市政府", "wang@kcg.example.tw", "ko", EMAIL, mine["reference"])
    other = _recipient(stack, theirs["id"])
    assert (other.contact_name, other.language, other.secondary_email) == (b["contact_name"], "en", None)
    assert _recipient(stack, draft["id"]) is None  # notify learns of a draft only when it is submitted
    with service_db(stack, "notify").session() as s:
        assert s.scalar(select(func.count()).select_from(notify_inbox)) == 1


def test_notify_consumes_applicant_updated():
    from shared.topology import SUBSCRIPTIONS
    assert "applicant.updated" in SUBSCRIPTIONS["notify"]
    assert "applicant.updated" in bind(NOTIFY_HANDLERS, sender=None)


# --- the page /portal/profile -------------------------------------------------------------------

def _browser(stack, address: str = EMAIL):
    client = stack.apps["intake"].test_client()
    assert client.post("/api/signin", json={"email": address, "purpose": "browser"}).status_code == 202
    assert open_signin_link(client, urlparse(signin_events(client, address)[-1]["url"]).path).status_code == 303
    return client


def test_profile_page_is_linked_from_the_dashboard_and_shows_the_record(stack, two):
    browser = _browser(stack)
    assert 'href="/portal/profile"' in browser.get("/portal").get_data(as_text=True)
    page = browser.get("/portal/profile")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for value in (KAOHSIUNG["organisation"], KAOHSIUNG["city"], "Chen Wei", "chen.wei@kcg.example.tw", EMAIL):
        assert value in html
    assert '<label for="secondary_email">' in html and 'name="csrf_token"' in html
    assert '<option value="en" lang="en" selected>' in html
    assert OTHER["organisation"] not in html


def test_profile_page_saves_with_the_form_token(stack, intake, two):
    a = two[0]
    browser = _browser(stack)
    token = _form_token(browser, "/portal/profile")
    form = {"organisation": "Kaohsiung City Government", "city": "高雄", "contact_name": "Lin Mei-hua",
            "secondary_name": "", "secondary_email": "", "language": "ko", "csrf_token": token}
    r = browser.post("/portal/profile", data=form)
    assert (r.status_code, r.headers["Location"]) == (302, "/portal/profile")
    assert "Saved." in browser.get("/portal/profile").get_data(as_text=True)
    with service_db(stack).session() as s:
        row = s.get(Applicant, a["id"])
        assert (row.city, row.language, row.secondary_name, row.secondary_email) == ("高雄", "ko", None, None)
    [event] = outbox_messages(stack, "applicant.updated")
    assert event["data"]["changes"] == ["city", "secondary_name", "secondary_email", "language"]


def test_profile_page_without_the_form_token_is_refused(stack, two):
    browser = _browser(stack)
    before = _applicants(stack)
    r = browser.post("/portal/profile", data={"organisation": "Hijacked", "city": "x", "contact_name": "x",
                                              "language": "en"})
    assert r.status_code == 403
    r = browser.post("/portal/profile", data={"organisation": "Hijacked", "city": "x", "contact_name": "x",
                                              "language": "en", "csrf_token": "wrong"})
    assert r.status_code == 403
    assert _applicants(stack) == before and outbox_messages(stack, "applicant.updated") == []


def test_profile_page_bad_values_are_shown_at_their_fields_and_nothing_is_saved(stack, two):
    browser = _browser(stack)
    before = _applicants(stack)
    token = _form_token(browser, "/portal/profile")
    r = browser.post("/portal/profile", data={
        "organisation": "", "city": "高雄", "contact_name": "Lin Mei-hua", "secondary_name": "",
        "secondary_email": EMAIL, "language": "klingon", "csrf_token": token})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    for field in ("organisation", "language"):
        assert f'id="{field}-error"' in html, field
    assert 'value="高雄"' in html  # what was typed is shown back
    assert _applicants(stack) == before and outbox_messages(stack, "applicant.updated") == []
    r = browser.post("/portal/profile", data={
        "organisation": "Kaohsiung", "city": "高雄", "contact_name": "Lin Mei-hua", "secondary_name": "",
        "secondary_email": EMAIL.upper(), "language": "en", "csrf_token": token})
    assert r.status_code == 422 and 'id="secondary_email-error"' in r.get_data(as_text=True)
    assert _applicants(stack) == before


def test_profile_page_sends_an_anonymous_visitor_to_sign_in(stack):
    r = stack.apps["intake"].test_client().get("/portal/profile")
    assert (r.status_code, r.headers["Location"]) == (302, "/signin?next=/portal/profile")


def test_openapi_documents_the_registration_answer_and_the_record(intake):
    spec = intake.get("/openapi.json").get_json()
    register = spec["paths"]["/api/applicants"]["post"]["responses"]
    assert "202" in register and "201" not in register
    assert set(spec["paths"]["/api/applicants/me"]) >= {"get", "patch"}
    assert set(spec["paths"]["/api/applicants/{applicant_id}"]) >= {"get", "patch"}
    patch = spec["paths"]["/api/applicants/me"]["patch"]["requestBody"]["content"]["application/json"]["schema"]
    name = patch["$ref"].rsplit("/", 1)[1]
    properties = spec["components"]["schemas"][name]["properties"]
    assert set(properties) == {"organisation", "city", "contact_name", "secondary_name", "secondary_email", "language"}
    assert not spec["components"]["schemas"][name].get("required")
