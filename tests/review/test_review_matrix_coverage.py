"""Every route of review's API is in an authorisation matrix: the secretariat's
(test_review_secretariat.ENDPOINTS: anonymous 401, applicant and juror 403), the jury's
(test_review_jury_matrix.ENDPOINTS: assigned juror allowed, unassigned and conflicted jurors the
same 404 as a missing id, secretariat and applicant 403, anonymous 401), or the table below. A
new route without a row fails here."""
from __future__ import annotations

import re
import uuid

import pytest

from shared.auth import issue_token
from tests.review import test_review_jury_matrix as jury_matrix
from tests.review import test_review_secretariat as secretariat_matrix
from tests.support.stack import Stack, auth

# The older secretariat reads (services/review/api.py) and the public sign-in routes.
OTHERS = {
    ("get", "/api/applications"): "secretariat",
    ("get", "/api/applications/{application_id}"): "secretariat",
    ("get", "/api/calls"): "secretariat",
    ("post", "/api/signin"): "anyone",
    ("post", "/api/signin/token"): "anyone",
    ("delete", "/api/session"): "signed in",
    ("post", "/api/applications/{application_id}/screening/{decision_id}/undo"): "secretariat",
    ("post", "/api/jury/invitation"): "juror",  # a juror's own answer (tests/review/test_juror_management.py)
}
NAMES = {"{app}": "{application_id}", "{juror}": "{juror_id}", "{round}": "{round_id}", "{call}": "{call_id}",
         "{assignment}": "{assignment_id}", "{doc}": "{document_id}"}


def _template(path: str) -> str:
    path = path.split("?")[0]
    for short, long in NAMES.items():
        path = path.replace(short, long)
    return path


def _routes(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found.add((method.lower(), path))
    return found


@pytest.fixture
def stack(embedded_settings):
    s = Stack(embedded_settings, services=("review",))
    yield s
    s.stop()


def test_every_api_route_is_in_a_matrix(stack):
    covered = {(m, _template(p)) for m, p, _ in secretariat_matrix.ENDPOINTS}
    covered |= {(m, _template(p)) for m, p, *_ in jury_matrix.ENDPOINTS.values()}
    covered |= set(OTHERS)
    routes = _routes(stack.apps["review"])
    assert routes - covered == set(), "routes without an authorisation test"
    assert covered - routes == set(), "matrix rows for routes that no longer exist"


@pytest.mark.parametrize("method,path", [k for k, who in OTHERS.items() if who == "secretariat"])
def test_the_older_secretariat_reads(stack, method, path):
    client, key = stack.clients["review"], stack.settings.secret_key
    path = path.replace("{application_id}", str(uuid.uuid4())).replace("{decision_id}", str(uuid.uuid4()))
    for headers, expected in (({}, 401), (auth(issue_token(key, "applicant", str(uuid.uuid4()))), 403),
                              (auth(issue_token(key, "juror", str(uuid.uuid4()))), 403)):
        r = getattr(client, method)(path, headers=headers)
        assert (r.status_code, r.is_json) == (expected, True)
    r = getattr(client, method)(path, headers=auth(issue_token(key, "secretariat", "kim")))
    assert r.status_code in (200, 404)  # 404: the made-up application id


def test_signing_out_needs_someone_signed_in(stack):
    assert stack.clients["review"].delete("/api/session").status_code == 401
