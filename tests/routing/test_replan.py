"""Re-planning: both searches (from the old plan and from scratch) count, plans stay valid."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from routing.errors import InvalidProblem
from routing.plan import (
    LnsOptions,
    SearchOptions,
    UnitState,
    plan,
    replan,
    schedule_route,
)
from routing.problems import Plan, PlanProblem
from routing.validate import validate_plan

# shared test helpers live beside the tests (pytest runs with --import-mode=importlib)
sys.path.insert(0, str(Path(__file__).parent))
from _plan_oracle import brute_force, load

H = 3600
NO_PLAN = Plan(routes=(), postponed=(), unplaced=(), travel_s=0, postpone_cost=0, cost=0)


def states_from(problem: PlanProblem, day: Plan, now: int) -> tuple[list[UnitState], list[str]]:
    """Every unit where ``day`` puts it at ``now`` (nothing went wrong), and the visits done."""
    states: list[UnitState] = []
    done: list[str] = []
    for route in day.routes:
        loc = problem.unit(route.unit_id).start_location
        under_way, free_at = None, now
        for stop in route.stops:
            if stop.end_s <= now:
                done.append(stop.visit_id)
                loc = problem.visit(stop.visit_id).location
            elif stop.start_s <= now:
                under_way, free_at = stop.visit_id, stop.end_s
                loc = problem.visit(stop.visit_id).location
        brk = route.break_taken
        states.append(UnitState(unit_id=route.unit_id, location=loc, free_at_s=free_at,
                                under_way=under_way,
                                break_taken=brk is not None and brk.start_s < now))
    return states, done


def test_replan_without_a_usable_old_plan_still_finds_the_optimum() -> None:
    problem = load("two_units_six_visits")
    now = min(u.shift_start_s for u in problem.units)
    states = [UnitState(unit_id=u.id, location=u.start_location, free_at_s=now)
              for u in problem.units]
    rest, result = replan(problem, NO_PLAN, states, now_s=now, time_limit_s=0.3)
    assert validate_plan(rest, result) == []
    assert result.complete
    assert result.cost == brute_force(rest)


def test_replan_when_nothing_changed_is_no_worse_than_the_rest_of_the_old_plan() -> None:
    problem = load("three_units_day")
    day = plan(problem, time_limit_s=1.0)
    now = 10 * H
    states, done = states_from(problem, day, now)
    rest, result = replan(problem, day, states, now_s=now, done=done, time_limit_s=0.3)
    assert validate_plan(rest, result) == []
    left = [schedule_route(rest, rest.unit(r.unit_id),
                           [v for v in r.visit_ids if v not in done]) for r in day.routes]
    assert all(r is not None for r in left)
    kept = {v for r in left if r is not None for v in r.visit_ids}
    old_cost = sum(r.travel_s for r in left if r is not None) + sum(
        v.postpone_cost or 0 for v in rest.visits if v.id not in kept)
    assert len(result.unplaced) <= len(day.unplaced)
    assert result.cost <= old_cost


def test_replan_with_an_iteration_cap_is_repeatable() -> None:
    problem = load("three_units_day")
    day = plan(problem, time_limit_s=0.5)
    states, done = states_from(problem, day, 11 * H)
    options = SearchOptions(lns=LnsOptions(iterations=300, restarts=3, removed=3))
    runs = [replan(problem, day, states, now_s=11 * H, done=done, time_limit_s=60, seed=5,
                   options=options)[1] for _ in range(2)]
    assert runs[0] == runs[1]


def test_replan_with_or_tools_search_alone_gives_a_valid_plan() -> None:
    problem = load("three_units_day")
    day = plan(problem, time_limit_s=0.5)
    states, done = states_from(problem, day, 10 * H)
    rest, result = replan(problem, day, states, now_s=10 * H, done=done, time_limit_s=0.5,
                          options=SearchOptions(lns=None))
    assert validate_plan(rest, result) == []


def test_replan_rejects_a_time_limit_that_is_not_positive() -> None:
    problem = load("three_units_day")
    states = [UnitState(unit_id=u.id, location=0, free_at_s=9 * H) for u in problem.units]
    with pytest.raises(InvalidProblem, match="time_limit_s"):
        replan(problem, NO_PLAN, states, now_s=9 * H, time_limit_s=0)
