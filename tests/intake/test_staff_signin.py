"""intake's staff sign-in: single sign-on through a real OpenID Connect provider (node's
oidc-provider), the `next` a sign-in goes back to (no CR/LF, no other site), and CSRF and
session fixation on the staff forms."""
from __future__ import annotations

import re

import pytest

from services.intake.ops import staff as staff_ops
from shared.config import load_settings
from tests.conftest import embedded_env
from tests.support.stack import Stack, signin_events


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def sso_intake(tmp_path, oidc_provider):
    # the provider knows one redirect URI, on 127.0.0.1:9: intake's public address in this test
    env = embedded_env(tmp_path / "var", PRIZE_PUBLIC_URL="http://127.0.0.1:9", PRIZE_OIDC_ISSUER=oidc_provider.issuer,
                       PRIZE_OIDC_CLIENT_ID=oidc_provider.client_id,
                       PRIZE_OIDC_CLIENT_SECRET=oidc_provider.client_secret, PRIZE_OIDC_LABEL="WeGO sign-in")
    stack = Stack(load_settings(env), services=("intake",))
    yield stack
    stack.stop()


def test_a_member_signs_in_through_the_organisations_provider(sso_intake, oidc_provider):
    db = sso_intake.apps["intake"].extensions["prize"]["db"]
    staff_ops.add_member(db, "chair@example.org", "Ji-woo Park", "jury_chair", "ko", "operator test")
    browser = sso_intake.apps["intake"].test_client()
    assert "Sign in with WeGO sign-in" in browser.get("/staff/signin").get_data(as_text=True)
    r = browser.get("/staff/oidc/start")
    assert r.status_code == 303 and r.headers["Location"].startswith(oidc_provider.issuer)
    answer = oidc_provider.authorize(r.headers["Location"], login="chair")
    r = browser.get("/staff/oidc/callback", query_string=answer)
    assert r.status_code == 303 and r.headers["Location"] == "/secretariat", r.get_data(as_text=True)
    page = browser.get("/secretariat").get_data(as_text=True)
    assert "Ji-woo Park" in page and "Jury chair" in page
    # the same answer again (a replayed callback) signs nobody in
    other = sso_intake.apps["intake"].test_client()
    r = other.get("/staff/oidc/callback", query_string=answer)
    assert r.status_code == 400 and other.get("/secretariat").status_code == 302


def test_single_sign_on_refuses_an_unverified_address_and_one_without_a_member(sso_intake, oidc_provider):
    browser = sso_intake.apps["intake"].test_client()
    for login, status, words in (("unverified", 403, "not verified"), ("chair", 403, "No active staff account")):
        r = browser.get("/staff/oidc/start")
        answer = oidc_provider.authorize(r.headers["Location"], login=login)
        r = browser.get("/staff/oidc/callback", query_string=answer)
        assert r.status_code == status and words.lower() in r.get_data(as_text=True).lower(), login
        assert browser.get("/secretariat").status_code == 302


def test_no_single_sign_on_without_its_settings(stack):
    browser = stack.clients["intake"]
    assert "Sign in with" not in browser.get("/staff/signin").get_data(as_text=True).split("Operators")[0]
    assert browser.get("/staff/oidc/start").status_code == 404


@pytest.mark.parametrize("wanted", ["/secretariat\r\nSet-Cookie: taken=1", "/secretariat\nX: 1", "https://evil.example/",
                                    "//evil.example/secretariat", "/secretariat/\\\\evil.example"])
def test_a_sign_in_goes_back_only_to_a_page_of_this_site(stack, wanted):
    """Defect: a CR/LF in `next` was a 500 after an operator's sign-in on intake's secretariat page."""
    browser = stack.clients["intake"]
    page = browser.get("/secretariat/signin", query_string={"next": wanted}).get_data(as_text=True)
    r = browser.post("/secretariat/signin", data={"csrf_token": _csrf(page), "token": stack.secretariat_token(),
                                                  "next": wanted})
    assert r.status_code == 303 and r.headers["Location"] == "/secretariat", r.headers.get("Location")
    # and a member's sign-in by link, which keeps the `next` it was asked for
    db = stack.apps["intake"].extensions["prize"]["db"]
    if staff_ops.member_by_email(db, "kim@wego.example") is None:
        staff_ops.add_member(db, "kim@wego.example", "Kim", "secretariat", "en", "operator test")
    member = stack.apps["intake"].test_client()
    page = member.get("/staff/signin", query_string={"next": wanted}).get_data(as_text=True)
    member.post("/staff/signin", data={"csrf_token": _csrf(page), "email": "kim@wego.example"})
    path = signin_events(member, "kim@wego.example")[-1]["url"].split("127.0.0.1:8001", 1)[1]
    page = member.get(path).get_data(as_text=True)
    r = member.post(path, data={"csrf_token": _csrf(page)})
    assert r.status_code == 303 and r.headers["Location"] == "/secretariat", r.headers.get("Location")


def test_staff_forms_need_their_csrf_token_and_a_sign_in_gets_a_new_session(stack):
    db = stack.apps["intake"].extensions["prize"]["db"]
    staff_ops.add_member(db, "ada@wego.example", "Ada", "admin", "en", "operator test")
    browser = stack.clients["intake"]
    fixed = "attacker-chosen-session-value-0123456789abcdef"
    browser.set_cookie("prize_staff_intake", fixed)  # session fixation: a value planted before sign-in
    page = browser.get("/staff/signin").get_data(as_text=True)
    assert browser.post("/staff/signin", data={"csrf_token": "forged", "email": "ada@wego.example"}).status_code == 403
    assert browser.post("/staff/signin", data={"csrf_token": _csrf(page), "email": "ada@wego.example"}).status_code == 202
    path = signin_events(browser, "ada@wego.example")[-1]["url"].split("127.0.0.1:8001", 1)[1]
    assert browser.post(path, data={"csrf_token": "forged"}).status_code == 403  # and the link still works
    r = browser.post(path, data={"csrf_token": _csrf(browser.get(path).get_data(as_text=True))})
    assert r.status_code == 303
    assert browser.get_cookie("prize_staff_intake").value != fixed
    for form, data in (("/secretariat/staff", {"email": "x@wego.example", "name": "X", "role": "admin"}),
                       ("/secretariat/tokens", {"name": "t", "days": "7"}),
                       ("/secretariat/contact-email", {"current_email": "a@b.example"}),
                       ("/staff/signout", {})):
        r = browser.post(form, data={"csrf_token": "forged", **data})
        assert r.status_code == 403, form
    assert browser.get("/secretariat").status_code == 200  # nothing above signed anyone out
    assert staff_ops.member_by_email(db, "x@wego.example") is None
