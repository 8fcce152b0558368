"""The ``[[rota]]`` section of a region file: weekday sets, clock times and shift patterns
that do not overlap for one unit, each problem under its dotted key (``rota[0].days``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time
from typing import Any

from dispatch.region_checks import Problems
from dispatch.rota import ShiftPattern

__all__ = ["parse_rota"]

_HHMM = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_DAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}
_DAY_NAMES = {**_DAYS, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5,
              "saturday": 6, "sunday": 7}
_DAY_SETS = {"daily": frozenset(range(1, 8)), "weekdays": frozenset(range(1, 6)),
             "weekends": frozenset({6, 7})}
_WEEK_MIN = 7 * 24 * 60


def _day(p: Problems, key: str, name: object) -> int | None:
    if isinstance(name, str) and name.strip().casefold() in _DAY_NAMES:
        return _DAY_NAMES[name.strip().casefold()]
    p.add(key, f"unknown weekday name {name!r} (mon, tue, wed, thu, fri, sat, sun)")
    return None


def _days(p: Problems, key: str, value: object) -> frozenset[int] | None:
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


def _clock(p: Problems, key: str, value: object) -> time | None:
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


def parse_rota(p: Problems, data: Mapping[str, Any], unit_ids: set[str],
               unit_keys: set[str]) -> list[ShiftPattern]:
    """The region's shift patterns; ``unit_ids`` are the good units, ``unit_keys`` every id
    the file declares (a pattern of a unit with problems of its own is not "unknown")."""
    patterns: list[ShiftPattern] = []
    keys: list[str] = []
    fields = ("unit", "days", "start", "end")
    for key, table in p.entries("rota", data, required=False, allowed=fields, needed=fields):
        unit = table.get("unit")
        if "unit" in table and (not isinstance(unit, str) or unit not in unit_keys):
            p.add(f"{key}.unit", f"rota for unknown unit {unit!r}")
        days = p.field(key, table, "days", lambda k, v: _days(p, k, v))
        start = p.field(key, table, "start", lambda k, v: _clock(p, k, v))
        end = p.field(key, table, "end", lambda k, v: _clock(p, k, v))
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
