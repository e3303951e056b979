"""A tamper-evident history: each entry's hash covers its fields and the previous entry's hash.

hash = SHA-256( prev_hash + canonical JSON of the entry's fields ), hex. The canonical JSON has
sorted keys, no whitespace, UTF-8 text as is (ensure_ascii off), datetimes as ISO 8601 in UTC
with microseconds and a Z ("2026-07-14T09:00:00.000000Z"; a naive datetime is taken to be UTC,
as the database hands it back), dates as ISO 8601, UUIDs and Decimals as strings, tuples as
lists; NaN, infinities and other types are refused, so that what is hashed survives a database
round trip unchanged. Every key except "hash", "prev_hash" and "seq" is covered: seq is the
database's insertion number, known only after the hash is computed (services/review/ops/history.py
hashes before the insert); the order it gives is protected by the links, and verify() reports
seq that goes back (gaps are normal: rolled-back transactions).

verify() finds an edited row (its hash no longer matches its fields), a broken link (a row
deleted, inserted or reordered: prev_hash is not the hash of the row before it) and a seq that goes back.
Deleting the newest rows leaves a valid shorter chain: pass the head hash kept elsewhere (the
last one published or mailed) as `head` to catch that too.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Iterable, Mapping

GENESIS = "0" * 64
_HEX64 = re.compile(r"[0-9a-f]{64}")
_NOT_HASHED = ("hash", "prev_hash", "seq")


@dataclass(frozen=True)
class Problem:
    seq: Any            # the row's "seq" (its position when the rows carry none)
    position: int       # 0-based position in the sequence given to verify
    reason: str


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, Decimal)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("NaN and infinities cannot be hashed canonically")
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"keys must be strings, not {type(key).__name__}")
            out[key] = _plain(item)
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot hash a {type(value).__name__} canonically")


def canonical_json(entry: Mapping[str, Any]) -> str:
    """The entry's fields (without hash, prev_hash and seq) as canonical JSON."""
    fields = {key: value for key, value in entry.items() if key not in _NOT_HASHED}
    return json.dumps(_plain(fields), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def entry_hash(prev_hash: str, entry: Mapping[str, Any]) -> str:
    if not isinstance(prev_hash, str) or not _HEX64.fullmatch(prev_hash):
        raise ValueError("prev_hash must be 64 lowercase hex digits")
    return hashlib.sha256((prev_hash + canonical_json(entry)).encode("utf-8")).hexdigest()


def seal(prev_hash: str, entry: Mapping[str, Any]) -> dict:
    """The entry with its prev_hash and hash added: what to store."""
    sealed = dict(entry)
    sealed["prev_hash"] = prev_hash
    sealed["hash"] = entry_hash(prev_hash, entry)
    return sealed


def verify(entries: Iterable[Mapping[str, Any]], *, head: str | None = None) -> list[Problem]:
    """Every problem in the chain, oldest first (so [0] is the first broken link or edited row).

    entries must be in seq order, oldest first, each with "hash" and "prev_hash" and its fields.
    """
    problems: list[Problem] = []
    expected_prev = GENESIS
    previous_seq = None
    position = -1
    last_hash = GENESIS
    for position, entry in enumerate(entries):
        seq = entry.get("seq", position)
        stored_prev, stored_hash = entry.get("prev_hash"), entry.get("hash")
        # Gaps in seq are normal (a transaction that rolled back after taking a number); a seq
        # that does not increase means the rows were not given in order or were renumbered.
        if previous_seq is not None and isinstance(seq, int) and isinstance(previous_seq, int) \
                and seq <= previous_seq:
            problems.append(Problem(seq, position, f"seq goes back from {previous_seq} to {seq}: "
                                                   "rows renumbered or reordered"))
        if stored_prev != expected_prev:
            what = "the genesis hash" if position == 0 else f"the hash of the row before it (seq {previous_seq})"
            problems.append(Problem(seq, position, f"broken link: prev_hash is not {what}: "
                                                   "a row was deleted, inserted or reordered"))
        try:
            recomputed = entry_hash(stored_prev, entry) if isinstance(stored_prev, str) else None
        except ValueError:
            recomputed = None
        if recomputed is None or recomputed != stored_hash:
            problems.append(Problem(seq, position, "edited: the hash does not match the row's fields"))
        expected_prev = stored_hash
        previous_seq = seq
        last_hash = stored_hash
    if head is not None and last_hash != head:
        problems.append(Problem(previous_seq, position,
                                "the newest row is not the recorded head: rows after it are missing"))
    return problems
