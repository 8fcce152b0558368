"""Demand: the alarms a run replays, drawn from the population or read from a log.

Each :class:`DemandAlarm` carries everything chance decides about it (place, agency, category,
priority, outcome, minutes on scene and at the facility), drawn once per alarm from streams of
its own. Two scenarios run with the same seed therefore meet the very same alarms with the very
same outcomes, so their difference is the policy and staffing, not luck (common random numbers).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Protocol

import numpy as np

from dispatch.model import AgeBand
from maps.graph import Place, haversine_m
from simulations.spec import DemandAlarm, Scenario, Service, SyntheticDemand, run_start

__all__ = [
    "DemandAlarm",
    "build_demand",
    "nearest_municipality",
    "run_start",
    "synthesize",
]

EARTH_M_PER_DEG = 111_320.0


def nearest_municipality(places: Sequence[Place], lat: float, lon: float) -> tuple[str, str]:
    """The municipality and name of the populated place nearest to ``(lat, lon)``."""
    best = ("", "")
    best_d = math.inf
    for p in places:
        if p.population <= 0:
            continue
        d = float(haversine_m(lat, lon, p.lat, p.lon))
        if d < best_d:
            best_d, best = d, (p.municipality, p.name)
    return best


def _draw(rng: np.random.Generator, mix: Sequence[tuple[object, float]], n: int) -> list[int]:
    shares = np.array([s for _, s in mix], dtype=np.float64)
    picks: list[int] = rng.choice(len(mix), size=n, p=shares / shares.sum()).tolist()
    return picks


def _durations(rng: np.random.Generator, mean_min: float, sd_min: float, n: int) -> np.ndarray:
    """Gamma-distributed durations in seconds with the given mean and spread (fixed if sd 0)."""
    if sd_min <= 0 or mean_min <= 0:
        return np.full(n, mean_min * 60.0)
    shape = (mean_min / sd_min) ** 2
    return rng.gamma(shape, mean_min / shape, size=n) * 60.0


class _HasPlaces(Protocol):
    @property
    def places(self) -> Sequence[Place]: ...


def synthesize(scenario: Scenario, graph: _HasPlaces, *, seed: int) -> list[DemandAlarm]:
    """Alarms over the scenario's days, in proportion to population, with the time-of-day and
    weekday profiles and the agency, category, priority and patient age mixes."""
    demand = scenario.demand
    assert isinstance(demand, SyntheticDemand)
    tz = scenario.tz
    t_rng = np.random.default_rng([seed, 1])
    a_rng = np.random.default_rng([seed, 2])
    places = [p for p in graph.places if p.population > 0]
    pop = np.array([p.population for p in places], dtype=np.float64)
    hours = np.array(demand.hour_profile) / np.mean(demand.hour_profile)
    wdays = np.array(demand.weekday_profile) / np.mean(demand.weekday_profile)
    per_hour = demand.alarms_per_year / (365.25 * 24)

    starts: list[datetime] = []
    for d in range(scenario.days):
        day = scenario.start + timedelta(days=d)
        midnight = datetime.combine(day, time(0), tz)
        for h in range(24):
            rate = per_hour * hours[h] * wdays[day.weekday()]
            k = int(t_rng.poisson(rate))
            if not k:
                continue
            hour_start = (midnight + timedelta(hours=h)).astimezone(UTC)
            for u in sorted(t_rng.random(k).tolist()):
                starts.append(hour_start + timedelta(seconds=round(u * 3600.0, 3)))
    starts.sort()
    n = len(starts)
    which = a_rng.choice(len(places), size=n, p=pop / pop.sum()).tolist() if n else []
    agencies = _draw(a_rng, demand.agency_mix, n)
    categories = _draw(a_rng, demand.category_mix, n)
    priorities = _draw(a_rng, demand.priority_mix, n)
    # ages from a stream of their own: the draws above stay the same with or without them
    ages = _draw(np.random.default_rng([seed, 5]), demand.age_mix, n) if demand.age_mix else []
    angle = a_rng.random(n) * 2 * math.pi
    radius = np.sqrt(a_rng.random(n)) * demand.jitter_m
    scale = np.sqrt(pop / pop.max()) if len(pop) else pop
    out = []
    for i, at in enumerate(starts):
        p = places[which[i]]
        r = float(radius[i] * scale[which[i]])
        lat = p.lat + r * math.cos(angle[i]) / EARTH_M_PER_DEG
        lon = p.lon + r * math.sin(angle[i]) / (EARTH_M_PER_DEG * math.cos(math.radians(p.lat)))
        out.append(DemandAlarm(
            reference=f"S{i + 1:06d}",
            received_at=at,
            agency=demand.agency_mix[agencies[i]][0],
            priority=demand.priority_mix[priorities[i]][0],
            category=demand.category_mix[categories[i]][0],
            lat=round(lat, 6),
            lon=round(lon, 6),
            municipality=p.municipality,
            place=p.name,
            age_band=demand.age_mix[ages[i]][0] if ages else AgeBand.UNKNOWN,
        ))
    return out


def _decide_chance(alarms: list[DemandAlarm], scenario: Scenario, *, seed: int) -> list[
    DemandAlarm
]:
    """Fill in each alarm's outcome and service times where the log did not give them."""
    o_rng = np.random.default_rng([seed, 3])
    s_rng = np.random.default_rng([seed, 4])
    n = len(alarms)
    sv: Service = scenario.service
    outcomes = _draw(o_rng, scenario.outcome_mix, n)
    on_scene = _durations(s_rng, sv.on_scene_min, sv.on_scene_sd_min, n)
    at_fac = _durations(s_rng, sv.at_facility_min, sv.at_facility_sd_min, n)
    out = []
    for i, a in enumerate(alarms):
        out.append(DemandAlarm(
            reference=a.reference, received_at=a.received_at, agency=a.agency,
            priority=a.priority, category=a.category, lat=a.lat, lon=a.lon,
            municipality=a.municipality, place=a.place,
            outcome=a.outcome if a.outcome is not None else scenario.outcome_mix[outcomes[i]][0],
            on_scene_s=a.on_scene_s if a.on_scene_s is not None else float(on_scene[i]),
            at_facility_s=a.at_facility_s if a.at_facility_s is not None else float(at_fac[i]),
            age_band=a.age_band,
        ))
    return out


def build_demand(scenario: Scenario, graph: _HasPlaces, *, seed: int) -> list[DemandAlarm]:
    """The run's alarms in time order, every chance outcome decided (deterministic per seed);
    a replay with several logs replays log ``seed`` modulo their number."""
    if isinstance(scenario.demand, SyntheticDemand):
        alarms = synthesize(scenario, graph, seed=seed)
    else:
        alarms = sorted(scenario.demand.for_seed(seed),
                        key=lambda a: (a.received_at, a.reference))
    return _decide_chance(alarms, scenario, seed=seed)
