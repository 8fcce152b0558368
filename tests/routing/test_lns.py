"""The ruin-and-recreate search: valid plans only, never worse than its start, optimal when tiny."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing._lns import LnsOptions, improve, route_cost
from routing._ortools import SearchOptions, solve_routing
from routing.errors import InvalidProblem
from routing.plan import _model, plan, schedule_route
from routing.problems import BreakRule, PlanProblem, PlanUnit, Visit
from routing.validate import validate_plan

# shared test helpers live beside the tests (pytest runs with --import-mode=importlib)
sys.path.insert(0, str(Path(__file__).parent))
from _plan_oracle import brute_force, load

H = 3600


def random_day(seed: int, *, n_visits: int, n_units: int) -> PlanProblem:
    """A small day with breaks, competences, capacities, optional and pinned visits.

    Travel times are random, so they may break the triangle inequality (removing a visit can
    then make a route late); the search must cope.
    """
    rng = random.Random(seed)
    n = n_visits + 1
    travel = [[0 if i == j else rng.randrange(120, 2400) for j in range(n)] for i in range(n)]
    units = tuple(
        PlanUnit(id=f"U{k}", start_location=0, end_location=0, shift_start_s=8 * H,
                 shift_end_s=rng.choice([14, 17]) * H,
                 competences=frozenset({"doctor"}) if k == 0 else frozenset(),
                 break_rule=BreakRule(earliest_start_s=11 * H, latest_start_s=13 * H,
                                      duration_s=1800) if rng.random() < 0.5 else None,
                 capacity=rng.choice([None, 3]))
        for k in range(n_units))
    visits = []
    for i in range(1, n):
        start = rng.randrange(8 * H, 15 * H, 900)
        visits.append(Visit(
            id=f"v{i}", location=i, window_start_s=start,
            window_end_s=start + rng.choice([0, 1, 3]) * H, duration_s=rng.choice([900, 2700]),
            needs=frozenset({"doctor"}) if rng.random() < 0.2 else frozenset(),
            postpone_cost=None if rng.random() < 0.5 else rng.randrange(0, 5000),
            demand=rng.choice([0, 1, 2]),
            unit_id="U0" if rng.random() < 0.1 else None))
    return PlanProblem(travel_s=travel, units=units, visits=tuple(visits))


def lns(iterations: int) -> SearchOptions:
    return SearchOptions(lns=LnsOptions(iterations=iterations))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_visits=st.integers(1, 12), n_units=st.integers(1, 3),
       search_seed=st.integers(0, 3))
def test_search_returns_a_valid_plan_never_worse_than_its_start(
        seed: int, n_visits: int, n_units: int, search_seed: int) -> None:
    problem = random_day(seed, n_visits=n_visits, n_units=n_units)
    # Zero iterations returns the start itself: OR-Tools' first solution.
    start = plan(problem, time_limit_s=30, strict=False, options=lns(0))
    result = plan(problem, time_limit_s=30, strict=False, seed=search_seed, options=lns(300))
    assert validate_plan(problem, result) == []  # plan() also raises on an invalid plan
    assert (len(result.unplaced), result.cost) <= (len(start.unplaced), start.cost)


@pytest.mark.parametrize("name", ["two_units_six_visits", "one_unit_with_break"])
def test_search_finds_the_brute_force_optimum_on_named_instances(name: str) -> None:
    problem = load(name)
    model = _model(problem, strict=True)
    result = improve(model.spec, [], time_limit_s=60, iterations=3000)
    assert result.cost == brute_force(problem)


@pytest.mark.parametrize("seed", [0, 3, 4, 5, 6, 7, 8, 10, 11, 12])  # days that can be planned
def test_search_finds_the_brute_force_optimum_on_random_tiny_days(seed: int) -> None:
    problem = random_day(seed, n_visits=5, n_units=2)
    result = plan(problem, time_limit_s=60, seed=seed, strict=False, options=lns(3000))
    assert not result.unplaced
    assert result.cost == brute_force(problem)


def test_an_infeasible_start_is_flagged_and_a_feasible_one_is_kept_or_improved() -> None:
    problem = load("two_units_six_visits")
    model = _model(problem, strict=True)
    spec = model.spec
    node = model.node_of_visit
    # v3 needs the doctor, who is unit 1: putting it on unit 0 is not allowed.
    bad = [[node["v3"]], [node[v] for v in ("v1", "v2", "v4", "v5", "v6")]]
    first = solve_routing(spec, time_limit_s=5, options=SearchOptions(), first_only=True)
    assert first is not None
    result = improve(spec, [bad, first.routes], time_limit_s=60, iterations=50)
    assert result.feasible_starts == (False, True)
    start_cost = sum(route_cost(spec, v, r) for v, r in enumerate(first.routes))
    start_cost += sum(spec.penalty[n] or 0 for n in model.visit_of_node
                      if not any(n in r for r in first.routes))
    assert result.cost <= start_cost
    assert node["v3"] in result.routes[1]
    for unit, nodes in zip(problem.units, result.routes, strict=True):
        assert schedule_route(problem, unit, [model.visit_of_node[n] for n in nodes])


def test_same_seed_and_iteration_cap_give_the_same_routes() -> None:
    problem = random_day(7, n_visits=12, n_units=3)
    spec = _model(problem, strict=False).spec
    runs = [improve(spec, [], time_limit_s=60, seed=5, iterations=500) for _ in range(2)]
    assert runs[0] == runs[1]
    assert runs[0].iterations == 500


def test_bad_search_settings_are_invalid() -> None:
    with pytest.raises(InvalidProblem, match="temperatures"):
        LnsOptions(t_start=0.01, t_end=0.1)
    with pytest.raises(InvalidProblem, match="blink"):
        LnsOptions(blink=1.0)
