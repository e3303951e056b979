"""What the secretariat's operations (jurors.py, rounds.py, standings.py, decisions.py)
share; their subject: jurors, screening, rounds, assignment, the cut, awards and
their release. Free of Flask: a session in, rows and dicts out; a broken rule raises Refused.

Every function runs inside the caller's transaction (state change, ledger entry and outbox event
commit together); a Refused means "roll back", except when ``keep`` is set (close_round stores
the ties it found before refusing).
"""
from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

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


class Refused(Exception):
    """A request the rules refuse; ``status`` is the HTTP status it maps to, ``errors`` the
    field-level problems of a 422, ``details`` data that explains a 409."""

    def __init__(self, message: str, status: int = 409, errors: dict | None = None,
                 details: dict | None = None, keep: bool = False):
        super().__init__(message)
        self.message, self.status, self.errors, self.details, self.keep = message, status, errors, details, keep


def _id() -> str:
    return str(uuid.uuid4())


def _emit(session: Session, type_: str, data: dict, correlation_id: str) -> None:
    record(session, outbox, make_event(type_, data, producer=PRODUCER, correlation_id=correlation_id))


def _get(session: Session, model, ident, what: str, *, lock: bool = False):
    row = session.get(model, str(ident), with_for_update=lock)
    if row is None:
        raise Refused(f"no {what} {ident}", 404)
    return row

