"""The edition's events in intake (issue 17): events created and changed on the secretariat's
pages, a group invited after a look at who would be and who is skipped (opted out, already
invited, no email), the RSVP page reached by the link's token (bad, stale and closed cases), the
guest list per event with its counts, filter and CSV, and who may do what. On the embedded stack
(SQLite); the emails' way through notify is in tests/notify/test_notify_every_template.py."""
from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.intake.models import EditionEvent, EventInvitation, EventRsvp, Prospect
from tests.intake.test_ceremony import decide, release
from tests.intake.test_edition_pages import _browser, _db, _text
from tests.support.events import add_prospect, invite, invited_events, new_event, rsvp_path
from tests.support.stack import open_call, register, submit_application

PUBLIC = "https://apply.example.org"  # for invitations made by the ops (the pages use PRIZE_PUBLIC_URL)


@pytest.fixture
def sec_browser(stack):
    return _browser(stack, "secretariat")


@pytest.fixture
def call_id(intake, sec):
    return open_call(intake, sec)["id"]


def _form(**changes) -> dict:
    starts = datetime.now(timezone.utc) + timedelta(days=60)
    return {"kind": "general_assembly", "name": "WeGO General Assembly 2026", "time_zone": "Asia/Seoul",
            "starts_at": starts.strftime("%Y-%m-%dT10:00"), "rsvp_by": (starts - timedelta(days=20)).strftime(
                "%Y-%m-%dT18:00"), "venue": "COEX, Seoul", "address": "513 Yeongdong-daero", "details": "",
            "max_delegates": "3", **changes}


def _fingerprint(html: str) -> str:
    return re.search(r'name="fingerprint" value="([^"]+)"', html).group(1)


# --- creating and changing events -----------------------------------------------------------------

def test_the_secretariat_creates_an_event_sees_it_listed_and_changes_it_with_a_version_guard(stack, sec_browser,
                                                                                           call_id):
    base = f"/secretariat/editions/{call_id}/events"
    assert "No event yet" in _text(sec_browser.get(base))
    r = sec_browser.post(base, data={"csrf_token": sec_browser.csrf, **_form()})
    assert r.status_code == 303, _text(r)
    event_id = r.headers["Location"].rsplit("/", 1)[1]
    listed = _text(sec_browser.get(base))
    assert "WeGO General Assembly 2026" in listed and "General Assembly" in listed
    with _db(stack).session() as s:
        row = s.get(EditionEvent, event_id)
        assert (row.kind, row.time_zone, row.version, row.created_by) == ("general_assembly", "Asia/Seoul", 1,
                                                                        sec_browser.who)
        assert row.starts_at.hour == 1  # 10:00 in Seoul is 01:00 UTC
    page = _text(sec_browser.get(f"/secretariat/events/{event_id}"))
    assert 'name="version" value="1"' in page and "0</strong> invited" in page
    r = sec_browser.post(f"/secretariat/events/{event_id}", data={"csrf_token": sec_browser.csrf, "version": "1",
                                                                  **_form(venue="Seoul City Hall")})
    assert r.status_code == 303
    stale = sec_browser.post(f"/secretariat/events/{event_id}", data={"csrf_token": sec_browser.csrf, "version": "1",
                                                                      **_form(venue="Lotte Hotel")})
    assert stale.status_code == 409 and "Someone else changed this event" in _text(stale)
    assert "Lotte Hotel" in _text(stale) and 'name="version" value="2"' in _text(stale)
    with _db(stack).session() as s:
        assert (s.get(EditionEvent, event_id).venue, s.get(EditionEvent, event_id).version) == ("Seoul City Hall", 2)
    assert f"/secretariat/editions/{call_id}/events" in _text(sec_browser.get(f"/secretariat/editions/{call_id}"))


@pytest.mark.parametrize("changes, field, words", [
    ({"name": ""}, "name", "is required"),
    ({"kind": "garden_party"}, "kind", "what kind of event"),
    ({"time_zone": "Mars/Olympus"}, "time_zone", "Choose a time zone"),
    ({"starts_at": "2001-01-01T10:00", "rsvp_by": "2000-12-01T10:00"}, "starts_at", "in the future"),
    ({"rsvp_by": "2099-12-31T10:00"}, "rsvp_by", "before the event starts"),
    ({"max_delegates": "0"}, "max_delegates", "between 1 and 20"),
    ({"venue": "x" * 301}, "venue", "at most 300"),
])
def test_bad_event_input_is_a_422_naming_the_field(stack, sec_browser, call_id, changes, field, words):
    r = sec_browser.post(f"/secretariat/editions/{call_id}/events",
                         data={"csrf_token": sec_browser.csrf, **_form(**changes)})
    assert r.status_code == 422 and words in _text(r) and f'id="{field}-error"' in _text(r)
    with _db(stack).session() as s:
        assert s.query(EditionEvent).count() == 0


def test_unknown_editions_and_events_are_404_pages(sec_browser):
    assert sec_browser.get(f"/secretariat/editions/{uuid.uuid4()}/events").status_code == 404
    for path in (f"/secretariat/events/{uuid.uuid4()}", "/secretariat/events/not-an-id",
                 f"/secretariat/events/{uuid.uuid4()}/invite", f"/secretariat/events/{uuid.uuid4()}/guests.csv"):
        assert sec_browser.get(path).status_code == 404, path


# --- inviting: the look, the skips, the confirmation ----------------------------------------------

def test_inviting_prospects_shows_the_look_with_its_skips_then_invites_once(stack, sec_browser, call_id):
    db = _db(stack)
    add_prospect(db, call_id, "anna@budapest.example.hu", language="en")
    add_prospect(db, call_id, "ana@guarulhos.example.br", language="pt", region="latin_america", country="BR",
                 organisation="Prefeitura de Guarulhos")
    add_prospect(db, call_id, "somchai@chiangmai.example.th", language="en", region="asia_pacific", country="TH",
                 organisation="Chiang Mai", opted_out_at=datetime.now(timezone.utc))
    add_prospect(db, None, "elsewhere@other.example", organisation="Another edition's prospect")
    event = new_event(db, call_id)
    already = add_prospect(db, call_id, "jan@lublin.example.pl", organisation="Urząd Miasta Lublin")
    assert invite(db, event["id"], "picked", PUBLIC, picked=[already]) == 1

    look = sec_browser.get(f"/secretariat/events/{event['id']}/invite?group=prospects")
    text = _text(look)
    assert look.status_code == 200 and "2 to invite" in text and "1 in en, 1 in pt" in text
    assert "1 opted out of outreach email: Chiang Mai" in text and "1 already invited: Urząd Miasta Lublin" in text
    assert "Another edition" not in text
    fingerprint = _fingerprint(text)
    data = {"csrf_token": sec_browser.csrf, "group": "prospects", "region": "", "fingerprint": fingerprint}
    r = sec_browser.post(f"/secretariat/events/{event['id']}/invite", data=data)
    assert r.status_code == 303, _text(r)
    again = sec_browser.post(f"/secretariat/events/{event['id']}/invite", data=data)  # the double click
    assert again.status_code == 303
    assert "Nobody new to invite" in _text(sec_browser.get(again.headers["Location"]))
    sent = invited_events(db)
    assert sorted(e["email"] for e in sent) == ["ana@guarulhos.example.br", "anna@budapest.example.hu",
                                                "jan@lublin.example.pl"]
    ana = next(e for e in sent if e["email"].startswith("ana@"))
    assert (ana["language"], ana["invitee"], ana["organisation"], ana["invited_by"]) == (
        "pt", "prospect", "Prefeitura de Guarulhos", sec_browser.who)
    assert ana["url"].startswith(f"{stack.settings.public_url.rstrip('/')}/events/rsvp/") and ana["event"]["venue"] == "Seoul City Hall"
    with db.session() as s:
        rows = s.query(EventInvitation).all()
        token = ana["url"].rsplit("/", 1)[1]
        assert len(rows) == 3 and all(len(r.token_hash) == 64 and token not in r.token_hash for r in rows)


def test_a_stale_look_is_a_409_and_invites_nobody_and_a_region_narrows_the_group(stack, sec_browser, call_id):
    db = _db(stack)
    add_prospect(db, call_id, "anna@budapest.example.hu")
    add_prospect(db, call_id, "ana@guarulhos.example.br", region="latin_america", country="BR")
    event = new_event(db, call_id)
    look = _text(sec_browser.get(f"/secretariat/events/{event['id']}/invite?group=prospects&region=europe"))
    assert "1 to invite" in look and "anna@budapest" in look and "guarulhos" not in look
    fingerprint = _fingerprint(look)
    with db.session() as s, s.begin():  # the prospect opts out while the look is open
        s.query(Prospect).filter_by(email="anna@budapest.example.hu").one().opted_out_at = datetime.now(timezone.utc)
    r = sec_browser.post(f"/secretariat/events/{event['id']}/invite", data={
        "csrf_token": sec_browser.csrf, "group": "prospects", "region": "europe", "fingerprint": fingerprint})
    assert r.status_code == 409 and "changed since you looked" in _text(r) and "Nobody was invited" in _text(r)
    assert invited_events(db) == []
    bad = sec_browser.get(f"/secretariat/events/{event['id']}/invite?group=everyone")
    assert bad.status_code == 422 and "choose who to invite" in _text(bad)


def test_applicants_and_finalists_are_invited_by_their_applications_without_duplicates(stack, intake, sec, call_id):
    db = _db(stack)
    apps = {}
    for key, email, lang in (("kaohsiung", "mei@kcg.example.tw", "en"), ("seoul", "jiwoo@seoul.example.kr", "ko")):
        _, token = register(intake, contact_email=email, language=lang, organisation=key.title())
        apps[key] = submit_application(intake, token, call_id, title=f"Smart {key}")
    add_prospect(db, call_id, "mei@kcg.example.tw", opted_out_at=None)  # also a prospect: invited once
    decide(stack, apps["seoul"], "advanced")
    release(stack, apps["seoul"], "finalist")
    finalists = new_event(db, call_id, kind="ceremony", name="Award ceremony")
    assert invite(db, finalists["id"], "finalists", PUBLIC) == 1
    assert [(e["email"], e["language"], e["invitee"]) for e in invited_events(db)] == [
        ("jiwoo@seoul.example.kr", "ko", "applicant")]
    everyone = new_event(db, call_id, name="General Assembly", kind="general_assembly")
    assert invite(db, everyone["id"], "applicants", PUBLIC) == 2
    assert invite(db, everyone["id"], "prospects", PUBLIC) == 0  # the same address: already invited


# --- the RSVP page ----------------------------------------------------------------------------------

def _answer_page(client, path):
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    html = _text(page)
    return html, re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _invited_prospect(stack, call_id, **event_fields):
    db = _db(stack)
    pid = add_prospect(db, call_id, "anna@budapest.example.hu", contact_name="Kovács Anna")
    event = new_event(db, call_id, **event_fields)
    assert invite(db, event["id"], "picked", PUBLIC, picked=[pid]) == 1
    return event, rsvp_path(db, "anna@budapest.example.hu")


def test_an_invitee_answers_by_the_link_changes_it_and_a_stale_answer_is_409(stack, call_id):
    event, path = _invited_prospect(stack, call_id)
    client = stack.apps["intake"].test_client()
    html, csrf = _answer_page(client, path)
    assert "WeGO Mayors Forum" in html and "Seoul City Hall" in html and "(Asia/Seoul)" in html and "(UTC)" in html
    r = client.get(path)
    assert r.headers["Referrer-Policy"] == "no-referrer" and r.headers["Cache-Control"] == "no-store"
    answer = {"csrf_token": csrf, "attending": "yes", "delegate0_name": "Kovács Anna", "delegate0_role": "Deputy mayor",
              "delegate1_name": "Tóth Péter", "substitute_name": "Szabó Éva", "accessibility": "=HYPERLINK(\"x\")",
              "revision": ""}
    assert client.post(path, data=answer).status_code == 303
    html, csrf = _answer_page(client, path)
    assert 'name="revision" value="1"' in html and "Change my answer" in html
    assert client.post(path, data={**answer, "csrf_token": csrf, "revision": "1", "attending": "no"}).status_code == 303
    stale = client.post(path, data={**answer, "csrf_token": csrf, "revision": "1"})
    assert stale.status_code == 409 and "changed elsewhere" in _text(stale)
    db = _db(stack)
    with db.session() as s:
        row = s.query(EventRsvp).one()
        assert (row.attending, row.revision, row.delegates) == (False, 2, [])
    confirmations = invited_events(db, "event.rsvp_received")
    assert [(c["attending"], c["revision"]) for c in confirmations] == [(True, 1), (False, 2)]
    assert confirmations[0]["delegates"][1]["name"] == "Tóth Péter" and confirmations[0]["url"].endswith(path)
    assert client.post(path, data={**answer, "csrf_token": "forged"}).status_code == 403


def test_the_answer_rules_are_the_ceremonys(stack, call_id):
    _, path = _invited_prospect(stack, call_id)
    client = stack.apps["intake"].test_client()
    _, csrf = _answer_page(client, path)
    base = {"csrf_token": csrf, "attending": "yes", "delegate0_name": "A", "delegate1_name": ""}
    cases = [({"attending": ""}, "Tell us whether you will attend"),
             ({"delegate0_name": ""}, "Name at least one person"),
             ({"delegate1_name": "B", "delegate2_name": "C"}, "at most 2 people"),
             ({"delegate0_email": "not-an-address"}, "valid email address"),
             ({"visa_letter": "yes"}, "name as in their passport"),
             ({"visa_letter": "yes", "visa_details": "A, Hungary"}, "tick the box to agree to the privacy notice")]
    for changes, words in cases:
        r = client.post(path, data={**base, **changes})
        assert r.status_code == 422 and words in _text(r), (changes, _text(r)[:3000])
    ok = client.post(path, data={**base, "visa_letter": "yes", "visa_details": "A, Hungary", "privacy_consent": "1"})
    assert ok.status_code == 303
    with _db(stack).session() as s:
        row = s.query(EventRsvp).one()
        assert (row.visa_letter, row.visa_details, row.consent_version) == (True, "A, Hungary", 1)


def test_a_bad_token_is_404_and_a_started_event_is_closed_410(stack, call_id):
    event, path = _invited_prospect(stack, call_id)
    client = stack.apps["intake"].test_client()
    _, csrf = _answer_page(client, path)
    for bad in ("/events/rsvp/nothing-like-a-token", path + "x", "/events/rsvp/" + "a" * 300):
        assert client.get(bad).status_code == 404
        assert client.post(bad, data={"csrf_token": csrf, "attending": "no"}).status_code == 404
    with _db(stack).session() as s, s.begin():
        row = s.get(EditionEvent, event["id"])
        row.starts_at = datetime.now(timezone.utc) - timedelta(minutes=1)
        row.rsvp_by = row.starts_at - timedelta(days=1)
    closed = client.get(path)
    assert closed.status_code == 410 and "The event has started" in _text(closed) and "<form method=\"post\" class=\"card\"" not in _text(closed)
    late = client.post(path, data={"csrf_token": csrf, "attending": "no"})
    assert late.status_code == 410
    assert invited_events(_db(stack), "event.rsvp_received") == []


# --- the guest list and its CSV ---------------------------------------------------------------------

def test_the_guest_list_counts_people_and_visa_letters_filters_by_answer_and_exports_one_line_a_person(
        stack, sec_browser, call_id):
    db = _db(stack)
    ids = [add_prospect(db, call_id, f"p{i}@city{i}.example", organisation=f"City {i}") for i in range(3)]
    event = new_event(db, call_id)
    other = new_event(db, call_id, name="Another event")
    assert invite(db, event["id"], "picked", PUBLIC, picked=ids) == 3
    client = stack.apps["intake"].test_client()
    path = rsvp_path(db, "p0@city0.example")
    _, csrf = _answer_page(client, path)
    assert client.post(path, data={"csrf_token": csrf, "attending": "yes", "delegate0_name": "=cmd|' /C calc'!A0",
                                   "delegate1_name": "Nagy Béla", "substitute_name": "Kiss Ádám", "visa_letter": "yes",
                                   "visa_details": "NAGY BELA, Hungary", "privacy_consent": "1"}).status_code == 303
    path = rsvp_path(db, "p1@city1.example")
    _, csrf = _answer_page(client, path)
    assert client.post(path, data={"csrf_token": csrf, "attending": "no"}).status_code == 303

    page = _text(sec_browser.get(f"/secretariat/events/{event['id']}"))
    for words in ("<strong>3</strong> invited", "<strong>1</strong> attending (2 people)", "<strong>1</strong> declined",
                  "<strong>1</strong> no answer yet", "<strong>1</strong> visa letters asked for"):
        assert words in page, words
    attending = _text(sec_browser.get(f"/secretariat/events/{event['id']}?answer=attending"))
    assert "Nagy Béla" in attending and "City 1" not in attending and "City 2" not in attending
    assert "Nobody is invited yet" in _text(sec_browser.get(f"/secretariat/events/{other['id']}"))

    r = sec_browser.get(f"/secretariat/events/{event['id']}/guests.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv" and "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(x["organisation"], x["person"], x["name"]) for x in rows] == [
        ("City 0", "delegate", "'=cmd|' /C calc'!A0"), ("City 0", "delegate", "Nagy Béla"),
        ("City 0", "substitute", "Kiss Ádám"), ("City 1", "", ""), ("City 2", "", "")]
    assert rows[0]["visa letter"] == "yes" and rows[0]["visa details"] == "NAGY BELA, Hungary"
    assert (rows[3]["answer"], rows[4]["answer"]) == ("declined", "no answer")


# --- who may do what ---------------------------------------------------------------------------------

def test_observers_read_but_do_not_change_and_applicants_and_strangers_get_nothing(stack, intake, call_id):
    db = _db(stack)
    pid = add_prospect(db, call_id, "secret.guest@budapest.example.hu", organisation="Budapest Főváros")
    event = new_event(db, call_id)
    assert invite(db, event["id"], "picked", PUBLIC, picked=[pid]) == 1
    pages = [f"/secretariat/editions/{call_id}/events", f"/secretariat/events/{event['id']}",
             f"/secretariat/events/{event['id']}/invite?group=prospects", f"/secretariat/events/{event['id']}/guests.csv"]
    posts = [f"/secretariat/editions/{call_id}/events", f"/secretariat/events/{event['id']}",
             f"/secretariat/events/{event['id']}/invite"]
    for role in ("observer", "jury_chair"):
        browser = _browser(stack, role)
        for path in pages:
            assert browser.get(path).status_code == 200, (role, path)
        assert "<fieldset disabled" in _text(browser.get(pages[0]))
        assert "Invite guests" not in _text(browser.get(pages[1]))
        for path in posts:
            r = browser.post(path, data={"csrf_token": browser.csrf, **_form(), "group": "prospects",
                                         "fingerprint": "x"})
            assert r.status_code == 403, (role, path)
    sec = _browser(stack, "secretariat")
    for path in posts:  # a form without its CSRF token (another site's) changes nothing
        assert sec.post(path, data={**_form(), "group": "prospects", "fingerprint": "x"}).status_code == 403, path
    anonymous = stack.apps["intake"].test_client()
    applicant = stack.apps["intake"].test_client()
    _, token = register(intake, contact_email="nosy@city.example")
    for path in pages:
        r = anonymous.get(path)
        assert r.status_code == 302 and r.headers["Location"].startswith("/staff/signin"), path
        r = applicant.get(path, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code in (401, 403) and "secret.guest" not in _text(r), path
    for path in posts:
        assert anonymous.post(path, data=_form()).status_code in (302, 403), path
    with db.session() as s:
        assert s.query(EditionEvent).count() == 1 and s.query(EventInvitation).count() == 1


def test_visa_details_are_deleted_after_the_event_with_their_outbox_copies(stack, call_id):
    from services.intake import jobs
    from services.intake.ops import event_retention
    event, path = _invited_prospect(stack, call_id)
    client = stack.apps["intake"].test_client()
    html, csrf = _answer_page(client, path)
    assert "delete them automatically on" in html
    assert client.post(path, data={"csrf_token": csrf, "attending": "yes", "delegate0_name": "Kovács Anna",
                                   "visa_letter": "yes", "visa_details": "KOVACS ANNA, Hungary",
                                   "privacy_consent": "1"}).status_code == 303
    db = _db(stack)
    starts = datetime.now(timezone.utc) + timedelta(days=40)
    assert event_retention.delete_travel_data(db, starts + timedelta(days=29), 30) == 0  # not yet
    with db.session() as s, s.begin():  # the event took place 31 days ago
        row = s.get(EditionEvent, event["id"])
        row.starts_at, row.rsvp_by = datetime.now(timezone.utc) - timedelta(days=31), datetime.now(timezone.utc) - timedelta(days=40)
    assert jobs.travel_data(db, 30) == 1 and jobs.travel_data(db, 30) == 0
    with db.session() as s:
        row = s.query(EventRsvp).one()
        assert (row.visa_letter, row.visa_details, row.delegates[0]["name"]) == (False, "", "Kovács Anna")
    assert [(e["visa_letter"], e["visa_details"]) for e in invited_events(db, "event.rsvp_received")] == [(False, "")]


def test_the_answer_page_is_in_the_invitees_language_unless_they_switch(stack, call_id):
    db = _db(stack)
    pid = add_prospect(db, call_id, "ana@guarulhos.example.br", language="pt")
    event = new_event(db, call_id)
    assert invite(db, event["id"], "picked", PUBLIC, picked=[pid]) == 1
    client = stack.apps["intake"].test_client()
    page = _text(client.get(rsvp_path(db, "ana@guarulhos.example.br"), headers={"Accept-Language": "en"}))
    assert '<html lang="pt"' in page
    client.set_cookie("prize_lang", "en")
    assert '<html lang="en"' in _text(client.get(rsvp_path(db, "ana@guarulhos.example.br")))


def test_an_erased_applicant_leaves_no_name_address_or_delegation_in_event_invitations(stack, intake, call_id):
    from services.intake.models import Applicant
    from services.intake.ops import erasure_apply
    db = _db(stack)
    applicant, token = register(intake, contact_email="mei@kcg.example.tw", contact_name="Lin Mei-hua")
    submit_application(intake, token, call_id, title="Hydrogen buses")
    event = new_event(db, call_id)
    assert invite(db, event["id"], "applicants", PUBLIC) == 1
    client = stack.apps["intake"].test_client()
    path = rsvp_path(db, "mei@kcg.example.tw")
    _, csrf = _answer_page(client, path)
    assert client.post(path, data={"csrf_token": csrf, "attending": "yes", "delegate0_name": "Chen Chi-mai",
                                   "accessibility": "wheelchair"}).status_code == 303
    with db.session() as s, s.begin():
        done = erasure_apply.erase(s, s.get(Applicant, applicant["id"]), datetime.now(timezone.utc))
    assert done.counts["event_invitations_erased"] == 1
    with db.session() as s:
        inv = s.query(EventInvitation).one()
        rsvp = s.query(EventRsvp).one()
        assert "mei@kcg" not in inv.email and inv.name != "Lin Mei-hua"
        assert (rsvp.attending, rsvp.delegates, rsvp.accessibility) == (True, [], "")
    bodies = json_of_outbox(db)
    assert "mei@kcg.example.tw" not in bodies and "Chen Chi-mai" not in bodies and "wheelchair" not in bodies


def json_of_outbox(db) -> str:
    return str(invited_events(db)) + str(invited_events(db, "event.rsvp_received"))
