"""A region: its bases, units, rota and map facilities, as a region file (TOML) declares them.

Pure: :func:`parse_region` takes the parsed TOML (a dict; reading the file is the shell's job)
and checks all of it, raising one :class:`RegionError` that lists every problem, each under its
dotted key (``units[2].base``, ``rota[0].days``). :func:`region_commands` compares a region with
a dispatch state and returns the commands that make the state's fleet match the file: register
new units, update changed ones, retire those no longer in the file (never delete: the history
keeps them), and register a retired unit again when it is back in the file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dispatch.command_types import RegisterUnit, RetireUnit, UpdateUnit
from dispatch.errors import DispatchError
from dispatch.model import Location
from dispatch.rota import ShiftPattern
from dispatch.rules_units import (
    MAX_COMPETENCE_CHARS,
    MAX_COMPETENCES,
    MAX_SEATS,
    MAX_UNIT_NAME_CHARS,
)
from dispatch.state import DispatchState
from maps.graph import Facility

__all__ = [
    "DEFAULT_TIMEZONE",
    "RETIRE_REASON",
    "SWEDEN",
    "Base",
    "Bounds",
    "Region",
    "RegionError",
    "RegionFacility",
    "RegionUnit",
    "UnitCommand",
    "parse_region",
    "region_commands",
]

DEFAULT_TIMEZONE = "Europe/Stockholm"

#: What :func:`region_commands` returns.
UnitCommand = RegisterUnit | UpdateUnit | RetireUnit

#: The reason a unit retired by a region load gives.
RETIRE_REASON = "not in the region file"

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
_HHMM = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_DAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}
_DAY_NAMES = {**_DAYS, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5,
              "saturday": 6, "sunday": 7}
_DAY_SETS = {"daily": frozenset(range(1, 8)), "weekdays": frozenset(range(1, 6)),
             "weekends": frozenset({6, 7})}
_MAX_SEATS = MAX_SEATS
_MAX_NAME = MAX_UNIT_NAME_CHARS


class RegionError(DispatchError, ValueError):
    """A region file with problems: ``problems`` holds every ``(dotted key, problem)``."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = tuple(problems)
        lines = [f"{key}: {problem}" for key, problem in self.problems]
        n = len(lines)
        super().__init__(f"the region file has {n} problem{'s' if n != 1 else ''}:\n"
                         + "\n".join(lines))

    def lines(self) -> list[str]:
        """One ``key: problem`` line per problem."""
        return [f"{key}: {problem}" for key, problem in self.problems]


@dataclass(frozen=True, slots=True)
class Bounds:
    """A latitude/longitude box (degrees)."""

    south: float
    west: float
    north: float
    east: float

    def contains(self, lat: float, lon: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lon <= self.east

    def widened(self, degrees: float) -> Bounds:
        return Bounds(self.south - degrees, self.west - degrees, self.north + degrees,
                      self.east + degrees)

    def __str__(self) -> str:
        return f"lat {self.south:g}..{self.north:g}, lon {self.west:g}..{self.east:g}"


#: Sweden with a margin: a coordinate outside is a typo (swapped lat/lon, a missing digit).
SWEDEN = Bounds(55.0, 10.5, 69.5, 24.5)


@dataclass(frozen=True, slots=True)
class Base:
    """Where units start and end their shifts."""

    base_id: str
    name: str
    lat: float
    lon: float

    @property
    def location(self) -> Location:
        return Location(self.lat, self.lon, label=self.name)


@dataclass(frozen=True, slots=True)
class RegionUnit:
    """A unit as the region file declares it; ``base`` is a base id."""

    unit_id: str
    name: str
    base: str
    competences: tuple[str, ...] = ()
    seats: int | None = None


@dataclass(frozen=True, slots=True)
class RegionFacility:
    """A hospital, psychiatric emergency reception or MAE base to add to the map, or to
    override the map's facility of the same name with."""

    name: str
    kind: str
    lat: float
    lon: float
    place: str = ""
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Region:
    """A checked region: made by :func:`parse_region`, so every reference resolves."""

    name: str
    bases: tuple[Base, ...]
    units: tuple[RegionUnit, ...]
    rota: tuple[ShiftPattern, ...] = ()
    facilities: tuple[RegionFacility, ...] = ()
    timezone: str = DEFAULT_TIMEZONE

    @property
    def tzinfo(self) -> ZoneInfo:
        """The timezone the rota's times are in."""
        return ZoneInfo(self.timezone)

    def base(self, base_id: str) -> Base:
        """The base with id ``base_id`` (``KeyError`` if the region has none)."""
        for b in self.bases:
            if b.base_id == base_id:
                return b
        raise KeyError(base_id)

    def unit(self, unit_id: str) -> RegionUnit:
        """The unit with id ``unit_id`` (``KeyError`` if the region has none)."""
        for u in self.units:
            if u.unit_id == unit_id:
                return u
        raise KeyError(unit_id)

    def summary(self) -> str:
        """One line: what the region holds."""
        return (f"{self.name}: {len(self.bases)} bases, {len(self.units)} units, "
                f"{len(self.rota)} rota shifts, {len(self.facilities)} facilities "
                f"({self.timezone})")


# -- parsing ----------------------------------------------------------------------------------


class _Problems:
    """Collects problems so that one run reports all of them."""

    def __init__(self) -> None:
        self.found: list[tuple[str, str]] = []

    def add(self, key: str, problem: str) -> None:
        self.found.append((key, problem))

    def table(self, key: str, value: object) -> Mapping[str, Any] | None:
        if not isinstance(value, Mapping):
            self.add(key, "must be a table")
            return None
        return value

    def keys(self, key: str, table: Mapping[str, Any], allowed: Sequence[str],
             required: Sequence[str]) -> None:
        prefix = f"{key}." if key else ""
        for name in table:
            if name not in allowed:
                self.add(f"{prefix}{name}", "unknown key (expected one of "
                         + ", ".join(allowed) + ")")
        for name in required:
            if name not in table:
                self.add(f"{prefix}{name}", "missing")

    def text(self, key: str, value: object, *, limit: int = _MAX_NAME) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.add(key, "must be non-empty text")
            return None
        if len(value) > limit:
            self.add(key, f"at most {limit} characters")
            return None
        return value.strip()

    def ident(self, key: str, value: object) -> str | None:
        if not isinstance(value, str) or not _ID.fullmatch(value):
            self.add(key, f"{value!r} is not an id (1-40 letters, digits, '.', '_' or '-', "
                     "starting with a letter or digit)")
            return None
        return value

    def number(self, key: str, value: object) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value):
            self.add(key, f"{value!r} is not a number")
            return None
        return float(value)

    def items(self, key: str, data: Mapping[str, Any], *, required: bool) -> list[Any]:
        value = data.get(key)
        if value is None:
            if required:
                self.add(key, "missing: at least one is needed")
            return []
        if not isinstance(value, list):
            self.add(key, "must be a list of tables ([[" + key + "]])")
            return []
        if required and not value:
            self.add(key, "at least one is needed")
        return value


def _position(p: _Problems, key: str, table: Mapping[str, Any],
              bounds: Bounds | None) -> tuple[float, float] | None:
    lat = p.number(f"{key}.lat", table.get("lat")) if "lat" in table else None
    lon = p.number(f"{key}.lon", table.get("lon")) if "lon" in table else None
    if lat is None or lon is None:
        return None
    if not SWEDEN.contains(lat, lon):
        p.add(f"{key}.lat", f"({lat:g}, {lon:g}) is outside Sweden ({SWEDEN}); "
              "lat and lon swapped?")
        return None
    if bounds is not None and not bounds.contains(lat, lon):
        p.add(f"{key}.lat", f"({lat:g}, {lon:g}) is off the map ({bounds})")
        return None
    return lat, lon


def _bases(p: _Problems, data: Mapping[str, Any], bounds: Bounds | None) -> list[Base]:
    bases: list[Base] = []
    seen: dict[str, str] = {}
    names: dict[str, str] = {}
    for i, raw in enumerate(p.items("bases", data, required=True)):
        key = f"bases[{i}]"
        table = p.table(key, raw)
        if table is None:
            continue
        p.keys(key, table, ("id", "name", "lat", "lon"), ("id", "name", "lat", "lon"))
        base_id = p.ident(f"{key}.id", table["id"]) if "id" in table else None
        name = p.text(f"{key}.name", table["name"]) if "name" in table else None
        where = _position(p, key, table, bounds)
        if base_id is not None and base_id in seen:
            p.add(f"{key}.id", f"duplicate id {base_id!r} (also {seen[base_id]})")
            base_id = None
        if name is not None and name.casefold() in names:
            p.add(f"{key}.name", f"duplicate name {name!r} (also {names[name.casefold()]})")
            name = None
        if base_id is not None:
            seen[base_id] = f"{key}.id"
        if name is not None:
            names[name.casefold()] = f"{key}.name"
        if base_id is not None and name is not None and where is not None:
            bases.append(Base(base_id, name, *where))
    return bases


def _competences(p: _Problems, key: str, value: object) -> tuple[str, ...] | None:
    if not isinstance(value, list) or len(value) > MAX_COMPETENCES:
        p.add(key, f"must be a list of at most {MAX_COMPETENCES} names, e.g. "
              "[\"nurse\", \"doctor\"]")
        return None
    out: list[str] = []
    for j, c in enumerate(value):
        name = p.text(f"{key}[{j}]", c, limit=MAX_COMPETENCE_CHARS)
        if name is None:
            continue
        if name in out:
            p.add(f"{key}[{j}]", f"{name!r} is named twice")
            continue
        out.append(name)
    return tuple(out)


def _seats(p: _Problems, key: str, value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        p.add(key, f"{value!r} is not a whole number")
        return None
    if not 1 <= value <= _MAX_SEATS:
        p.add(key, f"{value} seats: must be 1 to {_MAX_SEATS}")
        return None
    return value


def _units(p: _Problems, data: Mapping[str, Any], base_ids: set[str],
           base_keys: set[str]) -> list[RegionUnit]:
    units: list[RegionUnit] = []
    seen: dict[str, str] = {}
    for i, raw in enumerate(p.items("units", data, required=True)):
        key = f"units[{i}]"
        table = p.table(key, raw)
        if table is None:
            continue
        p.keys(key, table, ("id", "name", "base", "competences", "seats"),
               ("id", "name", "base"))
        unit_id = p.ident(f"{key}.id", table["id"]) if "id" in table else None
        name = p.text(f"{key}.name", table["name"]) if "name" in table else None
        base = table.get("base")
        if "base" in table:
            if not isinstance(base, str) or base not in base_keys:
                known = ", ".join(sorted(base_keys)) or "none"
                p.add(f"{key}.base", f"unknown base {base!r} (the bases: {known})")
                base = None
            elif base not in base_ids:
                base = None  # the base itself has a problem, reported under bases
        competences = (_competences(p, f"{key}.competences", table["competences"])
                       if "competences" in table else ())
        seats = _seats(p, f"{key}.seats", table["seats"]) if "seats" in table else None
        if unit_id is not None and unit_id in seen:
            p.add(f"{key}.id", f"duplicate id {unit_id!r} (also {seen[unit_id]})")
            continue
        if unit_id is not None:
            seen[unit_id] = f"{key}.id"
        if None in (unit_id, name, base, competences) or ("seats" in table and seats is None):
            continue
        assert unit_id is not None and name is not None and isinstance(base, str)
        assert competences is not None
        units.append(RegionUnit(unit_id, name, base, competences, seats))
    return units


def _day(p: _Problems, key: str, name: object) -> int | None:
    if isinstance(name, str) and name.strip().casefold() in _DAY_NAMES:
        return _DAY_NAMES[name.strip().casefold()]
    p.add(key, f"unknown weekday name {name!r} (mon, tue, wed, thu, fri, sat, sun)")
    return None


def _days(p: _Problems, key: str, value: object) -> frozenset[int] | None:
    """``["mon", "tue"]``, ``"mon-fri"`` (wrapping: ``"fri-mon"``), ``"sat"``, ``"daily"``,
    ``"weekdays"`` or ``"weekends"``."""
    if isinstance(value, str):
        word = value.strip().casefold()
        if word in _DAY_SETS:
            return _DAY_SETS[word]
        if "-" in word:
            first, _, last = (w.strip() for w in word.partition("-"))
            a, b = _day(p, key, first), _day(p, key, last)
            if a is None or b is None:
                return None
            return frozenset(((a - 1 + k) % 7) + 1 for k in range((b - a) % 7 + 1))
        one = _day(p, key, word)
        return None if one is None else frozenset({one})
    if isinstance(value, list) and value:
        days = [_day(p, f"{key}[{j}]", d) for j, d in enumerate(value)]
        if None in days:
            return None
        return frozenset(d for d in days if d is not None)
    p.add(key, "give weekdays as a list ([\"mon\", \"tue\"]), a range (\"mon-fri\") or "
          "\"daily\", \"weekdays\", \"weekends\"")
    return None


def _clock(p: _Problems, key: str, value: object) -> time | None:
    if isinstance(value, time):  # a TOML local time, 07:00:00
        if value.tzinfo is not None:
            p.add(key, "a local time without an offset, please")
            return None
        return value
    if isinstance(value, str):
        m = _HHMM.fullmatch(value.strip())
        if m:
            return time(int(m.group(1)), int(m.group(2)))
    p.add(key, f"bad time {value!r}: write it as \"HH:MM\", e.g. \"07:00\"")
    return None


_WEEK_MIN = 7 * 24 * 60


def _week_minutes(pattern: ShiftPattern) -> list[tuple[int, int]]:
    """The pattern's shifts as ``[start, end)`` minutes from Monday 00:00 (an end may run past
    the week's; :func:`_overlap` wraps it)."""
    start = pattern.start.hour * 60 + pattern.start.minute
    end = pattern.end.hour * 60 + pattern.end.minute
    length = end - start if end > start else end + 24 * 60 - start
    return [((d - 1) * 24 * 60 + start, (d - 1) * 24 * 60 + start + length)
            for d in sorted(pattern.days)]


def _overlap(a: ShiftPattern, b: ShiftPattern) -> bool:
    """Whether two patterns have a shift at the same time in some week (Sunday night's shift
    running into Monday included)."""
    return any(s1 < e2 + k and s2 + k < e1
               for s1, e1 in _week_minutes(a) for s2, e2 in _week_minutes(b)
               for k in (-_WEEK_MIN, 0, _WEEK_MIN))


def _rota(p: _Problems, data: Mapping[str, Any], unit_ids: set[str],
          unit_keys: set[str]) -> list[ShiftPattern]:
    patterns: list[ShiftPattern] = []
    keys: list[str] = []
    for i, raw in enumerate(p.items("rota", data, required=False)):
        key = f"rota[{i}]"
        table = p.table(key, raw)
        if table is None:
            continue
        p.keys(key, table, ("unit", "days", "start", "end"), ("unit", "days", "start", "end"))
        unit = table.get("unit")
        if "unit" in table and (not isinstance(unit, str) or unit not in unit_keys):
            p.add(f"{key}.unit", f"rota for unknown unit {unit!r}")
        days = _days(p, f"{key}.days", table["days"]) if "days" in table else None
        start = _clock(p, f"{key}.start", table["start"]) if "start" in table else None
        end = _clock(p, f"{key}.end", table["end"]) if "end" in table else None
        if start is not None and end is not None and start == end:
            p.add(f"{key}.end", "a shift must not start and end at the same time")
            continue
        if isinstance(unit, str) and unit in unit_ids and days and start and end:
            pattern = ShiftPattern(unit, days, start, end)
            clash = next((k for k, other in zip(keys, patterns, strict=True)
                          if other.unit_id == unit and _overlap(other, pattern)), None)
            if clash is not None:
                p.add(key, f"overlaps {clash}: unit {unit} would be on two shifts at once")
                continue
            patterns.append(pattern)
            keys.append(key)
    return patterns


def _facilities(p: _Problems, data: Mapping[str, Any],
                bounds: Bounds | None) -> list[RegionFacility]:
    out: list[RegionFacility] = []
    seen: dict[str, str] = {}
    kinds_ok = ", ".join(Facility.KINDS)
    for i, raw in enumerate(p.items("facilities", data, required=False)):
        key = f"facilities[{i}]"
        table = p.table(key, raw)
        if table is None:
            continue
        p.keys(key, table, ("name", "kind", "kinds", "lat", "lon", "place"),
               ("name", "kind", "lat", "lon"))
        name = p.text(f"{key}.name", table["name"]) if "name" in table else None
        kind = table.get("kind")
        if "kind" in table and kind not in Facility.KINDS:
            p.add(f"{key}.kind", f"unknown kind {kind!r} ({kinds_ok})")
            kind = None
        kinds: tuple[str, ...] = ()
        raw_kinds = table.get("kinds", [])
        if not isinstance(raw_kinds, list):
            p.add(f"{key}.kinds", "must be a list of kinds")
        else:
            for j, k in enumerate(raw_kinds):
                if k not in Facility.KINDS:
                    p.add(f"{key}.kinds[{j}]", f"unknown kind {k!r} ({kinds_ok})")
                else:
                    kinds += (k,)
        place = table.get("place", "")
        if not isinstance(place, str) or len(place) > _MAX_NAME:
            p.add(f"{key}.place", f"must be text of at most {_MAX_NAME} characters")
            place = ""
        where = _position(p, key, table, bounds)
        if name is not None and name.casefold() in seen:
            p.add(f"{key}.name", f"duplicate facility {name!r} (also {seen[name.casefold()]})")
            continue
        if name is not None:
            seen[name.casefold()] = f"{key}.name"
        if name is not None and isinstance(kind, str) and where is not None:
            out.append(RegionFacility(name, kind, *where, place=place, kinds=kinds))
    return out


def parse_region(data: Mapping[str, Any], *, bounds: Bounds | None = None) -> Region:
    """The region ``data`` (a parsed region file) declares, checked whole; ``bounds`` (the
    map's box) also refuses coordinates off the map. Raises :class:`RegionError` with every
    problem found."""
    p = _Problems()
    if not isinstance(data, Mapping):
        raise RegionError([("", "the region file must be a TOML table")])
    p.keys("", data, ("name", "timezone", "bases", "units", "rota", "facilities"), ("name",))
    name = p.text("name", data["name"]) if "name" in data else None
    timezone = data.get("timezone", DEFAULT_TIMEZONE)
    if not isinstance(timezone, str) or not timezone:
        p.add("timezone", "must be an IANA timezone name such as \"Europe/Stockholm\"")
    else:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            p.add("timezone", f"unknown timezone {timezone!r} (e.g. \"Europe/Stockholm\")")
    bases = _bases(p, data, bounds)
    base_keys = {str(b.get("id")) for b in data.get("bases", []) or []
                 if isinstance(b, Mapping) and isinstance(b.get("id"), str)} \
        if isinstance(data.get("bases"), list) else set()
    units = _units(p, data, {b.base_id for b in bases}, base_keys)
    unit_keys = {str(u.get("id")) for u in data.get("units", []) or []
                 if isinstance(u, Mapping) and isinstance(u.get("id"), str)} \
        if isinstance(data.get("units"), list) else set()
    rota = _rota(p, data, {u.unit_id for u in units}, unit_keys)
    facilities = _facilities(p, data, bounds)
    if p.found:
        raise RegionError(p.found)
    assert name is not None and isinstance(timezone, str)
    return Region(name=name, bases=tuple(bases), units=tuple(units), rota=tuple(rota),
                  facilities=tuple(facilities), timezone=timezone)


# -- from a region to commands ----------------------------------------------------------------


def region_commands(region: Region, state: DispatchState) -> list[UnitCommand]:
    """The commands that bring the state's fleet to the region's: register new units (and
    retired ones back in the file), update changed ones, retire active units the file no
    longer has. None when they already agree, so loading the same file twice logs nothing."""
    commands: list[UnitCommand] = []
    for u in region.units:
        base = region.base(u.base)
        known = state.units.get(u.unit_id)
        if known is None or known.retired:
            commands.append(RegisterUnit(u.unit_id, u.name, base.name, base.location,
                                         competences=u.competences, seats=u.seats))
            continue
        wanted = (u.name, base.name, base.location, u.competences, u.seats)
        if wanted != (known.name, known.base, known.base_position, known.registered_competences,
                      known.seats):
            commands.append(UpdateUnit(u.unit_id, u.name, base.name, base.location,
                                       competences=u.competences, seats=u.seats))
    in_file = {u.unit_id for u in region.units}
    commands.extend(RetireUnit(unit.unit_id, reason=RETIRE_REASON)
                    for unit in state.active_units() if unit.unit_id not in in_file)
    return commands
