"""The applicant portal in a real browser (Playwright + Debian's Chromium)."""
from __future__ import annotations

import os
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import IN_CI
from tests.support import browser
from tests.support.stack import Stack, open_call

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def playwright():
    if not os.path.exists(browser.CHROMIUM):
        message = f"Chromium not found at {browser.CHROMIUM}; install it with: apt-get install chromium"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        yield p


@pytest.fixture
def page(playwright):
    context, profile = browser.launch(playwright)
    page = context.new_page()
    yield page
    browser.close(context, profile)


@pytest.fixture
def intake_server(embedded_settings):
    """intake served over real HTTP from this process (the pages need a real browser's requests)."""
    stack = Stack(embedded_settings, services=("intake",))
    server = make_server("127.0.0.1", 0, stack.apps["intake"], threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield stack, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    stack.stop()


def test_portal_home_shows_the_open_call_and_is_usable_by_keyboard(page, intake_server):
    stack, base = intake_server
    open_call(stack.clients["intake"], stack.secretariat_token(), theme="Cities for <everyone> & all")
    page.goto(base + "/")
    assert page.locator("h2").first.inner_text() == "2026: Cities for <everyone> & all"  # escaped, shown as text
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    browser.screenshot(page, "portal-home")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    browser.screenshot(page, "portal-home-phone")


def test_portal_pages_ask_a_visitor_to_sign_in(page, intake_server):
    _, base = intake_server
    response = page.goto(base + "/portal")
    assert page.url.startswith(base + "/signin")
    assert response is not None
