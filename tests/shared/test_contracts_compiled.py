"""parse_message reads most contracts through shared/events/fast.py's compiled reading; it must
read exactly as marshmallow does: the same data for what marshmallow accepts, and for anything
else marshmallow's own ValidationError (the compiled reading hands every doubt to it).

Each contract's valid payload (test_contracts.VALID), then the same payload with each field,
nested ones too, missing, None, or of another JSON type, or too long: the compiled reader and the
schema's load give the same data or the same error.
"""
from __future__ import annotations

import copy
import json

import pytest

from shared.events import _ENVELOPE, _lenient_reader, _lenient_schema, compile_schema, make_event
from shared.events.fast import Unsure
from tests.shared.test_contracts import TYPES, VALID

ODD_VALUES = [None, 7, -1, 2.5, True, "", "x", "not-a-uuid", "x" * 5001, [], ["x"], {}, {"x": 1},
              "2026-03-01T09:30:00", "2026-03-01T09:30:00+00:00", "someone@example.org", "http://127.0.0.1/x"]


def _wire(type_):
    event = make_event(type_, copy.deepcopy(VALID[type_]), producer="test", correlation_id="c")
    return json.loads(json.dumps(event.to_message()))


def _outcome(read, data):
    try:
        return "ok", read(copy.deepcopy(data))
    except Exception as exc:  # noqa: BLE001 - compared below
        return type(exc).__name__, getattr(exc, "messages", str(exc))


def _variants(data, path=()):
    """(path, a copy of data with the value at path changed or removed), down nested dicts and lists."""
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in list(items):
        if isinstance(data, dict):
            gone = copy.deepcopy(data)
            del gone[key]
            yield path + (key, "missing"), gone
        for odd in ODD_VALUES:
            changed = copy.deepcopy(data)
            changed[key] = odd
            yield path + (key, repr(odd)[:20]), changed
        if isinstance(value, (dict, list)) and value:
            for sub_path, sub in _variants(value, path + (key,)):
                changed = copy.deepcopy(data)
                changed[key] = sub
                yield sub_path, changed


def test_most_contracts_and_the_envelope_are_compiled():
    assert compile_schema(_ENVELOPE) is not None
    compiled = [t for t in TYPES if compile_schema(_lenient_schema(t, 1)) is not None]
    assert len(compiled) >= len(TYPES) - 3, sorted(set(TYPES) - set(compiled))


@pytest.mark.parametrize("type_", TYPES)
def test_the_compiled_reading_gives_what_marshmallow_gives(type_):
    schema = _lenient_schema(type_, 1)
    compiled = compile_schema(schema)
    if compiled is None:  # a schema with hooks (validates_schema): marshmallow reads it, and only it
        assert _lenient_reader(type_, 1) == schema.load
        return
    data = _wire(type_)["data"]
    assert compiled(copy.deepcopy(data)) == schema.load(copy.deepcopy(data))
    seen = 0
    for path, variant in _variants(data):
        assert _outcome(_lenient_reader(type_, 1), variant) == _outcome(schema.load, variant), path
        seen += 1
    assert seen > 20


def test_the_compiled_reading_hands_doubts_over_instead_of_deciding():
    compiled = compile_schema(_lenient_schema("application.submitted", 1))
    data = _wire("application.submitted")["data"]
    for broken in ({**data, "year": "2026"}, {**data, "category": "nope"},
                   {**data, "applicant": {**data["applicant"], "contact_email": "not an address"}},
                   {k: v for k, v in data.items() if k != "reference"}):
        with pytest.raises(Unsure):
            compiled(broken)


def test_the_envelope_is_read_as_marshmallow_reads_it():
    wire = _wire("application.submitted")
    read = compile_schema(_ENVELOPE)
    assert read(copy.deepcopy(wire)) == _ENVELOPE.load(copy.deepcopy(wire))
    for path, variant in _variants({k: v for k, v in wire.items() if k != "data"}):
        variant["data"] = wire["data"]
        try:
            got = ("ok", read(copy.deepcopy(variant)))
        except Unsure:
            got = _outcome(_ENVELOPE.load, variant)
        assert got == _outcome(_ENVELOPE.load, variant), path
