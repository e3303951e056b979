"""What every timed reminder shares: which window is open, and claiming it exactly once.

A service's reminder job (intake's draft reminders, review's pending-review reminders) decides
whom to remind; these two pieces make it safe to run on a timer with several workers:

* ``window(deadline, now, offsets)``: the key of the latest reminder window that has opened
  (a window opens at ``deadline - offset`` and lasts until the deadline), or None;
* ``claim(session, table, row, unique)``: insert the "sent" row with INSERT ... ON CONFLICT DO
  NOTHING ... RETURNING, in the caller's transaction (the one that adds the outbox row), and say
  whether this transaction added it. A second worker at the same moment waits on the first one's
  row (PostgreSQL) or its write lock (SQLite) and then adds nothing.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def window(deadline: datetime, now: datetime, offsets: dict[str, timedelta]) -> str | None:
    """The key of the reminder whose window ``now`` is in (the latest one opened), or None."""
    if now >= deadline:
        return None
    for key, offset in sorted(offsets.items(), key=lambda kv: kv[1]):
        if now >= deadline - offset:
            return key
    return None


def claim(session: Session, table: Table, row: dict, unique: list[str]) -> bool:
    """Insert ``row`` unless a row with the same ``unique`` columns exists: True if this
    transaction added it. ``table`` must have an ``event_id`` column."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt = pg_insert(table)
    elif dialect == "sqlite":
        stmt = sqlite_insert(table)
    else:  # pragma: no cover - both stacks are tested
        raise RuntimeError(f"reminders need INSERT ... ON CONFLICT, not available on {dialect}")
    stmt = stmt.values(**row).on_conflict_do_nothing(index_elements=unique).returning(table.c.event_id)
    return session.execute(stmt).first() is not None
