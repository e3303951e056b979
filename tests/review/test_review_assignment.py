"""review's juror assignment: conflicts, balance, max loads, existing pairs, Infeasible."""
from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from services.review.assignment import Assignment, Candidate, Infeasible, Juror, assign, conflicts

CATEGORIES = ["tech_innovacity", "human_centricity", "leadership"]


def _juror(i, country="KR", organisation=None, email=None, expertise=(), max_load=None):
    return Juror(f"j{i}", country, organisation or f"Jury Org {i}", email or f"juror{i}@jury{i}.example",
                 frozenset(expertise), max_load)


def _app(i, category="tech_innovacity", country="PL", organisation=None, email=None):
    return Candidate(f"a{i}", category, country, organisation or f"City {i}", email or f"c{i}@city{i}.example")


def _conflicted(juror, app, declared):
    return bool(conflicts(juror, app)) or (juror.id, app.id) in declared


def _check_valid(result: Assignment, apps, jurors, k, declared=frozenset(), existing=None):
    by_id = {j.id: j for j in jurors}
    assert set(result.pairs) == {a.id for a in apps}
    counted = {j.id: 0 for j in jurors}
    for app in apps:
        chosen = result.pairs[app.id]
        assert len(chosen) == k
        assert len(set(chosen)) == k
        for juror_id in chosen:
            assert not _conflicted(by_id[juror_id], app, declared), (juror_id, app.id)
            counted[juror_id] += 1
        for juror_id in (existing or {}).get(app.id, []):
            assert juror_id in chosen
    assert result.loads == counted
    for j in jurors:
        if j.max_load is not None:
            assert result.loads[j.id] <= j.max_load


# -- conflicts ----------------------------------------------------------------------------------

def test_conflicts_same_country_organisation_and_domain():
    juror = Juror("j", "PL", "  Lublin   University of Technology ", "anna@pollub.pl", frozenset())
    app = Candidate("a", "tech_innovacity", "pl", "lublin university of technology", "x@cs.pollub.pl")
    assert conflicts(juror, app) == ["same country", "same organisation", "same email domain"]


def test_conflicts_none_for_unrelated_and_public_webmail():
    juror = Juror("j", "KR", "Seoul Institute", "kim@gmail.com", frozenset())
    app = Candidate("a", "leadership", "TW", "Kaohsiung City Government 高雄", "lee@gmail.com")
    assert conflicts(juror, app) == []
    other = Candidate("a2", "leadership", "BR", "Guarulhos", "x@guarulhos.sp.gov.br")
    assert conflicts(Juror("j2", "HU", "Budapest", "y@sp.gov.br", frozenset()), other) == ["same email domain"]
    assert conflicts(Juror("j3", "HU", "Budapest", "y@rio.sp.gov.br", frozenset()), other) == []


# -- examples -----------------------------------------------------------------------------------

def test_assign_prefers_experts_of_the_category():
    jurors = [_juror(0, expertise={"leadership"}), _juror(1, expertise={"tech_innovacity"}),
              _juror(2, expertise={"leadership"}), _juror(3, expertise={"tech_innovacity"})]
    apps = [_app(0, "leadership"), _app(1, "tech_innovacity"), _app(2, "leadership"), _app(3, "tech_innovacity")]
    result = assign(apps, jurors, 2)
    assert result.pairs == {"a0": ["j0", "j2"], "a1": ["j1", "j3"], "a2": ["j0", "j2"], "a3": ["j1", "j3"]}
    assert result.loads == {"j0": 2, "j1": 2, "j2": 2, "j3": 2}
    assert result.expert_pairs == 8


def test_assign_expertise_never_beats_balance():
    # Only j0 knows leadership; four leadership applications, k=1: balance wins, j0 takes one
    # of them (not all four), the loads are 1 each.
    jurors = [_juror(0, expertise={"leadership"})] + [_juror(i) for i in range(1, 4)]
    apps = [_app(i, "leadership") for i in range(4)]
    result = assign(apps, jurors, 1)
    assert sorted(result.loads.values()) == [1, 1, 1, 1]
    assert result.expert_pairs == 1


def test_assign_swaps_to_gain_expert_pairs_at_equal_loads():
    # The greedy gives a0 (nobody's field) to j0, the first of two equally loaded jurors, so
    # a1 (leadership) must take j1 under the load cap of 1; only the improvement pass's swap
    # puts a1 on its expert j0.
    jurors = [_juror(0, expertise={"leadership", "tech_innovacity"}), _juror(1, expertise={"tech_innovacity"})]
    apps = [_app(0, "human_centricity"), _app(1, "leadership")]
    result = assign(apps, jurors, 1)
    assert result.pairs == {"a0": ["j1"], "a1": ["j0"]}
    assert result.expert_pairs == 1


def test_assign_raises_the_load_cap_when_conflicts_demand_it():
    # Three reviews for three jurors, but a0 and a1 (Korean) can only go to j0: the lowest
    # possible maximum load is 2, and j1 / j2 share the rest.
    jurors = [_juror(0, country="PL"), _juror(1, country="KR"), _juror(2, country="KR")]
    apps = [_app(0, country="KR"), _app(1, country="KR"), _app(2, country="BR")]
    result = assign(apps, jurors, 1)
    assert result.pairs["a0"] == ["j0"] and result.pairs["a1"] == ["j0"]
    assert result.loads["j0"] == 2 and result.load_cap == 2
    assert sorted(result.loads.values()) == [0, 1, 2]


def test_assign_avoids_conflicts_and_keeps_existing_pairs():
    jurors = [_juror(0, country="PL"), _juror(1), _juror(2), _juror(3, email="x@city1.example")]
    apps = [_app(0, country="PL"), _app(1, country="BR"), _app(2, country="BR")]
    result = assign(apps, jurors, 2, declared={("j1", "a2")}, existing={"a2": ["j0"]})
    _check_valid(result, apps, jurors, 2, {("j1", "a2")}, {"a2": ["j0"]})
    assert "j0" not in result.pairs["a0"] and "j3" not in result.pairs["a1"]
    assert result.pairs["a2"][0] == "j0"


def test_infeasible_names_the_application_with_too_few_jurors():
    jurors = [_juror(0, country="PL"), _juror(1, country="PL"), _juror(2, country="KR")]
    apps = [_app(0, country="BR"), _app(1, country="PL")]
    with pytest.raises(Infeasible) as caught:
        assign(apps, jurors, 2)
    assert caught.value.details["too_few_jurors"] == [{"application": "a1", "available_jurors": 1}]
    assert "a1" in str(caught.value)


def test_infeasible_when_max_loads_are_too_small():
    jurors = [_juror(0, max_load=1), _juror(1, max_load=1), _juror(2, max_load=2)]
    apps = [_app(i) for i in range(3)]
    with pytest.raises(Infeasible) as caught:
        assign(apps, jurors, 2)
    assert caught.value.details["capacity"] == {"needed": 6, "available": 4}
    assert "max loads too small" in str(caught.value)


def test_infeasible_names_a_group_whose_only_jurors_are_full():
    # Capacity suffices overall (4 + 4 + 4 + 1 + 1 = 14 ≥ 6 × 2) and each application has at
    # least 2 jurors, but a0 and a1 (Polish) can only use j1 and j2, whose max loads (1 each)
    # leave two slots for four needs: Hall's condition fails for {a0, a1}.
    jurors = [_juror(0, country="PL"), _juror(1, max_load=1), _juror(2, max_load=1),
              _juror(3, country="PL"), _juror(4, country="PL")]
    apps = [_app(0, country="PL"), _app(1, country="PL")] + [_app(i, country="BR") for i in range(2, 6)]
    with pytest.raises(Infeasible) as caught:
        assign(apps, jurors, 2)
    group = caught.value.details["overloaded_group"]
    assert {"a0", "a1"} <= set(group["applications"])
    assert set(group["jurors"]) == {"j1", "j2"}
    assert "max loads" in str(caught.value)


def test_infeasible_for_a_conflicted_existing_pair():
    with pytest.raises(Infeasible) as caught:
        assign([_app(0, country="KR")], [_juror(0), _juror(1, country="JP")], 1, existing={"a0": ["j0"]})
    assert caught.value.details["conflicted_existing"] == [
        {"application": "a0", "juror": "j0", "reasons": ["same country"]}]


def test_k_larger_than_jurors_is_infeasible_and_k_zero_an_error():
    with pytest.raises(Infeasible):
        assign([_app(0)], [_juror(0)], 2)
    with pytest.raises(ValueError):
        assign([_app(0)], [_juror(0)], 0)


def test_realistic_round_is_balanced_and_mostly_expert():
    rng = random.Random(3)
    countries = [f"C{i:02d}" for i in range(40)]
    jurors = [_juror(i, country=rng.choice(countries), expertise=rng.sample(CATEGORIES, 1)) for i in range(20)]
    apps = [_app(i, rng.choice(CATEGORIES), country=rng.choice(countries)) for i in range(300)]
    result = assign(apps, jurors, 3)
    _check_valid(result, apps, jurors, 3)
    assert max(result.loads.values()) - min(result.loads.values()) <= 1
    assert result.expert_pairs >= 0.5 * 900


# -- properties -----------------------------------------------------------------------------------

@st.composite
def instances(draw, max_apps=6, max_jurors=6, max_k=3, with_max_loads=True, with_conflicts=True):
    m = draw(st.integers(1, max_jurors))
    n = draw(st.integers(0, max_apps))
    k = draw(st.integers(1, min(max_k, m)))
    countries = ["KR", "PL", "TW", "BR"] if with_conflicts else ["KR"]
    jurors = [Juror(f"j{i}", draw(st.sampled_from(countries)) if with_conflicts else "KR",
                    f"Org {draw(st.integers(0, 3))}" if with_conflicts else f"Jury {i}",
                    f"j{i}@d{draw(st.integers(0, 3))}.example" if with_conflicts else f"j{i}@jury{i}.example",
                    frozenset(draw(st.sets(st.sampled_from(CATEGORIES), max_size=2))),
                    draw(st.one_of(st.none(), st.integers(0, 4))) if with_max_loads else None)
              for i in range(m)]
    apps = [Candidate(f"a{i}", draw(st.sampled_from(CATEGORIES)),
                      draw(st.sampled_from(countries)) if with_conflicts else "XX",
                      f"Org {draw(st.integers(0, 6))}" if with_conflicts else f"City {i}",
                      f"a{i}@d{draw(st.integers(0, 6))}.example" if with_conflicts else f"a{i}@city{i}.example")
            for i in range(n)]
    declared = set()
    if with_conflicts and n:
        declared = draw(st.sets(st.tuples(st.sampled_from([j.id for j in jurors]),
                                          st.sampled_from([a.id for a in apps])), max_size=4))
    return apps, jurors, k, declared


def _all_solutions(apps, jurors, k, declared, existing=None):
    """Every valid assignment of a tiny instance, as load vectors: the brute-force oracle."""
    options = []
    for app in apps:
        fixed = set((existing or {}).get(app.id, []))
        free = [j.id for j in jurors if not _conflicted(j, app, declared) and j.id not in fixed]
        options.append([tuple(fixed) + combo for combo in itertools.combinations(free, k - len(fixed))])
    caps = {j.id: (j.max_load if j.max_load is not None else len(apps)) for j in jurors}
    for choice in itertools.product(*options):
        loads = {j.id: 0 for j in jurors}
        for chosen in choice:
            for juror_id in chosen:
                loads[juror_id] += 1
        if all(loads[j] <= caps[j] for j in loads):
            yield loads


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(max_apps=4, max_jurors=5, max_k=2))
def test_assign_matches_brute_force_on_tiny_instances(instance):
    apps, jurors, k, declared = instance
    solutions = list(_all_solutions(apps, jurors, k, declared))
    if not solutions:
        with pytest.raises(Infeasible) as caught:
            assign(apps, jurors, k, declared=declared)
        assert caught.value.details and str(caught.value)
        return
    result = assign(apps, jurors, k, declared=declared)
    _check_valid(result, apps, jurors, k, declared)
    best_max = min(max(loads.values()) for loads in solutions)
    assert max(result.loads.values()) == best_max
    if any(max(loads.values()) - min(loads.values()) <= 1 for loads in solutions):
        assert max(result.loads.values()) - min(result.loads.values()) <= 1


@settings(max_examples=100, deadline=None)
@given(instances(max_apps=25, max_jurors=10, with_max_loads=False, with_conflicts=False))
def test_assign_without_conflicts_is_valid_and_balanced(instance):
    apps, jurors, k, _ = instance
    result = assign(apps, jurors, k)
    _check_valid(result, apps, jurors, k)
    assert max(result.loads.values()) - min(result.loads.values()) <= 1


@settings(max_examples=150, deadline=None)
@given(instances(max_apps=20, max_jurors=8), st.randoms(use_true_random=False))
def test_assign_valid_or_infeasible_and_deterministic(instance, rnd):
    apps, jurors, k, declared = instance
    # existing: a random non-conflicted juror already on some applications
    existing = {}
    for app in apps:
        free = [j.id for j in jurors if not _conflicted(j, app, declared)]
        if free and rnd.random() < 0.3:
            existing[app.id] = [rnd.choice(free)]
    try:
        result = assign(apps, jurors, k, declared=declared, existing=existing)
    except Infeasible as exc:
        assert exc.details and exc.message
        with pytest.raises(Infeasible) as again:
            assign(apps, jurors, k, declared=declared, existing=existing)
        assert again.value.details == exc.details
        return
    _check_valid(result, apps, jurors, k, declared, existing)
    again = assign(apps, jurors, k, declared=set(declared), existing=dict(existing))
    assert again == result


@settings(max_examples=60, deadline=None)
@given(instances(max_apps=4, max_jurors=5, max_k=2), st.randoms(use_true_random=False))
def test_assign_with_existing_matches_brute_force_feasibility(instance, rnd):
    apps, jurors, k, declared = instance
    existing = {}
    for app in apps:
        free = [j.id for j in jurors if not _conflicted(j, app, declared)]
        if free and rnd.random() < 0.5:
            existing[app.id] = [rnd.choice(free)]
    feasible = any(True for _ in _all_solutions(apps, jurors, k, declared, existing))
    assume(feasible or rnd.random() < 0.5)
    if feasible:
        _check_valid(assign(apps, jurors, k, declared=declared, existing=existing),
                     apps, jurors, k, declared, existing)
    else:
        with pytest.raises(Infeasible):
            assign(apps, jurors, k, declared=declared, existing=existing)
