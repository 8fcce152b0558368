"""The plan validator accepts a hand-made valid plan and rejects each kind of broken one."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TypedDict, Unpack

import pytest

from routing.errors import InvalidPlan
from routing.problems import (
    Assignment,
    AssignmentProblem,
    AssignmentResult,
    AssignUnit,
    BreakRule,
    BreakTaken,
    Callout,
    Plan,
    PlanProblem,
    PlanUnit,
    Route,
    Stop,
    Visit,
)
from routing.validate import check_plan, validate_assignment, validate_plan

H = 3600
TRAVEL = [
    [0, 600, 900, 1200],
    [600, 0, 600, 900],
    [900, 600, 0, 600],
    [1200, 900, 600, 0],
]
PROBLEM = PlanProblem(
    travel_s=TRAVEL,
    units=(
        PlanUnit(id="U1", start_location=0, end_location=0, shift_start_s=8 * H,
                 shift_end_s=16 * H, competences=frozenset({"nurse"}),
                 break_rule=BreakRule(earliest_start_s=int(11.5 * H), latest_start_s=13 * H,
                                      duration_s=1800)),
        PlanUnit(id="U2", start_location=0, end_location=0, shift_start_s=8 * H,
                 shift_end_s=16 * H, competences=frozenset({"nurse", "doctor"})),
    ),
    visits=(
        Visit(id="a", location=1, window_start_s=9 * H, window_end_s=10 * H, duration_s=H),
        Visit(id="b", location=2, window_start_s=12 * H, window_end_s=14 * H, duration_s=H),
        Visit(id="c", location=3, window_start_s=10 * H, window_end_s=12 * H, duration_s=1800,
              needs=frozenset({"doctor"})),
        Visit(id="d", location=2, window_start_s=8 * H, window_end_s=16 * H, duration_s=1800,
              postpone_cost=500),
    ),
)
U1 = Route(
    unit_id="U1", depart_s=8 * H,
    stops=(Stop("a", arrival_s=8 * H + 600, start_s=9 * H, end_s=10 * H),
           Stop("b", arrival_s=10 * H + 600, start_s=12 * H, end_s=13 * H)),
    break_taken=BreakTaken(start_s=int(11.5 * H), end_s=12 * H, after_stops=1),
    end_s=13 * H + 900, travel_s=2100)
U2 = Route(
    unit_id="U2", depart_s=8 * H,
    stops=(Stop("c", arrival_s=8 * H + 1200, start_s=10 * H, end_s=10 * H + 1800),),
    break_taken=None, end_s=10 * H + 3000, travel_s=2400)
PLAN = Plan(routes=(U1, U2), postponed=("d",), unplaced=(), travel_s=4500, postpone_cost=500,
            cost=5000)


class StopTimes(TypedDict, total=False):
    """The times of a :class:`Stop` a test may change."""

    arrival_s: int
    start_s: int
    end_s: int


def with_stop(route: Route, k: int, **changes: Unpack[StopTimes]) -> Route:
    stops = list(route.stops)
    stops[k] = replace(stops[k], **changes)
    return replace(route, stops=tuple(stops))


def test_hand_made_plan_is_valid() -> None:
    assert validate_plan(PROBLEM, PLAN) == []
    assert check_plan(PROBLEM, PLAN) is PLAN


BAD = {
    "outside its window": replace(PLAN, routes=(U1, with_stop(U2, 0, start_s=9 * H,
                                                              end_s=9 * H + 1800))),
    "after its shift end": replace(PLAN, routes=(replace(U1, end_s=16 * H + 60), U2)),
    "before it is ready": replace(PLAN, routes=(U1, replace(U2, depart_s=7 * H))),
    "takes no break": replace(PLAN, routes=(replace(U1, break_taken=None), U2)),
    "break starts at": replace(PLAN, routes=(replace(U1, break_taken=BreakTaken(
        start_s=11 * H, end_s=11 * H + 1800, after_stops=1)), U2)),
    "overlaps a visit": replace(PLAN, routes=(replace(U1, break_taken=BreakTaken(
        start_s=int(12.5 * H), end_s=13 * H, after_stops=1)), U2)),
    "appears twice": replace(PLAN, routes=(U1, U2), postponed=("d", "a")),
    "is missing": replace(PLAN, postponed=(), postpone_cost=0, cost=4500),
    "inconsistent with travel": replace(PLAN, routes=(with_stop(U1, 0, arrival_s=8 * H + 60),
                                                      U2)),
    "lasts 1800 s, not 3600": replace(PLAN, routes=(with_stop(U1, 1, end_s=12 * H + 1800),
                                                    U2)),
    "is listed as postponed": replace(PLAN, routes=(U1, replace(
        U2, stops=(), end_s=8 * H, travel_s=0)), postponed=("d", "c"), travel_s=2100,
        postpone_cost=500, cost=2600),
    "reports travel 2000 s, the matrix gives 2100": replace(
        PLAN, routes=(replace(U1, travel_s=2000), U2), travel_s=4400, cost=4900),
    "plan travel 4400 differs": replace(PLAN, travel_s=4400, cost=4900),
    "has 0 routes": replace(PLAN, routes=(U1,), travel_s=2100, cost=2600),
}


@pytest.mark.parametrize("message", sorted(BAD))
def test_broken_plan_is_rejected_with_the_rule_named(message: str) -> None:
    violations = validate_plan(PROBLEM, BAD[message])
    assert any(message in v for v in violations), violations
    with pytest.raises(InvalidPlan, match=re.escape(message)):
        check_plan(PROBLEM, BAD[message])


def test_visit_on_a_unit_without_the_needed_competence_is_rejected() -> None:
    visits = tuple(replace(v, needs=frozenset({"child_psych"})) if v.id == "a" else v
                   for v in PROBLEM.visits)
    violations = validate_plan(replace(PROBLEM, visits=visits), PLAN)
    assert any("needs child_psych" in v for v in violations), violations


def test_pinned_visit_on_another_unit_is_rejected() -> None:
    visits = tuple(replace(v, unit_id="U2") if v.id == "a" else v for v in PROBLEM.visits)
    violations = validate_plan(replace(PROBLEM, visits=visits), PLAN)
    assert any("pinned to 'U2'" in v for v in violations), violations


def test_load_over_capacity_is_rejected() -> None:
    units = (replace(PROBLEM.units[0], capacity=1), PROBLEM.units[1])
    visits = tuple(replace(v, demand=1) for v in PROBLEM.visits)
    violations = validate_plan(replace(PROBLEM, units=units, visits=visits), PLAN)
    assert any("over its capacity 1" in v for v in violations), violations


def test_too_short_gap_between_visits_is_rejected() -> None:
    # U2 leaves c at 10:30 and cannot be back at base (20 min) by 10:40.
    bad = replace(PLAN, routes=(U1, replace(U2, end_s=10 * H + 2400)))
    violations = validate_plan(PROBLEM, bad)
    assert any("cannot reach its end location" in v for v in violations), violations


def test_assignment_past_shift_end_or_twice_is_rejected() -> None:
    problem = AssignmentProblem(
        now_s=0, units=(AssignUnit(id="U1", available_at_s=0, shift_end_s=H),),
        callouts=(Callout(id="c1", priority=1, on_scene_s=H),
                  Callout(id="c2", priority=2, on_scene_s=0)),
        travel_s=[[600, 600]])
    bad = AssignmentResult(
        assignments=(Assignment("U1", "c1", 0, 600, 600), Assignment("U1", "c2", 0, 600, 600)),
        waiting=(), idle_units=(), objective=4 * 600 + 2 * 600)
    violations = validate_assignment(problem, bad)
    assert any("past its shift end" in v for v in violations)
    assert any("assigned twice" in v for v in violations)
