"""The booking CSV of follow-up visits (``[followups] csv``): visits psychiatry books, read and
checked whole, every bad row and field reported at once (:class:`AlarmLogError` numbers rows
as a spreadsheet does: the header is row 1).

Columns: ``patient_ref`` (a pseudonym, never a personal number), ``booked_at`` (optional;
empty: at the run's start), ``earliest_start``, ``latest_start`` (ISO 8601; without an offset
read in the scenario's zone), ``lat`` and ``lon`` or ``place`` (a place of the map),
``duration_min`` (5-480), ``doctor`` (``yes``/``no``, optional), ``staff`` (1-6, optional),
``postpone_cost_min`` (optional; empty: it may not be postponed).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dispatch.errors import InvalidCommand
from dispatch.visits import check_patient_ref
from simulations.errors import AlarmLogError, csv_shape
from simulations.spec import Booking, localize

__all__ = ["BOOKING_COLUMNS", "read_bookings"]

BOOKING_COLUMNS = ("patient_ref", "booked_at", "earliest_start", "latest_start", "lat", "lon",
                   "place", "duration_min", "doctor", "staff", "postpone_cost_min")
_REQUIRED = ("patient_ref", "earliest_start", "latest_start", "duration_min")


def read_bookings(path: str | Path, *, places: dict[str, tuple[float, float]],
                  timezone: str) -> tuple[Booking, ...]:
    """The bookings of the CSV at ``path`` in booking order; ``places`` resolves ``place``."""
    tz = ZoneInfo(timezone)
    problems: list[tuple[int, str, str]] = []
    out: list[Booking] = []
    text = Path(path).read_text(encoding="utf-8-sig")  # Excel's CSV UTF-8 has a BOM
    shape = csv_shape(path, text)
    if shape is not None:
        raise AlarmLogError([(0, "file", shape)], source=str(path))
    with io.StringIO(text, newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        for col in _REQUIRED:
            if col not in header:
                problems.append((1, col, "column is missing"))
        unknown = [c for c in header if c not in BOOKING_COLUMNS]
        for col in unknown:
            problems.append((1, col, "unknown column"))
        if problems:
            raise AlarmLogError(problems, source=str(path))
        for row_no, row in enumerate(reader, start=2):
            got = _row(row, row_no, tz, places, problems)
            if got is not None:
                out.append(got)
    if problems:
        raise AlarmLogError(problems, source=str(path))
    return tuple(sorted(out, key=lambda b: (b.booked_at or b.earliest_start, b.patient_ref)))


def _row(row: dict[str, Any], n: int, tz: ZoneInfo, places: dict[str, tuple[float, float]],
         problems: list[tuple[int, str, str]]) -> Booking | None:
    def get(col: str) -> str:
        return (row.get(col) or "").strip()

    before = len(problems)
    values: dict[str, Any] = {}
    try:
        values["patient_ref"] = check_patient_ref(get("patient_ref"))
    except InvalidCommand as exc:
        problems.append((n, "patient_ref", exc.problem))
    for col in ("booked_at", "earliest_start", "latest_start"):
        if col == "booked_at" and not get(col):
            values[col] = None
            continue
        try:
            t = datetime.fromisoformat(get(col))
        except ValueError:
            problems.append((n, col, f"not an ISO 8601 time: {get(col)!r}"))
            continue
        try:
            values[col] = localize(t, tz)
        except ValueError as exc:
            problems.append((n, col, str(exc)))
    place = get("place")
    if get("lat") or get("lon"):
        try:
            values["lat"], values["lon"] = float(get("lat")), float(get("lon"))
        except ValueError:
            problems.append((n, "lat", "give lat and lon as numbers"))
    elif place in places:
        values["lat"], values["lon"] = places[place]
    else:
        problems.append((n, "place", f"give lat and lon, or a place of the map ({place!r})"))
    for col, low, high, default in (("duration_min", 5.0, 480.0, None), ("staff", 1, 6, 1),
                                    ("postpone_cost_min", 0.0, 10_080.0, None)):
        text = get(col)
        if not text:
            if col == "duration_min":
                problems.append((n, col, "is required"))
            values[col] = default
            continue
        try:
            number = float(text)
        except ValueError:
            problems.append((n, col, f"not a number: {text!r}"))
            continue
        if not low <= number <= high:
            problems.append((n, col, f"must be {low:g}-{high:g}"))
        values[col] = int(number) if col == "staff" else number
    doctor = get("doctor").lower()
    if doctor not in ("", "yes", "no", "true", "false", "1", "0"):
        problems.append((n, "doctor", "yes or no"))
    if len(problems) > before:
        return None
    if values["latest_start"] < values["earliest_start"]:
        problems.append((n, "latest_start", "is before earliest_start"))
        return None
    return Booking(place=place, doctor=doctor in ("yes", "true", "1"), **values)
