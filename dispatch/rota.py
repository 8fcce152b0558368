"""A unit's rota: the weekly shift patterns a region file declares, and the rules the service
clock follows with them.

Shared by the region parser (``dispatch.region``) and the shift rules that start and end shifts on
the service clock. Times are local to the region's timezone; a shift whose end is not after its
start runs past midnight into the next day.

The rules (pure: the time and the timezone are passed in):

* :func:`occurrence` places a pattern on a calendar day as UTC start and end. On a DST day the
  wall-clock times hold (22:00-07:00 over the spring change lasts 8 h, over the autumn one 10 h);
  a time the clock skips (02:30 on the spring day) is read with the offset before the change, a
  time it shows twice as the first of the two.
* :func:`current_shift` / :func:`next_shift` / :func:`sign_on_shift`: the unit's rota shift now,
  the next one, and the one a crew signing on now is signing on for (now, or starting within
  :data:`EARLY_SIGN_ON`); its end is the shift's ``ends_at``. A sign-on with no rota shift is an
  extra shift and must name its end.
* :func:`due_not_signed_on`: units whose rota shift has started but whose crew has not signed on.
  They stay off duty, so nothing can be assigned to them; the dispatcher is shown them.
* :func:`sign_on_competences`: what a signing-on crew can do: the competences it ticked, else the
  unit's registered ones (the region file's); a doctor on board adds ``doctor`` in the rule.
* :func:`shifts_to_end`: units whose shift is over and that can go off duty now. A unit still on
  a callout when its shift ends works on: it goes off duty at the first tick after its outcome is
  recorded and it is no longer driving or at the scene (available, returning or unavailable).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from dispatch.errors import InvalidCommand
from dispatch.state import DispatchState
from dispatch.status import UnitStatus

__all__ = [
    "EARLY_SIGN_ON",
    "RotaShift",
    "ShiftBreak",
    "ShiftPattern",
    "current_shift",
    "due_not_signed_on",
    "next_shift",
    "occurrence",
    "shifts_of",
    "shifts_to_end",
    "sign_on_competences",
    "sign_on_shift",
]

#: How long before its rota shift starts a crew may sign on for it.
EARLY_SIGN_ON = timedelta(hours=1)

#: How far ahead :func:`next_shift` looks (a weekly rota repeats within a week).
_LOOKAHEAD_DAYS = 8

#: The statuses from which a unit past its shift end goes off duty (not on the road or at a job).
_CAN_END = frozenset({UnitStatus.AVAILABLE, UnitStatus.RETURNING, UnitStatus.UNAVAILABLE})


@dataclass(frozen=True, slots=True)
class ShiftBreak:
    """A shift's break as the region file declares it: ``minutes`` long (0: no break), taken
    wholly between the local times ``window_from`` and ``window_until`` (None: around mid-shift,
    the day planner's default window)."""

    minutes: int
    window_from: time | None = None
    window_until: time | None = None


@dataclass(frozen=True, slots=True)
class ShiftPattern:
    """One recurring shift of one unit: on these ISO weekdays (1 = Monday), from start to end,
    with its break (None: the day planner's default rule, see ``dispatch.visit_plan``)."""

    unit_id: str
    days: frozenset[int]
    start: time
    end: time
    shift_break: ShiftBreak | None = None

    def __post_init__(self) -> None:
        if not self.unit_id:
            raise ValueError("unit_id: must not be empty")
        if not self.days:
            raise ValueError("days: at least one weekday is needed")
        bad = sorted(d for d in self.days if not 1 <= d <= 7)
        if bad:
            raise ValueError(f"days: {bad} are not ISO weekdays (1 = Monday … 7 = Sunday)")
        if self.start == self.end:
            raise ValueError("end: a shift must not start and end at the same time")

    @property
    def overnight(self) -> bool:
        """Whether the shift ends on the day after it starts."""
        return self.end <= self.start


@dataclass(frozen=True, slots=True, order=True)
class RotaShift:
    """One occurrence of a pattern: the unit's shift from ``starts_at`` to ``ends_at`` (UTC)."""

    starts_at: datetime
    ends_at: datetime
    unit_id: str

    def covers(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at


def _utc(day: date, at: time, tz: tzinfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def occurrence(pattern: ShiftPattern, day: date, tz: tzinfo) -> RotaShift:
    """``pattern``'s shift starting on local calendar ``day`` (whether or not it runs that
    weekday), in UTC."""
    end_day = day + timedelta(days=1) if pattern.overnight else day
    return RotaShift(_utc(day, pattern.start, tz), _utc(end_day, pattern.end, tz), pattern.unit_id)


def _check_now(now: datetime) -> None:
    if now.tzinfo is None:
        raise InvalidCommand("now", "must be timezone-aware")


def shifts_of(
    rota: Iterable[ShiftPattern], unit_id: str, tz: tzinfo, start: date, end: date
) -> list[RotaShift]:
    """The unit's rota shifts starting on local days ``start`` to ``end`` (inclusive), in
    order."""
    out: list[RotaShift] = []
    patterns = [p for p in rota if p.unit_id == unit_id]
    day = start
    while day <= end:
        out.extend(occurrence(p, day, tz) for p in patterns if day.isoweekday() in p.days)
        day += timedelta(days=1)
    return sorted(out)


def current_shift(
    rota: Iterable[ShiftPattern], unit_id: str, tz: tzinfo, now: datetime
) -> RotaShift | None:
    """The unit's rota shift at ``now`` (the one ending last if patterns overlap), or None."""
    _check_now(now)
    today = now.astimezone(tz).date()
    covering = [s for s in shifts_of(rota, unit_id, tz, today - timedelta(days=1), today)
                if s.covers(now)]
    return max(covering, key=lambda s: s.ends_at) if covering else None


def next_shift(
    rota: Iterable[ShiftPattern], unit_id: str, tz: tzinfo, now: datetime
) -> RotaShift | None:
    """The unit's first rota shift starting after ``now``, or None if it has none."""
    _check_now(now)
    today = now.astimezone(tz).date()
    later = [s for s in shifts_of(rota, unit_id, tz, today, today + timedelta(_LOOKAHEAD_DAYS))
             if s.starts_at > now]
    return later[0] if later else None


def sign_on_shift(
    rota: Iterable[ShiftPattern], unit_id: str, tz: tzinfo, now: datetime,
    *, early: timedelta = EARLY_SIGN_ON,
) -> RotaShift | None:
    """The rota shift a crew signing on at ``now`` signs on for: the current one, else one
    starting within ``early``; None means an extra shift (its end must be given)."""
    patterns = tuple(rota)
    shift = current_shift(patterns, unit_id, tz, now)
    if shift is not None:
        return shift
    upcoming = next_shift(patterns, unit_id, tz, now)
    return upcoming if upcoming is not None and upcoming.starts_at - now <= early else None


def due_not_signed_on(
    state: DispatchState, rota: Iterable[ShiftPattern], tz: tzinfo, now: datetime
) -> list[RotaShift]:
    """The rota shifts running at ``now`` whose unit is registered but off duty (its crew has
    not signed on), by unit id."""
    patterns = tuple(rota)
    out: list[RotaShift] = []
    for unit_id in sorted({p.unit_id for p in patterns}):
        unit = state.units.get(unit_id)
        if unit is None or unit.status is not UnitStatus.OFF_DUTY:
            continue
        shift = current_shift(patterns, unit_id, tz, now)
        if shift is not None:
            out.append(shift)
    return out


def shifts_to_end(state: DispatchState, now: datetime) -> list[str]:
    """The units whose shift has ended by ``now`` and that may go off duty: no callout, and not
    on the road or at a job (a busy unit ends once its callout is done). By unit id."""
    _check_now(now)
    return sorted(
        u.unit_id for u in state.units.values()
        if u.shift_ends_at is not None and u.shift_ends_at <= now
        and u.callout_id is None and u.status in _CAN_END
    )


def sign_on_competences(state: DispatchState, unit_id: str,
                        ticked: Sequence[str] | None) -> tuple[str, ...]:
    """The competences a crew signing on to ``unit_id`` brings: those it ticked (the crew page
    offers the unit's, so an unticked one is missing today), or, when it says nothing (an older
    client), the unit's registered competences from the region. ``UnknownUnit`` if none."""
    if ticked is not None:
        return tuple(ticked)
    return state.unit(unit_id).registered_competences
