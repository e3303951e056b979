"""Decisions on applications: screening, closing a round, awards and releasing results."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Application, Call, Round
from . import history, screening
from .common import OUTCOMES, ROUND_KINDS, ROUND_MEMBERS, Refused, _emit, _get
from .rounds import _open_round
from .standings import standings

# -- screening --------------------------------------------------------------------------------

def screen(session: Session, application_id, eligible: bool, reason: str, actor: str,
           now: datetime, *, hold: float = 0) -> Application:
    """Mark an application eligible or not (ops/screening.py: with ``hold`` seconds to undo it
    before its email goes; 0 publishes at once)."""
    return screening.decide(session, application_id, eligible, reason, actor, now, hold=hold)["application"]


# -- closing, awards, release ----------------------------------------------------------------

def close_round(session: Session, round_id, actor: str, now: datetime, decisions: dict | None = None,
                normalise: bool = False) -> dict:
    """Lock the scores; in the finalist round the top N per category advance, the rest do not.
    Ties at the cut and applications short of reviews need an explicit decision."""
    rnd = _open_round(session, round_id)
    decisions = {str(k): v for k, v in (decisions or {}).items()}
    table = standings(session, rnd.id, normalise=normalise)
    rows = {row["application_id"]: row for c in table["categories"].values() for row in c["leaderboard"]}
    unknown = sorted(set(decisions) - set(rows))
    if unknown:
        raise Refused(422, "decisions name applications outside this round",
                      errors={"decisions": {k: ["not in this round"] for k in unknown}})
    bad = {k: ["must be advance or eliminate"] for k, v in decisions.items() if v not in ("advance", "eliminate")}
    if bad:
        raise Refused(422, "a decision is advance or eliminate", errors={"decisions": bad})
    if rnd.kind == "finalist":
        ties = sorted(a for a, row in rows.items() if row["outcome"] == "tie" and a not in decisions)
        short = sorted(a for a, row in rows.items() if row["outcome"] == "unranked" and a not in decisions)
        if ties or short:
            rnd.ties = sorted(a for a, row in rows.items() if row["outcome"] == "tie")
            parts = []
            if ties:
                parts.append(f"{len(ties)} application(s) tie at the cut")
            if short:
                parts.append(f"{len(short)} application(s) have fewer than {rnd.min_reviews} reviews")
            raise Refused(409, "; ".join(parts) + ": decide them (advance or eliminate) and close again",
                          ties=[_brief(rows[a]) for a in ties],
                          short_of_reviews=[_brief(rows[a]) for a in short], keep=True)
    rnd.status, rnd.closed_at = "closed", now
    outcome_counts = {"advance": 0, "eliminate": 0}
    if rnd.kind == "finalist":
        for app_id, row in sorted(rows.items()):
            by_hand = app_id in decisions
            decision = decisions.get(app_id) or row["outcome"]
            app = session.get(Application, app_id)
            app.stage = "finalist" if decision == "advance" else "not_advanced"
            outcome_counts[decision] += 1
            event = "application.advanced" if decision == "advance" else "application.eliminated"
            history.append(session, actor, event, application_id=app_id, at=now, data={
                "round_id": rnd.id, "rank": row["rank"], "score": row["score"], "n_reviews": row["n_reviews"],
                "decided_by_hand": by_hand, "was": row["outcome"]})
            _emit(session, event, {"application_id": app_id, "reference": app.reference, "round": "finalist",
                                   "decided_at": now}, app_id)
    rnd.ties = []
    history.append(session, actor, "round.closed", at=now, data={
        "round_id": rnd.id, "kind": rnd.kind, "decisions": decisions, "normalise": normalise, **outcome_counts})
    return {"round": rnd, "advanced": outcome_counts["advance"], "eliminated": outcome_counts["eliminate"]}


def _brief(row: dict) -> dict:
    return {k: row[k] for k in ("application_id", "reference", "title", "category", "score", "n_reviews", "rank")}


def decide_award(session: Session, application_id, outcome: str, award: str, actor: str,
                 now: datetime) -> Application:
    """Record an award decision; it stays embargoed until the award round is released."""
    app = _get(session, Application, application_id, "application", lock=True)
    if outcome not in OUTCOMES:
        raise Refused(422, "unknown outcome", errors={"outcome": [f"one of {', '.join(OUTCOMES)}"]})
    if app.stage == "withdrawn":
        raise Refused(409, f"application {app.reference} was withdrawn")
    allowed = ("finalist",) if outcome != "special_mention" else ROUND_MEMBERS["finalist"]
    if app.stage not in allowed:
        who = "finalists" if outcome != "special_mention" else "eligible applications"
        raise Refused(409, f"only {who} can be given {outcome}; {app.reference} is {app.stage}")
    rnd = session.scalar(select(Round).where(Round.call_id == app.call_id, Round.kind == "award"))
    if rnd is None:
        raise Refused(409, "open the award round before deciding awards")
    if rnd.released_at is not None:
        raise Refused(409, "the award results were released: decisions can no longer change")
    award = (award or "").strip()
    if app.outcome == outcome and app.award == award:
        return app
    app.outcome, app.award, app.decided_by, app.decided_at = outcome, award, actor, now
    history.append(session, actor, "award.decided", application_id=app.id, at=now,
                   data={"outcome": outcome, "award": award, "round_id": rnd.id})
    _emit(session, "award.decided", {"application_id": app.id, "reference": app.reference, "outcome": outcome,
                                     "award": award, "decided_at": now}, app.id)
    return app


def release(session: Session, call_id, kind: str, actor: str, now: datetime) -> dict:
    """Release a round's decisions: one results.released per decided application; once only."""
    call = _get(session, Call, call_id, "call")
    if kind not in ROUND_KINDS:
        raise Refused(422, "unknown round", errors={"round": [f"one of {', '.join(ROUND_KINDS)}"]})
    rnd = session.scalar(select(Round).where(Round.call_id == call.id, Round.kind == kind).with_for_update())
    if rnd is None:
        raise Refused(409, f"the {kind} round of this call was never opened")
    q = select(Application).where(Application.call_id == call.id)
    if kind == "finalist":
        if rnd.status != "closed":
            raise Refused(409, "close the finalist round before releasing its results")
        q = q.where(Application.stage.in_(("finalist", "not_advanced")))
    else:
        q = q.where(Application.outcome.is_not(None), Application.stage != "withdrawn")
    decided = session.scalars(q.order_by(Application.reference)).all()
    if rnd.released_at is not None:
        return {"round": kind, "released_at": rnd.released_at, "released": 0, "already": True}
    if not decided:
        raise Refused(409, f"nothing decided in the {kind} round yet: nothing to release")
    rnd.released_at = now
    for app in decided:
        _emit(session, "results.released", {"application_id": app.id, "round": kind, "released_at": now}, app.id)
    history.append(session, actor, "results.released", at=now,
                   data={"call_id": call.id, "round": kind, "applications": [a.id for a in decided]})
    return {"round": kind, "released_at": now, "released": len(decided), "already": False}
