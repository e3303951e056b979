"""Prospects (issue 17, outreach): the API and the pages of intake (ops/prospects.py). Who may
read and change them (every staff role reads; observers and jury chairs change nothing;
applicants, jurors and strangers get nothing), each bad input answered with a 4xx naming the
field, a stale edit's 409 naming the versions, and the list's filters, search and paging."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.intake.models import OutreachInvitation, Prospect
from shared.auth import issue_token
from tests.api.test_staff_roles import _tokens
from tests.intake.test_edition_pages import _browser
from tests.support.stack import auth, open_call, register

API = "/api/prospects"
PAGES = "/secretariat/prospects"
LUBLIN = {"organisation": "Urząd Miasta Lublin", "country": "PL", "city": "Lublin", "contact_name": "Zofia Nowak",
          "email": "Zofia@Lublin.example.pl", "language": "en", "met_at": "Smart City Summit and Expo",
          "met_on": "2023-03-28", "notes": "Interested in the digital twin."}


def _db(stack):
    return stack.apps["intake"].extensions["prize"]["db"]


def _text(r) -> str:
    return r.get_data(as_text=True)


@pytest.fixture
def tokens(stack):
    return _tokens(stack)


def _create(intake, token, **changes):
    r = intake.post(API, headers=auth(token), json={**LUBLIN, **changes})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


# --- the API ------------------------------------------------------------------------------------

def test_create_normalises_records_who_and_defaults_the_owner_to_the_caller(stack, intake, tokens):
    call = open_call(intake, tokens["secretariat"])
    body = _create(intake, tokens["secretariat"], call_id=call["id"])
    assert (body["email"], body["region"], body["status"], body["version"]) == \
        ("zofia@lublin.example.pl", "europe", "met", 1)
    assert body["owner"] == "secretariat@wego.example"
    assert body["created_by"] == body["updated_by"] == "Secretariat <secretariat@wego.example>"
    assert body["year"] == 2026 and body["invitations"] == [] and body["applicant"] is None
    named = _create(intake, tokens["admin"], email="b@lublin.example.pl", owner="Kim@WeGo.example")
    assert named["owner"] == "kim@wego.example"


@pytest.mark.parametrize("field,value,problem", [
    ("organisation", "   ", "json.organisation"),
    ("email", "not-an-address", "json.email"),
    ("country", "XX", "json.country"),
    ("country", "Poland", "json.country"),  # the API takes codes; the CSV takes names too
    ("language", "pl", "json.language"),
    ("applicant_type", "city", "json.applicant_type"),
    ("met_on", "28/03/2023", "json.met_on"),
    ("met_on", "2023-02-30", "json.met_on"),
    ("call_id", str(uuid.uuid4()), "json.call_id"),
])
def test_bad_input_is_a_422_naming_the_field_and_stores_nothing(stack, intake, sec, field, value, problem):
    r = intake.post(API, headers=auth(sec), json={**LUBLIN, field: value})
    assert r.status_code == 422, r.get_json()
    where, name = problem.split(".")
    assert name in r.get_json()["errors"][where], r.get_json()
    with _db(stack).session() as s:
        assert s.query(Prospect).count() == 0


def test_an_address_already_a_prospect_is_a_409_naming_it(stack, intake, sec):
    first = _create(intake, sec)
    r = intake.post(API, headers=auth(sec), json={**LUBLIN, "organisation": "Lublin again",
                                                   "email": "ZOFIA@lublin.example.pl"})
    assert r.status_code == 409
    assert "already a prospect: Urząd Miasta Lublin" in r.get_json()["message"]
    assert r.get_json()["prospect_id"] == first["id"]
    other = _create(intake, sec, email="x@ryde.example.au", organisation="City of Ryde", country="AU")
    r = intake.patch(f"{API}/{other['id']}", headers=auth(sec), json={"version": 1, "email": first["email"]})
    assert r.status_code == 409 and "already a prospect" in r.get_json()["message"]


def test_an_edit_needs_the_version_read_and_a_stale_one_is_a_409_naming_it(stack, intake, tokens):
    sec = tokens["secretariat"]
    made = _create(intake, sec)
    r = intake.patch(f"{API}/{made['id']}", headers=auth(tokens["admin"]), json={"version": 1, "country": "KR"})
    assert r.status_code == 200
    changed = r.get_json()
    assert (changed["version"], changed["region"], changed["city"]) == (2, "asia_pacific", "Lublin")
    assert changed["updated_by"] == "Admin <admin@wego.example>" and changed["created_by"].startswith("Secretariat")
    stale = intake.patch(f"{API}/{made['id']}", headers=auth(sec), json={"version": 1, "city": "Busan"})
    assert stale.status_code == 409
    assert stale.get_json()["version"] == 2 and "version 1" in stale.get_json()["message"]
    assert intake.patch(f"{API}/{made['id']}", headers=auth(sec), json={"city": "Busan"}).status_code == 422
    assert intake.get(f"{API}/{made['id']}", headers=auth(sec)).get_json()["city"] == "Lublin"
    assert intake.patch(f"{API}/{uuid.uuid4()}", headers=auth(sec), json={"version": 1}).status_code == 404


def test_who_may_call_the_api(stack, intake, tokens):
    made = _create(intake, tokens["secretariat"])
    applicant, applicant_token = register(intake)
    juror = issue_token(stack.settings.secret_key, "juror", str(uuid.uuid4()))
    for token in (None, applicant_token, juror):
        headers = auth(token) if token else {}
        for method, path, body in (("get", API, None), ("get", f"{API}/{made['id']}", None),
                                   ("post", API, {**LUBLIN, "email": "n@x.example"}),
                                   ("patch", f"{API}/{made['id']}", {"version": 1, "city": "X"}),
                                   ("post", f"{API}/import?dry_run=1", {"csv": "organisation,email,country\n"})):
            r = getattr(intake, method)(path, headers=headers, json=body)
            assert r.status_code in (401, 403), (token, method, path, r.status_code)
            assert "Lublin" not in _text(r)
    for role in ("observer", "jury_chair"):
        assert intake.get(f"{API}/{made['id']}", headers=auth(tokens[role])).status_code == 200
        r = intake.patch(f"{API}/{made['id']}", headers=auth(tokens[role]), json={"version": 1, "city": "X"})
        assert r.status_code == 403 and "can read but not" in r.get_json()["message"]
        r = intake.post(API, headers=auth(tokens[role]), json={**LUBLIN, "email": f"{role}@x.example"})
        assert r.status_code == 403
    assert intake.get(f"{API}/{made['id']}", headers=auth(tokens["secretariat"])).get_json()["version"] == 1


def _seed_list(stack, intake, sec) -> dict:
    """Prospects in every status, two editions, three regions."""
    call = open_call(intake, sec)
    ids = {}
    for i, (org, country, met_at) in enumerate([("Lublin", "PL", "Smart City Summit and Expo"),
                                                ("Budapest", "HU", "Smart City Summit and Expo"),
                                                ("Chiang Mai", "TH", "Smart City Summit and Expo"),
                                                ("Guarulhos", "BR", "Mayors Forum"),
                                                ("Kaohsiung", "TW", "Smart City Summit and Expo")]):
        ids[org] = _create(intake, sec, organisation=org, country=country, met_at=met_at, city=org,
                           email=f"contact{i}@{org.lower().replace(' ', '')}.example", call_id=call["id"],
                           contact_name=f"Person {i}")["id"]
    applicant, _ = register(intake)
    now = datetime.now(timezone.utc)
    with _db(stack).session() as s, s.begin():
        s.get(Prospect, ids["Budapest"]).opted_out_at = now
        s.get(Prospect, ids["Kaohsiung"]).applicant_id = applicant["id"]
        s.add(OutreachInvitation(id=str(uuid.uuid4()), prospect_id=ids["Chiang Mai"], call_id=call["id"],
                                 token_hash=uuid.uuid4().hex * 2, event_id=str(uuid.uuid4()), sent_at=now,
                                 sent_by="Seo Yuna <seo@wego.example>", expires_at=now + timedelta(days=30)))
    return {"ids": ids, "call": call}


def test_the_list_filters_searches_sorts_and_pages_in_sql(stack, intake, sec):
    seeded = _seed_list(stack, intake, sec)

    def names(query: str) -> list[str]:
        r = intake.get(f"{API}?{query}", headers=auth(sec))
        assert r.status_code == 200, r.get_json()
        return [item["organisation"] for item in r.get_json()["items"]]
    assert names("status=met&sort=organisation&direction=asc") == ["Guarulhos", "Lublin"]
    assert names("status=invited") == ["Chiang Mai"]
    assert names("status=registered") == ["Kaohsiung"]
    assert names("status=opted_out") == ["Budapest"]
    assert names("region=europe&sort=organisation&direction=asc") == ["Budapest", "Lublin"]
    assert names("country=BR") == ["Guarulhos"] and names("met_at=Mayors%20Forum") == ["Guarulhos"]
    assert names("q=CHIANG") == ["Chiang Mai"] and names("q=contact3@") == ["Guarulhos"]
    assert names("q=person%204") == ["Kaohsiung"]
    assert len(names(f"call_id={seeded['call']['id']}")) == 5 and names(f"call_id={uuid.uuid4()}") == []
    assert names("owner=nobody@wego.example") == []
    assert names("sort=organisation&direction=desc")[0] == "Lublin"
    assert intake.get(f"{API}?status=maybe", headers=auth(sec)).status_code == 422
    with _db(stack).session() as s, s.begin():  # 120 more: three pages
        now = datetime.now(timezone.utc)
        for i in range(120):
            s.add(Prospect(id=str(uuid.uuid4()), organisation=f"Town {i:03}", country="KR", region="asia_pacific",
                           email=f"t{i}@town.example", created_at=now, created_by="t", updated_at=now, updated_by="t"))
    page = intake.get(f"{API}?page=3&sort=organisation&direction=asc", headers=auth(sec)).get_json()
    assert (page["total"], page["pages"], page["page"], len(page["items"])) == (125, 3, 3, 25)
    assert intake.get(f"{API}?page=99", headers=auth(sec)).get_json()["page"] == 3


# --- the pages ----------------------------------------------------------------------------------

@pytest.fixture
def sec_browser(stack):
    return _browser(stack, "secretariat")


def _form(**changes) -> dict:
    return {**LUBLIN, "applicant_type": "city_government", "owner": "", "call_id": "", **changes}


def test_a_member_adds_a_prospect_and_errors_are_shown_beside_the_fields_keeping_what_was_typed(stack, sec_browser):
    r = sec_browser.get(f"{PAGES}/new")
    assert r.status_code == 200 and 'value="secretariat-' in _text(r)  # the owner: the member
    bad = sec_browser.post(f"{PAGES}/new", data={"csrf_token": sec_browser.csrf, **_form(
        organisation="", email="zofia@", country="ZZ", met_on="yesterday", city="Lublin-Typed")})
    text = _text(bad)
    assert bad.status_code == 422
    for field in ("organisation", "email", "country", "met_on"):
        assert f'id="{field}-error"' in text and re.search(f'aria-describedby="[^"]*{field}-error"', text), field
    assert 'value="Lublin-Typed"' in text and 'value="yesterday"' in text
    r = sec_browser.post(f"{PAGES}/new", data={"csrf_token": sec_browser.csrf, **_form()})
    assert r.status_code == 303
    prospect_id = r.headers["Location"].rsplit("/", 1)[1]
    with _db(stack).session() as s:
        row = s.get(Prospect, prospect_id)
        assert (row.email, row.owner, row.created_by) == ("zofia@lublin.example.pl", row.owner, sec_browser.who)
        assert row.owner.startswith("secretariat-") and row.owner.endswith("@wego.example")
    again = sec_browser.post(f"{PAGES}/new", data={"csrf_token": sec_browser.csrf, **_form(organisation="Other")})
    assert again.status_code == 409 and "already a prospect" in _text(again)
    assert f"{PAGES}/{prospect_id}" in _text(again)


def test_an_edit_from_a_stale_page_is_a_409_keeping_what_was_typed(stack, intake, sec, sec_browser):
    made = _create(intake, sec)
    page = _text(sec_browser.get(f"{PAGES}/{made['id']}"))
    assert 'name="version" value="1"' in page and "Not registered yet" in page and "None sent" in page
    assert intake.patch(f"{API}/{made['id']}", headers=auth(sec), json={"version": 1, "city": "Lublin (PL)"}
                        ).status_code == 200
    r = sec_browser.post(f"{PAGES}/{made['id']}", data={"csrf_token": sec_browser.csrf, "version": "1",
                                                        **_form(city="Typed by me")})
    assert r.status_code == 409
    text = _text(r)
    assert "operator test-secretariat changed this prospect" in text and 'value="Typed by me"' in text
    assert 'name="version" value="2"' in text and "Stored now" in text
    bad = sec_browser.post(f"{PAGES}/{made['id']}", data={"csrf_token": sec_browser.csrf, "version": "2",
                                                          **_form(language="pl")})
    assert bad.status_code == 422 and 'id="language-error"' in _text(bad)
    ok = sec_browser.post(f"{PAGES}/{made['id']}", data={"csrf_token": sec_browser.csrf, "version": "2",
                                                         **_form(city="Typed by me")})
    assert ok.status_code == 303
    with _db(stack).session() as s:
        row = s.get(Prospect, made["id"])
        assert (row.city, row.version, row.updated_by) == ("Typed by me", 3, sec_browser.who)


def test_the_list_page_has_its_filters_as_a_get_form_and_the_invite_form(stack, intake, sec, sec_browser):
    seeded = _seed_list(stack, intake, sec)
    text = _text(sec_browser.get(f"{PAGES}?status=invited"))
    assert "Chiang Mai" in text and "Lublin" not in text
    assert 'action="/secretariat/outreach/invite"' in text and 'method="get"' in text
    assert f'name="prospect" value="{seeded["ids"]["Chiang Mai"]}"' in text
    assert re.search(r'<select id="invite-call" name="call">\s*<option value="' + seeded["call"]["id"], text)
    assert "Add a prospect" in text and "Import from CSV" in text
    redirect = sec_browser.get(f"{PAGES}?q=&status=invited&region=&page=")
    assert redirect.status_code == 302 and redirect.headers["Location"].endswith(f"{PAGES}?status=invited")
    detail = _text(sec_browser.get(f"{PAGES}/{seeded['ids']['Chiang Mai']}"))
    assert "Seo Yuna" in detail and "expires on" in detail
    detail = _text(sec_browser.get(f"{PAGES}/{seeded['ids']['Kaohsiung']}"))
    assert "Registered as" in detail
    assert "Prospects" in _text(sec_browser.get("/secretariat"))


def test_pages_per_role(stack, intake, sec):
    made = _create(intake, sec)
    for role in ("observer", "jury_chair"):
        browser = _browser(stack, role)
        listed = _text(browser.get(PAGES))
        assert "Lublin" in listed and "Add a prospect" not in listed and 'name="prospect"' not in listed
        for path in (f"{PAGES}/new", f"{PAGES}/{made['id']}", f"{PAGES}/import"):
            r = browser.get(path)
            assert r.status_code == 200 and "can read this page but not change" in _text(r), (role, path)
        assert "Invite to apply" not in listed
        for path in (f"{PAGES}/new", f"{PAGES}/{made['id']}", f"{PAGES}/import", f"{PAGES}/import/confirm"):
            r = browser.post(path, data={"csrf_token": browser.csrf, **_form(city="Observed"), "version": "1"})
            assert r.status_code == 403 and "can read but not" in _text(r), (role, path)
    anonymous = stack.apps["intake"].test_client()
    assert anonymous.get(PAGES).status_code == 302 and "/staff/" in anonymous.get(PAGES).headers["Location"]
    _, applicant_token = register(intake, contact_email="someone@else.example")
    for headers in (auth(applicant_token), auth(issue_token(stack.settings.secret_key, "juror", "j"))):
        r = anonymous.get(f"{PAGES}/{made['id']}", headers=headers)
        assert r.status_code in (401, 403) and "Lublin" not in _text(r)
    with _db(stack).session() as s:
        assert s.get(Prospect, made["id"]).version == 1
