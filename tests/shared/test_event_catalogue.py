"""The event catalogue has one source: the contracts (shared/events, who publishes each type) and
the queues' bindings (shared/topology.py, who consumes it). Held to it: each service's handler
table, the README's event table and the AsyncAPI document (docs/asyncapi.json)."""
from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import jsonschema
import pytest

from services.intake import handlers as intake_handlers
from services.notify import handlers as notify_handlers
from services.review import handlers as review_handlers
from shared import topology
from shared.events import CONTRACTS, PRODUCERS, asyncapi
from shared.events.catalogue import catalogue
from shared.inbox import bind

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "review", "notify")
HANDLERS = {"intake": intake_handlers.HANDLERS, "review": review_handlers.HANDLERS,
            "notify": notify_handlers.HANDLERS}
ASYNCAPI_SCHEMA = ROOT / "tests" / "data" / "asyncapi-3.0.0.schema.json"


def test_every_service_has_a_queue_and_a_handler_table():
    assert set(topology.SUBSCRIPTIONS) == set(SERVICES) == set(HANDLERS)


@pytest.mark.parametrize("service", SERVICES)
def test_every_bound_event_has_a_handler_and_every_handler_is_bound(service):
    bound = topology.SUBSCRIPTIONS[service]
    assert len(bound) == len(set(bound)), f"{service} binds an event twice"
    assert set(bound) - set(HANDLERS[service]) == set(), "bound, no handler"
    assert set(HANDLERS[service]) - set(bound) == set(), "handled, never delivered"


@pytest.mark.parametrize("service", SERVICES)
def test_handlers_take_uow_and_event_and_keyword_only_dependencies(service):
    for type_, handler in HANDLERS[service].items():
        params = list(inspect.signature(handler).parameters.values())
        positional = [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
        assert positional == ["uow", "event"], type_
        assert all(p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in params), type_


def test_bind_gives_each_handler_what_it_declares_and_refuses_what_is_missing_or_unknown():
    seen = []

    def plain(uow, event):
        seen.append(("plain", event))

    def needy(uow, event, *, sender):
        seen.append((sender, event))

    bound = bind({"a": plain, "b": needy}, sender="S")
    bound["a"](None, 1)
    bound["b"](None, 2)
    assert seen == [("plain", 1), ("S", 2)]
    with pytest.raises(TypeError, match="b needs sender"):
        bind({"a": plain, "b": needy})
    with pytest.raises(TypeError, match="no handler takes mailer"):
        bind({"a": plain, "b": needy}, sender="S", mailer="M")


def test_every_bound_and_produced_event_has_a_contract():
    contracted = {type_ for type_, _ in CONTRACTS}
    bound = {t for types in topology.SUBSCRIPTIONS.values() for t in types}
    assert bound - contracted == set()
    assert set(PRODUCERS) == contracted
    assert all(set(producers) <= set(SERVICES) for producers in PRODUCERS.values())
    for entry in catalogue().values():
        assert entry.versions and entry.producers, entry


# --- the README's table (the "## Events" section of README.md) ---

_SERVICE = "|".join(SERVICES)
# a consumer cell names its consumers before a colon: "review: ...; notify: ...", "intake and notify: ..."
_CONSUMERS = re.compile(rf"(?:^|;\s+)((?:{_SERVICE})(?:(?:,\s*|\s+and\s+)(?:{_SERVICE}))*):")
# a producer cell starts each producer's part with its name: "intake, when ...; review, when ..."
_PRODUCER = re.compile(rf"(?:^|;\s+)({_SERVICE})(?:'s\b|,)")


def readme_table() -> dict[str, tuple[set[str], set[str]]]:
    """type → (producers, consumers) as README.md's event table states them."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Events\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    table = {}
    for row in rows:
        event_cell, producer_cell, consumer_cell = [c.strip() for c in row.strip("|").split(" | ")][:3]
        producers = set(_PRODUCER.findall(producer_cell))
        consumers = {name for names in _CONSUMERS.findall(consumer_cell)
                     for name in re.split(r",\s*|\s+and\s+", names)}
        for type_ in re.findall(r"`([^`]+)`", event_cell):
            table[type_] = (producers, consumers)
    return table


def test_the_readme_table_is_the_catalogue():
    table = readme_table()
    expected = {t: (set(e.producers), set(e.consumers)) for t, e in catalogue().items()}
    assert set(table) == set(expected), "events missing from the README or not in the catalogue"
    differ = {t: {"README": table[t], "catalogue": expected[t]} for t in expected if table[t] != expected[t]}
    assert differ == {}


# --- the AsyncAPI document ---

def test_the_committed_asyncapi_document_is_the_generated_one():
    committed = (ROOT / "docs" / "asyncapi.json").read_text(encoding="utf-8")
    assert committed == asyncapi.text(), "run: python -m shared.events.asyncapi"


def test_the_asyncapi_document_is_valid_asyncapi_3():
    schema = json.loads(ASYNCAPI_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    document = asyncapi.document()
    assert [e.message for e in validator.iter_errors(document)] == []
    broken = {**document, "operations": {"x": {"action": "publish", "channel": {"$ref": "#/channels/x"}}}}
    assert list(validator.iter_errors(broken)), "the schema is really checked"


def test_the_asyncapi_document_says_the_catalogue():
    document = asyncapi.document()
    assert document["asyncapi"] == "3.0.0"
    entries = catalogue()
    assert set(document["channels"]) == set(entries)
    operations = {(op["action"], name.split(".", 1)[0], op["channel"]["$ref"].rsplit("/", 1)[1])
                  for name, op in document["operations"].items()}
    expected = ({("send", p, t) for t, e in entries.items() for p in e.producers}
                | {("receive", c, t) for t, e in entries.items() for c in e.consumers})
    assert operations == expected
    for (type_, version), schema in CONTRACTS.items():
        data = document["components"]["schemas"][f"{type_}.v{version}"]
        assert set(data["properties"]) == set(schema().fields)
