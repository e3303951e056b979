"""Text that is not valid UTF-8 gets a 422 naming the field, on every API of intake, review and
notify, before any view runs: a lone surrogate ("\\ud800" in JSON, which Python's parser lets
through as a str that cannot be encoded) anywhere in a body, in a key or a value, however deep;
and a query argument whose percent-encoded bytes are not UTF-8. Nothing is stored.

In-process embedded stack (Flask test clients, SQLite); no workers.
"""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from sqlalchemy import inspect, text

from tests.review.test_review_jury import World
from tests.support.stack import KAOHSIUNG, auth, complete_new_draft, open_call, register

LONE = "Sur\ud800rogate"
NOT_UTF8 = ["must be valid UTF-8 text (a lone surrogate is not)"]
NEW_APPLICANT = dict(KAOHSIUNG, contact_email="innovacion@bogota.example.co")
NEW_CALL = {"year": 2027, "theme": "Cities that listen", "opens_at": "2027-01-01T00:00:00+09:00",
            "closes_at": "2027-07-14T18:00:00+09:00", "time_zone": "Asia/Seoul"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from shared.config import load_settings
    from tests.conftest import embedded_env
    w = World(load_settings(embedded_env(tmp_path_factory.mktemp("text") / "var")),
              services=("intake", "review", "notify"))
    intake = w.stack.clients["intake"]
    sec = w.stack.secretariat_token()
    call = open_call(intake, sec)
    applicant, token = register(intake)
    draft = complete_new_draft(intake, token, call["id"], title="Hydrogen buses", summary="Clean harbour.")
    juror = w.juror()
    review_app = w.application()
    assignment = w.assign(w.round(), review_app, juror)
    yield SimpleNamespace(w=w, intake=intake, review=w.client, notify=w.stack.clients["notify"], sec=sec,
                          call=call, applicant=applicant, token=token, draft=draft, juror=juror,
                          review_app=review_app, assignment=assignment)
    w.stop()


def _endpoints(x):
    """(name, service, method, path, headers, body with LONE in it, the field named in the 422)."""
    app, me = x.draft["id"], x.applicant["id"]
    jury = x.w.token(x.juror)
    return [
        ("sign-in code (anonymous)", "intake", "post", "/api/signin/token", {}, {"token": LONE}, "token"),
        ("sign-in request (anonymous)", "intake", "post", "/api/signin", {},
         {"email": f"a{LONE}@x.example", "purpose": "api"}, "email"),
        ("register (anonymous)", "intake", "post", "/api/applicants", {},
         dict(NEW_APPLICANT, organisation=LONE), "organisation"),
        ("save draft: title", "intake", "patch", f"/api/applications/{app}", auth(x.token),
         {"title": LONE}, "title"),
        ("save draft: an answer", "intake", "patch", f"/api/applications/{app}", auth(x.token),
         {"answers": {"problem": LONE}}, "answers.problem"),
        ("save draft: an answer's key", "intake", "patch", f"/api/applications/{app}", auth(x.token),
         {"answers": {"pro\ud800blem": "x"}}, "answers.pro\\ud800blem"),
        ("save draft: deep in a list", "intake", "patch", f"/api/applications/{app}", auth(x.token),
         {"answers": {"problem": [{"a": ["ok", LONE]}]}}, "answers.problem.0.a.1"),
        ("change own record", "intake", "patch", "/api/applicants/me", auth(x.token), {"city": LONE}, "city"),
        ("change a record by id", "intake", "patch", f"/api/applicants/{me}", auth(x.token),
         {"contact_name": LONE}, "contact_name"),
        ("move a sign-in address", "intake", "put", f"/api/applicants/{me}/contact-email", auth(x.sec),
         {"contact_email": "new@kcg.example.tw", "reason": LONE}, "reason"),
        ("start a document", "intake", "post", f"/api/applications/{app}/documents", auth(x.token),
         {"kind": "supporting_material", "filename": f"{LONE}.pdf", "content_type": "application/pdf", "size": 10}, "filename"),
        ("withdraw", "intake", "post", f"/api/applications/{app}/withdraw", auth(x.token), {"reason": LONE}, "reason"),
        ("create call", "intake", "post", "/api/calls", auth(x.sec), dict(NEW_CALL, theme=LONE), "theme"),
        ("change call", "intake", "patch", f"/api/calls/{x.call['id']}", auth(x.sec),
         {"theme": LONE, "reason": "typo"}, "theme"),
        ("invite juror", "review", "post", "/api/jurors", auth(x.sec),
         {"name": LONE, "email": "new.juror@jury.example.org", "country": "KR"}, "name"),
        ("juror's comment", "review", "patch", f"/api/jury/assignments/{x.assignment}", jury,
         {"revision": 1, "comments": {"problem": LONE}}, "comments.problem"),
        ("juror's conflict", "review", "post", f"/api/jury/applications/{x.review_app}/conflict", jury,
         {"reason": LONE}, "reason"),
        ("juror sign-in code (anonymous)", "review", "post", "/api/signin/token", {}, {"token": LONE}, "token"),
        ("template edition", "notify", "put", "/api/templates/submission_ack/en/editions/2026", auth(x.sec),
         {"text_source": "{% block subject %}Hi{% endblock %}" + LONE, "html_source": "<p>x</p>"}, "text_source"),
    ]


ENDPOINT_NAMES = [e[0] for e in _endpoints(SimpleNamespace(
    draft={"id": ""}, applicant={"id": ""}, call={"id": ""}, token="", sec="", juror="", review_app="",
    assignment="", w=SimpleNamespace(token=lambda _: {})))]


def _stored(x) -> dict:
    """Every row of every table of the three services' databases."""
    out = {}
    for svc, app in x.w.stack.apps.items():
        engine = app.extensions["prize"]["db"].engine
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                out[(svc, table)] = sorted(map(repr, conn.execute(text(f'SELECT * FROM "{table}"')).all()))
    return out


@pytest.mark.parametrize("name", ENDPOINT_NAMES)
def test_api_lone_surrogate_gets_422_naming_the_field(world, name):
    _, service, method, path, headers, body, field = next(e for e in _endpoints(world) if e[0] == name)
    before = _stored(world)
    # json.dumps escapes the surrogate as \ud800: what a client sends, and valid JSON syntax
    r = getattr(world.w.stack.clients[service], method)(path, data=json.dumps(body), headers=headers,
                                                        content_type="application/json")
    assert r.status_code == 422, (r.status_code, r.get_data(as_text=True)[:300])
    answer = r.get_json()
    assert answer["errors"] == {"json": {field: NOT_UTF8}}
    assert answer["message"] == "text must be valid UTF-8 (no lone surrogates)"
    r.get_data().decode("utf-8")  # the answer itself is valid UTF-8
    assert _stored(world) == before


def test_api_surrogate_pair_is_one_character_and_accepted(world):
    # "\ud83d\ude80" is a correct UTF-16 escape of one character (U+1F680), not a lone surrogate
    r = world.intake.patch(f"/api/applications/{world.draft['id']}", data='{"title": "Rocket \\ud83d\\ude80"}',
                           content_type="application/json", headers=auth(world.token))
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["title"] == "Rocket \U0001F680"


@pytest.mark.parametrize("service,path,arg", [
    ("notify", "/api/deliveries", "template"), ("review", "/api/applications", "category"),
    ("review", "/api/conflicts", "juror_id"), ("notify", "/api/suppressions", "reason")])
@pytest.mark.parametrize("raw", ["%ED%A0%80", "%FF", "ab%C3"])
def test_api_query_argument_not_utf8_gets_422_naming_it(world, service, path, arg, raw):
    r = world.w.stack.clients[service].get(f"{path}?limit=5&{arg}={raw}", headers=auth(world.sec))
    assert r.status_code == 422, (r.status_code, r.get_data(as_text=True)[:300])
    assert r.get_json()["errors"] == {"query": {arg: ["must be valid UTF-8 text"]}}


def test_api_query_argument_name_not_utf8_gets_422(world):
    r = world.notify.get("/api/deliveries?x%FFy=1", headers=auth(world.sec))
    assert r.status_code == 422, (r.status_code, r.get_data(as_text=True)[:300])
    assert r.get_json()["errors"] == {"query": {"x\\xffy": ["must be valid UTF-8 text"]}}
    r.get_data().decode("utf-8")
