"""Event envelope and the versioned contracts of every event type.

Contracts live here, one module per producing service. Producers validate strictly
(``unknown=RAISE``); consumers ignore fields they do not know (``unknown=EXCLUDE``), so a
producer may add a field without breaking anyone.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from .registry import CONTRACTS, contract_for


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


def make_event(type: str, data: dict, *, producer: str, correlation_id: str | None = None,
               version: int = 1) -> Event:
    """Build an event whose data passes its contract strictly (producer side)."""
    schema = contract_for(type, version)(unknown=RAISE)
    errors = schema.validate(data)
    if errors:
        raise ValidationError({"data": errors})
    # dump through the schema so dates and UUIDs become JSON-safe strings
    payload = schema.dump(schema.load(data))
    return Event(type=type, data=payload, producer=producer, version=version,
                 correlation_id=correlation_id or str(uuid.uuid4()))


def parse_message(body: dict) -> Event:
    """Read an envelope and its data leniently (consumer side); raise ValidationError if bad."""
    if not isinstance(body, dict):
        raise ValidationError({"_envelope": ["message body is not a JSON object"]})
    env = EnvelopeSchema(unknown=EXCLUDE).load(body)
    schema = contract_for(env["type"], env["version"])(unknown=EXCLUDE)
    data = schema.load(env["data"])
    return Event(type=env["type"], version=env["version"], id=env["id"],
                 occurred_at=env["occurred_at"], producer=env["producer"],
                 correlation_id=env["correlation_id"], data=data)


__all__ = ["CONTRACTS", "Event", "EnvelopeSchema", "make_event", "parse_message", "contract_for",
           "ValidationError"]
