"""The email templates for people in a real browser (Playwright + Debian's Chromium): a secretariat
member opens the list, opens "Finalist notice", changes a sentence, previews it (nothing stored),
saves it; at 1280x900 and on a phone (390x844), where nothing scrolls sideways. Screenshots go to
docs/img/ (templates-*.png, templates-*-phone.png), where the README shows them."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from services.notify.models import TemplateOverride
from services.notify.ops import templates
from services.notify.samples import SAMPLES
from shared.config import load_settings
from tests.conftest import embedded_env
from tests.notify.test_template_catalogue import browser_of
from tests.support import browser
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
WIDE, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}


@pytest.fixture
def page(playwright):
    context, profile = browser.launch(playwright)
    yield context.new_page()
    browser.close(context, profile)


@pytest.fixture
def notify_server(tmp_path):
    stack = Stack(load_settings(embedded_env(tmp_path / "var")), services=("notify",))
    stack.db = stack.apps["notify"].extensions["prize"]["db"]
    server = make_server("127.0.0.1", 0, stack.apps["notify"], threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"base": f"http://127.0.0.1:{server.server_port}", "stack": stack}
    server.shutdown()
    stack.stop()


def settle(page) -> None:
    """After a resize: the email's frame laid out and painted again before a screenshot."""
    if page.locator("iframe.email-html").count():
        page.frame_locator("iframe.email-html").locator("body").wait_for()
    page.wait_for_timeout(300)


def capture(page, path: Path, size: dict) -> None:
    """The whole page at ``size``'s width: the viewport made as tall as the page, since a full-page
    screenshot leaves a frame below the fold (the email's, rendered apart) blank."""
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], height)})
    settle(page)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


def shots(page, name: str) -> None:
    """The page at 1280x900 and on a phone (390x844), where it must not scroll sideways."""
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(PHONE)
    settle(page)
    overflow = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert overflow[0] <= overflow[1], f"{name} scrolls sideways on a phone: {overflow}"
    capture(page, DOCS_IMG / f"{name}-phone.png", PHONE)
    page.set_viewport_size(WIDE)
    settle(page)
    capture(page, DOCS_IMG / f"{name}.png", WIDE)


def test_a_secretariat_member_rewords_the_finalist_notice(page, notify_server):
    base, stack = notify_server["base"], notify_server["stack"]
    # a staff session as intake's hand-off opens it (intake is not served here)
    secret = browser_of(stack, "secretariat").get_cookie("prize_staff_notify").value
    page.context.add_cookies([{"name": "prize_staff_notify", "value": secret, "url": base}])
    page.set_viewport_size(WIDE)

    page.goto(base + "/secretariat/templates")
    assert page.get_by_role("heading", name="Jurors").is_visible()
    finalist = page.locator("#tpl-finalist_notice")
    assert "Sent to each finalist's contact when the secretariat releases the finalist round." in finalist.inner_text()
    assert "results.released" in finalist.inner_text()
    shots(page, "templates-list")

    finalist.get_by_role("link", name="Finalist notice").click()
    page.wait_for_url(base + "/secretariat/templates/finalist_notice/en")
    page.get_by_label("Edition (call year)").fill("2026")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**edition=2026")
    assert "{{ reference }}" in page.locator("#variables").inner_text()
    body = page.get_by_label("Text", exact=True)
    body.fill(body.input_value().replace("What happens next:", "Next, in brief:"))

    page.get_by_role("button", name="Preview").click()
    page.locator("#preview").filter(has_text="not saved yet").wait_for()
    assert "Next, in brief: the jury evaluates" in page.locator("#preview-text").inner_text()
    frame = page.frame_locator("iframe.email-html")
    assert "Next, in brief:" in frame.locator("body").inner_text()  # the HTML made from the text
    with stack.db.session() as s:
        assert s.get(TemplateOverride, ("finalist_notice", "en", 2026)) is None  # a preview stores nothing
    shots(page, "templates-preview")

    page.get_by_role("button", name="Save for 2026").click()
    page.locator(".flash.ok").filter(has_text="Saved: finalist_notice (en) emails of 2026").wait_for()
    with stack.db.session() as s:
        _, text, html = templates.render("finalist_notice", "en", SAMPLES["finalist_notice"], s)
    assert "Next, in brief: the jury evaluates" in text and "Next, in brief:" in html
    shots(page, "templates-saved")
