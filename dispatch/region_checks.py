"""The checks a region file's values go through, each problem kept under its dotted key.

One :class:`Problems` collects every problem of a file, so a run reports all of them at once
(``units[2].base: unknown base 'x'``); it has one check per kind of value (ids, names, numbers,
places, competences, seats, uniqueness) that bases, units, rota and facilities share, and
:meth:`Problems.entries` walks a section's tables. :class:`RegionError` carries the problems.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from dispatch.errors import DispatchError
from dispatch.rules_units import (
    MAX_COMPETENCE_CHARS,
    MAX_COMPETENCES,
    MAX_SEATS,
    MAX_UNIT_NAME_CHARS,
)

__all__ = ["SWEDEN", "Bounds", "Problems", "RegionError", "declared_ids"]

T = TypeVar("T")

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")


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


def declared_ids(data: Mapping[str, Any], section: str) -> set[str]:
    """The ids a section's tables declare, good or not (a reference to one of them is not
    "unknown", even if that table has problems of its own)."""
    items = data.get(section)
    if not isinstance(items, list):
        return set()
    return {t["id"] for t in items if isinstance(t, Mapping) and isinstance(t.get("id"), str)}


class Problems:
    """Collects problems so that one run reports all of them; each check returns the value
    it made of its input, or None after adding the problem."""

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

    def entries(self, section: str, data: Mapping[str, Any], *, required: bool,
                allowed: Sequence[str], needed: Sequence[str]
                ) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """``(dotted key, table)`` of each table of ``section`` (``[[units]]``), its keys
        checked against ``allowed`` and ``needed``; a non-table entry is a problem, skipped."""
        for i, raw in enumerate(self.items(section, data, required=required)):
            key = f"{section}[{i}]"
            table = self.table(key, raw)
            if table is not None:
                self.keys(key, table, allowed, needed)
                yield key, table

    def text(self, key: str, value: object, *, limit: int = MAX_UNIT_NAME_CHARS) -> str | None:
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

    def field(self, key: str, table: Mapping[str, Any], name: str,
              check: Callable[[str, Any], T | None]) -> T | None:
        """``check(f"{key}.{name}", table[name])`` when the table has ``name``, else None (a
        missing required key is reported by :meth:`keys`)."""
        return check(f"{key}.{name}", table[name]) if name in table else None

    def unique(self, key: str, value: str | None, seen: dict[str, str], *, what: str,
               fold: bool = False) -> str | None:
        """``value`` unless ``seen`` has it already (``fold``: ignoring case), which is a
        problem naming the key it was first seen under; remembers it under ``key``."""
        if value is None:
            return None
        token = value.casefold() if fold else value
        if token in seen:
            self.add(key, f"duplicate {what} {value!r} (also {seen[token]})")
            return None
        seen[token] = key
        return value

    def position(self, key: str, table: Mapping[str, Any],
                 bounds: Bounds | None) -> tuple[float, float] | None:
        """``(lat, lon)`` from a table's ``lat`` and ``lon``: numbers, in Sweden and, given
        ``bounds`` (the map's box), on the map."""
        lat = self.field(key, table, "lat", self.number)
        lon = self.field(key, table, "lon", self.number)
        if lat is None or lon is None:
            return None
        if not SWEDEN.contains(lat, lon):
            self.add(f"{key}.lat", f"({lat:g}, {lon:g}) is outside Sweden ({SWEDEN}); "
                     "lat and lon swapped?")
            return None
        if bounds is not None and not bounds.contains(lat, lon):
            self.add(f"{key}.lat", f"({lat:g}, {lon:g}) is off the map ({bounds})")
            return None
        return lat, lon

    def competences(self, key: str, value: object) -> tuple[str, ...] | None:
        if not isinstance(value, list) or len(value) > MAX_COMPETENCES:
            self.add(key, f"must be a list of at most {MAX_COMPETENCES} names, e.g. "
                     "[\"nurse\", \"doctor\"]")
            return None
        out: list[str] = []
        for j, c in enumerate(value):
            name = self.text(f"{key}[{j}]", c, limit=MAX_COMPETENCE_CHARS)
            if name is None:
                continue
            if name in out:
                self.add(f"{key}[{j}]", f"{name!r} is named twice")
                continue
            out.append(name)
        return tuple(out)

    def seats(self, key: str, value: object) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(key, f"{value!r} is not a whole number")
            return None
        if not 1 <= value <= MAX_SEATS:
            self.add(key, f"{value} seats: must be 1 to {MAX_SEATS}")
            return None
        return value
