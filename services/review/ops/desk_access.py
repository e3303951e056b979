"""Who may see what on the juror's desk, and the call's terms an application is scored on
(used by desk.py and desk_queries.py; the rules are described in desk.py's docstring)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from shared.refusals import Refused

from ..models import AccessDenial, Application, Assignment, Call, Conflict, Juror, Round
from .common import page_of

log = logging.getLogger("prize.review.desk")

PRODUCER = "review"
LIVE = ("pending", "submitted")
NOT_FOUND_APPLICATION = "no such application among your assignments"
NOT_FOUND_ASSIGNMENT = "no such assignment"
NOT_FOUND_DOCUMENT = "no such document in this application"
MAX_COMMENT = 10_000


class Refusal(Refused):
    """The desk said no (shared.refusals.Refused): a status, a message, optional field errors and
    details (the current revision of a stale save) that the pages use; the API answers with the
    message and the field errors only. ``code`` names the case for the jurors' pages, which say it
    in the juror's language (the message stays the API's English)."""

    def __init__(self, status: int, message: str, errors: dict | None = None, *, code: str = "", **details):
        super().__init__(status, message, errors, **details)
        self.code = code

    @property
    def extra(self) -> dict:
        return self.details

    def body(self) -> dict:
        body = {"message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _actor(juror_id: str) -> str:
    return f"juror:{juror_id}"


# ---- who may see what ----

def active_juror(session: Session, juror_id: str) -> Juror:
    """The juror behind a token, if the secretariat has not deactivated them (else 403)."""
    juror = session.get(Juror, str(juror_id))
    if juror is None or not juror.active:
        session.rollback()
        raise Refusal(403, "this juror account is not active; ask the secretariat", code="inactive")
    return juror


def _conflicted(juror_id: str, application_id):
    """SQL: a conflict of any source stands between the juror and the application."""
    return exists().where(Conflict.juror_id == juror_id, Conflict.application_id == application_id)


def _deny(session: Session, juror_id: str, application_id: str | None, path: str, reason: str,
          message: str) -> None:
    """Keep the refusal (in its own transaction) and raise the uniform 404."""
    session.rollback()
    session.add(AccessDenial(at=_now(), juror_id=str(juror_id), application_id=application_id,
                             path=(path or "")[:500], reason=reason))
    session.commit()
    log.warning("juror %s refused %s (%s)", juror_id, path, reason)
    raise Refusal(404, message, code="not_found")


def _why_not(session: Session, juror_id: str, application_id: str) -> str | None:
    """Why the juror may not see the application, or None when they may."""
    app = session.get(Application, application_id)
    if app is None:
        return "no_such_application"
    if session.scalar(select(_conflicted(juror_id, application_id))):
        return "conflicted"
    if app.stage == "withdrawn":
        return "withdrawn"
    live = session.scalar(select(Assignment.id).where(
        Assignment.juror_id == juror_id, Assignment.application_id == application_id,
        Assignment.status.in_(LIVE)).limit(1))
    return None if live else "not_assigned"


def _visible_application(session: Session, juror_id: str, application_id: str, path: str) -> Application:
    application_id = str(application_id)
    reason = _why_not(session, juror_id, application_id)
    if reason:
        _deny(session, juror_id, application_id, path, reason, NOT_FOUND_APPLICATION)
    return session.get(Application, application_id)


def _own_assignment(session: Session, juror_id: str, assignment_id: str, path: str, *,
                    lock: bool = False) -> tuple[Assignment, Application, Round]:
    """The juror's live assignment on an application they may see; the uniform 404 otherwise."""
    row = session.get(Assignment, str(assignment_id), with_for_update=lock)
    if row is None:
        _deny(session, juror_id, None, path, "no_such_assignment", NOT_FOUND_ASSIGNMENT)
    if row.juror_id != juror_id:
        _deny(session, juror_id, row.application_id, path, "not_assigned", NOT_FOUND_ASSIGNMENT)
    reason = _why_not(session, juror_id, row.application_id)
    if reason is None and row.status not in LIVE:
        reason = "assignment_removed"
    if reason:
        _deny(session, juror_id, row.application_id, path, reason, NOT_FOUND_ASSIGNMENT)
    return row, session.get(Application, row.application_id), session.get(Round, row.round_id)


# ---- the call's terms ----

@dataclass
class Terms:
    criteria: list[dict]  # {key, title, weight, guidance}
    score_min: float
    score_max: float

    @property
    def keys(self) -> list[str]:
        return [c["key"] for c in self.criteria]

    @property
    def weights(self) -> dict[str, float]:
        return {c["key"]: float(c.get("weight") or 0) for c in self.criteria}


def terms(session: Session, application: Application) -> Terms:
    """The criteria and the scale an application is scored on (its category's, else the call's)."""
    call = session.get(Call, application.call_id)
    if call is None:  # call.opened not received yet: nothing can be scored
        return Terms([], 0, 0)
    category = next((c for c in call.categories or [] if c.get("key") == application.category), {})
    criteria = [{"key": c["key"], "title": c.get("title", c["key"]), "weight": c.get("weight", 1),
                 "guidance": list(c.get("guidance") or [])} for c in category.get("criteria") or []]
    low = category.get("score_min") if category.get("score_min") is not None else call.score_min
    high = category.get("score_max") if category.get("score_max") is not None else call.score_max
    return Terms(criteria, low, high)


def _scored(scores: dict, keys) -> int:
    return sum(1 for k in keys if scores.get(k) is not None)


def access_denials_page(session: Session, juror_id, limit: int, offset: int) -> dict:
    """Every time a juror was refused an application, newest first (of one juror with juror_id)."""
    q = select(AccessDenial)
    if juror_id is not None:
        q = q.where(AccessDenial.juror_id == str(juror_id))
    return page_of(session, q, (AccessDenial.seq.desc(),), limit, offset)
