"""What the secretariat's operations (jurors.py, rounds.py, standings.py, decisions.py)
share; their subject: jurors, screening, rounds, assignment, the cut, awards and
their release. Free of Flask: a session in, rows and dicts out; a broken rule raises Refused.

Every function runs inside the caller's transaction (state change, ledger entry and outbox event
commit together); a Refused means "roll back", except when ``keep`` is set (close_round stores
the ties it found before refusing).
"""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared import refusals
from shared.db import Database
from shared.events import make_event
from shared.outbox import record

from ..models import outbox

PRODUCER = "review"
ROUND_KINDS = ("finalist", "award")
OUTCOMES = ("winner", "special_mention", "not_awarded")
# Which application stages belong to a round (withdrawn ones leave every round).
ROUND_MEMBERS = {"finalist": ("eligible", "finalist", "not_advanced"), "award": ("finalist",)}
SCREENED = ("eligible", "ineligible")
SOURCES = {"same country": "country", "same organisation": "organisation", "same email domain": "email_domain"}


class Refused(refusals.Refused):
    """A request the rules refuse (shared.refusals.Refused): ``errors`` are the field-level problems
    of a 422, ``details`` data that explains a 409; ``keep`` asks in_transaction to commit what the
    operation wrote before refusing. The JSON answer nests a 422's errors under "json" (as the
    request body's validation errors are) and writes dates in details as ISO 8601."""

    def __init__(self, status: int, message: str, errors: dict | None = None, keep: bool = False, **details):
        super().__init__(status, message, errors, **details)
        self.keep = keep

    def body(self) -> dict:
        body = {"message": self.message}
        if self.status == 422:
            body["errors"] = {"json": self.errors or {"_schema": [self.message]}}
        body.update(plain(self.details))
        return body


def plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    return value


def in_transaction(db: Database, operation, *args, **kwargs):
    """Run an operation in one transaction: a refusal rolls it back, unless it keeps what it found
    (close_round keeps the ties), and is raised again."""
    refusal = None
    with db.session() as s:
        with s.begin():
            try:
                return operation(s, *args, **kwargs)
            except Refused as exc:
                if not exc.keep:
                    raise
                refusal = exc
    raise refusal


def _id() -> str:
    return str(uuid.uuid4())


def _emit(session: Session, type_: str, data: dict, correlation_id: str) -> None:
    record(session, outbox, make_event(type_, data, producer=PRODUCER, correlation_id=correlation_id))


def _get(session: Session, model, ident, what: str, *, lock: bool = False):
    row = session.get(model, str(ident), with_for_update=lock)
    if row is None:
        raise Refused(404, f"no {what} {ident}")
    return row


def page_of(session: Session, query, order, limit: int, offset: int) -> dict:
    """One page of a query's rows in ``order`` with the total count: ``{total, items}``."""
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    items = session.scalars(query.order_by(*order).limit(limit).offset(offset)).all()
    return {"total": total, "items": items}
