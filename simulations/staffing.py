"""Units and their shifts as a scenario writes them: ``[[units]]`` with ``[[units.shifts]]``,
``count = N`` identical cars at one base and the ``shifts = "24/7"`` shorthand."""

from __future__ import annotations

from dispatch.model import CrewMember, CrewRole
from simulations._toml import Table
from simulations.errors import ScenarioError
from simulations.spec import Base, Shift, UnitSpec

__all__ = ["WEEKDAYS", "crew_of", "has_doctor", "parse_units"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: The shorthand for a car on duty around the clock, every day.
ROUND_THE_CLOCK = ("24/7", "24h")


def _parse_clock(t: Table, name: str) -> int:
    text = t.text(name)
    parts = text.split(":")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise t.error(name, f"{text!r} is not a time HH:MM")
    h, m = int(parts[0]), int(parts[1])
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
        raise t.error(name, f"{text!r} is not a time of day")
    return h * 60 + m


def _parse_days(t: Table, name: str) -> frozenset[int]:
    value = t.raw(name, "all")
    named = {"all": range(7), "weekdays": range(5), "weekends": range(5, 7)}
    if isinstance(value, str):
        if value not in named:
            raise t.error(name, f"{value!r}: use all, weekdays, weekends or a list like "
                                "[\"mon\", \"fri\"]")
        return frozenset(named[value])
    if not isinstance(value, list) or not value:
        raise t.error(name, "must be all, weekdays, weekends or a list of day names")
    days = set()
    for i, d in enumerate(value):
        day = _DAY_NAMES.get(d.strip().lower()) if isinstance(d, str) else None
        if day is None:  # a name, or its first three letters ("Monkey" is not Monday)
            raise t.error(f"{name}[{i}]", f"{d!r} is not a day (mon..sun or monday..sunday)")
        days.add(day)
    return frozenset(days)


_DAY_NAMES = {
    **{d: i for i, d in enumerate(WEEKDAYS)},
    **{d: i for i, d in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday",
                                   "saturday", "sunday"))},
}


def _parse_shift(t: Table) -> Shift:
    start = _parse_clock(t, "start")
    end = _parse_clock(t, "end")
    if start == 1440:
        raise t.error("start", "a shift starts at 00:00-23:59")
    if end <= start:
        end += 1440  # runs past midnight, e.g. 14:00-02:00
    days = _parse_days(t, "days")
    t.done()
    return Shift(start, end, days)


def _check_overlaps(unit_key: str, shifts: list[Shift], source: str) -> None:
    """A unit cannot work two shifts at once (minutes of the week, wrapping)."""
    week = 7 * 1440
    spans = []
    for s in shifts:
        for d in s.days:
            spans.append((d * 1440 + s.start_min, d * 1440 + s.end_min))
    covered: list[int] = [0] * week
    for a, b in spans:
        for m in range(a, b):
            covered[m % week] += 1
    if any(c > 1 for c in covered):
        first = next(m for m, c in enumerate(covered) if c > 1)
        day, minute = divmod(first, 1440)
        raise ScenarioError(
            f"{unit_key}.shifts",
            f"shifts overlap on {WEEKDAYS[day]} at {minute // 60:02d}:{minute % 60:02d}; "
            "a unit works one shift at a time (add a second unit for overlapping cars)",
            source=source,
        )


def _parse_shifts(ut: Table) -> list[Shift]:
    raw = ut.raw("shifts", None)
    if isinstance(raw, str):
        if raw not in ROUND_THE_CLOCK:
            raise ut.error("shifts", f"{raw!r}: write \"24/7\" for a car always on duty, or "
                                     "[[units.shifts]] tables")
        return [Shift(0, 1440, frozenset(range(7)))]
    return [_parse_shift(st) for st in ut.tables("shifts")]


def parse_units(root: Table, bases: list[Base]) -> list[UnitSpec]:
    """The scenario's units; ``count = N`` makes N cars ``<id>-1`` .. ``<id>-N``."""
    units: list[UnitSpec] = []
    ids: set[str] = set()
    for ut in root.tables("units"):
        uid = ut.text("id")
        base = ut.text("base")
        if base not in {b.id for b in bases}:
            raise ut.error("base", f"unknown base {base!r}; bases are "
                                   + ", ".join(b.id for b in bases))
        shifts = _parse_shifts(ut)
        if not shifts:
            raise ut.error("shifts", "a unit needs at least one shift ([[units.shifts]] or "
                                     "shifts = \"24/7\")")
        _check_overlaps(ut.path, shifts, ut.source)
        crew_raw = ut.raw("crew", ["nurse", "nurse"])
        if not isinstance(crew_raw, list) or not crew_raw or not all(
            isinstance(c, str) and c.strip() for c in crew_raw
        ):
            raise ut.error("crew", "must be a non-empty list of names or roles")
        count = ut.number("count", 1, low=1, high=1000)
        if count != int(count):
            raise ut.error("count", "must be a whole number of units")
        names = [uid] if count == 1 else [f"{uid}-{k}" for k in range(1, int(count) + 1)]
        for name in names:
            if not name.strip() or name in ids:
                raise ut.error("id", f"unit id {name!r} is empty or listed twice")
            ids.add(name)
            units.append(UnitSpec(name, base, tuple(shifts), tuple(crew_raw)))
        ut.done()
    if not units:
        raise root.error("units", "name at least one unit ([[units]] with id, base, shifts)")
    return units


def crew_of(unit: UnitSpec) -> tuple[CrewMember, ...]:
    """The unit's ``crew`` as the core's crew members: an entry that names a role (``nurse``,
    ``doctor``, ``driver``, …, any case) is a member in that role, so a ``doctor`` brings the
    doctor competence a visit may need, named by the unit and its place in the crew
    (``MAE-PIT 1``: a replay showed "nurse (ssk), nurse (ssk)"); any other entry is a name,
    its role unknown."""
    roles = {r.value: r for r in CrewRole}
    members = []
    for k, c in enumerate(unit.crew, start=1):
        role = roles.get(c.strip().lower())
        members.append(CrewMember(f"{unit.id[:50]} {k}", role) if role is not None
                       else CrewMember(c, CrewRole.UNKNOWN))
    return tuple(members)


def has_doctor(units: tuple[UnitSpec, ...] | list[UnitSpec]) -> bool:
    """Whether any unit's crew has a doctor (:func:`crew_of`)."""
    return any(m.role is CrewRole.DOCTOR for u in units for m in crew_of(u))
