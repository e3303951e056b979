"""A look before each irreversible click: what saving an assignment, closing a round and
releasing its results will do, computed without writing anything, each with a fingerprint of
the facts it was computed from; and the confirmations, which do it only while the fingerprint
still matches (409 "the preview is stale" otherwise) and only once (a second click with the
same fingerprint finds the first one's ledger entry and changes nothing).

The previews read; the caller rolls their session back. The confirmations run inside the
caller's transaction, as every operation here does.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import assignment
from ..models import Application, Assignment, Call, Conflict, Juror, LedgerEntry, Round
from . import history
from .common import ROUND_KINDS, Refused, _get, plain
from .decisions import close_round, release
from .jurors import as_candidate, as_juror
from .rounds import auto_assign, round_applications
from .standings import standings

CONFIRMED = "preview.confirmed"  # the ledger entry that makes a second click a no-op
STALE = "the preview is stale: {what} changed since it was shown; look at the new preview and confirm again"


def fingerprint(facts) -> str:
    """A short digest of the facts a preview was computed from (JSON, keys sorted)."""
    text = json.dumps(plain(facts), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _confirmed(session: Session, subject: str, what: str, print_: str) -> bool:
    """Whether this very preview (subject, what, fingerprint) was confirmed already."""
    for data in session.scalars(select(LedgerEntry.data).where(LedgerEntry.action == CONFIRMED)
                                .order_by(LedgerEntry.seq.desc()).limit(500)):
        if data.get("subject") == subject and data.get("what") == what and data.get("fingerprint") == print_:
            return True
    return False


def _remember(session: Session, actor: str, now: datetime, subject: str, what: str, print_: str) -> None:
    history.append(session, actor, CONFIRMED, at=now, data={"subject": subject, "what": what, "fingerprint": print_})


def _check(given: str | None, preview: dict, what: str) -> None:
    if given is not None and given != preview["fingerprint"]:
        raise Refused(409, STALE.format(what=what), fingerprint=preview["fingerprint"])


# -- assignment ---------------------------------------------------------------------------------

def assignment_preview(session: Session, round_id) -> dict:
    """Who would review what if the round were assigned now (the pure assignment, as auto_assign
    runs it): each application's jurors (kept and new), each juror's load, the conflicts avoided,
    the assignments that would end, or why no complete assignment exists."""
    rnd = _get(session, Round, round_id, "round")
    if rnd.status != "open":
        raise Refused(409, f"the {rnd.kind} round is closed: its assignments and scores are locked")
    apps = round_applications(session, rnd)
    by_app = {a.id: a for a in apps}
    jurors = {j.id: j for j in session.scalars(select(Juror).order_by(Juror.invited_at, Juror.id))}
    active = [j for j in jurors.values() if j.active]
    # the same query and order as auto_assign's: the same input gives the same assignment
    rows = session.scalars(select(Assignment).where(Assignment.round_id == rnd.id)).all()
    reasons = _conflicts(session, apps, active)
    declared = set(reasons)
    existing, ending = _kept_and_ending(rows, by_app, declared, jurors)
    people = [as_juror(j) for j in active]
    for juror_id in {jid for ids in existing.values() for jid in ids}:
        if not jurors[juror_id].active:
            people.append(as_juror(jurors[juror_id], max_load=sum(juror_id in ids for ids in existing.values())))

    facts = {"round": [rnd.id, rnd.status, rnd.jurors_per_application],
             "jurors": [[j.id, j.active, j.country, j.organisation, j.email, sorted(j.expertise or []), j.max_load]
                        for j in jurors.values()],
             "applications": [[a.id, a.stage, a.category, a.country, a.organisation, a.contact_email] for a in apps],
             "conflicts": sorted([j, a, sorted(why)] for (j, a), why in reasons.items()),
             "assignments": sorted([r.id, r.application_id, r.juror_id, r.status] for r in rows)}
    preview = {"round_id": rnd.id, "kind": rnd.kind, "call_id": rnd.call_id, "k": rnd.jurors_per_application,
               "fingerprint": fingerprint(facts), "applications": [], "loads": [], "problem": "", "short": [],
               "conflicts": [], "ending": ending, "added": 0, "jurors_notified": 0, "pairs": {}}
    in_round = set(by_app)
    preview["conflicts"] = sorted(
        ({"application_id": a, "reference": by_app[a].reference, "juror_id": j, "juror": jurors[j].name,
          "reasons": sorted(why)} for (j, a), why in reasons.items() if a in in_round and jurors[j].active),
        key=lambda c: (c["reference"], c["juror"]))
    try:
        result = assignment.assign([as_candidate(a) for a in apps], people, rnd.jurors_per_application,
                                   declared=declared, existing=dict(existing))
    except assignment.Infeasible as exc:
        preview["problem"] = exc.message
        short = [p["application"] for p in exc.details.get("too_few_jurors", [])]
        short += exc.details.get("overloaded_group", {}).get("short", [])
        short += exc.details.get("more_than_k_existing", [])
        preview["short"] = [{"application_id": a, "reference": by_app[a].reference, "title": by_app[a].title}
                            for a in dict.fromkeys(short) if a in by_app]
        return preview
    _describe_result(preview, result, apps, jurors, existing)
    return preview


def _conflicts(session: Session, apps: list[Application], active: list[Juror]) -> dict[tuple[str, str], set[str]]:
    """(juror, application) → why: the stored conflicts of these applications and those assigning
    would find and store first (auto_assign's record_conflicts)."""
    reasons: dict[tuple[str, str], set[str]] = defaultdict(set)
    if apps:
        for juror_id, app_id, source in session.execute(
                select(Conflict.juror_id, Conflict.application_id, Conflict.source)
                .where(Conflict.application_id.in_([a.id for a in apps]))):
            reasons[(juror_id, app_id)].add(source.replace("_", " "))
    candidates = [as_candidate(a) for a in apps]
    for j in active:
        plain_juror = as_juror(j)
        for candidate in candidates:
            for reason in assignment.conflicts(plain_juror, candidate):
                reasons[(j.id, candidate.id)].add(reason.replace("same ", ""))
    return reasons


def _kept_and_ending(rows, by_app: dict[str, Application], declared: set, jurors: dict[str, Juror]):
    """The assignments kept (application → jurors, as auto_assign keeps them) and those that end."""
    existing: dict[str, list[str]] = defaultdict(list)
    ending = []
    for r in rows:
        if r.status == "removed":
            continue
        if r.application_id not in by_app or (r.juror_id, r.application_id) in declared:
            left = r.application_id not in by_app
            ending.append({"application_id": r.application_id, "juror_id": r.juror_id,
                           "juror": jurors[r.juror_id].name,
                           "reference": "" if left else by_app[r.application_id].reference,
                           "why": "application left the round" if left else "conflict of interest"})
            continue
        existing[r.application_id].append(r.juror_id)
    return existing, ending


def _describe_result(preview: dict, result: assignment.Assignment, apps: list[Application],
                     jurors: dict[str, Juror], existing: dict[str, list[str]]) -> None:
    new_load: Counter = Counter()
    for a in apps:
        kept = existing.get(a.id, [])
        chosen = result.pairs.get(a.id, [])
        for j in chosen:
            if j not in kept:
                new_load[j] += 1
        preview["applications"].append({
            "application_id": a.id, "reference": a.reference, "title": a.title, "category": a.category,
            "jurors": [{"juror_id": j, "name": jurors[j].name, "new": j not in kept} for j in chosen]})
    for juror_id, load in result.loads.items():
        j = jurors[juror_id]
        preview["loads"].append({"juror_id": juror_id, "name": j.name, "load": load, "new": new_load[juror_id],
                                 "max_load": j.max_load, "active": j.active})
    preview["loads"].sort(key=lambda row: (-row["load"], row["name"]))
    preview["added"] = sum(new_load.values())
    preview["jurors_notified"] = len(new_load)
    preview["pairs"] = {a: sorted(js) for a, js in result.pairs.items()}


def save_assignment(session: Session, round_id, given: str | None, actor: str, now: datetime,
                    jury_url: str = "http://127.0.0.1:8002/jury") -> dict:
    """Save the assignment that was previewed: exactly it (409 when anything changed since), once."""
    if given is None:  # the API without a preview, as before
        return {**auto_assign(session, round_id, actor, now, jury_url=jury_url), "already": False}
    rnd = _get(session, Round, round_id, "round", lock=True)
    if _confirmed(session, rnd.id, "assignment", given):
        return {"round_id": rnd.id, "added": 0, "applications": len(round_applications(session, rnd)),
                "jurors_notified": 0, "loads": {}, "pairs": {}, "already": True}
    preview = assignment_preview(session, rnd.id)
    _check(given, preview, "jurors, applications, conflicts or assignments")
    result = auto_assign(session, rnd.id, actor, now, jury_url=jury_url)
    if {a: sorted(js) for a, js in result["pairs"].items()} != preview["pairs"]:  # the same facts give the same answer: never expected
        raise Refused(409, STALE.format(what="the assignment"), fingerprint=preview["fingerprint"])
    _remember(session, actor, now, rnd.id, "assignment", given)
    return {**result, "already": False}


# -- closing ------------------------------------------------------------------------------------

TOLD = {"advance": ["finalist_notice"], "eliminate": ["not_advanced"],
        "tie": ["finalist_notice", "not_advanced"], "unranked": ["finalist_notice", "not_advanced"]}


def close_preview(session: Session, round_id, normalise: bool = False) -> dict:
    """What closing the round now does: per category the cut, who advances, the ties at the cut
    and the applications short of reviews (each needs a decision), and what each applicant will be
    told once the round is released."""
    rnd = _get(session, Round, round_id, "round")
    if rnd.status != "open":
        raise Refused(409, f"the {rnd.kind} round is closed already")
    table = standings(session, rnd.id, normalise=normalise)
    categories, facts = [], []
    for key, c in table["categories"].items():
        rows = []
        for row in c["leaderboard"]:
            told = TOLD.get(row["outcome"], []) if rnd.kind == "finalist" else []
            rows.append({k: row[k] for k in ("application_id", "reference", "title", "rank", "outcome", "score",
                                              "n_reviews", "stage")} | {"told": told})
            facts.append([row["application_id"], row["stage"], row["outcome"], row["rank"],
                          None if row["score"] is None else round(row["score"], 6), row["n_reviews"]])
        categories.append({"category": key, "cut": rnd.advance_per_category, "rows": rows,
                           "advance": sum(r["outcome"] == "advance" for r in rows),
                           "ties": [r for r in rows if r["outcome"] == "tie"],
                           "short": [r for r in rows if r["outcome"] == "unranked"]})
    awards = []
    if rnd.kind == "award":  # closing locks the scores; the awards are decided one by one
        for a in round_applications(session, rnd):
            told = ({"winner": ["award_winner"], "special_mention": ["award_winner"],
                     "not_awarded": ["not_awarded"]}.get(a.outcome or "", []))
            awards.append({"application_id": a.id, "reference": a.reference, "title": a.title,
                           "outcome": a.outcome, "told": told})
            facts.append([a.id, a.outcome, a.award])
    needs = [r for c in categories for r in c["ties"] + c["short"]] if rnd.kind == "finalist" else []
    return {"round_id": rnd.id, "kind": rnd.kind, "call_id": rnd.call_id, "normalise": normalise,
            "advance_per_category": rnd.advance_per_category, "min_reviews": rnd.min_reviews,
            "categories": categories, "awards": awards, "needs_decision": [r["application_id"] for r in needs],
            "fingerprint": fingerprint([rnd.id, rnd.status, rnd.kind, normalise, rnd.advance_per_category,
                                        rnd.min_reviews, facts])}


def confirm_close(session: Session, round_id, given: str | None, decisions: dict, actor: str, now: datetime,
                  normalise: bool = False) -> dict:
    """Close the round as previewed, with a decision for each tie and each application short of
    reviews (422 naming the ones missing); 409 when the standings changed since; once."""
    if given is None:  # the API without a preview, as before
        return {**close_round(session, round_id, actor, now, decisions=decisions, normalise=normalise),
                "already": False}
    rnd = _get(session, Round, round_id, "round", lock=True)
    if rnd.status != "open" and _confirmed(session, rnd.id, "close", given):
        return {"round": rnd, "advanced": 0, "eliminated": 0, "already": True}
    preview = close_preview(session, rnd.id, normalise)
    _check(given, preview, "scores, reviews or the round's settings")
    decisions = {str(k): v for k, v in (decisions or {}).items()}
    missing = [a for a in preview["needs_decision"] if decisions.get(a) not in ("advance", "eliminate")]
    if missing:
        raise Refused(422, "decide every tie and every application short of reviews",
                      errors={"decisions": {a: ["choose advance or do not advance"] for a in missing}})
    result = close_round(session, rnd.id, actor, now, decisions=decisions, normalise=normalise)
    _remember(session, actor, now, rnd.id, "close", given)
    return {**result, "already": False}


# -- release ------------------------------------------------------------------------------------

def _template(kind: str, app: Application) -> str:
    if kind == "finalist":
        return "finalist_notice" if app.stage == "finalist" else "not_advanced"
    return "award_winner" if app.outcome in ("winner", "special_mention") else "not_awarded"


def release_preview(session: Session, call_id, kind: str) -> dict:
    """Every email releasing the round will cause: one per decided application (its template and
    the applicant's language), grouped, with one application of each group to show as a sample."""
    call = _get(session, Call, call_id, "call")
    if kind not in ROUND_KINDS:
        raise Refused(422, "unknown round", errors={"round": [f"one of {', '.join(ROUND_KINDS)}"]})
    rnd = session.scalar(select(Round).where(Round.call_id == call.id, Round.kind == kind))
    if rnd is None:
        raise Refused(409, f"the {kind} round of this call was never opened")
    if kind == "finalist" and rnd.status != "closed":
        raise Refused(409, "close the finalist round before releasing its results")
    q = select(Application).where(Application.call_id == call.id)
    if kind == "finalist":
        q = q.where(Application.stage.in_(("finalist", "not_advanced")))
    else:
        q = q.where(Application.outcome.is_not(None), Application.stage != "withdrawn")
    decided = session.scalars(q.order_by(Application.reference)).all()
    recipients, groups = [], {}
    for app in decided:
        template = _template(kind, app)
        recipients.append({"application_id": app.id, "reference": app.reference, "organisation": app.organisation,
                           "title": app.title, "template": template, "language": app.language})
        group = groups.setdefault((template, app.language), {
            "template": template, "language": app.language, "count": 0, "sample_application_id": app.id,
            "sample_reference": app.reference,
            "variables": {"outcome": app.outcome, "award": app.award or ""} if template == "award_winner" else {}})
        group["count"] += 1
    facts = [rnd.id, kind, rnd.status, rnd.released_at,
             [[r["application_id"], r["template"], r["language"]] for r in recipients],
             [[a.id, a.award] for a in decided if kind == "award"]]
    return {"call_id": call.id, "year": call.year, "round": kind, "round_id": rnd.id,
            "released_at": rnd.released_at, "emails": len(recipients),
            "groups": sorted(groups.values(), key=lambda g: (g["template"], g["language"])),
            "recipients": recipients, "fingerprint": fingerprint(facts)}


def confirm_release(session: Session, call_id, kind: str, given: str | None, actor: str, now: datetime,
                    year: str | int | None = None) -> dict:
    """Release as previewed: the edition's year typed in (422 otherwise), the same decisions as
    the preview (409 otherwise); releasing again changes nothing."""
    call = _get(session, Call, call_id, "call")
    if year is not None and str(year).strip() != str(call.year):
        raise Refused(422, f"type the edition's year, {call.year}, to confirm the release",
                      errors={"year": [f"type {call.year} to confirm"]})
    rnd = session.scalar(select(Round).where(Round.call_id == call.id, Round.kind == kind).with_for_update()) \
        if kind in ROUND_KINDS else None
    if rnd is not None and rnd.released_at is not None:
        return release(session, call.id, kind, actor, now)  # already released: nothing happens
    if given is not None:
        _check(given, release_preview(session, call.id, kind), "a decision")
    return release(session, call.id, kind, actor, now)
