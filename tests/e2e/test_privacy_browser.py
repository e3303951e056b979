"""The privacy notice and the consent to it in a real browser (Playwright + Debian's Chromium), as a
Korean officer reads them: registration refused without the box ticked, in Korean, then taken;
the notice in Korean from the footer, with what they agreed to; axe-core finds nothing on these
pages; desktop and phone screenshots into docs/img/."""
from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.e2e.conftest import mail_to
from tests.support import browser
from tests.support.stack import open_call

pytestmark = pytest.mark.e2e


@pytest.fixture
def page(playwright):
    context, profile = browser.launch(playwright)
    page = context.new_page()
    page.set_extra_http_headers({"Accept-Language": "ko-KR,ko;q=0.9"})
    yield page
    browser.close(context, profile)


def _no_violations(page) -> None:
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def test_a_korean_officer_consents_at_registration_and_reads_the_notice(page, portal_system):
    stack, base = portal_system
    intake, sec = stack.clients["intake"], stack.secretariat_token()
    open_call(intake, sec)

    page.goto(base + "/register")  # the form's fields by id: their labels are another part's to translate
    page.locator("#type").select_option("city_government")
    page.locator("#organisation").fill("서울특별시 성동구")
    country = page.locator("#country")
    country.select_option("KR") if country.evaluate("e => e.tagName") == "SELECT" else country.fill("KR")
    page.locator("#city").fill("서울")
    page.locator("#contact_name").fill("박지원")
    page.locator("#contact_email").fill("smart@sd.example.kr")
    page.locator("#language").select_option("ko")
    page.locator("form[action='/register'] button[type=submit]").click()
    error = page.locator("#privacy_consent-error")
    assert "개인정보 처리방침을 읽었음을 확인하는 동의란에 표시해 주십시오" in error.inner_text()
    assert page.locator("#privacy_consent").get_attribute("aria-invalid") == "true"
    assert page.locator("#contact_email").input_value() == "smart@sd.example.kr"
    browser.screenshot(page, "privacy-register-refused")

    page.locator("#privacy_consent").check()
    page.locator("form[action='/register'] button[type=submit]").click()
    assert mail_to(stack, "smart@sd.example.kr", "")  # registered: the sign-in link is on its way

    page.goto(base + "/")
    page.locator("footer").get_by_role("link", name="개인정보 처리방침").click()
    assert page.url == base + "/privacy"
    assert page.locator("h1").inner_text() == "개인정보 처리방침"
    main = page.locator("main").inner_text()
    assert "2026 서울스마트도시상, 제1판." in main and "비자·여권 정보는 시상식 30일 후 자동으로 파기합니다." in main
    assert "prize@wego-cities.org" in main
    _no_violations(page)
    scroll, width = browser.desktop_and_phone(page, "privacy-notice-ko")
    assert scroll <= width, (scroll, width)

    msg = mail_to(stack, "smart@sd.example.kr", "")  # signed in, the page lists what they agreed to
    page.goto(re.search(r"(http://127\.0\.0\.1:\d+/signin/[\w-]+)", msg.get_body(("plain",)).get_content()).group(1))
    page.locator("main button[type=submit]").click()
    page.goto(base + "/privacy/2026")
    agreed = page.locator("section[aria-labelledby=agreed]").inner_text()
    assert "등록: 계정 및 신청서" in agreed and "2026 개인정보 처리방침 제1판" in agreed
    _no_violations(page)


def test_the_secretariat_writes_its_own_notice_on_the_editions_page(page, portal_system):
    import uuid
    from datetime import datetime, timezone

    from services.intake.models import staff_tables
    from shared.staff import store
    stack, base = portal_system
    call = open_call(stack.clients["intake"], stack.secretariat_token())
    member = {"staff_id": str(uuid.uuid4()), "email": "kim@wego.example", "name": "Kim Soo-jin", "language": "en",
              "role": "secretariat", "active": True, "version": 1, "changed_by": "test"}
    with stack.apps["intake"].extensions["prize"]["db"].session() as s, s.begin():
        store.apply_member(s, staff_tables, member, datetime.now(timezone.utc))
        secret = store.open_session(s, staff_tables, member["staff_id"], str(uuid.uuid4()), datetime.now(timezone.utc))
    page.context.add_cookies([{"name": "prize_staff_intake", "value": secret, "url": base}])
    page.goto(f"{base}/secretariat/editions/{call['id']}")
    page.get_by_role("link", name="Read or change the privacy notice").click()
    assert "Version 1" in page.locator("#notice-state").inner_text()
    page.get_by_label("The notice").fill("WeGO's secretariat keeps your details to run the 2026 prize.\n\n"
                                         "Visa and passport details are deleted 30 days after the ceremony.")
    page.get_by_role("button", name="Save the privacy notice").click()
    assert "saved as version 2" in page.locator("main").inner_text()
    assert "Kim Soo-jin <kim@wego.example>" in page.locator("#notice-state").inner_text()
    scroll, width = browser.desktop_and_phone(page, "editions-privacy-notice")
    assert scroll <= width, (scroll, width)
    page.goto(base + "/privacy")
    assert "WeGO's secretariat keeps your details" in page.locator("article").inner_text()
