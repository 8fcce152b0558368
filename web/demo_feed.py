"""The live demo's alarm feed: joint alarms drawn from the simulator's demand model.

Each day of alarms comes from :func:`simulations.demand.build_demand` (places weighted by
population, the agency, category and priority mixes, and the outcome and service-time chances of
``simulations/README.md``), at the demo's steady rate instead of the county's daily rhythm.
Some incidents get a second alarm from another agency a few minutes later: most lie within the
dispatch core's merge radius (the core joins them to the same callout), the rest a
few hundred metres off (two callouts that the dispatcher, or the demo's dispatcher bot, merges).
The feed is a pure function of the seed and the start time. Alarms carry no free text.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from dispatch.model import (
    AgeBand,
    Agency,
    Category,
    Children,
    OutcomeKind,
    Patient,
    Priority,
    Sex,
)
from maps.graph import RoadGraph
from maps.traveltime import DEFAULT_TIMEZONE
from simulations.demand import EARTH_M_PER_DEG, DemandAlarm, build_demand
from simulations.scenario import Scenario, Service, scenario_from_dict
from web.schemas import AlarmIn, LocationIn, PatientIn

__all__ = ["AlarmFeed", "DemoAlarm"]

#: A second agency's alarm about the same incident comes this many seconds after the first.
JOINT_DELAY_S = (30.0, 240.0)
#: ... this far from the first: near (the core merges by distance) or far (a person merges).
JOINT_NEAR_M = (10.0, 150.0)
JOINT_FAR_M = (450.0, 800.0)
JOINT_FAR_SHARE = 0.35
TIMEZONE = DEFAULT_TIMEZONE
#: The first alarm comes this soon after the start, so a newcomer sees one at once.
LEAD_S = 3.0

_PREFIX = {Agency.POLICE: "POL", Agency.AMBULANCE: "AMB", Agency.PSYCHIATRY: "PSY",
           Agency.OTHER: "OTH"}
_JOINT_AGENCIES = (Agency.AMBULANCE, Agency.POLICE, Agency.PSYCHIATRY)
# Illustrative shares for the patient facts the follow-up counts (not a finding).
_AGES = ((AgeBand.CHILD, 0.07), (AgeBand.YOUNG, 0.2), (AgeBand.ADULT, 0.36),
         (AgeBand.MIDDLE, 0.24), (AgeBand.OLDER, 0.09), (AgeBand.UNKNOWN, 0.04))
_SEXES = ((Sex.FEMALE, 0.48), (Sex.MALE, 0.48), (Sex.UNKNOWN, 0.04))
_CHILDREN = ((Children.YES, 0.25), (Children.NO, 0.55), (Children.UNKNOWN, 0.2))


@dataclass(frozen=True, slots=True)
class DemoAlarm:
    """One alarm the demo's agencies raise, with the incident's chance outcome decided ahead."""

    at: datetime
    agency: Agency
    reference: str
    priority: Priority
    category: Category
    lat: float
    lon: float
    place: str
    incident: int
    patient: Patient
    outcome: OutcomeKind
    on_scene_s: float
    at_facility_s: float
    joint: bool = False  # the second alarm of its incident

    @property
    def alarm_id(self) -> str:
        return f"{self.agency.value}/{self.reference}"

    def payload(self) -> AlarmIn:
        """The alarm as an agency sends it (coordinates only, no note)."""
        return AlarmIn(
            reference=self.reference, location=LocationIn(lat=self.lat, lon=self.lon),
            priority=self.priority, category=self.category,
            patient=PatientIn(age_band=self.patient.age_band, sex=self.patient.sex,
                              children=self.patient.children),
        )


def _pick(rng: np.random.Generator, mix: tuple[tuple[Any, float], ...]) -> Any:
    shares = np.array([s for _, s in mix], dtype=np.float64)
    return mix[int(rng.choice(len(mix), p=shares / shares.sum()))][0]


def offset(lat: float, lon: float, metres: float, bearing: float) -> tuple[float, float]:
    """The point ``metres`` from (lat, lon) towards ``bearing`` (radians from north), to
    six decimals: a scene or a home a little off a place's centre."""
    dlat = metres * math.cos(bearing) / EARTH_M_PER_DEG
    dlon = metres * math.sin(bearing) / (EARTH_M_PER_DEG * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lon + dlon, 6)


def demo_scenario(graph: RoadGraph, *, start: datetime, alarms_per_hour: float,
                  service: Service) -> Scenario:
    """A one-day scenario on ``graph`` whose synthetic demand runs at ``alarms_per_hour``."""
    bases = [f for f in graph.facilities if f.is_a("mae_base")] or list(graph.facilities[:1])
    data: dict[str, Any] = {
        "name": "live demo",
        "start": start.astimezone(ZoneInfo(TIMEZONE)).date(),
        "timezone": TIMEZONE,
        "days": 1,
        "bases": [{"id": f"b{i}", "place": f.name, "lat": f.lat, "lon": f.lon}
                  for i, f in enumerate(bases)],
        "units": [{"id": f"u{i}", "base": f"b{i}", "shifts": [{"start": "00:00", "end": "24:00"}]}
                  for i in range(len(bases))],
        "demand": {"kind": "synthetic", "alarms_per_year": alarms_per_hour * 24 * 365.25,
                   # steady around the clock, so the map is as busy at 3 am as at 7 pm
                   "hour_profile": [1.0] * 24, "weekday_profile": [1.0] * 7},
    }
    return replace(scenario_from_dict(data, graph=graph), service=service)


class AlarmFeed:
    """An endless, seeded stream of :class:`DemoAlarm` from ``start`` on, one day at a time."""

    def __init__(self, graph: RoadGraph, *, start: datetime, seed: int,
                 alarms_per_hour: float, joint_share: float, service: Service) -> None:
        self.graph = graph
        self.start = start
        self.seed = seed
        self.joint_share = joint_share
        self.scenario = demo_scenario(graph, start=start, alarms_per_hour=alarms_per_hour,
                                      service=service)
        self._day = self.scenario.start
        self._chunk = 0
        self._shift: timedelta | None = None
        self._covered = start
        self._heap: list[tuple[datetime, int, DemoAlarm]] = []
        self._refs = 0
        self._incidents = 0
        self._order = 0

    def due(self, now: datetime) -> list[DemoAlarm]:
        """The alarms raised by ``now`` that have not been taken yet, in time order."""
        self._fill(now + timedelta(hours=1))
        out = []
        while self._heap and self._heap[0][0] <= now:
            out.append(heapq.heappop(self._heap)[2])
        return out

    def take(self, n: int) -> list[DemoAlarm]:
        """The next ``n`` alarms whenever they come (for tests and previews)."""
        out: list[DemoAlarm] = []
        for _ in range(10_000):
            if len(out) >= n:
                break
            if not self._heap or self._heap[0][0] > self._covered:
                self._next_chunk()
                continue
            out.append(heapq.heappop(self._heap)[2])
        return out

    def _fill(self, until: datetime) -> None:
        for _ in range(1000):  # a day at a time; the bound only guards a zero rate
            if self._covered >= until:
                return
            self._next_chunk()

    def _next_chunk(self) -> None:
        tz = self.scenario.tz
        day = self._day + timedelta(days=self._chunk)
        scenario = replace(self.scenario, start=day)
        drawn = build_demand(scenario, self.graph, seed=self.seed * 100_003 + self._chunk)
        rng = np.random.default_rng([self.seed, self._chunk, 7])
        self._chunk += 1
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tz)
        for a in drawn:
            if a.received_at < self.start:
                continue
            if self._shift is None:
                self._shift = self.start + timedelta(seconds=LEAD_S) - a.received_at
            self._add(a, rng)
        if self._shift is not None:
            self._covered = end + self._shift
        else:
            self._covered = max(self._covered, end)

    def _push(self, alarm: DemoAlarm) -> None:
        self._order += 1
        heapq.heappush(self._heap, (alarm.at, self._order, alarm))

    def _ref(self, agency: Agency) -> str:
        self._refs += 1
        return f"{_PREFIX[agency]}-{self._refs:06d}"

    def _add(self, a: DemandAlarm, rng: np.random.Generator) -> None:
        assert self._shift is not None and a.outcome is not None
        assert a.on_scene_s is not None and a.at_facility_s is not None
        self._incidents += 1
        patient = Patient(_pick(rng, _AGES), _pick(rng, _SEXES), _pick(rng, _CHILDREN))
        first = DemoAlarm(
            at=a.received_at + self._shift, agency=a.agency, reference=self._ref(a.agency),
            priority=a.priority, category=a.category, lat=a.lat, lon=a.lon, place=a.place,
            incident=self._incidents, patient=patient, outcome=a.outcome,
            on_scene_s=a.on_scene_s, at_facility_s=a.at_facility_s,
        )
        self._push(first)
        if rng.random() >= self.joint_share:
            return
        demand = self.scenario.demand
        mix = tuple((ag, s) for ag, s in getattr(demand, "agency_mix", ())
                    if ag in _JOINT_AGENCIES and ag is not a.agency)
        agency = _pick(rng, mix) if mix else Agency.POLICE
        far = rng.random() < JOINT_FAR_SHARE
        lo, hi = JOINT_FAR_M if far else JOINT_NEAR_M
        lat, lon = offset(a.lat, a.lon, float(rng.uniform(lo, hi)),
                          float(rng.uniform(0, 2 * math.pi)))
        self._push(replace(
            first, at=first.at + timedelta(seconds=float(rng.uniform(*JOINT_DELAY_S))),
            agency=agency, reference=self._ref(agency),
            priority=_pick(rng, getattr(demand, "priority_mix", ())),
            category=_pick(rng, getattr(demand, "category_mix", ())),
            lat=lat, lon=lon, joint=True,
        ))
