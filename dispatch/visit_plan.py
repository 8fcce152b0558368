"""A local day's visits as a :class:`routing.PlanProblem`, and a solved plan back as a day plan.

Pure: the state, the rota, the time and a travel-time function come in; no clock, no I/O.
:func:`day_input` builds the whole day (every unit with a rota shift that day, or on an extra
shift now, from its base at shift start; every open visit whose window meets the day) and each
unit's :class:`routing.UnitState` now (where it is, when it is free: after its callout or the
visit it is on), so that the planning worker can call :func:`routing.plan` on the rest of the
day or :func:`routing.replan` from the previous plan. Times are integer seconds since the
day's local midnight. :func:`record_plan` turns the solver's plan into the
:class:`~dispatch.command_types.RecordDayPlan` command, with the visits whose window has passed
listed as unplaced, so no open visit of the day is ever missing from a plan.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING

from dispatch.command_types import RecordDayPlan
from dispatch.model import Location
from dispatch.rota import ShiftBreak, ShiftPattern, occurrence
from dispatch.state import DispatchState, Unit
from dispatch.visits import DayPlan, PlannedRoute, PlannedStop, Visit, VisitStatus
from routing.problems import BreakRule, Plan, PlanProblem, PlanUnit
from routing.problems import Visit as PlanVisit

if TYPE_CHECKING:
    from routing.plan import UnitState

__all__ = [
    "REPLAN_CAUSES",
    "DayInput",
    "PlanningConfig",
    "TravelFn",
    "day_input",
    "day_of",
    "plan_day",
    "record_plan",
    "visits_pushed",
]

#: Travel seconds between every pair of the given places (rows from, columns to; inf if none).
TravelFn = Callable[[Sequence[Location]], Sequence[Sequence[float]]]

_UNREACHABLE_S = 10 * 86_400


@dataclass(frozen=True, slots=True)
class PlanningConfig:
    """The planner's tuning: a unit's default break, when its rota pattern declares none
    (``break_s`` long for shifts of at least ``break_after_s``), how
    long an acute callout is expected to keep a unit, what postponing a visit whose window
    goes on after today costs when its booking gave no cost, and how much longer a started
    visit is expected to run once it has run over its duration."""

    break_s: int = 30 * 60
    break_after_s: int = 6 * 3600
    callout_busy_s: int = 90 * 60
    carry_over_cost: int = 4 * 3600
    overrun_s: int = 15 * 60


@dataclass(frozen=True, slots=True)
class DayInput:
    """One day's planning problem and every unit's state at ``now_s``."""

    day: str
    midnight: datetime
    now_s: int
    problem: PlanProblem
    states: tuple[UnitState, ...]
    late: tuple[str, ...]
    visit_ids: tuple[str, ...] = field(default=())

    def at(self, seconds: int) -> datetime:
        """The time ``seconds`` after the day's local midnight (elapsed time: on the night
        the clocks change, 04:00 is 3 or 5 hours after midnight, not 4)."""
        return (self.midnight.astimezone(UTC) + timedelta(seconds=seconds)).astimezone(
            self.midnight.tzinfo)


def day_of(now: datetime, tz: tzinfo) -> tuple[str, datetime]:
    """The local day of ``now`` (``YYYY-MM-DD``) and its local midnight."""
    local = now.astimezone(tz).date()
    return local.isoformat(), datetime.combine(local, time(0), tzinfo=tz)


def _elapsed(t: datetime, midnight: datetime) -> float:
    """Seconds from ``midnight`` to ``t`` as time passes (an aware subtraction within one zone
    would count wall-clock time, an hour off after a switch to or from summer time)."""
    return (t.astimezone(UTC) - midnight.astimezone(UTC)).total_seconds()


def _secs(t: datetime, midnight: datetime) -> int:
    return int(_elapsed(t, midnight))


def _competences(unit: Unit) -> frozenset[str]:
    """What the unit can do, with ``staff:N`` for every crew size up to its own."""
    own = set(unit.registered_competences) | set(unit.competences)
    size = len(unit.crew) or unit.seats or 2
    return frozenset(own | {f"staff:{n}" for n in range(1, size + 1)})


def _needs(visit: Visit) -> frozenset[str]:
    return frozenset(visit.competences) | ({f"staff:{visit.staff}"} if visit.staff > 1 else set())


def _shift(unit: Unit, rota: Iterable[ShiftPattern], tz: tzinfo, midnight: datetime,
           now: datetime) -> tuple[datetime, datetime, ShiftPattern | None] | None:
    """The unit's working time that day and its rota pattern: its longest rota shift starting
    that day, else the extra shift it is signed on for now (no pattern)."""
    day = midnight.date()
    shifts = [(occurrence(p, day, tz), p) for p in rota
              if p.unit_id == unit.unit_id and day.isoweekday() in p.days]
    if shifts:
        longest, pattern = max(shifts, key=lambda s: s[0].ends_at - s[0].starts_at)
        return longest.starts_at, longest.ends_at, pattern
    if unit.shift_ends_at is not None and unit.shift_ends_at > now:
        return unit.status_since or now, unit.shift_ends_at, None
    return None


def _break(start: int, end: int, declared: ShiftBreak | None, config: PlanningConfig,
           local_start: datetime | None = None, midnight: datetime | None = None
           ) -> BreakRule | None:
    """The shift's break: the rota's (``declared``; its window's clock times read after the
    shift's start, ``local_start`` on the rota's clock), else ``config``'s rule for shifts of at
    least ``break_after_s``. Without a window the break starts within an hour either side of
    mid-shift. Times are seconds after the day's ``midnight``, as time passes (a window after
    a switch to or from summer time is an hour nearer or further)."""
    if declared is None:
        if end - start < config.break_after_s:
            return None
        declared = ShiftBreak(config.break_s // 60)
    duration = declared.minutes * 60
    if duration <= 0 or duration >= end - start:
        return None
    if declared.window_from is not None and declared.window_until is not None and \
            local_start is not None and midnight is not None:
        def after_start(at: time, whole_day: bool) -> int:
            wall = _into(local_start.time(), at) or (86_400 if whole_day else 0)
            # aware + timedelta is wall-clock arithmetic: the clock reads ``at`` then
            return _secs(local_start + timedelta(seconds=wall), midnight)

        first = after_start(declared.window_from, whole_day=False)
        last = after_start(declared.window_until, whole_day=True)
        return BreakRule(earliest_start_s=first, latest_start_s=max(first, last - duration),
                         duration_s=duration)
    middle = (start + end) // 2
    return BreakRule(earliest_start_s=max(start, middle - 3600),
                     latest_start_s=min(end - duration, max(start, middle + 3600 - duration)),
                     duration_s=duration)


def _into(start: time, at: time) -> int:
    """Seconds from local ``start`` to the next local ``at`` (wall-clock, within a day)."""
    return ((at.hour * 60 + at.minute - start.hour * 60 - start.minute) % 1440) * 60


def day_input(state: DispatchState, rota: Iterable[ShiftPattern], tz: tzinfo, now: datetime,
              travel: TravelFn, *, config: PlanningConfig = PlanningConfig()) -> DayInput | None:
    """The day of ``now`` as a planning problem, or None when no unit works that day."""
    rota = tuple(rota)
    day, midnight = day_of(now, tz)
    now_s = _secs(now, midnight)
    day_end = midnight + timedelta(days=1)  # the next local midnight (23 to 25 hours on)
    last_s = _secs(day_end, midnight) - 1
    places: list[Location] = []

    def place(loc: Location) -> int:
        places.append(loc)
        return len(places) - 1

    units: list[tuple[Unit, int, int, int]] = []  # unit, start, end, base place
    breaks: dict[str, BreakRule | None] = {}
    for unit in state.active_units():
        shift = _shift(unit, rota, tz, midnight, now)
        if shift is None or shift[1] <= now:
            continue
        start, end = _secs(shift[0], midnight), _secs(shift[1], midnight)
        pattern = shift[2]
        breaks[unit.unit_id] = _break(start, end, pattern.shift_break if pattern else None,
                                      config, shift[0].astimezone(tz) if pattern else None,
                                      midnight)
        units.append((unit, start, end, place(unit.base_position or unit.position)))
    if not units:
        return None
    visits: list[tuple[Visit, int]] = []
    late: list[str] = []
    for visit in sorted(state.visits.values(), key=lambda v: v.visit_id):
        if not visit.status.is_open or visit.earliest_start >= day_end or \
                visit.latest_start < midnight:
            continue
        if visit.status is VisitStatus.BOOKED and visit.latest_start < now:
            late.append(visit.visit_id)
            continue
        visits.append((visit, place(visit.location)))
    unit_ids = {u.unit_id for u, *_ in units}
    states: list[UnitState] = []
    for unit, _start, _end, base in units:
        states.append(_state(state, unit, now, now_s, base, place, config))
    raw = travel(places)
    matrix = [[int(t) if math.isfinite(t) else _UNREACHABLE_S for t in row] for row in raw]
    plan_units = tuple(
        PlanUnit(id=u.unit_id, start_location=base, end_location=base, shift_start_s=start,
                 shift_end_s=end, competences=_competences(u), break_rule=breaks[u.unit_id])
        for u, start, end, base in units)
    plan_visits = tuple(_plan_visit(v, loc, midnight, last_s, unit_ids, config)
                        for v, loc in visits)
    problem = PlanProblem(travel_s=matrix, units=plan_units, visits=plan_visits)
    return DayInput(day=day, midnight=midnight, now_s=now_s, problem=problem,
                    states=tuple(states), late=tuple(late),
                    visit_ids=tuple(v.visit_id for v, _ in visits))


def _plan_visit(visit: Visit, loc: int, midnight: datetime, last_s: int, unit_ids: set[str],
                config: PlanningConfig) -> PlanVisit:
    """``visit`` in the day's seconds from ``midnight`` (``last_s``: the day's last second)."""
    # whole seconds inside the window: a start a fraction before its earliest would read as a
    # plan of a visit moved since (simulations.behaviour), and the crew would never go
    start = max(math.ceil(_elapsed(visit.earliest_start, midnight)), 0)
    end = min(_secs(visit.latest_start, midnight), last_s)
    cost = visit.postpone_cost
    if cost is None and visit.latest_start >= midnight + timedelta(days=1):
        cost = config.carry_over_cost  # it can still be done on a later day
    pinned_unit = visit.pinned_unit if visit.pinned_unit in unit_ids else None
    needs = _needs(visit)
    if visit.status is VisitStatus.STARTED:
        # Under way: it stays with the crew that started it, whatever it was booked to need
        # (a crew without the doctor it asked for is there all the same).
        pinned_unit, cost = visit.unit_id if visit.unit_id in unit_ids else None, None
        needs = frozenset()
        start = end = min(max(_secs(visit.changed_at or visit.earliest_start, midnight), 0),
                          last_s)
    elif visit.pinned_start is not None:
        start = end = _secs(visit.pinned_start, midnight)
    return PlanVisit(id=visit.visit_id, location=loc, window_start_s=start,
                     window_end_s=max(start, end), duration_s=visit.duration_s,
                     needs=needs, postpone_cost=cost, unit_id=pinned_unit)


def _state(state: DispatchState, unit: Unit, now: datetime, now_s: int, base: int,
           place: Callable[[Location], int], config: PlanningConfig) -> UnitState:
    """Where the unit is at ``now`` and when it is free: after its callout, or its visit."""
    from routing.plan import UnitState  # the solver half loads on first use (routing/__init__)

    for visit in state.visits.values():
        if visit.status is VisitStatus.STARTED and visit.unit_id == unit.unit_id:
            started = visit.changed_at or now
            ends = started + timedelta(seconds=visit.duration_s)
            if ends <= now:  # running long: expect it to go on a while
                ends = now + timedelta(seconds=config.overrun_s)
            return UnitState(unit.unit_id, place(visit.location),
                             now_s + int((ends - now).total_seconds()), under_way=visit.visit_id)
    if unit.callout_id is not None:
        callout = state.callouts.get(unit.callout_id)
        since = unit.status_since or now
        busy = max(since + timedelta(seconds=config.callout_busy_s), now + timedelta(minutes=15))
        where = place(callout.location) if callout is not None else base
        return UnitState(unit.unit_id, where, now_s + int((busy - now).total_seconds()))
    if unit.position_at is not None or unit.status.is_free:
        return UnitState(unit.unit_id, place(unit.position), now_s)
    return UnitState(unit.unit_id, base, now_s)


#: Causes re-planned from the day's previous plan (:func:`routing.replan`, quick, the visit
#: under way kept) rather than planned afresh.
REPLAN_CAUSES = ("unit taken", "visit running long")


def plan_day(day: DayInput, cause: str, *, previous: Plan | None, known: DayPlan | None,
             plan_limit_s: float, replan_limit_s: float, seed: int = 0) -> tuple[Plan, bool]:
    """The plan of the rest of ``day`` for ``cause``, and whether it was re-planned: from
    ``previous`` (the last plan solved for this day) when a cause of :data:`REPLAN_CAUSES`
    asks, else afresh, warm-started from ``known`` (the day's recorded plan). The service's
    planner and the simulator both plan through it (CPU-bound: the service calls it in a
    worker thread)."""
    import routing

    if previous is not None and cause in REPLAN_CAUSES:
        _, plan = routing.replan(day.problem, previous, day.states, now_s=day.now_s,
                                 time_limit_s=replan_limit_s, seed=seed)
        return plan, True
    rest = routing.rest_of_day(day.problem, day.states, now_s=day.now_s)
    warm = {r.unit_id: [s.visit_id for s in r.stops] for r in known.routes} \
        if known is not None else None
    return routing.plan(rest, time_limit_s=plan_limit_s, seed=seed, initial=warm,
                        strict=False), False


def record_plan(day: DayInput, plan: Plan, *, cause: str) -> RecordDayPlan:
    """The command recording ``plan`` of ``day`` (times made absolute again)."""
    routes = []
    for r in plan.routes:
        stops = tuple(PlannedStop(s.visit_id, day.at(s.arrival_s), day.at(s.start_s),
                                  day.at(s.end_s)) for s in r.stops)
        brk = r.break_taken
        routes.append(PlannedRoute(
            unit_id=r.unit_id, depart=day.at(r.depart_s), stops=stops, back=day.at(r.end_s),
            drive_s=r.travel_s, break_start=day.at(brk.start_s) if brk else None,
            break_end=day.at(brk.end_s) if brk else None))
    return RecordDayPlan(day=day.day, routes=tuple(routes), postponed=tuple(plan.postponed),
                         unplaced=(*plan.unplaced, *day.late), cause=cause)


def visits_pushed(state: DispatchState, unit_id: str, now: datetime) -> list[str]:
    """The visits a unit's current day plan has it start from ``now`` on: the ones an acute
    callout taking that unit would push to another unit, a later time or another day."""
    out: list[str] = []
    for plan in state.day_plans.values():
        for route in plan.routes:
            if route.unit_id == unit_id:
                out += [s.visit_id for s in route.stops if s.end > now and
                        state.visits.get(s.visit_id) is not None and
                        state.visits[s.visit_id].status is VisitStatus.BOOKED]
    return out
