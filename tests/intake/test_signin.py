"""Passwordless sign-in: one-time links and codes, browser sessions, API tokens, CSRF, limits.

Mostly on the embedded stack in this process, reading the link from intake's outbox; the
mailed link is checked once through notify's worker and the mailbox folder, and once end to
end on RabbitMQ + PostgreSQL with a real SMTP server.
"""
from __future__ import annotations

import email
import email.policy
import hashlib
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select, update

from services.intake.accounts import csrf_token, current_session
from services.intake.models import Applicant, Application, Session, SignInLink, outbox
from services.intake.api.schemas import ApplicantOut
from services.intake.ops.applicants import registration_message
from shared.signin import ANONYMOUS_CSRF_COOKIE, new_secret
from tests.support.stack import (KAOHSIUNG, Stack, api_token, auth, open_call, open_signin_link, register,
                                 signin_events, wait_until)

EMAIL = KAOHSIUNG["contact_email"]


def _db(client):
    return client.application.extensions["prize"]["db"]


def _path(url: str) -> str:
    return urlparse(url).path


def _registered(intake, **overrides) -> dict:
    """Register; the answer says nothing of the applicant, so the record is read from the database."""
    body = dict(KAOHSIUNG, **overrides)
    r = intake.post("/api/applicants", json=body)
    assert r.status_code == 202, r.get_json()
    assert r.get_json() == {"message": registration_message(body["contact_email"].lower())}
    with _db(intake).session() as s:
        row = s.scalar(select(Applicant).where(Applicant.contact_email == body["contact_email"].lower()))
        return ApplicantOut().dump(row)


def _browser_link(intake, email_address: str = EMAIL) -> str:
    r = intake.post("/api/signin", json={"email": email_address, "purpose": "browser"})
    assert r.status_code == 202, r.get_json()
    return _path(signin_events(intake, email_address)[-1]["url"])


def _sign_in(intake, email_address: str = EMAIL) -> str:
    """Open a fresh link in this client (its page, then Sign in); return the session cookie it set."""
    r = open_signin_link(intake, _browser_link(intake, email_address))
    assert (r.status_code, r.headers["Location"]) == (303, "/portal"), r.get_data(as_text=True)
    return intake.get_cookie("prize_session").value


def _csrf_of(intake, cookie: str) -> str:
    with _db(intake).session() as s:
        return s.get(Session, hashlib.sha256(cookie.encode()).hexdigest()).csrf_token


def _count(client, model_or_table, *where) -> int:
    with _db(client).session() as s:
        return s.scalar(select(func.count()).select_from(model_or_table).where(*where))


# --- registration and the request for a link ---------------------------------------------------

def test_registration_answers_a_message_and_mails_a_link_instead_of_a_token(intake):
    r = intake.post("/api/applicants", json=dict(KAOHSIUNG, contact_email="Mei.Lin@KCG.example.tw",
                                                 secondary_name="Chen Wei", secondary_email="chen.wei@kcg.example.tw"))
    assert r.status_code == 202
    assert r.get_json() == {"message": f"Check the inbox of {EMAIL}: a sign-in link is on its way to it. "
                                       "It works once, within 15 minutes."}
    body = _registered(intake, contact_email="Mei.Lin@KCG.example.tw")  # again: the same answer
    assert (body["contact_email"], body["secondary_name"]) == (EMAIL, "Chen Wei")
    event, again = signin_events(intake, EMAIL)
    assert (event["purpose"], event["applicant_id"], event["contact_name"]) == ("browser", body["id"], "Lin Mei-hua")
    assert event["url"].startswith("http://127.0.0.1:8001/signin/") and event["code"] is None
    assert "reason" not in event and again["reason"] == "already_registered"
    token = event["url"].rsplit("/", 1)[1]
    with _db(intake).session() as s:
        link = s.scalar(select(SignInLink).where(SignInLink.token_hash == hashlib.sha256(token.encode()).hexdigest()))
        assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()  # only the hash is kept
        expires_in = link.expires_at.replace(tzinfo=timezone.utc) - link.created_at.replace(tzinfo=timezone.utc)
        assert expires_in == timedelta(minutes=15)


def test_signin_answers_the_same_for_an_unknown_address_and_mails_nothing(intake):
    _registered(intake)
    events_before = _count(intake, outbox)
    known = intake.post("/api/signin", json={"email": EMAIL, "purpose": "api"})
    assert _count(intake, outbox) == events_before + 1
    unknown = intake.post("/api/signin", json={"email": "nobody@nowhere.example", "purpose": "api"})
    assert (known.status_code, unknown.status_code) == (202, 202)
    assert known.get_json() == unknown.get_json()
    assert _count(intake, outbox) == events_before + 1  # no event: nobody gets an email
    assert signin_events(intake, "nobody@nowhere.example") == []


def test_signin_with_invalid_input_is_a_422(intake):
    for body in ({}, {"email": "not an address"}, {"email": EMAIL, "purpose": "carrier pigeon"}):
        r = intake.post("/api/signin", json=body)
        assert r.status_code == 422, body
        assert "message" in r.get_json()


@pytest.mark.parametrize("value", ["ftp://prize.example.org", "prize.example.org", "https://", "https://x.example/?a=1"])
def test_public_url_must_be_an_http_address(tmp_path, value):
    from shared.config import ConfigError, load_settings
    from tests.conftest import embedded_env
    with pytest.raises(ConfigError) as exc_info:
        load_settings(embedded_env(tmp_path, PRIZE_PUBLIC_URL=value))
    assert exc_info.value.variable == "PRIZE_PUBLIC_URL"
    settings = load_settings(embedded_env(tmp_path, PRIZE_PUBLIC_URL="https://prize.example.org/portal/"))
    assert settings.public_url == "https://prize.example.org/portal"


# --- browser links and sessions ----------------------------------------------------------------

def test_browser_link_signs_in_once_with_a_hardened_cookie(intake):
    applicant = _registered(intake)
    link = _path(signin_events(intake, EMAIL)[-1]["url"])
    r = open_signin_link(intake, link)
    assert (r.status_code, r.headers["Location"]) == (303, "/portal")
    cookie_header = r.headers["Set-Cookie"]
    assert cookie_header.startswith("prize_session=")
    for attribute in ("HttpOnly", "SameSite=Lax", "Path=/"):
        assert attribute in cookie_header
    assert "Secure" not in cookie_header  # plain http here
    cookie = intake.get_cookie("prize_session").value
    with _db(intake).session() as s:
        row = s.scalar(select(Session))
        assert (row.id_hash, row.kind, row.applicant_id) == (
            hashlib.sha256(cookie.encode()).hexdigest(), "browser", applicant["id"])
    assert intake.get("/api/applications").status_code == 200  # the cookie alone signs in

    for again in (intake.get(link), intake.post(link, data={"csrf_token": _csrf_of(intake, cookie)})):
        assert again.status_code == 410
        assert again.mimetype == "text/html"
        page = again.get_data(as_text=True)
        assert "already been used" in page and 'action="/signin"' in page


def test_browser_cookie_is_secure_over_https(intake):
    _registered(intake)
    r = open_signin_link(intake, _path(signin_events(intake, EMAIL)[-1]["url"]), base_url="https://localhost")
    assert r.status_code == 303
    assert "Secure" in r.headers["Set-Cookie"]


@pytest.mark.parametrize("case", ["expired", "unknown", "api code in a browser", "overlong"])
def test_a_link_that_cannot_sign_in_gets_a_page_not_a_500(intake, case):
    _registered(intake)
    link = _path(signin_events(intake, EMAIL)[-1]["url"])
    if case == "expired":
        with _db(intake).session() as s, s.begin():
            s.execute(update(SignInLink).values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
        expected, words = 410, "expired"
    elif case == "unknown":
        link, expected, words = "/signin/" + "x" * 43, 400, "not valid"
    elif case == "overlong":
        link, expected, words = "/signin/" + "x" * 5000, 400, "not valid"
    else:
        intake.post("/api/signin", json={"email": EMAIL, "purpose": "api"})
        link, expected, words = "/signin/" + signin_events(intake, EMAIL)[-1]["code"], 400, "not valid"
    for r in (intake.get(link), intake.post(link, data=_anonymous_form(intake))):  # the page, and its button
        assert r.status_code == expected
        assert r.mimetype == "text/html"
        assert words in r.get_data(as_text=True)
        assert intake.get_cookie("prize_session") is None
        assert _count(intake, Session) == 0


def _anonymous_form(client) -> dict:
    """What a page of this site posts before sign-in: the double-submit cookie and its field."""
    token = new_secret()
    client.set_cookie(ANONYMOUS_CSRF_COOKIE, token)
    return {"csrf_token": token}


def _spent(client) -> int:
    return _count(client, SignInLink, SignInLink.used_at.is_not(None))


# --- mail scanners open every link: only the Sign in button spends it ---------------------------

def test_opening_a_link_many_times_spends_nothing_and_its_button_signs_in_once(intake):
    """Corporate mail scanners GET every link of an email, often several times, before the
    person clicks it: the GET shows a Sign in button, and only the button's POST spends the link."""
    _registered(intake)
    link = _path(signin_events(intake, EMAIL)[-1]["url"])
    for _ in range(3):
        r = intake.get(link)
        assert (r.status_code, r.mimetype) == (200, "text/html")
        assert (r.headers["Referrer-Policy"], r.headers["Cache-Control"], r.headers["X-Frame-Options"]) == (
            "no-referrer", "no-store", "DENY")
        page = r.get_data(as_text=True)
        assert re.search(r'<form [^>]*method="post"', page) and re.search(r"<button[^>]*>Sign in</button>", page)
        assert not any(c.startswith("prize_session=") for c in r.headers.getlist("Set-Cookie"))
    assert intake.head(link).status_code == 200
    assert (_count(intake, Session), _spent(intake)) == (0, 0)

    r = intake.post(link, data={"csrf_token": _form_token(intake, link)})
    assert (r.status_code, r.headers["Location"]) == (303, "/portal")
    assert (r.headers["Referrer-Policy"], r.headers["Cache-Control"]) == ("no-referrer", "no-store")
    cookie = intake.get_cookie("prize_session").value
    assert intake.get("/api/applications").status_code == 200
    # signed in now, the form carries the session's token
    again = intake.post(link, data={"csrf_token": _csrf_of(intake, cookie)})
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    assert (_count(intake, Session), _spent(intake)) == (1, 1)


def test_the_page_of_a_spent_link_asks_for_a_new_one_with_its_own_form(intake):
    _registered(intake)
    link = _path(signin_events(intake, EMAIL)[-1]["url"])
    assert open_signin_link(intake, link).status_code == 303
    other = intake.application.test_client()  # another browser: not signed in
    page = other.get(link)
    assert page.status_code == 410
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    r = other.post("/signin", data={"email": EMAIL, "csrf_token": token})
    assert r.status_code == 202
    assert len(signin_events(intake, EMAIL)) == 2


def test_the_sign_in_button_needs_the_forms_token_and_its_cookie(intake):
    """Login CSRF: another site must not sign a visitor in as someone else by posting a link it
    holds. Without the double-submit cookie and the field matching it: 403, and nothing is spent."""
    _registered(intake)
    link = _path(signin_events(intake, EMAIL)[-1]["url"])
    token = new_secret()
    refused = [intake.post(link)]  # neither
    intake.delete_cookie(ANONYMOUS_CSRF_COOKIE)  # the 403 page set one, for its own form
    refused.append(intake.post(link, data={"csrf_token": token}))  # a field, no cookie: another site's form
    intake.delete_cookie(ANONYMOUS_CSRF_COOKIE)
    intake.set_cookie(ANONYMOUS_CSRF_COOKIE, token)
    refused.append(intake.post(link, data={"csrf_token": new_secret()}))  # a cookie, another field
    refused.append(intake.post(link, data={}))  # a cookie, no field
    for r in refused:
        assert (r.status_code, r.mimetype) == (403, "text/html")
        assert (r.headers["Referrer-Policy"], r.headers["Cache-Control"]) == ("no-referrer", "no-store")
        assert re.search(r"<button[^>]*>Sign in</button>", r.get_data(as_text=True))  # try again
    assert (_count(intake, Session), _spent(intake), intake.get_cookie("prize_session")) == (0, 0, None)
    again = re.search(r'name="csrf_token" value="([^"]+)"', refused[-1].get_data(as_text=True)).group(1)
    r = intake.post(link, data={"csrf_token": again})  # the 403 page's own button
    assert (r.status_code, r.headers["Location"]) == (303, "/portal")


def test_each_signin_gets_a_new_session_id_and_the_old_one_ends(intake):
    _registered(intake)
    first = _sign_in(intake)
    second = _sign_in(intake)
    assert first != second
    intake.set_cookie("prize_session", first)
    r = intake.get("/api/applications")
    assert r.status_code == 401
    assert intake.get_cookie("prize_session") is None  # the stale cookie is cleared
    intake.set_cookie("prize_session", second)
    assert intake.get("/api/applications").status_code == 200


def test_logout_needs_the_csrf_token_and_ends_the_session(intake):
    _registered(intake)
    cookie = _sign_in(intake)
    assert intake.post("/logout").status_code == 403
    assert intake.get("/api/applications").status_code == 200  # still signed in
    r = intake.post("/logout", data={"csrf_token": _csrf_of(intake, cookie)})
    assert (r.status_code, r.headers["Location"]) == (303, "/")
    assert intake.get_cookie("prize_session") is None
    with _db(intake).session() as s:
        assert s.scalar(select(Session.revoked_at)) is not None
    intake.set_cookie("prize_session", cookie)  # a copy of the old cookie is worth nothing
    assert intake.get("/api/applications").status_code == 401


def test_cookie_requests_that_change_something_need_the_csrf_token(stack, intake):
    call = open_call(intake, stack.secretariat_token())
    _registered(intake)
    cookie = _sign_in(intake)
    body = {"call_id": call["id"], "category": "tech_innovacity", "title": "t", "summary": "s"}
    r = intake.post("/api/applications", json=body)
    assert r.status_code == 403
    assert "CSRF" in r.get_json()["message"]
    r = intake.post("/api/applications", json=body, headers={"X-CSRF-Token": "guess"})
    assert r.status_code == 403
    assert _count(intake, Application) == 0
    r = intake.post("/api/applications", json=body, headers={"X-CSRF-Token": _csrf_of(intake, cookie)})
    assert r.status_code == 201, r.get_json()
    assert intake.get("/api/applications").status_code == 200  # reading needs none


def test_pages_get_csrf_token_and_current_session(stack, intake):
    _registered(intake)
    cookie = _sign_in(intake)
    app = stack.apps["intake"]
    with app.test_request_context("/portal", headers={"Cookie": f"prize_session={cookie}"}):
        assert csrf_token() == _csrf_of(intake, cookie)
        assert current_session().kind == "browser"
        assert app.jinja_env.from_string("{{ csrf_token() }}").render() == _csrf_of(intake, cookie)
    with app.test_request_context("/portal"):
        anonymous = csrf_token()  # before sign-in: a double-submit token, not the session's
        assert current_session() is None and len(anonymous) >= 20 and anonymous != _csrf_of(intake, cookie)


def _form_token(client, path: str) -> str:
    import re
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_signin_page_without_the_form_token_is_refused(intake):
    _registered(intake)
    before = _count(intake, SignInLink)
    r = intake.post("/signin", data={"email": EMAIL})
    assert r.status_code == 403
    assert _count(intake, SignInLink) == before


def test_signin_page_requests_a_link_with_the_same_answer_for_anyone(intake):
    _registered(intake)
    assert intake.get("/signin").status_code == 200
    token = _form_token(intake, "/signin")
    known = intake.post("/signin", data={"email": EMAIL, "csrf_token": token})
    unknown = intake.post("/signin", data={"email": "nobody@nowhere.example", "csrf_token": token})
    assert (known.status_code, unknown.status_code) == (202, 202)
    assert known.get_data() == unknown.get_data()
    assert len(signin_events(intake, EMAIL)) == 2  # registration, then this request


# --- API tokens ----------------------------------------------------------------------------------

def test_api_code_becomes_a_revocable_bearer_token(intake):
    applicant = _registered(intake)
    intake.post("/api/signin", json={"email": EMAIL, "purpose": "api"})
    event = signin_events(intake, EMAIL)[-1]
    assert (event["purpose"], event["url"]) == ("api", "http://127.0.0.1:8001/api/signin/token")
    r = intake.post("/api/signin/token", json={"token": event["code"]})
    assert r.status_code == 201, r.get_json()
    token = r.get_json()["token"]
    assert datetime.fromisoformat(r.get_json()["expires_at"]) > datetime.now(timezone.utc) + timedelta(hours=11)
    assert intake.get("/api/applications", headers=auth(token)).status_code == 200
    again = intake.post("/api/signin/token", json={"token": event["code"]})
    assert (again.status_code, again.get_json()["message"]) == (410, "This sign-in code has already been used: it works only once.")
    with _db(intake).session() as s:
        row = s.scalar(select(Session))
        assert (row.kind, row.applicant_id, row.id_hash) == (
            "api", applicant["id"], hashlib.sha256(token.encode()).hexdigest())

    assert intake.delete("/api/session", headers=auth(token)).status_code == 204
    r = intake.get("/api/applications", headers=auth(token))
    assert (r.status_code, r.get_json()["message"]) == (401, "token invalid")


def test_api_code_refusals(intake):
    _registered(intake)
    browser_token = signin_events(intake, EMAIL)[-1]["url"].rsplit("/", 1)[1]
    r = intake.post("/api/signin/token", json={"token": browser_token})
    assert r.status_code == 400  # a browser link is no API code
    r = intake.post("/api/signin/token", json={"token": "made-up"})
    assert r.status_code == 400
    intake.post("/api/signin", json={"email": EMAIL, "purpose": "api"})
    with _db(intake).session() as s, s.begin():
        s.execute(update(SignInLink).values(expires_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
    r = intake.post("/api/signin/token", json={"token": signin_events(intake, EMAIL)[-1]["code"]})
    assert (r.status_code, r.get_json()["message"]) == (410, "This sign-in code has expired: it works for 15 minutes.")


def test_expired_api_token_and_browser_cookie_as_bearer_are_refused(intake):
    _, token = register(intake)
    with _db(intake).session() as s, s.begin():
        s.execute(update(Session).values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    assert intake.get("/api/applications", headers=auth(token)).status_code == 401
    cookie = _sign_in(intake)
    assert intake.get("/api/applications", headers=auth(cookie)).status_code == 401


def test_register_helper_returns_a_working_token(intake):
    applicant, token = register(intake)
    assert intake.get("/api/applications", headers=auth(token)).status_code == 200
    assert api_token(intake, applicant["contact_email"]) != token  # every sign-in is a new token


def test_delete_session_with_a_signed_secretariat_token_is_refused(stack, intake):
    r = intake.delete("/api/session", headers=auth(stack.secretariat_token()))
    assert r.status_code == 409
    assert intake.delete("/api/session").status_code == 401


def test_delete_session_with_the_cookie_needs_csrf_and_clears_it(intake):
    _registered(intake)
    cookie = _sign_in(intake)
    assert intake.delete("/api/session").status_code == 403
    r = intake.delete("/api/session", headers={"X-CSRF-Token": _csrf_of(intake, cookie)})
    assert r.status_code == 204
    assert intake.get_cookie("prize_session") is None
    intake.set_cookie("prize_session", cookie)
    assert intake.get("/api/applications").status_code == 401


# --- rate limits ---------------------------------------------------------------------------------

@pytest.fixture
def real_limits(stack):
    config = stack.apps["intake"].config
    config.pop("SIGNIN_LIMIT_PER_CLIENT")  # the defaults: 5 per address, 20 per client in 15 minutes
    return config


def test_too_many_links_for_one_address_get_429_whether_registered_or_not(intake, real_limits):
    _registered(intake)  # its link counts: 4 more now
    for address in (EMAIL, "nobody@nowhere.example"):
        for i in range(5 if address != EMAIL else 4):
            r = intake.post("/api/signin", json={"email": address.upper() if i % 2 else address},
                            environ_base={"REMOTE_ADDR": f"10.0.0.{i}"})
            assert r.status_code == 202, (address, i)
        r = intake.post("/api/signin", json={"email": address}, environ_base={"REMOTE_ADDR": "10.0.1.1"})
        assert r.status_code == 429, address
        assert r.mimetype == "application/json"
        assert r.get_json()["message"] == "too many sign-in requests for this address; try again in 15 minutes"
        assert r.headers["Retry-After"] == "900"
    assert len(signin_events(intake, EMAIL)) == 5
    # once the window has passed, the address may ask again
    with _db(intake).session() as s, s.begin():
        s.execute(update(SignInLink).values(created_at=datetime.now(timezone.utc) - timedelta(minutes=16)))
    assert intake.post("/api/signin", json={"email": EMAIL}).status_code == 202


def test_too_many_links_from_one_client_get_429(intake, real_limits):
    for i in range(20):
        r = intake.post("/api/signin", json={"email": f"someone{i}@city.example"})
        assert r.status_code == 202, i
    r = intake.post("/api/signin", json={"email": "one-more@city.example"})
    assert (r.status_code, r.get_json()["message"]) == (
        429, "too many sign-in requests from your network; try again in 15 minutes")
    r = intake.post("/api/applicants", json=KAOHSIUNG)  # registering mails a link too
    assert r.status_code == 429
    r = intake.post("/api/signin", json={"email": "one-more@city.example"},
                    environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert r.status_code == 202  # another client is not held back
    page = intake.post("/signin", data={"email": "page@city.example",
                                        "csrf_token": _form_token(intake, "/signin")})
    assert page.status_code == 429 and page.mimetype == "text/html"


# --- the email -----------------------------------------------------------------------------------

def _link_in(text: str) -> str:
    return re.search(r"https?://\S+/signin/[A-Za-z0-9_-]+", text).group(0)


def test_notify_mails_the_link_and_it_signs_in(embedded_settings):
    stack = Stack(embedded_settings, services=("intake", "notify")).start_workers()
    try:
        intake = stack.clients["intake"]
        _registered(intake, language="ko")
        intake.post("/api/signin", json={"email": EMAIL, "purpose": "api"})
        mailbox = embedded_settings.var_dir / "mailbox"
        files = wait_until(lambda: (lambda f: f if len(f) == 2 else None)(list(mailbox.glob("*signin_link*.eml"))),
                           timeout=60)  # a loaded machine can be slow; arrival, not speed, is tested
        assert files, "no sign-in emails arrived"
        messages = [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]
        texts = {m["Subject"]: m.get_body(preferencelist=("plain",)).get_content() for m in messages}
        browser_text = texts["서울스마트도시상 신청 포털 로그인"]
        api_text = texts["서울스마트도시상 API 로그인 코드"]
        assert "15분" in browser_text
        r = open_signin_link(intake, _path(_link_in(browser_text)))
        assert (r.status_code, r.headers["Location"]) == (303, "/portal")
        code = signin_events(intake, EMAIL)[-1]["code"]
        assert code in api_text
        html = [m.get_body(preferencelist=("html",)).get_content() for m in messages]
        assert all("<html" in h for h in html)
    finally:
        stack.stop()


def test_notify_does_not_mail_a_link_that_expired_on_the_way(embedded_settings):
    stack = Stack(embedded_settings, services=("intake", "notify"))
    try:
        intake = stack.clients["intake"]
        _registered(intake)
        expires_at = signin_events(intake, EMAIL)[0]["expires_at"]
        with _db(intake).session() as s, s.begin():  # the event says the link expired long ago
            row = s.execute(select(outbox.c.seq, outbox.c.body).where(outbox.c.type == "signin.requested")).one()
            s.execute(update(outbox).where(outbox.c.seq == row.seq).values(
                body=row.body.replace(expires_at, "2020-01-01T00:00:00+00:00")))
        stack.start_workers()
        notify_db = stack.apps["notify"].extensions["prize"]["db"]
        from services.notify.models import inbox as notify_inbox
        assert wait_until(lambda: _count_db(notify_db, notify_inbox) == 1)
        assert list((embedded_settings.var_dir / "mailbox").glob("*.eml")) == []
    finally:
        stack.stop()


def _count_db(db, table) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(table))


@pytest.mark.rabbitmq
@pytest.mark.postgres
def test_link_arrives_by_smtp_and_signs_in_on_rabbitmq_and_postgres(tmp_path, pg_database_urls, rabbitmq_url,
                                                                     namespace, smtp_server):
    from shared.config import load_settings
    from tests.conftest import real_env
    settings = load_settings(real_env(tmp_path / "var", pg_database_urls, namespace,
                                      PRIZE_MAIL_URL=smtp_server.url,
                                      PRIZE_PUBLIC_URL="https://prize.example.org/"))
    stack = Stack(settings, services=("intake", "notify")).start_workers()
    try:
        intake = stack.clients["intake"]
        applicant = _registered(intake)
        [message] = smtp_server.wait_for(1)
        assert message["to"] == [EMAIL]
        text = smtp_server.text_of(message["message"])
        link = _link_in(text)
        assert link.startswith("https://prize.example.org/signin/")
        r = open_signin_link(intake, _path(link), base_url="https://prize.example.org")
        assert (r.status_code, r.headers["Location"]) == (303, "/portal")
        assert "Secure" in r.headers["Set-Cookie"]
        assert intake.get(_path(link), base_url="https://prize.example.org").status_code == 410
        with _db(intake).session() as s:
            assert s.scalar(select(Session.applicant_id)) == applicant["id"]
        # and the API path: the code arrives by mail too
        intake.post("/api/signin", json={"email": EMAIL, "purpose": "api"})
        messages = smtp_server.wait_for(2)
        code = re.search(r"one-time code:\s+(\S+)", smtp_server.text_of(messages[1]["message"])).group(1)
        r = intake.post("/api/signin/token", json={"token": code})
        assert r.status_code == 201, r.get_json()
        assert intake.get("/api/applications", headers=auth(r.get_json()["token"])).status_code == 200
    finally:
        stack.stop()
