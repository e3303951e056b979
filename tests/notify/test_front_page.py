"""notify's `/` (pages/front.py): a page that says what the service is, links to the secretariat's
outbox and templates, the API and health, and says that the unsubscribe links land here; every
link answers, and no database query or cookie for an anonymous visitor."""
from __future__ import annotations

import re

import pytest

from tests.support.links import anonymous_front_page, assert_every_link_answers, follow, main_links
from tests.support.stack import Stack


@pytest.fixture
def stack(embedded_settings):
    s = Stack(embedded_settings, services=("intake", "notify"))  # intake: the staff sign-in
    yield s
    s.stop()


def test_notify_front_page_says_what_it_is_and_every_link_answers(stack):
    r, page = anonymous_front_page(stack, "notify")
    assert "Set-Cookie" not in r.headers
    assert "sends every email" in page and "unsubscribe link" in page
    links = main_links(page)
    assert {"/secretariat/outbox", "/secretariat/templates", "/docs", "/readyz"} <= set(links), links
    assert_every_link_answers(stack, "notify", links)
    url, answer = follow(stack, "notify", "/secretariat/outbox")  # to intake's staff sign-in
    assert url.split("?")[0] == stack.settings.public_url + "/staff/signin" and answer.status_code == 200, url


def test_notify_front_page_links_reach_their_pages_once_signed_in(stack):
    office = stack.apps["notify"].test_client()
    page = office.get("/secretariat/signin").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = office.post("/secretariat/signin", data={"csrf_token": csrf, "token": stack.secretariat_token()})
    assert r.status_code == 303, r.get_data(as_text=True)
    page = office.get("/").get_data(as_text=True)
    assert 'class="staff-bar"' in page  # signed in: the staff bar and the header's links
    for link in main_links(page):
        if link.startswith("/secretariat"):
            url, answer = follow(stack, "notify", link, client=office)
            assert answer.status_code == 200 and url.endswith(link), (link, url, answer.status_code)
