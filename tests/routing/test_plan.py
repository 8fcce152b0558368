"""Visit planning and re-planning on tiny named instances with brute-forced optima."""

from __future__ import annotations

import logging
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from routing.errors import InfeasibleProblem, InvalidProblem
from routing.plan import LnsOptions, SearchOptions, UnitState, plan, replan, rest_of_day
from routing.problems import PlanProblem, PlanUnit, Progress, Visit
from routing.validate import validate_plan

# shared test helpers live beside the tests (pytest runs with --import-mode=importlib)
sys.path.insert(0, str(Path(__file__).parent))
from _plan_oracle import brute_force, load

H = 3600


def test_two_units_plan_is_the_brute_force_optimum_and_sends_the_doctor() -> None:
    problem = load("two_units_six_visits")
    result = plan(problem, time_limit_s=1.0)
    assert validate_plan(problem, result) == []
    assert result.cost == brute_force(problem)
    assert "v3" in result.route("U2").visit_ids
    assert result.complete


def test_day_with_a_break_is_optimal_and_the_break_is_in_its_window() -> None:
    problem = load("one_unit_with_break")
    result = plan(problem, time_limit_s=1.0)
    assert result.cost == brute_force(problem)
    brk = result.route("U1").break_taken
    assert brk is not None
    assert int(11.5 * H) <= brk.start_s <= 13 * H
    assert brk.end_s - brk.start_s == 2700


def test_or_tools_search_alone_is_still_available_and_optimal_here() -> None:
    problem = load("two_units_six_visits")
    result = plan(problem, time_limit_s=1.0, options=SearchOptions(lns=None))
    assert result.cost == brute_force(problem)


def test_same_seed_and_iteration_cap_give_the_same_plan() -> None:
    problem = load("three_units_day")
    options = SearchOptions(lns=LnsOptions(iterations=400))
    runs = [plan(problem, time_limit_s=60, seed=3, options=options) for _ in range(2)]
    assert runs[0] == runs[1]


def test_visit_window_outside_every_shift_is_reported_by_name() -> None:
    problem = load("window_outside_shift")
    with pytest.raises(InfeasibleProblem, match=r"'early'.*05:00–06:00"):
        plan(problem, time_limit_s=0.5)


def test_optional_visit_no_crew_can_do_is_postponed_not_dropped() -> None:
    problem = load("window_outside_shift")
    visits = (problem.visits[0], Visit(id="psych", location=1, window_start_s=9 * H,
                                       window_end_s=12 * H, duration_s=1800,
                                       needs=frozenset({"child_psych"}), postpone_cost=100))
    problem = replace(problem, visits=visits)
    result = plan(problem, time_limit_s=0.5)
    assert result.postponed == ("psych",)
    assert result.postpone_cost == 100


def test_mandatory_visit_needing_a_missing_competence_is_infeasible() -> None:
    problem = load("window_outside_shift")
    visits = (problem.visits[0], Visit(id="psych", location=1, window_start_s=9 * H,
                                       window_end_s=12 * H, duration_s=1800,
                                       needs=frozenset({"child_psych"})))
    with pytest.raises(InfeasibleProblem, match=r"'psych'.*lacks child_psych"):
        plan(replace(problem, visits=visits), time_limit_s=0.5)


def test_full_day_postpones_the_cheaper_optional_visit() -> None:
    travel = [[0, 600, 600], [600, 0, 600], [600, 600, 0]]
    unit = PlanUnit(id="U1", start_location=0, end_location=0, shift_start_s=8 * H,
                    shift_end_s=11 * H)
    visits = (
        Visit(id="long", location=1, window_start_s=8 * H, window_end_s=9 * H,
              duration_s=2 * H, postpone_cost=5000),
        Visit(id="short", location=2, window_start_s=9 * H, window_end_s=10 * H,
              duration_s=H, postpone_cost=4000),
    )
    problem = PlanProblem(travel_s=travel, units=(unit,), visits=visits)
    result = plan(problem, time_limit_s=0.5)
    assert result.cost == brute_force(problem)
    assert result.postponed == ("short",)


def test_warm_start_is_never_worse_than_the_plan_it_starts_from() -> None:
    problem = load("three_units_day")
    first = plan(problem, time_limit_s=0.5)
    again = plan(problem, time_limit_s=0.5, initial=first)
    assert again.warm_started
    assert again.cost <= first.cost


def test_progress_callback_reports_non_increasing_costs() -> None:
    problem = load("three_units_day")
    seen: list[Progress] = []
    plan(problem, time_limit_s=0.5, on_progress=seen.append)
    assert seen
    costs = [p.cost for p in seen]
    assert costs == sorted(costs, reverse=True)


def test_replan_keeps_the_visit_under_way_on_its_unit() -> None:
    problem = load("three_units_day")
    day = plan(problem, time_limit_s=1.0)
    busy = next(r for r in day.routes if r.stops)
    first = busy.stops[0]
    now = first.start_s + 600
    taken = next(r.unit_id for r in day.routes if r.unit_id != busy.unit_id)
    states = [UnitState(unit_id=u.id, location=u.start_location, free_at_s=now)
              for u in problem.units if u.id not in (busy.unit_id, taken)]
    states.append(UnitState(unit_id=busy.unit_id, location=problem.visit(first.visit_id).location,
                            free_at_s=first.end_s, under_way=first.visit_id))
    # The acute callout keeps the other unit two hours at a location far out.
    states.append(UnitState(unit_id=taken, location=8, free_at_s=now + 2 * H))
    rest, result = replan(problem, day, states, now_s=now, time_limit_s=0.5)
    assert validate_plan(rest, result) == []
    route = result.route(busy.unit_id)
    assert route.stops[0].visit_id == first.visit_id
    assert route.stops[0].start_s == first.start_s
    assert result.route(taken).depart_s >= now + 2 * H
    for r in result.routes:
        assert r.end_s <= rest.unit(r.unit_id).shift_end_s
        assert all(s.start_s >= now for s in r.stops if s.visit_id != first.visit_id)


def test_rest_of_day_drops_done_visits_and_needs_every_unit_state() -> None:
    problem = load("three_units_day")
    states = [UnitState(unit_id=u.id, location=0, free_at_s=9 * H) for u in problem.units]
    rest = rest_of_day(problem, states, now_s=9 * H, done=["v1"])
    assert "v1" not in {v.id for v in rest.visits}
    assert all(u.ready == 9 * H for u in rest.units)
    with pytest.raises(InvalidProblem, match="state of every unit"):
        rest_of_day(problem, states[:2], now_s=9 * H)


def test_bad_location_index_is_an_invalid_problem() -> None:
    problem = load("window_outside_shift")
    with pytest.raises(InvalidProblem, match="'ok'"):
        replace(problem, visits=(replace(problem.visits[0], location=9),))


def test_a_break_window_that_closed_before_the_plan_is_dropped_without_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    """A plan made after a unit's break window (a service started mid-afternoon, every plan
    of the evening) drops the break quietly: it was taken or missed before. Only a break the
    unit could still take at ``now`` but cannot because it is busy past the window's end is
    warned of (the live demo's log had three such warnings for every evening plan)."""
    problem = load("one_unit_with_break")
    (unit,) = problem.units
    rule = unit.break_rule
    assert rule is not None
    loc = unit.start_location

    def rest(now_s: int, free_at_s: int) -> PlanUnit:
        (left,) = rest_of_day(problem, [UnitState(unit.id, loc, free_at_s)],
                              now_s=now_s).units
        return left

    caplog.set_level(logging.DEBUG, logger="routing.plan")
    after = rule.latest_start_s + 60
    assert rest(after, after).break_rule is None
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    caplog.clear()
    before = rule.earliest_start_s
    assert rest(before, rule.latest_start_s + 60).break_rule is None  # busy past its end
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        f"unit {unit.id} can no longer take its break; planning without it"]
    caplog.clear()
    assert rest(before, before).break_rule is not None
    assert not caplog.records
