"""A juror switches their pages to Korean and scores in Korean, in a real browser (Playwright +
Debian's Chromium): the switch becomes their language, the scoring form, its autosave and its
error summary speak Korean, and the summary takes focus and leads to the field."""
from __future__ import annotations

import re
import threading

import pytest
from axe_playwright_python.sync_playwright import Axe
from werkzeug.serving import make_server

from services.review.models import Juror
from tests.review.test_review_pages import Review
from tests.support import browser
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


def axe_violations(page) -> list:
    """axe-core's violations on the page as it stands (rule id and the elements it names)."""
    found = Axe().run(page).response["violations"]
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in found]


@pytest.fixture
def juror_page(playwright):
    context, profile = browser.launch(playwright)
    yield context.new_page()
    browser.close(context, profile)


@pytest.fixture
def served(embedded_settings):
    """review over real HTTP, one application and one (English-speaking) juror assigned to it."""
    stack = Stack(embedded_settings, services=("review",))
    review = Review(stack.apps["review"])
    call_id = review.open_call()
    review.submit(call_id, title="Hydrogen buses for the harbour")
    juror_id = review.invite("Ana Souza", "ana@guarulhos.example.br", "BR", "Guarulhos City Hall")
    review.screen_all(call_id)
    review.assign(review.open_round(call_id, jurors_per_application=1, advance_per_category=1, min_reviews=1))
    server = make_server("127.0.0.1", 0, stack.apps["review"], threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"review": review, "base": f"http://127.0.0.1:{server.server_port}", "juror": juror_id}
    server.shutdown()
    stack.stop()


def test_a_juror_switches_to_korean_and_scores(juror_page, served):
    page, base, review = juror_page, served["base"], served["review"]
    page.goto(base + review.invitation_path(served["juror"]))
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{base}/jury")
    assert page.locator("html").get_attribute("lang") == "en"

    # the switch in the header: the page comes back in Korean, and Korean is now her language
    page.get_by_label("Language").select_option("ko")
    page.get_by_role("button", name="Change").click()
    page.wait_for_url(f"{base}/jury")
    assert page.locator("html").get_attribute("lang") == "ko"
    main = page.locator("main").inner_text()
    assert "나의 심사 배정" in main and "1건 중 0건 평가 완료" in main
    with review.db.session() as s:
        assert s.get(Juror, served["juror"]).language == "ko"  # her emails follow it
    assert axe_violations(page) == []

    page.get_by_role("link", name="Hydrogen buses for the harbour").click()
    assert "결선 진출작 선정: 나의 점수" in page.locator("main").inner_text()
    # each box is labelled with its criterion; what the call says (titles, guidance) stays as given
    page.get_by_label("Problem recognition and innovation: 점수 (0–10)").fill("8")
    page.get_by_label("Problem recognition and innovation: 의견").fill("주민이 만든 대기질 지도가 설득력 있습니다.")
    page.locator("#save-state").filter(has_text=re.compile("저장됨")).wait_for()
    page.get_by_label("Project design: 점수 (0–10)").fill("6.5")
    page.locator("#save-state").filter(has_text="기준 2개 중 2개 평가").wait_for()

    # submitted with a comment missing: the error summary, in Korean, takes focus and leads to the box
    page.get_by_role("button", name="점수 제출").click()
    summary = page.locator("#error-summary")
    summary.wait_for()
    assert "다음 항목을 확인하십시오" in summary.inner_text()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    summary.get_by_role("link", name="Project design, 의견: 의견을 작성하십시오.").click()
    assert page.evaluate("document.activeElement.id") == "comment-design"
    assert axe_violations(page) == []
    width, inner = browser.desktop_and_phone(page, "review-juror-scoring-ko")
    assert width <= inner  # on a phone: no sideways scroll, Korean included

    page.keyboard.type("설계는 타당하나 연료 공급이 위험 요소입니다.")
    page.get_by_role("button", name="점수 제출").click()
    page.wait_for_url(f"{base}/jury")
    main = page.locator("main").inner_text()
    assert "점수를 제출했습니다. 감사합니다." in main and "1건 중 1건 평가 완료" in main and "제출 완료" in main
    assert page.locator("html").get_attribute("lang") == "ko"
    browser.screenshot(page, "review-juror-done-ko")
