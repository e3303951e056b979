"""The secretariat's looks before each irreversible click, in a real browser (Playwright + Debian's
Chromium), review and notify served over HTTP: the proposed assignment is looked at and saved,
the round closes with its tie decided on the closing preview, and the results are released once
the edition's year is typed, the release page framing notify's rendering of each kind of email.
Screenshots at 1280x900 and 390x844 go to docs/img/rounds-*.png; no page scrolls sideways on a
phone."""
from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from shared.auth import issue_token
from tests.e2e.test_review_browser import DUPLICATE_IDS
from tests.review.test_review_pages import Review
from tests.review.test_round_previews import score_all, submit
from tests.support import browser
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "img"
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture
def served(embedded_settings):
    """review and notify over real HTTP; review's pages frame notify's previews at its address."""
    stack = Stack(embedded_settings, services=("review", "notify"))
    servers = {svc: make_server("127.0.0.1", 0, stack.apps[svc], threaded=True) for svc in ("review", "notify")}
    urls = {svc: f"http://127.0.0.1:{server.server_port}" for svc, server in servers.items()}
    settings = dataclasses.replace(embedded_settings, review_public_url=urls["review"],
                                   notify_public_url=urls["notify"])
    for app in stack.apps.values():
        app.extensions["prize"]["settings"] = settings
    stack.settings = settings
    for server in servers.values():
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield stack, urls
    for server in servers.values():
        server.shutdown()
    stack.stop()


@pytest.fixture
def page(playwright):
    context, profile = browser.launch(playwright)
    yield context.new_page()
    browser.close(context, profile)


def shoot(page, name: str) -> None:
    """The page at 1280x900 and at 390x844 (where nothing may scroll sideways) into docs/img/, whole:
    the viewport is stretched to the page's height (a full-page capture leaves iframes blank)."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    assert page.evaluate(DUPLICATE_IDS) == []  # each label and aria reference points at one element
    for width, height, suffix in ((1280, 900, ""), (390, 844, "-phone")):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)  # the framed emails lay out again at the new width
        if width == 390:
            assert page.evaluate(NO_SIDEWAYS_SCROLL), f"{name} scrolls sideways at 390 px"
        page.set_viewport_size({"width": width, "height": page.evaluate("document.documentElement.scrollHeight")})
        page.wait_for_timeout(300)
        page.screenshot(path=str(IMAGES / f"{name}{suffix}.png"))
    page.set_viewport_size({"width": 1280, "height": 900})


def test_rounds_assign_close_and_release_after_a_look_each(page, served):
    stack, urls = served
    review = Review(stack.apps["review"])
    call_id = review.open_call(2026)
    titles = {"Hydrogen buses for the harbour": ("AU", "a@ryde.example.au", "ko"),
              "Smart street lighting": ("PL", "b@lublin.example.pl", "en"),
              "Tablets for the elderly": ("TW", "c@kcg.example.tw", "ko")}
    for title, (country, email, language) in titles.items():
        submit(review, stack, call_id, title, country, email, language, organisation=f"{country} City Hall")
    juror = review.invite("Ana Souza", "ana@guarulhos.example.br", "BR")
    review.invite("Wen Chen", "wen@taipei.example.tw", "TW")
    review.screen_all(call_id)
    round_id = review.open_round(call_id, jurors_per_application=1, advance_per_category=1, min_reviews=1)
    base = urls["review"]

    page.goto(f"{base}/secretariat/signin")
    page.get_by_label("Secretariat token").fill(issue_token(review.secret, "secretariat", "prize office"))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/secretariat")

    # the assignment: looked at, then saved
    page.get_by_role("link", name="Assign jurors").click()
    page.wait_for_url(f"{base}/secretariat/rounds/{round_id}/assign")
    assert "3 new assignment(s)" in page.locator("#assign-summary").inner_text()
    assert "Wen Chen" in page.locator("#conflicts").inner_text()  # kept off the TW project
    shoot(page, "rounds-assign")
    page.get_by_role("button", name="Save this assignment").click()
    page.wait_for_url(f"{base}/secretariat?call={call_id}")
    assert "Assigned: 3 new assignment(s)" in page.locator("main").inner_text()

    # two tie for one place, one is short of reviews
    score_all(review, juror, {"Hydrogen buses for the harbour": 7, "Smart street lighting": 7})
    score_all(review, review_juror(review, "wen@taipei.example.tw"), {"Hydrogen buses for the harbour": 7,
                                                                      "Smart street lighting": 7})
    page.reload()
    page.get_by_role("link", name="Close the round").click()
    page.wait_for_url(f"{base}/secretariat/rounds/{round_id}/close")
    ties = page.locator("#ties-tech_innovacity")
    assert "Hydrogen buses" in ties.inner_text() and "Smart street lighting" in ties.inner_text()
    assert "Tablets for the elderly" in page.locator("#short-tech_innovacity").inner_text()
    ties.locator("tr", has_text="Hydrogen buses").get_by_label("Advance", exact=True).check()
    ties.locator("tr", has_text="Smart street lighting").get_by_label("Do not advance").check()
    page.locator("#short-tech_innovacity tr", has_text="Tablets").get_by_label("Do not advance").check()
    shoot(page, "rounds-close")
    page.locator("#confirm-close").get_by_role("button", name="Close the round").click()
    page.locator("#finalists").wait_for()
    assert "Round closed: 1 finalist(s), 2 not advanced" in page.locator("main").inner_text()

    # the release: every email counted, one of each kind shown by notify, the year typed
    page.get_by_role("link", name="Release the results").click()
    assert page.locator("#email-count").inner_text() == "3 email(s)"
    frames = page.frame_locator("iframe.email")
    assert page.locator("iframe.email").count() == 3
    for n in range(3):
        frames.nth(n).locator("#preview-language").wait_for()  # notify's page, loaded in the frame
    assert "SSCP-2026-" in frames.first.locator("body").inner_text()
    shoot(page, "rounds-release")
    page.get_by_label("Type the edition's year").fill("2025")
    page.get_by_role("button", name="Release the results").click()
    assert "type 2026 to confirm" in page.locator("#year-error").inner_text()
    assert page.get_by_label("Type the edition's year").input_value() == "2025"
    page.get_by_label("Type the edition's year").fill("2026")
    page.get_by_role("button", name="Release the results").click()
    page.wait_for_url(f"{base}/secretariat?call={call_id}")
    assert "Released: 3 result(s) of the selection of finalists." in page.locator("main").inner_text()


def review_juror(review: Review, email: str) -> str:
    from sqlalchemy import select

    from services.review.models import Juror
    with review.db.session() as s:
        return s.scalar(select(Juror.id).where(Juror.email == email))
