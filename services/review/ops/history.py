"""The tamper-evident history, stored: every score, change, conflict and decision is appended
to the ``ledger`` table with who and when, each row chained to the one before by its hash
(services/review/ledger.py computes and checks the hashes).

``append`` runs inside the caller's transaction, so an entry exists exactly when the change it
describes was committed. Appends are serialised: on PostgreSQL by a transaction-scoped advisory
lock (two transactions may not both read the same last hash), on SQLite by the database's write
lock that every transaction there takes at BEGIN.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .. import ledger
from ..models import LedgerEntry

_LOCK = 740_2026  # this service's advisory lock number for the ledger


def _fields(row: LedgerEntry) -> dict:
    """What a row's hash covers (besides the previous hash)."""
    return {"at": row.at, "actor": row.actor, "action": row.action, "application_id": row.application_id,
            "juror_id": row.juror_id, "data": row.data or {}}


def append(session: Session, actor: str, action: str, *, application_id: str | None = None,
           juror_id: str | None = None, data: dict | None = None, at: datetime | None = None) -> LedgerEntry:
    """Add one entry at the end of the chain, in the caller's transaction."""
    # Within one transaction the lock is held and the head known after the first append: a
    # batch (an assignment run) reads it once.
    transaction = session.get_transaction()
    nested = session.in_nested_transaction()  # a savepoint may roll back: no shortcut there
    head = None if nested else session.info.get("ledger_head")
    if head is not None and head[0] is transaction:
        previous = head[1]
    else:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _LOCK})
        previous = session.scalar(select(LedgerEntry.hash).order_by(LedgerEntry.seq.desc()).limit(1))
    row = LedgerEntry(at=(at or datetime.now(timezone.utc)).replace(microsecond=0), actor=actor, action=action,
                      application_id=application_id, juror_id=juror_id, data=dict(data or {}),
                      prev_hash=previous or ledger.GENESIS)
    row.hash = ledger.entry_hash(row.prev_hash, _fields(row))
    session.add(row)
    session.flush()
    if nested:
        session.info.pop("ledger_head", None)
    else:
        session.info["ledger_head"] = (transaction, row.hash)
    return row


def entries(session: Session, application_id: str | None = None) -> list[LedgerEntry]:
    """The chain in order (one application's entries when ``application_id`` is given)."""
    q = select(LedgerEntry).order_by(LedgerEntry.seq)
    if application_id is not None:
        q = q.where(LedgerEntry.application_id == application_id)
    return list(session.scalars(q))


def as_dict(row: LedgerEntry) -> dict:
    return {"seq": row.seq, **_fields(row), "prev_hash": row.prev_hash, "hash": row.hash}


def verify(session: Session) -> list:
    """Problems in the whole chain (empty when intact): an edited, deleted or reordered row."""
    return ledger.verify(as_dict(row) for row in entries(session))
