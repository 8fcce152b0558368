"""Scenarios: what a planner wants to try, read from TOML and checked key by key.

A scenario names the map, the bases and units with their shift schedules, the season, the
dispatch policy and what happens when no MAE unit can come in time, service times, the demand
(synthetic or a replayed alarm log), the outcome mix and the economic assumptions. Every bad or
unknown key raises :class:`ScenarioError` naming it (``units[1].shifts[0].start``); the schema is
in ``simulations/README.md``.
"""

from __future__ import annotations

import math
import tomllib
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dispatch.commands import DispatchConfig
from dispatch.model import Agency, Category, OutcomeKind, Priority
from maps.errors import MapError, UnknownPlace
from maps.gazetteer import Gazetteer
from maps.graph import RoadGraph
from simulations.alarm_log import read_alarm_log
from simulations.errors import AlarmLogError, ScenarioError
from simulations.spec import (
    CARRIER,
    DEFAULT_AGENCY_MIX,
    DEFAULT_CATEGORY_MIX,
    DEFAULT_HOUR_PROFILE,
    DEFAULT_OUTCOME_MIX,
    DEFAULT_PRIORITY_MIX,
    DEFAULT_WEEKDAY_PROFILE,
    Base,
    Economics,
    FollowUpDemand,
    Policy,
    ReplayDemand,
    Roads,
    Scenario,
    Service,
    Shift,
    SyntheticDemand,
    UnitSpec,
    run_end,
    run_start,
)

__all__ = [
    "CARRIER",
    "Base",
    "Economics",
    "Policy",
    "ReplayDemand",
    "Roads",
    "Scenario",
    "Service",
    "Shift",
    "SyntheticDemand",
    "UnitSpec",
    "check_replay_window",
    "load_graph_for",
    "load_scenario",
    "scenario_from_dict",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# -- reading ------------------------------------------------------------------------------------


class _Table:
    """A TOML table with its dotted path; every read names the key in its error."""

    def __init__(self, data: Any, path: str, source: str) -> None:
        if not isinstance(data, dict):
            raise ScenarioError(path or "scenario", "must be a table", source=source)
        self.data = data
        self.path = path
        self.source = source
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def error(self, name: str, problem: str) -> ScenarioError:
        return ScenarioError(self.key(name), problem, source=self.source)

    def has(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str, default: Any = None) -> Any:
        self.used.add(name)
        return self.data.get(name, default)

    def table(self, name: str, *, required: bool = False) -> _Table:
        if required and name not in self.data:
            raise self.error(name, "is required")
        return _Table(self.raw(name, {}), self.key(name), self.source)

    def tables(self, name: str) -> list[_Table]:
        value = self.raw(name, [])
        if not isinstance(value, list):
            raise self.error(name, "must be an array of tables ([[" + self.key(name) + "]])")
        return [_Table(v, f"{self.key(name)}[{i}]", self.source) for i, v in enumerate(value)]

    def text(self, name: str, default: str | None = None) -> str:
        value = self.raw(name, default)
        if value is None:
            raise self.error(name, "is required")
        if not isinstance(value, str):
            raise self.error(name, f"must be text, got {value!r}")
        return value

    def number(
        self, name: str, default: float | None = None, *, low: float = -math.inf,
        high: float = math.inf, above: float | None = None,
    ) -> float:
        value = self.raw(name, default)
        if value is None:
            raise self.error(name, "is required")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            value
        ):
            raise self.error(name, f"must be a number, got {value!r}")
        if above is not None and not value > above:
            raise self.error(name, f"must be more than {above:g}, got {value!r}")
        if not low <= value <= high:
            raise self.error(name, f"must be between {low:g} and {high:g}, got {value!r}")
        return float(value)

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw(name, default)
        if not isinstance(value, bool):
            raise self.error(name, f"must be true or false, got {value!r}")
        return value

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.text(name, default)
        if value not in choices:
            raise self.error(name, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def profile(self, name: str, default: tuple[float, ...], n: int) -> tuple[float, ...]:
        value = self.raw(name, default)
        if not isinstance(value, list | tuple) or len(value) != n:
            raise self.error(name, f"must be a list of {n} numbers")
        out = []
        for i, v in enumerate(value):
            if isinstance(v, bool) or not isinstance(v, int | float) or not (
                math.isfinite(v) and v >= 0
            ):
                raise self.error(f"{name}[{i}]", f"must be a number >= 0, got {v!r}")
            out.append(float(v))
        if sum(out) <= 0:
            raise self.error(name, "must not be all zero")
        return tuple(out)

    def mix(self, name: str, kind: type[Any], default: tuple[tuple[Any, float], ...]) -> Any:
        """A table of shares keyed by enum value; shares must sum to 1 (within 0.001)."""
        if not self.has(name):
            return default
        t = self.table(name)
        out = []
        for key in t.data:
            try:
                member = kind(key)
            except ValueError:
                choices = ", ".join(str(m.value) for m in kind)
                raise t.error(key, f"unknown; expected one of {choices}") from None
            out.append((member, t.number(key, low=0.0, high=1.0)))
        total = sum(s for _, s in out)
        if abs(total - 1.0) > 1e-3:
            raise self.error(name, f"shares must add up to 1, they add up to {total:.4f}")
        return tuple(out)

    def done(self) -> None:
        """Refuse keys nobody read: a typo must not silently fall back to a default."""
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            known = ", ".join(sorted(self.used)) or "none"
            raise self.error(unknown[0], f"unknown key (known here: {known})")


def _parse_clock(t: _Table, name: str) -> int:
    text = t.text(name)
    parts = text.split(":")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise t.error(name, f"{text!r} is not a time HH:MM")
    h, m = int(parts[0]), int(parts[1])
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
        raise t.error(name, f"{text!r} is not a time of day")
    return h * 60 + m


def _parse_days(t: _Table, name: str) -> frozenset[int]:
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
        if not isinstance(d, str) or d.lower()[:3] not in WEEKDAYS:
            raise t.error(f"{name}[{i}]", f"{d!r} is not a day (mon..sun)")
        days.add(WEEKDAYS.index(d.lower()[:3]))
    return frozenset(days)


def _parse_shift(t: _Table) -> Shift:
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


def _resolve_place(t: _Table, graph: RoadGraph, gaz: Gazetteer) -> tuple[str, float, float, str]:
    if t.has("lat") or t.has("lon"):
        lat = t.number("lat", low=-90, high=90)
        lon = t.number("lon", low=-180, high=180)
        return t.text("place", f"{lat:.4f},{lon:.4f}"), lat, lon, ""
    name = t.text("place")
    try:
        found = gaz.find(name)
    except UnknownPlace as exc:
        raise t.error("place", str(exc)) from None
    municipality = getattr(found, "municipality", "")
    if not municipality:
        for p in graph.places:
            if p.name == getattr(found, "place", ""):
                municipality = p.municipality
    return found.name, float(found.lat), float(found.lon), municipality


def load_graph_for(map_path: str | None) -> RoadGraph:
    """The scenario's map: the bundled county map when ``map_path`` is None."""
    if map_path is None:
        from maps.bundled import load_bundled

        return load_bundled()
    from maps.graph import load_graph

    return load_graph(Path(map_path))


def load_scenario(path: str | Path, *, graph: RoadGraph | None = None) -> Scenario:
    """Read and check the scenario TOML at ``path`` (places are resolved on its map)."""
    p = Path(path)
    source = str(p)
    try:
        with p.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ScenarioError("file", "no such scenario file", source=source) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError("file", f"not valid TOML: {exc}", source=source) from None
    return scenario_from_dict(data, graph=graph, base_dir=p.parent, source=source)


def scenario_from_dict(
    data: dict[str, Any],
    *,
    graph: RoadGraph | None = None,
    base_dir: Path = Path("."),
    source: str = "",
) -> Scenario:
    """Check ``data`` (a parsed scenario TOML) and build the :class:`Scenario`."""
    root = _Table(data, "", source)
    name = root.text("name")
    description = root.text("description", "")
    start_raw = root.raw("start", "2026-01-05")
    if isinstance(start_raw, date):
        start = start_raw
    else:
        try:
            start = date.fromisoformat(str(start_raw))
        except ValueError:
            raise root.error("start", f"{start_raw!r} is not a date YYYY-MM-DD") from None
    days = root.number("days", 365, low=1, high=3660)
    if days != int(days):
        raise root.error("days", "must be a whole number of days")
    timezone = root.text("timezone", "Europe/Stockholm")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise root.error("timezone", f"{timezone!r} is not a known time zone") from None

    map_t = root.table("map")
    map_path: str | None = map_t.text("path", "") or None
    if map_path is not None and not Path(map_path).is_absolute():
        map_path = str((base_dir / map_path).resolve())
    map_t.done()
    if graph is None:
        try:
            graph = load_graph_for(map_path)
        except MapError as exc:
            raise ScenarioError("map.path", str(exc), source=source) from None
    gaz = Gazetteer.of(graph)

    bases: list[Base] = []
    for bt in root.tables("bases"):
        bid = bt.text("id")
        if any(b.id == bid for b in bases):
            raise bt.error("id", f"base {bid!r} is listed twice")
        label, lat, lon, municipality = _resolve_place(bt, graph, gaz)
        bases.append(Base(bid, label, lat, lon, municipality))
        bt.done()
    if not bases:
        raise root.error("bases", "name at least one base ([[bases]] with id and place)")

    units: list[UnitSpec] = []
    for ut in root.tables("units"):
        uid = ut.text("id")
        if not uid.strip() or any(u.id == uid for u in units):
            raise ut.error("id", f"unit id {uid!r} is empty or listed twice")
        base = ut.text("base")
        if base not in {b.id for b in bases}:
            raise ut.error("base", f"unknown base {base!r}; bases are "
                                   + ", ".join(b.id for b in bases))
        shifts = [_parse_shift(st) for st in ut.tables("shifts")]
        if not shifts:
            raise ut.error("shifts", "a unit needs at least one shift ([[units.shifts]])")
        _check_overlaps(ut.path, shifts, source)
        crew_raw = ut.raw("crew", ["nurse", "nurse"])
        if not isinstance(crew_raw, list) or not crew_raw or not all(
            isinstance(c, str) and c.strip() for c in crew_raw
        ):
            raise ut.error("crew", "must be a non-empty list of names or roles")
        units.append(UnitSpec(uid, base, tuple(shifts), tuple(crew_raw)))
        ut.done()
    if not units:
        raise root.error("units", "name at least one unit ([[units]] with id, base, shifts)")

    rt = root.table("roads")
    roads = Roads(
        season=rt.choice("season", "calendar", ("winter", "summer", "calendar")),  # type: ignore[arg-type]
        winter_factor=rt.number("winter_factor", 0.88, low=0.2, high=3.0),
        emergency=rt.flag("emergency", False),
        offroad_speed_kmh=rt.number("offroad_speed_kmh", 30.0, low=1.0, high=130.0),
    )
    rt.done()

    pt = root.table("policy")
    policy = Policy(
        kind=pt.choice("kind", "closest_idle", ("closest_idle", "coverage_aware")),  # type: ignore[arg-type]
        max_response_min=pt.number("max_response_min", 90.0, above=0.0, high=24 * 60),
        fallback=pt.choice("fallback", "source", ("source", "ambulance", "police")),  # type: ignore[arg-type]
        queue=pt.flag("queue", True),
        coverage_limit_min=pt.number("coverage_limit_min", 60.0, above=0.0, high=24 * 60),
        coverage_slack_min=pt.number("coverage_slack_min", 10.0, low=0.0, high=24 * 60),
    )
    pt.done()

    dispatch = DispatchConfig()
    st = root.table("service")
    service = Service(
        ack_s=st.number("ack_s", 30.0, low=0.0, high=dispatch.ack_timeout_s - 1),
        turnout_min=st.number("turnout_min", 5.0, low=0.0, high=600),
        on_scene_min=st.number("on_scene_min", 75.0, low=0.0, high=24 * 60),
        on_scene_sd_min=st.number("on_scene_sd_min", 25.0, low=0.0, high=24 * 60),
        at_facility_min=st.number("at_facility_min", 30.0, low=0.0, high=24 * 60),
        at_facility_sd_min=st.number("at_facility_sd_min", 10.0, low=0.0, high=24 * 60),
        transport_to=st.choice("transport_to", "psychiatric_emergency",
                               ("psychiatric_emergency", "hospital")),
    )
    st.done()
    if not any(f.is_a(service.transport_to) for f in graph.facilities):
        raise ScenarioError("service.transport_to",
                            f"the map has no facility of kind {service.transport_to}",
                            source=source)

    dt = root.table("demand", required=True)
    kind = dt.choice("kind", "synthetic", ("synthetic", "replay"))
    demand: SyntheticDemand | ReplayDemand
    if kind == "synthetic":
        demand = SyntheticDemand(
            alarms_per_year=dt.number("alarms_per_year", 1500.0, low=0.0, high=1_000_000),
            hour_profile=dt.profile("hour_profile", DEFAULT_HOUR_PROFILE, 24),
            weekday_profile=dt.profile("weekday_profile", DEFAULT_WEEKDAY_PROFILE, 7),
            agency_mix=dt.mix("agency_mix", Agency, DEFAULT_AGENCY_MIX),
            category_mix=dt.mix("category_mix", Category, DEFAULT_CATEGORY_MIX),
            priority_mix=dt.mix("priority_mix", Priority, DEFAULT_PRIORITY_MIX),
            jitter_m=dt.number("jitter_m", 2000.0, low=0.0, high=20_000),
        )
        if not any(pl.population > 0 for pl in graph.places):
            raise dt.error("kind", "synthetic demand needs places with a population on the map")
    else:
        csv_name = dt.text("csv")
        csv_path = Path(csv_name)
        if not csv_path.is_absolute():
            csv_path = (base_dir / csv_path).resolve()
        try:
            alarms = read_alarm_log(csv_path, graph=graph)
        except AlarmLogError as exc:
            raise ScenarioError("demand.csv", str(exc), source=source) from None
        demand = ReplayDemand(str(csv_path), tuple(alarms))
    dt.done()

    outcome_mix = root.mix("outcomes", OutcomeKind, DEFAULT_OUTCOME_MIX)

    et = root.table("economics")
    economics = Economics(
        bed_year_cost_sek=et.number("bed_year_cost_sek", 2_400_000.0, low=0.0),
        avoided_admission_share=et.number("avoided_admission_share", 0.25, low=0.0, high=1.0),
        avoided_bed_days=et.number("avoided_bed_days", 7.0, low=0.0, high=365.0),
        team_cost_per_hour_sek=et.number("team_cost_per_hour_sek", 1_600.0, low=0.0),
    )
    et.done()
    followups = _followups(root.table("followups")) if root.has("followups") else None
    root.done()

    scenario = Scenario(
        name=name, description=description, start=start, days=int(days), timezone=timezone,
        bases=tuple(bases), units=tuple(units), demand=demand, outcome_mix=outcome_mix,
        map_path=map_path, roads=roads, policy=policy, service=service, economics=economics,
        dispatch=dispatch, source=source, followups=followups,
    )
    if isinstance(demand, ReplayDemand):
        check_replay_window(scenario)
    return scenario


def _followups(t: _Table) -> FollowUpDemand:
    """The ``[followups]`` table: follow-up visits the acute work leads to."""
    start = t.number("window_start_hour", 14.0, low=0.0, high=23.5)
    f = FollowUpDemand(
        share=t.number("share", 0.3, low=0.0, high=1.0),
        after_days=int(t.number("after_days", 1.0, low=0.0, high=14.0)),
        window_start_hour=start,
        window_hours=t.number("window_hours", 6.0, low=0.0, high=24.0 * 14),
        duration_min=t.number("duration_min", 45.0, low=5.0, high=480.0),
        doctor_share=t.number("doctor_share", 0.0, low=0.0, high=1.0),
        postponable_share=t.number("postponable_share", 0.5, low=0.0, high=1.0),
        postpone_cost_min=t.number("postpone_cost_min", 60.0, low=0.0, high=10_080.0),
        plan_hour=t.number("plan_hour", 7.0, low=0.0, high=23.5),
        plan_limit_s=t.number("plan_limit_s", 0.2, above=0.0, high=60.0),
        replan_limit_s=t.number("replan_limit_s", 0.1, above=0.0, high=10.0),
    )
    t.done()
    return f


def check_replay_window(scenario: Scenario) -> None:
    """A replayed log must fall inside the scenario's days; say which alarms do not."""
    assert isinstance(scenario.demand, ReplayDemand)
    lo, hi = run_start(scenario), run_end(scenario)
    outside = [a.reference for a in scenario.demand.alarms if not lo <= a.received_at < hi]
    if outside:
        shown = ", ".join(outside[:5]) + (" …" if len(outside) > 5 else "")
        raise ScenarioError(
            "demand.csv",
            f"{len(outside)} alarm(s) fall outside {scenario.start} + {scenario.days} days "
            f"({shown}); set start and days to cover the log",
            source=scenario.source,
        )
