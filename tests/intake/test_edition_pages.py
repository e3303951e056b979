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
