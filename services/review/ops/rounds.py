"""Rounds: opening them, automatic and manual assignment."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import assignment
from ..models import Application, Assignment, Call, Juror, Round
from . import history
from .common import ROUND_KINDS, ROUND_MEMBERS, Refused, _emit, _get, _id
from .jurors import as_candidate, as_juror, conflicted_pairs, record_conflicts, takes_work

# -- rounds -----------------------------------------------------------------------------------

ROUND_SETTINGS = ("jurors_per_application", "advance_per_category", "min_reviews", "peer_scores",
                  "disagreement_threshold", "due_at")


def open_round(session: Session, call_id, kind: str, settings: dict, actor: str, now: datetime) -> Round:
    call = _get(session, Call, call_id, "call")
    if kind not in ROUND_KINDS:
        raise Refused(422, f"a round is one of {', '.join(ROUND_KINDS)}", errors={"kind": ["unknown round"]})
    if session.scalar(select(Round.id).where(Round.call_id == call.id, Round.kind == kind)):
        raise Refused(409, f"the {kind} round of the {call.year} call is already open")
    if kind == "award":
        finalist = session.scalar(select(Round).where(Round.call_id == call.id, Round.kind == "finalist"))
        if finalist is None or finalist.status != "closed":
            raise Refused(409, "the award round takes the finalists: close the finalist round first")
    values = {key: settings[key] for key in ROUND_SETTINGS if settings.get(key) is not None}
    values.setdefault("jurors_per_application", 3)
    values.setdefault("min_reviews", min(2, values["jurors_per_application"]))
    rnd = Round(id=_id(), call_id=call.id, kind=kind, status="open", opened_at=now, ties=[], **values)
    session.add(rnd)
    session.flush()
    history.append(session, actor, "round.opened", at=now, data={
        "round_id": rnd.id, "call_id": call.id, "kind": kind,
        **{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in values.items()}})
    return rnd


def round_applications(session: Session, rnd: Round) -> list[Application]:
    return list(session.scalars(select(Application)
                                .where(Application.call_id == rnd.call_id,
                                       Application.stage.in_(ROUND_MEMBERS[rnd.kind]))
                                .order_by(Application.submitted_at, Application.id)))


def _open_round(session: Session, round_id) -> Round:
    rnd = _get(session, Round, round_id, "round", lock=True)
    if rnd.status != "open":
        raise Refused(409, f"the {rnd.kind} round is closed: its assignments and scores are locked")
    return rnd


def round_summary(session: Session, rnd: Round) -> dict:
    counts = defaultdict(int)
    for status in session.scalars(select(Assignment.status).where(Assignment.round_id == rnd.id)):
        counts[status] += 1
    return {"round": rnd, "applications": len(round_applications(session, rnd)),
            "assignments": {"pending": counts["pending"], "submitted": counts["submitted"],
                            "removed": counts["removed"]}}


def _digest(session: Session, rnd: Round, juror: Juror, apps: list[Application], jury_url: str) -> None:
    call = session.get(Call, rnd.call_id)
    _emit(session, "review.assigned", {
        "juror_id": juror.id, "name": juror.name, "email": juror.email, "language": juror.language,
        "round": rnd.kind, "call_id": rnd.call_id, "year": call.year, "due_at": rnd.due_at,
        "applications": [{"application_id": a.id, "reference": a.reference, "title": a.title,
                          "category": a.category} for a in apps],
        "url": jury_url}, f"{rnd.id}:{juror.id}")


def _put_assignment(session: Session, rnd: Round, app_id: str, juror_id: str, by: str, now: datetime,
                    removed: dict) -> Assignment:
    """A new assignment, or the earlier removed one of the same pair brought back."""
    row = removed.get((app_id, juror_id))
    if row is None:
        row = Assignment(id=_id(), round_id=rnd.id, application_id=app_id, juror_id=juror_id,
                         assigned_by=by, assigned_at=now, status="pending", scores={}, comments={}, revision=1)
        session.add(row)
    else:
        row.status, row.assigned_by, row.assigned_at, row.submitted_at = "pending", by, now, None
        row.revision = (row.revision or 1) + 1
    return row


def auto_assign(session: Session, round_id, actor: str, now: datetime,
                jury_url: str = "http://127.0.0.1:8002/jury") -> dict:
    """k jurors for every application of the round; all or nothing (Infeasible → 409)."""
    rnd = _open_round(session, round_id)
    apps = round_applications(session, rnd)
    by_app = {a.id: a for a in apps}
    rows = session.scalars(select(Assignment).where(Assignment.round_id == rnd.id)).all()
    jurors = {j.id: j for j in session.scalars(select(Juror).order_by(Juror.invited_at, Juror.id))}
    active = [j for j in jurors.values() if takes_work(j)]  # deactivated and declined jurors take none
    # Conflicts found since (a juror invited while an application arrived) are stored first.
    record_conflicts(session, active, apps, "auto", now)
    declared = conflicted_pairs(session, by_app)

    removed = {(r.application_id, r.juror_id): r for r in rows if r.status == "removed"}
    existing: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r.status == "removed":
            continue
        if r.application_id not in by_app or (r.juror_id, r.application_id) in declared:
            # the application left the round (withdrawn) or the juror is conflicted now
            why = "application left the round" if r.application_id not in by_app else "conflict of interest"
            r.status, r.updated_at = "removed", now
            removed[(r.application_id, r.juror_id)] = r
            history.append(session, actor, "assignment.removed", application_id=r.application_id,
                           juror_id=r.juror_id, at=now, data={"round_id": rnd.id, "reason": why})
            continue
        existing[r.application_id].append(r.juror_id)

    people = [as_juror(j) for j in active]
    for juror_id in {jid for ids in existing.values() for jid in ids}:
        if not takes_work(jurors[juror_id]):  # keeps their submitted work, takes no more
            load = sum(juror_id in ids for ids in existing.values())
            people.append(as_juror(jurors[juror_id], max_load=load))
    try:
        result = assignment.assign([as_candidate(a) for a in apps], people, rnd.jurors_per_application,
                                   declared=declared, existing=dict(existing))
    except assignment.Infeasible as exc:
        raise Refused(409, f"no complete assignment exists: {exc.message}", **exc.details)

    new_by_juror: dict[str, list[Application]] = defaultdict(list)
    fresh_by_app = {}
    for app_id, juror_ids in result.pairs.items():
        fresh = [j for j in juror_ids if j not in existing.get(app_id, ())]
        if fresh:
            fresh_by_app[app_id] = fresh
        for juror_id in fresh:
            _put_assignment(session, rnd, app_id, juror_id, "auto", now, removed)
            new_by_juror[juror_id].append(by_app[app_id])
    session.flush()  # all rows in one flush; each ledger append then flushes only itself
    for app_id, fresh in fresh_by_app.items():
        history.append(session, actor, "assignment.added", application_id=app_id, at=now,
                       data={"round_id": rnd.id, "jurors": fresh, "by": "auto"})
    added = sum(len(f) for f in fresh_by_app.values())
    for juror_id, their_apps in new_by_juror.items():
        _digest(session, rnd, jurors[juror_id], their_apps, jury_url)
    return {"round_id": rnd.id, "added": added, "applications": len(apps), "jurors_notified": len(new_by_juror),
            "loads": result.loads, "pairs": result.pairs}


def adjust(session: Session, round_id, application_id, add: list, remove: list, actor: str, now: datetime,
           reason: str = "", jury_url: str = "http://127.0.0.1:8002/jury") -> list[Assignment]:
    """Assign or unassign jurors by hand for one application of the round."""
    rnd = _open_round(session, round_id)
    app = _get(session, Application, application_id, "application")
    if app.call_id != rnd.call_id or app.stage not in ROUND_MEMBERS[rnd.kind]:
        raise Refused(409, f"application {app.reference} is not in this {rnd.kind} round")
    add, remove = [str(j) for j in add], [str(j) for j in remove]
    both = sorted(set(add) & set(remove))
    if both:
        raise Refused(422, "a juror cannot be added and removed at once",
                      errors={"add": [f"also removed: {both}"]})
    rows = {r.juror_id: r for r in session.scalars(select(Assignment).where(
        Assignment.round_id == rnd.id, Assignment.application_id == app.id))}
    unknown = [j for j in add + remove if session.get(Juror, j) is None]
    if unknown:
        raise Refused(422, "unknown juror(s)", errors={"add" if unknown[0] in add else "remove":
                                                         [f"no juror {j}" for j in unknown]})
    declared = conflicted_pairs(session, [app.id])
    refused = {}
    for juror_id in add:
        juror = session.get(Juror, juror_id)
        reasons = assignment.conflicts(as_juror(juror), as_candidate(app))
        if (juror_id, app.id) in declared and not reasons:
            reasons = ["declared"]
        if reasons:
            refused[juror_id] = reasons
        elif not juror.active:
            refused[juror_id] = ["inactive"]
        elif juror.invitation == "declined":
            refused[juror_id] = ["declined the invitation"]
    if refused:
        raise Refused(409, f"conflicted, inactive or declined juror(s) cannot review {app.reference}", refused=refused)
    for juror_id in remove:
        row = rows.get(juror_id)
        if row is None or row.status == "removed":
            raise Refused(422, "not assigned", errors={"remove": [f"juror {juror_id} is not assigned to it"]})
        if row.status == "submitted" and not (reason or "").strip():
            raise Refused(422, "this juror already submitted scores: removing them needs a reason",
                          errors={"reason": ["required to remove a juror who submitted scores"]})
    for juror_id in remove:
        row = rows[juror_id]
        history.append(session, actor, "assignment.removed", application_id=app.id, juror_id=juror_id, at=now,
                       data={"round_id": rnd.id, "reason": reason, "had_submitted": row.status == "submitted"})
        row.status, row.updated_at = "removed", now
    removed = {(app.id, j): r for j, r in rows.items() if r.status == "removed"}
    for juror_id in add:
        current = rows.get(juror_id)
        if current is not None and current.status != "removed":
            continue  # already assigned
        rows[juror_id] = _put_assignment(session, rnd, app.id, juror_id, actor, now, removed)
        history.append(session, actor, "assignment.added", application_id=app.id, juror_id=juror_id, at=now,
                       data={"round_id": rnd.id, "jurors": [juror_id], "by": actor})
        _digest(session, rnd, session.get(Juror, juror_id), [app], jury_url)
    session.flush()
    return sorted((r for r in rows.values() if r.status != "removed"), key=lambda r: r.assigned_at)


def list_rounds(session: Session, call_id=None) -> list[Round]:
    """Every round, oldest first (of one call with call_id)."""
    q = select(Round).order_by(Round.opened_at, Round.id)
    if call_id is not None:
        q = q.where(Round.call_id == str(call_id))
    return list(session.scalars(q))


def round_detail(session: Session, round_id) -> dict:
    rnd = session.get(Round, str(round_id))
    if rnd is None:
        raise Refused(404, f"no round {round_id}")
    return round_summary(session, rnd)
