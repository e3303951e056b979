"""The secretariat's side of review: jurors, screening, rounds, assignment, the cut, awards and
their release. Free of Flask: a session in, rows and dicts out; a broken rule raises Refused.

Every function runs inside the caller's transaction (state change, ledger entry and outbox event
commit together); a Refused means "roll back", except when ``keep`` is set (close_round stores
the ties it found before refusing).
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.events import make_event
from shared.outbox import record

from . import accounts, assignment, history, scoring
from .models import Application, Assignment, Call, Conflict, Juror, Round, outbox

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


# -- conflicts of interest ----------------------------------------------------------------------

def as_juror(j: Juror, max_load: int | None = None) -> assignment.Juror:
    return assignment.Juror(id=j.id, country=j.country, organisation=j.organisation, email=j.email,
                            expertise=frozenset(j.expertise or ()),
                            max_load=j.max_load if max_load is None else max_load)


def as_candidate(a: Application) -> assignment.Candidate:
    return assignment.Candidate(id=a.id, category=a.category, country=a.country,
                                organisation=a.organisation, contact_email=a.contact_email)


def record_conflicts(session: Session, jurors: list[Juror], applications: list[Application],
                     actor: str, now: datetime) -> list[Conflict]:
    """Store the automatic conflicts between these jurors and applications that are not stored
    yet (one row per source), each with its ledger entry. Returns the new rows."""
    if not jurors or not applications:
        return []
    known = set(session.execute(
        select(Conflict.juror_id, Conflict.application_id, Conflict.source)
        .where(Conflict.juror_id.in_([j.id for j in jurors]) if len(jurors) <= len(applications)
               else Conflict.application_id.in_([a.id for a in applications]))).all())
    added = []
    candidates = [(a, as_candidate(a)) for a in applications]
    for j in jurors:
        plain = as_juror(j)
        for a, candidate in candidates:
            for reason in assignment.conflicts(plain, candidate):
                source = SOURCES.get(reason, reason)
                if (j.id, a.id, source) in known:
                    continue
                known.add((j.id, a.id, source))
                row = Conflict(id=_id(), juror_id=j.id, application_id=a.id, source=source, reason=reason,
                               created_by=actor, created_at=now)
                added.append(row)
    if added:
        session.add_all(added)
        session.flush()
        for row in added:
            history.append(session, actor, "conflict.detected", application_id=row.application_id,
                           juror_id=row.juror_id, data={"source": row.source, "reason": row.reason}, at=now)
    return added


def conflicted_pairs(session: Session, application_ids=None) -> set[tuple[str, str]]:
    """(juror_id, application_id) of every stored conflict, automatic or declared."""
    q = select(Conflict.juror_id, Conflict.application_id)
    if application_ids is not None:
        q = q.where(Conflict.application_id.in_(list(application_ids)))
    return set(session.execute(q).all())


# -- jurors -----------------------------------------------------------------------------------

def invite_juror(session: Session, data: dict, actor: str, now: datetime) -> Juror:
    email = data["email"].strip().lower()
    if session.scalar(select(Juror.id).where(Juror.email == email)):
        raise Refused(f"a juror with the email {email} was already invited", 409)
    juror = Juror(id=_id(), name=data["name"].strip(), email=email, country=data["country"].upper(),
                  organisation=data.get("organisation", "").strip(), expertise=list(data.get("expertise") or []),
                  languages=list(data.get("languages") or []), language=data.get("language") or "en",
                  max_load=data.get("max_load"), active=True, invited_by=actor, invited_at=now)
    session.add(juror)
    session.flush()
    history.append(session, actor, "juror.invited", juror_id=juror.id, at=now, data={
        "name": juror.name, "email": juror.email, "country": juror.country,
        "organisation": juror.organisation, "expertise": juror.expertise, "max_load": juror.max_load})
    in_review = session.scalars(select(Application).where(Application.stage != "withdrawn")).all()
    record_conflicts(session, [juror], list(in_review), "auto", now)
    url, expires_at = accounts.invitation_link(session, juror, now)
    _emit(session, "juror.invited", {
        "juror_id": juror.id, "name": juror.name, "email": juror.email, "language": juror.language,
        "organisation": juror.organisation, "url": url, "expires_at": expires_at}, juror.id)
    return juror


def juror_summary(session: Session, juror: Juror) -> dict:
    """The juror with their conflicts and, per round, their progress."""
    conflicts = session.scalars(select(Conflict).where(Conflict.juror_id == juror.id)
                                .order_by(Conflict.created_at, Conflict.id)).all()
    progress: dict[str, dict] = {}
    for rnd_id, status in session.execute(select(Assignment.round_id, Assignment.status)
                                          .where(Assignment.juror_id == juror.id)):
        if status == "removed":
            continue
        p = progress.setdefault(rnd_id, {"round_id": rnd_id, "assigned": 0, "submitted": 0})
        p["assigned"] += 1
        p["submitted"] += status == "submitted"
    return {"juror": juror, "conflicts": list(conflicts), "progress": list(progress.values())}


# -- screening --------------------------------------------------------------------------------

def screen(session: Session, application_id, eligible: bool, reason: str, actor: str,
           now: datetime) -> Application:
    app = _get(session, Application, application_id, "application", lock=True)
    reason = (reason or "").strip()
    if app.stage == "withdrawn":
        raise Refused(f"application {app.reference} was withdrawn: it left every round", 409)
    if not eligible and not reason:
        raise Refused("an ineligible application needs a reason", 422,
                      errors={"reason": ["required when the application is ineligible"]})
    stage = "eligible" if eligible else "ineligible"
    if app.stage == stage:
        return app  # the same answer again: nothing changes, nothing is sent
    if app.stage not in ("submitted", *SCREENED):
        raise Refused(f"application {app.reference} is already {app.stage}: screening is over for it", 409)
    if app.stage in SCREENED:
        later = session.scalar(select(Round.id).where(Round.call_id == app.call_id, Round.kind == "finalist"))
        if later is not None:
            raise Refused(f"the finalist round of this call has started: {app.reference} stays {app.stage}", 409)
    previous = app.stage
    app.stage, app.screening_reason, app.screened_by, app.screened_at = stage, reason, actor, now
    history.append(session, actor, "application.screened", application_id=app.id, at=now,
                   data={"eligible": eligible, "reason": reason, "previous": previous})
    _emit(session, "application.screened", {"application_id": app.id, "reference": app.reference,
                                             "eligible": eligible, "reason": reason, "screened_at": now}, app.id)
    return app


# -- rounds -----------------------------------------------------------------------------------

ROUND_SETTINGS = ("jurors_per_application", "advance_per_category", "min_reviews", "peer_scores",
                  "disagreement_threshold", "due_at")


def open_round(session: Session, call_id, kind: str, settings: dict, actor: str, now: datetime) -> Round:
    call = _get(session, Call, call_id, "call")
    if kind not in ROUND_KINDS:
        raise Refused(f"a round is one of {', '.join(ROUND_KINDS)}", 422, errors={"kind": ["unknown round"]})
    if session.scalar(select(Round.id).where(Round.call_id == call.id, Round.kind == kind)):
        raise Refused(f"the {kind} round of the {call.year} call is already open", 409)
    if kind == "award":
        finalist = session.scalar(select(Round).where(Round.call_id == call.id, Round.kind == "finalist"))
        if finalist is None or finalist.status != "closed":
            raise Refused("the award round takes the finalists: close the finalist round first", 409)
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
        raise Refused(f"the {rnd.kind} round is closed: its assignments and scores are locked", 409)
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
    active = [j for j in jurors.values() if j.active]
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
        if not jurors[juror_id].active:  # keeps their work, takes no more
            load = sum(juror_id in ids for ids in existing.values())
            people.append(as_juror(jurors[juror_id], max_load=load))
    try:
        result = assignment.assign([as_candidate(a) for a in apps], people, rnd.jurors_per_application,
                                   declared=declared, existing=dict(existing))
    except assignment.Infeasible as exc:
        raise Refused(f"no complete assignment exists: {exc.message}", 409, details=exc.details)

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
        raise Refused(f"application {app.reference} is not in this {rnd.kind} round", 409)
    add, remove = [str(j) for j in add], [str(j) for j in remove]
    both = sorted(set(add) & set(remove))
    if both:
        raise Refused("a juror cannot be added and removed at once", 422, errors={"add": [f"also removed: {both}"]})
    rows = {r.juror_id: r for r in session.scalars(select(Assignment).where(
        Assignment.round_id == rnd.id, Assignment.application_id == app.id))}
    unknown = [j for j in add + remove if session.get(Juror, j) is None]
    if unknown:
        raise Refused("unknown juror(s)", 422, errors={"add" if unknown[0] in add else "remove":
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
    if refused:
        raise Refused(f"conflicted or inactive juror(s) cannot review {app.reference}", 409,
                      details={"refused": refused})
    for juror_id in remove:
        row = rows.get(juror_id)
        if row is None or row.status == "removed":
            raise Refused("not assigned", 422, errors={"remove": [f"juror {juror_id} is not assigned to it"]})
        if row.status == "submitted" and not (reason or "").strip():
            raise Refused("this juror already submitted scores: removing them needs a reason", 422,
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


# -- standings ------------------------------------------------------------------------------

def _category_terms(call: Call, category: str) -> tuple[dict, tuple[float, float]]:
    for c in call.categories or []:
        if c["key"] == category:
            weights = {x["key"]: float(x.get("weight", 1.0)) for x in c["criteria"]}
            low = c.get("score_min") if c.get("score_min") is not None else call.score_min
            high = c.get("score_max") if c.get("score_max") is not None else call.score_max
            return weights, (float(low), float(high))
    raise Refused(f"the call has no category {category}", 409)


def _standing_dict(s: scoring.Standing, rank, outcome: str, app: Application) -> dict:
    return {"application_id": s.application_id, "reference": app.reference, "title": app.title,
            "category": app.category, "stage": app.stage, "rank": rank, "outcome": outcome,
            "n_reviews": s.n_reviews, "mean": s.mean, "median": s.median, "spread": s.spread, "sd": s.sd,
            "disagreement": s.disagreement, "ranked": s.ranked, "raw_rank": s.rank, "score": s.score,
            "normalised_mean": s.normalised_mean, "normalised_rank": s.normalised_rank, "moved": s.moved,
            "explanation": s.explanation, "totals": dict(s.totals)}


def _empty_dict(app: Application) -> dict:
    return {"application_id": app.id, "reference": app.reference, "title": app.title, "category": app.category,
            "stage": app.stage, "rank": None, "outcome": "unranked", "n_reviews": 0, "mean": None,
            "median": None, "spread": None, "sd": None, "disagreement": False, "ranked": False,
            "raw_rank": None, "score": None, "normalised_mean": None, "normalised_rank": None, "moved": None,
            "explanation": "", "totals": {}}


def standings(session: Session, round_id, normalise: bool = False) -> dict:
    """Per category: the leaderboard (with the cut at N), agreement; the round's agreement."""
    rnd = _get(session, Round, round_id, "round")
    call = session.get(Call, rnd.call_id)
    apps = {a.id: a for a in round_applications(session, rnd)}
    submitted = session.scalars(select(Assignment).where(
        Assignment.round_id == rnd.id, Assignment.status == "submitted")
        .order_by(Assignment.submitted_at, Assignment.id)).all()
    reviews: dict[str, list[scoring.Review]] = defaultdict(list)
    for r in submitted:
        if r.application_id in apps:
            reviews[apps[r.application_id].category].append(
                scoring.Review(r.application_id, r.juror_id, dict(r.scores or {})))
    categories = {}
    overall = []
    for category in sorted({a.category for a in apps.values()}):
        weights, scale = _category_terms(call, category)
        these = reviews.get(category, [])
        try:
            result = scoring.aggregate(these, weights, min_reviews=rnd.min_reviews,
                                       disagreement_threshold=rnd.disagreement_threshold,
                                       normalise=normalise, scale=scale)
            agreement = scoring.agreement(these, weights)
            overall += [scoring.Review(r.application_id, r.juror_id,
                                       {"total": scoring.weighted_total(r.scores, weights)}) for r in these]
        except ValueError as exc:
            raise Refused(f"the scores of {category} cannot be aggregated: {exc}", 409)
        board = scoring.leaderboard(result, lambda _: category, top_n=rnd.advance_per_category)
        rows = [_standing_dict(p.standing, p.rank, p.outcome, apps[p.standing.application_id])
                for p in board.get(category, [])]
        seen = {row["application_id"] for row in rows}
        rows += [_empty_dict(a) for a in apps.values() if a.category == category and a.id not in seen]
        categories[category] = {"weights": weights, "scale": list(scale), "agreement": agreement,
                                "leaderboard": rows}
    return {"round_id": rnd.id, "kind": rnd.kind, "status": rnd.status, "normalise": normalise,
            "min_reviews": rnd.min_reviews, "advance_per_category": rnd.advance_per_category,
            "agreement": scoring.agreement(overall, {"total": 1.0}), "categories": categories,
            "ties": list(rnd.ties or [])}


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
        raise Refused("decisions name applications outside this round", 422,
                      errors={"decisions": {k: ["not in this round"] for k in unknown}})
    bad = {k: ["must be advance or eliminate"] for k, v in decisions.items() if v not in ("advance", "eliminate")}
    if bad:
        raise Refused("a decision is advance or eliminate", 422, errors={"decisions": bad})
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
            raise Refused("; ".join(parts) + ": decide them (advance or eliminate) and close again", 409,
                          details={"ties": [_brief(rows[a]) for a in ties],
                                   "short_of_reviews": [_brief(rows[a]) for a in short]}, keep=True)
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
        raise Refused("unknown outcome", 422, errors={"outcome": [f"one of {', '.join(OUTCOMES)}"]})
    if app.stage == "withdrawn":
        raise Refused(f"application {app.reference} was withdrawn", 409)
    allowed = ("finalist",) if outcome != "special_mention" else ROUND_MEMBERS["finalist"]
    if app.stage not in allowed:
        who = "finalists" if outcome != "special_mention" else "eligible applications"
        raise Refused(f"only {who} can be given {outcome}; {app.reference} is {app.stage}", 409)
    rnd = session.scalar(select(Round).where(Round.call_id == app.call_id, Round.kind == "award"))
    if rnd is None:
        raise Refused("open the award round before deciding awards", 409)
    if rnd.released_at is not None:
        raise Refused("the award results were released: decisions can no longer change", 409)
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
        raise Refused("unknown round", 422, errors={"round": [f"one of {', '.join(ROUND_KINDS)}"]})
    rnd = session.scalar(select(Round).where(Round.call_id == call.id, Round.kind == kind).with_for_update())
    if rnd is None:
        raise Refused(f"the {kind} round of this call was never opened", 409)
    q = select(Application).where(Application.call_id == call.id)
    if kind == "finalist":
        if rnd.status != "closed":
            raise Refused("close the finalist round before releasing its results", 409)
        q = q.where(Application.stage.in_(("finalist", "not_advanced")))
    else:
        q = q.where(Application.outcome.is_not(None), Application.stage != "withdrawn")
    decided = session.scalars(q.order_by(Application.reference)).all()
    if rnd.released_at is not None:
        return {"round": kind, "released_at": rnd.released_at, "released": 0, "already": True}
    if not decided:
        raise Refused(f"nothing decided in the {kind} round yet: nothing to release", 409)
    rnd.released_at = now
    for app in decided:
        _emit(session, "results.released", {"application_id": app.id, "round": kind, "released_at": now}, app.id)
    history.append(session, actor, "results.released", at=now,
                   data={"call_id": call.id, "round": kind, "applications": [a.id for a in decided]})
    return {"round": kind, "released_at": now, "released": len(decided), "already": False}
