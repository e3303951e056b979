"""review's `/` (pages/front.py): a page that says what the service is and where jurors and the
secretariat go, in the visitor's language, whose every link answers; no database query for an
anonymous visitor. A signed-in juror is offered their assignments instead of the sign-in."""
from __future__ import annotations

import re

import pytest

from tests.review.test_review_pages import Review
from tests.support.links import anonymous_front_page, assert_every_link_answers, follow, main_links
from tests.support.stack import Stack

HANGUL = re.compile("[\uac00-\ud7a3]")


@pytest.fixture
def stack(embedded_settings):
    s = Stack(embedded_settings)  # intake too: the secretariat's link hands over to its staff sign-in
    yield s
    s.stop()


def test_review_front_page_says_what_it_is_and_every_link_answers(stack):
    _, page = anonymous_front_page(stack, "review")
    assert "jurors score the applications" in page and "runs the review rounds" in page
    links = main_links(page)
    assert {"/signin", "/secretariat", "/docs", "/readyz"} <= set(links), links
    assert re.search(r'<a [^>]*href="/signin">Jurors: sign in</a>', page)
    assert re.search(r'<a [^>]*href="/secretariat">Secretariat: staff pages</a>', page)
    assert_every_link_answers(stack, "review", links)
    url, answer = follow(stack, "review", "/secretariat")  # to intake's staff sign-in, which hands back
    assert url.split("?")[0] == stack.settings.public_url + "/staff/signin" and answer.status_code == 200, url


def test_review_front_page_speaks_the_visitors_language(stack):
    client = stack.apps["review"].test_client()
    page = client.get("/", headers={"Accept-Language": "ko-KR,ko;q=0.9"}).get_data(as_text=True)
    assert '<html lang="ko"' in page and HANGUL.search(page)  # the frame's words already translated
    assert 'id="language-switch"' in page  # and the switch, as on the jurors' other pages
    client.set_cookie("prize_lang", "pt")
    assert '<html lang="pt"' in client.get("/", headers={"Accept-Language": "ko"}).get_data(as_text=True)


def test_review_front_page_offers_a_signed_in_juror_their_assignments(stack):
    review = Review(stack.apps["review"])
    juror = review.juror_browser(review.invite("Ana Souza", "ana@guarulhos.example.br", "BR"))
    page = juror.get("/").get_data(as_text=True)
    assert re.search(r'<a [^>]*href="/jury">Your assignments</a>', page) and 'href="/signin"' not in page
    url, answer = follow(stack, "review", "/jury", client=juror)
    assert answer.status_code == 200 and url.endswith("/jury"), url
