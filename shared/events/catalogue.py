"""The event catalogue, from its two sources: who publishes each type (the contracts,
shared/events/<producer>.py) and who consumes it (the queues' bindings, shared/topology.py).

tests/unit/test_event_catalogue.py holds the services' handler tables and the README's event
table to it; shared/events/asyncapi.py publishes it.
"""
from __future__ import annotations

from dataclasses import dataclass

from shared.topology import SUBSCRIPTIONS

from .registry import CONTRACTS, PRODUCERS


@dataclass(frozen=True)
class Entry:
    type: str
    versions: tuple[int, ...]
    producers: tuple[str, ...]
    consumers: tuple[str, ...]


def catalogue() -> dict[str, Entry]:
    """Every event type with a contract or a binding, in the contracts' order (bound types
    without a contract last: the test refuses them)."""
    types = list(dict.fromkeys([t for t, _ in CONTRACTS] + [t for s in SUBSCRIPTIONS.values() for t in s]))
    return {t: Entry(type=t, versions=tuple(sorted(v for c, v in CONTRACTS if c == t)),
                     producers=PRODUCERS.get(t, ()),
                     consumers=tuple(s for s, bound in SUBSCRIPTIONS.items() if t in bound))
            for t in types}
