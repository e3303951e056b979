"""The applicant portal in a real browser (Playwright + Debian's Chromium)."""
from __future__ import annotations

import re
import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from tests.e2e.conftest import mail_to
from tests.support import browser
from tests.support.stack import Stack, open_call

pytestmark = pytest.mark.e2e


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


def test_portal_new_applicant_registers_signs_in_and_keeps_a_draft_across_reloads(page, portal_system):
    stack, base = portal_system
    open_call(stack.clients["intake"], stack.secretariat_token())
    page.goto(base + "/")
    page.get_by_role("link", name="Register to apply").click()
    page.get_by_label("You apply as").select_option("city_government")
    page.get_by_label("Organisation (or your name, for an individual)").fill("高雄市政府 Kaohsiung City Government")
    page.get_by_label("Country").select_option("TW")
    page.get_by_label("City", exact=True).fill("高雄 Kaohsiung")
    page.get_by_label("Contact person", exact=True).fill("Lin Mei-hua")
    page.get_by_label("Contact email", exact=True).fill("mei.lin@kcg.example.tw")
    page.get_by_label("I have read the privacy notice").check()
    browser.screenshot(page, "portal-register")
    page.get_by_role("button", name="Register and send me a sign-in link").click()
    assert "sign-in link" in page.locator("main").inner_text()

    msg = mail_to(stack, "mei.lin@kcg.example.tw", "")
    link = re.search(r"(http://127\.0\.0\.1:\d+/signin/[\w-]+)", msg.get_body(("plain",)).get_content()).group(1)
    page.goto(link)  # opening the link spends nothing (mail scanners open links too): its button does
    browser.screenshot(page, "portal-signin-link")
    page.get_by_role("button", name="Sign in", exact=True).click()
    assert page.url == base + "/portal"
    page.get_by_label("Category").select_option(index=0)
    page.get_by_role("button", name="Start").click()
    assert "/portal/applications/" in page.url

    page.get_by_label("Project title").fill("Hydrogen buses for 高雄 harbour")
    page.get_by_label("Summary").fill("Clean mobility shared with partners in São Paulo and Beyoğlu.")
    first = page.locator("textarea[data-criterion]").first
    first.fill("Diesel buses cause most harbour pollution; citizens named it first in 2023.")
    # a locator's wait, not wait_for_function: the page's CSP forbids the eval that one needs
    expect(page.locator("#save-state")).to_have_text(re.compile(r"^Saved"))
    browser.screenshot(page, "portal-draft-autosaved")
    page.reload()
    assert page.get_by_label("Project title").input_value() == "Hydrogen buses for 高雄 harbour"
    assert page.get_by_label("Summary").input_value() == "Clean mobility shared with partners in São Paulo and Beyoğlu."
    assert page.locator("textarea[data-criterion]").first.input_value().startswith("Diesel buses")


def test_portal_applicant_uploads_a_pdf_submits_and_gets_the_acknowledgement(page, portal_system, tmp_path):
    stack, base = portal_system
    open_call(stack.clients["intake"], stack.secretariat_token())
    page.goto(base + "/register")
    page.get_by_label("You apply as").select_option("city_government")
    page.get_by_label("Organisation (or your name, for an individual)").fill("Beyoğlu Belediyesi")
    page.get_by_label("Country").select_option("TR")
    page.get_by_label("City", exact=True).fill("Beyoğlu")
    page.get_by_label("Contact person", exact=True).fill("Ayşe Yılmaz")
    page.get_by_label("Contact email", exact=True).fill("ayse@beyoglu.example.tr")
    page.get_by_label("I have read the privacy notice").check()
    page.get_by_role("button", name="Register and send me a sign-in link").click()
    msg = mail_to(stack, "ayse@beyoglu.example.tr", "")
    page.goto(re.search(r"(http://127\.0\.0\.1:\d+/signin/[\w-]+)", msg.get_body(("plain",)).get_content()).group(1))
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("button", name="Start").click()

    page.get_by_label("Project title").fill("Digital inclusion for Beyoğlu's elders")
    page.get_by_label("Summary").fill("Tablets and tutors, with partners in São Paulo and 高雄.")
    for area in page.locator("textarea[data-criterion]").all():
        area.fill("Evidence from resident surveys shaped every step of the programme.")

    pdf = tmp_path / "application-form.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + b"0" * 300_000 + b"\n%%EOF\n")
    page.get_by_label("File").set_input_files(str(pdf))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload-state")).to_have_text(re.compile(r"^Uploaded and checked"))
    assert page.locator("#upload-progress").evaluate("el => el.value") == 100
    browser.screenshot(page, "portal-uploaded")

    page.get_by_role("button", name="Save and preview").click()
    assert "/preview" in page.url
    browser.screenshot(page, "portal-preview")
    page.get_by_role("button", name="Submit application").click()
    assert "/status" in page.url
    assert "Submitted" in page.locator("main").inner_text()
    browser.screenshot(page, "portal-status")
    ack = mail_to(stack, "ayse@beyoglu.example.tr", "Application received")
    assert "Digital inclusion for Beyoğlu's elders" in ack["Subject"]
