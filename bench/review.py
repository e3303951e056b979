"""Figures 6 and 7: review's jury arithmetic, pure Python in this process (no servers).

6. ranking: services.review.scoring.aggregate(normalise=True) + agreement() over n
   applications × 3 reviews × 6 criteria; baseline: a plain mean per application over the same
   reviews (a dict of lists), same run.
7. assignment: services.review.assignment.assign() of n applications × k=3 among m jurors with
   realistic conflicts (jurors and applicants from ~40 countries, shared organisations and email
   domains, a few declared conflicts); baseline: a greedy round-robin that skips conflicted jurors
   and ignores balance and expertise, same run.
Each timing is the median of ROUNDS runs on the same input (generation is not timed).
"""
from __future__ import annotations

import random
import statistics
import time

from bench.common import Row, say

ROUNDS = 3
CRITERIA = ["problem", "design", "budget", "implementation", "learning", "value"]
CATEGORIES = ["tech_innovacity"] * 5 + ["human_centricity"] * 4 + ["leadership"]
COUNTRIES = ["KR", "TW", "PL", "HU", "TH", "BR", "AU", "TR", "NG", "AE", "EC", "KZ", "CN", "JP", "ID",
             "VN", "PH", "MY", "IN", "MN", "UZ", "KE", "RW", "GH", "ZA", "EG", "MA", "FR", "DE", "ES",
             "IT", "GB", "US", "CA", "MX", "CO", "PE", "CL", "AR", "NZ"]


def _median_seconds(fn) -> tuple[float, list[float], object]:
    times, result = [], None
    for _ in range(ROUNDS):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, result


# -- figure 6 -------------------------------------------------------------------------------------

def ranking_reviews(n_apps: int, n_jurors: int = 60, seed: int = 6):
    from services.review.scoring import Review
    rng = random.Random(seed)
    bias = [rng.gauss(0, 1.2) for _ in range(n_jurors)]
    reviews = []
    for a in range(n_apps):
        quality = rng.uniform(3, 9)
        for j in rng.sample(range(n_jurors), 3):
            scores = {c: min(10, max(0, round(quality + bias[j] + rng.gauss(0, 1)))) for c in CRITERIA}
            reviews.append(Review(f"app-{a:05d}", f"juror-{j:02d}", scores))
    return reviews


def plain_means(reviews) -> dict[str, float]:
    sums: dict[str, list[float]] = {}
    for r in reviews:
        sums.setdefault(r.application_id, []).append(sum(r.scores.values()) / len(r.scores))
    return {app: sum(values) / len(values) for app, values in sums.items()}


def run_ranking(n_apps: int) -> list[Row]:
    from services.review.scoring import agreement, aggregate
    say(f"\n== 6. Ranking: {n_apps:,} applications × 3 reviews × {len(CRITERIA)} criteria, "
        "normalised, with Krippendorff's alpha ==")
    row = Row(f"6. ranking {n_apps:,}×3×6, normalised + alpha", None, "ms",
              baseline_label="(plain mean per app)", target="≤ 1 s" if n_apps >= 10000 else "≤ 1 s (at 10,000)")
    try:
        reviews = ranking_reviews(n_apps)
        weights = {c: w for c, w in zip(CRITERIA, [2, 1, 1, 1, 1, 2])}

        def ours():
            standings = aggregate(reviews, weights, normalise=True, scale=(0, 10))
            return standings, agreement(reviews, weights)

        seconds, times, (standings, alpha) = _median_seconds(ours)
        base_seconds, _, means = _median_seconds(lambda: plain_means(reviews))
        moved = sum(1 for s in standings if s.moved)
        say(f"  aggregate(normalise=True) + agreement(): median {seconds * 1000:,.0f} ms of "
            f"{', '.join(f'{t * 1000:,.0f}' for t in times)} ms; {len(standings):,} standings, "
            f"{moved:,} moved by normalisation, alpha {alpha['alpha']:.3f} over {alpha['n_pairable']:,} values")
        say(f"  baseline plain mean per application: median {base_seconds * 1000:,.0f} ms "
            f"({len(means):,} means); ratio {seconds / base_seconds:.1f}x")
        row.value, row.baseline, row.ratio = seconds * 1000, base_seconds * 1000, seconds / base_seconds
        row.met = seconds <= 1.0 and len(standings) == n_apps
    except Exception as exc:  # a figure that fails reports it and lets the others run
        say(f"  FAILED: {type(exc).__name__}: {exc}")
        row.met = False
    return [row]


# -- figure 7 -------------------------------------------------------------------------------------

def assignment_input(n_apps: int, n_jurors: int, seed: int = 7):
    from services.review.assignment import Candidate, Juror
    rng = random.Random(seed)
    topics = ["tech_innovacity", "human_centricity", "leadership", "energy", "mobility", "disaster management"]
    universities = [f"University {i}" for i in range(12)]
    jurors = []
    for i in range(n_jurors):
        country = COUNTRIES[i % len(COUNTRIES)]
        organisation = rng.choice(universities) if rng.random() < 0.4 else f"Agency {i}"
        domain = organisation.lower().replace(" ", "") + ".example"
        jurors.append(Juror(f"juror-{i:02d}", country, organisation, f"j{i}@{domain}",
                            frozenset(rng.sample(topics, 2)), 60 if i % 10 == 0 else None))
    apps = []
    for a in range(n_apps):
        country = rng.choice(COUNTRIES)
        if rng.random() < 0.05:
            organisation = rng.choice(universities)
        else:
            organisation = f"City of {country}-{rng.randrange(60)}"
        domain = organisation.lower().replace(" ", "") + ".example"
        email = f"contact{a}@{'gmail.com' if rng.random() < 0.2 else domain}"
        apps.append(Candidate(f"app-{a:05d}", rng.choice(CATEGORIES), country, organisation, email))
    declared = {(rng.choice(jurors).id, rng.choice(apps).id) for _ in range(n_apps // 50)}
    return apps, jurors, declared


def round_robin(apps, jurors, k, declared):
    """The baseline: next k non-conflicted jurors in a rotating order, no balance, no expertise."""
    from services.review.assignment import conflicts
    pairs, pointer, m = {}, 0, len(jurors)
    for app in apps:
        chosen, tried = [], 0
        while len(chosen) < k and tried < m:
            juror = jurors[pointer % m]
            pointer += 1
            tried += 1
            if not conflicts(juror, app) and (juror.id, app.id) not in declared:
                chosen.append(juror.id)
        pairs[app.id] = chosen
    return pairs


def run_assignment(n_apps: int, n_jurors: int, k: int = 3) -> list[Row]:
    from services.review.assignment import conflicts, assign
    say(f"\n== 7. Assignment: {n_apps:,} applications × k={k} among {n_jurors} jurors, conflicts "
        f"from {len(COUNTRIES)} countries, organisations and email domains ==")
    row = Row(f"7. assignment {n_apps:,}×{k} among {n_jurors} jurors", None, "ms",
              baseline_label="(greedy round-robin)", target="≤ 2 s" if n_apps >= 2400 else "≤ 2 s (at 2,400)")
    try:
        apps, jurors, declared = assignment_input(n_apps, n_jurors)
        conflicted = sum(1 for a in apps for j in jurors if conflicts(j, a) or (j.id, a.id) in declared)
        seconds, times, result = _median_seconds(lambda: assign(apps, jurors, k, declared=declared))
        base_seconds, _, base = _median_seconds(lambda: round_robin(apps, jurors, k, declared))
        by_id = {j.id: j for j in jurors}
        valid = all(len(set(result.pairs[a.id])) == k and not any(
            conflicts(by_id[j], a) or (j, a.id) in declared for j in result.pairs[a.id]) for a in apps)
        capped_ok = all(result.loads[j.id] <= j.max_load for j in jurors if j.max_load is not None)
        uncapped = [result.loads[j.id] for j in jurors if j.max_load is None]
        base_loads: dict[str, int] = {}
        for chosen in base.values():
            for j in chosen:
                base_loads[j] = base_loads.get(j, 0) + 1
        say(f"  {conflicted:,} of {n_apps * n_jurors:,} pairs conflicted; {len(declared)} declared")
        say(f"  assign(): median {seconds * 1000:,.0f} ms of {', '.join(f'{t * 1000:,.0f}' for t in times)} ms; "
            f"valid {valid and capped_ok}; loads of uncapped jurors {min(uncapped)}-{max(uncapped)}, capped "
            f"{sorted(result.loads[j.id] for j in jurors if j.max_load is not None)}; expert pairs "
            f"{result.expert_pairs:,} of {n_apps * k:,} ({result.expert_pairs / (n_apps * k):.0%})")
        say(f"  baseline round-robin: median {base_seconds * 1000:,.0f} ms; loads "
            f"{min(base_loads.values())}-{max(base_loads.values())}, ignores max_load and expertise; "
            f"ratio {seconds / base_seconds:.1f}x")
        row.value, row.baseline, row.ratio = seconds * 1000, base_seconds * 1000, seconds / base_seconds
        row.met = seconds <= 2.0 and valid and capped_ok and max(uncapped) - min(uncapped) <= 1
    except Exception as exc:
        say(f"  FAILED: {type(exc).__name__}: {exc}")
        row.met = False
    return [row]
