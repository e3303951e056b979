"""Each service's API against its own OpenAPI document, checked by a tool we did not write.

schemathesis reads ``/openapi.json`` of intake, review and notify and, for every operation,
sends generated requests, valid ones and deliberately invalid ones, as each kind of caller:
anonymous, an applicant, a juror and the secretariat. A run fails on any 5xx, on an answer the
document does not describe (status, content type, headers, body), on an invalid request that
is accepted, and on a valid one that is refused, unless the refusal names one of the few rules
listed in STATED_RULES (rules that depend on stored data or compare fields, which OpenAPI 3.0
cannot say).

The number of examples per operation is bounded and the generation derandomized with a fixed
seed, so a run is repeatable and short. Path parameters are half the time the ids of real
objects of the caller's world (an applicant's own draft, a juror's assignment), so requests
reach past the 404 of an unknown id.

Then the document's own statements that schemathesis cannot reach: the error body of a 500 and
a 503, a body marked required that is sent missing.

In-process embedded stack (the Flask apps through WSGI, SQLite); no workers.
"""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from types import SimpleNamespace

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation import GenerationMode
from sqlalchemy.exc import OperationalError

from services.notify.models import Delivery
from shared.auth import issue_token
from tests.review.test_review_jury import World
from tests.support.stack import auth, complete_new_draft, open_call, register, upload_document

SERVICES = ("intake", "review", "notify")
ROLES = ("anonymous", "applicant", "juror", "secretariat")
SEED = 20240611
MAX_EXAMPLES = 25

CONFIG = {
    "seed": SEED,
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "with-security-parameters": False},
    # replaced by valid_request_accepted below, which knows the rules OpenAPI cannot state
    "checks": {"positive_data_acceptance": {"enabled": False},
               # schemathesis's list, and 413: an invalid body past the 1 MB limit (a CSV's text one
               # character too long) is refused for its size before its fields are read
               "negative_data_rejection": {"expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422,
                                                                 428, 429, "5xx"]}},
}

# A valid request (by the document) may still be refused for these reasons, each a rule that
# OpenAPI 3.0 cannot state: (operation, where the error is, what it says).
DATES = "json\\.(opens_at|closes_at|starts_at|rsvp_by)"
_CALL_RULES = [
    ("json.closes_at", "must be after opens_at", "one field against another"),
    ("json.score_max", "must be greater than score_min", "one field against another"),
    (DATES, "Must be greater than or equal to 1999", "a date-time has no bounds in OpenAPI 3.0 (x-minimum says it)"),
    ("json.(categories|documents)", "unique|only once", "uniqueItems compares whole items, not their keys"),
]
_GROUP_WORDING = ("(subject|body)_[a-z]+", "no blank called|only blanks like|or neither|one line",
                  "a wording's blanks are the ones named; a language's subject and text go together")
_SECOND_ADDRESS = ("json.secondary_email", "must differ from the contact email", "one field against another")
STATED_RULES = {
    "POST /api/signin/token": [("", "sign-in code is not valid", "which codes exist is stored data")],
    "POST /api/calls": _CALL_RULES,
    "PATCH /api/calls/{call_id}": _CALL_RULES + [
        ("json.reason", "required once the call is open", "depends on the call's state")],
    "POST /api/calls/{call_id}/exceptions": [
        (DATES, "Must be greater than or equal to 1999", "a date-time has no bounds in OpenAPI 3.0"),
        ("json.applicant_id", "no such applicant", "which applicants exist is stored data")],
    "POST /api/rounds/{round_id}/close": [
        ("json.decisions.*", "Not a valid UUID", "an object's keys have no schema in OpenAPI 3.0")],
    "PUT /api/calls/{call_id}/ceremony": [
        ("json.rsvp_by", "must be before starts_at", "one field against another"),
        ("json.starts_at", "must be in the future", "depends on the time of the request"),
        (DATES, "Must be greater than or equal to 1999", "a date-time has no bounds in OpenAPI 3.0")],
    "POST /api/applicants": [_SECOND_ADDRESS, (
        "json.privacy_consent", "not the privacy notice's current version", "which version is current is stored data")],
    "PUT /api/applications/{application_id}/ceremony": [
        ("json.privacy_consent", "consent to the privacy notice|current version",
         "with a visa letter, unless that version's consent is on record: stored data"),
        ("json\\.substitute(\\..*)?", "", "null or an attendee: OpenAPI 3.0 has no nullable $ref, and the anyOf "
                                           "apispec writes instead lets any object through")],
    "PATCH /api/applicants/me": [_SECOND_ADDRESS],
    "PATCH /api/applicants/{applicant_id}": [_SECOND_ADDRESS],
    "POST /api/applications/{application_id}/documents": [
        ("json.replaces", "no document|the document it replaces", "which documents exist, and their kind, is stored data")],
    "PATCH /api/applications/{application_id}": [
        ("json.answers.*", "not a criterion|Length must be",
         "the criteria are the call's terms (stored data); keys have no schema in 3.0")],
    "PATCH /api/jury/assignments/{assignment_id}": [
        ("json.(scores|comments).*", "", "the criteria are the call's terms (stored data); keys have no schema in 3.0")],
    "POST /api/jury/assignments/{assignment_id}/submit": [
        ("json.(scores|comments).*", "", "every criterion scored and commented: stored data")],
    "POST /api/messages": [_GROUP_WORDING],
    "PATCH /api/messages/{message_id}": [_GROUP_WORDING],
    "POST /api/jurors/import": [
        ("json\\.csv(\\..*)?", "", "a CSV's columns and lines, checked against the jurors: more than a schema")],
    "POST /api/jurors/import/confirm": [
        ("json\\.csv(\\..*)?", "", "a CSV's columns and lines, checked against the jurors: more than a schema")],
    # issue 17: prospects (outreach)
    "POST /api/prospects": [("json.call_id", "no such edition", "which editions exist is stored data")],
    "PATCH /api/prospects/{prospect_id}": [("json.call_id", "no such edition", "which editions exist is stored data")],
    "POST /api/prospects/import": [
        ("json\\.(csv|content_base64|fingerprint|call_id)(\\..*)?", "",
         "a file's encoding, columns and lines, one of csv or content_base64, and the fingerprint of a preview: "
         "more than a schema")],
    "PUT /api/templates/{name}/{language}/editions/{edition}": [
        ("json.(text|html)_source", "", "a Jinja template that renders the email: more than a schema")],
}
EVERY_OPERATION_RULES = [
    (".*\x00.*", "may not contain NUL characters", "an object's keys have no schema in OpenAPI 3.0"),
]
# Refusals that are not a 422 about the body but still belong to the request's meaning.
ACCEPTED_STATUSES = {401, 403, 404, 409, 429}


def _world(tmp_path):
    from shared.config import load_settings
    from tests.conftest import embedded_env
    w = World(load_settings(embedded_env(tmp_path / "var")), services=SERVICES)
    intake = w.stack.clients["intake"]
    sec = w.stack.secretariat_token()
    call = open_call(intake, sec)
    applicant, token = register(intake)
    draft = complete_new_draft(intake, token, call["id"], title="Hydrogen buses", summary="Clean harbour.")
    document = upload_document(intake, token, draft["id"], kind="supporting_material")
    juror = w.juror()
    review_app = w.application()
    round_id = w.round()
    assignment = w.assign(round_id, review_app, juror)
    now = datetime.now(timezone.utc)
    delivery = str(uuid.uuid4())
    with w.stack.apps["notify"].extensions["prize"]["db"].session() as s, s.begin():
        s.add(Delivery(id=delivery, key=f"{uuid.uuid4()}:submission_ack:a@b.example", event_id=str(uuid.uuid4()),
                       event_type="application.submitted", correlation_id="c", template="submission_ack",
                       language="en", recipient="a@b.example", subject="s", body_text="t", body_html="h",
                       status="failed", attempts=8, created_at=now, next_attempt_at=now))
    tokens = {"anonymous": None, "applicant": token, "secretariat": sec,
              "juror": issue_token(w.settings.secret_key, "juror", juror)}
    ids = {"intake": {"call_id": call["id"], "application_id": draft["id"], "applicant_id": applicant["id"],
                      "document_id": document["id"]},
           "review": {"application_id": review_app, "assignment_id": assignment, "round_id": round_id,
                      "juror_id": juror, "call_id": w.call_id},
           "notify": {"delivery_id": delivery, "name": "submission_ack", "language": "en", "edition": 2026,
                      "email": "a@b.example"}}
    return SimpleNamespace(w=w, tokens=tokens, ids=ids)


@pytest.fixture(scope="module")
def figures():
    table = {}
    yield table
    print(f"\nschemathesis {schemathesis.__version__}, seed {SEED}, at most {MAX_EXAMPLES} examples an operation:")
    for (service, role), row in sorted(table.items()):
        print(f"  {service:7} {role:12} {row['operations']:3} operations {row['cases']:5} cases "
              f"{row['failures']} failures")
    for role in ROLES:
        rows = [row for (_, r), row in table.items() if r == role]
        if rows:
            print(f"  {'all':7} {role:12} {sum(r['operations'] for r in rows):3} operations "
                  f"{sum(r['cases'] for r in rows):5} cases {sum(r['failures'] for r in rows)} failures")


@pytest.fixture(params=[(s, r) for s in SERVICES for r in ROLES], ids=lambda p: f"{p[0]}-{p[1]}")
def target(request, tmp_path):
    service, role = request.param
    world = _world(tmp_path)
    yield SimpleNamespace(service=service, role=role, world=world, app=world.w.stack.apps[service],
                          ids=world.ids[service], headers=auth(world.tokens[role]) if world.tokens[role] else {})
    world.w.stop()


def _problems(body) -> list[tuple[str, str]]:
    """(where, message) of each problem an error body names; where is "" for the whole request."""
    if not isinstance(body, dict):
        return [("", str(body))]
    found = []

    def walk(prefix, node):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else str(key), value)
        elif isinstance(node, list) and all(isinstance(m, str) for m in node):
            found.extend((prefix, m) for m in node)
        else:
            found.append((prefix, str(node)))

    if body.get("errors"):
        walk("", body["errors"])
    else:
        found.append(("", str(body.get("message"))))
    return found


class RefusedValidRequest(Failure):
    code = "ST990"
    kind_title = "Valid request refused for a rule the document does not state"


def valid_request_accepted(ctx, response, case):
    """A request valid by the document is not refused, except for a rule in STATED_RULES."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code < 400 \
            or response.status_code >= 500 or response.status_code in ACCEPTED_STATUSES:
        return None
    try:
        body = response.json()
    except ValueError:
        body = response.text
    rules = STATED_RULES.get(case.operation.label, []) + EVERY_OPERATION_RULES
    unstated = [(where, message) for where, message in _problems(body)
                if not any(re.fullmatch(w, where) and re.search(m, message) for w, m, _ in rules)]
    if unstated:
        raise RefusedValidRequest(operation=case.operation.label, message=(
            f"[{response.status_code}] refused for: " + "; ".join(f"{w or 'request'}: {m}" for w, m in unstated)))
    return None


def _strategy(operation, ids):
    """Valid and invalid requests; and as many again with real ids in the path, when all are known."""
    names = [p.name for p in operation.path_parameters]
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
    if names and all(name in ids for name in names):
        real = {name: ids[name] for name in names}
        strategies += [operation.as_strategy(generation_mode=mode, path_parameters=real) for mode in modes]
    return st.one_of(strategies)


def test_api_conforms_to_its_openapi_document(target, figures):
    schema = schemathesis.openapi.from_wsgi("/openapi.json", target.app, config=SchemathesisConfig.from_dict(CONFIG))
    row = figures.setdefault((target.service, target.role), {"operations": 0, "cases": 0, "failures": 0})
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        row["operations"] += 1
        seen = set()

        @seed(SEED)
        @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=_strategy(operation, target.ids))
        def run(case):
            row["cases"] += 1
            try:
                case.call_and_validate(headers=target.headers, additional_checks=[valid_request_accepted])
            except FailureGroup as group:
                row["failures"] += 1
                kinds = tuple(sorted(f.title for f in group.exceptions))
                if kinds not in seen:  # one report per operation and kind of failure
                    seen.add(kinds)
                    failures.append(f"{operation.label}: {group}")

        run()
    print(f"\n{target.service} as {target.role}: {row['operations']} operations, {row['cases']} cases, "
          f"{row['failures']} failures")
    assert not failures, f"{len(failures)} kinds of failure\n" + "\n".join(failures)


# ----- what the document says that generated requests cannot reach ------------------------------

@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = _world(tmp_path_factory.mktemp("documents"))
    yield w
    w.w.stop()


def _document(world, service) -> dict:
    return world.w.stack.clients[service].get("/openapi.json").get_json()


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("status,error", [(500, RuntimeError("a bug")),
                                          (503, OperationalError("SELECT 1", {}, Exception("gone")))])
def test_error_bodies_match_the_documented_error_schema(world, monkeypatch, service, status, error):
    app = world.w.stack.apps[service]
    path = {"intake": "/api/calls", "review": "/api/calls", "notify": "/api/templates"}[service]

    def fail(*args, **kwargs):
        raise error
    monkeypatch.setitem(app.view_functions, next(r.endpoint for r in app.url_map.iter_rules() if r.rule == path), fail)
    r = world.w.stack.clients[service].get(path, headers=auth(world.tokens["secretariat"]))
    assert r.status_code == status
    body = r.get_json()
    assert body["correlation_id"] == r.headers["X-Correlation-ID"]
    error_schema = _document(world, service)["components"]["schemas"]["Error"]
    problems = [e.message for e in jsonschema_rs.validator_for(error_schema).iter_errors(body)]
    assert problems == [], (body, error_schema)


def test_criterion_weight_is_documented_as_more_than_zero(world):
    weight = _document(world, "intake")["components"]["schemas"]["Criterion"]["properties"]["weight"]
    assert weight.get("minimum") == 0 and weight.get("exclusiveMinimum") is True, weight
    body = {"year": 2030, "theme": "t", "opens_at": "2030-01-01T00:00:00+00:00", "closes_at": "2030-06-01T00:00:00+00:00",
            "categories": [{"key": "leadership", "title": "L", "applicant_types": ["individual"],
                            "criteria": [{"key": "a", "title": "A", "weight": 0}]}]}
    r = world.w.stack.clients["intake"].post("/api/calls", json=body, headers=auth(world.tokens["secretariat"]))
    assert r.status_code == 422


def test_start_date_is_documented_as_a_date_or_empty(world):
    start_date = _document(world, "intake")["components"]["schemas"]["ApplicationUpdate"]["properties"]["start_date"]
    validator = jsonschema_rs.validator_for(start_date, validate_formats=True)
    assert [validator.is_valid(v) for v in ("2026-03-01", "", "2026-02-30", "March 2026", "20260301")] == \
        [True, True, False, False, False], start_date


def _no_body_requests(world):
    """(service, method, path, statuses) of each operation whose document says a body is required:
    the status of the request sent without a body by an applicant, a juror and the secretariat,
    the path filled with the ids of real objects."""
    out = []
    for service in SERVICES:
        ids = world.ids[service]
        for path, operations in _document(world, service)["paths"].items():
            for method, operation in operations.items():
                if not isinstance(operation, dict) or not operation.get("requestBody", {}).get("required"):
                    continue
                filled = re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), uuid.uuid4())), path)
                statuses = {role: world.w.stack.clients[service].open(
                    filled, method=method.upper(), headers=auth(world.tokens[role])).status_code
                    for role in ("applicant", "juror", "secretariat")}
                out.append((service, method.upper(), path, statuses))
    return out


def test_a_body_documented_as_required_is_refused_when_missing(world):
    answers = _no_body_requests(world)
    accepted = [a for a in answers if min(a[3].values()) < 400]
    print(f"\n{len(answers)} operations document a required body; {len(accepted)} accepted a request without one")
    assert accepted == [], answers
    assert len(answers) > 10
