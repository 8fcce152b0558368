"""OR-Tools' mixed-integer solver (SCIP through ``pywraplp``): a plain spec in, values out.

Beside :mod:`routing._ortools` (which holds the routing and assignment solvers) this is the
other module that imports OR-Tools; :mod:`routing.location` builds a :class:`MipSpec` and
never sees an OR-Tools object. Without OR-Tools installed it still imports and
:func:`solve_mip` raises :class:`~routing.errors.SolverUnavailable`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from routing.errors import SolverFailed, SolverUnavailable

try:
    from ortools.linear_solver import pywraplp
except ImportError as exc:  # travel-time queries do not need OR-Tools
    _MISSING: ImportError | None = exc
else:
    _MISSING = None

__all__ = ["MipOutcome", "MipSpec", "solve_mip"]


@dataclass(slots=True)
class MipSpec:
    """A maximisation: variables with bounds, integrality and objective coefficients, and
    linear rows ``low <= sum(coef * var) <= high``; filled in by :meth:`var` and :meth:`row`."""

    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    integer: list[bool] = field(default_factory=list)
    objective: list[float] = field(default_factory=list)
    rows: list[tuple[float, float, list[tuple[int, float]]]] = field(default_factory=list)
    hint: dict[int, float] = field(default_factory=dict)

    def var(self, low: float, high: float, *, integer: bool = False, obj: float = 0.0) -> int:
        """Add a variable and return its index."""
        self.lower.append(low)
        self.upper.append(high)
        self.integer.append(integer)
        self.objective.append(obj)
        return len(self.lower) - 1

    def row(
        self, terms: list[tuple[int, float]], *, low: float = -math.inf, high: float = math.inf
    ) -> None:
        """Add the constraint ``low <= sum(coef * var for var, coef in terms) <= high``."""
        self.rows.append((low, high, terms))


@dataclass(frozen=True, slots=True)
class MipOutcome:
    """How a solve ended (``status``: optimal within the gap asked for, feasible, infeasible
    or unknown when the time ran out first) and the best solution, objective and proven
    bound (empty and nan without a solution)."""

    status: str
    values: tuple[float, ...]
    objective: float
    bound: float
    solve_s: float

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"


def solve_mip(
    spec: MipSpec, *, time_limit_s: float, seed: int = 0, relative_gap: float = 1e-6
) -> MipOutcome:
    """Maximise ``spec`` with SCIP (one thread, so a seed repeats a run) for at most
    ``time_limit_s``. Raises SolverFailed when the model is unbounded (a bug of the caller)."""
    if _MISSING is not None:
        raise SolverUnavailable(
            "the location model needs OR-Tools (the ortools package), "
            f"which did not import: {_MISSING}"
        ) from _MISSING
    began = time.monotonic()
    solver = pywraplp.Solver.CreateSolver("SCIP")
    if solver is None:  # an OR-Tools build without SCIP
        solver = pywraplp.Solver.CreateSolver("CBC")
    if solver is None:
        raise SolverUnavailable("OR-Tools has neither SCIP nor CBC")
    inf = solver.infinity()

    def bound(v: float) -> float:
        return inf if v == math.inf else -inf if v == -math.inf else v

    xs = [
        solver.IntVar(bound(lo), bound(hi), "")
        if is_int
        else solver.NumVar(bound(lo), bound(hi), "")
        for lo, hi, is_int in zip(spec.lower, spec.upper, spec.integer, strict=True)
    ]
    for lo, hi, terms in spec.rows:
        ct = solver.Constraint(bound(lo), bound(hi))
        for i, coef in terms:
            ct.SetCoefficient(xs[i], ct.GetCoefficient(xs[i]) + coef)
    objective = solver.Objective()
    for x, coef in zip(xs, spec.objective, strict=True):
        if coef:
            objective.SetCoefficient(x, coef)
    objective.SetMaximization()
    if spec.hint:
        solver.SetHint([xs[i] for i in spec.hint], list(spec.hint.values()))
    solver.SetTimeLimit(max(1, int(time_limit_s * 1000)))
    if solver.SolverVersion().startswith("SCIP"):
        solver.SetSolverSpecificParametersAsString(
            f"randomization/randomseedshift = {int(seed) % 2**31}\n"
        )
    params = pywraplp.MPSolverParameters()
    params.SetDoubleParam(pywraplp.MPSolverParameters.RELATIVE_MIP_GAP, relative_gap)
    status = solver.Solve(params)
    elapsed = time.monotonic() - began
    if status == pywraplp.Solver.UNBOUNDED:
        raise SolverFailed("the MIP is unbounded")
    if status == pywraplp.Solver.INFEASIBLE:
        return MipOutcome("infeasible", (), math.nan, math.nan, elapsed)
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        return MipOutcome("unknown", (), math.nan, math.nan, elapsed)
    value = objective.Value()
    best = objective.BestBound()
    return MipOutcome(
        status="optimal" if status == pywraplp.Solver.OPTIMAL else "feasible",
        values=tuple(x.solution_value() for x in xs),
        objective=value,
        bound=max(value, best) if math.isfinite(best) else value,
        solve_s=elapsed,
    )
