"""review's tamper-evident ledger: a chain verifies; edits, deletions and reorders are found."""
from __future__ import annotations

import copy
import hashlib
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.review.ledger import GENESIS, canonical_json, entry_hash, seal, verify

T0 = datetime(2026, 7, 14, 9, 0, tzinfo=timezone.utc)
KST = timezone(timedelta(hours=9))


def _chain(n=5):
    rows, prev = [], GENESIS
    for seq in range(1, n + 1):
        row = seal(prev, {"seq": seq, "at": T0 + timedelta(minutes=seq), "actor": f"juror-{seq % 2}",
                          "action": "score.submitted", "application_id": f"app-{seq}",
                          "data": {"scores": {"c1": seq, "c2": 7.5}, "note": "高雄 Beyoğlu"}})
        rows.append(row)
        prev = row["hash"]
    return rows


def test_entry_hash_is_sha256_of_prev_hash_and_canonical_json():
    entry = {"b": 1, "a": [1, 2], "at": datetime(2026, 7, 14, 18, 0, tzinfo=KST), "x": "é"}
    text = '{"a":[1,2],"at":"2026-07-14T09:00:00.000000Z","b":1,"x":"é"}'
    assert canonical_json(entry) == text
    assert entry_hash(GENESIS, entry) == hashlib.sha256((GENESIS + text).encode()).hexdigest()


def test_canonical_json_is_stable_across_representations():
    aware = {"at": T0, "id": uuid.UUID(int=1), "amount": Decimal("1.50"), "pair": (1, 2)}
    naive = {"pair": [1, 2], "amount": "1.50", "id": str(uuid.UUID(int=1)), "at": T0.replace(tzinfo=None)}
    assert canonical_json(aware) == canonical_json(naive)
    assert entry_hash(GENESIS, dict(aware, hash="x", prev_hash="y", seq=7)) == entry_hash(GENESIS, aware)
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})
    with pytest.raises(TypeError):
        canonical_json({"x": {1, 2}})
    with pytest.raises(ValueError):
        entry_hash("not a hash", {})


def test_a_sealed_chain_verifies():
    rows = _chain()
    assert verify(rows) == []
    assert verify(rows, head=rows[-1]["hash"]) == []
    assert verify([]) == []


def _mutations():
    """(description, function editing one field of a copy of the rows)."""
    fields = ["seq", "at", "actor", "action", "application_id", "data", "hash", "prev_hash"]
    for row in range(5):
        for name in fields:
            yield row, name


def _edit(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 100
    if isinstance(value, datetime):
        return value + timedelta(seconds=1)
    if isinstance(value, dict):
        return dict(value, scores={"c1": 10, "c2": 7.5})
    return value[:-1] + ("0" if value[-1] != "0" else "1")


@pytest.mark.parametrize("row, name", list(_mutations()))
def test_editing_any_field_of_any_row_is_found_at_that_row(row, name):
    rows = _chain()
    rows[row][name] = _edit(rows[row][name])
    if name == "seq":
        # seq is not hashed (the database assigns it after the hash) and gaps are normal; the
        # rows come back in seq order, so a renumbering that moves a row breaks the links, and
        # one that keeps the order (the newest row's seq raised) changes nothing that matters
        rows.sort(key=lambda r: r["seq"])
        problems = verify(rows)
        if row == 4:
            assert problems == []
        else:
            assert problems and problems[0].position == row and "broken link" in problems[0].reason
        return
    problems = verify(rows)
    assert problems, f"editing {name} of row {row} went unnoticed"
    assert problems[0].position == row
    assert problems[0].seq == rows[row]["seq"]


def test_editing_a_nested_value_is_found():
    rows = _chain()
    rows[2]["data"]["note"] = "Kaohsiung"
    assert [(p.position, p.reason.split(":")[0]) for p in verify(rows)] == [(2, "edited")]


@pytest.mark.parametrize("row", range(5))
def test_deleting_a_row_is_found(row):
    rows = _chain()
    del rows[row]
    problems = verify(rows)
    if row == 4:
        # the newest row: only the recorded head tells
        assert problems == []
        assert verify(rows, head=_chain()[-1]["hash"])[0].reason.startswith("the newest row")
    else:
        assert problems and problems[0].position == row
        assert any("broken link" in p.reason for p in problems)


def test_reordering_rows_is_found():
    rows = _chain()
    rows[1], rows[2] = rows[2], rows[1]
    problems = verify(rows)
    assert problems[0].position == 1
    assert {"broken link", "seq goes back"} <= {p.reason.split(":")[0].split(" from")[0] for p in problems}


def test_rewriting_the_tail_with_fresh_hashes_breaks_the_head():
    rows = _chain()
    rows[3] = seal(rows[2]["hash"], dict({k: v for k, v in rows[3].items() if k not in ("hash", "prev_hash")},
                                         actor="someone else"))
    # the edited row re-sealed: its successor's link now breaks
    assert [p.position for p in verify(rows)] == [4]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dictionaries(st.text(min_size=1, max_size=5),
                                st.one_of(st.integers(), st.text(max_size=8), st.booleans(), st.none(),
                                          st.floats(allow_nan=False, allow_infinity=False)),
                                max_size=4), min_size=1, max_size=6),
       st.data())
def test_any_changed_entry_breaks_verification(entries, data):
    rows, prev = [], GENESIS
    for i, fields in enumerate(entries):
        row = seal(prev, dict(fields, seq=i))
        rows.append(row)
        prev = row["hash"]
    assert verify(rows) == []
    target = data.draw(st.integers(0, len(rows) - 1))
    tampered = copy.deepcopy(rows)
    tampered[target]["extra!"] = data.draw(st.text(max_size=3))
    assert verify(tampered)[0].position == target


def test_gaps_in_seq_are_normal():
    # PostgreSQL sequences are not transactional: a rolled-back append leaves a gap
    rows = _chain()
    for i, r in enumerate(rows):
        r["seq"] = 10 * (i + 1)
    assert verify(rows) == []
