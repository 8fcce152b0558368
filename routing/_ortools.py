"""The only module that imports OR-Tools: plain-Python specs in, plain-Python answers out.

:func:`min_cost_perfect_matching` wraps the linear sum assignment solver;
:func:`solve_routing` builds and runs a routing model (a :class:`~routing._spec.RoutingSpec`:
time windows, optional visits as penalised disjunctions, breaks, capacities, allowed vehicles,
warm start). No OR-Tools object leaves this module. Without OR-Tools installed the module still
imports, so the travel-time half of :mod:`routing` (snapping, the hierarchy, ETAs) loads and
runs; only these solvers then raise :class:`~routing.errors.SolverUnavailable`. Where it is
installed it is imported with the module, as before, so no solve pays the import (about 0.5 s)
inside its time limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from routing._lns import LnsOptions
from routing._spec import RoutingSpec
from routing.errors import InvalidProblem, SolverFailed, SolverUnavailable

try:
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2
    from ortools.graph.python import linear_sum_assignment
except ImportError as exc:  # travel-time queries do not need OR-Tools
    _MISSING: ImportError | None = exc
else:
    _MISSING = None

__all__ = [
    "RoutingOutcome",
    "SearchOptions",
    "min_cost_perfect_matching",
    "solve_routing",
]


def _require() -> None:
    """Raise :class:`SolverUnavailable` when OR-Tools is not installed."""
    if _MISSING is not None:
        raise SolverUnavailable("assignment and visit planning need OR-Tools (the ortools "
                                f"package), which did not import: {_MISSING}") from _MISSING


def min_cost_perfect_matching(size: int, arcs: Sequence[tuple[int, int, int]]) -> list[int]:
    """Optimal perfect matching of ``size`` left to ``size`` right nodes over ``arcs``.

    ``arcs`` are ``(left, right, cost)``; returns the right mate of each left node.
    Raises :class:`~routing.errors.SolverFailed` when no perfect matching exists (callers
    always add arcs that make one).
    """
    _require()
    solver = linear_sum_assignment.SimpleLinearSumAssignment()
    for left, right, cost in arcs:
        solver.add_arc_with_cost(left, right, cost)
    status = solver.solve()
    if status != linear_sum_assignment.SimpleLinearSumAssignment.OPTIMAL:
        raise SolverFailed(f"linear sum assignment failed with status {status}")
    return [solver.right_mate(i) for i in range(size)]


@dataclass(frozen=True, slots=True)
class SearchOptions:
    """Search settings for visit planning (OR-Tools strategy names, as strings).

    ``lns`` (the default) runs OR-Tools for the first solution only and then our ruin-and-
    recreate search (:mod:`routing._lns`) for the rest of the time limit; None runs OR-Tools'
    own local search and ``metaheuristic`` for the whole limit, as before.

    ``iterated`` switches on OR-Tools' iterated local search (ruin and recreate with simulated
    annealing acceptance) instead of the metaheuristic; ``ruin`` names its ruin strategies
    ("sisr", "random_walk", "spatially_close_routes"). ``insertion_lns`` False switches off the
    operators that re-run insertion heuristics on whole routes: on small days with many
    optional visits they cost more time than they return. ``overrides`` sets any other field of
    the search parameters by dotted name, e.g. ``("local_search_operators.use_cross_exchange",
    True)``, for experiments. The defaults were chosen on the Solomon set
    (benchmarks/README.md).
    """

    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    gls_lambda: float = 0.1
    iterated: bool = False
    ruin: tuple[str, ...] = ()
    insertion_lns: bool = True
    overrides: tuple[tuple[str, object], ...] = ()
    lns: LnsOptions | None = field(default_factory=LnsOptions)


@dataclass(frozen=True, slots=True)
class RoutingOutcome:
    """Node sequences per vehicle (without start and end), the objective and search facts."""

    routes: list[list[int]]
    objective: int
    solutions: int
    warm_started: bool


_INSERTION_LNS = (
    "use_global_cheapest_insertion_path_lns",
    "use_local_cheapest_insertion_path_lns",
    "use_relocate_path_global_cheapest_insertion_insert_unperformed",
    "use_global_cheapest_insertion_visit_types_lns",
    "use_local_cheapest_insertion_visit_types_lns",
)


def _set_field(params: Any, dotted: str, value: object) -> None:
    *path, name = dotted.split(".")
    target = params
    for part in path:
        target = getattr(target, part)
    desc = target.DESCRIPTOR.fields_by_name[name]
    if desc.enum_type is not None and isinstance(value, bool):
        value = 3 if value else 2  # OptionalBoolean BOOL_TRUE / BOOL_FALSE
    elif desc.enum_type is not None and isinstance(value, str):
        value = desc.enum_type.values_by_name[value].number
    setattr(target, name, value)


def _parameters(options: SearchOptions, time_limit_s: float) -> Any:
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(
        routing_enums_pb2.FirstSolutionStrategy, options.first_solution)
    params.local_search_metaheuristic = getattr(
        routing_enums_pb2.LocalSearchMetaheuristic, options.metaheuristic)
    params.guided_local_search_lambda_coefficient = options.gls_lambda
    params.use_iterated_local_search = options.iterated
    ruin_recreate = params.iterated_local_search_parameters.ruin_recreate_parameters
    for name in options.ruin:
        strategy = ruin_recreate.ruin_strategies.add()
        if name == "sisr":
            strategy.sisr.avg_num_removed_visits = 10
            strategy.sisr.max_removed_sequence_size = 10
            strategy.sisr.bypass_factor = 0.01
        elif name == "random_walk":
            strategy.random_walk.num_removed_visits = 10
        elif name == "spatially_close_routes":
            strategy.spatially_close_routes.num_ruined_routes = 2
        else:
            raise InvalidProblem(f"unknown ruin strategy {name!r}")
    if not options.insertion_lns:
        ops = params.local_search_operators
        for name in _INSERTION_LNS:
            setattr(ops, name, 2)  # OptionalBoolean BOOL_FALSE
    for dotted, value in options.overrides:
        _set_field(params, dotted, value)
    params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    return params


def solve_routing(
    spec: RoutingSpec,
    *,
    time_limit_s: float,
    options: SearchOptions,
    initial_routes: list[list[int]] | None = None,
    on_solution: Callable[[int, float, int], None] | None = None,
    first_only: bool = False,
) -> RoutingOutcome | None:
    """Solve ``spec``; ``initial_routes`` (node lists per vehicle) warm-start the search.

    Returns None when no solution was found within the limit. ``on_solution(cost, elapsed_s,
    count)`` is called for each improving solution. ``first_only`` stops at the first
    solution (the first-solution strategy, no local search).
    """
    _require()
    began = time.monotonic()
    n_nodes, n_veh = len(spec.cost), len(spec.starts)
    manager = pywrapcp.RoutingIndexManager(n_nodes, n_veh, spec.starts, spec.ends)
    routing = pywrapcp.RoutingModel(manager)

    # Both registration calls take node-indexed data and map routing indices themselves.
    cost_cb = routing.RegisterTransitMatrix(spec.cost)
    routing.SetArcCostEvaluatorOfAllVehicles(cost_cb)
    time_cb = routing.RegisterTransitMatrix(spec.transit)
    routing.AddDimension(time_cb, spec.horizon, spec.horizon, False, "time")
    time_dim = routing.GetDimensionOrDie("time")

    for node in range(n_nodes):
        pen = spec.penalty[node]
        if pen is None:
            continue
        index = manager.NodeToIndex(node)
        lo, hi = spec.node_window[node]
        time_dim.CumulVar(index).SetRange(lo, hi)
        routing.AddDisjunction([index], pen)
        allowed = spec.allowed[node]
        if allowed is not None:
            # -1 keeps "not performed" possible; the disjunction prices it.
            routing.VehicleVar(index).SetValues([-1, *allowed])
    for v in range(n_veh):
        lo, hi = spec.vehicle_start_window[v]
        time_dim.CumulVar(routing.Start(v)).SetRange(lo, hi)
        time_dim.CumulVar(routing.End(v)).SetRange(lo, spec.vehicle_end_max[v])
    if spec.demand is not None and spec.capacity is not None:
        demand_cb = routing.RegisterUnaryTransitVector(spec.demand)
        routing.AddDimensionWithVehicleCapacity(demand_cb, 0, spec.capacity, True, "load")
    if any(b is not None for b in spec.breaks):
        solver = routing.solver()
        visit_transits = [spec.service[manager.IndexToNode(i)] for i in range(routing.Size())]
        for v, brk in enumerate(spec.breaks):
            if brk is None:
                continue
            lo, hi, dur = brk
            interval = solver.FixedDurationIntervalVar(lo, hi, dur, False, f"break{v}")
            time_dim.SetBreakIntervalsOfVehicle([interval], v, visit_transits)
    for v in range(n_veh):
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(v)))

    params = _parameters(options, time_limit_s)
    if first_only:
        params.solution_limit = 1
    count = 0
    best: list[int] = []

    def seen() -> None:
        nonlocal count
        count += 1
        value = routing.CostVar().Value()
        if not best or value < best[0]:
            best[:] = [value]
            if on_solution is not None:
                on_solution(value, time.monotonic() - began, count)

    routing.AddAtSolutionCallback(seen)
    routing.CloseModelWithParameters(params)
    warm = None
    if initial_routes is not None:
        routes_idx = [[manager.NodeToIndex(n) for n in r] for r in initial_routes]
        warm = routing.ReadAssignmentFromRoutes(routes_idx, True)
    if warm is not None:
        solution = routing.SolveFromAssignmentWithParameters(warm, params)
    else:
        solution = routing.SolveWithParameters(params)
    if solution is None:
        return None
    routes: list[list[int]] = []
    for v in range(n_veh):
        seq: list[int] = []
        index = solution.Value(routing.NextVar(routing.Start(v)))
        while not routing.IsEnd(index):
            seq.append(manager.IndexToNode(index))
            index = solution.Value(routing.NextVar(index))
        routes.append(seq)
    return RoutingOutcome(routes=routes, objective=solution.ObjectiveValue(), solutions=count,
                          warm_started=warm is not None)
