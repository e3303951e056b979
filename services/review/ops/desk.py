"""The juror's desk: their assignments, the applications they score, the scoring itself and
declared conflicts of interest (plain Python over the session, no Flask).

Who may see what. A juror sees an application only through a live assignment (pending or
submitted, not removed) on it, and never while a conflict of interest (detected or declared)
stands between them; a withdrawn application has left review. Everything else answers with
one refusal, ``NOT_FOUND``, word for word the same whether the application does not exist, is
someone else's or is one the juror is conflicted on: the answer may not tell them apart. Every
such refusal is kept (an AccessDenial row and a log line) for the secretariat.

Transactions. Each operation is one unit of work: it commits what it did (the change, its
ledger entry and its outbox event together) before returning. A refusal rolls back whatever
the operation had begun, and an access refusal then commits its AccessDenial row on its own,
so that the denial is kept although the request failed.

Scoring rules decided here:
- Saves are partial (autosave): a field at a time, ``None`` or an empty comment clears it. Each
  save names the revision it was based on; an older one is refused (409, the current revision
  in the answer), so two tabs never overwrite each other silently.
- A score is a number on the scale of the application's category (the call's scale unless the
  category has its own), halves and other fractions included.
- Submitting needs a score *and* a non-empty comment for every criterion (the issue asks for
  "a comment per criterion"), publishes ``review.submitted`` once, and appends the complete
  review to the ledger.
- After submitting, the juror may still revise while the round is open (a second thought is
  better recorded than forbidden): the review stays submitted, must stay complete (nothing can
  be cleared), each revision is appended to the ledger as ``scores.revised`` with the values
  before and after, and no second ``review.submitted`` is published.
- Once the round is closed, scores lock: saves and submissions are refused (409).
- Other jurors' scores (anonymised: "juror 1", "juror 2" in order of submission) are shown only
  once the juror submitted their own, never when the round says ``peer_scores = never``.
"""
from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.events import make_event
from shared.outbox import record

from .. import assignment as planner
from ..models import Application, Assignment, Call, Conflict, Juror, Round, outbox
from . import history
from .desk_access import (LIVE, MAX_COMMENT, PRODUCER, _conflicted, Refusal, Terms, _actor, _now, _own_assignment,
                          _visible_application, active_juror, log, terms)
from .desk_queries import _assignment_state, _total

# ---- scoring ----

# The field errors of a save, in the API's English; the jurors' pages put each in the juror's
# language (pages/jury_text.py), so they are named here once.
UNKNOWN_CRITERION = "unknown criterion; this category is scored on: {keys}"
NOT_A_NUMBER = "must be a number"
OFF_SCALE = "must be between {low} and {high}"
TOO_LONG = f"at most {MAX_COMMENT} characters"
NOT_SCORED = "not scored yet"
NO_COMMENT = "a comment is required"


def _check_values(scores: dict, comments: dict, t: Terms) -> dict:
    """Field errors of a save: unknown criteria, scores off the scale or not numbers."""
    errors: dict[str, dict] = {}
    known = set(t.keys)
    for name, given in (("scores", scores), ("comments", comments)):
        for key in given:
            if key not in known:
                errors.setdefault(name, {})[key] = [UNKNOWN_CRITERION.format(keys=", ".join(t.keys) or "nothing yet")]
    for key, value in scores.items():
        if key not in known or value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            errors.setdefault("scores", {})[key] = [NOT_A_NUMBER]
        elif not t.score_min <= value <= t.score_max:
            errors.setdefault("scores", {})[key] = [OFF_SCALE.format(low=t.score_min, high=t.score_max)]
    for key, value in comments.items():
        if key in known and value is not None and len(value) > MAX_COMMENT:
            errors.setdefault("comments", {})[key] = [TOO_LONG]
    return errors


def _missing(scores: dict, comments: dict, t: Terms) -> dict:
    errors: dict[str, dict] = {}
    for key in t.keys:
        if scores.get(key) is None:
            errors.setdefault("scores", {})[key] = [NOT_SCORED]
        if not (comments.get(key) or "").strip():
            errors.setdefault("comments", {})[key] = [NO_COMMENT]
    return errors


def _writable(a: Assignment, rnd: Round, revision: int | None) -> None:
    if rnd.status != "open":
        raise Refusal(409, f"the {rnd.kind} round is closed; its scores are locked", code="round_closed",
                      round=rnd.kind)
    if revision is not None and revision != a.revision:
        raise Refusal(409, f"these scores were saved elsewhere since (now revision {a.revision}); "
                           "reload them before saving", errors={"revision": [str(a.revision)]},
                      code="stale", revision=a.revision)


def save_scores(session: Session, juror_id: str, assignment_id: str, scores: dict | None,
                comments: dict | None, revision: int, path: str = "") -> dict:
    """Autosave: merge these scores and comments into the assignment (see the module doc)."""
    scores, comments = dict(scores or {}), dict(comments or {})
    try:
        juror = active_juror(session, juror_id)
        a, app, rnd = _own_assignment(session, juror.id, assignment_id, path, lock=True)
        _writable(a, rnd, revision)
        t = terms(session, app)
        errors = _check_values(scores, comments, t)
        if errors:
            raise Refusal(422, "some scores or comments cannot be saved (see errors)", errors={"json": errors},
                          code="invalid")
        new_scores, new_comments = dict(a.scores or {}), dict(a.comments or {})
        for key, value in scores.items():
            if value is None:
                new_scores.pop(key, None)
            else:
                new_scores[key] = int(value) if float(value).is_integer() else float(value)
        for key, value in comments.items():
            if value is None or not value.strip():
                new_comments.pop(key, None)
            else:
                new_comments[key] = value
        revising = a.status == "submitted"
        if revising:
            gaps = _missing(new_scores, new_comments, t)
            if gaps:
                raise Refusal(422, "a submitted review must stay complete: a score and a comment for "
                                   "every criterion", errors={"json": gaps}, code="must_stay_complete")
        changed = {"scores": {k: new_scores.get(k) for k in scores if new_scores.get(k) != (a.scores or {}).get(k)},
                   "comments": {k: new_comments.get(k) for k in comments
                                if new_comments.get(k) != (a.comments or {}).get(k)}}
        if not changed["scores"] and not changed["comments"]:  # an autosave of what is stored
            state = _assignment_state(a, rnd, t)
            session.rollback()
            return state
        data = {"assignment_id": a.id, "round": rnd.kind, "revision": a.revision + 1, **changed}
        if revising:
            data["before"] = {"scores": {k: (a.scores or {}).get(k) for k in changed["scores"]},
                              "comments": {k: (a.comments or {}).get(k) for k in changed["comments"]}}
        a.scores, a.comments = new_scores, new_comments
        a.revision += 1
        a.updated_at = _now()
        history.append(session, _actor(juror.id), "scores.revised" if revising else "scores.saved",
                       application_id=app.id, juror_id=juror.id, data=data)
        state = _assignment_state(a, rnd, t)
        session.commit()
        return state
    except Refusal:
        session.rollback()
        raise


def submit_scores(session: Session, juror_id: str, assignment_id: str, revision: int | None = None,
                  path: str = "", correlation_id: str | None = None) -> dict:
    """Hand in a complete review: publishes review.submitted (once) and appends it to the ledger."""
    try:
        juror = active_juror(session, juror_id)
        a, app, rnd = _own_assignment(session, juror.id, assignment_id, path, lock=True)
        _writable(a, rnd, revision)
        if a.status == "submitted":
            raise Refusal(409, "this review was already submitted; change a score to revise it",
                          code="already_submitted")
        t = terms(session, app)
        if not t.criteria:
            raise Refusal(409, "the call's criteria are not known to review yet; try again later",
                          code="criteria_unknown")
        gaps = _missing(a.scores or {}, a.comments or {}, t)
        if gaps:
            raise Refusal(422, "every criterion needs a score and a comment before submitting (see errors)",
                          errors={"json": gaps}, code="incomplete")
        now = _now()
        a.status, a.submitted_at, a.updated_at = "submitted", now, now
        a.revision += 1
        history.append(session, _actor(juror.id), "review.submitted", application_id=app.id, juror_id=juror.id,
                       data={"assignment_id": a.id, "round": rnd.kind, "revision": a.revision,
                             "scores": dict(a.scores), "comments": dict(a.comments), "total": _total(a.scores, t)})
        record(session, outbox, make_event("review.submitted", {
            "assignment_id": a.id, "application_id": app.id, "juror_id": juror.id, "round": rnd.kind,
            "submitted_at": now}, producer=PRODUCER, correlation_id=correlation_id or a.id))
        state = _assignment_state(a, rnd, t)
        session.commit()
        return state
    except Refusal:
        session.rollback()
        raise


def peer_scores(session: Session, juror_id: str, assignment_id: str, path: str = "") -> dict:
    """Other jurors' submitted scores of the same application in the same round, anonymised."""
    juror = active_juror(session, juror_id)
    a, app, rnd = _own_assignment(session, juror.id, assignment_id, path)
    try:
        if rnd.peer_scores == "never":
            raise Refusal(403, "this round does not show other jurors' scores", code="peers_never")
        if a.status != "submitted":
            raise Refusal(409, "other jurors' scores are shown once you have submitted your own",
                          code="peers_after_own")
        t = terms(session, app)
        others = session.scalars(select(Assignment).where(
            Assignment.round_id == rnd.id, Assignment.application_id == app.id, Assignment.id != a.id,
            Assignment.status.in_(LIVE),
            ~_conflicted(Assignment.juror_id, app.id))  # a conflicted juror's review counts for nothing
            .order_by(Assignment.submitted_at, Assignment.id)).all()
        done = [o for o in others if o.status == "submitted"]
        return {"assignment_id": a.id, "application_id": app.id, "pending": len(others) - len(done),
                "reviews": [{"juror": f"juror {i}", "scores": dict(o.scores or {}),
                             "comments": dict(o.comments or {}), "total": _total(o.scores or {}, t),
                             "submitted_at": o.submitted_at} for i, o in enumerate(done, 1)]}
    finally:
        session.rollback()


# ---- declared conflicts and reassignment ----

@dataclass
class Declaration:
    application_id: str
    declared_at: datetime
    removed: list[str] = field(default_factory=list)       # assignment ids taken from the juror
    replacements: list[dict] = field(default_factory=list)  # {round, assignment_id, juror_id}
    short: list[dict] = field(default_factory=list)          # {round, needed, assigned, reason}


def declare_conflict(session: Session, juror_id: str, application_id: str, reason: str, *,
                     path: str = "", review_url: str = "", correlation_id: str | None = None) -> Declaration:
    """The juror declares a conflict of interest: from the next request on they no longer see the
    application; their assignments on it are removed and, in each open round, another juror
    takes their place (review.assigned to that juror). When nobody can, the application is
    recorded as short of a juror in the ledger for the secretariat; the declaration stands."""
    reason = (reason or "").strip()
    try:
        juror = active_juror(session, juror_id)
        app = _visible_application(session, juror.id, application_id, path)
        if not reason:
            raise Refusal(422, "say why you are in conflict", errors={"json": {"reason": ["must not be empty"]}},
                          code="conflict_reason")
        now = _now()
        session.add(Conflict(id=str(uuid.uuid4()), juror_id=juror.id, application_id=app.id, source="declared",
                             reason=reason, created_by=_actor(juror.id), created_at=now))
        mine = session.scalars(select(Assignment).where(
            Assignment.juror_id == juror.id, Assignment.application_id == app.id,
            Assignment.status.in_(LIVE)).with_for_update()).all()
        result = Declaration(application_id=app.id, declared_at=now)
        for a in mine:
            a.status, a.updated_at = "removed", now
            result.removed.append(a.id)
        session.flush()
        history.append(session, _actor(juror.id), "conflict.declared", application_id=app.id, juror_id=juror.id,
                       data={"reason": reason, "removed_assignments": list(result.removed)})
        for a in mine:
            rnd = session.get(Round, a.round_id)
            if rnd.status == "open":
                _replace(session, rnd, app, juror, a, result, review_url, correlation_id)
        session.commit()
        return result
    except Refusal:
        session.rollback()
        raise


def _replace(session: Session, rnd: Round, app: Application, leaving: Juror, removed: Assignment,
             result: Declaration, review_url: str, correlation_id: str | None) -> None:
    """Find another juror for ``app`` in ``rnd``: balance first (the least loaded jurors of the
    round are tried first), then expertise (assignment.assign prefers experts among them)."""
    k = rnd.jurors_per_application
    conflicted = set(session.scalars(select(Conflict.juror_id).where(Conflict.application_id == app.id)))
    # everyone who ever held it in this round: the live ones stay, the removed ones were removed
    # on purpose (and the triple is unique), so neither is a candidate
    held = session.execute(select(Assignment.juror_id, Assignment.status).where(
        Assignment.round_id == rnd.id, Assignment.application_id == app.id)).all()
    staying = [j for j, status in held if status in LIVE and j not in conflicted]
    if len(staying) >= k:
        return
    loads = dict(session.execute(select(Assignment.juror_id, func.count()).where(
        Assignment.round_id == rnd.id, Assignment.status.in_(LIVE)).group_by(Assignment.juror_id)).all())
    taken = {j for j, _ in held} | conflicted
    pool = [j for j in session.scalars(select(Juror).where(Juror.active.is_(True)).order_by(Juror.id))
            if j.id not in taken and (j.max_load is None or loads.get(j.id, 0) < j.max_load)]
    candidate = planner.Candidate(id=app.id, category=app.category, country=app.country,
                                  organisation=app.organisation, contact_email=app.contact_email)
    staying_jurors = [planner.Juror(id=j.id, country="", organisation="", email="")
                      for j in session.scalars(select(Juror).where(Juror.id.in_(staying)))]
    plan, why = None, "no other active juror is free of conflicts with this application"
    for level in sorted({loads.get(j.id, 0) for j in pool}):
        tier = [j for j in pool if loads.get(j.id, 0) <= level]
        people = staying_jurors + [planner.Juror(id=j.id, country=j.country, organisation=j.organisation,
                                                 email=j.email, expertise=frozenset(j.expertise or []))
                                   for j in tier]
        try:
            plan = planner.assign([candidate], people, k, existing={app.id: staying})
            break
        except planner.Infeasible as exc:
            why = exc.message
    if plan is None:
        short = {"round": rnd.kind, "round_id": rnd.id, "needed": k, "assigned": len(staying), "reason": why}
        result.short.append(short)
        history.append(session, "system", "assignment.short", application_id=app.id,
                       data={**short, "after_conflict_of": leaving.id})
        log.warning("application %s is short of a juror in round %s: %s", app.id, rnd.id, why)
        return
    _assign_replacements(session, rnd, app, leaving, removed, result, plan, staying, pool, review_url,
                         correlation_id)

def _assign_replacements(session: Session, rnd: Round, app: Application, leaving: Juror, removed: Assignment,
                         result: Declaration, plan, staying: list[str], pool: list[Juror], review_url: str,
                         correlation_id: str | None) -> None:
    """Store the plan's new jurors of ``app``: each assignment, its ledger entry and its review.assigned."""
    call = session.get(Call, app.call_id)
    by_id = {j.id: j for j in pool}
    for juror_id in plan.pairs[app.id]:
        if juror_id in staying:
            continue
        juror = by_id[juror_id]
        now = _now()
        row = Assignment(id=str(uuid.uuid4()), round_id=rnd.id, application_id=app.id, juror_id=juror.id,
                         assigned_by="auto:replacement", assigned_at=now, status="pending", scores={},
                         comments={}, revision=1)
        session.add(row)
        session.flush()
        result.replacements.append({"round": rnd.kind, "assignment_id": row.id, "juror_id": juror.id})
        history.append(session, "system", "assignment.replaced", application_id=app.id, juror_id=juror.id,
                       data={"round": rnd.kind, "assignment_id": row.id, "replaces": leaving.id,
                             "removed_assignment_id": removed.id})
        record(session, outbox, make_event("review.assigned", {
            "juror_id": juror.id, "name": juror.name, "email": juror.email, "language": juror.language or "en",
            "round": rnd.kind, "call_id": app.call_id, "year": call.year if call else app.submitted_at.year,
            "due_at": rnd.due_at,
            "applications": [{"application_id": app.id, "reference": app.reference, "title": app.title,
                              "category": app.category}],
            "url": f"{review_url.rstrip('/')}/jury"}, producer=PRODUCER, correlation_id=correlation_id or row.id))


__all__ = ["Refusal", "Declaration", "save_scores", "submit_scores", "peer_scores", "declare_conflict", "terms",
           "active_juror"]
