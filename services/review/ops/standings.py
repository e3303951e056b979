"""A round's standings: per category the leaderboard with the cut, and agreement."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import scoring
from ..models import Application, Assignment, Call, Round
from .common import Refused, _get
from .rounds import round_applications

# -- standings ------------------------------------------------------------------------------

def _category_terms(call: Call, category: str) -> tuple[dict, tuple[float, float]]:
    for c in call.categories or []:
        if c["key"] == category:
            weights = {x["key"]: float(x.get("weight", 1.0)) for x in c["criteria"]}
            low = c.get("score_min") if c.get("score_min") is not None else call.score_min
            high = c.get("score_max") if c.get("score_max") is not None else call.score_max
            return weights, (float(low), float(high))
    raise Refused(409, f"the call has no category {category}")


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
            raise Refused(409, f"the scores of {category} cannot be aggregated: {exc}")
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

