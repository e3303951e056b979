"""Every (type, version) → data schema, and who publishes each type.

Imports no contract module: the per-producer modules (intake.py, review.py, notify.py) import
``contract`` from here, and ``shared.events`` imports them all, which fills the registry.
"""
from __future__ import annotations

from marshmallow import Schema, ValidationError

CONTRACTS: dict[tuple[str, int], type[Schema]] = {}
# type → the services that publish it: the contract's module, and any named in ``also_by``.
PRODUCERS: dict[str, tuple[str, ...]] = {}


def contract(type_: str, version: int = 1, *, also_by: tuple[str, ...] = (), producer: str | None = None):
    """Register the decorated schema as the data of ``type_`` at ``version``, published by the
    service its module is named after, or ``producer`` when given (and by ``also_by``)."""
    def register(schema_cls: type[Schema]) -> type[Schema]:
        key = (type_, version)
        if key in CONTRACTS:
            raise RuntimeError(f"contract {type_} v{version} declared twice")
        CONTRACTS[key] = schema_cls
        by = producer or schema_cls.__module__.rsplit(".", 1)[-1]
        PRODUCERS[type_] = tuple(dict.fromkeys(PRODUCERS.get(type_, ()) + (by,) + tuple(also_by)))
        return schema_cls
    return register


def contract_for(type_: str, version: int) -> type[Schema]:
    try:
        return CONTRACTS[(type_, version)]
    except KeyError:
        raise ValidationError({"type": [f"no contract for event {type_!r} version {version}"]})
