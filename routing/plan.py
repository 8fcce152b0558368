"""Plan a day of follow-up home visits over the units, and re-plan it when things change.

Model: one routing vehicle per unit (start and end location, shift, break, capacity); each
visit a node with a start window, a duration folded into the time transit, the units allowed by
competence (and pinning), and a disjunction: an optional visit may be postponed at its
``postpone_cost``; a mandatory one carries a penalty larger than any route cost, so the search
always has a (partial) first solution yet drops a mandatory visit only when it cannot fit it.
Before solving, each visit is checked against every unit alone: a mandatory visit that no unit
could serve even on an empty route raises :class:`InfeasibleProblem` naming it.

Search: OR-Tools (:mod:`routing._ortools`) builds the first solution; our ruin-and-recreate
search (:mod:`routing._lns`) improves it, or the warm start, for the rest of the time limit
(``SearchOptions(lns=None)`` keeps OR-Tools' guided local search instead).

Times in the returned :class:`Plan` are recomputed here from the visit order (earliest start,
break placed in the gap that ends the day earliest) and the plan is validated by
:mod:`routing.validate` before it is returned.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from routing._lns import LnsOptions, improve
from routing._ortools import SearchOptions, solve_routing
from routing._spec import RoutingSpec
from routing.errors import InfeasibleProblem, InvalidProblem
from routing.problems import (
    BreakTaken,
    Plan,
    PlanProblem,
    PlanUnit,
    Progress,
    Route,
    Stop,
    Visit,
)
from routing.validate import check_plan

__all__ = [
    "LnsOptions",
    "SearchOptions",
    "UnitState",
    "plan",
    "replan",
    "rest_of_day",
    "schedule_route",
]

logger = logging.getLogger(__name__)

Warmstart = Plan | Mapping[str, Sequence[str]]


def _clock(t: int) -> str:
    return f"{t // 3600:02d}:{t % 3600 // 60:02d}"


def schedule_route(problem: PlanProblem, unit: PlanUnit, visit_ids: Sequence[str]) -> Route | None:
    """Earliest-start times for ``unit`` doing ``visit_ids`` in order, or None if infeasible.

    The break, if any, is tried in every gap (before the first visit, between visits, after the
    last) and put where the day ends earliest; in a gap the unit may stop during the drive.
    """
    travel = problem.travel_s
    visits = [problem.visit(v) for v in visit_ids]
    if not visits:
        return Route(unit_id=unit.id, depart_s=unit.ready, stops=(), break_taken=None,
                     end_s=unit.ready, travel_s=0)
    rule = unit.break_rule
    gaps = range(len(visits) + 1) if rule is not None else [-1]
    best: Route | None = None
    for gap in gaps:
        t, loc, total = unit.ready, unit.start_location, 0
        stops: list[Stop] = []
        taken: BreakTaken | None = None
        ok = True
        for k in range(len(visits) + 1):
            nxt = unit.end_location if k == len(visits) else visits[k].location
            leg = travel[loc][nxt]
            total += leg
            arrival = t + leg
            ready_at = arrival
            if k == gap and rule is not None:
                b = max(t, rule.earliest_start_s)
                if b > rule.latest_start_s:
                    ok = False
                    break
                taken = BreakTaken(start_s=b, end_s=b + rule.duration_s, after_stops=k)
                if b < arrival:  # the break interrupts the drive
                    arrival += rule.duration_s
                ready_at = max(arrival, b + rule.duration_s)
            if k == len(visits):
                t = ready_at
                break
            v = visits[k]
            start = max(ready_at, v.window_start_s)
            if start > v.window_end_s:
                ok = False
                break
            stops.append(Stop(visit_id=v.id, arrival_s=arrival, start_s=start,
                              end_s=start + v.duration_s))
            t, loc = start + v.duration_s, nxt
        if not ok or t > unit.shift_end_s:
            continue
        if best is None or t < best.end_s:
            best = Route(unit_id=unit.id, depart_s=unit.ready, stops=tuple(stops),
                         break_taken=taken, end_s=t, travel_s=total)
    return best


def _candidates(problem: PlanProblem, visit: Visit) -> tuple[list[int], str]:
    """Indices of units that could serve ``visit`` alone, and why none can if so."""
    out: list[int] = []
    reasons: list[str] = []
    for i, u in enumerate(problem.units):
        if visit.unit_id is not None and visit.unit_id != u.id:
            continue
        if not visit.needs <= u.competences:
            reasons.append(f"{u.id}: lacks {', '.join(sorted(visit.needs - u.competences))}")
            continue
        if u.capacity is not None and visit.demand > u.capacity:
            reasons.append(f"{u.id}: capacity {u.capacity} < demand {visit.demand}")
            continue
        arrive = max(u.ready + problem.travel_s[u.start_location][visit.location],
                     visit.window_start_s)
        back = arrive + visit.duration_s + problem.travel_s[visit.location][u.end_location]
        if arrive > visit.window_end_s or back > u.shift_end_s:
            reasons.append(f"{u.id}: shift {_clock(u.ready)}–{_clock(u.shift_end_s)} cannot "
                           f"reach the window {_clock(visit.window_start_s)}–"
                           f"{_clock(visit.window_end_s)} and return")
            continue
        out.append(i)
    return out, "; ".join(reasons) or "it is pinned to no available unit"


@dataclass(frozen=True, slots=True)
class _Model:
    spec: RoutingSpec
    visit_of_node: dict[int, str]
    node_of_visit: dict[str, int]
    impossible: list[str]


def _model(problem: PlanProblem, *, strict: bool) -> _Model:
    travel = problem.travel_s
    units = problem.units
    depots = sorted({u.start_location for u in units} | {u.end_location for u in units})
    locs = list(depots)
    service = [0] * len(depots)
    window = [(0, 0)] * len(depots)
    penalty: list[int | None] = [None] * len(depots)
    allowed: list[list[int] | None] = [None] * len(depots)
    demand = [0] * len(depots)
    visit_of_node: dict[int, str] = {}
    impossible: list[str] = []
    for v in problem.visits:
        cands, why = _candidates(problem, v)
        if not cands:
            if v.mandatory and strict:
                raise InfeasibleProblem(
                    f"visit {v.id!r} (window {_clock(v.window_start_s)}–"
                    f"{_clock(v.window_end_s)}) fits no unit: {why}")
            impossible.append(v.id)
            continue
        visit_of_node[len(locs)] = v.id
        locs.append(v.location)
        service.append(v.duration_s)
        window.append((v.window_start_s, v.window_end_s))
        penalty.append(v.postpone_cost)
        allowed.append(None if len(cands) == len(units) else cands)
        demand.append(v.demand)
    cost = [[travel[a][b] for b in locs] for a in locs]
    transit = [[service[i] + row[j] for j in range(len(locs))] for i, row in enumerate(cost)]
    # A mandatory visit's penalty exceeds any possible route cost plus every optional penalty.
    big = sum(max(row) for row in cost) + sum(p or 0 for p in penalty) + 1
    # When not every mandatory visit fits, the unpinned ones go first, then those a dispatcher
    # pinned to a unit; a visit under way (re-planning) outweighs all of them together.
    tier = {v.id: 2 if v.under_way else 1 if v.unit_id is not None else 0
            for v in problem.visits}
    scale = (1, len(visit_of_node) + 1, (len(visit_of_node) + 1) ** 2)
    penalty = [big * scale[tier[visit_of_node[n]]] if (n in visit_of_node and p is None) else p
               for n, p in enumerate(penalty)]
    use_load = any(demand) and any(u.capacity is not None for u in units)
    spec = RoutingSpec(
        cost=cost, transit=transit, service=service,
        starts=[depots.index(u.start_location) for u in units],
        ends=[depots.index(u.end_location) for u in units],
        vehicle_start_window=[(u.ready, u.shift_end_s) for u in units],
        vehicle_end_max=[u.shift_end_s for u in units],
        node_window=window, penalty=penalty, allowed=allowed,
        breaks=[None if u.break_rule is None else (
            max(u.break_rule.earliest_start_s, u.ready), u.break_rule.latest_start_s,
            u.break_rule.duration_s) for u in units],
        demand=demand if use_load else None,
        capacity=[u.capacity if u.capacity is not None else sum(demand) for u in units]
        if use_load else None,
        horizon=max(u.shift_end_s for u in units) + 1,
    )
    return _Model(spec, visit_of_node, {v: n for n, v in visit_of_node.items()}, impossible)


def _warm_routes(problem: PlanProblem, model: _Model, initial: Warmstart) -> list[list[int]]:
    """Previous routes cut to what is still feasible (pinned visits first), as node lists."""
    wanted = {r.unit_id: r.visit_ids for r in initial.routes} if isinstance(initial, Plan) \
        else dict(initial)
    used: set[str] = set()
    routes: list[list[int]] = []
    for i, unit in enumerate(problem.units):
        pinned = [v.id for v in problem.visits
                  if v.unit_id == unit.id and v.id in model.node_of_visit]
        seq: list[str] = []
        for vid in [*pinned, *wanted.get(unit.id, ())]:
            node = model.node_of_visit.get(vid)
            allowed = model.spec.allowed[node] if node is not None else None
            if node is None or vid in used or (allowed is not None and i not in allowed):
                continue
            if schedule_route(problem, unit, [*seq, vid]) is not None:
                seq.append(vid)
                used.add(vid)
        routes.append([model.node_of_visit[v] for v in seq])
    return routes


def _search(model: _Model, warm: list[list[int]] | None, *, time_limit_s: float, seed: int,
            options: SearchOptions, report: Callable[[int, float, int], None],
            first_solution: bool = True) -> tuple[list[list[int]], int, bool]:
    """Node routes per vehicle, solutions seen, and whether the warm start was used.

    ``first_solution`` False skips OR-Tools' first solution when a warm start is given (the
    ruin-and-recreate search then starts from the warm start alone).
    """
    if options.lns is None:
        outcome = solve_routing(model.spec, time_limit_s=time_limit_s, options=options,
                                initial_routes=warm, on_solution=report)
        if outcome is None:
            raise InfeasibleProblem("the solver found no plan at all within the time limit; "
                                    "check unit shifts and start times")
        if warm is not None and not outcome.warm_started:
            logger.info("initial routes rejected by the solver; searched from scratch")
        return outcome.routes, outcome.solutions, outcome.warm_started
    began = time.monotonic()
    # OR-Tools builds the first solution (a cheap insertion heuristic, no local search); our
    # ruin-and-recreate search takes it, or the warm start if cheaper, for the rest.
    first = None
    if first_solution or warm is None:
        first = solve_routing(model.spec, time_limit_s=max(0.001, time_limit_s / 2),
                              options=options, first_only=True)
    starts = [r for r in (warm, first.routes if first is not None else None) if r is not None]
    left = max(0.001, time_limit_s - (time.monotonic() - began))

    def improved(cost: int, iterations: int) -> None:
        report(cost, time.monotonic() - began, iterations)

    result = improve(model.spec, starts, time_limit_s=left, seed=seed, options=options.lns,
                     on_improve=improved)
    warm_used = warm is not None and result.feasible_starts[0]
    if warm is not None and not warm_used:
        logger.info("initial routes infeasible for the model; searched from scratch")
    return result.routes, result.improvements + len(starts), warm_used


def plan(
    problem: PlanProblem,
    *,
    time_limit_s: float,
    seed: int = 0,
    initial: Warmstart | None = None,
    options: SearchOptions | None = None,
    strict: bool = True,
    on_progress: Callable[[Progress], None] | None = None,
) -> Plan:
    """Plan ``problem`` within ``time_limit_s`` seconds; the result is validated.

    ``initial`` (a previous plan, or visit ids per unit id) warm-starts the search. With
    ``strict`` a mandatory visit that no unit can serve raises :class:`InfeasibleProblem`;
    otherwise it is listed in ``Plan.unplaced``. ``seed`` drives the ruin-and-recreate
    search; results can still vary with the time limit and the machine's speed.
    """
    if time_limit_s <= 0:
        raise InvalidProblem("time_limit_s must be positive")
    model = _model(problem, strict=strict)
    warm = _warm_routes(problem, model, initial) if initial is not None else None
    return _solve(problem, model, warm, time_limit_s=time_limit_s, seed=seed,
                  options=options or SearchOptions(), on_progress=on_progress)


def _solve(problem: PlanProblem, model: _Model, warm: list[list[int]] | None, *,
           time_limit_s: float, seed: int, options: SearchOptions,
           on_progress: Callable[[Progress], None] | None, first_solution: bool = True,
           ) -> Plan:
    """Search ``model`` from ``warm`` and turn the node routes into a validated plan."""

    def report(cost: int, elapsed: float, count: int) -> None:
        if on_progress is not None:
            on_progress(Progress(cost=cost, elapsed_s=elapsed, solutions=count))

    node_routes, solutions, warm_started = _search(
        model, warm, time_limit_s=time_limit_s, seed=seed, options=options, report=report,
        first_solution=first_solution)
    routes: list[Route] = []
    planned: set[str] = set()
    for unit, nodes in zip(problem.units, node_routes, strict=True):
        ids = [model.visit_of_node[n] for n in nodes]
        route = schedule_route(problem, unit, ids)
        if route is None:
            raise InfeasibleProblem(f"internal error: solver route for unit {unit.id!r} "
                                    "cannot be scheduled")
        routes.append(route)
        planned.update(ids)
    postponed = tuple(v.id for v in problem.visits if v.id not in planned and not v.mandatory)
    unplaced = tuple(v.id for v in problem.visits if v.id not in planned and v.mandatory)
    if unplaced:  # a result the caller shows (the dispatcher's "do not fit" list), not a fault
        logger.info("plan leaves mandatory visits unplaced: %s", ", ".join(unplaced))
    travel = sum(r.travel_s for r in routes)
    postpone_cost = sum(problem.visit(v).postpone_cost or 0 for v in postponed)
    result = Plan(routes=tuple(routes), postponed=postponed, unplaced=unplaced, travel_s=travel,
                  postpone_cost=postpone_cost, cost=travel + postpone_cost,
                  solutions=solutions, warm_started=warm_started)
    return check_plan(problem, result)


REPLAN_RESTARTS = 16
"""Independent annealing runs per re-planning thread: many short runs beat a few long ones
on rugged small days (about 2,500 iterations each at 0.3 s; benchmarks/README.md)."""
REPLAN_REMOVED = 10.0
"""Visits removed per ruin when re-planning (measured against 5 in benchmarks/README.md)."""


@dataclass(frozen=True, slots=True)
class UnitState:
    """Where a unit is now: free at ``free_at_s`` at ``location``, maybe mid-visit, break done?

    With ``under_way`` the unit is doing that visit at ``location`` and ends it at
    ``free_at_s``; the visit stays on this unit in the new plan.
    """

    unit_id: str
    location: int
    free_at_s: int
    under_way: str | None = None
    break_taken: bool = False


def rest_of_day(problem: PlanProblem, states: Iterable[UnitState], *, now_s: int,
                done: Iterable[str] = ()) -> PlanProblem:
    """The problem left at ``now_s``: done visits gone, units moved to where they are."""
    by_unit = {s.unit_id: s for s in states}
    missing = [u.id for u in problem.units if u.id not in by_unit]
    if missing:
        raise InvalidProblem(f"re-planning needs the state of every unit; missing {missing}")
    finished = set(done)
    pinned: dict[str, tuple[str, int]] = {}
    units: list[PlanUnit] = []
    for u in problem.units:
        s = by_unit[u.id]
        ready = max(s.free_at_s, now_s, u.shift_start_s)
        if s.under_way is not None:
            v = problem.visit(s.under_way)
            ready = s.free_at_s - v.duration_s
            pinned[v.id] = (u.id, ready)
        rule = None if s.break_taken else u.break_rule
        if rule is not None and rule.latest_start_s < max(ready, s.free_at_s):
            if rule.latest_start_s >= now_s:  # open now, but the unit is busy past its end
                logger.warning("unit %s can no longer take its break; planning without it",
                               u.id)
            else:  # the window closed before this plan (taken, or missed before it was made)
                logger.debug("unit %s: its break window has passed", u.id)
            rule = None
        if rule is not None and rule.earliest_start_s < ready:
            rule = replace(rule, earliest_start_s=ready)
        units.append(replace(u, start_location=s.location, break_rule=rule,
                             ready_s=min(max(ready, u.shift_start_s), u.shift_end_s)))
    visits: list[Visit] = []
    for v in problem.visits:
        if v.id in finished:
            continue
        if v.id in pinned:
            unit_id, start = pinned[v.id]
            v = replace(v, unit_id=unit_id, window_start_s=start, window_end_s=start,
                        postpone_cost=None, under_way=True)
        visits.append(v)
    return PlanProblem(travel_s=problem.travel_s, units=tuple(units), visits=tuple(visits))


def replan(
    problem: PlanProblem,
    previous: Plan,
    states: Iterable[UnitState],
    *,
    now_s: int,
    done: Iterable[str] = (),
    time_limit_s: float = 0.3,
    seed: int = 0,
    options: SearchOptions | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> tuple[PlanProblem, Plan]:
    """Re-plan the rest of the day from every unit's state, warm-started from ``previous``.

    Returns the reduced problem and its validated plan. Visits under way stay on their unit;
    mandatory visits that can no longer be done today are listed in ``Plan.unplaced``.

    Searches run side by side in threads for the whole time limit (numba and OR-Tools
    release the GIL while they search) and the best plan wins. With the default ruin-and-
    recreate search: one starts from ``previous`` cut to what is still feasible, the other
    from OR-Tools' first solution (parallel cheapest insertion) with another seed; each
    splits its time into ``REPLAN_RESTARTS`` short independent annealing runs that remove
    ``REPLAN_REMOVED`` visits per ruin. These small days (optional visits, breaks, long drives
    between towns) are rugged: one run finds the best basin only now and then, and early in
    the day some basins are reached from the old plan, others from a fresh insertion, so many
    short runs from both starts beat a few long ones (benchmarks/README.md). With
    ``options.lns`` None, three OR-Tools searches run instead (warm; parallel and local
    cheapest insertion). ``on_progress`` may be called from any worker thread.
    """
    if time_limit_s <= 0:
        raise InvalidProblem("time_limit_s must be positive")
    deadline = time.monotonic() + time_limit_s  # the limit covers the set-up too
    rest = rest_of_day(problem, states, now_s=now_s, done=done)
    base = options or SearchOptions()
    model = _model(rest, strict=False)
    warm = _warm_routes(rest, model, previous)
    # (options, seed, warm start, also OR-Tools' first solution?)
    jobs: list[tuple[SearchOptions, int, list[list[int]] | None, bool]]
    if base.lns is not None:
        if options is None:
            base = replace(base, lns=replace(base.lns, removed=REPLAN_REMOVED,
                                             restarts=REPLAN_RESTARTS))
        jobs = [(base, seed, warm, False), (base, seed + 1, None, True)]
    else:
        fresh = replace(base, first_solution="LOCAL_CHEAPEST_INSERTION", insertion_lns=False)
        jobs = [(base, seed, warm, True), (base, seed, None, True), (fresh, seed, None, True)]

    def run(opts: SearchOptions, s: int, start: list[list[int]] | None, first: bool) -> Plan:
        left = max(0.001, deadline - time.monotonic())
        return _solve(rest, model, start, time_limit_s=left, seed=s, options=opts,
                      on_progress=on_progress, first_solution=first)

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        runs = [pool.submit(run, *job) for job in jobs]
        best = min((r.result() for r in runs), key=lambda p: (len(p.unplaced), p.cost))
    return rest, best
