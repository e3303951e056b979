"""A Korean visitor registers in a real browser (Playwright + Debian's Chromium): the page in
Korean, countries by their Korean names, a wrong form answered with a summary that takes the
focus and whose links lead to the fields, and the region kept with the applicant."""
from __future__ import annotations

import threading

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from sqlalchemy import select
from werkzeug.serving import make_server

from services.intake.models import Applicant
from tests.support import browser
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture
def page(playwright):
    context, profile = browser.launch(playwright)
    page = context.new_page()
    page.set_extra_http_headers({"Accept-Language": "ko-KR,ko;q=0.9"})
    yield page
    browser.close(context, profile)


@pytest.fixture
def intake_server(embedded_settings):
    stack = Stack(embedded_settings, services=("intake",))
    server = make_server("127.0.0.1", 0, stack.apps["intake"], threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield stack, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    stack.stop()


def test_a_korean_visitor_corrects_a_wrong_registration_through_the_error_summary(page, intake_server):
    stack, base = intake_server
    page.goto(base + "/register")
    assert page.locator("html").get_attribute("lang") == "ko"
    expect(page.get_by_role("heading", level=1)).to_have_text("신청자 등록")
    page.get_by_label("신청 유형").select_option("city_government")
    page.get_by_label("국가").select_option(label="대만")
    page.get_by_label("도시", exact=True).fill("高雄 Kaohsiung")
    page.get_by_label("담당자", exact=True).fill("Lin Mei-hua")
    page.get_by_label("담당자 이메일", exact=True).fill("mei.lin-at-kcg.example.tw")
    page.locator("#privacy_consent").check()
    page.get_by_role("button", name="등록하고 로그인 링크 받기").click()

    summary = page.get_by_role("alert").filter(has_text="2개 항목을 고쳐 주세요")
    expect(summary).to_be_focused()  # a screen reader reads it first; a keyboard starts there
    links = summary.get_by_role("link")
    expect(links).to_have_text(["기관명을 입력해 주세요.", "name@city.gov와 같은 형식의 이메일 주소를 입력해 주세요."])
    checked = Axe().run(page)
    assert checked.violations_count == 0 and len(checked.response["passes"]) > 10, checked.generate_report()
    browser.screenshot(page, "portal-register-errors-ko")

    links.first.click()
    organisation = page.get_by_label("기관명 (개인은 성명)")
    expect(organisation).to_be_focused()
    organisation.fill("高雄市政府")
    links.nth(1).click()
    expect(page.get_by_label("담당자 이메일", exact=True)).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("mei.lin@kcg.example.tw")
    page.get_by_role("button", name="등록하고 로그인 링크 받기").click()
    expect(page.get_by_role("status")).to_contain_text("mei.lin@kcg.example.tw 받은편지함을 확인해 주세요.")

    with stack.apps["intake"].extensions["prize"]["db"].session() as s:
        row = s.scalars(select(Applicant)).one()
        assert (row.organisation, row.country, row.region, row.language) == ("高雄市政府", "TW", "asia_pacific", "ko")
