"""Every (type, version) → data schema, gathered from the per-producer modules."""
from __future__ import annotations

from marshmallow import Schema, ValidationError

CONTRACTS: dict[tuple[str, int], type[Schema]] = {}


def contract(type_: str, version: int = 1):
    def register(schema_cls: type[Schema]) -> type[Schema]:
        key = (type_, version)
        if key in CONTRACTS:
            raise RuntimeError(f"contract {type_} v{version} declared twice")
        CONTRACTS[key] = schema_cls
        return schema_cls
    return register


def contract_for(type_: str, version: int) -> type[Schema]:
    _load_all()
    try:
        return CONTRACTS[(type_, version)]
    except KeyError:
        raise ValidationError({"type": [f"no contract for event {type_!r} version {version}"]})


def _load_all() -> None:
    # import for side effect: each module registers its contracts
    from . import intake, notify, review  # noqa: F401
