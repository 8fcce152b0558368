"""Visit planning and re-planning on tiny named instances with brute-forced optima."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path

import pytest

from routing.errors import InfeasibleProblem, InvalidProblem
from routing.plan import UnitState, plan, replan, rest_of_day
from routing.problems import BreakRule, PlanProblem, PlanUnit, Progress, Visit
from routing.validate import validate_plan

DATA = Path(__file__).resolve().parent.parent / "data" / "routing"
H = 3600


def load(name: str) -> PlanProblem:
    raw = json.loads((DATA / f"{name}.json").read_text())
    units = tuple(
        PlanUnit(**{**u, "competences": frozenset(u.get("competences", ())),
                    "break_rule": BreakRule(**u["break_rule"]) if u.get("break_rule") else None})
        for u in raw["units"])
    visits = tuple(Visit(**{**v, "needs": frozenset(v.get("needs", ()))}) for v in raw["visits"])
    return PlanProblem(travel_s=raw["travel_s"], units=units, visits=visits)


def route_cost(problem: PlanProblem, unit: PlanUnit, seq: tuple[str, ...],
               break_gap: int | None = None) -> int | None:
    """Travel of doing ``seq`` with earliest starts (break in gap ``break_gap``), None if not."""
    travel = problem.travel_s
    t, loc, cost = unit.ready, unit.start_location, 0
    rule = unit.break_rule
    for k, vid in enumerate((*seq, None)):
        nxt = unit.end_location if vid is None else problem.visit(vid).location
        leg = travel[loc][nxt]
        earliest = t + leg
        if rule is not None and k == break_gap:
            b = max(t, rule.earliest_start_s)
            if b > rule.latest_start_s:
                return None
            earliest = max(earliest + rule.duration_s, b + rule.duration_s)
        cost += leg
        if vid is None:
            return cost if earliest <= unit.shift_end_s else None
        v = problem.visit(vid)
        if not v.needs <= unit.competences:
            return None
        start = max(earliest, v.window_start_s)
        if start > v.window_end_s:
            return None
        t, loc = start + v.duration_s, nxt
    raise AssertionError("unreachable")


def best_route(problem: PlanProblem, unit: PlanUnit, visits: frozenset[str]) -> int | None:
    if not visits:
        return 0
    gaps: list[int | None] = (list(range(len(visits) + 1)) if unit.break_rule is not None
                              else [None])
    costs = [c for seq in itertools.permutations(sorted(visits)) for g in gaps
             if (c := route_cost(problem, unit, seq, g)) is not None]
    return min(costs, default=None)


def brute_force(problem: PlanProblem) -> int:
    """Minimum travel plus postponement cost over every split, order and break position."""
    best: int | None = None
    options = [(None, *range(len(problem.units))) if not v.mandatory
               else tuple(range(len(problem.units))) for v in problem.visits]
    for labels in itertools.product(*options):
        total = sum(v.postpone_cost or 0 for v, lab in zip(problem.visits, labels, strict=True)
                    if lab is None)
        for i, unit in enumerate(problem.units):
            mine = frozenset(v.id for v, lab in zip(problem.visits, labels, strict=True)
                             if lab == i)
            cost = best_route(problem, unit, mine)
            if cost is None:
                break
            total += cost
        else:
            best = total if best is None else min(best, total)
    assert best is not None
    return best


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
