"""My data in a real browser (Playwright + Debian's Chromium; issue 15): an applicant whose edition
is over downloads their data as a ZIP, asks for erasure (the box must be ticked first), and the
secretariat reads what goes and approves it on /secretariat/erasure. axe-core finds nothing on
either page, at desktop and phone width, and neither scrolls sideways on a phone. Screenshots go
to docs/img/ (my-data*.png, erasure-request*.png). The whole flow across the three services is
tests/e2e/test_data_rights.py."""
from __future__ import annotations

import io
import json
import re
import zipfile
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from services.intake.models import Applicant, ErasureRequest
from tests.intake.test_edition_pages import _browser as staff_client
from tests.intake.test_my_data import _stage
from tests.support import browser
from tests.support.stack import KAOHSIUNG, open_call, register, signin_events, submit_application

pytestmark = pytest.mark.e2e


@pytest.fixture
def page(playwright):
    context, profile = browser.launch(playwright)
    page = context.new_page()
    yield page
    browser.close(context, profile)


def _no_axe_violations(page) -> None:
    from axe_playwright_python.sync_playwright import Axe
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def _check(page, name: str) -> None:
    _no_axe_violations(page)
    scroll_width, inner_width = browser.desktop_and_phone(page, name)
    assert scroll_width <= inner_width, f"{name} scrolls sideways on a phone: {scroll_width} > {inner_width}"


def test_an_applicant_downloads_and_asks_and_the_secretariat_approves_in_a_browser(page, portal_system):
    stack, base = portal_system
    intake = stack.clients["intake"]
    call = open_call(intake, stack.secretariat_token())
    _, token = register(intake, secondary_name="Chen Wei", secondary_email="chen.wei@kcg.example.tw")
    application = submit_application(intake, token, call["id"])
    _stage(stack, application["id"], "ineligible")

    page.goto(base + "/signin")
    page.get_by_label("Email").fill(KAOHSIUNG["contact_email"])
    page.get_by_role("button", name=re.compile("sign-in link", re.I)).click()
    page.goto(signin_events(intake, KAOHSIUNG["contact_email"])[-1]["url"])  # the link the email carries
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("link", name="My data").click()
    assert page.url == base + "/portal/my-data"
    _check(page, "my-data")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data (ZIP)").click()
    archive = zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read()))
    data = json.loads(archive.read("data.json"))
    assert data["applicant"]["secondary_email"] == "chen.wei@kcg.example.tw"
    assert [n for n in archive.namelist() if n.startswith(f"documents/{application['reference']}/")]

    page.get_by_role("button", name="Ask for my data to be erased").click()  # the box is not ticked
    assert "Tick the box" in page.locator("#confirm-error").inner_text()
    _no_axe_violations(page)
    page.get_by_label("I understand that this cannot be undone.").check()
    page.get_by_role("button", name="Ask for my data to be erased").click()
    assert page.locator("#erasure-requested").is_visible()

    staff = staff_client(stack, "secretariat")
    host = urlsplit(base).hostname
    page.context.add_cookies([{"name": "prize_staff_intake", "value": staff.get_cookie("prize_staff_intake").value,
                               "domain": host, "path": "/"}])
    page.goto(base + "/secretariat/erasure")
    page.get_by_role("link", name=re.compile(r"\d{4} \d\d:\d\d UTC")).click()
    assert KAOHSIUNG["contact_email"] in page.locator("#erase-notify").inner_text()
    _check(page, "erasure-request")
    page.get_by_role("button", name=re.compile("Approve")).click()
    assert "Approved" in page.locator("#erasure-status").inner_text()
    with stack.apps["intake"].extensions["prize"]["db"].session() as s:
        assert s.scalar(select(ErasureRequest.status)) == "approved"
        assert s.scalar(select(Applicant.erased_at).where(Applicant.organisation == KAOHSIUNG["organisation"]))
