"""Historical alarm logs (CSV) to replay: reading, validating every row, and writing.

The schema is in ``simulations/README.md``. :func:`validate_alarm_log` reads the whole file and
returns every problem as ``(row, field, problem)`` (the header is row 1, as a spreadsheet shows
it) instead of stopping at the first; :func:`read_alarm_log` raises :class:`AlarmLogError` with
all of them.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dispatch.model import Agency, Category, OutcomeKind, Priority
from maps.errors import UnknownPlace
from maps.gazetteer import Gazetteer
from maps.graph import RoadGraph
from maps.traveltime import DEFAULT_TIMEZONE
from simulations.demand import DemandAlarm, nearest_municipality
from simulations.errors import AlarmLogError, csv_shape, unreadable
from simulations.matrix import MatrixMap
from simulations.spec import localize
from simulations.terrain import off_map

__all__ = ["COLUMNS", "REQUIRED", "read_alarm_log", "validate_alarm_log", "write_alarm_log"]

COLUMNS = (
    "reference", "received_at", "agency", "priority", "category", "lat", "lon", "place",
    "node", "municipality", "outcome", "transport", "on_scene_min", "at_facility_min",
)
#: Only the time is required (and a place: lat/lon, place or node); the rest have defaults.
REQUIRED = ("received_at",)
#: What a row leaves empty: the reference is ``row<N>``; outcome from ``transport`` if given.
DEFAULTS = {"agency": Agency.OTHER, "priority": Priority.URGENT, "category": Category.OTHER}
TRUE, FALSE = ("1", "true", "yes", "y", "ja"), ("0", "false", "no", "n", "nej")


def _enum(kind: type[Any], text: str) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not one of " + ", ".join(str(m.value) for m in kind)
        ) from None


def _flag(text: str) -> bool:
    low = text.lower()
    if low in TRUE:
        return True
    if low in FALSE:
        return False
    raise ValueError(f"{text!r} is not true or false (1/0, yes/no)")


def _parse_row(
    row: dict[str, str], tz: ZoneInfo, gaz: Gazetteer | None,
    graph: RoadGraph | MatrixMap | None, number_: int,
) -> tuple[DemandAlarm | None, list[tuple[str, str]]]:
    problems: list[tuple[str, str]] = []
    values: dict[str, Any] = {}

    def field(name: str, parse: Any) -> None:
        text = (row.get(name) or "").strip()
        if not text:
            if name in REQUIRED:
                problems.append((name, "is empty"))
            return
        try:
            values[name] = parse(text)
        except ValueError as exc:
            problems.append((name, str(exc)))

    def when(text: str) -> datetime:
        try:
            t = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is not an ISO date and time") from None
        return localize(t, tz)

    def priority(text: str) -> Priority:
        if text not in ("1", "2", "3"):
            raise ValueError(f"{text!r} is not 1 (acute), 2 (urgent) or 3 (non-urgent)")
        return Priority(int(text))

    def number(low: float, high: float) -> Any:
        def parse(text: str) -> float:
            try:
                v = float(text)
            except ValueError:
                raise ValueError(f"{text!r} is not a number") from None
            if not (math.isfinite(v) and low <= v <= high):
                raise ValueError(f"{text} is not within {low:g}..{high:g}")
            return v
        return parse

    field("reference", lambda t: t if len(t) <= 64 else _too_long())
    field("received_at", when)
    field("agency", lambda t: _enum(Agency, t))
    field("priority", priority)
    field("category", lambda t: _enum(Category, t))
    field("lat", number(-90, 90))
    field("lon", number(-180, 180))
    field("outcome", lambda t: _enum(OutcomeKind, t))
    field("on_scene_min", number(0, 24 * 60))
    field("at_facility_min", number(0, 24 * 60))
    field("transport", _flag)
    place = (row.get("place") or row.get("node") or "").strip()
    municipality = (row.get("municipality") or "").strip()
    has_lat, has_lon = "lat" in values, "lon" in values
    if has_lat != has_lon and not any(f in ("lat", "lon") for f, _ in problems):
        problems.append(("lon" if has_lat else "lat", "give both lat and lon, or a place"))
    if not has_lat and not has_lon and not any(f in ("lat", "lon") for f, _ in problems):
        if not place:
            problems.append(("place", "give lat and lon, or a place of the map"))
        elif isinstance(graph, MatrixMap):
            try:
                values["lat"], values["lon"] = graph.point(graph.index(place))
            except KeyError as exc:
                problems.append(("node" if row.get("node") else "place", str(exc.args[0])))
        elif gaz is None:
            problems.append(("place", "place names need a map; give lat and lon"))
        else:
            try:
                found = gaz.find(place)
                values["lat"], values["lon"] = float(found.lat), float(found.lon)
            except UnknownPlace as exc:
                problems.append(("place", str(exc)))
    if not problems and has_lat and has_lon and graph is not None:
        far = off_map(graph, values["lat"], values["lon"])
        if far is not None:
            problems.append(("lat", far))
    if problems:
        return None, problems
    if isinstance(graph, MatrixMap):
        place = place or graph.ids[int(graph.nearest([values["lat"]], [values["lon"]])[0])]
    elif not municipality and graph is not None:
        municipality, near = nearest_municipality(graph.places, values["lat"], values["lon"])
        place = place or near
    on_scene = values.get("on_scene_min")
    at_fac = values.get("at_facility_min")
    outcome = values.get("outcome")
    if outcome is None and "transport" in values:
        outcome = (OutcomeKind.TRANSPORTED_MAE if values["transport"]
                   else OutcomeKind.STAYED_HOME)
    return DemandAlarm(
        reference=values.get("reference", f"row{number_}"),
        received_at=values["received_at"],
        agency=values.get("agency", DEFAULTS["agency"]),
        priority=values.get("priority", DEFAULTS["priority"]),
        category=values.get("category", DEFAULTS["category"]),
        lat=values["lat"],
        lon=values["lon"],
        municipality=municipality,
        place=place,
        outcome=outcome,
        on_scene_s=None if on_scene is None else on_scene * 60.0,
        at_facility_s=None if at_fac is None else at_fac * 60.0,
    ), []


def _too_long() -> str:
    raise ValueError("must be at most 64 characters")


def _parse(
    path: Path, graph: RoadGraph | MatrixMap | None, timezone: str
) -> tuple[list[DemandAlarm], list[tuple[int, str, str]]]:
    tz = ZoneInfo(timezone)
    gaz = Gazetteer.of(graph) if isinstance(graph, RoadGraph) else None
    problems: list[tuple[int, str, str]] = []
    alarms: list[DemandAlarm] = []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [(0, "file", unreadable(path, exc))]
    shape = csv_shape(path, text)
    if shape is not None:
        return [], [(0, "file", shape)]
    with io.StringIO(text, newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [c for c in REQUIRED if c not in header]
        unknown = [c for c in header if c not in COLUMNS]
        for c in missing:
            problems.append((1, c, "required column is missing"))
        for c in unknown:
            problems.append((1, c, "unknown column; known: " + ", ".join(COLUMNS)))
        if missing:
            return [], problems
        seen: dict[str, int] = {}
        for i, row in enumerate(reader, start=2):
            if None in row:
                problems.append((i, "row", "has more fields than the header"))
                continue
            alarm, errs = _parse_row(row, tz, gaz, graph, i)
            problems.extend((i, f, p) for f, p in errs)
            if alarm is not None:
                key = f"{alarm.agency.value}/{alarm.reference}"
                if key in seen:
                    problems.append((i, "reference",
                                     f"{alarm.reference!r} of {alarm.agency.value} repeats row "
                                     f"{seen[key]}"))
                    continue
                seen[key] = i
                alarms.append(alarm)
    return alarms, problems


def validate_alarm_log(
    path: str | Path, *, graph: RoadGraph | MatrixMap | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> list[tuple[int, str, str]]:
    """Every problem of the log at ``path`` as ``(row, field, problem)``; empty when it is good.

    Times without an offset are read in ``timezone``. Place names are looked up on ``graph``.
    """
    return _parse(Path(path), graph, timezone)[1]


def read_alarm_log(
    path: str | Path, *, graph: RoadGraph | MatrixMap | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> list[DemandAlarm]:
    """The alarms of the log at ``path`` in time order; :class:`AlarmLogError` lists every bad
    row and field."""
    alarms, problems = _parse(Path(path), graph, timezone)
    if problems:
        raise AlarmLogError(problems, source=str(path))
    return sorted(alarms, key=lambda a: (a.received_at, a.reference))


def write_alarm_log(alarms: Iterable[DemandAlarm], path: str | Path) -> Path:
    """Write ``alarms`` in the replay schema (e.g. to edit a synthetic year by hand)."""
    out = Path(path)

    def minutes(s: float | None) -> str:
        return "" if s is None else f"{s / 60:.2f}"

    rows: Sequence[DemandAlarm] = list(alarms)
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for a in rows:
            w.writerow([
                a.reference, a.received_at.isoformat(), a.agency.value, int(a.priority),
                a.category.value, f"{a.lat:.6f}", f"{a.lon:.6f}", a.place, "", a.municipality,
                a.outcome.value if a.outcome else "", "", minutes(a.on_scene_s),
                minutes(a.at_facility_s),
            ])
    return out
