"""The ``[[rota]]`` section of a region file: weekday sets, clock times and shift patterns
that do not overlap for one unit, each problem under its dotted key (``rota[0].days``).

A pattern may declare its break: ``break_min`` (0 to 240 minutes, 0 = no break) and, both or
neither, ``break_from`` / ``break_until`` (local "HH:MM" within the shift; the break is taken
wholly between them). Without ``break_min`` the day planner's default applies (30 minutes within
an hour either side of mid-shift, on shifts of 6 hours or more); with ``break_min`` but no window
the break is placed within an hour either side of mid-shift, whatever the shift's length."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time
from typing import Any

from dispatch.region_checks import Problems
from dispatch.rota import ShiftBreak, ShiftPattern

__all__ = ["parse_rota"]

_HHMM = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_DAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}
_DAY_NAMES = {**_DAYS, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5,
              "saturday": 6, "sunday": 7}
_DAY_SETS = {"daily": frozenset(range(1, 8)), "weekdays": frozenset(range(1, 6)),
             "weekends": frozenset({6, 7})}
_WEEK_MIN = 7 * 24 * 60
_DAY_MIN = 24 * 60
MAX_BREAK_MIN = 240


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


def _minutes_into(start: time, at: time) -> int:
    """Minutes from ``start`` to the next ``at`` (0 to a day less a minute)."""
    return (at.hour * 60 + at.minute - start.hour * 60 - start.minute) % _DAY_MIN


def _shift_break(p: Problems, key: str, table: Mapping[str, Any], start: time | None,
                 end: time | None) -> tuple[bool, ShiftBreak | None]:
    """``(ok, break)`` of a pattern's ``break_*`` keys; ``ok`` is False after a problem."""
    problems = len(p.found)
    minutes = p.field(key, table, "break_min", lambda k, v: _break_minutes(p, k, v))
    window_from = p.field(key, table, "break_from", lambda k, v: _clock(p, k, v))
    window_until = p.field(key, table, "break_until", lambda k, v: _clock(p, k, v))
    if ("break_from" in table) != ("break_until" in table):
        missing = "break_until" if "break_from" in table else "break_from"
        p.add(f"{key}.{missing}", "give both break_from and break_until, or neither")
    elif "break_from" in table and "break_min" not in table:
        p.add(f"{key}.break_min", "missing: a break window needs its length in minutes")
    if len(p.found) > problems or minutes is None:
        return len(p.found) == problems, None
    if start is not None and end is not None:
        length = _minutes_into(start, end) or _DAY_MIN
        if minutes >= length:
            p.add(f"{key}.break_min", f"a {minutes} min break does not fit a {length} min shift")
        elif window_from is not None and window_until is not None:
            first = _minutes_into(start, window_from)
            last = _minutes_into(start, window_until) or _DAY_MIN
            if first >= length or last > length:
                p.add(f"{key}.break_from", "the break window must lie within the shift")
            elif last - first < minutes:
                p.add(f"{key}.break_until", f"the window from {window_from:%H:%M} to "
                      f"{window_until:%H:%M} is shorter than the {minutes} min break")
    if len(p.found) > problems:
        return False, None
    return True, ShiftBreak(minutes, window_from, window_until)


def _break_minutes(p: Problems, key: str, value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or \
            not 0 <= value <= MAX_BREAK_MIN:
        p.add(key, f"{value!r}: give whole minutes from 0 (no break) to {MAX_BREAK_MIN}")
        return None
    return value


def parse_rota(p: Problems, data: Mapping[str, Any], unit_ids: set[str],
               unit_keys: set[str]) -> list[ShiftPattern]:
    """The region's shift patterns; ``unit_ids`` are the good units, ``unit_keys`` every id
    the file declares (a pattern of a unit with problems of its own is not "unknown")."""
    patterns: list[ShiftPattern] = []
    keys: list[str] = []
    needed = ("unit", "days", "start", "end")
    fields = (*needed, "break_min", "break_from", "break_until")
    for key, table in p.entries("rota", data, required=False, allowed=fields, needed=needed):
        unit = table.get("unit")
        if "unit" in table and (not isinstance(unit, str) or unit not in unit_keys):
            p.add(f"{key}.unit", f"rota for unknown unit {unit!r}")
        days = p.field(key, table, "days", lambda k, v: _days(p, k, v))
        start = p.field(key, table, "start", lambda k, v: _clock(p, k, v))
        end = p.field(key, table, "end", lambda k, v: _clock(p, k, v))
        if start is not None and end is not None and start == end:
            p.add(f"{key}.end", "a shift must not start and end at the same time")
            continue
        break_ok, shift_break = _shift_break(p, key, table, start, end)
        if break_ok and isinstance(unit, str) and unit in unit_ids and days and start and end:
            pattern = ShiftPattern(unit, days, start, end, shift_break)
            clash = next((k for k, other in zip(keys, patterns, strict=True)
                          if other.unit_id == unit and _overlap(other, pattern)), None)
            if clash is not None:
                p.add(key, f"overlaps {clash}: unit {unit} would be on two shifts at once")
                continue
            patterns.append(pattern)
            keys.append(key)
    return patterns
