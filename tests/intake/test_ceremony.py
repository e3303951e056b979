"""The award ceremony in intake (services/intake/ceremony.py): who is invited and when, the answer
(RSVP) with its rules, the guest list and its CSV, and the RSVP reminders, on both stacks.

Review's decision events are handed to intake's handlers through its inbox, as its consumer
would; time is moved (``now``) for the reminders, not waited for."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select

from services.intake.ops import ceremony
from services.intake.handlers import HANDLERS, inviter
from services.intake.models import CeremonyInvitation, inbox, outbox
from shared.config import load_settings
from shared.events import make_event, parse_message
from shared.inbox import InboxDispatcher, bind
from tests.conftest import env_for
from tests.support.race import two_workers
from tests.support.stack import Stack, auth, open_call, open_signin_link, register, signin_events, submit_application

PUBLIC_URL = "https://apply.example.org"
STARTS = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)
RSVP_BY = STARTS - timedelta(days=10)


@pytest.fixture(params=["embedded", "real"])
def stack(request, tmp_path):
    s = Stack(load_settings(env_for(request, tmp_path / "var", request.param, PRIZE_PUBLIC_URL=PUBLIC_URL)),
              services=("intake",))
    yield s
    s.stop()


@pytest.fixture
def intake(stack):
    return stack.clients["intake"]


def deliver(stack, type_, data, event=None):
    """Hand review's event to intake as its consumer would: parsed from JSON, through the inbox."""
    event = event or make_event(type_, data, producer="review", correlation_id=str(data["application_id"]))
    db = stack.apps["intake"].extensions["prize"]["db"]
    InboxDispatcher(db, inbox, outbox, "intake", bind(HANDLERS, invite=inviter(PUBLIC_URL)))(
        parse_message(json.loads(json.dumps(event.to_message()))))
    return event


def decide(stack, app, stage: str):
    now = datetime.now(timezone.utc)
    if stage in ("advanced", "eliminated"):
        deliver(stack, f"application.{stage}", {"application_id": app["id"], "reference": app["reference"],
                                                 "round": "finalist", "decided_at": now})
    else:
        deliver(stack, "award.decided", {"application_id": app["id"], "reference": app["reference"],
                                          "outcome": stage, "award": "Grand Prize" if stage == "winner" else "",
                                          "decided_at": now})


def release(stack, app, round_: str):
    return deliver(stack, "results.released", {"application_id": app["id"], "round": round_,
                                               "released_at": datetime.now(timezone.utc)})


def outbox_events(stack, type_: str) -> list[dict]:
    db = stack.apps["intake"].extensions["prize"]["db"]
    with db.engine.connect() as conn:
        bodies = conn.execute(select(outbox.c.body).where(outbox.c.type == type_).order_by(outbox.c.seq)).scalars()
        return [json.loads(b)["data"] for b in bodies]


def set_ceremony(intake, token, call_id, **overrides):
    body = {"starts_at": STARTS.isoformat(), "time_zone": "Asia/Seoul", "venue": "COEX, Seoul",
            "address": "513 Yeongdong-daero, Gangnam-gu", "rsvp_by": RSVP_BY.isoformat(), "max_delegates": 2}
    body.update(overrides)
    return intake.put(f"/api/calls/{call_id}/ceremony", json=body, headers=auth(token))


class Scene:
    """An open call with four submitted applications from four cities."""

    def __init__(self, stack):
        self.stack, self.intake = stack, stack.clients["intake"]
        self.sec = stack.secretariat_token()
        self.call = open_call(self.intake, self.sec)
        self.apps, self.tokens = {}, {}
        for key, email, org, lang in (("kaohsiung", "mei.lin@kcg.example.tw", "Kaohsiung City Government 高雄", "en"),
                                      ("guarulhos", "ana@guarulhos.example.br", "Prefeitura de Guarulhos", "en"),
                                      ("seoul", "jiwoo@seoul.example.kr", "서울특별시", "ko"),
                                      ("lublin", "zofia@lublin.example.pl", "Urząd Miasta Lublin", "en")):
            _, token = register(self.intake, contact_email=email, organisation=org, language=lang)
            self.tokens[key] = token
            self.apps[key] = submit_application(self.intake, token, self.call["id"], title=f"Smart {key}")

    def invitation(self, key, as_key=None):
        return self.intake.get(f"/api/applications/{self.apps[key]['id']}/ceremony",
                               headers=auth(self.tokens[as_key or key]))

    def answer(self, key, body, as_key=None):
        return self.intake.put(f"/api/applications/{self.apps[key]['id']}/ceremony", json=body,
                               headers=auth(self.tokens[as_key or key]))


@pytest.fixture
def scene(stack):
    return Scene(stack)


def test_released_finalists_are_invited_once_and_the_unreleased_or_eliminated_are_not(stack, scene):
    s = scene
    decide(stack, s.apps["kaohsiung"], "advanced")
    release(stack, s.apps["kaohsiung"], "finalist")
    decide(stack, s.apps["guarulhos"], "eliminated")
    release(stack, s.apps["guarulhos"], "finalist")
    decide(stack, s.apps["seoul"], "advanced")  # not released yet
    assert outbox_events(stack, "ceremony.invited") == []  # no ceremony set yet: nobody to invite to

    r = set_ceremony(s.intake, s.sec, s.call["id"])
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["invited"] == 1
    invited = outbox_events(stack, "ceremony.invited")
    assert [(e["reference"], e["basis"]) for e in invited] == [(s.apps["kaohsiung"]["reference"], "finalist")]
    first = invited[0]
    assert first["email"] == "mei.lin@kcg.example.tw" and first["organisation"] == "Kaohsiung City Government 高雄"
    assert first["url"] == f"https://apply.example.org/portal/applications/{s.apps['kaohsiung']['id']}/ceremony"
    assert first["ceremony"]["venue"] == "COEX, Seoul" and first["ceremony"]["time_zone"] == "Asia/Seoul"

    # the release arrives for seoul: invited in that event's transaction; redelivered: nothing more
    event = release(stack, s.apps["seoul"], "finalist")
    deliver(stack, "results.released", None, event=event)
    assert [e["reference"] for e in outbox_events(stack, "ceremony.invited")] == \
        [s.apps["kaohsiung"]["reference"], s.apps["seoul"]["reference"]]
    assert outbox_events(stack, "ceremony.invited")[1]["language"] == "ko"

    # setting the ceremony again (a new venue) invites nobody twice, and tells the invited
    assert outbox_events(stack, "ceremony.changed") == []
    r = set_ceremony(s.intake, s.sec, s.call["id"], venue="Seoul City Hall")
    assert r.status_code == 200 and r.get_json()["invited"] == 2
    assert len(outbox_events(stack, "ceremony.invited")) == 2
    changed = outbox_events(stack, "ceremony.changed")
    assert sorted(e["reference"] for e in changed) == sorted(e["reference"] for e in invited + [
        outbox_events(stack, "ceremony.invited")[1]])
    assert all(e["changes"] == ["venue"] and e["ceremony"]["venue"] == "Seoul City Hall" for e in changed)
    # the same details again: nothing to tell
    assert set_ceremony(s.intake, s.sec, s.call["id"], venue="Seoul City Hall").status_code == 200
    assert len(outbox_events(stack, "ceremony.changed")) == 2

    # the award round: kaohsiung wins (already invited as a finalist: not again); lublin, never a
    # finalist, gets a special mention and is invited once that round is released
    decide(stack, s.apps["kaohsiung"], "winner")
    release(stack, s.apps["kaohsiung"], "award")
    decide(stack, s.apps["lublin"], "special_mention")
    assert len(outbox_events(stack, "ceremony.invited")) == 2
    release(stack, s.apps["lublin"], "award")
    invited = outbox_events(stack, "ceremony.invited")
    assert [(e["reference"], e["basis"]) for e in invited][2:] == [(s.apps["lublin"]["reference"], "award")]
    db = stack.apps["intake"].extensions["prize"]["db"]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(CeremonyInvitation)) == 3


def test_a_decision_taken_again_counts_as_the_latest(stack, scene):
    s = scene
    set_ceremony(s.intake, s.sec, s.call["id"])
    decide(stack, s.apps["guarulhos"], "advanced")
    decide(stack, s.apps["guarulhos"], "eliminated")  # the secretariat changed its mind before release
    release(stack, s.apps["guarulhos"], "finalist")
    assert outbox_events(stack, "ceremony.invited") == []


def test_ceremony_input_is_checked(scene):
    s = scene
    r = set_ceremony(s.intake, s.sec, s.call["id"], rsvp_by=(STARTS + timedelta(days=1)).isoformat())
    assert r.status_code == 422 and "rsvp_by" in json.dumps(r.get_json())
    r = set_ceremony(s.intake, s.sec, s.call["id"], time_zone="Mars/Olympus")
    assert r.status_code == 422 and "time_zone" in json.dumps(r.get_json())
    r = set_ceremony(s.intake, s.sec, s.call["id"], time_zone="Asia")
    assert r.status_code == 422 and "time_zone" in json.dumps(r.get_json())
    past = datetime.now(timezone.utc) - timedelta(days=1)
    r = set_ceremony(s.intake, s.sec, s.call["id"], starts_at=past.isoformat(),
                     rsvp_by=(past - timedelta(days=3)).isoformat())
    assert r.status_code == 422 and "starts_at" in json.dumps(r.get_json())
    r = set_ceremony(s.intake, s.sec, "00000000-0000-4000-8000-000000000000")
    assert r.status_code == 404
    assert s.intake.get(f"/api/calls/{s.call['id']}/ceremony", headers=auth(s.sec)).status_code == 404
    # an applicant cannot set it or read the guest list
    token = s.tokens["kaohsiung"]
    assert set_ceremony(s.intake, token, s.call["id"]).status_code == 403
    for path in ("ceremony", "guests", "guests.csv"):
        assert s.intake.get(f"/api/calls/{s.call['id']}/{path}", headers=auth(token)).status_code == 403
        assert s.intake.get(f"/api/calls/{s.call['id']}/{path}").status_code == 401


def test_the_invited_answer_for_their_delegation_and_only_they(stack, scene):
    s = scene
    set_ceremony(s.intake, s.sec, s.call["id"])
    decide(stack, s.apps["kaohsiung"], "advanced")
    release(stack, s.apps["kaohsiung"], "finalist")

    r = s.invitation("kaohsiung")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["rsvp"] is None and body["answers_open"] is True
    assert body["ceremony"]["venue"] == "COEX, Seoul" and body["ceremony"]["max_delegates"] == 2
    assert "basis" not in json.dumps(body)  # the applicant is not told why (finalist or award)
    # not invited, someone else's, or nobody's: the same 404
    assert s.invitation("guarulhos").status_code == 404
    assert s.invitation("kaohsiung", as_key="guarulhos").status_code == 404
    assert s.answer("kaohsiung", {"attending": False}, as_key="guarulhos").status_code == 404
    assert s.answer("guarulhos", {"attending": False}).status_code == 404
    # the secretariat may read it but not answer for the city
    assert s.intake.get(f"/api/applications/{s.apps['kaohsiung']['id']}/ceremony", headers=auth(s.sec)).status_code == 200
    assert s.intake.put(f"/api/applications/{s.apps['kaohsiung']['id']}/ceremony", json={"attending": False},
                        headers=auth(s.sec)).status_code == 403

    # the rules, each refused with a 422 that names the field, and nothing stored
    three = [{"name": n, "role": "Delegate"} for n in ("Lin Mei-hua", "Chen Wei", "Wang Fang")]
    for payload, field in (({"attending": True}, "delegates"),
                           ({"attending": True, "delegates": three}, "delegates"),
                           ({"attending": True, "delegates": three[:1], "visa_letter": True}, "visa_details"),
                           ({"attending": "maybe"}, "attending"),
                           ({"attending": True, "delegates": [{"name": "", "role": "x"}]}, "delegates"),
                           ({"attending": True, "delegates": [{"name": "A", "email": "not-an-address"}]}, "delegates")):
        r = s.answer("kaohsiung", payload)
        assert r.status_code == 422, (payload, r.get_json())
        assert field in json.dumps(r.get_json()["errors"]), (payload, r.get_json())
    assert s.invitation("kaohsiung").get_json()["rsvp"] is None
    assert outbox_events(stack, "ceremony.rsvp_received") == []

    answer = {"attending": True, "delegates": [
        {"name": "Lin Mei-hua", "role": "Director, Urban Development Bureau", "email": "mei.lin@kcg.example.tw"},
        {"name": "陳偉 Chen Wei", "role": "Project manager"}],
        "substitute": {"name": "Wang Fang", "role": "Deputy director"},
        "accessibility": "Wheelchair access for one delegate", "visa_letter": True,
        "visa_details": "LIN MEI-HUA, Taiwan; CHEN WEI, Taiwan", "comments": "Arriving on 9 October.",
        "privacy_consent": 1}
    r = s.answer("kaohsiung", answer)
    assert r.status_code == 200, r.get_json()
    rsvp = r.get_json()["rsvp"]
    assert rsvp["revision"] == 1 and rsvp["attending"] is True and len(rsvp["delegates"]) == 2
    assert rsvp["substitute"]["name"] == "Wang Fang" and rsvp["visa_letter"] is True
    events = outbox_events(stack, "ceremony.rsvp_received")
    assert len(events) == 1 and events[0]["revision"] == 1 and events[0]["delegates"][1]["name"] == "陳偉 Chen Wei"
    assert events[0]["email"] == "mei.lin@kcg.example.tw" and events[0]["visa_details"].startswith("LIN MEI-HUA")

    # a change answered over a stale revision is refused; over the current one it is taken
    r = s.answer("kaohsiung", {**answer, "delegates": answer["delegates"][:1], "revision": 7})
    assert r.status_code == 409 and "changed elsewhere" in r.get_json()["message"]
    r = s.answer("kaohsiung", {"attending": False, "visa_letter": True, "revision": 1})
    assert r.status_code == 200, r.get_json()
    rsvp = r.get_json()["rsvp"]
    assert rsvp["revision"] == 2 and rsvp["attending"] is False
    assert rsvp["delegates"] == [] and rsvp["visa_letter"] is False  # a declined answer keeps no delegation
    assert [e["revision"] for e in outbox_events(stack, "ceremony.rsvp_received")] == [1, 2]


def test_answers_close_when_the_ceremony_starts(stack, scene):
    s = scene
    set_ceremony(s.intake, s.sec, s.call["id"])
    decide(stack, s.apps["kaohsiung"], "advanced")
    release(stack, s.apps["kaohsiung"], "finalist")
    db = stack.apps["intake"].extensions["prize"]["db"]
    with db.session() as session, session.begin():  # the ceremony began a minute ago
        row = session.get(ceremony.Ceremony, s.call["id"])
        row.starts_at, row.rsvp_by = datetime.now(timezone.utc) - timedelta(minutes=1), RSVP_BY - timedelta(days=60)
    assert s.invitation("kaohsiung").get_json()["answers_open"] is False
    r = s.answer("kaohsiung", {"attending": False})
    assert r.status_code == 409 and "started" in r.get_json()["message"]
    assert outbox_events(stack, "ceremony.rsvp_received") == []


def test_guest_list_and_its_csv(stack, scene):
    s = scene
    set_ceremony(s.intake, s.sec, s.call["id"], max_delegates=3)
    for key in ("kaohsiung", "guarulhos", "seoul"):
        decide(stack, s.apps[key], "advanced")
        release(stack, s.apps[key], "finalist")
    assert s.answer("kaohsiung", {"attending": True, "delegates": [
        {"name": "Lin Mei-hua", "role": "Director"}, {"name": "=HYPERLINK(\"http://evil.example\")", "role": "-1+1"}],
        "substitute": {"name": "Wang Fang", "role": "Deputy"}, "visa_letter": True,
        "visa_details": "LIN MEI-HUA, Taiwan", "accessibility": "Step-free access", "privacy_consent": 1}).status_code == 200
    assert s.answer("guarulhos", {"attending": False, "comments": "Budget freeze this year."}).status_code == 200

    r = s.intake.get(f"/api/calls/{s.call['id']}/guests", headers=auth(s.sec))
    assert r.status_code == 200
    body = r.get_json()
    assert body["summary"] == {"invited": 3, "attending": 1, "declined": 1, "no_answer": 1, "people": 2,
                               "visa_letters": 1}
    answers = {g["reference"]: g["answer"] for g in body["guests"]}
    assert answers == {s.apps["kaohsiung"]["reference"]: "attending", s.apps["guarulhos"]["reference"]: "declined",
                       s.apps["seoul"]["reference"]: "no answer"}

    r = s.intake.get(f"/api/calls/{s.call['id']}/guests.csv", headers=auth(s.sec))
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "ceremony-guests-2026.csv" in r.headers["Content-Disposition"]
    text = r.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    kaohsiung = [row for row in rows if row["reference"] == s.apps["kaohsiung"]["reference"]]
    assert [(row["person"], row["name"]) for row in kaohsiung] == [
        ("delegate", "Lin Mei-hua"), ("delegate", "'=HYPERLINK(\"http://evil.example\")"), ("substitute", "Wang Fang")]
    assert kaohsiung[1]["role"] == "'-1+1"  # a spreadsheet shows it as text, not a formula
    assert all(row["visa letter"] == "yes" and row["accessibility needs"] == "Step-free access" for row in kaohsiung)
    assert kaohsiung[0]["organisation"] == "Kaohsiung City Government 高雄"
    others = {row["reference"]: (row["answer"], row["person"], row["comments"]) for row in rows
              if row["reference"] != s.apps["kaohsiung"]["reference"]}
    assert others == {s.apps["guarulhos"]["reference"]: ("declined", "", "Budget freeze this year."),
                      s.apps["seoul"]["reference"]: ("no answer", "", "")}


def test_rsvp_reminders_the_day_before_and_once_overdue_each_once(stack, scene):
    s = scene
    set_ceremony(s.intake, s.sec, s.call["id"])
    for key in ("kaohsiung", "guarulhos", "seoul"):
        decide(stack, s.apps[key], "advanced")
        release(stack, s.apps[key], "finalist")
    assert s.answer("kaohsiung", {"attending": False}).status_code == 200
    db = stack.apps["intake"].extensions["prize"]["db"]

    def run(now) -> list[tuple[str, str]]:
        with db.session() as session:
            ceremony.due_rsvp_reminders(session, now, public_url=PUBLIC_URL)
        return [(e["reference"], e["reminder"]) for e in outbox_events(stack, "ceremony.rsvp_reminder")]

    assert run(RSVP_BY - timedelta(days=2)) == []
    day_before = run(RSVP_BY - timedelta(hours=12))
    waiting = sorted([s.apps["guarulhos"]["reference"], s.apps["seoul"]["reference"]])
    assert sorted(day_before) == [(ref, "1d") for ref in waiting]
    assert run(RSVP_BY - timedelta(hours=1)) == day_before  # once
    assert s.answer("seoul", {"attending": True, "delegates": [{"name": "박지우"}]}).status_code == 200
    overdue = run(RSVP_BY + timedelta(hours=1))
    assert overdue[2:] == [(s.apps["guarulhos"]["reference"], "overdue")]
    assert run(RSVP_BY + timedelta(days=2)) == overdue
    assert run(STARTS + timedelta(hours=1)) == overdue  # the ceremony is over: nothing more
    reminder = outbox_events(stack, "ceremony.rsvp_reminder")[0]
    assert reminder["url"].startswith("https://apply.example.org/portal/applications/")
    assert reminder["ceremony"]["rsvp_by"].startswith(RSVP_BY.strftime("%Y-%m-%dT%H:%M"))


def test_invited_after_the_window_opened_is_not_reminded_at_once(stack, scene):
    s = scene
    set_ceremony(s.intake, s.sec, s.call["id"])
    decide(stack, s.apps["lublin"], "advanced")
    release(stack, s.apps["lublin"], "finalist")
    db = stack.apps["intake"].extensions["prize"]["db"]
    with db.session() as session, session.begin():  # invited only two hours before the RSVP date
        session.get(CeremonyInvitation, s.apps["lublin"]["id"]).invited_at = RSVP_BY - timedelta(hours=2)
    with db.session() as session:
        assert ceremony.due_rsvp_reminders(session, RSVP_BY - timedelta(hours=1), public_url=PUBLIC_URL) == 0
    with db.session() as session:  # but once the date has passed without an answer, yes
        assert ceremony.due_rsvp_reminders(session, RSVP_BY + timedelta(hours=1), public_url=PUBLIC_URL) == 1


def _browser(stack, email: str):
    """A Flask client signed in through the emailed link, like a browser."""
    client = stack.apps["intake"].test_client()
    assert client.post("/api/signin", json={"email": email, "purpose": "browser"}).status_code == 202
    link = urlparse(signin_events(client, email)[-1]["url"]).path
    assert open_signin_link(client, link).status_code == 303
    return client


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_the_portal_page_takes_the_answer_without_javascript(stack, scene):
    s = scene
    set_ceremony(s.intake, s.sec, s.call["id"], details="Livestreamed on the WeGO channel.")
    decide(stack, s.apps["kaohsiung"], "advanced")
    release(stack, s.apps["kaohsiung"], "finalist")
    browser = _browser(stack, "mei.lin@kcg.example.tw")
    app_id = s.apps["kaohsiung"]["id"]
    path = f"/portal/applications/{app_id}/ceremony"

    status = browser.get(f"/portal/applications/{app_id}/status").get_data(as_text=True)
    assert "You are invited to the award ceremony" in status and "Answer the invitation" in status
    page = browser.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "COEX, Seoul" in html and "Livestreamed on the WeGO channel." in html and "(Asia/Seoul)" in html
    assert html.count('name="delegate') == 2 * 3  # max_delegates 2: name, role, email each
    token = _csrf(html)

    # without the CSRF token: refused, nothing stored
    assert browser.post(path, data={"attending": "yes", "delegate0_name": "Lin"}).status_code == 403
    # nothing chosen, a bad address, a visa letter for nobody named: 422 with the fields marked
    r = browser.post(path, data={"csrf_token": token, "delegate0_name": "Lin"})
    assert r.status_code == 422 and "Tell us whether you will attend." in r.get_data(as_text=True)
    r = browser.post(path, data={"csrf_token": token, "attending": "yes", "delegate0_name": "Lin",
                                 "delegate0_email": "not-an-address"})
    assert r.status_code == 422 and 'id="delegate0_email-error"' in r.get_data(as_text=True)
    r = browser.post(path, data={"csrf_token": token, "attending": "yes", "delegate0_name": "Lin Mei-hua",
                                 "visa_letter": "yes", "accessibility": "Step-free access"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "name as in their passport" in html and 'value="Lin Mei-hua"' in html  # what was typed stays
    assert outbox_events(stack, "ceremony.rsvp_received") == []

    r = browser.post(path, data={"csrf_token": token, "attending": "yes", "delegate0_name": "Lin Mei-hua",
                                 "delegate0_role": "Director", "delegate1_name": "陳偉 Chen Wei",
                                 "substitute_name": "Wang Fang", "visa_letter": "yes",
                                 "visa_details": "LIN MEI-HUA, Taiwan", "comments": "<b>arriving early</b>",
                                 "privacy_consent": "1"})
    assert r.status_code == 302 and r.headers["Location"].endswith(path)
    html = browser.get(path).get_data(as_text=True)
    assert "Your answer on record: <strong>attending</strong>" in html and 'value="陳偉 Chen Wei"' in html
    assert "&lt;b&gt;arriving early&lt;/b&gt;" in html and "Change my answer" in html
    [event] = outbox_events(stack, "ceremony.rsvp_received")
    assert [d["name"] for d in event["delegates"]] == ["Lin Mei-hua", "陳偉 Chen Wei"]
    assert event["substitute"]["name"] == "Wang Fang" and event["revision"] == 1

    # a page answered over an older revision (another tab) is refused with 409, nothing changed
    assert s.answer("kaohsiung", {"attending": False, "revision": 1}).status_code == 200
    r = browser.post(path, data={"csrf_token": token, "attending": "yes", "delegate0_name": "Lin", "revision": "1"})
    assert r.status_code == 409 and "changed elsewhere" in r.get_data(as_text=True)
    assert len(outbox_events(stack, "ceremony.rsvp_received")) == 2

    # not invited, or someone else's: the page looks missing
    other = _browser(stack, "ana@guarulhos.example.br")
    assert other.get(path).status_code == 404
    assert other.get(f"/portal/applications/{s.apps['guarulhos']['id']}/ceremony").status_code == 404
    assert "award ceremony" not in other.get(f"/portal/applications/{s.apps['guarulhos']['id']}/status").get_data(as_text=True)


def test_two_workers_at_the_same_moment_publish_each_rsvp_reminder_once(stack, scene, monkeypatch):
    s = scene
    set_ceremony(s.intake, s.sec, s.call["id"])
    for key in s.apps:
        decide(stack, s.apps[key], "advanced")
        release(stack, s.apps[key], "finalist")
    db = stack.apps["intake"].extensions["prize"]["db"]

    def remind():
        with db.session() as session:
            return ceremony.due_rsvp_reminders(session, RSVP_BY - timedelta(hours=3), public_url=PUBLIC_URL)

    results, claims = two_workers(monkeypatch, ceremony, remind)
    assert sum(results) == 4
    if db.dialect == "postgresql":  # the race really happened: each claimed once, refused once
        assert claims.count(True) == 4 and claims.count(False) == 4
    events = outbox_events(stack, "ceremony.rsvp_reminder")
    assert sorted(e["application_id"] for e in events) == sorted(a["id"] for a in s.apps.values())
    assert remind() == 0


def test_the_secretariat_sees_the_guest_list_on_a_page_and_downloads_it(stack, scene):
    s = scene
    set_ceremony(s.intake, s.sec, s.call["id"])
    for key in ("kaohsiung", "guarulhos", "seoul"):
        decide(stack, s.apps[key], "advanced")
        release(stack, s.apps[key], "finalist")
    assert s.answer("kaohsiung", {"attending": True, "delegates": [
        {"name": "<b>Lin Mei-hua</b>", "role": "Director"}], "visa_letter": True,
        "visa_details": "LIN MEI-HUA, Taiwan", "privacy_consent": 1}).status_code == 200
    assert s.answer("guarulhos", {"attending": False}).status_code == 200
    path = f"/secretariat/calls/{s.call['id']}/guests"

    office = stack.apps["intake"].test_client()
    r = office.get(path)  # not signed in: to the sign-in page, and back afterwards
    assert r.status_code == 302 and r.headers["Location"].startswith("/staff/signin?next=")  # staff sign in at intake
    page = office.get("/secretariat/signin").get_data(as_text=True)
    token = _csrf(page)
    r = office.post("/secretariat/signin", data={"csrf_token": token, "token": s.tokens["kaohsiung"], "next": path})
    assert r.status_code == 401  # an applicant's token is not the secretariat's
    r = office.post("/secretariat/signin", data={"csrf_token": "forged", "token": s.sec, "next": path})
    assert r.status_code == 403
    r = office.post("/secretariat/signin", data={"csrf_token": token, "token": s.sec, "next": path})
    assert r.status_code == 303 and r.headers["Location"] == path

    html = office.get(path).get_data(as_text=True)
    assert "<strong>3</strong> invited" in html and "<strong>1</strong> attending (1 people)" in html
    assert "&lt;b&gt;Lin Mei-hua&lt;/b&gt;, Director" in html and "yes: LIN MEI-HUA, Taiwan" in html
    assert s.apps["seoul"]["reference"] in html
    only = office.get(path + "?answer=declined").get_data(as_text=True)
    assert s.apps["guarulhos"]["reference"] in only and s.apps["kaohsiung"]["reference"] not in only
    home = office.get("/secretariat").get_data(as_text=True)
    assert "3 invited" in home and "COEX, Seoul" in home
    r = office.get(path + ".csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True)[1:])))
    assert {row["reference"] for row in rows} == {a["reference"] for k, a in s.apps.items() if k != "lublin"}

    # an applicant's portal session does not open these pages; nor does nothing
    applicant = _browser(stack, "mei.lin@kcg.example.tw")
    assert applicant.get(path).status_code == 302 and applicant.get(path + ".csv").status_code == 302
    assert stack.apps["intake"].test_client().get(path + ".csv").status_code == 302
    # a bearer token of the secretariat works too (scripts), an applicant's does not
    assert s.intake.get(path, headers=auth(s.sec)).status_code == 200
    assert s.intake.get(path, headers=auth(s.tokens["kaohsiung"])).status_code == 403
    assert office.get("/secretariat/calls/00000000-0000-4000-8000-000000000000/guests").status_code == 404
