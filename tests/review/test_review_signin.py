"""Jurors sign in like applicants: the invitation's one-time link opens a session in review,
a new link or an API code can be asked for later, and a deactivated juror gets nothing."""
from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, update

from services.review.models import Juror, outbox, signin_tables
from shared.auth import issue_token
from tests.support.stack import Stack, auth, open_signin_link

JUROR = {"name": "Dr. Ana Souza", "email": "Ana.Souza@usp.example.br", "country": "BR",
         "organisation": "Universidade de São Paulo", "expertise": ["tech_innovacity"], "languages": ["en", "pt"],
         "language": "en"}


@pytest.fixture(params=["embedded", "postgresql"])
def review(request):
    settings = request.getfixturevalue("embedded_settings" if request.param == "embedded" else "real_settings")
    stack = Stack(settings, services=("review",))
    yield stack
    stack.stop()


def events(stack, type_: str) -> list[dict]:
    db = stack.apps["review"].extensions["prize"]["db"]
    with db.engine.connect() as conn:
        bodies = conn.execute(select(outbox.c.body).where(outbox.c.type == type_).order_by(outbox.c.seq)).scalars()
        return [json.loads(b)["data"] for b in bodies]


def invite(stack) -> tuple[dict, str]:
    client = stack.clients["review"]
    sec = auth(issue_token(stack.settings.secret_key, "secretariat", "kim"))
    r = client.post("/api/jurors", headers=sec, json=JUROR)
    assert r.status_code == 201, r.get_json()
    [invitation] = events(stack, "juror.invited")
    return r.get_json(), invitation["url"]


def test_the_invitation_link_signs_the_juror_in_once(review):
    client = review.clients["review"]
    juror, url = invite(review)
    assert url.startswith(f"{review.settings.review_public_url}/signin/")
    r = open_signin_link(client, urlsplit(url).path)
    assert (r.status_code, r.headers["Location"]) == (303, "/jury")
    assert "prize_jury_session=" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
    r = client.get("/api/jury/assignments")  # the session cookie is the juror
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["juror"]["id"] == juror["id"]
    assert client.get(urlsplit(url).path).status_code == 410  # used once


def _sessions(stack) -> int:
    db = stack.apps["review"].extensions["prize"]["db"]
    with db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(signin_tables.sessions)).scalar_one()


def test_a_mail_scanner_opening_the_invitation_leaves_its_link_to_the_juror(review):
    """A juror's mail scanner GETs the invitation's link (several times) before the juror clicks:
    the link shows a Sign in button and stays unspent; a post without the form's CSRF cookie and
    field is refused; the juror's click signs in, once."""
    client = review.clients["review"]
    juror, url = invite(review)
    path = urlsplit(url).path
    scanner = review.apps["review"].test_client()
    for _ in range(3):
        r = scanner.get(path)
        assert r.status_code == 200 and ">Sign in</button>" in r.get_data(as_text=True)
        assert (r.headers["Referrer-Policy"], r.headers["Cache-Control"]) == ("no-referrer", "no-store")
        assert scanner.get_cookie("prize_jury_session") is None
    assert scanner.post(path).status_code == 403  # no cookie, no field
    assert scanner.post(path, data={"csrf_token": "made-up-" + "x" * 40}).status_code == 403
    assert _sessions(review) == 0
    r = open_signin_link(client, path)  # the juror, later
    assert (r.status_code, r.headers["Location"]) == (303, "/jury")
    assert client.get("/api/jury/assignments").get_json()["juror"]["id"] == juror["id"]
    page = scanner.get(path)
    assert page.status_code == 410 and "already been used" in page.get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', scanner.post(path).get_data(as_text=True)).group(1)
    r = scanner.post(path, data={"csrf_token": token})
    assert r.status_code == 410 and scanner.get_cookie("prize_jury_session") is None
    assert _sessions(review) == 1


def test_a_juror_asks_for_a_new_link_or_an_api_code(review):
    client = review.clients["review"]
    juror, _ = invite(review)
    r = client.post("/api/signin", json={"email": "ana.souza@usp.example.br", "purpose": "api"})
    assert r.status_code == 202
    [requested] = events(review, "signin.requested")
    assert (requested["juror_id"], requested["audience"], requested["email"]) == \
        (juror["id"], "juror", "ana.souza@usp.example.br")
    r = client.post("/api/signin/token", json={"token": requested["code"]})
    assert r.status_code == 201, r.get_json()
    token = r.get_json()["token"]
    r = client.get("/api/jury/assignments", headers=auth(token))
    assert (r.status_code, r.get_json()["juror"]["id"]) == (200, juror["id"])
    # the juror's token is no secretariat's
    assert client.get("/api/jurors", headers=auth(token)).status_code == 403
    # and it can be revoked
    assert client.delete("/api/session", headers=auth(token)).status_code == 204
    assert client.get("/api/jury/assignments", headers=auth(token)).status_code == 401


def test_an_unknown_or_deactivated_address_gets_the_same_answer_and_no_link(review):
    client = review.clients["review"]
    juror, _ = invite(review)
    db = review.apps["review"].extensions["prize"]["db"]
    with db.session() as s, s.begin():
        s.execute(update(Juror).where(Juror.id == juror["id"]).values(active=False))
    answers = [client.post("/api/signin", json={"email": email, "purpose": "api"})
               for email in ("ana.souza@usp.example.br", "nobody@example.org")]
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].get_json() == answers[1].get_json()
    assert events(review, "signin.requested") == []


def test_notify_words_a_jurors_link_for_the_jury(embedded_settings):
    from services.notify.ops import templates
    place, site = templates.SIGNIN_PLACES["en"]["juror"]
    subject, text, _ = templates.render("signin_link", "en", {
        "contact_name": "Dr. Ana Souza", "purpose": "browser", "url": "http://127.0.0.1:8002/signin/x",
        "code": "", "minutes": 15, "expires_at": "2026-06-01 09:15 UTC", "place": place, "site": site})
    assert subject == "Sign in to the Seoul Smart City Prize jury pages"
    assert "sign in to the jury's pages" in text and "applicant" not in text
