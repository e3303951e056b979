"""Event envelope and the versioned contracts of every event type.

Contracts live here, one module per producing service. Producers validate strictly
(``unknown=RAISE``); consumers ignore fields they do not know (``unknown=EXCLUDE``), so a
producer may add a field without breaking anyone.
"""
from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from . import intake, notify, outreach, review  # noqa: F401  (each registers its contracts)
from .fast import Unsure, compile_schema
from .registry import CONTRACTS, PRODUCERS, contract_for


class EnvelopeSchema(Schema):
    id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.Length(min=1, max=100))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True, default_timezone=timezone.utc)
    producer = fields.String(required=True, validate=validate.Length(min=1, max=50))
    correlation_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    data = fields.Dict(required=True)


@dataclass(frozen=True)
class Event:
    type: str
    data: dict[str, Any]
    producer: str
    correlation_id: str
    version: int = 1
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    # The W3C trace context its message came with ({"traceparent": ..., "tracestate": ...}), or
    # None; not part of the body (shared/tracing.py).
    trace: dict | None = field(default=None, compare=False, repr=False)

    @property
    def routing_key(self) -> str:
        return self.type

    def to_message(self) -> dict[str, Any]:
        """The JSON body that travels on the broker."""
        return {
            "id": str(self.id),
            "type": self.type,
            "version": self.version,
            "occurred_at": self.occurred_at.isoformat(),
            "producer": self.producer,
            "correlation_id": self.correlation_id,
            "data": self.data,
        }


@functools.lru_cache(maxsize=None)
def _schema(type_: str, version: int, unknown: str) -> Schema:
    # Schemas are stateless once built and cost more to build than to use: build each once.
    return contract_for(type_, version)(unknown=unknown)


_ENVELOPE = EnvelopeSchema(unknown=EXCLUDE)


def json_safe(value):
    """What the contract's ``dump`` gives for data its ``load`` returned: UUIDs as strings,
    dates and times in ISO 8601, the rest as it is; one plain walk instead of a second pass
    through the schema (the submit path builds the largest event at the deadline).

    The same only while contracts declare nothing that makes dump differ from load (renamed
    keys, dump hooks, load- or dump-only fields): tests/unit/test_contracts.py checks every one.
    """
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _PLAIN else json_safe(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _PLAIN else json_safe(v) for v in value]
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


_PLAIN = frozenset((str, int, float, bool, type(None)))


def make_event(type: str, data: dict, *, producer: str, correlation_id: str | None = None,
               version: int = 1) -> Event:
    """Build an event whose data passes its contract strictly (producer side)."""
    schema = _schema(type, version, RAISE)
    try:
        loaded = schema.load(data)
    except ValidationError as exc:
        raise ValidationError({"data": exc.messages}) from None
    return Event(type=type, data=json_safe(loaded), producer=producer, version=version,
                 correlation_id=correlation_id or str(uuid.uuid4()))


def _lenient(schema: Schema) -> Schema:
    """Make ``schema`` and every schema nested in it ignore unknown fields.

    ``unknown=EXCLUDE`` on a schema does not reach its nested schemas (the applicant snapshot,
    a call's categories and criteria), which would otherwise still refuse a field a producer adds.
    """
    schema.unknown = EXCLUDE
    for f in schema.fields.values():
        _lenient_field(f)
    return schema


def _lenient_field(f: fields.Field) -> None:
    if isinstance(f, fields.Nested):
        f.unknown = EXCLUDE
        _lenient(f.schema)
    elif isinstance(f, fields.List):
        _lenient_field(f.inner)
    elif isinstance(f, fields.Tuple):
        for inner in f.tuple_fields:
            _lenient_field(inner)
    elif isinstance(f, fields.Dict) and f.value_field is not None:
        _lenient_field(f.value_field)


@functools.lru_cache(maxsize=None)
def _lenient_schema(type_: str, version: int) -> Schema:
    return _lenient(contract_for(type_, version)(unknown=EXCLUDE))


@functools.lru_cache(maxsize=None)
def _lenient_reader(type_: str, version: int):
    """How the consumer reads a contract's data: compiled (fast.py) when it can be, else the
    schema's load; a value the compiled reading is unsure of is read by the schema, whose
    ValidationError it raises."""
    schema = _lenient_schema(type_, version)
    return _reader(schema, compile_schema(schema))


def _reader(schema: Schema, compiled):
    if compiled is None:
        return schema.load

    def read(data):
        try:
            return compiled(data)
        except Unsure:
            return schema.load(data)
    return read


_read_envelope = _reader(_ENVELOPE, compile_schema(_ENVELOPE))


def parse_message(body: dict, trace: dict | None = None) -> Event:
    """Read an envelope and its data leniently (consumer side); raise ValidationError if bad.

    ``trace``: the trace context of the message (its headers), kept with the event."""
    if not isinstance(body, dict):
        raise ValidationError({"_envelope": ["message body is not a JSON object"]})
    env = _read_envelope(body)
    data = _lenient_reader(env["type"], env["version"])(env["data"])
    return Event(type=env["type"], version=env["version"], id=env["id"],
                 occurred_at=env["occurred_at"], producer=env["producer"],
                 correlation_id=env["correlation_id"], data=data, trace=trace)


__all__ = ["CONTRACTS", "PRODUCERS", "Event", "EnvelopeSchema", "make_event", "parse_message", "contract_for",
           "ValidationError"]
