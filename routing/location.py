"""Where to base the cars and which hours to staff them: the maximum expected covering location
model (MEXCLP, Daskin 1983) with shift patterns, solved as a MIP with OR-Tools.

A demand point counts as covered by a car when a car on duty at a base within ``limit_s`` of
it is free. Cars are busy independently with probability ``q`` (the busy fraction, per
period), so a point ``n`` cars can reach is covered with probability ``1 - q**n``, which is
``sum over k = 1..n of (1 - q) * q**(k - 1)``: MEXCLP's sum over ``y[i, k]`` (point ``i``
covered at least ``k`` times). The model maximises the expected demand covered over every
period (e.g. the 168 hours of a week) by choosing:

- which candidate sites become bases (exactly ``bases``, fixed sites always among them), and
- how many cars work each shift pattern at each open base (a pattern is the set of periods a
  car works, e.g. 14:00-02:00 every day, and what it costs in staffed car-hours), within a
  budget of car-hours, at most ``max_cars`` of a site's cars on duty at once, at least
  ``min_on_duty`` cars on in the periods named (nights), and at least one car at every open
  base. A car works its whole pattern at one base: it is never moved between bases.

Periods in which the same patterns are on duty share one set of coverage rows (their demand
and busy fractions are summed into the objective's weights), which is exact and keeps a week
of hourly demand to about one row per point and hour of the day. The coverage variables are
continuous: for integer staffing, filling ``y[i, 1..n]`` in order is an optimal LP answer
because the weights fall with ``k``. :func:`expected_coverage` evaluates any staffing directly;
:func:`check_location` checks a result against every rule.
"""

from __future__ import annotations

from collections.abc import Sequence

from routing._mip import MipSpec, solve_mip
from routing.errors import InfeasibleProblem, InvalidPlan, InvalidProblem, SolverFailed
from routing.location_problem import (
    LocationProblem,
    LocationResult,
    ShiftPattern,
    Site,
    Staffing,
)

__all__ = [
    "LocationProblem",
    "LocationResult",
    "ShiftPattern",
    "Site",
    "Staffing",
    "check_location",
    "expected_coverage",
    "solve",
]


def _on_duty(problem: LocationProblem, staffing: Sequence[Staffing]) -> list[list[int]]:
    """Cars on duty ``[site][period]``."""
    site_index = {s.id: j for j, s in enumerate(problem.sites)}
    pattern = {p.id: p for p in problem.patterns}
    cars = [[0] * problem.n_periods for _ in problem.sites]
    for st in staffing:
        if st.site_id not in site_index or st.pattern_id not in pattern:
            raise InvalidProblem(f"staffing names an unknown site or pattern: {st}")
        row = cars[site_index[st.site_id]]
        for p in pattern[st.pattern_id].periods:
            row[p] += st.cars
    return cars


def expected_coverage(problem: LocationProblem, staffing: Sequence[Staffing]) -> float:
    """MEXCLP's objective for ``staffing``: over points and periods, the demand times the
    sum over the ``n`` cars in reach of ``(1 - q) * q**(k - 1)``."""
    cars = _on_duty(problem, staffing)
    reach = [
        [j for j in range(len(problem.sites)) if problem.covers(j, i)]
        for i in range(problem.n_points)
    ]
    total = 0.0
    for i, row in enumerate(problem.demand):
        for p, d in enumerate(row):
            if d:
                q = problem.busy[p]
                n = sum(cars[j][p] for j in reach[i])
                total += d * sum((1 - q) * q ** (k - 1) for k in range(1, n + 1))
    return total


def check_location(problem: LocationProblem, result: LocationResult) -> LocationResult:
    """Return ``result`` if it keeps every rule of ``problem``; else raise InvalidPlan
    listing each broken rule."""
    bad: list[str] = []
    open_ = set(result.open_sites)
    if len(open_) != problem.bases or len(result.open_sites) != problem.bases:
        bad.append(f"{len(result.open_sites)} bases open, {problem.bases} asked for")
    ids = {s.id for s in problem.sites}
    bad += [f"{s} is not a site" for s in open_ - ids]
    bad += [f"fixed site {s.id} is closed" for s in problem.sites if s.fixed and s.id not in open_]
    staffed = {st.site_id for st in result.staffing if st.cars > 0}
    bad += [f"cars at closed site {s}" for s in sorted(staffed - open_)]
    bad += [f"open base {s} has no car" for s in sorted(open_ - staffed)]
    bad += [f"negative cars {st}" for st in result.staffing if st.cars < 0]
    cars = _on_duty(problem, result.staffing)
    for j, site in enumerate(problem.sites):
        worst = max(cars[j])
        if worst > site.max_cars:
            bad.append(f"{worst} cars on at once at {site.id} (at most {site.max_cars})")
    hours = {p.id: p.hours for p in problem.patterns}
    spent = sum(st.cars * hours[st.pattern_id] for st in result.staffing)
    if abs(spent - result.staffed_hours) > 1e-6:
        bad.append(f"staffed_hours {result.staffed_hours:g} but the shifts cost {spent:g}")
    if problem.budget_hours is not None and spent > problem.budget_hours + 1e-6:
        bad.append(f"{spent:g} car-hours exceed the budget of {problem.budget_hours:g}")
    for period, need in problem.min_on_duty:
        have = sum(row[period] for row in cars)
        if have < need:
            bad.append(f"{have} cars on duty in period {period}, at least {need} asked for")
    value = expected_coverage(problem, result.staffing)
    if abs(value - result.objective) > 1e-6 * max(1.0, abs(value)):
        bad.append(f"objective {result.objective!r} but the staffing covers {value!r}")
    if result.bound + 1e-6 * max(1.0, abs(value)) < result.objective:
        bad.append("the bound is below the objective")
    if bad:
        raise InvalidPlan(bad)
    return result


def _groups(problem: LocationProblem) -> list[tuple[tuple[int, ...], list[int]]]:
    """Periods grouped by the patterns on duty in them (periods no pattern works left out)."""
    by_sig: dict[tuple[int, ...], list[int]] = {}
    for p in range(problem.n_periods):
        sig = tuple(s for s, pat in enumerate(problem.patterns) if p in pat.periods)
        by_sig.setdefault(sig, []).append(p)
    return [(sig, periods) for sig, periods in by_sig.items() if sig]


def solve(
    problem: LocationProblem,
    *,
    time_limit_s: float,
    seed: int = 0,
    relative_gap: float = 1e-6,
    hint: LocationResult | None = None,
) -> LocationResult:
    """The bases and shifts that maximise the expected demand covered, validated; optimal
    within ``relative_gap`` unless the time limit stops the search first (``optimal`` False,
    ``bound`` states how far it could be). ``hint`` starts the search from an earlier answer
    (e.g. the previous budget level's). Raises InfeasibleProblem when no staffing keeps the
    rules (a budget too small for the bases and night minimum)."""
    sites, patterns = problem.sites, problem.patterns
    groups = _groups(problem)
    group_of = {p: g for g, (_, periods) in enumerate(groups) for p in periods}
    spec = MipSpec()
    open_ = [spec.var(1.0 if s.fixed else 0.0, 1.0, integer=True) for s in sites]
    cars = [[spec.var(0.0, float(s.max_cars), integer=True) for _ in patterns] for s in sites]
    on = [[spec.var(0.0, float(s.max_cars)) for _ in groups] for s in sites]
    spec.row([(o, 1.0) for o in open_], low=problem.bases, high=problem.bases)
    for j, s in enumerate(sites):
        spec.row([(x, 1.0) for x in cars[j]] + [(open_[j], -1.0)], low=0.0)
        for g, (sig, _) in enumerate(groups):
            spec.row([(on[j][g], 1.0)] + [(cars[j][k], -1.0) for k in sig], low=0.0, high=0.0)
            spec.row([(on[j][g], 1.0), (open_[j], -float(s.max_cars))], high=0.0)
    if problem.budget_hours is not None:
        spec.row(
            [(cars[j][k], pat.hours) for j in range(len(sites)) for k, pat in enumerate(patterns)],
            high=problem.budget_hours,
        )
    need: dict[int, int] = {}
    for period, n in problem.min_on_duty:
        if n <= 0:
            continue
        g = group_of[period]
        need[g] = max(need.get(g, 0), n)
    for g, n in need.items():
        spec.row([(on[j][g], 1.0) for j in range(len(sites))], low=float(n))
    at_once = sum(sorted((s.max_cars for s in sites), reverse=True)[: problem.bases])
    if problem.budget_hours is not None:
        at_once = min(at_once, int(problem.budget_hours // min(p.hours for p in patterns)))
    for i in range(problem.n_points):
        reach = [j for j in range(len(sites)) if problem.covers(j, i)]
        levels = min(at_once, sum(sites[j].max_cars for j in reach))
        for g, (_, periods) in enumerate(groups):
            mass = [
                (problem.demand[i][p], problem.busy[p]) for p in periods if problem.demand[i][p] > 0
            ]
            if not mass or not levels:
                continue
            ys = [
                spec.var(0.0, 1.0, obj=sum(d * (1 - q) * q ** (k - 1) for d, q in mass))
                for k in range(1, levels + 1)
            ]
            spec.row([(y, 1.0) for y in ys] + [(on[j][g], -1.0) for j in reach], high=0.0)
    if hint is not None:
        site_index = {s.id: j for j, s in enumerate(sites)}
        pattern_index = {p.id: k for k, p in enumerate(patterns)}
        for j in range(len(sites)):
            spec.hint[open_[j]] = 1.0 if sites[j].id in hint.open_sites else 0.0
            for k in range(len(patterns)):
                spec.hint[cars[j][k]] = 0.0
        for st in hint.staffing:
            spec.hint[cars[site_index[st.site_id]][pattern_index[st.pattern_id]]] = st.cars
    out = solve_mip(spec, time_limit_s=time_limit_s, seed=seed, relative_gap=relative_gap)
    if out.status == "infeasible":
        raise InfeasibleProblem(
            "no staffing keeps every rule: check the budget, the bases, "
            "the fixed sites and the minimum cars on duty"
        )
    if out.status == "unknown":
        raise SolverFailed(f"no staffing found within {time_limit_s:g} s; give it more time")
    chosen = tuple(s.id for j, s in enumerate(sites) if out.values[open_[j]] > 0.5)
    staffing = tuple(
        Staffing(s.id, pat.id, n)
        for j, s in enumerate(sites)
        for k, pat in enumerate(patterns)
        if (n := round(out.values[cars[j][k]])) > 0
    )
    value = expected_coverage(problem, staffing)
    result = LocationResult(
        open_sites=chosen,
        staffing=staffing,
        objective=value,
        bound=max(out.bound, value),
        optimal=out.optimal,
        staffed_hours=sum(
            st.cars * patterns[[p.id for p in patterns].index(st.pattern_id)].hours
            for st in staffing
        ),
        total_demand=problem.total_demand(),
        solve_s=out.solve_s,
    )
    return check_location(problem, result)
