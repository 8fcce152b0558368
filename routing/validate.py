"""Solver-independent checks of returned plans and assignments.

Recomputes every rule from the problem alone (no OR-Tools here), so a modelling slip in the
solver wrapper cannot hide: windows, shifts, breaks, competences, capacity, each visit exactly
once, times consistent with the travel matrix and durations, and the reported costs.
"""

from __future__ import annotations

from routing.errors import InvalidPlan
from routing.problems import (
    AssignmentProblem,
    AssignmentResult,
    Plan,
    PlanProblem,
    PlanUnit,
    Route,
    Visit,
)

__all__ = ["check_assignment", "check_plan", "validate_assignment", "validate_plan"]


def _route_violations(problem: PlanProblem, unit: PlanUnit, route: Route,
                      visits: dict[str, Visit]) -> list[str]:
    out: list[str] = []
    who = f"unit {unit.id!r}"
    travel = problem.travel_s
    if route.depart_s < unit.ready:
        out.append(f"{who} departs at {route.depart_s}, before it is ready at {unit.ready}")
    if route.end_s > unit.shift_end_s:
        out.append(f"{who} ends at {route.end_s}, after its shift end {unit.shift_end_s}")
    if route.end_s < route.depart_s:
        out.append(f"{who} ends before it departs")
    if not route.stops:
        if route.break_taken is not None:
            out.append(f"{who} has no stops but reports a break")
        if route.travel_s != 0:
            out.append(f"{who} has no stops but reports travel {route.travel_s}")
        return out
    brk, rule = route.break_taken, unit.break_rule
    if rule is None and brk is not None:
        out.append(f"{who} takes a break it does not have")
    if rule is not None and brk is None:
        out.append(f"{who} has a break rule but takes no break")
    if rule is not None and brk is not None:
        if not rule.earliest_start_s <= brk.start_s <= rule.latest_start_s:
            out.append(f"{who} break starts at {brk.start_s}, outside "
                       f"[{rule.earliest_start_s}, {rule.latest_start_s}]")
        if brk.end_s - brk.start_s != rule.duration_s:
            out.append(f"{who} break lasts {brk.end_s - brk.start_s}, not {rule.duration_s}")
        if not 0 <= brk.after_stops <= len(route.stops):
            out.append(f"{who} break position {brk.after_stops} is not on the route")
    load = 0
    prev_loc, prev_end = unit.start_location, route.depart_s
    total = 0
    for k, stop in enumerate((*route.stops, None)):
        loc = unit.end_location if stop is None else visits[stop.visit_id].location
        leg = travel[prev_loc][loc]
        total += leg
        next_time = route.end_s if stop is None else stop.start_s
        need = leg
        if brk is not None and brk.after_stops == k:
            need += brk.end_s - brk.start_s
            if brk.start_s < prev_end or brk.end_s > next_time:
                out.append(f"{who} break [{brk.start_s}, {brk.end_s}] overlaps a visit or "
                           "lies outside its gap")
        if next_time - prev_end < need:
            target = "its end location" if stop is None else f"visit {stop.visit_id!r}"
            out.append(f"{who} cannot reach {target} in time: gap {next_time - prev_end} s, "
                       f"needs {need} s")
        if stop is None:
            break
        v = visits[stop.visit_id]
        if stop.arrival_s < prev_end + leg or stop.arrival_s > stop.start_s:
            out.append(f"visit {v.id!r}: arrival {stop.arrival_s} inconsistent with travel "
                       f"({prev_end} + {leg}) and start {stop.start_s}")
        if not v.window_start_s <= stop.start_s <= v.window_end_s:
            out.append(f"visit {v.id!r} starts at {stop.start_s}, outside its window "
                       f"[{v.window_start_s}, {v.window_end_s}]")
        if stop.end_s - stop.start_s != v.duration_s:
            out.append(f"visit {v.id!r} lasts {stop.end_s - stop.start_s} s, not {v.duration_s}")
        if not v.needs <= unit.competences:
            missing = ", ".join(sorted(v.needs - unit.competences))
            out.append(f"visit {v.id!r} needs {missing}, which {who} lacks")
        if v.unit_id is not None and v.unit_id != unit.id:
            out.append(f"visit {v.id!r} is pinned to {v.unit_id!r} but planned on {who}")
        load += v.demand
        prev_loc, prev_end = loc, stop.end_s
    if unit.capacity is not None and load > unit.capacity:
        out.append(f"{who} carries {load}, over its capacity {unit.capacity}")
    if total != route.travel_s:
        out.append(f"{who} reports travel {route.travel_s} s, the matrix gives {total} s")
    return out


def validate_plan(problem: PlanProblem, plan: Plan) -> list[str]:
    """Every rule ``plan`` breaks for ``problem``, as sentences; empty when it is valid."""
    out: list[str] = []
    visits = {v.id: v for v in problem.visits}
    units = {u.id: u for u in problem.units}
    seen: dict[str, str] = {}

    def place(visit_id: str, where: str) -> bool:
        if visit_id not in visits:
            out.append(f"{where} lists unknown visit {visit_id!r}")
            return False
        if visit_id in seen:
            out.append(f"visit {visit_id!r} appears twice ({seen[visit_id]} and {where})")
            return False
        seen[visit_id] = where
        return True

    route_units = [r.unit_id for r in plan.routes]
    for uid in units:
        if route_units.count(uid) != 1:
            out.append(f"unit {uid!r} has {route_units.count(uid)} routes, expected 1")
    travel_total = 0
    for route in plan.routes:
        if route.unit_id not in units:
            out.append(f"route for unknown unit {route.unit_id!r}")
            continue
        ok = all([place(s.visit_id, f"route of {route.unit_id!r}") for s in route.stops])
        if ok:
            out.extend(_route_violations(problem, units[route.unit_id], route, visits))
        travel_total += route.travel_s
    for vid in plan.postponed:
        if place(vid, "postponed") and visits[vid].mandatory:
            out.append(f"mandatory visit {vid!r} is listed as postponed")
    for vid in plan.unplaced:
        if place(vid, "unplaced") and not visits[vid].mandatory:
            out.append(f"optional visit {vid!r} is listed as unplaced, not postponed")
    for vid in visits:
        if vid not in seen:
            out.append(f"visit {vid!r} is missing: neither planned, postponed nor unplaced")
    postpone = sum(visits[v].postpone_cost or 0 for v in plan.postponed if v in visits)
    if plan.travel_s != travel_total:
        out.append(f"plan travel {plan.travel_s} differs from the routes' {travel_total}")
    if plan.postpone_cost != postpone:
        out.append(f"plan postpone cost {plan.postpone_cost} differs from {postpone}")
    if plan.cost != plan.travel_s + plan.postpone_cost:
        out.append("plan cost is not travel plus postpone cost")
    return out


def check_plan(problem: PlanProblem, plan: Plan) -> Plan:
    """Return ``plan`` if valid, else raise :class:`InvalidPlan` listing every violation."""
    violations = validate_plan(problem, plan)
    if violations:
        raise InvalidPlan(violations)
    return plan


def validate_assignment(problem: AssignmentProblem, result: AssignmentResult) -> list[str]:
    """Every rule ``result`` breaks for ``problem`` (shift ends, competences, each once, times)."""
    out: list[str] = []
    u_index = {u.id: i for i, u in enumerate(problem.units)}
    c_index = {c.id: i for i, c in enumerate(problem.callouts)}
    used_u: set[str] = set()
    used_c: set[str] = set()
    objective = 0
    for a in result.assignments:
        if a.unit_id not in u_index or a.callout_id not in c_index:
            out.append(f"unknown unit or callout in {a}")
            continue
        if a.unit_id in used_u:
            out.append(f"unit {a.unit_id!r} is assigned twice")
        if a.callout_id in used_c:
            out.append(f"callout {a.callout_id!r} is assigned twice")
        used_u.add(a.unit_id)
        used_c.add(a.callout_id)
        u, c = u_index[a.unit_id], c_index[a.callout_id]
        unit, callout = problem.units[u], problem.callouts[c]
        depart = problem.start_s(u)
        arrival = depart + problem.travel_s[u][c]
        if (a.depart_s, a.arrival_s, a.response_s) != (depart, arrival, arrival - problem.now_s):
            out.append(f"unit {a.unit_id!r} to {a.callout_id!r}: times inconsistent with the "
                       f"matrix (depart {depart}, arrival {arrival})")
        if arrival + callout.on_scene_s > unit.shift_end_s:
            out.append(f"unit {a.unit_id!r} would work past its shift end on {a.callout_id!r}")
        if not callout.needs <= unit.competences:
            out.append(f"unit {a.unit_id!r} lacks competences for {a.callout_id!r}")
        objective += problem.weights[callout.priority] * (arrival - problem.now_s)
    expected_waiting = sorted(
        (c for c in problem.callouts if c.id not in used_c),
        key=lambda c: (c.priority, c_index[c.id]))
    if list(result.waiting) != [c.id for c in expected_waiting]:
        out.append("waiting must list every unassigned callout, most pressing first")
    if sorted(result.idle_units) != sorted(u.id for u in problem.units if u.id not in used_u):
        out.append("idle_units must list every unassigned unit")
    objective += sum(problem.weights[c.priority] * problem.waiting_penalty_s
                     for c in expected_waiting)
    if result.objective != objective:
        out.append(f"objective {result.objective} differs from recomputed {objective}")
    return out


def check_assignment(problem: AssignmentProblem, result: AssignmentResult) -> AssignmentResult:
    """Return ``result`` if valid, else raise :class:`InvalidPlan` listing every violation."""
    violations = validate_assignment(problem, result)
    if violations:
        raise InvalidPlan(violations)
    return result
