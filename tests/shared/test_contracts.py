"""Event contracts: producers validate strictly, consumers read leniently.

Every (type, version) in shared/events is exercised: a valid payload goes through
make_event → to_message → JSON → parse_message unchanged; bad payloads are refused by
make_event with an error naming the field; parse_message ignores what it does not know but
refuses a broken envelope.
"""
from __future__ import annotations

import copy
import json
import uuid
from datetime import datetime, timezone

import pytest
from marshmallow import fields

from shared.events import (CONTRACTS, EnvelopeSchema, Event, ValidationError, contract_for, json_safe, make_event,
                           parse_message)

APP_ID = "5d0c5a4e-4a47-4c55-9d59-5cf1a2b1c001"
CALL_ID = "5d0c5a4e-4a47-4c55-9d59-5cf1a2b1c002"
APPLICANT_ID = "5d0c5a4e-4a47-4c55-9d59-5cf1a2b1c003"
EVENT_ID = "5d0c5a4e-4a47-4c55-9d59-5cf1a2b1c004"
JUROR_ID = "5d0c5a4e-4a47-4c55-9d59-5cf1a2b1c005"
WHEN = "2026-03-01T09:30:00+00:00"

APPLICANT = {
    "id": APPLICANT_ID, "type": "city_government", "organisation": "Kaohsiung City Government",
    "country": "TW", "city": "高雄 Kaohsiung", "contact_name": "Lin Mei-hua",
    "contact_email": "mei.lin@kcg.example.tw", "secondary_email": None, "language": "en",
}

GUEST = {
    "application_id": APP_ID, "reference": "SSCP-2026-ABC234", "call_id": CALL_ID, "year": 2026,
    "name": "Lin Mei-hua", "email": "mei.lin@kcg.example.tw", "language": "ko",
    "organisation": "Kaohsiung City Government 高雄市政府", "title": "Hydrogen buses for the harbour",
    "ceremony": {"starts_at": WHEN, "time_zone": "Asia/Seoul", "venue": "COEX, Seoul", "address": "513 Yeongdong-daero",
                 "details": "", "rsvp_by": WHEN},
    "url": "http://127.0.0.1:8001/portal/applications/" + APP_ID + "/ceremony",
}

PROSPECT_ID = "5d0c5a4e-4a47-4c55-9d59-5cf1a2b1c006"
OUTREACH = {
    "prospect_id": PROSPECT_ID, "call_id": CALL_ID, "year": 2026, "email": "mei.lin@kcg.example.tw",
    "name": "Lin Mei-hua", "organisation": "Kaohsiung City Government", "language": "ko", "closes_at": WHEN,
    "time_zone": "Asia/Seoul", "url": "http://127.0.0.1:8001/portal/register?invitation=abc",
}

EVENT_GUEST = {
    "invitation_id": EVENT_ID, "edition_event_id": APP_ID, "call_id": CALL_ID, "year": 2026,
    "kind": "mayors_forum", "event_name": "Mayors Forum 2026", "invitee": "prospect", "prospect_id": APPLICANT_ID,
    "applicant_id": None, "name": "Zofia Wiśniewska", "email": "zofia@lublin.example.pl", "language": "pt",
    "organisation": "Urząd Miasta Lublin", "event": GUEST["ceremony"], "max_delegates": 3,
    "url": "http://127.0.0.1:8001/events/rsvp/abc123",
}

VALID = {
    "call.opened": {
        "call_id": CALL_ID, "year": 2026, "theme": "Smart cities for everyone",
        "opens_at": "2026-01-01T00:00:00+09:00", "closes_at": "2026-07-14T18:00:00+09:00",
        "time_zone": "Asia/Seoul", "score_min": 1, "score_max": 10,
        "categories": [{"key": "leadership", "title": "Leadership", "applicant_types": ["individual"],
                        "criteria": [{"key": "vision", "title": "Vision", "weight": 1.5}]}],
    },
    "applicant.registered": {**APPLICANT, "registered_at": WHEN},
    "applicant.updated": {**APPLICANT, "updated_at": WHEN, "changes": ["language", "secondary_email"],
                          "application_ids": [APP_ID]},
    "application.submitted": {
        "application_id": APP_ID, "reference": "SSCP-2026-ABC234", "call_id": CALL_ID,
        "year": 2026, "category": "tech_innovacity", "title": "Hydrogen buses for the harbour",
        "summary": "Clean mobility for 高雄.", "submitted_at": WHEN, "applicant": dict(APPLICANT),
    },
    "application.withdrawn": {
        "application_id": APP_ID, "reference": "SSCP-2026-ABC234", "reason": "merged with another entry",
        "withdrawn_at": WHEN,
    },
    "application.screened": {
        "application_id": APP_ID, "reference": "SSCP-2026-ABC234", "eligible": False,
        "reason": "not a city", "screened_at": WHEN,
    },
    "email.sent": {
        "delivery_key": f"{EVENT_ID}:submission_ack:mei.lin@kcg.example.tw", "event_id": EVENT_ID,
        "template": "submission_ack", "recipient": "mei.lin@kcg.example.tw",
        "provider_message_id": "<abc@mail>", "sent_at": WHEN,
    },
    "email.failed": {
        "delivery_key": f"{EVENT_ID}:submission_ack:mei.lin@kcg.example.tw", "event_id": EVENT_ID,
        "template": "submission_ack", "recipient": "mei.lin@kcg.example.tw",
        "error": "550 mailbox unavailable", "permanent": True, "failed_at": WHEN,
    },    "signin.requested": {
        "applicant_id": APPLICANT_ID, "email": "mei.lin@kcg.example.tw", "contact_name": "Lin Mei-hua",
        "language": "en", "purpose": "api", "url": "http://127.0.0.1:8001/api/signin/token",
        "code": "s3cr3t-one-time-code", "expires_at": WHEN,
    },
    "application.advanced": {"application_id": APP_ID, "reference": "SSCP-2026-ABC234", "round": "finalist", "decided_at": WHEN},
    "application.eliminated": {"application_id": APP_ID, "reference": "SSCP-2026-ABC234", "round": "finalist", "decided_at": WHEN},
    "award.decided": {"application_id": APP_ID, "reference": "SSCP-2026-ABC234", "outcome": "winner", "award": "Grand Prize",
                      "decided_at": WHEN},
    "results.released": {"application_id": APP_ID, "round": "award", "released_at": WHEN},
    "juror.invited": {"juror_id": JUROR_ID, "name": "Dr. Ana Souza", "email": "ana.souza@usp.example.br",
                      "language": "en", "organisation": "Universidade de São Paulo",
                      "url": "http://127.0.0.1:8002/signin/abc", "expires_at": WHEN},
    "review.assigned": {"juror_id": JUROR_ID, "name": "Dr. Ana Souza", "email": "ana.souza@usp.example.br",
                        "language": "ko", "round": "finalist", "call_id": CALL_ID, "year": 2026, "due_at": WHEN,
                        "applications": [{"application_id": APP_ID, "reference": "SSCP-2026-ABC234",
                                          "title": "Hydrogen buses for the harbour", "category": "tech_innovacity"}],
                        "url": "http://127.0.0.1:8002/jury"},
    "review.reminder": {"juror_id": JUROR_ID, "name": "Dr. Ana Souza", "email": "ana.souza@usp.example.br",
                        "language": "ko", "round": "finalist", "call_id": CALL_ID, "year": 2026, "due_at": WHEN,
                        "reminder": "3d", "pending": 1,
                        "applications": [{"application_id": APP_ID, "reference": "SSCP-2026-ABC234",
                                          "title": "Hydrogen buses for the harbour", "category": "tech_innovacity"}],
                        "url": "http://127.0.0.1:8002/jury"},
    "application.draft_reminder": {
        "application_id": APP_ID, "reference": "SSCP-2026-ABC234", "call_id": CALL_ID, "year": 2026,
        "category": "tech_innovacity", "title": "Hydrogen buses for the harbour", "name": "Lin Mei-hua",
        "email": "mei.lin@kcg.example.tw", "language": "ko", "closes_at": WHEN, "time_zone": "Asia/Seoul",
        "reminder": "7d", "missing": [{"key": "documents.application_form", "title": "Application form (PDF)",
                                       "over_limit": False}],
        "url": "http://127.0.0.1:8001/portal/applications/" + APP_ID},
    "review.submitted": {"assignment_id": EVENT_ID, "application_id": APP_ID, "juror_id": JUROR_ID,
                         "round": "finalist", "submitted_at": WHEN},
    "ceremony.invited": {**GUEST, "basis": "finalist", "invited_at": WHEN},
    "ceremony.rsvp_received": {
        **GUEST, "attending": True, "revision": 1, "answered_at": WHEN, "visa_letter": True,
        "visa_details": "LIN MEI-HUA, Taiwan", "accessibility": "wheelchair access",
        "delegates": [{"name": "Lin Mei-hua", "role": "Director", "email": "mei.lin@kcg.example.tw"}],
        "substitute": {"name": "Chen Wei", "role": "Deputy director", "email": None}},
    "ceremony.rsvp_reminder": {**GUEST, "reminder": "1d"},
    "ceremony.changed": {**GUEST, "changes": ["venue", "starts_at"]},
    "event.invited": {**EVENT_GUEST, "invited_at": WHEN, "invited_by": "Seo Yuna <seo.yuna@wego.example>"},
    "event.rsvp_received": {
        **EVENT_GUEST, "attending": True, "revision": 2, "answered_at": WHEN, "visa_letter": False,
        "delegates": [{"name": "Zofia Wiśniewska", "role": "Deputy mayor", "email": None}], "substitute": None},
    "staff.changed": {"staff_id": JUROR_ID, "email": "ada@wego.example", "name": "Ada Admin", "language": "en",
                      "role": "admin", "active": True, "version": 1, "changed_by": "operator root"},
    "staff.token_changed": {"token_id": EVENT_ID, "staff_id": JUROR_ID, "name": "export script",
                            "token_hash": "a" * 64, "expires_at": WHEN, "revoked": False},
    "staff.signed_out": {"staff_id": JUROR_ID, "family": EVENT_ID},
    "message.requested": {"message_id": EVENT_ID, "year": 2026, "audience": "finalists",
                          "requested_by": "secretariat:Kim Ji-won <kim@wego.example>"},
    "message.addressed": {"message_id": EVENT_ID, "audience": "drafts", "part": 1, "parts": 1, "refused": None,
                          "recipients": [{"email": "mei.lin@kcg.example.tw", "name": "Lin Mei-hua",
                                          "organisation": "Kaohsiung City Government",
                                          "reference": "SSCP-2026-ABC234", "language": "ko",
                                          "application_id": APP_ID}]},
    "applicant.erased": {"applicant_id": APPLICANT_ID, "applicant_type": "city_government",
                         "application_ids": [APP_ID], "request_id": EVENT_ID, "erased_at": WHEN,
                         "applications": [{"application_id": APP_ID, "title": "Hydrogen buses for the harbour",
                                           "summary": "Clean mobility for 高雄.", "answers": {"problem": "Buses."},
                                           "project": {"location": "高雄", "start_date": "2024-01",
                                                       "budget": "", "partners": ""}}]},
    # --- outreach (issue 17, invitations lane) ---
    "outreach.invited": {**OUTREACH, "invitation_id": EVENT_ID, "expires_at": WHEN,
                         "invited_by": "secretariat:Kim Ji-won <kim@wego.example>"},
    "outreach.reminder": {**OUTREACH, "reminder": "14d", "stage": "not_registered"},
    "outreach.opted_out": {"prospect_id": PROSPECT_ID, "email": "mei.lin@kcg.example.tw", "opted_out_at": WHEN,
                           "by": "secretariat:Kim Ji-won <kim@wego.example>"},
    "address.opted_out": {"email": "mei.lin@kcg.example.tw", "opted_out_at": WHEN,
                          "template": "outreach_invitation"},
}

# For each type: a required field, a field and a value of the wrong type, and an enum field
# (OneOf) with a value outside it, or a constrained field with a value the constraint refuses.
REQUIRED = {
    "call.opened": "closes_at", "applicant.registered": "contact_email", "applicant.updated": "application_ids",
    "application.submitted": "applicant", "application.withdrawn": "withdrawn_at",
    "application.screened": "eligible", "email.sent": "recipient", "email.failed": "permanent",
    "signin.requested": "url",
    "application.advanced": "decided_at", "application.eliminated": "application_id",
    "award.decided": "outcome", "results.released": "round",
    "juror.invited": "url", "review.assigned": "applications", "review.submitted": "juror_id",
    "review.reminder": "due_at", "application.draft_reminder": "closes_at",
    "ceremony.invited": "basis", "ceremony.rsvp_received": "attending", "ceremony.rsvp_reminder": "ceremony",
    "ceremony.changed": "changes",
    "event.invited": "invited_by", "event.rsvp_received": "attending",
    "staff.changed": "version", "staff.token_changed": "token_hash", "staff.signed_out": "family",
    "message.requested": "audience", "message.addressed": "recipients",
    "applicant.erased": "application_ids",
    "outreach.invited": "invitation_id", "outreach.reminder": "stage", "outreach.opted_out": "email",
    "address.opted_out": "opted_out_at",
}
WRONG_TYPE = {
    "call.opened": ("year", "2026"), "applicant.registered": ("registered_at", 17),
    "applicant.updated": ("application_ids", APP_ID),
    "application.submitted": ("application_id", "not-a-uuid"),
    "application.withdrawn": ("reason", ["a", "list"]),
    "application.screened": ("eligible", "perhaps"), "email.sent": ("event_id", 42),
    "email.failed": ("permanent", {"a": 1}),
    "signin.requested": ("expires_at", "tomorrow"),
    "application.advanced": ("decided_at", 3), "application.eliminated": ("application_id", "x"),
    "award.decided": ("award", ["a"]), "results.released": ("released_at", "soon"),
    "juror.invited": ("expires_at", "next week"), "review.assigned": ("year", "2026"),
    "review.submitted": ("submitted_at", 5), "review.reminder": ("pending", "3"),
    "application.draft_reminder": ("missing", "documents.application_form"),
    "ceremony.invited": ("invited_at", "soon"), "ceremony.rsvp_received": ("delegates", "Lin Mei-hua"),
    "ceremony.rsvp_reminder": ("year", "2026"),
    "ceremony.changed": ("changes", "venue"),
    "event.invited": ("max_delegates", "3"), "event.rsvp_received": ("delegates", "Zofia"),
    "staff.changed": ("active", "perhaps"), "staff.token_changed": ("expires_at", "soon"),
    "staff.signed_out": ("family", 7),
    "message.requested": ("year", "2026"), "message.addressed": ("part", "one"),
    "applicant.erased": ("application_ids", APP_ID),
    "outreach.invited": ("expires_at", "in a month"), "outreach.reminder": ("year", "2026"),
    "outreach.opted_out": ("opted_out_at", "today"), "address.opted_out": ("email", 42),
}
BAD_ENUM = {
    "call.opened": ("categories", [{**VALID["call.opened"]["categories"][0], "key": "best_city"}]),
    "applicant.registered": ("type", "ngo"),
    "applicant.updated": ("changes", ["country"]),
    "application.submitted": ("category", "best_city"),
    "application.withdrawn": ("reason", "x" * 2001),
    "application.screened": ("reason", "x" * 2001),
    "email.sent": ("recipient", "not an address"),
    "email.failed": ("error", "x" * 2001),
    "signin.requested": ("purpose", "telepathy"),
    "application.advanced": ("round", "semifinal"), "application.eliminated": ("round", "semifinal"),
    "award.decided": ("outcome", "runner_up"), "results.released": ("round", "screening"),
    "juror.invited": ("language", "klingon"), "review.assigned": ("applications", []),
    "review.submitted": ("round", "screening"), "review.reminder": ("pending", 0),
    "application.draft_reminder": ("category", "best_city"),
    "ceremony.invited": ("basis", "guest_of_honour"), "ceremony.rsvp_received": ("revision", 0),
    "ceremony.rsvp_reminder": ("reminder", "2w"),
    "ceremony.changed": ("changes", ["dress_code"]),
    "event.invited": ("kind", "garden_party"), "event.rsvp_received": ("invitee", "juror"),
    "staff.changed": ("role", "superuser"), "staff.token_changed": ("token_hash", "not-a-sha-256"),
    "staff.signed_out": ("family", "x" * 37),
    "message.requested": ("audience", "everyone"),
    "message.addressed": ("recipients", [{"email": "a@city.example", "language": "en"}] * 201),
    "applicant.erased": ("applicant_type", "person"),
    "outreach.invited": ("language", "klingon"), "outreach.reminder": ("stage", "forgotten"),
    "outreach.opted_out": ("email", "not an address"), "address.opted_out": ("template", "x" * 101),
}
TYPES = sorted(VALID)


def _payload(type_):
    return copy.deepcopy(VALID[type_])


def _data_errors(exc_info) -> dict:
    messages = exc_info.value.messages
    assert list(messages) == ["data"]
    return messages["data"]


def test_contracts_cover_every_registered_event_type():
    contract_for("call.opened", 1)  # loads every producer module
    assert sorted(t for t, _ in CONTRACTS) == TYPES
    assert {v for _, v in CONTRACTS} == {1}


@pytest.mark.parametrize("type_", TYPES)
def test_make_event_valid_payload_is_accepted(type_):
    event = make_event(type_, _payload(type_), producer="test", correlation_id="corr-1")
    assert event.type == type_
    assert event.version == 1
    assert event.routing_key == type_
    assert event.producer == "test"
    assert event.correlation_id == "corr-1"
    # the data is JSON-safe: dumped through the contract
    assert json.loads(json.dumps(event.data)) == event.data


@pytest.mark.parametrize("type_", TYPES)
def test_event_valid_payload_round_trips_through_message(type_):
    event = make_event(type_, _payload(type_), producer="intake", correlation_id="corr-2")
    wire = json.loads(json.dumps(event.to_message()))  # what actually travels
    parsed = parse_message(wire)
    assert isinstance(parsed, Event)
    assert parsed.id == event.id
    assert parsed.type == event.type
    assert parsed.version == event.version
    assert parsed.occurred_at == event.occurred_at
    assert parsed.producer == "intake"
    assert parsed.correlation_id == "corr-2"
    assert parsed.data == contract_for(type_, 1)().load(_payload(type_))
    # and the consumer's view dumps back to exactly what the producer sent
    assert contract_for(type_, 1)().dump(parsed.data) == event.data


def _fields(schema, path=""):
    """Every field of ``schema`` and of the schemas nested in it, with its dotted path."""
    for name, f in schema.fields.items():
        yield f"{path}{name}", f, schema
        inner = [f]
        while inner:
            g = inner.pop()
            if isinstance(g, fields.Nested):
                yield from _fields(g.schema, f"{path}{name}.")
            elif isinstance(g, fields.List):
                inner.append(g.inner)
            elif isinstance(g, fields.Dict) and g.value_field is not None:
                inner.append(g.value_field)


@pytest.mark.parametrize("type_", TYPES)
def test_contract_dump_is_what_make_event_writes_without_it(type_):
    """make_event writes shared.events.json_safe(loaded) instead of schema.dump(loaded): the
    same only while no contract renames a key, hooks into dump or hides a field from one side."""
    schema = contract_for(type_, 1)()
    for path, f, owner in _fields(schema):
        assert f.data_key in (None, f.name), f"{type_}: {path} is renamed"
        assert not (f.load_only or f.dump_only), f"{type_}: {path} is load- or dump-only"
        assert not isinstance(f, (fields.Method, fields.Function)), f"{type_}: {path} is computed"
        hooks = getattr(owner, "_hooks", {})
        assert not any(hooks.get(k) for k in hooks if "dump" in str(k)), f"{type_}: dump hook on {path}"
    loaded = schema.load(_payload(type_))
    assert json_safe(loaded) == schema.dump(loaded)


def test_make_event_without_correlation_id_gets_a_uuid():
    event = make_event("application.screened", _payload("application.screened"), producer="review")
    assert str(uuid.UUID(event.correlation_id)) == event.correlation_id


def test_make_event_optional_fields_take_their_defaults():
    data = _payload("application.withdrawn")
    del data["reason"]
    event = make_event("application.withdrawn", data, producer="intake")
    assert event.data["reason"] == ""


def test_event_to_message_has_every_envelope_field():
    event = make_event("application.screened", _payload("application.screened"), producer="review",
                       correlation_id="c")
    message = event.to_message()
    assert sorted(message) == ["correlation_id", "data", "id", "occurred_at", "producer", "type", "version"]
    assert message["id"] == str(event.id)
    assert datetime.fromisoformat(message["occurred_at"]).utcoffset() == timezone.utc.utcoffset(None)


@pytest.mark.parametrize("type_", TYPES)
def test_make_event_missing_field_is_rejected_naming_it(type_):
    data = _payload(type_)
    field = REQUIRED[type_]
    del data[field]
    with pytest.raises(ValidationError) as exc_info:
        make_event(type_, data, producer="test")
    assert _data_errors(exc_info) == {field: ["Missing data for required field."]}


@pytest.mark.parametrize("type_", TYPES)
def test_make_event_wrong_type_is_rejected_naming_the_field(type_):
    field, value = WRONG_TYPE[type_]
    data = _payload(type_)
    data[field] = value
    with pytest.raises(ValidationError) as exc_info:
        make_event(type_, data, producer="test")
    assert list(_data_errors(exc_info)) == [field]


@pytest.mark.parametrize("type_", TYPES)
def test_make_event_bad_enum_or_constraint_is_rejected_naming_the_field(type_):
    field, value = BAD_ENUM[type_]
    data = _payload(type_)
    data[field] = value
    with pytest.raises(ValidationError) as exc_info:
        make_event(type_, data, producer="test")
    assert list(_data_errors(exc_info)) == [field]


@pytest.mark.parametrize("type_", TYPES)
def test_make_event_unknown_field_is_rejected_naming_it(type_):
    data = _payload(type_)
    data["colour"] = "blue"
    with pytest.raises(ValidationError) as exc_info:
        make_event(type_, data, producer="test")
    assert _data_errors(exc_info) == {"colour": ["Unknown field."]}


def test_make_event_unknown_field_in_nested_applicant_is_rejected():
    data = _payload("application.submitted")
    data["applicant"]["shoe_size"] = 44
    with pytest.raises(ValidationError) as exc_info:
        make_event("application.submitted", data, producer="test")
    assert _data_errors(exc_info) == {"applicant": {"shoe_size": ["Unknown field."]}}


def test_make_event_bad_nested_enum_is_rejected_naming_the_path():
    data = _payload("application.submitted")
    data["applicant"]["language"] = "klingon"
    with pytest.raises(ValidationError) as exc_info:
        make_event("application.submitted", data, producer="test")
    assert list(_data_errors(exc_info)) == ["applicant"]
    assert list(_data_errors(exc_info)["applicant"]) == ["language"]


def test_application_submitted_may_carry_the_status_page_and_only_a_web_address():
    data = _payload("application.submitted")
    data["status_url"] = f"https://apply.example.org/portal/applications/{APP_ID}/status"
    assert make_event("application.submitted", data, producer="test").data["status_url"] == data["status_url"]
    data["status_url"] = "javascript:alert(1)"
    with pytest.raises(ValidationError) as exc_info:
        make_event("application.submitted", data, producer="test")
    assert list(_data_errors(exc_info)) == ["status_url"]


def test_make_event_naive_datetime_is_rejected():
    data = _payload("application.screened")
    data["screened_at"] = "2026-03-01T09:30:00"
    with pytest.raises(ValidationError) as exc_info:
        make_event("application.screened", data, producer="review")
    assert list(_data_errors(exc_info)) == ["screened_at"]


def test_make_event_unknown_type_is_rejected():
    with pytest.raises(ValidationError) as exc_info:
        make_event("application.teleported", {}, producer="test")
    assert list(exc_info.value.messages) == ["type"]


def test_make_event_unknown_version_is_rejected():
    with pytest.raises(ValidationError) as exc_info:
        make_event("application.screened", _payload("application.screened"), producer="test", version=2)
    assert list(exc_info.value.messages) == ["type"]


@pytest.mark.parametrize("data", [None, [], "text", 3])
def test_make_event_non_dict_data_is_rejected(data):
    with pytest.raises(ValidationError) as exc_info:
        make_event("application.screened", data, producer="test")
    assert list(exc_info.value.messages) == ["data"]


def _message(type_="application.screened", **envelope):
    body = make_event(type_, _payload(type_), producer="review", correlation_id="c").to_message()
    body.update(envelope)
    return json.loads(json.dumps(body))


@pytest.mark.parametrize("type_", TYPES)
def test_parse_message_unknown_data_field_is_ignored(type_):
    body = _message(type_)
    body["data"]["added_in_a_later_release"] = {"x": 1}
    parsed = parse_message(body)
    assert "added_in_a_later_release" not in parsed.data
    assert parsed.data == contract_for(type_, 1)().load(_payload(type_))


def test_parse_message_unknown_nested_field_is_ignored():
    body = _message("application.submitted")
    body["data"]["applicant"]["pronouns"] = "she/her"
    parsed = parse_message(body)
    assert "pronouns" not in parsed.data["applicant"]
    assert parsed.data["applicant"]["contact_email"] == "mei.lin@kcg.example.tw"


def test_parse_message_unknown_fields_in_call_categories_and_criteria_are_ignored():
    body = _message("call.opened")
    body["data"]["categories"][0]["budget_cap"] = 100000
    body["data"]["categories"][0]["criteria"][0]["hint"] = "think big"
    parsed = parse_message(body)
    assert parsed.data["categories"] == [{"key": "leadership", "title": "Leadership",
                                          "applicant_types": ["individual"],
                                          "criteria": [{"key": "vision", "title": "Vision", "weight": 1.5}]}]


def test_parse_message_leniency_does_not_make_producers_lenient():
    body = _message("application.submitted")
    body["data"]["applicant"]["pronouns"] = "she/her"
    parse_message(body)
    data = _payload("application.submitted")
    data["applicant"]["pronouns"] = "she/her"
    with pytest.raises(ValidationError) as exc_info:
        make_event("application.submitted", data, producer="intake")
    assert _data_errors(exc_info) == {"applicant": {"pronouns": ["Unknown field."]}}


def test_parse_message_naive_occurred_at_is_read_as_utc():
    parsed = parse_message(_message(occurred_at="2026-03-01T09:30:00"))
    assert parsed.occurred_at == datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)


def test_parse_message_unknown_envelope_field_is_ignored():
    body = _message(trace_parent="00-abc-def-01", priority=5)
    parsed = parse_message(body)
    assert parsed.type == "application.screened"
    assert parsed.correlation_id == "c"


@pytest.mark.parametrize("field", ["id", "type", "version", "occurred_at", "producer", "correlation_id", "data"])
def test_parse_message_missing_envelope_field_is_rejected(field):
    body = _message()
    del body[field]
    with pytest.raises(ValidationError) as exc_info:
        parse_message(body)
    assert exc_info.value.messages == {field: ["Missing data for required field."]}


@pytest.mark.parametrize("field,value", [
    ("id", "not-a-uuid"), ("version", "1"), ("version", 0), ("occurred_at", "yesterday"),
    ("data", [1, 2]), ("data", "text"), ("type", ""), ("producer", None),
])
def test_parse_message_bad_envelope_value_is_rejected(field, value):
    body = _message(**{field: value})
    with pytest.raises(ValidationError) as exc_info:
        parse_message(body)
    assert list(exc_info.value.messages) == [field]


def test_parse_message_unknown_type_is_rejected():
    with pytest.raises(ValidationError) as exc_info:
        parse_message(_message(type="application.teleported"))
    assert list(exc_info.value.messages) == ["type"]


def test_parse_message_unknown_version_is_rejected():
    with pytest.raises(ValidationError) as exc_info:
        parse_message(_message(version=99))
    assert list(exc_info.value.messages) == ["type"]


def test_parse_message_bad_data_is_rejected_naming_the_field():
    body = _message()
    body["data"]["eligible"] = "perhaps"
    with pytest.raises(ValidationError) as exc_info:
        parse_message(body)
    assert list(exc_info.value.messages) == ["eligible"]


def test_parse_message_missing_data_field_is_rejected():
    body = _message()
    del body["data"]["application_id"]
    with pytest.raises(ValidationError) as exc_info:
        parse_message(body)
    assert exc_info.value.messages == {"application_id": ["Missing data for required field."]}


@pytest.mark.parametrize("body", [None, [], ["id"], "a string", b"bytes", 42, 4.2, True])
def test_parse_message_non_dict_body_is_rejected(body):
    with pytest.raises(ValidationError) as exc_info:
        parse_message(body)
    assert exc_info.value.messages == {"_envelope": ["message body is not a JSON object"]}


def test_envelope_schema_lists_the_design_fields():
    assert sorted(EnvelopeSchema().fields) == ["correlation_id", "data", "id", "occurred_at", "producer",
                                               "type", "version"]


def test_signin_requested_reason_is_optional_and_checked():
    data = _payload("signin.requested")
    assert "reason" not in make_event("signin.requested", data, producer="intake").data
    event = make_event("signin.requested", {**data, "reason": "already_registered"}, producer="intake")
    assert event.data["reason"] == "already_registered"
    with pytest.raises(ValidationError) as exc_info:
        make_event("signin.requested", {**data, "reason": "curiosity"}, producer="intake")
    assert list(_data_errors(exc_info)) == ["reason"]


def test_applicant_updated_contact_email_change_names_the_previous_address():
    """Only the secretariat changes the sign-in address; the event then carries the old one, so
    notify can tell both mailboxes. Without such a change the field is absent."""
    data = _payload("applicant.updated")
    assert "previous_contact_email" not in make_event("applicant.updated", data, producer="intake").data
    changed = {**data, "changes": ["contact_email"], "contact_email": "new.officer@kcg.example.tw",
               "previous_contact_email": "mei.lin@kcg.example.tw"}
    event = make_event("applicant.updated", changed, producer="intake")
    assert event.data["previous_contact_email"] == "mei.lin@kcg.example.tw"
    assert event.data["changes"] == ["contact_email"]
    for bad in ({**changed, "previous_contact_email": "not an address"},
                {k: v for k, v in changed.items() if k != "previous_contact_email"},
                {**data, "previous_contact_email": "mei.lin@kcg.example.tw"}):
        with pytest.raises(ValidationError) as exc_info:
            make_event("applicant.updated", bad, producer="intake")
        assert list(_data_errors(exc_info)) == ["previous_contact_email"]
