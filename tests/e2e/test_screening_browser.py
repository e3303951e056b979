"""Screening in a real browser (Playwright + Debian's Chromium): review and notify served over
real HTTP on their own ports; the secretariat opens an application from the screening list,
chooses "not eligible" with a reason, sees notify's preview of the email in the iframe with that
reason, confirms, sees the held email and undoes it. Screenshots of each step go to docs/img at
1280x900 and 390x844, and no page scrolls sideways on the phone."""
from __future__ import annotations

import re
import threading

import pytest
from werkzeug.serving import make_server

from services.notify.models import Recipient
from shared.auth import issue_token
from shared.config import load_settings
from tests.conftest import embedded_env
from tests.review.test_screening_console import REASON, decisions, stage_of, submit
from tests.review.test_review_pages import Review
from tests.support import browser
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e



@pytest.fixture
def served(tmp_path, free_port):
    """review and notify over real HTTP, each knowing the other's address (the iframe's), with one
    call and two applications that notify has recorded too (as its handler of application.submitted
    does)."""
    ports = {svc: free_port() for svc in ("review", "notify")}
    urls = {svc: f"http://127.0.0.1:{port}" for svc, port in ports.items()}
    settings = load_settings(embedded_env(tmp_path / "var", PRIZE_REVIEW_PUBLIC_URL=urls["review"],
                                          PRIZE_NOTIFY_PUBLIC_URL=urls["notify"], PRIZE_SCREENING_UNDO_SECONDS="300"))
    stack = Stack(settings, services=("review", "notify"))
    review = Review(stack.apps["review"])
    call_id = review.open_call()
    apps = {"buses": submit(review, call_id, "Harbour hydrogen buses", language="en"),
            "kiosks": submit(review, call_id, "Sign language video kiosks", language="en")}
    with stack.apps["notify"].extensions["prize"]["db"].session() as s, s.begin():
        for key, app_id in apps.items():
            s.add(Recipient(application_id=app_id, reference=f"SSCP-2026-{app_id[:6].upper()}",
                            title="Harbour hydrogen buses" if key == "buses" else "Sign language video kiosks",
                            category="tech_innovacity", year=2026, organisation="Kaohsiung City Government",
                            contact_name="Lin Mei-hua", contact_email="lin@kaohsiung.example.tw", language="en",
                            finalist_released=False, award_released=False))
    servers = [make_server("127.0.0.1", ports[svc], stack.apps[svc], threaded=True) for svc in ports]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"review": review, "urls": urls, "apps": apps}
    for server in servers:
        server.shutdown()
        server.server_close()
    stack.stop()


@pytest.fixture
def page(playwright):
    context, profile = browser.launch(playwright)
    yield context.new_page()
    browser.close(context, profile)


def shoot(page, name: str) -> None:
    """The page at 1280x900 and at 390x844 (where nothing may scroll sideways), into docs/img/."""
    scroll_width, width = browser.desktop_and_phone(page, f"screening-{name}")
    assert scroll_width <= width, f"{name} scrolls sideways on a phone"


def test_screening_not_eligible_previewed_confirmed_and_undone(served, page):
    review, base, apps = served["review"], served["urls"]["review"], served["apps"]
    page.goto(base + "/secretariat/signin")  # an operator's token (staff sign in at intake, not served here)
    page.get_by_label("Secretariat token").fill(issue_token(review.secret, "secretariat", "Kim Ji-won"))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/secretariat")

    page.get_by_role("link", name="All applications by screening state").click()
    page.locator("#screening-list").wait_for()
    assert "2 application(s): awaiting screening" in page.locator("#screening-count").inner_text()
    shoot(page, "list")
    page.get_by_role("link", name="Harbour hydrogen buses").click()
    page.wait_for_url(f"{base}/secretariat/applications/{apps['buses']}")
    main = page.locator("main").inner_text()
    assert "Diesel buses foul the harbour air" in main and "application-form.pdf" in main

    page.get_by_role("radio", name="Not eligible").check()
    page.get_by_role("button", name="Preview the email").click()  # no reason: refused beside the field
    page.locator("#reason-error").wait_for()
    assert page.get_by_role("radio", name="Not eligible").is_checked()
    page.get_by_label("Reason the applicant will read").fill(REASON)
    shoot(page, "application")
    page.get_by_role("button", name="Preview the email").click()

    page.locator("#email-preview").wait_for()
    frame = page.frame_locator("#email-preview")
    frame.locator("#preview-text").wait_for()
    assert REASON in frame.locator("#preview-text").inner_text()  # notify's page, with the typed reason
    assert frame.locator("#preview-to").inner_text() == "lin@kaohsiung.example.tw"
    what = page.locator("#what-happens").inner_text()
    assert "lin@kaohsiung.example.tw will be emailed in English in about 5 minutes" in what
    shoot(page, "preview")

    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(f"{base}/secretariat/applications/{apps['buses']}")
    held = page.locator("#held-email").inner_text()
    assert re.search(r"Email goes at \d\d:\d\d UTC", held), held
    assert stage_of(review, apps["buses"]) == "ineligible"
    shoot(page, "held")

    page.get_by_role("button", name="Undo").click()
    page.locator(".flash.ok").filter(has_text="Undone").wait_for()
    assert stage_of(review, apps["buses"]) == "submitted"
    assert page.locator("#held-email").count() == 0
    assert "undone by" in page.locator("#screening-history").inner_text()
    assert [d.status for d in decisions(review, apps["buses"])] == ["undone"]
    shoot(page, "undone")
