"""The location model's problem and answer: candidate sites, shift patterns, demand by period
and travel times (:class:`LocationProblem`, validated on construction), and the chosen bases and
staffing (:class:`LocationResult`). :mod:`routing.location` solves and checks them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from routing.errors import InfeasibleProblem, InvalidProblem

__all__ = ["LocationProblem", "LocationResult", "ShiftPattern", "Site", "Staffing"]


@dataclass(frozen=True, slots=True)
class Site:
    """A place a base may go: ``fixed`` keeps it open (an existing base); ``max_cars`` is how
    many of its cars may be on duty at once."""

    id: str
    fixed: bool = False
    max_cars: int = 1

    def __post_init__(self) -> None:
        if not self.id:
            raise InvalidProblem("every site needs a non-empty id")
        if self.max_cars < 1:
            raise InvalidProblem(f"site {self.id!r}: max_cars must be 1 or more")


@dataclass(frozen=True, slots=True)
class ShiftPattern:
    """The periods one car works (by period index) and the staffed car-hours that costs."""

    id: str
    periods: frozenset[int]
    hours: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "periods", frozenset(self.periods))
        if not self.id:
            raise InvalidProblem("every shift pattern needs a non-empty id")
        if not self.periods:
            raise InvalidProblem(f"pattern {self.id!r}: works no period")
        if not (math.isfinite(self.hours) and self.hours > 0):
            raise InvalidProblem(f"pattern {self.id!r}: hours must be positive")


def _table(
    values: Sequence[Sequence[float]], name: str, rows: int, cols: int | None, *, allow_inf: bool
) -> tuple[tuple[float, ...], ...]:
    try:
        table = tuple(tuple(float(v) for v in row) for row in values)
    except (TypeError, ValueError) as exc:
        raise InvalidProblem(f"{name} must be a 2-D table of numbers: {exc}") from None
    if len(table) != rows:
        raise InvalidProblem(f"{name} has {len(table)} rows, expected {rows}")
    width = cols if cols is not None else (len(table[0]) if table else 0)
    for i, row in enumerate(table):
        if len(row) != width:
            raise InvalidProblem(f"{name} row {i} has {len(row)} columns, expected {width}")
        for v in row:
            if math.isnan(v) or v < 0 or (math.isinf(v) and not allow_inf):
                raise InvalidProblem(
                    f"{name} row {i} holds {v!r}; values must be >= 0"
                    + (" (inf: no road)" if allow_inf else " and finite")
                )
    return table


@dataclass(frozen=True, slots=True)
class LocationProblem:
    """Sites, demand points and periods: ``demand[i][p]`` expected calls at point ``i`` in
    period ``p``; ``travel_s[j][i]`` response seconds from site ``j`` to point ``i`` (inf: no
    road), covered when at most ``limit_s``; ``busy[p]`` the busy fraction in period ``p``
    (one value for all); ``budget_hours`` caps the staffed car-hours (None: no cap);
    ``min_on_duty`` lists ``(period, cars)``."""

    sites: tuple[Site, ...]
    demand: Sequence[Sequence[float]]
    travel_s: Sequence[Sequence[float]]
    limit_s: float
    bases: int
    patterns: tuple[ShiftPattern, ...]
    busy: Sequence[float]
    budget_hours: float | None = None
    min_on_duty: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "sites", tuple(self.sites))
        object.__setattr__(self, "patterns", tuple(self.patterns))
        object.__setattr__(self, "min_on_duty", tuple(self.min_on_duty))
        for kind, ids in (
            ("site", [s.id for s in self.sites]),
            ("pattern", [p.id for p in self.patterns]),
        ):
            if len(set(ids)) != len(ids):
                raise InvalidProblem(f"a {kind} id appears twice")
        if not self.sites:
            raise InvalidProblem("sites: name at least one candidate site")
        if not self.patterns:
            raise InvalidProblem("patterns: name at least one shift pattern")
        demand = self.demand
        n_points = len(demand)
        object.__setattr__(
            self, "demand", _table(demand, "demand", n_points, None, allow_inf=False)
        )
        n_periods = len(self.demand[0]) if n_points else 0
        if n_points and not n_periods:
            raise InvalidProblem("demand: every point needs one value per period")
        object.__setattr__(
            self,
            "travel_s",
            _table(self.travel_s, "travel_s", len(self.sites), n_points, allow_inf=True),
        )
        busy = tuple(float(q) for q in self.busy)
        if len(busy) == 1:
            busy = busy * n_periods
        if len(busy) != n_periods or not all(0.0 <= q < 1.0 for q in busy):
            raise InvalidProblem(
                f"busy: one fraction in [0, 1) per period ({n_periods}) or one for all"
            )
        object.__setattr__(self, "busy", busy)
        if not (math.isfinite(self.limit_s) and self.limit_s >= 0):
            raise InvalidProblem("limit_s must be finite seconds >= 0")
        if not 1 <= self.bases <= len(self.sites):
            raise InvalidProblem(f"bases must be between 1 and the {len(self.sites)} sites")
        fixed = sum(s.fixed for s in self.sites)
        if fixed > self.bases:
            raise InvalidProblem(f"{fixed} fixed sites do not fit in {self.bases} bases")
        for p in self.patterns:
            if min(p.periods) < 0 or max(p.periods) >= n_periods:
                raise InvalidProblem(f"pattern {p.id!r}: a period outside 0..{n_periods - 1}")
        for period, cars in self.min_on_duty:
            if not 0 <= period < n_periods or cars < 0:
                raise InvalidProblem(
                    f"min_on_duty: ({period}, {cars}) is not a period and a number of cars >= 0"
                )
        worked = frozenset().union(*(p.periods for p in self.patterns))
        for period, cars in self.min_on_duty:
            if cars > 0 and period not in worked:
                raise InfeasibleProblem(
                    f"min_on_duty: period {period} needs {cars} car(s) but no shift pattern "
                    "works it"
                )
        if self.budget_hours is not None:
            cheapest = min(p.hours for p in self.patterns)
            if not math.isfinite(self.budget_hours) or self.budget_hours < 0:
                raise InvalidProblem("budget_hours must be finite hours >= 0")
            if self.budget_hours + 1e-9 < self.bases * cheapest:
                raise InfeasibleProblem(
                    f"a budget of {self.budget_hours:g} car-hours cannot staff {self.bases} "
                    f"bases (the cheapest pattern costs {cheapest:g})"
                )

    @property
    def n_points(self) -> int:
        return len(self.demand)

    @property
    def n_periods(self) -> int:
        return len(self.busy)

    def covers(self, site: int, point: int) -> bool:
        """Whether a car at ``site`` reaches ``point`` within the limit."""
        return self.travel_s[site][point] <= self.limit_s

    def total_demand(self) -> float:
        return float(sum(sum(row) for row in self.demand))


@dataclass(frozen=True, slots=True)
class Staffing:
    """``cars`` cars working pattern ``pattern_id`` at base ``site_id``."""

    site_id: str
    pattern_id: str
    cars: int


@dataclass(frozen=True, slots=True)
class LocationResult:
    """The chosen bases and shifts; ``objective`` is the expected demand covered (evaluated
    directly on the staffing), ``bound`` the solver's proven upper bound on it."""

    open_sites: tuple[str, ...]
    staffing: tuple[Staffing, ...]
    objective: float
    bound: float
    optimal: bool
    staffed_hours: float
    total_demand: float
    solve_s: float

    @property
    def gap(self) -> float:
        """Relative distance to the proven bound (0 when solved to optimality)."""
        return (self.bound - self.objective) / self.bound if self.bound > 0 else 0.0

    @property
    def covered_share(self) -> float:
        """Expected share of the demand covered."""
        return self.objective / self.total_demand if self.total_demand > 0 else 0.0
