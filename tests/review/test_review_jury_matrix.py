"""Who may call each jury endpoint: the assigned juror may; an unassigned or conflicted juror gets
the 404 of a nonexistent id; the secretariat and applicants are not jurors (403); nobody signed
in is 401. On both stacks."""
from __future__ import annotations

import json
import uuid

import pytest

from shared.auth import issue_token
from tests.review.test_review_jury import CRITERIA, World
from tests.support.stack import auth


@pytest.fixture(params=["embedded", "real"])
def world(request):
    w = World(request.getfixturevalue(f"{request.param}_settings"))
    yield w
    w.stop()


def _complete(w, juror, assignment):
    return w.save(juror, assignment, 1, scores={c["key"]: 5 for c in CRITERIA},
                  comments={c["key"]: "Reasoned." for c in CRITERIA}).get_json()


# endpoint: (method, path template, body, what to do first, the assigned juror's status)
ENDPOINTS = {
    "list": ("get", "/api/jury/assignments", None, None, 200),
    "application": ("get", "/api/jury/applications/{app}", None, None, 200),
    "document": ("get", "/api/jury/applications/{app}/documents/{doc}", None, None, 302),
    "assignment": ("get", "/api/jury/assignments/{assignment}", None, None, 200),
    "autosave": ("patch", "/api/jury/assignments/{assignment}", {"revision": 1, "scores": {"problem": 4}}, None, 200),
    "submit": ("post", "/api/jury/assignments/{assignment}/submit", None, "complete", 200),
    "peers": ("get", "/api/jury/assignments/{assignment}/peers", None, "submit", 200),
    "conflict": ("post", "/api/jury/applications/{app}/conflict", {"reason": "a former colleague"}, None, 201),
}


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_jury_endpoint_authorisation(world, endpoint):
    method, template, body, before, allowed = ENDPOINTS[endpoint]
    w = world
    rnd, app_id = w.round(), w.application()
    assigned, unassigned = w.juror(), w.juror("Kenji Sato", country="JP")
    conflicted = w.juror("Ewa Kowalska", country="PL")
    w.juror("Spare", country="FR")  # someone to take over after a declared conflict
    mine = w.assign(rnd, app_id, assigned)
    theirs = w.assign(rnd, app_id, conflicted)
    w.conflict(conflicted, app_id, source="email_domain")
    doc = w.client.get(f"/api/jury/applications/{app_id}", headers=w.token(assigned)).get_json()["documents"][0]["id"]
    if before in ("complete", "submit"):
        _complete(w, assigned, mine)
        body = {"revision": 2} if endpoint == "submit" else body
    if before == "submit":
        assert w.submit(assigned, mine).status_code == 200

    def call(headers, assignment):
        path = template.format(app=app_id, doc=doc, assignment=assignment)
        kwargs = {"headers": headers} | ({"json": body} if body is not None else {})
        return getattr(w.client, method)(path, **kwargs)

    def ghost():
        path = template.format(app=uuid.uuid4(), doc=doc, assignment=uuid.uuid4())
        kwargs = {"headers": w.token(unassigned)} | ({"json": body} if body is not None else {})
        return getattr(w.client, method)(path, **kwargs)

    secret = w.settings.secret_key
    assert call({}, mine).status_code == 401
    assert call(auth(issue_token(secret, "applicant", str(uuid.uuid4()))), mine).status_code == 403
    assert call(auth(issue_token(secret, "secretariat", "office")), mine).status_code == 403

    outsider, conflicted_call = call(w.token(unassigned), mine), call(w.token(conflicted), theirs)
    if endpoint == "list":
        for r in (outsider, conflicted_call):
            assert r.status_code == 200 and app_id not in json.dumps(r.get_json())
        assert conflicted_call.get_json()["rounds"] == []
    else:
        nothing = ghost()
        assert nothing.status_code == 404
        for r in (outsider, conflicted_call):
            assert r.status_code == 404, r.get_json()
            assert r.get_json() == nothing.get_json()
        assert [d.reason for d in w.denials(conflicted)] == ["conflicted"]
        assert "not_assigned" in [d.reason for d in w.denials(unassigned)]

    r = call(w.token(assigned), mine)
    assert r.status_code == allowed, r.get_json()
    assert w.denials(assigned) == []
