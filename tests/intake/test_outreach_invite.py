"""Invitations to apply (issue 17) on intake: the secretariat's look and Send (per role, stale,
double click), the registration link that fills the form (used twice, expired, for someone
registered already), linking a registration to a prospect, the secretariat's opt-out mark and
notify's address.opted_out, the integrators' API, and the reminders (exactly once per prospect
and offset, never to the opted out). Embedded stack, intake alone; the emails themselves are
tested in tests/notify/test_optout.py."""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from services.intake.handlers import HANDLERS
from services.intake.models import (Applicant, Call, OutreachInvitation, OutreachReminderSent, Prospect, outbox)
from services.intake.ops import outreach_reminders
from shared.events import make_event, parse_message
from shared.inbox import UnitOfWork
from tests.intake.test_edition_pages import _browser
from tests.support.stack import auth, open_call, register

NOW = datetime.now(timezone.utc)


def _db(stack):
    return stack.apps["intake"].extensions["prize"]["db"]


def _text(r) -> str:
    return r.get_data(as_text=True)


def add_prospect(stack, email: str, **fields) -> str:
    pid = str(uuid.uuid4())
    values = dict(organisation="City of Lublin", applicant_type="city_government", city="Lublin", country="PL",
                  region="europe", contact_name="Agnieszka Nowak", email=email.lower(), language="ko",
                  met_at="Smart City Summit and Expo 2023", met_on="2023-03-28", notes="", owner="kim@wego.example",
                  version=1, created_at=NOW, created_by="test", updated_at=NOW, updated_by="test")
    values.update(fields)
    with _db(stack).session() as s, s.begin():
        s.add(Prospect(id=pid, **values))
    return pid


def _events(stack, type_: str) -> list[dict]:
    with _db(stack).session() as s:
        rows = s.execute(select(outbox.c.body).where(outbox.c.type == type_).order_by(outbox.c.seq)).all()
    return [json.loads(r.body)["data"] for r in rows]


def _hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def _look(browser, call_id, *pids):
    query = "&".join([f"call={call_id}"] + [f"prospect={p}" for p in pids])
    return browser.get(f"/secretariat/outreach/invite?{query}")


def _send(browser, call_id, html, pids):
    return browser.post("/secretariat/outreach/invite", data={
        "csrf_token": browser.csrf, "call": call_id, "prospect": list(pids),
        "fingerprint": _hidden(html, "fingerprint"), "batch": _hidden(html, "batch")})


@pytest.fixture
def call(intake, sec):
    return open_call(intake, sec)


@pytest.fixture
def sec_browser(stack):
    return _browser(stack, "secretariat")


def _invite(stack, browser, call_id, *pids) -> list[str]:
    """Look, send, and return the registration links of the outreach.invited events."""
    look = _look(browser, call_id, *pids)
    assert look.status_code == 200, _text(look)
    sent = _send(browser, call_id, _text(look), pids)
    assert sent.status_code == 200, _text(sent)
    return [e["url"] for e in _events(stack, "outreach.invited")]


# --- the look and the send ---------------------------------------------------------------------------

def test_the_look_counts_per_language_names_the_skipped_and_frames_notifys_preview(stack, intake, call, sec_browser):
    lublin = add_prospect(stack, "a.nowak@lublin.example.pl")
    chiang = add_prospect(stack, "noi@chiangmai.example.th", organisation="Chiang Mai", language="en")
    opted = add_prospect(stack, "no@budapest.example.hu", organisation="Budapest", opted_out_at=NOW)
    applicant, _ = register(intake, contact_email="mayor@ryde.example.au")
    ryde = add_prospect(stack, "Mayor@ryde.example.au", organisation="City of Ryde")
    r = _look(sec_browser, call["id"], lublin, chiang, opted, ryde)
    html = _text(r)
    assert r.status_code == 200 and "Invite 2 prospects to apply" in html
    assert "Language\">ko</td><td data-label=\"Invitations\">1</td>" in html and "Language\">en</td><td data-label=\"Invitations\">1</td>" in html
    assert "opted out of outreach email" in html and "registered already" in html
    preview = re.search(r'<iframe src="([^"]+)"', html).group(1)
    assert preview.startswith(stack.settings.notify_public_url + "/preview/")
    assert "frame-src " + stack.settings.notify_public_url.rstrip("/") in r.headers["Content-Security-Policy"]
    assert "Send 2 invitations" in html and not _events(stack, "outreach.invited")  # the look sends nothing


def test_send_makes_one_invitation_and_event_each_and_a_double_click_sends_once(stack, call, sec_browser):
    pids = [add_prospect(stack, "a.nowak@lublin.example.pl"), add_prospect(stack, "noi@cm.example.th")]
    html = _text(_look(sec_browser, call["id"], *pids))
    first = _send(sec_browser, call["id"], html, pids)
    assert first.status_code == 200 and "2 invitations on their way" in _text(first)
    again = _send(sec_browser, call["id"], html, pids)
    assert again.status_code == 200 and "nothing more was sent" in _text(again)
    events = _events(stack, "outreach.invited")
    assert len(events) == 2 and {e["email"] for e in events} == {"a.nowak@lublin.example.pl", "noi@cm.example.th"}
    with _db(stack).session() as s:
        rows = s.scalars(select(OutreachInvitation)).all()
        closes = s.get(Call, call["id"]).closes_at
    assert len(rows) == 2 and all(r.sent_by == sec_browser.who for r in rows)
    token = events[0]["url"].split("invitation=")[1]
    assert token not in {r.token_hash for r in rows} and len(rows[0].token_hash) == 64  # only the hash is kept
    expires = rows[0].expires_at.replace(tzinfo=timezone.utc)
    # 30 days from the send at most (NOW is the module's import: a whole suite earlier), or the closing
    assert expires <= min(datetime.now(timezone.utc) + timedelta(days=30), closes.replace(tzinfo=timezone.utc))


def test_a_stale_look_is_refused_with_the_new_look(stack, call, sec_browser):
    pid = add_prospect(stack, "a.nowak@lublin.example.pl")
    other = add_prospect(stack, "noi@cm.example.th")
    html = _text(_look(sec_browser, call["id"], pid, other))
    with _db(stack).session() as s, s.begin():
        s.execute(update(Prospect).where(Prospect.id == other).values(opted_out_at=NOW, version=2))
    r = _send(sec_browser, call["id"], html, [pid, other])
    assert r.status_code == 409 and "Nothing was sent" in _text(r) and "Invite 1 prospect to apply" in _text(r)
    assert not _events(stack, "outreach.invited")


def test_an_edition_not_open_skips_everyone(stack, intake, sec, sec_browser):
    draft = intake.post("/api/calls", headers=auth(sec), json={
        "year": 2031, "theme": "t", "opens_at": "2031-01-01T00:00:00+09:00",
        "closes_at": "2031-06-01T00:00:00+09:00"}).get_json()
    pid = add_prospect(stack, "a.nowak@lublin.example.pl")
    html = _text(_look(sec_browser, draft["id"], pid))
    assert "the edition is not open" in html and "Nobody to invite" in html


@pytest.mark.parametrize("query, status", [("call={call}", 422), ("call={call}&prospect=nope", 404),
                                           (f"call={uuid.uuid4()}&prospect={uuid.uuid4()}", 404),
                                           ("call={call}&prospect=" + str(uuid.uuid4()), 404)])
def test_bad_input_is_a_clear_4xx(stack, call, sec_browser, query, status):
    r = sec_browser.get("/secretariat/outreach/invite?" + query.format(call=call["id"]))
    assert r.status_code == status and "prospect" in _text(r).lower() or "edition" in _text(r).lower()


@pytest.mark.parametrize("role", ["observer", "jury_chair"])
def test_staff_who_may_not_change_editions_are_refused(stack, call, role):
    pid = add_prospect(stack, "a.nowak@lublin.example.pl")
    browser = _browser(stack, role)
    assert _look(browser, call["id"], pid).status_code == 403
    assert browser.post("/secretariat/outreach/invite", data={"csrf_token": browser.csrf, "call": call["id"],
                                                               "prospect": pid, "fingerprint": "x"}).status_code == 403
    assert browser.post(f"/secretariat/prospects/{pid}/opt-out", data={"csrf_token": browser.csrf}).status_code == 403
    assert not _events(stack, "outreach.invited") and not _events(stack, "outreach.opted_out")


def test_anonymous_and_applicants_get_nothing(stack, intake, call):
    pid = add_prospect(stack, "a.nowak@lublin.example.pl")
    r = intake.get(f"/secretariat/outreach/invite?call={call['id']}&prospect={pid}")
    assert r.status_code == 302 and "signin" in r.headers["Location"]
    _, token = register(intake)
    assert intake.post(f"/api/calls/{call['id']}/outreach/invitations", headers=auth(token),
                       json={"prospect_ids": [pid]}).status_code == 403
    assert intake.post(f"/api/calls/{call['id']}/outreach/invitations",
                       json={"prospect_ids": [pid]}).status_code == 401


def test_the_api_invites_and_says_who_was_skipped(stack, intake, sec, call):
    pid = add_prospect(stack, "a.nowak@lublin.example.pl")
    opted = add_prospect(stack, "no@budapest.example.hu", opted_out_at=NOW)
    r = intake.post(f"/api/calls/{call['id']}/outreach/invitations", headers=auth(sec),
                    json={"prospect_ids": [pid, opted]})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert [i["prospect_id"] for i in body["invited"]] == [pid]
    assert body["skipped"] == [{"prospect_id": opted, "reason": "opted_out", "detail": "opted out of outreach email"}]
    assert intake.post(f"/api/calls/{call['id']}/outreach/invitations", headers=auth(sec),
                       json={"prospect_ids": [str(uuid.uuid4())]}).status_code == 404
    assert intake.post(f"/api/calls/{call['id']}/outreach/invitations", headers=auth(sec),
                       json={"prospect_ids": []}).status_code == 422


# --- the registration link ----------------------------------------------------------------------------

def _csrf(html: str) -> str:
    return _hidden(html, "csrf_token")


def _form(html: str) -> dict:
    fields = {k: v for k, v in re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', html)}
    for name in ("type", "country", "language"):
        block = re.search(rf'<select id="{name}".*?</select>', html, re.S).group(0)
        chosen = re.search(r'<option value="([^"]*)"[^>]* selected', block)
        fields[name] = chosen.group(1) if chosen else ""
    return fields


def test_the_link_fills_the_form_registers_once_and_links_the_prospect(stack, intake, call, sec_browser):
    pid = add_prospect(stack, "a.nowak@lublin.example.pl")
    [url] = _invite(stack, sec_browser, call["id"], pid)
    path = url.split("://", 1)[1].split("/", 1)[1]
    page = intake.get("/" + path)
    html = _text(page)
    assert page.status_code == 200 and page.headers["Referrer-Policy"] == "no-referrer"
    form = _form(html)
    assert (form["organisation"], form["city"], form["contact_name"], form["contact_email"]) == (
        "City of Lublin", "Lublin", "Agnieszka Nowak", "a.nowak@lublin.example.pl")
    assert (form["type"], form["country"], form["language"]) == ("city_government", "PL", "ko")
    form.update(organisation="Lublin City Hall", privacy_consent="1")  # the person changes what they like
    r = intake.post("/portal/register", data=form)
    assert r.status_code == 202, _text(r)
    with _db(stack).session() as s:
        applicant = s.scalars(select(Applicant).where(Applicant.contact_email == "a.nowak@lublin.example.pl")).one()
        invitation = s.scalars(select(OutreachInvitation)).one()
        prospect = s.get(Prospect, pid)
    assert applicant.organisation == "Lublin City Hall"
    assert invitation.used_at is not None and invitation.applicant_id == applicant.id == prospect.applicant_id
    used = intake.get("/" + path)
    assert used.status_code == 410 and "has been used" in _text(used) and 'href="/signin"' in _text(used)
    twice = intake.post("/portal/register", data=form)  # the same form sent again
    assert twice.status_code == 410
    with _db(stack).session() as s:
        assert len(s.scalars(select(Applicant)).all()) == 1


def test_an_expired_link_offers_the_plain_form_and_an_unknown_one_is_404(stack, intake, call, sec_browser):
    pid = add_prospect(stack, "a.nowak@lublin.example.pl")
    [url] = _invite(stack, sec_browser, call["id"], pid)
    with _db(stack).session() as s, s.begin():
        s.execute(update(OutreachInvitation).values(expires_at=NOW - timedelta(minutes=1)))
    r = intake.get(url.split(stack.settings.public_url, 1)[1])
    assert r.status_code == 410 and "has expired" in _text(r) and 'href="/register"' in _text(r)
    assert intake.get("/portal/register?invitation=not-a-token").status_code == 404
    assert intake.get("/portal/register").status_code == 302


def test_someone_registered_already_is_told_to_sign_in_and_nothing_is_made_twice(stack, intake, call, sec_browser):
    pid = add_prospect(stack, "a.nowak@lublin.example.pl")
    [url] = _invite(stack, sec_browser, call["id"], pid)
    register(intake, contact_email="a.nowak@lublin.example.pl")  # registered without the link meanwhile
    with _db(stack).session() as s:
        assert s.get(Prospect, pid).applicant_id is not None  # linked by its address
    r = intake.get(url.split(stack.settings.public_url, 1)[1])
    assert r.status_code == 200 and "registered already" in _text(r) and 'href="/signin"' in _text(r)
    assert 'name="contact_email"' not in _text(r)


# --- opting out ---------------------------------------------------------------------------------------

def test_the_secretariat_marks_a_prospect_opted_out_after_a_confirmation(stack, sec_browser):
    pid = add_prospect(stack, "a.nowak@lublin.example.pl")
    page = _text(sec_browser.get(f"/secretariat/prospects/{pid}"))  # the prospect's page leads there
    assert f"/secretariat/prospects/{pid}/opt-out" in page and "Mark as opted out" in page
    confirm = sec_browser.get(f"/secretariat/prospects/{pid}/opt-out")
    assert confirm.status_code == 200 and "Opt a.nowak@lublin.example.pl out" in _text(confirm)
    assert not _events(stack, "outreach.opted_out")
    r = sec_browser.post(f"/secretariat/prospects/{pid}/opt-out", data={"csrf_token": sec_browser.csrf})
    assert r.status_code == 200 and "is opted out" in _text(r)
    again = sec_browser.post(f"/secretariat/prospects/{pid}/opt-out", data={"csrf_token": sec_browser.csrf})
    assert "opted out already" in _text(again)
    page = _text(sec_browser.get(f"/secretariat/prospects/{pid}"))
    assert "opted out of outreach email on" in page and "Mark as opted out" not in page
    [event] = _events(stack, "outreach.opted_out")
    assert event["email"] == "a.nowak@lublin.example.pl" and event["by"] == sec_browser.who
    assert sec_browser.get(f"/secretariat/prospects/{uuid.uuid4()}/opt-out").status_code == 404


def test_notifys_unsubscribe_marks_the_prospect(stack):
    pid = add_prospect(stack, "a.nowak@lublin.example.pl")
    event = parse_message(make_event("address.opted_out", {"email": "A.Nowak@lublin.example.pl",
                                                           "opted_out_at": NOW}, producer="notify").to_message())
    with _db(stack).session() as s, s.begin():
        HANDLERS["address.opted_out"](UnitOfWork(s, outbox, "intake", None), event)
    with _db(stack).session() as s:
        assert s.get(Prospect, pid).opted_out_at is not None


# --- reminders ----------------------------------------------------------------------------------------

def test_reminders_go_once_per_prospect_and_offset_never_to_the_opted_out(stack, intake, call, sec_browser):
    waiting = add_prospect(stack, "a.nowak@lublin.example.pl")
    drafting = add_prospect(stack, "noi@cm.example.th", organisation="Chiang Mai", language="en")
    leaving = add_prospect(stack, "no@budapest.example.hu", organisation="Budapest")
    _invite(stack, sec_browser, call["id"], waiting, drafting, leaving)
    register(intake, contact_email="noi@cm.example.th")
    with _db(stack).session() as s, s.begin():
        s.execute(update(Prospect).where(Prospect.id == leaving).values(opted_out_at=NOW))
        closes = s.get(Call, call["id"]).closes_at.replace(tzinfo=timezone.utc)
    db = _db(stack)
    with db.session() as s:
        assert outreach_reminders.due_outreach_reminders(s, closes - timedelta(days=20), public_url="http://x") == 0
    at = closes - timedelta(days=13)
    with db.session() as s:
        assert outreach_reminders.due_outreach_reminders(s, at, public_url="http://x") == 2
    with db.session() as s:
        assert outreach_reminders.due_outreach_reminders(s, at + timedelta(hours=1), public_url="http://x") == 0
    events = {e["email"]: e for e in _events(stack, "outreach.reminder")}
    assert set(events) == {"a.nowak@lublin.example.pl", "noi@cm.example.th"}
    assert events["a.nowak@lublin.example.pl"]["stage"] == "not_registered"
    assert "/portal/register?invitation=" in events["a.nowak@lublin.example.pl"]["url"]
    assert events["noi@cm.example.th"]["stage"] == "not_submitted"
    with db.session() as s:
        assert outreach_reminders.due_outreach_reminders(s, closes - timedelta(days=2), public_url="http://x") == 2
        assert {r.offset_key for r in s.scalars(select(OutreachReminderSent))} == {"14d", "3d"}
