"""The event catalogue as an AsyncAPI 3.0 document (docs/asyncapi.json), from the same source as
everything else: the contracts (payload schemas, converted from marshmallow by apispec) and the
topology (the exchange, and which service's queue is bound to each type).

Write it again after changing a contract or a binding: ``python -m shared.events.asyncapi``
(tests/unit/test_event_catalogue.py fails while the committed file differs).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from shared import topology

from . import EnvelopeSchema
from .catalogue import catalogue
from .registry import CONTRACTS

PATH = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.json"

DESCRIPTION = (
    "The events the Seoul Smart City Prize services publish on the topic exchange "
    f"`{topology.EXCHANGE}`, the routing key being the event type. Every message is a JSON "
    "envelope `{id, type, version, occurred_at, producer, correlation_id, data}`; `data` follows "
    "the contract of its type and version. Producers validate `data` strictly; consumers ignore "
    "fields they do not know, so a producer may add a field within a version. A consumer binds "
    "its own durable queue to the types it needs and records each event id it handled (delivery "
    "is at least once)."
)


def _schemas() -> dict:
    """Every contract (``<type>.v<version>``), the schemas nested in them and the envelope, as
    JSON Schema (apispec's OpenAPI 3.1 output)."""
    spec = APISpec("events", "1", "3.1.0", plugins=[MarshmallowPlugin()])
    spec.components.schema("Envelope", schema=EnvelopeSchema)
    for (type_, version), schema in CONTRACTS.items():
        spec.components.schema(f"{type_}.v{version}", schema=schema)
    return _open(spec.to_dict()["components"]["schemas"])


def _open(value):
    # apispec says additionalProperties: false for the producers' strict schemas; readers must
    # accept fields added within a version, so the document does not forbid them.
    if isinstance(value, dict):
        return {k: _open(v) for k, v in value.items() if not (k == "additionalProperties" and v is False)}
    if isinstance(value, list):
        return [_open(v) for v in value]
    return value


# The message headers a producer may set: the W3C trace context of the span that published the
# event (shared/tracing.py), present when traces are on; consumers continue that trace.
HEADERS = {"type": "object", "properties": {
    "traceparent": {"type": "string", "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
                    "description": "W3C Trace Context: the publishing span, when traces are on"},
    "tracestate": {"type": "string", "description": "W3C Trace Context: vendor state, if any"}}}


def _message(type_: str, version: int, producers: tuple[str, ...], envelope: dict) -> dict:
    schema = CONTRACTS[(type_, version)]
    summary = (schema.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
    properties = {**envelope["properties"], "type": {"type": "string", "const": type_},
                  "version": {"type": "integer", "const": version},
                  "producer": {"type": "string", "enum": list(producers)},
                  "data": {"$ref": f"#/components/schemas/{type_}.v{version}"}}
    message = {"name": type_, "title": f"{type_} v{version}", "contentType": "application/json",
               "payload": {**envelope, "properties": properties}, "headers": HEADERS}
    if summary:
        message["summary"] = summary
    return message


def _amqp_channel() -> dict:
    return {"amqp": {"is": "routingKey", "bindingVersion": "0.3.0",
                     "exchange": {"name": topology.EXCHANGE, "type": "topic", "durable": True,
                                  "autoDelete": False, "vhost": "/"}}}


def document() -> dict:
    """The AsyncAPI 3.0 document of every event type: one channel per type (its routing key),
    a send operation per producer and a receive operation per consuming service's queue."""
    schemas = _schemas()
    envelope = schemas.pop("Envelope")
    channels, operations, messages = {}, {}, {}
    for type_, entry in catalogue().items():
        ids = [f"{type_}.v{v}" for v in entry.versions]
        for version, id_ in zip(entry.versions, ids):
            messages[id_] = _message(type_, version, entry.producers, envelope)
        channels[type_] = {"address": type_, "messages": {i: {"$ref": f"#/components/messages/{i}"} for i in ids},
                           "description": (f"Published by {', '.join(entry.producers)}; consumed by "
                                           f"{', '.join(entry.consumers) or 'no service yet'}."),
                           "bindings": _amqp_channel()}
        refs = [{"$ref": f"#/channels/{type_}/messages/{i}"} for i in ids]
        for producer in entry.producers:
            operations[f"{producer}.publishes.{type_}"] = {
                "action": "send", "channel": {"$ref": f"#/channels/{type_}"}, "messages": refs,
                "summary": f"{producer} publishes {type_}."}
        for consumer in entry.consumers:
            operations[f"{consumer}.consumes.{type_}"] = {
                "action": "receive", "channel": {"$ref": f"#/channels/{type_}"}, "messages": refs,
                "summary": f"{consumer} consumes {type_} from its queue {topology.queue_name(consumer)}."}
    return {"asyncapi": "3.0.0",
            "info": {"title": "Seoul Smart City Prize: events", "version": "1", "description": DESCRIPTION},
            "defaultContentType": "application/json",
            "channels": channels, "operations": operations,
            "components": {"messages": messages, "schemas": schemas}}


def text() -> str:
    """The document as docs/asyncapi.json holds it."""
    return json.dumps(document(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


if __name__ == "__main__":
    PATH.write_text(text(), encoding="utf-8")
    sys.stdout.write(f"wrote {PATH}\n")
