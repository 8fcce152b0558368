"""Scenarios: what a planner wants to try, read from TOML and checked key by key.

A scenario names the map, the bases and units with their shift schedules, the season, the
dispatch policy and what happens when no MAE unit can come in time, service times, the demand
(synthetic or a replayed alarm log), the outcome mix and the economic assumptions. Every bad or
unknown key raises :class:`ScenarioError` naming it (``units[1].shifts[0].start``); the schema is
in ``simulations/README.md``.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dispatch.commands import DispatchConfig
from dispatch.model import AgeBand, Agency, Category, OutcomeKind, Priority
from maps.traveltime import DEFAULT_TIMEZONE
from simulations._toml import Table
from simulations.alarm_log import read_alarm_log
from simulations.bookings import read_bookings
from simulations.errors import AlarmLogError, ScenarioError, unreadable
from simulations.matrix import MatrixMap
from simulations.sites import parse_bases, parse_facilities, parse_map
from simulations.spec import (
    CARRIER,
    DEFAULT_AGE_MIX,
    DEFAULT_AGENCY_MIX,
    DEFAULT_CATEGORY_MIX,
    DEFAULT_HOUR_PROFILE,
    DEFAULT_OUTCOME_MIX,
    DEFAULT_PRIORITY_MIX,
    DEFAULT_WEEKDAY_PROFILE,
    MAX_DAYS,
    SENT_ON,
    Base,
    Booking,
    Economics,
    FollowUpDemand,
    KpiSettings,
    Policy,
    ReplayDemand,
    Roads,
    Rules,
    Scenario,
    Service,
    Shift,
    SyntheticDemand,
    UnitSpec,
    run_end,
    run_start,
)
from simulations.staffing import has_doctor, parse_units
from simulations.terrain import Terrain, all_facilities, load_graph_for

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
    "check_kpi_window",
    "check_replay_window",
    "load_graph_for",
    "load_scenario",
    "scenario_from_dict",
    "with_days",
]

logger = logging.getLogger(__name__)

def load_scenario(path: str | Path, *, graph: Terrain | None = None) -> Scenario:
    """Read and check the scenario TOML at ``path`` (places are resolved on its map)."""
    p = Path(path)
    source = str(p)
    try:
        with p.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ScenarioError("file", "no such scenario file", source=source) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError("file", unreadable(p, exc), source=source) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError("file", f"not valid TOML: {exc}", source=source) from None
    return scenario_from_dict(data, graph=graph, base_dir=p.parent, source=source)


def scenario_from_dict(
    data: dict[str, Any],
    *,
    graph: Terrain | None = None,
    base_dir: Path = Path("."),
    source: str = "",
) -> Scenario:
    """Check ``data`` (a parsed scenario TOML) and build the :class:`Scenario`."""
    root = Table(data, "", source)
    name = root.text("name")
    if not name.strip():
        raise root.error("name", "must not be empty: it names the scenario in the report")
    description = root.text("description", "")
    start_raw = root.raw("start", "2026-01-05")
    if isinstance(start_raw, datetime):  # a TOML date-time: its time would be dropped
        raise root.error("start", f"{start_raw.isoformat()} has a time: give the date the "
                                  "run starts, YYYY-MM-DD (it starts at midnight)")
    if isinstance(start_raw, date):
        start = start_raw
    else:
        try:
            start = date.fromisoformat(str(start_raw))
        except ValueError:
            raise root.error("start", f"{start_raw!r} is not a date YYYY-MM-DD") from None
    days = root.number("days", 365, low=1, high=MAX_DAYS)
    if days != int(days):
        raise root.error("days", "must be a whole number of days")
    timezone = root.text("timezone", DEFAULT_TIMEZONE)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise root.error("timezone", f"{timezone!r} is not a known time zone") from None

    map_path, matrix, terrain = parse_map(root, base_dir, graph)
    bases = parse_bases(root, terrain)
    units = parse_units(root, bases)
    facilities = parse_facilities(root, terrain)

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
    if policy.kind == "coverage_aware" and isinstance(terrain, MatrixMap):
        raise pt.error("kind", "coverage_aware routes on roads: a matrix map needs closest_idle")

    rules, dispatch = _parse_rules(root)
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
    probe = Scenario(name=name, start=start, days=1, timezone=timezone, bases=(), units=(),
                     demand=SyntheticDemand(), outcome_mix=(), facilities=tuple(facilities))
    if not any(f.is_a(service.transport_to) for f in all_facilities(terrain, probe)):
        raise ScenarioError("service.transport_to",
                            f"neither the map nor [[facilities]] has a {service.transport_to}",
                            source=source)

    dt = root.table("demand")  # optional: synthetic demand with the defaults
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
            jitter_m=dt.number("jitter_m", 0.0 if matrix else 2000.0, low=0.0, high=20_000),
            age_mix=dt.mix("age_mix", AgeBand, DEFAULT_AGE_MIX),
        )
        legacy = [b.value for b, _ in demand.age_mix if b.legacy]
        if legacy:
            raise dt.error("age_mix", f"{legacy[0]} is a legacy band; use "
                           + ", ".join(b.value for b in AgeBand.current()))
        if not any(pl.population > 0 for pl in terrain.places):
            raise dt.error("kind", "synthetic demand needs places with a population on the map")
    else:
        raw = dt.raw("csv")
        names = [raw] if isinstance(raw, str) else raw
        if not isinstance(names, list) or not names or not all(
            isinstance(n, str) and n for n in names
        ):
            raise dt.error("csv", "must be an alarm log file, or a list of them (one per seed)")
        paths, logs = [], []
        for i, csv_name in enumerate(names):
            key = "demand.csv" if isinstance(raw, str) else f"demand.csv[{i}]"
            csv_path = Path(csv_name)
            if not csv_path.is_absolute():
                csv_path = (base_dir / csv_path).resolve()
            try:
                alarms = read_alarm_log(csv_path, graph=terrain, timezone=timezone)
            except AlarmLogError as exc:
                raise ScenarioError(key, str(exc), source=source) from None
            if not alarms:
                raise ScenarioError(key, f"{csv_path} has no alarms (only a header)",
                                    source=source)
            paths.append(str(csv_path))
            logs.append(tuple(alarms))
        demand = ReplayDemand(tuple(paths), tuple(logs))
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
    kpi = _parse_kpi(root)
    followups = _followups(root.table("followups"), base_dir, terrain, timezone) \
        if root.has("followups") else None
    root.done()

    scenario = Scenario(
        name=name, description=description, start=start, days=int(days), timezone=timezone,
        bases=tuple(bases), units=tuple(units), demand=demand, outcome_mix=outcome_mix,
        map_path=map_path, roads=roads, policy=policy, service=service, economics=economics,
        dispatch=dispatch, source=source, matrix=matrix, facilities=tuple(facilities),
        rules=rules, kpi=kpi, followups=followups,
    )
    if followups is not None:
        warn_doctor_visits(scenario)
    if isinstance(demand, ReplayDemand):
        check_replay_window(scenario)
    check_kpi_window(scenario)
    return scenario


def warn_doctor_visits(scenario: Scenario) -> None:
    """Warn once (when the scenario is read, before its runs) if visits need a doctor but no
    unit's crew has one: the planner cannot give them a unit, and they are missed."""
    f = scenario.followups
    if f is None or has_doctor(scenario.units):
        return
    booked = sum(1 for b in f.bookings if b.doctor)
    parts = []
    if booked:
        parts.append(f"{booked} booking(s) of [followups] csv")
    if f.doctor_share > 0 and f.share > 0:
        parts.append(f"a share of {f.doctor_share:g} of the follow-ups (doctor_share)")
    if parts:
        logger.warning("%s: %s need a doctor, but no unit's crew has one (crew = [\"doctor\", "
                       "…]): they will be missed", scenario.source or scenario.name,
                       " and ".join(parts))


def _followups(t: Table, base_dir: Path, graph: Terrain, timezone: str) -> FollowUpDemand:
    """The ``[followups]`` table: follow-up visits the acute work leads to, and those of a
    booking CSV (``csv``, relative to the scenario)."""
    bookings: tuple[Booking, ...] = ()
    if t.has("csv"):
        csv_path = Path(t.text("csv"))
        if not csv_path.is_absolute():
            csv_path = (base_dir / csv_path).resolve()
        places = {p.name: (p.lat, p.lon) for p in getattr(graph, "places", ())}
        try:
            bookings = read_bookings(csv_path, places=places, timezone=timezone)
        except AlarmLogError as exc:
            raise t.error("csv", str(exc)) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise t.error("csv", unreadable(csv_path, exc)) from None
    start = t.number("window_start_hour", 14.0, low=0.0, high=23.5)
    f = FollowUpDemand(
        share=t.number("share", 0.3, low=0.0, high=1.0),
        after_days=int(t.number("after_days", 1.0, low=0.0, high=14.0)),
        window_start_hour=start,
        window_hours=t.number("window_hours", 6.0, above=0.0, high=24.0 * 14),
        duration_min=t.number("duration_min", 45.0, low=5.0, high=480.0),
        doctor_share=t.number("doctor_share", 0.0, low=0.0, high=1.0),
        postponable_share=t.number("postponable_share", 0.5, low=0.0, high=1.0),
        postpone_cost_min=t.number("postpone_cost_min", 60.0, low=0.0, high=10_080.0),
        plan_hour=t.number("plan_hour", 7.0, low=0.0, high=23.5),
        plan_limit_s=t.number("plan_limit_s", 0.2, above=0.0, high=60.0),
        replan_limit_s=t.number("replan_limit_s", 0.1, above=0.0, high=10.0),
        bookings=bookings,
    )
    t.done()
    return f


def with_days(scenarios: list[Scenario], days: int | None) -> list[Scenario]:
    """``scenarios`` over ``days`` instead of their own (``--days``; None keeps them): a
    replayed log cannot be shortened, and a utilisation window must still begin in the run."""
    if days is None:
        return scenarios
    for sc in scenarios:
        if not isinstance(sc.demand, ReplayDemand) or days == sc.days:
            continue
        if days < sc.days:
            raise ScenarioError("days", f"--days {days} cannot shorten a replayed log (the "
                                        f"scenario replays {sc.days} days)", source=sc.source)
        raise ScenarioError(
            "days", f"--days {days} is longer than the replayed log's {sc.days} days: the log "
                    "has no alarms after its end, so the extra days would count idle cars; "
                    "leave out --days", source=sc.source)
    out = [replace(sc, days=days) for sc in scenarios]
    for sc in out:
        check_kpi_window(sc)
    return out


def check_kpi_window(scenario: Scenario) -> None:
    """The utilisation window must begin before the run ends (else utilisation is nan); give
    it after ``--days`` shortens a run too."""
    end_min = scenario.days * 24 * 60
    if scenario.kpi.utilisation_from_min >= end_min:
        raise ScenarioError(
            "kpi.utilisation_from_min",
            f"{scenario.kpi.utilisation_from_min:g} is not before the run's end ({end_min} min "
            f"= {scenario.days} days)", source=scenario.source)


def check_replay_window(scenario: Scenario) -> None:
    """A replayed log must fall inside the scenario's days; say which alarms do not."""
    assert isinstance(scenario.demand, ReplayDemand)
    lo, hi = run_start(scenario), run_end(scenario)
    for i, log in enumerate(scenario.demand.logs):
        outside = [a.reference for a in log if not lo <= a.received_at < hi]
        if not outside:
            continue
        key = "demand.csv" if len(scenario.demand.logs) == 1 else f"demand.csv[{i}]"
        shown = ", ".join(outside[:5]) + (" …" if len(outside) > 5 else "")
        raise ScenarioError(
            key,
            f"{len(outside)} alarm(s) fall outside {scenario.start} + {scenario.days} days "
            f"({shown}); set start and days to cover the log",
            source=scenario.source,
        )


def _parse_rules(root: Table) -> tuple[Rules, DispatchConfig]:
    """``[dispatch]``: merging (``merge_window_min`` 0 or ``merge = false`` turns it off), the
    drive home's speed factor and what a unit on its way home does when sent on."""
    t = root.table("dispatch")
    window = t.number("merge_window_min", 15.0, low=0.0, high=24 * 60)
    if not t.flag("merge", True):
        if t.has("merge_window_min") and window > 0:
            raise t.error("merge_window_min", "merge = false turns merging off: keep one of "
                                              "the two")
        window = 0.0
    rules = Rules(
        merge_window_min=window,
        merge_radius_m=t.number("merge_radius_m", 300.0, above=0.0, high=100_000),
        return_speed_factor=t.number("return_speed_factor", 1.0, above=0.0, high=10.0),
        sent_on=t.choice("sent_on", "along_route", SENT_ON),  # type: ignore[arg-type]
    )
    t.done()
    config = DispatchConfig(merge_radius_m=rules.merge_radius_m,
                            merge_window_s=rules.merge_window_min * 60.0)
    return rules, config


def _parse_kpi(root: Table) -> KpiSettings:
    """``[kpi]``: response-time thresholds (minutes) and the utilisation window (minutes from
    the run's start)."""
    t = root.table("kpi")
    raw = t.raw("thresholds_min", list(KpiSettings().thresholds_min))
    if not isinstance(raw, list) or not raw or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and 0 < v <= 24 * 60 for v in raw
    ):
        raise t.error("thresholds_min", "must be a list of minutes, each within 0..1440")
    thresholds = tuple(sorted({float(v) for v in raw}))
    lo = t.number("utilisation_from_min", 0.0, low=0.0)
    hi_raw = t.raw("utilisation_to_min", None)
    hi = None if hi_raw is None else t.number("utilisation_to_min", above=lo)
    t.done()
    return KpiSettings(thresholds, lo, hi)
