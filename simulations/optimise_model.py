"""From a scenario to the location model's inputs: candidate sites, demand by hour of the week,
response times from the scenario's map, and the shift patterns a car may work.

Periods are the 168 local hours of a week (``weekday * 24 + hour``, Monday 00:00 first), the
same grid as the simulator's utilisation (:func:`simulations.kpi.hour_of_week`). Demand points
are the map's populated places; a synthetic scenario's demand is its expected alarms per week by
population and the hour and weekday profiles, a replayed log's is its alarms counted at the
nearest populated place, per week. Response seconds are the acknowledge and turnout times plus
the drive from the site to the place's road node on the scenario's roads (winter speeds unless
the season is summer, as the population coverage counts them), or on a matrix map the matrix's
time from the site's nearest node to the place's node.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from dispatch.coverage import coverage, populated
from maps.errors import UnknownPlace
from maps.gazetteer import Gazetteer, normalise_name
from maps.graph import Place, haversine_m
from maps.traveltime import TravelTimeModel
from routing.engine import TravelTimes
from simulations.errors import ScenarioError
from simulations.matrix import MatrixMap
from simulations.spec import ReplayDemand, Scenario, Shift, SyntheticDemand
from simulations.staffing import WEEKDAYS
from simulations.terrain import Terrain, all_facilities, off_map

__all__ = [
    "HOURS",
    "Candidate",
    "PatternSpec",
    "candidate_sites",
    "daily_patterns",
    "demand_by_hour",
    "night_periods",
    "periods_of",
    "response_seconds",
    "scenario_pattern",
    "shift_table",
]

#: Periods of the model: the hours of a week.
HOURS = 168


@dataclass(frozen=True, slots=True)
class Candidate:
    """A place a base may go; ``place`` is how a scenario file names it (a map name, or a
    label beside ``lat``/``lon``); ``node`` the matrix node it stands on (a matrix map only);
    ``existing`` for a base of the scenario itself."""

    id: str
    name: str
    lat: float
    lon: float
    place: str
    by_name: bool
    existing: bool = False
    node: str = ""


@dataclass(frozen=True, slots=True)
class PatternSpec:
    """A shift pattern: its id, the scenario shifts one car works and the periods they cover."""

    id: str
    shifts: tuple[Shift, ...]
    periods: frozenset[int]
    hours_per_week: float


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", normalise_name(name)).strip("-")[:24] or "site"


def _unique(base: str, taken: set[str]) -> str:
    out, n = base, 2
    while out in taken:
        out, n = f"{base}-{n}", n + 1
    taken.add(out)
    return out


def _existing(scenario: Scenario) -> list[Candidate]:
    return [
        Candidate(b.id, b.name, b.lat, b.lon, b.name, by_name=False, existing=True)
        for b in scenario.bases
    ]


def _near(c: Candidate, others: Iterable[Candidate], metres: float = 300.0) -> bool:
    return any(float(haversine_m(c.lat, c.lon, o.lat, o.lon)) < metres for o in others)


def candidate_sites(scenario: Scenario, graph: Terrain, kind: str | Path) -> list[Candidate]:
    """The allowed sites: the scenario's own bases first, then ``places`` (the map's and the
    scenario's hospitals and MAE bases), ``all-localities`` (every populated place) or those a
    TOML file lists as ``[[candidates]]`` with ``id`` and ``place`` (on a matrix map a node id)
    or ``lat``/``lon``. Sites are written by name on a road map, on a matrix by node (or by
    coordinates when they stand on none)."""
    out = _candidates(scenario, graph, kind)
    if isinstance(graph, MatrixMap):
        out = [replace(c, node=_node_at(graph, c)) for c in out]
    return out


def _node_at(graph: MatrixMap, c: Candidate) -> str:
    """The id of the matrix node ``c`` stands on (within a metre), else empty."""
    i = int(graph.nearest([c.lat], [c.lon])[0])
    lat, lon = graph.point(i)
    return str(graph.ids[i]) if float(haversine_m(c.lat, c.lon, lat, lon)) < 1.0 else ""


def _candidates(scenario: Scenario, graph: Terrain, kind: str | Path) -> list[Candidate]:
    out = _existing(scenario)
    taken = {c.id for c in out}
    named = not isinstance(graph, MatrixMap)
    if kind == "places":
        for f in all_facilities(graph, scenario):
            if f.is_a("hospital") or f.is_a("mae_base") or f.is_a("psychiatric_emergency"):
                c = Candidate(_unique(_slug(f.name), taken), f.name, f.lat, f.lon, f.name, named)
                if not _near(c, out):
                    out.append(c)
        return out
    if kind == "all-localities":
        for p in populated(graph.places):
            c = Candidate(_unique(_slug(p.name), taken), p.name, p.lat, p.lon, p.name, named)
            if not _near(c, out):
                out.append(c)
        return out
    return out + _read_candidates(Path(kind), graph, taken)


def _read_candidates(path: Path, graph: Terrain, taken: set[str]) -> list[Candidate]:
    source = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError("candidates", "no such file", source=source) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError("candidates", f"not valid TOML: {exc}", source=source) from None
    rows = data.get("candidates")
    if not isinstance(rows, list) or not rows or set(data) != {"candidates"}:
        raise ScenarioError(
            "candidates",
            "list the sites as [[candidates]] with id and place (or lat and lon)",
            source=source,
        )
    gaz = None if isinstance(graph, MatrixMap) else Gazetteer.of(graph)
    out: list[Candidate] = []
    for i, row in enumerate(rows):
        key = f"candidates[{i}]"
        if not isinstance(row, dict) or not isinstance(row.get("id"), str) or not row["id"]:
            raise ScenarioError(f"{key}.id", "every candidate needs an id", source=source)
        unknown = set(row) - {"id", "place", "lat", "lon"}
        if unknown:
            raise ScenarioError(f"{key}.{sorted(unknown)[0]}", "unknown key", source=source)
        cid = row["id"]
        if cid in taken:
            raise ScenarioError(
                f"{key}.id",
                f"{cid!r} is taken (a scenario base or a candidate listed before)",
                source=source,
            )
        taken.add(cid)
        if "lat" in row or "lon" in row:
            lat, lon = row.get("lat"), row.get("lon")
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lon)):
                raise ScenarioError(f"{key}.lat", "give both lat and lon as numbers", source=source)
            assert isinstance(lat, int | float) and isinstance(lon, int | float)
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise ScenarioError(f"{key}.lat", "not a WGS84 coordinate", source=source)
            problem = off_map(graph, float(lat), float(lon))
            if problem is not None:
                raise ScenarioError(f"{key}.lat", problem, source=source)
            label = str(row.get("place", cid))
            out.append(Candidate(cid, label, float(lat), float(lon), label, False))
            continue
        name = row.get("place")
        if not isinstance(name, str):
            raise ScenarioError(f"{key}.place", "give a place name or lat and lon", source=source)
        if gaz is None:
            assert isinstance(graph, MatrixMap)
            try:
                lat, lon = graph.point(graph.index(name))
            except KeyError as exc:
                raise ScenarioError(f"{key}.place", str(exc.args[0]), source=source) from None
            out.append(Candidate(cid, name, lat, lon, name, False))
            continue
        try:
            found = gaz.find(name)
        except UnknownPlace as exc:
            raise ScenarioError(f"{key}.place", str(exc), source=source) from None
        out.append(Candidate(cid, found.name, found.lat, found.lon, found.name, True))
    return out


def demand_by_hour(scenario: Scenario, graph: Terrain) -> tuple[tuple[Place, ...], np.ndarray]:
    """The demand points (populated places) and the expected alarms per week at each, by
    period: an array ``[place, 168]`` (several replayed logs: their mean)."""
    places = populated(graph.places)
    out = np.zeros((len(places), HOURS))
    demand = scenario.demand
    if isinstance(demand, SyntheticDemand):
        pop = np.array([p.population for p in places], dtype=np.float64)
        hours = np.array(demand.hour_profile) / np.mean(demand.hour_profile)
        wdays = np.array(demand.weekday_profile) / np.mean(demand.weekday_profile)
        per_hour = demand.alarms_per_year / (365.25 * 24)
        shape = np.outer(wdays, hours).reshape(-1) * per_hour
        out = np.outer(pop / pop.sum(), shape)
        return places, out
    assert isinstance(demand, ReplayDemand)
    lat = np.radians([p.lat for p in places])
    lon = np.radians([p.lon for p in places])
    tz = scenario.tz
    for a in (a for log in demand.logs for a in log):
        d = (
            np.sin((lat - math.radians(a.lat)) / 2) ** 2
            + np.cos(lat)
            * math.cos(math.radians(a.lat))
            * np.sin((lon - math.radians(a.lon)) / 2) ** 2
        )
        local = a.received_at.astimezone(tz)
        out[int(np.argmin(d)), local.weekday() * 24 + local.hour] += 1.0
    return places, out * 7.0 / scenario.days / len(demand.logs)


def response_seconds(
    scenario: Scenario, graph: Terrain, sites: Sequence[Candidate], places: Sequence[Place]
) -> np.ndarray:
    """Seconds from an alarm to a car from each site on scene at each place ``[site, place]``:
    acknowledge, turnout and the drive (inf where no road leads)."""
    extra = scenario.service.ack_s + scenario.service.turnout_min * 60.0
    if isinstance(graph, MatrixMap):
        rows = graph.nearest([c.lat for c in sites], [c.lon for c in sites])
        cols = np.array([p.node for p in places], dtype=np.intp)
        return np.asarray(graph.seconds[np.ix_(rows, cols)], dtype=np.float64) + extra
    roads = scenario.roads
    tt = TravelTimes(
        graph,
        TravelTimeModel(winter_factor=roads.winter_factor),
        winter=roads.season != "summer",
        emergency=roads.emergency,
        offroad_speed_kmh=roads.offroad_speed_kmh,
    )
    times = coverage(tt, [(c.lat, c.lon) for c in sites], places).times_s
    return np.asarray(times, dtype=np.float64) + extra


def periods_of(shifts: Iterable[Shift]) -> frozenset[int]:
    """The hours of the week in which a car on ``shifts`` is on duty at half past."""
    out: set[int] = set()
    for s in shifts:
        for d in s.days:
            for m in range(d * 1440 + s.start_min, d * 1440 + s.end_min):
                if m % 60 == 30:
                    out.add((m // 60) % HOURS)
    return frozenset(out)


def _pattern(pid: str, shifts: tuple[Shift, ...]) -> PatternSpec:
    hours = sum(len(s.days) * s.hours for s in shifts)
    return PatternSpec(pid, shifts, periods_of(shifts), hours)


DAY_SETS = {
    "all": frozenset(range(7)),
    "weekdays": frozenset(range(5)),
    "weekends": frozenset(range(5, 7)),
}


def daily_patterns(
    starts: Iterable[int], lengths: Iterable[int], days: Iterable[str] = ("all",)
) -> list[PatternSpec]:
    """One pattern per allowed start hour, length in hours and day set (``all``,
    ``weekdays``, ``weekends``): e.g. 14:00 for 12 h every day is ``d14-12h-all``."""
    out = []
    for day_set in days:
        if day_set not in DAY_SETS:
            raise ScenarioError("days", f"{day_set!r} is not all, weekdays or weekends")
        for start in sorted(set(starts)):
            for length in sorted(set(lengths)):
                if not (0 <= start < 24 and 1 <= length <= 24):
                    raise ScenarioError(
                        "shifts",
                        f"start {start} / length {length} h: starts are hours 0-23, lengths 1-24 h",
                    )
                shift = Shift(start * 60, start * 60 + length * 60, DAY_SETS[day_set])
                out.append(_pattern(f"d{start:02d}-{length}h-{day_set}", (shift,)))
    return out


def scenario_pattern(scenario: Scenario) -> PatternSpec:
    """The hours the scenario's first unit works, as one pattern (bases without a budget keep
    today's hours)."""
    return _pattern("scenario-hours", scenario.units[0].shifts)


def night_periods(start_hour: int, end_hour: int) -> list[int]:
    """The hours of the week from ``start_hour`` to ``end_hour`` (past midnight when the end
    comes first), every day."""
    span = [(start_hour + k) % 24 for k in range((end_hour - start_hour) % 24 or 24)]
    return [d * 24 + h for d in range(7) for h in span]


def shift_table(shift: Shift) -> dict[str, Any]:
    """A shift as a scenario file writes it."""

    def clock(minutes: int) -> str:
        minutes %= 1440
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    named = {v: k for k, v in DAY_SETS.items()}
    days: Any = named.get(shift.days) or [WEEKDAYS[d] for d in sorted(shift.days)]
    return {"start": clock(shift.start_min), "end": clock(shift.end_min), "days": days}
