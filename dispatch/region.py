"""A region: its bases, units, rota and map facilities, as a region file (TOML) declares them.

Pure: :func:`parse_region` takes the parsed TOML (a dict; reading the file is the shell's job)
and checks all of it, raising one :class:`RegionError` that lists every problem, each under its
dotted key (``units[2].base``, ``rota[0].days``). :func:`region_commands` compares a region with
a dispatch state and returns the commands that make the state's fleet match the file: register
new units, update changed ones, retire those no longer in the file (never delete: the history
keeps them), and register a retired unit again when it is back in the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dispatch.command_types import RegisterUnit, RetireUnit, UpdateUnit
from dispatch.model import Location
from dispatch.region_checks import SWEDEN, Bounds, Problems, RegionError, declared_ids
from dispatch.region_rota import parse_rota
from dispatch.rota import ShiftPattern
from dispatch.rules_units import MAX_UNIT_NAME_CHARS
from dispatch.state import DispatchState
from maps.graph import Facility
from maps.traveltime import DEFAULT_TIMEZONE

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

#: What :func:`region_commands` returns.
UnitCommand = RegisterUnit | UpdateUnit | RetireUnit

#: The reason a unit retired by a region load gives.
RETIRE_REASON = "not in the region file"


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


# -- parsing (the checks themselves: dispatch.region_checks; the rota: dispatch.region_rota) --


def _bases(p: Problems, data: Mapping[str, Any], bounds: Bounds | None) -> list[Base]:
    bases: list[Base] = []
    ids: dict[str, str] = {}
    names: dict[str, str] = {}
    fields = ("id", "name", "lat", "lon")
    for key, table in p.entries("bases", data, required=True, allowed=fields, needed=fields):
        base_id = p.field(key, table, "id", p.ident)
        name = p.field(key, table, "name", p.text)
        where = p.position(key, table, bounds)
        base_id = p.unique(f"{key}.id", base_id, ids, what="id")
        name = p.unique(f"{key}.name", name, names, what="name", fold=True)
        if base_id is not None and name is not None and where is not None:
            bases.append(Base(base_id, name, *where))
    return bases


def _units(p: Problems, data: Mapping[str, Any], base_ids: set[str],
           base_keys: set[str]) -> list[RegionUnit]:
    """The region's units; ``base_ids`` are the good bases, ``base_keys`` every base id the
    file declares (a unit of a base with problems of its own is not of an "unknown" base)."""
    units: list[RegionUnit] = []
    ids: dict[str, str] = {}
    for key, table in p.entries("units", data, required=True,
                                allowed=("id", "name", "base", "competences", "seats"),
                                needed=("id", "name", "base")):
        unit_id = p.field(key, table, "id", p.ident)
        name = p.field(key, table, "name", p.text)
        base = table.get("base")
        if "base" in table:
            if not isinstance(base, str) or base not in base_keys:
                known = ", ".join(sorted(base_keys)) or "none"
                p.add(f"{key}.base", f"unknown base {base!r} (the bases: {known})")
                base = None
            elif base not in base_ids:
                base = None  # the base itself has a problem, reported under bases
        competences = (p.competences(f"{key}.competences", table["competences"])
                       if "competences" in table else ())
        seats = p.field(key, table, "seats", p.seats)
        if unit_id is not None and p.unique(f"{key}.id", unit_id, ids, what="id") is None:
            continue
        if unit_id is None or name is None or not isinstance(base, str) \
                or competences is None or ("seats" in table and seats is None):
            continue
        units.append(RegionUnit(unit_id, name, base, competences, seats))
    return units


def _facilities(p: Problems, data: Mapping[str, Any],
                bounds: Bounds | None) -> list[RegionFacility]:
    out: list[RegionFacility] = []
    names: dict[str, str] = {}
    kinds_ok = ", ".join(Facility.KINDS)
    for key, table in p.entries("facilities", data, required=False,
                                allowed=("name", "kind", "kinds", "lat", "lon", "place"),
                                needed=("name", "kind", "lat", "lon")):
        name = p.field(key, table, "name", p.text)
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
        if not isinstance(place, str) or len(place) > MAX_UNIT_NAME_CHARS:
            p.add(f"{key}.place", f"must be text of at most {MAX_UNIT_NAME_CHARS} characters")
            place = ""
        where = p.position(key, table, bounds)
        if p.unique(f"{key}.name", name, names, what="facility", fold=True) is None:
            continue
        if name is not None and isinstance(kind, str) and where is not None:
            out.append(RegionFacility(name, kind, *where, place=place, kinds=kinds))
    return out


def parse_region(data: Mapping[str, Any], *, bounds: Bounds | None = None) -> Region:
    """The region ``data`` (a parsed region file) declares, checked whole; ``bounds`` (the
    map's box) also refuses coordinates off the map. Raises :class:`RegionError` with every
    problem found."""
    p = Problems()
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
    units = _units(p, data, {b.base_id for b in bases}, declared_ids(data, "bases"))
    rota = parse_rota(p, data, {u.unit_id for u in units}, declared_ids(data, "units"))
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
