"""The jury's and the secretariat's pages in a real browser (Playwright + Debian's Chromium): a
juror signs in, scores an application and sees it counted as done; the secretariat closes the
round and sees the finalists."""
from __future__ import annotations

import re
import threading

import pytest
from werkzeug.serving import make_server

from shared.auth import issue_token
from tests.review.test_review_pages import Review
from tests.support import browser
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

DUPLICATE_IDS = """() => { const seen = {}, twice = [];
  document.querySelectorAll('[id]').forEach(e => { if (seen[e.id]) twice.push(e.id); seen[e.id] = 1; });
  return twice; }"""


@pytest.fixture
def contexts(playwright):
    """Two browsers: the juror's and the secretariat's (each keeps its own cookies)."""
    opened = [browser.launch(playwright) for _ in range(2)]
    yield [context.new_page() for context, _ in opened]
    for context, profile in opened:
        browser.close(context, profile)


@pytest.fixture
def review_server(embedded_settings):
    """review served over real HTTP from this process, filled through its event handlers and the
    secretariat's operations: one call, one application, one juror assigned to it."""
    stack = Stack(embedded_settings, services=("review",))
    review = Review(stack.apps["review"])
    call_id = review.open_call()
    application_id = review.submit(call_id, title="Hydrogen buses for the harbour")
    juror_id = review.invite("Ana Souza", "ana@guarulhos.example.br", "BR", "Guarulhos City Hall")
    review.screen_all(call_id)
    round_id = review.open_round(call_id, jurors_per_application=1, advance_per_category=1, min_reviews=1)
    review.assign(round_id)
    server = make_server("127.0.0.1", 0, stack.apps["review"], threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"review": review, "base": f"http://127.0.0.1:{server.server_port}", "juror": juror_id,
           "application": application_id}
    server.shutdown()
    stack.stop()


def test_review_juror_scores_and_the_secretariat_closes_the_round(contexts, review_server):
    juror_page, office_page = contexts
    base, review = review_server["base"], review_server["review"]

    # the juror opens the one-time link of the invitation: signed in, on their assignments
    juror_page.goto(base + review.invitation_path(review_server["juror"]))
    juror_page.get_by_role("button", name="Sign in", exact=True).click()  # opening the link spends nothing
    assert juror_page.url == f"{base}/jury"
    assert "0 of 1 scored" in juror_page.locator("main").inner_text()
    juror_page.get_by_role("link", name="Hydrogen buses for the harbour").click()
    assert "Diesel buses foul the harbour air" in juror_page.locator("main").inner_text()
    assert "Citizens took part in identifying it" in juror_page.locator("aside.rubric").first.inner_text()

    # scores and comments autosave as the juror types
    juror_page.get_by_label("Score (0–10)").first.fill("8")
    juror_page.get_by_label("Comment").first.fill("The residents' air-quality maps make the case.")
    juror_page.locator("#save-state").filter(has_text=re.compile("Saved at")).wait_for()
    juror_page.get_by_label("Score (0–10)").nth(1).fill("6.5")
    juror_page.get_by_label("Comment").nth(1).fill("Sound design; the fuel supply is the risk.")
    juror_page.locator("#save-state").filter(has_text="2 of 2 criteria scored").wait_for()
    assert juror_page.evaluate(DUPLICATE_IDS) == []  # labels and aria references point at one element each
    browser.screenshot(juror_page, "review-juror-scoring")
    juror_page.set_viewport_size({"width": 390, "height": 844})  # a juror on a phone: one column, no sideways scroll
    assert juror_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    browser.screenshot(juror_page, "review-juror-scoring-phone")
    juror_page.set_viewport_size({"width": 1100, "height": 900})
    juror_page.reload()  # what was autosaved is what the server holds
    assert juror_page.get_by_label("Score (0–10)").nth(1).input_value() == "6.5"

    juror_page.get_by_role("button", name="Submit scores").click()
    juror_page.wait_for_url(f"{base}/jury")
    main = juror_page.locator("main").inner_text()
    assert "Scores submitted" in main and "1 of 1 scored" in main and "Submitted" in main
    browser.screenshot(juror_page, "review-juror-done")

    # the secretariat pastes its token once, sees the dashboard and closes the round
    # (staff sign in at intake, not served here: an operator pastes a token on review's own form)
    office_page.goto(f"{base}/secretariat/signin")
    office_page.get_by_label("Secretariat token").fill(issue_token(review.secret, "secretariat", "prize office"))
    office_page.get_by_role("button", name="Sign in").click()
    office_page.wait_for_url(f"{base}/secretariat")
    assert office_page.locator("svg[role=img]").count() >= 3
    assert "1 of 1" in office_page.locator("#progress-finalist").text_content()
    assert office_page.evaluate(DUPLICATE_IDS) == []  # the charts' <title>/<desc> ids included
    browser.screenshot(office_page, "review-secretariat-dashboard")
    office_page.get_by_role("link", name="Close the round").click()  # a look at the cut first
    office_page.locator("#confirm-close").get_by_role("button", name="Close the round").click()
    office_page.locator("#finalists").wait_for()
    assert "Round closed: 1 finalist(s)" in office_page.locator("main").inner_text()
    assert "Hydrogen buses for the harbour" in office_page.locator("#finalists").inner_text()
    browser.screenshot(office_page, "review-secretariat-finalists")


def test_review_secretariat_decides_the_ties_at_the_cut_in_the_browser(contexts, embedded_settings):
    """Two applications with the same score and one place: the closing preview lists the tie with a
    decision each, and closing with those decisions makes the finalist."""
    from services.review.ops import desk, desk_queries
    stack = Stack(embedded_settings, services=("review",))
    review = Review(stack.apps["review"])
    call_id = review.open_call()
    review.submit(call_id, title="Hydrogen buses", country="AU", email="a@ryde.example.au")
    review.submit(call_id, title="Smart street lighting", country="PL", email="b@lublin.example.pl")
    juror = review.invite("Ana Souza", "ana@guarulhos.example.br", "BR")
    review.screen_all(call_id)
    review.assign(review.open_round(call_id, jurors_per_application=1, advance_per_category=1, min_reviews=1))
    with review.db.session() as s:  # the juror's part is tested above: here it is set up through desk
        for item in desk_queries.my_assignments(s, juror)["rounds"][0]["assignments"]:
            state = desk.save_scores(s, juror, item["id"], {"problem": 7, "design": 7},
                                     {"problem": "Good.", "design": "Good."}, item["revision"])
            desk.submit_scores(s, juror, item["id"], state["revision"])
    server = make_server("127.0.0.1", 0, stack.apps["review"], threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        page = contexts[1]
        page.goto(base + "/secretariat/signin")
        page.get_by_label("Secretariat token").fill(issue_token(review.secret, "secretariat", "prize office"))
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="Close the round").click()
        ties = page.locator("#ties-tech_innovacity")  # the closing preview lists the tie, a decision each
        ties.wait_for()
        assert "Tied at the cut" in ties.inner_text()
        browser.screenshot(page, "review-secretariat-ties")
        ties.locator("tr", has_text="Hydrogen buses").get_by_label("Advance", exact=True).check()
        ties.locator("tr", has_text="Smart street lighting").get_by_label("Do not advance").check()
        page.locator("#confirm-close").get_by_role("button", name="Close the round").click()
        page.locator("#finalists").wait_for()
        finalists = page.locator("#finalists").inner_text()
        assert "Hydrogen buses" in finalists and "Smart street lighting" not in finalists
    finally:
        server.shutdown()
        stack.stop()
