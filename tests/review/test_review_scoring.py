"""review's scoring: weighted totals, standings, normalisation, Krippendorff's alpha, the cut."""
from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.review.scoring import (
    Review, Standing, agreement, aggregate, cut, juror_stats, leaderboard, weighted_total,
)

ONE = {"x": 1.0}


def _reviews(table):
    """{(application, juror): score} on the single criterion x."""
    return [Review(app, juror, {"x": score}) for (app, juror), score in table.items()]


def _by_id(standings):
    return {s.application_id: s for s in standings}


def _standing(app_id, mean, ranked=True):
    return Standing(app_id, 3 if ranked else 1, mean, mean, 0.0, 0.0, False, ranked, None)


# -- weighted totals ----------------------------------------------------------------------------

def test_weighted_total_normalises_by_the_weights_sum():
    # (2·8 + 1·6 + 1·4) / (2 + 1 + 1) = 26 / 4 = 6.5; the unweighted criterion z is ignored
    assert weighted_total({"a": 8, "b": 6, "c": 4, "z": 99}, {"a": 2, "b": 1, "c": 1}) == 6.5
    # weights 0.5/0.5 and 10/10 give the same total: (7 + 9) / 2
    assert weighted_total({"a": 7, "b": 9}, {"a": 0.5, "b": 0.5}) == weighted_total({"a": 7, "b": 9}, {"a": 10, "b": 10}) == 8


def test_weighted_total_refuses_a_missing_score_and_bad_weights():
    with pytest.raises(ValueError, match="no score for criterion b"):
        weighted_total({"a": 1}, {"a": 1, "b": 1})
    with pytest.raises(ValueError):
        weighted_total({"a": 1}, {"a": 0})
    with pytest.raises(ValueError):
        weighted_total({"a": 1, "b": 1}, {"a": 2, "b": -1})


# -- aggregation --------------------------------------------------------------------------------

def test_aggregate_mean_median_spread_sd_and_disagreement_by_hand():
    weights = {"p": 1, "q": 3}
    reviews = [
        # A: totals (1·4 + 3·8)/4 = 7, (1·6 + 3·6)/4 = 6, (1·2 + 3·2)/4 = 2
        Review("A", "j1", {"p": 4, "q": 8}), Review("A", "j2", {"p": 6, "q": 6}), Review("A", "j3", {"p": 2, "q": 2}),
        # B: totals 8, 9 → mean 8.5
        Review("B", "j1", {"p": 8, "q": 8}), Review("B", "j2", {"p": 6, "q": 10}),
    ]
    a, b = aggregate(reviews, weights)[1], aggregate(reviews, weights)[0]
    assert a.application_id == "A" and b.application_id == "B"
    # A: mean (7 + 6 + 2)/3 = 5, median 6, spread 7 − 2 = 5,
    # sd = sqrt(((7−5)² + (6−5)² + (2−5)²)/3) = sqrt(14/3)
    assert (a.n_reviews, a.mean, a.median, a.spread) == (3, 5, 6, 5)
    assert a.sd == pytest.approx(math.sqrt(14 / 3))
    # default threshold: 25 % of the 0-10 scale = 2.5; A's spread 5 > 2.5, B's 1 is not
    assert a.disagreement and not b.disagreement
    assert (b.rank, a.rank) == (1, 2)
    assert a.totals == {"j1": 7, "j2": 6, "j3": 2}
    # on a 1-100 scale the default threshold is 24.75: A no longer disagrees
    assert not _by_id(aggregate(reviews, weights, scale=(1, 100)))["A"].disagreement
    assert not _by_id(aggregate(reviews, weights, disagreement_threshold=5))["A"].disagreement
    assert _by_id(aggregate(reviews, weights, disagreement_threshold=4.99))["A"].disagreement


def test_aggregate_min_reviews_and_shared_ranks():
    reviews = _reviews({("A", "j1"): 7, ("A", "j2"): 9,      # mean 8
                        ("B", "j1"): 9, ("B", "j2"): 7,      # mean 8: shares rank 1
                        ("C", "j1"): 6, ("C", "j2"): 6,      # mean 6: rank 3 ("1 1 3")
                        ("D", "j1"): 10})                    # one review: not ranked
    standings = aggregate(reviews, ONE, min_reviews=2)
    assert [(s.application_id, s.rank, s.ranked) for s in standings] == [
        ("A", 1, True), ("B", 1, True), ("C", 3, True), ("D", None, False)]
    assert [s.rank for s in aggregate(reviews, ONE, min_reviews=1)] == [1, 2, 2, 4]   # D 10, A/B 8, C 6


def test_aggregate_ties_survive_float_summation_order():
    # 0.1 + 0.2 + 0.7 and 0.7 + 0.2 + 0.1 differ in the last bit as floats; the ranks must not.
    reviews = _reviews({("A", "j1"): 0.1, ("A", "j2"): 0.2, ("A", "j3"): 0.7,
                        ("B", "j1"): 0.7, ("B", "j2"): 0.2, ("B", "j3"): 0.1})
    assert [s.rank for s in aggregate(reviews, ONE)] == [1, 1]


NORMALISATION = {
    # juror J1 is harsh: mean (3 + 5)/2 = 4, sd 1 → z(A) = −1, z(B) = +1
    ("A", "J1"): 3, ("B", "J1"): 5,
    # juror J2 is lenient: mean (9 + 7)/2 = 8, sd 1 → z(C) = +1, z(D) = −1
    ("C", "J2"): 9, ("D", "J2"): 7,
    # J3: mean (6 + 8)/2 = 7, sd 1 → z(A) = −1, z(C) = +1
    ("A", "J3"): 6, ("C", "J3"): 8,
    # J4: mean (7 + 5)/2 = 6, sd 1 → z(B) = +1, z(D) = −1
    ("B", "J4"): 7, ("D", "J4"): 5,
}


def test_aggregate_normalised_by_hand():
    standings = _by_id(aggregate(_reviews(NORMALISATION), ONE, normalise=True))
    # raw means: A (3+6)/2 = 4.5, B (5+7)/2 = 6, C (9+8)/2 = 8.5, D (7+5)/2 = 6
    # raw ranks: C 1, B 2, D 2, A 4
    assert {k: (s.mean, s.rank) for k, s in standings.items()} == {
        "A": (4.5, 4), "B": (6, 2), "C": (8.5, 1), "D": (6, 2)}
    # mean z: A (−1−1)/2 = −1, B (+1+1)/2 = +1, C +1, D −1 → normalised ranks B 1, C 1, A 3, D 3
    assert {k: s.mean_z for k, s in standings.items()} == {"A": -1, "B": 1, "C": 1, "D": -1}
    assert standings["A"].z_scores == {"J1": -1, "J3": -1}
    assert {k: s.normalised_rank for k, s in standings.items()} == {"A": 3, "B": 1, "C": 1, "D": 3}
    # mapped back: overall mean 50/8 = 6.25; squared deviations 10.5625 1.5625 7.5625 0.5625
    # 0.0625 3.0625 0.5625 1.5625 sum to 25.5, so overall sd = sqrt(25.5/8) = sqrt(3.1875)
    sd = math.sqrt(3.1875)
    assert standings["B"].normalised_mean == pytest.approx(6.25 + sd)
    assert standings["A"].normalised_mean == pytest.approx(6.25 - sd)
    assert standings["B"].score == standings["B"].normalised_mean
    # moved = raw − normalised: A 4−3 = +1, B 2−1 = +1, C 0, D 2−3 = −1. Harsh jurors (mean below
    # 6.25): J1 (4), J4 (6); lenient: J2 (8), J3 (7).
    assert {k: s.moved for k, s in standings.items()} == {"A": 1, "B": 1, "C": 0, "D": -1}
    assert standings["B"].explanation == "moved up 1 place: two of its jurors score harshly"
    assert standings["A"].explanation == "moved up 1 place: one of its jurors scores harshly"
    assert standings["D"].explanation == "moved down 1 place: one of its jurors scores leniently"
    assert standings["C"].explanation == "unchanged by normalisation"
    assert all(s.flat_jurors == () for s in standings.values())


def test_normalisation_leaves_unstandardisable_jurors_at_zero_and_reports_them():
    table = dict(NORMALISATION)
    table[("A", "J5")] = 10      # J5's only review: z 0
    table[("B", "J6")] = 4       # J6 gives 4 twice: sd 0, z 0
    table[("C", "J6")] = 4
    standings = _by_id(aggregate(_reviews(table), ONE, normalise=True))
    assert standings["A"].z_scores == {"J1": -1, "J3": -1, "J5": 0}
    assert standings["A"].mean_z == pytest.approx(-2 / 3)
    assert standings["A"].flat_jurors == ("J5",)
    assert standings["B"].flat_jurors == ("J6",) and standings["C"].flat_jurors == ("J6",)
    stats = juror_stats(_reviews(table), ONE)
    assert (stats["J5"].standardised, stats["J6"].standardised, stats["J1"].standardised) == (False, False, True)
    assert (stats["J6"].mean, stats["J6"].sd, stats["J6"].n_reviews) == (4, 0, 2)


def test_aggregate_refuses_a_juror_reviewing_twice():
    with pytest.raises(ValueError):
        aggregate([Review("A", "j", {"x": 1}), Review("A", "j", {"x": 2})], ONE)


# -- Krippendorff's alpha -----------------------------------------------------------------------

def _alpha_by_coincidence_matrix(units):
    """The textbook computation, matrix and all: the oracle for the closed form."""
    units = [u for u in units if len(u) >= 2]
    o = {}
    for values in units:
        m = len(values)
        for i, j in itertools.permutations(range(m), 2):
            o[(values[i], values[j])] = o.get((values[i], values[j]), 0) + 1 / (m - 1)
    n_c = {}
    for (c, _), weight in o.items():
        n_c[c] = n_c.get(c, 0) + weight
    n = sum(n_c.values())
    d_o = sum(w * (c - k) ** 2 for (c, k), w in o.items()) / n
    d_e = sum(n_c[c] * n_c[k] * (c - k) ** 2 for c in n_c for k in n_c) / (n * (n - 1))
    return None if d_e == 0 else 1 - d_o / d_e


def test_alpha_small_example_by_hand():
    # u1 = (1, 2), u2 = (3, 3). Coincidences: o(1,2) = o(2,1) = 1, o(3,3) = 2; n1 = n2 = 1, n3 = 2,
    # n = 4. D_o = (1·1 + 1·1)/4 = 0.5. D_e = Σ n_c n_k (c−k)² / (4·3)
    # = 2·(1·1·1 + 1·2·4 + 1·2·1) / 12 = 22/12. alpha = 1 − 0.5 / (22/12) = 1 − 3/11 = 8/11.
    reviews = _reviews({("u1", "a"): 1, ("u1", "b"): 2, ("u2", "a"): 3, ("u2", "b"): 3, ("u3", "a"): 5})
    result = agreement(reviews, ONE)
    assert result["alpha"] == pytest.approx(8 / 11)
    assert (result["n_units"], result["n_pairable"], result["n_applications"]) == (2, 4, 3)


def test_alpha_krippendorff_published_example_with_missing_data():
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the 4 observers × 12
    # units example with missing values: 40 pairable values, interval alpha 0.849.
    data = {
        "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    }
    reviews = [Review(f"u{u}", observer, {"x": v})
               for observer, values in data.items() for u, v in enumerate(values) if v is not None]
    result = agreement(reviews, ONE)
    assert round(result["alpha"], 3) == 0.849
    assert (result["n_units"], result["n_pairable"]) == (11, 40)


def test_alpha_perfect_agreement_is_one_and_no_variation_is_undefined():
    perfect = _reviews({("A", "j1"): 3, ("A", "j2"): 3, ("B", "j1"): 8, ("B", "j3"): 8})
    assert agreement(perfect, ONE)["alpha"] == 1.0
    flat = _reviews({("A", "j1"): 5, ("A", "j2"): 5, ("B", "j1"): 5, ("B", "j3"): 5})
    assert agreement(flat, ONE)["alpha"] is None
    assert agreement(_reviews({("A", "j1"): 5}), ONE) == {
        "alpha": None, "n_units": 0, "n_pairable": 0, "n_applications": 1, "metric": "interval"}


def test_alpha_on_weighted_totals():
    # The criteria disagree but the weighted totals agree: A (2 + 3·4)/4 = 3.5 and
    # (5 + 3·3)/4 = 3.5; B (8 + 3·8)/4 = 8 and (5 + 3·9)/4 = 8: alpha 1.
    reviews = [Review("A", "j1", {"p": 2, "q": 4}), Review("A", "j2", {"p": 5, "q": 3}),
               Review("B", "j1", {"p": 8, "q": 8}), Review("B", "j2", {"p": 5, "q": 9})]
    assert agreement(reviews, {"p": 1, "q": 3})["alpha"] == 1.0
    # equal weights instead: totals A 3, 4 and B 8, 7 → no longer perfect
    assert agreement(reviews, {"p": 1, "q": 1})["alpha"] < 1.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(0, 10), min_size=1, max_size=5), min_size=1, max_size=12))
def test_alpha_closed_form_equals_the_coincidence_matrix(units):
    reviews = [Review(f"u{u}", f"j{i}", {"x": v}) for u, values in enumerate(units) for i, v in enumerate(values)]
    expected = _alpha_by_coincidence_matrix(units) if sum(len(u) for u in units if len(u) >= 2) >= 2 else None
    got = agreement(reviews, ONE)["alpha"]
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, abs=1e-9)


# -- the cut and the leaderboard -----------------------------------------------------------------

def test_cut_without_ties():
    s = [_standing("A", 9), _standing("B", 8), _standing("C", 7), _standing("D", 6)]
    advance, eliminate, ties = cut(s, 2)
    assert ([x.application_id for x in advance], [x.application_id for x in eliminate], ties) == (["A", "B"], ["C", "D"], [])


def test_cut_returns_the_tie_straddling_position_n_for_a_human():
    # top 3: B, C, D share 8 across positions 2-4: only A (strictly above) advances
    s = [_standing("A", 9), _standing("B", 8), _standing("C", 8), _standing("D", 8), _standing("E", 7)]
    advance, eliminate, ties = cut(s, 3)
    assert [x.application_id for x in advance] == ["A"]
    assert [x.application_id for x in ties] == ["B", "C", "D"]
    assert [x.application_id for x in eliminate] == ["E"]
    # a tie wholly inside the top N is no problem: top 4 advances A-D
    advance, eliminate, ties = cut(s, 4)
    assert ([x.application_id for x in advance], ties) == (["A", "B", "C", "D"], [])
    # a tie at the very top
    advance, eliminate, ties = cut([_standing("A", 5), _standing("B", 5)], 1)
    assert (advance, [x.application_id for x in ties], eliminate) == ([], ["A", "B"], [])


def test_cut_edges_and_unranked():
    s = [_standing("A", 9), _standing("B", 8), _standing("U", 10, ranked=False)]
    assert [x.application_id for x in cut(s, 5)[0]] == ["A", "B"]
    assert cut(s, 0) == ([], s[:2], [])
    with pytest.raises(ValueError):
        cut(s, -1)


def test_leaderboard_per_category_with_outcomes():
    standings = [_standing("T1", 9), _standing("T2", 8), _standing("T3", 8), _standing("T4", 5),
                 _standing("H1", 7), _standing("H2", 6), _standing("HU", 9, ranked=False)]
    category = {"T1": "tech_innovacity", "T2": "tech_innovacity", "T3": "tech_innovacity",
                "T4": "tech_innovacity", "H1": "human_centricity", "H2": "human_centricity",
                "HU": "human_centricity"}
    board = leaderboard(standings, category, top_n={"tech_innovacity": 2, "human_centricity": 1})
    assert list(board) == ["human_centricity", "tech_innovacity"]
    assert [(p.rank, p.standing.application_id, p.outcome) for p in board["tech_innovacity"]] == [
        (1, "T1", "advance"), (2, "T2", "tie"), (2, "T3", "tie"), (4, "T4", "eliminate")]
    assert [(p.rank, p.standing.application_id, p.outcome) for p in board["human_centricity"]] == [
        (1, "H1", "advance"), (2, "H2", "eliminate"), (None, "HU", "unranked")]
    same = leaderboard(standings, category.get, top_n=2)
    assert [p.outcome for p in same["human_centricity"]] == ["advance", "advance", "unranked"]


def test_leaderboard_uses_normalised_scores_when_present():
    standings = aggregate(_reviews(NORMALISATION), ONE, normalise=True)
    board = leaderboard(standings, lambda _: "tech_innovacity", top_n=1)
    # normalised: B and C tie on mean z +1 at the top: a human decides
    assert [(p.standing.application_id, p.outcome) for p in board["tech_innovacity"]] == [
        ("B", "tie"), ("C", "tie"), ("A", "eliminate"), ("D", "eliminate")]
