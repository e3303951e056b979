"""Visa and passport details (issue 15): given with a consent to the edition's privacy notice,
recorded with its version (ops/consents.py), and deleted by intake's worker a set time after the
ceremony (ops/retention.py), on both stacks. The clock is moved (``now``), not waited for."""
from __future__ import annotations

import json
import re
import threading
import time
from datetime import timedelta
from zoneinfo import ZoneInfo
from urllib.parse import urlparse

import pytest
from sqlalchemy import select

from services.intake.models import Consent, Rsvp, outbox
from services.intake.ops import retention
from tests.intake.test_ceremony import PUBLIC_URL, STARTS, decide, outbox_events, release, set_ceremony
from tests.support.race import in_threads
from tests.support.stack import auth, open_call, open_signin_link, register, signin_events, submit_application

VISA = {"attending": True, "delegates": [{"name": "Lin Mei-hua", "role": "Director"}], "visa_letter": True,
        "visa_details": "LIN MEI-HUA, Taiwan"}
DAYS = 30


def _db(stack):
    return stack.apps["intake"].extensions["prize"]["db"]


class Guests:
    """Two editions whose ceremonies are a month apart, each with two invited cities."""

    def __init__(self, stack):
        self.stack, self.intake = stack, stack.clients["intake"]
        self.sec = stack.secretariat_token()
        self.apps, self.tokens, self.calls = {}, {}, {}
        for year, starts in ((2025, STARTS), (2026, STARTS + timedelta(days=DAYS))):
            call = open_call(self.intake, self.sec, year=year)
            self.calls[year] = call
            assert set_ceremony(self.intake, self.sec, call["id"], starts_at=starts.isoformat(),
                                rsvp_by=(starts - timedelta(days=10)).isoformat()).status_code == 200
            for city in ("kaohsiung", "lublin"):
                key = f"{city}-{year}"
                _, token = register(self.intake, contact_email=f"{key}@city.example")
                app = submit_application(self.intake, token, call["id"], title=f"Smart {key}")
                decide(stack, app, "advanced")
                release(stack, app, "finalist")
                self.apps[key], self.tokens[key] = app, token

    def answer(self, key, body):
        return self.intake.put(f"/api/applications/{self.apps[key]['id']}/ceremony", json=body,
                               headers=auth(self.tokens[key]))

    def invitation(self, key):
        return self.intake.get(f"/api/applications/{self.apps[key]['id']}/ceremony",
                               headers=auth(self.tokens[key])).get_json()

    def rsvps(self) -> dict[str, Rsvp]:
        with _db(self.stack).session() as s:
            rows = {r.application_id: r for r in s.scalars(select(Rsvp))}
        return {key: rows[app["id"]] for key, app in self.apps.items() if app["id"] in rows}


@pytest.fixture
def guests(stack):
    return Guests(stack)


@pytest.fixture(params=["embedded", "real"])
def stack(request, tmp_path):
    from shared.config import load_settings
    from tests.conftest import env_for
    from tests.support.stack import Stack
    s = Stack(load_settings(env_for(request, tmp_path / "var", request.param, PRIZE_PUBLIC_URL=PUBLIC_URL)),
              services=("intake",))
    yield s
    s.stop()


def test_travel_details_need_the_travel_consent_recorded_with_its_version(stack, guests):
    g = guests
    r = g.answer("kaohsiung-2026", VISA)
    assert r.status_code == 422
    assert "consent to the privacy notice: send its version (1)" in r.get_json()["errors"]["json"]["privacy_consent"][0]
    assert g.rsvps() == {} and outbox_events(stack, "ceremony.rsvp_received") == []
    assert g.answer("kaohsiung-2026", {**VISA, "privacy_consent": 2}).status_code == 422  # not the version shown
    # without travel details nothing is asked
    assert g.answer("lublin-2026", {"attending": True, "delegates": VISA["delegates"]}).status_code == 200

    r = g.answer("kaohsiung-2026", {**VISA, "privacy_consent": 1})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["privacy_notice_version"] == 1 and body["travel_data_consent"]["version"] == 1
    assert body["travel_data_deleted_on"].startswith((STARTS + timedelta(days=2 * DAYS)).strftime("%Y-%m-%dT%H:%M"))
    with _db(stack).session() as s:
        consents = s.scalars(select(Consent).where(Consent.purpose == "travel_data")).all()
    assert [(c.call_id, c.notice_version) for c in consents] == [(g.calls[2026]["id"], 1)]
    # a change of the answer under the same notice needs no second tick, and records no second row
    assert g.answer("kaohsiung-2026", {**VISA, "visa_details": "LIN MEI-HUA, Taiwan; CHEN WEI, Taiwan"}).status_code == 200
    # the notice changes: the details are taken again only with a consent to the new version
    intake, sec = g.intake, g.sec
    intake.put(f"/api/calls/{g.calls[2026]['id']}/privacy-notice", headers=auth(sec), json={"text": "New terms."})
    r = g.answer("kaohsiung-2026", VISA)
    assert r.status_code == 422 and "version (2)" in r.get_json()["message"]
    assert g.answer("kaohsiung-2026", {**VISA, "privacy_consent": 2}).status_code == 200
    with _db(stack).session() as s:
        versions = s.scalars(select(Consent.notice_version).where(Consent.purpose == "travel_data")
                             .order_by(Consent.given_at)).all()
    assert versions == [1, 2]


def _browser(stack, email: str):
    client = stack.apps["intake"].test_client()
    assert client.post("/api/signin", json={"email": email, "purpose": "browser"}).status_code == 202
    assert open_signin_link(client, urlparse(signin_events(client, email)[-1]["url"]).path).status_code == 303
    return client


def test_the_ceremony_page_asks_the_travel_consent_and_says_when_the_details_are_deleted(stack, guests):
    g = guests
    browser = _browser(stack, "kaohsiung-2026@city.example")
    path = f"/portal/applications/{g.apps['kaohsiung-2026']['id']}/ceremony"
    html = browser.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert "delete them automatically on" in html and 'name="privacy_consent" value="1"' in html
    form = {"csrf_token": token, "attending": "yes", "delegate0_name": "Lin Mei-hua", "visa_letter": "yes",
            "visa_details": "LIN MEI-HUA, Taiwan"}
    r = browser.post(path, data=form)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="privacy_consent-error"' in html
    assert "Please tick the box to agree to the privacy notice for the visa and passport details" in html
    assert g.rsvps() == {}
    r = browser.post(path, data={**form, "privacy_consent": "1"})
    assert r.status_code == 302
    html = browser.get(path).get_data(as_text=True)
    assert "You agreed on" in html and "(version 1) for these details" in html

    korean = browser.get(path, headers={"Accept-Language": "ko"})  # the applicant's language is English
    assert "We use these details only to write the visa invitation letters" in korean.get_data(as_text=True)
    browser.post("/language", data={"language": "ko", "next": path, "csrf_token": token})
    html = browser.get(path).get_data(as_text=True)
    deleted_on = (STARTS + timedelta(days=2 * DAYS)).astimezone(ZoneInfo("Asia/Seoul"))
    assert f"{deleted_on.year}년 {deleted_on.month}월 {deleted_on.day}일" in html
    assert "이 정보는 비자 초청장 작성에만 이용하며" in html and "<h1>시상식</h1>" in html


def test_the_worker_deletes_exactly_the_travel_data_of_ceremonies_past_the_limit(stack, guests):
    g = guests
    for key in g.apps:
        assert g.answer(key, {**VISA, "visa_details": f"{key.upper()}, passport", "privacy_consent": 1}).status_code == 200
    db = _db(stack)
    first = STARTS  # the 2025 ceremony; the 2026 one starts DAYS later
    assert retention.delete_travel_data(db, first + timedelta(days=DAYS) - timedelta(seconds=1), DAYS) == 0
    assert all(r.visa_details and r.travel_data_deleted_at is None for r in g.rsvps().values())

    moment = first + timedelta(days=DAYS, minutes=1)
    assert retention.delete_travel_data(db, moment, DAYS) == 2
    rows = g.rsvps()
    for key, row in rows.items():
        if key.endswith("2025"):
            assert (row.visa_letter, row.visa_details, row.travel_data_deleted_at) == (False, "", moment)
            assert row.attending and row.delegates[0]["name"] == "Lin Mei-hua"  # the rest of the answer stays
        else:
            assert (row.visa_letter, row.visa_details, row.travel_data_deleted_at) == (True, f"{key.upper()}, passport", None)
    # the copies in intake's outbox went with them; the other edition's stay
    carried = {e["application_id"]: e["visa_details"] for e in outbox_events(stack, "ceremony.rsvp_received")}
    assert {k: carried[a["id"]] for k, a in g.apps.items()} == {
        "kaohsiung-2025": "", "lublin-2025": "", "kaohsiung-2026": "KAOHSIUNG-2026, passport",
        "lublin-2026": "LUBLIN-2026, passport"}
    assert json.dumps(outbox_events(stack, "ceremony.rsvp_received")).count("2025, passport") == 0
    # the applicant is told, and a second pass changes nothing
    assert g.invitation("kaohsiung-2025")["rsvp"]["travel_data_deleted_at"].startswith(moment.strftime("%Y-%m-%dT%H:%M"))
    assert retention.delete_travel_data(db, moment + timedelta(hours=1), DAYS) == 0
    assert g.rsvps()["kaohsiung-2025"].travel_data_deleted_at == moment
    assert retention.delete_travel_data(db, moment + timedelta(days=DAYS), DAYS) == 2  # the 2026 ceremony's turn


def test_two_workers_at_the_same_moment_delete_each_answers_details_once(stack, guests, monkeypatch):
    g = guests
    for key in g.apps:
        assert g.answer(key, {**VISA, "privacy_consent": 1}).status_code == 200
    db, moment = _db(stack), STARTS + timedelta(days=3 * DAYS)
    blank, first = retention.blank_outbox_copies, threading.Lock()

    def slow_first(session, ids, carrier):  # the first worker holds its row locks a while: the second must wait
        if first.acquire(blocking=False):
            time.sleep(0.3)
        return blank(session, ids, carrier)

    monkeypatch.setattr(retention, "blank_outbox_copies", slow_first)
    results = in_threads(lambda: retention.delete_travel_data(db, moment, DAYS), barrier=threading.Barrier(2))
    assert sorted(results) == [0, 4]
    assert all(r.travel_data_deleted_at == moment and r.visa_details == "" for r in g.rsvps().values())
    with db.engine.connect() as conn:
        bodies = conn.execute(select(outbox.c.body).where(outbox.c.type == "ceremony.rsvp_received")).scalars().all()
    assert all(json.loads(b)["data"]["visa_details"] == "" for b in bodies)


def test_the_deletion_is_one_of_the_workers_timed_jobs(stack):
    from services.intake import jobs
    names = {job.name: job for job in jobs.periodic_jobs(_db(stack), PUBLIC_URL, travel_data_days=7)}
    assert names["travel-data-deletion"].every_seconds <= 3600
    assert names["travel-data-deletion"].run() == 0  # nothing to delete: runs, touches nothing
