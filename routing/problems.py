"""Typed inputs and results of the optimisation facade: callout assignment and visit planning.

Every value is a frozen, slotted dataclass that checks itself in ``__post_init__`` and raises
:class:`~routing.errors.InvalidProblem` naming the bad field, so the solvers only ever see
well-formed input. Times are integer seconds on one clock chosen by the caller (e.g. seconds
since midnight); travel times come from a caller-supplied matrix of integer seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from routing.errors import InvalidProblem, NotInPlan

__all__ = [
    "DEFAULT_PRIORITY_WEIGHTS",
    "AssignUnit",
    "Assignment",
    "AssignmentProblem",
    "AssignmentResult",
    "BreakRule",
    "BreakTaken",
    "Callout",
    "Matrix",
    "Plan",
    "PlanProblem",
    "PlanUnit",
    "Priority",
    "Progress",
    "Route",
    "Stop",
    "Visit",
    "as_matrix",
]

Matrix = tuple[tuple[int, ...], ...]
"""A matrix of integer seconds, ``m[i][j]`` from row item ``i`` to column item ``j``."""


class Priority(IntEnum):
    """Callout priority as set by the dispatcher: 1 is the most pressing."""

    ACUTE = 1
    URGENT = 2
    NON_URGENT = 3


DEFAULT_PRIORITY_WEIGHTS: Mapping[int, int] = {1: 4, 2: 2, 3: 1}
"""Weight of one second of response time per priority (acute counts four times non-urgent)."""


def as_matrix(values: Any, *, rows: int | None = None, cols: int | None = None,
              name: str = "travel_s") -> Matrix:
    """Convert nested sequences or a 2-D array of non-negative integers to a :data:`Matrix`."""
    try:
        matrix = tuple(tuple(int(v) for v in row) for row in values)
    except (TypeError, ValueError) as exc:
        raise InvalidProblem(f"{name} must be a 2-D array of integer seconds: {exc}") from None
    if rows is not None and len(matrix) != rows:
        raise InvalidProblem(f"{name} has {len(matrix)} rows, expected {rows}")
    width = cols if cols is not None else len(matrix)
    for i, row in enumerate(matrix):
        if len(row) != width:
            raise InvalidProblem(f"{name} row {i} has {len(row)} columns, expected {width}")
        if row and min(row) < 0:
            raise InvalidProblem(f"{name} row {i} has a negative travel time")
    return matrix


def _check_ids(kind: str, ids: Sequence[str]) -> None:
    seen: set[str] = set()
    for ident in ids:
        if not ident:
            raise InvalidProblem(f"every {kind} needs a non-empty id")
        if ident in seen:
            raise InvalidProblem(f"{kind} id {ident!r} appears twice")
        seen.add(ident)


# --------------------------------------------------------------------------- assignment


@dataclass(frozen=True, slots=True)
class Callout:
    """A waiting callout: its priority, expected on-scene time and needed competences."""

    id: str
    priority: int
    on_scene_s: int
    needs: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.priority not in (1, 2, 3):
            raise InvalidProblem(f"callout {self.id!r}: priority must be 1, 2 or 3")
        if self.on_scene_s < 0:
            raise InvalidProblem(f"callout {self.id!r}: on_scene_s must be >= 0")
        object.__setattr__(self, "needs", frozenset(self.needs))


@dataclass(frozen=True, slots=True)
class AssignUnit:
    """A unit that can take a callout: free now or at ``available_at_s`` ("soon available")."""

    id: str
    available_at_s: int
    shift_end_s: int
    competences: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.shift_end_s < self.available_at_s:
            raise InvalidProblem(f"unit {self.id!r}: shift_end_s is before available_at_s")
        object.__setattr__(self, "competences", frozenset(self.competences))


@dataclass(frozen=True, slots=True)
class AssignmentProblem:
    """Which free or soon-free unit should go to which waiting callout, decided at ``now_s``.

    ``travel_s[u][c]`` is the drive from unit ``u``'s position (where it will be free) to
    callout ``c``. A unit may take callout ``c`` only if its arrival plus the callout's
    ``on_scene_s`` is no later than its shift end. A callout left waiting costs its weight
    times ``waiting_penalty_s``, so a callout is left only when no allowed unit is left for it.
    """

    now_s: int
    units: tuple[AssignUnit, ...]
    callouts: tuple[Callout, ...]
    travel_s: Sequence[Sequence[int]]
    weights: Mapping[int, int] = field(default_factory=lambda: dict(DEFAULT_PRIORITY_WEIGHTS))
    waiting_penalty_s: int = 86_400

    def __post_init__(self) -> None:
        object.__setattr__(self, "units", tuple(self.units))
        object.__setattr__(self, "callouts", tuple(self.callouts))
        _check_ids("unit", [u.id for u in self.units])
        _check_ids("callout", [c.id for c in self.callouts])
        object.__setattr__(self, "travel_s", as_matrix(
            self.travel_s, rows=len(self.units), cols=len(self.callouts)))
        for p in (1, 2, 3):
            if self.weights.get(p, 0) <= 0:
                raise InvalidProblem(f"weights must give a positive weight to priority {p}")
        if self.waiting_penalty_s <= 0:
            raise InvalidProblem("waiting_penalty_s must be positive")

    def start_s(self, u: int) -> int:
        """When unit ``u`` can set off: now, or when it becomes free."""
        return max(self.now_s, self.units[u].available_at_s)

    def allowed(self, u: int, c: int) -> bool:
        """Whether unit ``u`` may take callout ``c`` (competence and shift end)."""
        unit, callout = self.units[u], self.callouts[c]
        arrival = self.start_s(u) + self.travel_s[u][c]
        fits_shift = arrival + callout.on_scene_s <= unit.shift_end_s
        return callout.needs <= unit.competences and fits_shift


@dataclass(frozen=True, slots=True)
class Assignment:
    """One recommended pairing, with the times it implies."""

    unit_id: str
    callout_id: str
    depart_s: int
    arrival_s: int
    response_s: int


@dataclass(frozen=True, slots=True)
class AssignmentResult:
    """The recommendation: pairings, callouts left waiting (most pressing first), idle units."""

    assignments: tuple[Assignment, ...]
    waiting: tuple[str, ...]
    idle_units: tuple[str, ...]
    objective: int


# --------------------------------------------------------------------------- visit planning


@dataclass(frozen=True, slots=True)
class BreakRule:
    """A unit's break: it starts between the two times and lasts ``duration_s``."""

    earliest_start_s: int
    latest_start_s: int
    duration_s: int

    def __post_init__(self) -> None:
        if self.latest_start_s < self.earliest_start_s or self.duration_s < 0:
            raise InvalidProblem("break: latest_start_s < earliest_start_s or negative duration")


@dataclass(frozen=True, slots=True)
class PlanUnit:
    """A unit's day: where it starts and ends, its shift, crew competences, break, capacity.

    ``ready_s`` (default: shift start) is when it can first leave ``start_location``; re-planning
    sets it to when a busy unit becomes free.
    """

    id: str
    start_location: int
    end_location: int
    shift_start_s: int
    shift_end_s: int
    competences: frozenset[str] = frozenset()
    break_rule: BreakRule | None = None
    capacity: int | None = None
    ready_s: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "competences", frozenset(self.competences))
        if self.shift_end_s < self.shift_start_s:
            raise InvalidProblem(f"unit {self.id!r}: shift ends before it starts")
        if not self.shift_start_s <= self.ready <= self.shift_end_s:
            raise InvalidProblem(f"unit {self.id!r}: ready_s is outside its shift")
        b = self.break_rule
        if b is not None:
            if b.earliest_start_s < self.shift_start_s or b.latest_start_s + b.duration_s > (
                    self.shift_end_s):
                raise InvalidProblem(f"unit {self.id!r}: break window does not fit in the shift")
            if b.latest_start_s < self.ready:
                raise InvalidProblem(
                    f"unit {self.id!r}: break window closes before the unit is ready; "
                    "drop the break (taken or missed)")
        if self.capacity is not None and self.capacity < 0:
            raise InvalidProblem(f"unit {self.id!r}: capacity must be >= 0")

    @property
    def ready(self) -> int:
        """When the unit can first leave its start location."""
        return self.shift_start_s if self.ready_s is None else self.ready_s


@dataclass(frozen=True, slots=True)
class Visit:
    """A planned visit: location, start window, duration, needed competences.

    ``postpone_cost`` None makes it mandatory; otherwise it may be moved to another day at that
    cost (in the objective's unit, seconds of travel). ``unit_id`` pins it to one unit (a
    dispatcher's pin, or a visit already under way); ``under_way`` marks the latter, which is
    the last visit a plan may leave out.
    """

    id: str
    location: int
    window_start_s: int
    window_end_s: int
    duration_s: int
    needs: frozenset[str] = frozenset()
    postpone_cost: int | None = None
    demand: int = 0
    unit_id: str | None = None
    under_way: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "needs", frozenset(self.needs))
        if self.window_end_s < self.window_start_s:
            raise InvalidProblem(f"visit {self.id!r}: window ends before it starts")
        if self.duration_s < 0 or self.demand < 0:
            raise InvalidProblem(f"visit {self.id!r}: negative duration or demand")
        if self.postpone_cost is not None and self.postpone_cost < 0:
            raise InvalidProblem(f"visit {self.id!r}: postpone_cost must be >= 0")

    @property
    def mandatory(self) -> bool:
        """Whether the visit must be done today."""
        return self.postpone_cost is None


@dataclass(frozen=True, slots=True)
class PlanProblem:
    """A day of visits over units; ``travel_s`` is square over location indices.

    ``travel_s`` may be given as nested sequences or a 2-D array; it is stored as a
    :data:`Matrix` of ints.
    """

    travel_s: Sequence[Sequence[int]]
    units: tuple[PlanUnit, ...]
    visits: tuple[Visit, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "units", tuple(self.units))
        object.__setattr__(self, "visits", tuple(self.visits))
        matrix = as_matrix(self.travel_s)
        object.__setattr__(self, "travel_s", matrix)
        n = len(matrix)
        if not self.units:
            raise InvalidProblem("a plan needs at least one unit")
        _check_ids("unit", [u.id for u in self.units])
        _check_ids("visit", [v.id for v in self.visits])
        unit_ids = {u.id for u in self.units}
        for u in self.units:
            if not (0 <= u.start_location < n and 0 <= u.end_location < n):
                raise InvalidProblem(f"unit {u.id!r}: location index outside travel_s")
        for v in self.visits:
            if not 0 <= v.location < n:
                raise InvalidProblem(f"visit {v.id!r}: location {v.location} outside travel_s")
            if v.unit_id is not None and v.unit_id not in unit_ids:
                raise InvalidProblem(f"visit {v.id!r}: pinned to unknown unit {v.unit_id!r}")

    def unit(self, unit_id: str) -> PlanUnit:
        """The unit with this id."""
        for u in self.units:
            if u.id == unit_id:
                return u
        raise InvalidProblem(f"unknown unit {unit_id!r}")

    def visit(self, visit_id: str) -> Visit:
        """The visit with this id."""
        for v in self.visits:
            if v.id == visit_id:
                return v
        raise InvalidProblem(f"unknown visit {visit_id!r}")


@dataclass(frozen=True, slots=True)
class Stop:
    """One visit on a route: when the unit arrives, starts and ends it."""

    visit_id: str
    arrival_s: int
    start_s: int
    end_s: int


@dataclass(frozen=True, slots=True)
class BreakTaken:
    """When a unit takes its break, and after how many of its stops (0 = before the first)."""

    start_s: int
    end_s: int
    after_stops: int


@dataclass(frozen=True, slots=True)
class Route:
    """One unit's day: departure, stops in order, break, return to its end location."""

    unit_id: str
    depart_s: int
    stops: tuple[Stop, ...]
    break_taken: BreakTaken | None
    end_s: int
    travel_s: int

    @property
    def visit_ids(self) -> tuple[str, ...]:
        """The visit ids in route order."""
        return tuple(s.visit_id for s in self.stops)


@dataclass(frozen=True, slots=True)
class Plan:
    """A validated day plan.

    ``postponed`` lists optional visits moved to another day; ``unplaced`` lists mandatory
    visits the solver could not fit within its time limit (never silently dropped); the plan is
    complete when ``unplaced`` is empty. ``cost`` is travel plus postponement costs.
    ``solutions`` counts the solutions the search went through; ``warm_started`` tells whether
    the given initial routes were accepted as the starting point.
    """

    routes: tuple[Route, ...]
    postponed: tuple[str, ...]
    unplaced: tuple[str, ...]
    travel_s: int
    postpone_cost: int
    cost: int
    solutions: int = 0
    warm_started: bool = False

    @property
    def complete(self) -> bool:
        """Whether every mandatory visit is planned."""
        return not self.unplaced

    def route(self, unit_id: str) -> Route:
        """The route of one unit."""
        for r in self.routes:
            if r.unit_id == unit_id:
                return r
        raise NotInPlan(unit_id)


@dataclass(frozen=True, slots=True)
class Progress:
    """A progress report from a running solve: a new best cost after some seconds."""

    cost: int
    elapsed_s: float
    solutions: int
