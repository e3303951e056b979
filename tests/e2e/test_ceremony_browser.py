"""The ceremony invitation answered in a real browser (Playwright + Debian's Chromium): from the
invitation email's link, through sign-in, to the confirmation email; embedded stack with the
intake and notify workers, emails in the mailbox folder."""
from __future__ import annotations

import json
import re
from pathlib import Path
from datetime import datetime, timedelta, timezone

import pytest
from services.intake.handlers import HANDLERS, inviter
from services.intake.models import inbox, outbox
from shared.events import make_event, parse_message
from shared.inbox import InboxDispatcher, bind
from tests.e2e.conftest import mail_to
from tests.support import browser
from tests.support.stack import auth, open_call, register, submit_application

pytestmark = pytest.mark.e2e


@pytest.fixture
def page(playwright):
    context, profile = browser.launch(playwright)
    page = context.new_page()
    yield page
    browser.close(context, profile)


def test_an_invited_city_answers_from_the_invitation_email(page, portal_system):
    stack, base = portal_system
    intake, sec = stack.clients["intake"], stack.secretariat_token()
    call = open_call(intake, sec)
    address = "ayse@beyoglu.example.tr"
    _, token = register(intake, organisation="Beyoğlu Belediyesi", country="TR", city="Beyoğlu",
                        contact_name="Ayşe Yılmaz", contact_email=address)
    app = submit_application(intake, token, call["id"], title="Digital inclusion for Beyoğlu's elders")
    starts = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=40)
    r = intake.put(f"/api/calls/{call['id']}/ceremony", headers=auth(sec), json={
        "starts_at": starts.isoformat(), "time_zone": "Asia/Seoul", "venue": "COEX, Seoul",
        "address": "513 Yeongdong-daero, Gangnam-gu", "rsvp_by": (starts - timedelta(days=14)).isoformat(),
        "max_delegates": 3})
    assert r.status_code == 200, r.get_json()
    now = datetime.now(timezone.utc)
    dispatch = InboxDispatcher(stack.apps["intake"].extensions["prize"]["db"], inbox, outbox, "intake",
                               bind(HANDLERS, invite=inviter(base)))
    for type_, data in (("application.advanced", {"reference": app["reference"], "round": "finalist", "decided_at": now}),
                        ("results.released", {"round": "finalist", "released_at": now})):
        event = make_event(type_, {"application_id": app["id"], **data}, producer="review")
        dispatch(parse_message(json.loads(json.dumps(event.to_message()))))

    invitation = mail_to(stack, address, "award ceremony")
    link = re.search(r"(http://127\.0\.0\.1:\d+/portal/applications/[\w-]+/ceremony)",
                     invitation.get_body(("plain",)).get_content()).group(1)
    page.goto(link)
    assert page.url.startswith(base + "/signin")  # not signed in on this browser yet
    page.get_by_label("Contact email you registered with").fill(address)
    page.get_by_role("button", name="Email me a sign-in link").click()
    signin = mail_to(stack, address, "Sign in")
    page.goto(re.search(r"(http://127\.0\.0\.1:\d+/signin/[\w-]+)", signin.get_body(("plain",)).get_content()).group(1))
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.goto(link)
    assert page.locator("h1").inner_text() == "Award ceremony"
    assert "COEX, Seoul" in page.locator("main").inner_text()
    browser.screenshot(page, "ceremony-invitation-page")

    # a visa letter asked for nobody: refused, with the field marked and what was typed kept
    page.get_by_label("Yes, we will attend").check()
    page.get_by_label("Person 1: full name").fill("Ayşe Yılmaz")
    page.get_by_label("We need an invitation letter for a visa").check()
    page.get_by_role("button", name="Send my answer").click()
    assert page.locator("#visa_details").get_attribute("aria-invalid") == "true"
    assert page.locator("#privacy_consent").get_attribute("aria-invalid") == "true"  # and no consent given
    assert page.get_by_label("Person 1: full name").input_value() == "Ayşe Yılmaz"
    browser.screenshot(page, "ceremony-answer-refused")

    page.get_by_label("For whom: each person's name as in their passport, and their nationality").fill(
        "AYSE YILMAZ, Türkiye; MEHMET DEMIR, Türkiye")
    page.locator("#delegate0_role").fill("Head of Smart City Office")
    page.get_by_label("Person 2: full name").fill("Mehmet Demir")
    page.get_by_label("Accessibility needs").fill("Step-free access for one delegate")
    page.get_by_label("I have read the privacy notice").check()
    page.get_by_role("button", name="Send my answer").click()
    assert "Your answer on record: attending" in page.locator("main").inner_text()
    assert page.get_by_role("button", name="Change my answer").is_visible()
    browser.screenshot(page, "ceremony-answered")

    confirmation = mail_to(stack, address, "Answer received: attending")
    text = confirmation.get_body(("plain",)).get_content()
    assert "Ayşe Yılmaz, Head of Smart City Office" in text and "Mehmet Demir" in text
    assert "AYSE YILMAZ, Türkiye; MEHMET DEMIR, Türkiye" in text and "Step-free access" in text

    # the secretariat's guest list has them (a page of its own; the API says the same)
    guests = intake.get(f"/api/calls/{call['id']}/guests", headers=auth(sec)).get_json()
    assert guests["summary"]["people"] == 2 and guests["summary"]["visa_letters"] == 1
    page.goto(base + f"/secretariat/calls/{call['id']}/guests")
    assert "/staff/signin" in page.url  # staff sign in here; an operator follows the token link
    page.get_by_role("link", name="sign in with a token").click()
    page.get_by_label("Secretariat token").fill(sec)
    page.get_by_role("button", name="Sign in").click()
    assert page.url == base + f"/secretariat/calls/{call['id']}/guests"
    table = page.locator("#guests").inner_text()
    assert "Beyoğlu Belediyesi" in table and "Ayşe Yılmaz, Head of Smart City Office" in table
    assert "yes: AYSE YILMAZ, Türkiye; MEHMET DEMIR, Türkiye" in table
    browser.screenshot(page, "ceremony-guest-list")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the list (CSV, one line per person)").click()
    assert download.value.suggested_filename == "ceremony-guests-2026.csv"
    assert "Mehmet Demir" in Path(download.value.path()).read_text(encoding="utf-8-sig")
