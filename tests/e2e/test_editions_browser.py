"""The secretariat's Editions pages in a real browser (Playwright + Debian's Chromium), intake over
real HTTP with its and notify's workers (the sign-in link arrives by email): a staff member signs
in, creates an edition, edits a category's criteria, opens it after the confirmation, grants a
deadline exception and sets the ceremony. Screenshots at 1280x900 and 390x844 go to docs/img/
(editions-*.png); on the phone no page scrolls sideways."""
from __future__ import annotations

import re

import pytest

from services.intake.ops import staff as staff_ops
from tests.e2e.conftest import mail_to
from tests.support import browser
from tests.support.stack import register

pytestmark = pytest.mark.e2e

MEMBER = "min@wego.example"


def shoot(page, name: str) -> None:
    """The page at 1280x900 and at 390x844 (where nothing may scroll sideways), into docs/img/."""
    scroll_width, width = browser.desktop_and_phone(page, f"editions-{name}")
    assert scroll_width <= width, (name, [scroll_width, width])


def sign_in(page, stack, base: str) -> None:
    page.goto(base + "/staff/signin")
    page.get_by_label("Your work email address").fill(MEMBER)
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    text = mail_to(stack, MEMBER, "").get_body(preferencelist=("plain",)).get_content()
    page.goto(re.search(r"http://\S+/staff/signin/\S+", text).group(0))
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(base + "/secretariat")


def test_a_member_runs_an_edition_from_creation_to_ceremony(portal_system, playwright):
    stack, base = portal_system
    staff_ops.add_member(stack.apps["intake"].extensions["prize"]["db"], MEMBER, "Min Seo", "secretariat", "en",
                         "operator test")
    register(stack.clients["intake"])  # an applicant to grant an exception to
    context, profile = browser.launch(playwright)
    try:
        page = context.new_page()
        sign_in(page, stack, base)
        create_an_edition(page, base)
        edit_the_criteria(page)
        open_it(page)
        grant_an_exception(page)
        set_the_ceremony(page)
    finally:
        browser.close(context, profile)


def create_an_edition(page, base: str) -> None:
    page.get_by_role("link", name="Create an edition").click()
    page.get_by_label("Year").fill("2027")
    page.get_by_label("Theme").fill("Cities that listen: from Beyoğlu to Busan")
    page.get_by_label("Time zone").select_option("Asia/Seoul")
    page.get_by_label("Applications open").fill("2026-12-01T09:00")
    page.get_by_label("Applications close").fill("2027-06-30T18:00")
    shoot(page, "new")
    page.get_by_role("button", name="Create the draft").click()
    page.locator(".flash.ok").filter(has_text="The 2027 edition is created as a draft").wait_for()
    assert "30 June 2027, 18:00 (Asia/Seoul)" in page.locator("main").inner_text()
    shoot(page, "draft")


def edit_the_criteria(page) -> None:
    page.get_by_role("link", name="Edit Leadership").click()
    page.locator("#c0-weight").fill("2")
    page.locator("#c0-guidance").fill("The technology and data vision the person championed\nHow it reached residents")
    new = page.locator("fieldset.criterion", has_text="New criterion").first
    new.get_by_label("Name").fill("Courage in hard times")
    new.get_by_label("Weight").fill("1.5")
    new.get_by_label("Word limit").fill("300")
    page.locator("#c1-weight").fill("0")  # a mistake first: shown next to the field
    page.get_by_role("button", name="Save the category").click()
    assert page.locator("#c1-weight-error").inner_text().startswith("The weight must be more than 0")
    assert page.locator("#c4-title").input_value() == "Courage in hard times"  # what was typed stays
    shoot(page, "category-error")
    page.locator("#c1-weight").fill("1")
    page.get_by_role("button", name="Save the category").click()
    page.locator(".flash.ok").filter(has_text="The category Leadership").wait_for()
    assert "Courage in hard times (1.5, 300 words)" in page.locator("main").inner_text()


def open_it(page) -> None:
    page.get_by_role("link", name="Open the edition…").click()
    page.get_by_role("heading", name="Open the 2027 edition?").wait_for()
    assert "register and apply" in page.locator("main").inner_text()
    shoot(page, "open-confirm")
    page.get_by_role("button", name="Open the 2027 edition").click()
    page.locator(".flash.ok").filter(has_text="The 2027 edition is open").wait_for()


def grant_an_exception(page) -> None:
    page.get_by_role("link", name="Deadline exceptions").click()
    page.get_by_label("Applicant").fill("mei.lin@kcg.example.tw")
    page.get_by_label("May submit until (Asia/Seoul)").fill("2027-07-07T18:00")
    page.get_by_label("Reason").fill("A flood closed the city hall for a week.")
    page.get_by_role("button", name="Grant the exception").click()
    page.locator(".flash.ok").filter(has_text="Kaohsiung City Government may submit until 07 July 2027, 18:00").wait_for()
    assert "Min Seo <min@wego.example>" in page.locator("#exceptions").inner_text()
    shoot(page, "exceptions")


def set_the_ceremony(page) -> None:
    page.get_by_role("link", name="2027", exact=True).click()
    page.get_by_role("link", name="Set the ceremony").click()
    page.get_by_label("Time zone").select_option("Asia/Seoul")
    page.get_by_label("Starts").fill("2027-10-10T18:00")
    page.get_by_label("Answers asked by").fill("2027-09-20T18:00")
    page.get_by_label("Venue").fill("COEX, Seoul")
    page.get_by_label("Address").fill("513 Yeongdong-daero, Gangnam-gu")
    shoot(page, "ceremony")
    page.get_by_role("button", name="Set the ceremony").click()
    page.locator(".flash.ok").filter(has_text="The ceremony is set for 10 October 2027, 18:00 (Asia/Seoul)").wait_for()
    shoot(page, "edition")
    page.get_by_role("link", name="Editions", exact=True).first.click()
    shoot(page, "list")
