"""Who may call what: every endpoint of intake, review and notify × every kind of caller.

401 without a token or with a bad or expired one, 403 for a role that may not, 404 when one
applicant asks for another's application (exactly as if it did not exist), and lists that
show an applicant only their own applications.
"""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from services.intake.models import Applicant, Application, Call, outbox
from services.notify.models import Delivery
from services.review.models import Application as ReviewApplication
from shared.auth import SALT, TokenError, issue_token, read_token
from tests.support.stack import KAOHSIUNG, Stack, auth, complete_draft, open_call, register

ANON, JUROR, A, B, SEC = "anonymous", "juror", "applicant A", "applicant B", "secretariat"
BAD = "bad token"
UNKNOWN_ID = "0f0f0f0f-0000-4000-8000-000000000000"
SECRET = "test-secret"  # tests/conftest.py embedded_env


class _SignedLongAgo(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 13 * 3600  # tokens live 12 hours


def _signed(payload, secret=SECRET, signer=TimestampSigner) -> str:
    return URLSafeTimedSerializer(secret, salt=SALT, signer=signer).dumps(payload)


# every one of these must be refused with 401 wherever a token is needed
BAD_AUTHORIZATIONS = {
    "garbage token": "Bearer not-a-token",
    "wrong key": "Bearer " + _signed({"r": "secretariat", "s": "x"}, secret="another-secret"),
    "expired": "Bearer " + _signed({"r": "secretariat", "s": "x"}, signer=_SignedLongAgo),
    "unknown role": "Bearer " + _signed({"r": "admin", "s": "x"}),
    "no subject": "Bearer " + _signed({"r": "secretariat", "s": ""}),
    "not a dict": "Bearer " + _signed(["secretariat", "x"]),
    "tampered": "Bearer " + _signed({"r": "applicant", "s": "x"})[:-2] + "xx",
    "basic scheme": "Basic dXNlcjpwYXNz",
    "empty bearer": "Bearer ",
    "bare token": _signed({"r": "secretariat", "s": "x"}),
}


@pytest.fixture
def stack(embedded_settings):
    s = Stack(embedded_settings)
    yield s
    s.stop()


def _seed_review(stack, call_id) -> str:
    db = stack.apps["review"].extensions["prize"]["db"]
    row_id = str(uuid.uuid4())
    now = datetime.now(timezone.utc)
    with db.session() as s, s.begin():
        s.add(ReviewApplication(id=row_id, reference="SSCP-2026-REVIEW", call_id=call_id,
                                category="tech_innovacity", title="t", summary="s", applicant_type="city_government",
                                organisation="o", country="TW", city="c", contact_email="a@b.example",
                                stage="submitted", submitted_at=now, received_at=now))
    return row_id


def _seed_delivery(stack) -> str:
    db = stack.apps["notify"].extensions["prize"]["db"]
    row_id = str(uuid.uuid4())
    now = datetime.now(timezone.utc)
    with db.session() as s, s.begin():
        s.add(Delivery(id=row_id, key=f"{uuid.uuid4()}:submission_ack:a@b.example", event_id=str(uuid.uuid4()),
                       event_type="application.submitted", correlation_id="c", template="submission_ack",
                       language="en", recipient="a@b.example", subject="s", body_text="t", body_html="h",
                       status="pending", attempts=0, created_at=now, next_attempt_at=now))
    return row_id


@pytest.fixture
def world(stack):
    intake = stack.clients["intake"]
    sec = stack.secretariat_token()
    call = open_call(intake, sec)
    r = intake.post("/api/calls", json={"year": 2027, "theme": "t", "opens_at": "2027-01-01T00:00:00+00:00",
                                        "closes_at": "2027-07-01T00:00:00+00:00"}, headers=auth(sec))
    assert r.status_code == 201
    draft_call = r.get_json()
    a, a_token = register(intake)
    b, b_token = register(intake, organisation="Seongdong-gu Office", country="KR", city="Seoul",
                          contact_email="smart@sd.example.kr")

    def start(token, category="tech_innovacity"):
        r = intake.post("/api/applications", json={"call_id": call["id"], "category": category,
                                                   "title": "Title", "summary": "Summary"}, headers=auth(token))
        assert r.status_code == 201, r.get_json()
        return r.get_json()

    tokens = {ANON: None, A: a_token, B: b_token, SEC: sec,
              JUROR: issue_token(stack.settings.secret_key, "juror", "juror-1")}
    # A's draft is complete (every answer, the application form) so that A may submit it
    a_app = complete_draft(intake, a_token, start(a_token)["id"])
    return SimpleNamespace(stack=stack, intake=intake, call=call, draft_call=draft_call, a=a, b=b,
                           tokens=tokens, a_app=a_app, b_app=start(b_token), start=start,
                           review_app=_seed_review(stack, call["id"]), delivery=_seed_delivery(stack),
                           db=stack.apps["intake"].extensions["prize"]["db"])


def _intake_state(w) -> dict:
    with w.db.session() as s:
        def rows(model):
            return sorted(tuple((c.name, getattr(r, c.key)) for c in model.__table__.columns)
                          for r in s.scalars(select(model)))
        return {"calls": rows(Call), "applicants": rows(Applicant), "applications": rows(Application),
                "outbox": s.scalar(select(func.count()).select_from(outbox))}


_emails = iter(f"new{i}@applicants.example" for i in range(10_000))

# service, method, path (filled from the world), body maker, and the status for each caller.
# Public endpoints do not read the Authorization header at all, so a bad token is ignored there.
# An applicant's bearer token is an opaque intake session: review and notify cannot read it (401).
ENDPOINTS = [
    ("intake", "get", "/api/calls", None,
     {ANON: 200, BAD: 200, JUROR: 200, A: 200, B: 200, SEC: 200}),
    ("intake", "post", "/api/calls",
     lambda w: {"year": 2030, "theme": "t", "opens_at": "2030-01-01T00:00:00+00:00",
                "closes_at": "2030-07-01T00:00:00+00:00"},
     {ANON: 401, BAD: 401, JUROR: 403, A: 403, B: 403, SEC: 201}),
    ("intake", "get", "/api/calls/{call}", None,
     {ANON: 200, BAD: 200, JUROR: 200, A: 200, B: 200, SEC: 200}),
    ("intake", "post", "/api/calls/{draft_call}/open", None,
     {ANON: 401, BAD: 401, JUROR: 403, A: 403, B: 403, SEC: 200}),
    ("intake", "post", "/api/applicants", lambda w: dict(KAOHSIUNG, contact_email=next(_emails)),
     {ANON: 202, BAD: 202, JUROR: 202, A: 202, B: 202, SEC: 202}),
    ("intake", "get", "/api/applicants/me", None,
     {ANON: 401, BAD: 401, JUROR: 403, SEC: 403, A: 200, B: 200}),
    ("intake", "patch", "/api/applicants/me", lambda w: {"city": "高雄 Kaohsiung"},
     {ANON: 401, BAD: 401, JUROR: 403, SEC: 403, A: 200, B: 200}),
    ("intake", "get", "/api/applicants/{a}", None,
     {ANON: 401, BAD: 401, JUROR: 403, SEC: 403, B: 404, A: 200}),
    ("intake", "patch", "/api/applicants/{a}", lambda w: {"contact_name": "Lin Mei-hua 林美華"},
     {ANON: 401, BAD: 401, JUROR: 403, SEC: 403, B: 404, A: 200}),
    ("intake", "put", "/api/applicants/{a}/contact-email",
     lambda w: {"contact_email": next(_emails), "reason": "the officer left the city"},
     {ANON: 401, BAD: 401, JUROR: 403, A: 403, B: 403, SEC: 200}),
    ("intake", "get", "/api/applicants/{a}/contact-email/history", None,
     {ANON: 401, BAD: 401, JUROR: 403, A: 403, B: 403, SEC: 200}),
    ("intake", "get", "/api/applications", None,
     {ANON: 401, BAD: 401, JUROR: 403, A: 200, B: 200, SEC: 200}),
    ("intake", "post", "/api/applications",
     lambda w: {"call_id": w.call["id"], "category": "human_centricity"},
     {ANON: 401, BAD: 401, JUROR: 403, SEC: 403, A: 201, B: 201}),
    ("intake", "get", "/api/applications/{a_app}", None,
     {ANON: 401, BAD: 401, JUROR: 403, B: 404, A: 200, SEC: 200}),
    ("intake", "patch", "/api/applications/{a_app}", lambda w: {"title": "Edited"},
     {ANON: 401, BAD: 401, JUROR: 403, SEC: 403, B: 404, A: 200}),
    ("intake", "post", "/api/applications/{a_app}/submit", None,
     {ANON: 401, BAD: 401, JUROR: 403, SEC: 403, B: 404, A: 200}),
    ("review", "get", "/api/applications", None,
     {ANON: 401, BAD: 401, JUROR: 403, A: 401, B: 401, SEC: 200}),
    ("review", "get", "/api/applications/{review_app}", None,
     {ANON: 401, BAD: 401, JUROR: 403, A: 401, B: 401, SEC: 200}),
    ("review", "get", "/api/calls", None,
     {ANON: 401, BAD: 401, JUROR: 403, A: 401, B: 401, SEC: 200}),
    ("notify", "get", "/api/deliveries", None,
     {ANON: 401, BAD: 401, JUROR: 403, A: 401, B: 401, SEC: 200}),
    ("notify", "get", "/api/deliveries/{delivery}", None,
     {ANON: 401, BAD: 401, JUROR: 403, A: 401, B: 401, SEC: 200}),
]


def _path(w, template):
    return template.format(call=w.call["id"], draft_call=w.draft_call["id"], a_app=w.a_app["id"], a=w.a["id"],
                           review_app=w.review_app, delivery=w.delivery)


def _callers(w):
    """(column, Authorization header or None); every bad variant stands for the BAD column."""
    for column in (ANON, JUROR, A, B, SEC):
        token = w.tokens[column]
        yield column, column, (f"Bearer {token}" if token else None)
    for name, header in BAD_AUTHORIZATIONS.items():
        yield BAD, name, header


@pytest.mark.parametrize("service,method,template,body,expected", ENDPOINTS,
                         ids=[f"{e[0]} {e[1].upper()} {e[2]}" for e in ENDPOINTS])
def test_auth_matrix_endpoint_answers_each_caller_as_expected(world, service, method, template, body, expected):
    client = world.stack.clients[service]
    path = _path(world, template)
    # the refusals first: each must leave intake exactly as it was
    callers = sorted(_callers(world), key=lambda c: expected[c[0]] < 300)
    for column, label, header in callers:
        before = _intake_state(world)
        kwargs = {"json": body(world)} if body else {}
        r = getattr(client, method)(path, headers={"Authorization": header} if header else {}, **kwargs)
        want = expected[column]
        assert r.status_code == want, (label, r.status_code, r.get_data(as_text=True)[:300])
        assert r.mimetype == "application/json", label
        if want >= 400:
            payload = r.get_json()
            assert (payload["code"], isinstance(payload["message"], str)) == (want, True), label
            assert _intake_state(world) == before, label


@pytest.mark.parametrize("label", sorted(BAD_AUTHORIZATIONS))
def test_auth_bad_token_message_says_what_is_wrong(world, label):
    r = world.intake.get("/api/applications", headers={"Authorization": BAD_AUTHORIZATIONS[label]})
    assert r.status_code == 401
    expected = {"expired": "token expired", "basic scheme": "Authorization header must be 'Bearer <token>'",
                "empty bearer": "Authorization header must be 'Bearer <token>'",
                "bare token": "Authorization header must be 'Bearer <token>'"}.get(label, "token invalid")
    assert r.get_json()["message"] == expected


def test_auth_missing_token_message_asks_to_sign_in(world):
    r = world.intake.get("/api/applications")
    assert (r.status_code, r.get_json()["message"]) == (401, "sign-in required: send Authorization: Bearer <token>")


def test_auth_wrong_role_message_names_the_role(world):
    r = world.stack.clients["review"].get("/api/applications", headers=auth(world.tokens[JUROR]))
    assert (r.status_code, r.get_json()["message"]) == (403, "this needs the role secretariat")


def test_auth_other_applicants_application_looks_like_a_missing_one(world):
    b = auth(world.tokens[B])
    theirs = world.intake.get(f"/api/applications/{world.a_app['id']}", headers=b)
    missing = world.intake.get(f"/api/applications/{UNKNOWN_ID}", headers=b)
    assert (theirs.status_code, missing.status_code) == (404, 404)
    assert theirs.get_json()["message"] == f"no application {world.a_app['id']}"
    assert missing.get_json()["message"] == f"no application {UNKNOWN_ID}"
    assert sorted(theirs.get_json()) == sorted(missing.get_json())
    for method, suffix, body in [("patch", "", {"title": "x"}), ("post", "/submit", None)]:
        theirs = getattr(world.intake, method)(f"/api/applications/{world.a_app['id']}{suffix}", json=body, headers=b)
        missing = getattr(world.intake, method)(f"/api/applications/{UNKNOWN_ID}{suffix}", json=body, headers=b)
        assert (theirs.status_code, missing.status_code) == (404, 404)
        assert theirs.get_json()["message"].replace(world.a_app["id"], "ID") == \
            missing.get_json()["message"].replace(UNKNOWN_ID, "ID")


def test_auth_other_applicant_cannot_change_or_submit_it(world):
    b = auth(world.tokens[B])
    world.intake.patch(f"/api/applications/{world.a_app['id']}", json={"title": "Hijacked"}, headers=b)
    world.intake.post(f"/api/applications/{world.a_app['id']}/submit", headers=b)
    mine = world.intake.get(f"/api/applications/{world.a_app['id']}", headers=auth(world.tokens[A])).get_json()
    assert mine == world.a_app
    assert mine["status"] == "draft"


def test_auth_applicant_list_shows_only_their_own_applications(world):
    a_second = world.start(world.tokens[A], "human_centricity")
    a_list = world.intake.get("/api/applications", headers=auth(world.tokens[A])).get_json()
    b_list = world.intake.get("/api/applications", headers=auth(world.tokens[B])).get_json()
    assert [x["id"] for x in a_list] == [world.a_app["id"], a_second["id"]]
    assert [x["id"] for x in b_list] == [world.b_app["id"]]
    assert {x["applicant_id"] for x in a_list} == {world.a["id"]}
    assert {x["applicant_id"] for x in b_list} == {world.b["id"]}


def test_auth_secretariat_list_shows_every_application(world):
    everything = world.intake.get("/api/applications", headers=auth(world.tokens[SEC])).get_json()
    assert sorted(x["id"] for x in everything) == sorted([world.a_app["id"], world.b_app["id"]])


def test_auth_applicant_without_applications_sees_an_empty_list(world):
    _, token = register(world.intake, contact_email="newcomer@city.example")
    r = world.intake.get("/api/applications", headers=auth(token))
    assert (r.status_code, r.get_json()) == (200, [])


def test_auth_token_of_another_deployment_is_refused(world):
    other = issue_token("a-different-deployment", "secretariat", "x")
    r = world.intake.post("/api/calls/{}/open".format(world.draft_call["id"]), headers=auth(other))
    assert (r.status_code, r.get_json()["message"]) == (401, "token invalid")


def test_read_token_accepts_a_fresh_token_and_refuses_an_old_one():
    token = issue_token(SECRET, "applicant", "abc")
    assert read_token(SECRET, token).role == "applicant"
    assert read_token(SECRET, token).subject == "abc"
    old = _signed({"r": "applicant", "s": "abc"}, signer=_SignedLongAgo)
    with pytest.raises(TokenError) as exc_info:
        read_token(SECRET, old)
    assert str(exc_info.value) == "token expired"


def test_issue_token_unknown_role_is_refused():
    with pytest.raises(ValueError):
        issue_token(SECRET, "admin", "x")
