"""Tiny named planning instances and a brute-force oracle shared by the planning tests."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from routing.problems import BreakRule, PlanProblem, PlanUnit, Visit

DATA = Path(__file__).resolve().parent.parent / "data" / "routing"


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
    chosen = [problem.visit(v) for v in visits]
    if unit.capacity is not None and sum(v.demand for v in chosen) > unit.capacity:
        return None
    if any(v.unit_id not in (None, unit.id) for v in chosen):
        return None
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
