"""From jurors' scores to standings, agreement and the cut (plain data in, plain data out).

Choices, stated once:
- A weighted total is Σ w_c·s_c / Σ w_c over the weighted criteria: weights need not sum to 1.
  A review missing a weighted criterion is an error (ValueError), not a silent zero; criteria
  without a weight are ignored.
- Standard deviations are population ones (divide by n): a juror's reviews are all of that
  juror's scoring, not a sample of it. spread = max − min of an application's weighted totals.
- disagreement: spread > disagreement_threshold, by default 25 % of the scale's range
  (2.5 points on a 0-10 scale).
- Normalisation: each juror's weighted totals become z-scores by that juror's own mean and sd.
  A juror with a single review or sd 0 cannot be standardised: their z is 0 (the juror is
  listed in Standing.flat_jurors and in juror_stats). An application's normalised score is its
  mean z mapped back onto the scale for display, overall mean + mean z · overall sd (both over
  every weighted total of the round), so it reads like a score; it may fall slightly outside
  the scale for an extreme application (it is not clamped: clamping would invent ties).
- Ranks are competition ranks ("1224"): equal scores share a rank. Scores are compared rounded
  to 9 decimals so that 7 + 8 + 9 and 9 + 8 + 7 never differ by a float's last bit.
- Ties at a cut are returned as ties for a human decision, never broken.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

DECIMALS = 9
DEFAULT_SCALE = (0.0, 10.0)


@dataclass(frozen=True)
class Review:
    application_id: str
    juror_id: str
    scores: Mapping[str, float]


@dataclass
class Standing:
    application_id: str
    n_reviews: int
    mean: float
    median: float
    spread: float                   # max − min of the weighted totals
    sd: float                       # population sd of the weighted totals
    disagreement: bool              # spread > threshold
    ranked: bool                    # n_reviews ≥ min_reviews
    rank: int | None                # raw rank among ranked applications (1 = best)
    totals: dict[str, float] = field(default_factory=dict)        # juror id → weighted total
    z_scores: dict[str, float] | None = None                     # juror id → z (normalised only)
    normalised_mean: float | None = None                         # on the scale (see module doc)
    mean_z: float | None = None
    normalised_rank: int | None = None
    moved: int | None = None                                     # raw rank − normalised rank
    explanation: str = ""
    flat_jurors: tuple[str, ...] = ()   # its jurors whose z is 0 for lack of spread or reviews

    @property
    def score(self) -> float:
        """The score the leaderboard uses: normalised when normalisation ran, else the mean."""
        return self.mean if self.normalised_mean is None else self.normalised_mean


@dataclass(frozen=True)
class JurorStats:
    juror_id: str
    n_reviews: int
    mean: float
    sd: float
    standardised: bool              # False: one review or sd 0, so every z of theirs is 0


@dataclass
class Placing:
    """One line of a category's leaderboard."""
    rank: int | None                # competition rank within the category (None: unranked)
    standing: Standing
    outcome: str                    # "advance", "tie" (a human decides), "eliminate", "unranked"


def _key(value: float) -> float:
    return round(value, DECIMALS)


def weighted_total(scores: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """Σ w_c·s_c / Σ w_c over the criteria that carry a weight."""
    total_weight = 0.0
    total = 0.0
    for criterion, weight in weights.items():
        if weight < 0:
            raise ValueError(f"weight of {criterion} is negative")
        if weight == 0:
            continue
        if criterion not in scores:
            raise ValueError(f"no score for criterion {criterion}")
        total += weight * float(scores[criterion])
        total_weight += weight
    if total_weight <= 0:
        raise ValueError("weights must have a positive sum")
    return total / total_weight


def _totals(reviews: Iterable[Review], weights: Mapping[str, float]) -> dict[str, dict[str, float]]:
    """application id → juror id → weighted total (insertion order = input order)."""
    by_app: dict[str, dict[str, float]] = {}
    for review in reviews:
        per_app = by_app.setdefault(review.application_id, {})
        if review.juror_id in per_app:
            raise ValueError(f"juror {review.juror_id} reviewed {review.application_id} twice")
        per_app[review.juror_id] = weighted_total(review.scores, weights)
    return by_app


def _mean_sd(values: Sequence[float]) -> tuple[float, float]:
    n = len(values)
    mean = math.fsum(values) / n
    return mean, math.sqrt(math.fsum((v - mean) ** 2 for v in values) / n)


def juror_stats(reviews: Iterable[Review], weights: Mapping[str, float]) -> dict[str, JurorStats]:
    """Each juror's mean and sd of weighted totals: what normalisation standardises by."""
    return _juror_stats(_totals(reviews, weights))


def _juror_stats(by_app: Mapping[str, Mapping[str, float]]) -> dict[str, JurorStats]:
    values: dict[str, list[float]] = {}
    for per_app in by_app.values():
        for juror, total in per_app.items():
            values.setdefault(juror, []).append(total)
    stats = {}
    for juror, vals in values.items():
        mean, sd = _mean_sd(vals)
        stats[juror] = JurorStats(juror, len(vals), mean, sd, len(vals) > 1 and _key(sd) > 0)
    return stats


def _competition_ranks(items: list[tuple[str, float]]) -> dict[str, int]:
    """id → rank, best score first; equal (rounded) scores share the better rank."""
    ordered = sorted(items, key=lambda item: (-_key(item[1]), item[0]))
    ranks, previous, rank = {}, None, 0
    for position, (ident, value) in enumerate(ordered, start=1):
        if _key(value) != previous:
            rank, previous = position, _key(value)
        ranks[ident] = rank
    return ranks


_WORDS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def _count(n: int) -> str:
    return _WORDS[n] if n < len(_WORDS) else str(n)


def aggregate(reviews: Iterable[Review], weights: Mapping[str, float], *, min_reviews: int = 2,
              disagreement_threshold: float | None = None, normalise: bool = False,
              scale: tuple[float, float] = DEFAULT_SCALE) -> list[Standing]:
    """One Standing per reviewed application, in raw-rank order (unranked last), see module doc."""
    low, high = scale
    if high <= low:
        raise ValueError("scale must be (min, max) with min < max")
    threshold = 0.25 * (high - low) if disagreement_threshold is None else disagreement_threshold
    by_app = _totals(reviews, weights)

    standings: dict[str, Standing] = {}
    for app_id, per_app in by_app.items():
        values = list(per_app.values())
        mean, sd = _mean_sd(values)
        spread = max(values) - min(values)
        standings[app_id] = Standing(
            application_id=app_id, n_reviews=len(values), mean=mean,
            median=statistics.median(values), spread=spread, sd=sd,
            disagreement=_key(spread) > _key(threshold), ranked=len(values) >= min_reviews,
            rank=None, totals=dict(per_app))
    ranked = [s for s in standings.values() if s.ranked]
    for app_id, rank in _competition_ranks([(s.application_id, s.mean) for s in ranked]).items():
        standings[app_id].rank = rank

    if normalise and standings:
        _normalise(by_app, standings)

    return sorted(standings.values(),
                  key=lambda s: (s.rank is None, s.rank or 0, s.application_id))


def _normalise(by_app: Mapping[str, Mapping[str, float]], standings: dict[str, Standing]) -> None:
    stats = _juror_stats(by_app)
    everything = [t for per_app in by_app.values() for t in per_app.values()]
    overall_mean, overall_sd = _mean_sd(everything)
    for app_id, per_app in by_app.items():
        s = standings[app_id]
        z = {}
        for juror, total in per_app.items():
            js = stats[juror]
            z[juror] = (total - js.mean) / js.sd if js.standardised else 0.0
        s.z_scores = z
        s.mean_z = math.fsum(z.values()) / len(z)
        s.normalised_mean = overall_mean + s.mean_z * overall_sd
        s.flat_jurors = tuple(j for j in per_app if not stats[j].standardised)
    ranked = [s for s in standings.values() if s.ranked]
    ranks = _competition_ranks([(s.application_id, s.mean_z) for s in ranked])
    for s in ranked:
        s.normalised_rank = ranks[s.application_id]
        s.moved = s.rank - s.normalised_rank
        s.explanation = _explain(s, stats, overall_mean)


def _explain(s: Standing, stats: Mapping[str, JurorStats], overall_mean: float) -> str:
    places = abs(s.moved)
    unit = "place" if places == 1 else "places"
    if s.moved > 0:
        harsh = sum(1 for j in s.totals if _key(stats[j].mean) < _key(overall_mean))
        verb = "scores" if harsh == 1 else "score"
        return (f"moved up {places} {unit}: {_count(harsh)} of its jurors {verb} harshly"
                if harsh else f"moved up {places} {unit}: it scored high for its jurors' own standards")
    if s.moved < 0:
        lenient = sum(1 for j in s.totals if _key(stats[j].mean) > _key(overall_mean))
        verb = "scores" if lenient == 1 else "score"
        return (f"moved down {places} {unit}: {_count(lenient)} of its jurors {verb} leniently"
                if lenient else f"moved down {places} {unit}: it scored low for its jurors' own standards")
    return "unchanged by normalisation"


def agreement(reviews: Iterable[Review], weights: Mapping[str, float]) -> dict:
    """Krippendorff's alpha (interval metric) on the weighted totals of a round.

    Units are applications, coders are jurors; jurors review different subsets (missing data)
    and units with fewer than two values are not pairable and left out. With m_u the number of
    values in unit u and n = Σ m_u over pairable units, the coincidence matrix is

        o_ck = Σ_u (number of ordered pairs (c, k) of values in u, from different jurors) / (m_u − 1)
        n_c  = Σ_k o_ck,   δ²_ck = (c − k)²  (interval metric)

        alpha = 1 − D_o / D_e,   D_o = (1/n) Σ_c Σ_k o_ck δ²_ck,
                                 D_e = (1/(n(n − 1))) Σ_c Σ_k n_c n_k δ²_ck.

    For the interval metric both sums reduce without building the matrix, since over any list
    of m values Σ_{i,j} (v_i − v_j)² = 2m Σ (v_i − v̄)²:
        Σ o_ck δ²_ck = Σ_u 2 m_u SS_u / (m_u − 1),   Σ n_c n_k δ²_ck = 2 n SS
    (SS_u: squared deviations within unit u; SS: over all n pairable values), hence
        alpha = 1 − (n − 1)/n · Σ_u [m_u SS_u / (m_u − 1)] / SS,
    which is linear in the number of reviews. alpha is None when the pairable values do not
    vary at all (D_e = 0: alpha is undefined).
    """
    by_app = _totals(reviews, weights)
    units = [list(per_app.values()) for per_app in by_app.values() if len(per_app) >= 2]
    n = sum(len(u) for u in units)
    result = {"alpha": None, "n_units": len(units), "n_pairable": n,
              "n_applications": len(by_app), "metric": "interval"}
    if n < 2:
        return result
    within = 0.0
    for values in units:
        m = len(values)
        _, sd = _mean_sd(values)
        within += m * (m * sd * sd) / (m - 1)
    flat = [v for u in units for v in u]
    _, sd_all = _mean_sd(flat)
    ss = n * sd_all * sd_all
    if ss <= 1e-12 * max(1.0, max(abs(v) for v in flat)) ** 2:
        return result
    result["alpha"] = 1.0 - (n - 1) / n * within / ss
    return result


def leaderboard(standings: Iterable[Standing], category_of: Mapping[str, str] | Callable[[str], str], *,
                top_n: int | Mapping[str, int]) -> dict[str, list[Placing]]:
    """Per category, the placings best first; the top_n (an int, or one per category) decides
    "advance" / "tie" / "eliminate" as `cut` does; unranked applications come last."""
    lookup = category_of if callable(category_of) else category_of.__getitem__
    by_category: dict[str, list[Standing]] = {}
    for s in standings:
        by_category.setdefault(lookup(s.application_id), []).append(s)
    board = {}
    for category in sorted(by_category):
        members = by_category[category]
        n = top_n if isinstance(top_n, int) else top_n.get(category, 0)
        advance, eliminate, ties = cut(members, n)
        outcome = {id(s): "advance" for s in advance}
        outcome.update({id(s): "tie" for s in ties})
        outcome.update({id(s): "eliminate" for s in eliminate})
        ranked = [s for s in members if s.ranked]
        ranks = _competition_ranks([(s.application_id, s.score) for s in ranked])
        ordered = sorted(ranked, key=lambda s: (ranks[s.application_id], s.application_id))
        rows = [Placing(ranks[s.application_id], s, outcome[id(s)]) for s in ordered]
        rows += [Placing(None, s, "unranked")
                 for s in sorted((s for s in members if not s.ranked), key=lambda s: s.application_id)]
        board[category] = rows
    return board


def cut(standings_in_category: Iterable[Standing], top_n: int
        ) -> tuple[list[Standing], list[Standing], list[Standing]]:
    """(advance, eliminate, ties) for the best top_n by Standing.score.

    When equal scores straddle position top_n, the whole tied group goes to ties for a human
    decision: advance holds only those strictly above it, eliminate those strictly below.
    Unranked standings (fewer than min_reviews) take part in none of the three.
    """
    if top_n < 0:
        raise ValueError("top_n must not be negative")
    ranked = sorted((s for s in standings_in_category if s.ranked),
                    key=lambda s: (-_key(s.score), s.application_id))
    if len(ranked) <= top_n:
        return ranked, [], []
    if top_n == 0:
        return [], ranked, []
    last_in, first_out = _key(ranked[top_n - 1].score), _key(ranked[top_n].score)
    if last_in != first_out:
        return ranked[:top_n], ranked[top_n:], []
    advance = [s for s in ranked if _key(s.score) > last_in]
    ties = [s for s in ranked if _key(s.score) == last_in]
    eliminate = [s for s in ranked if _key(s.score) < last_in]
    return advance, eliminate, ties
