"""The secretariat's Editions pages on intake (pages/editions.py): every page and form per staff
role, the bad input each form must answer with a 422 (or a 409 when someone else changed the
edition meanwhile) keeping what was typed, and the API's close and revoke-with-who."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.intake.models import Call, DeadlineException, outbox
from shared.staff import store
from services.intake.models import staff_tables
from tests.support.stack import auth, open_call, register

ROLES = ("admin", "secretariat", "jury_chair", "observer")
BASE = "/secretariat/editions"


# --- the API: closing early, and who revoked an exception --------------------------------------

def test_api_close_is_a_versioned_change_with_who_and_why_and_a_second_close_changes_nothing(stack, intake, sec):
    call = open_call(intake, sec)
    r = intake.post(f"/api/calls/{call['id']}/close", headers=auth(sec), json={"reason": "the jury asked"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["version"] == call["version"] + 1
    assert datetime.fromisoformat(body["closes_at"]) <= datetime.now(timezone.utc)
    versions = intake.get(f"/api/calls/{call['id']}/versions").get_json()
    assert (versions[-1]["changed_by"], versions[-1]["reason"]) == ("operator test-secretariat", "the jury asked")
    again = intake.post(f"/api/calls/{call['id']}/close", headers=auth(sec), json={"reason": "twice"})
    assert again.status_code == 200 and again.get_json()["version"] == body["version"]


def test_api_close_needs_a_reason_an_open_call_and_the_secretariat(stack, intake, sec):
    draft = intake.post("/api/calls", headers=auth(sec), json={
        "year": 2031, "theme": "t", "opens_at": "2031-01-01T00:00:00+09:00",
        "closes_at": "2031-06-01T00:00:00+09:00"}).get_json()
    assert intake.post(f"/api/calls/{draft['id']}/close", headers=auth(sec), json={"reason": "x"}).status_code == 409
    call = open_call(intake, sec)
    assert intake.post(f"/api/calls/{call['id']}/close", headers=auth(sec), json={}).status_code == 422
    assert intake.post(f"/api/calls/{call['id']}/close", json={"reason": "x"}).status_code in (401, 403)
    assert intake.post(f"/api/calls/{uuid.uuid4()}/close", headers=auth(sec), json={"reason": "x"}).status_code == 404


def test_api_revoke_records_who_revoked(stack, intake, sec):
    """Defect: revoking an exception kept when but not who."""
    call = open_call(intake, sec)
    applicant, _ = register(intake)
    granted = intake.post(f"/api/calls/{call['id']}/exceptions", headers=auth(sec), json={
        "applicant_id": applicant["id"], "closes_at": "2099-12-31T00:00:00+00:00", "reason": "flood"}).get_json()
    r = intake.delete(f"/api/calls/{call['id']}/exceptions/{granted['id']}", headers=auth(sec))
    assert r.status_code == 200
    assert r.get_json()["revoked_by"] == "operator test-secretariat"
    listed = intake.get(f"/api/calls/{call['id']}/exceptions", headers=auth(sec)).get_json()
    assert listed[0]["revoked_by"] == "operator test-secretariat"


# --- browsers of each staff role on intake ----------------------------------------------------

def _browser(stack, role: str):
    """A browser session of a member of ``role`` on intake, and its CSRF token."""
    app = stack.apps["intake"]
    now = datetime.now(timezone.utc)
    member = {"staff_id": str(uuid.uuid4()), "email": f"{role}-{uuid.uuid4().hex[:6]}@wego.example",
              "name": f"{role.title()} Kim", "language": "en", "role": role, "active": True, "version": 1,
              "changed_by": "test"}
    with app.extensions["prize"]["db"].session() as s, s.begin():
        store.apply_member(s, staff_tables, member, now)
        secret = store.open_session(s, staff_tables, member["staff_id"], "family-" + member["staff_id"], now)
        csrf = s.execute(staff_tables.sessions.select().where(
            staff_tables.sessions.c.id_hash == store.hash_secret(secret))).one().csrf_token
    client = app.test_client()
    client.set_cookie("prize_staff_intake", secret)
    client.csrf, client.who = csrf, f"{member['name']} <{member['email']}>"
    return client


@pytest.fixture
def sec_browser(stack):
    return _browser(stack, "secretariat")


def _db(stack):
    return stack.apps["intake"].extensions["prize"]["db"]


def _text(r) -> str:
    return r.get_data(as_text=True)


def _marker(html: str) -> str:
    return re.search(r'name="marker" value="([^"]*)"', html).group(1)


NEW = {"year": "2031", "theme": "Cities that listen", "time_zone": "Asia/Seoul", "opens_at": "2031-01-05T09:00",
       "closes_at": "2031-06-30T18:00", "score_min": "1", "score_max": "10"}


def _create(browser, **changes):
    r = browser.post(f"{BASE}/new", data={"csrf_token": browser.csrf, **NEW, **changes})
    assert r.status_code == 303, _text(r)
    return r.headers["Location"].rsplit("/", 1)[1]


def test_a_member_creates_an_edition_in_its_time_zone_and_sees_it_listed(stack, sec_browser):
    assert sec_browser.get(f"{BASE}/new").status_code == 200
    call_id = _create(sec_browser, time_zone="Europe/Madrid")
    with _db(stack).session() as s:
        call = s.get(Call, call_id)
        assert (call.status, call.time_zone, call.year) == ("draft", "Europe/Madrid", 2031)
        assert call.opens_at.replace(tzinfo=timezone.utc) == datetime(2031, 1, 5, 8, 0, tzinfo=timezone.utc)
        assert call.closes_at.replace(tzinfo=timezone.utc) == datetime(2031, 6, 30, 16, 0, tzinfo=timezone.utc)
    page = sec_browser.get(f"{BASE}/{call_id}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    text = _text(page)
    assert "05 January 2031, 09:00 (Europe/Madrid)" in text and "30 June 2031, 18:00 (Europe/Madrid)" in text
    assert "Cities that listen" in _text(sec_browser.get(BASE))
    home = _text(sec_browser.get("/secretariat"))
    assert "PUT /api" not in home and f"{BASE}/{call_id}" in home
