"""What a run is made of, as plain values: a scenario's parts and the alarms of its demand.

:mod:`simulations.scenario` reads these from TOML and checks them key by key,
:mod:`simulations.demand` draws and :mod:`simulations.alarm_log` reads the alarms; they all
import this module and nothing here imports them, so the three never import each other in a
circle. The defaults that carry a source are explained in ``simulations/README.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from dispatch.commands import DispatchConfig
from dispatch.fastinit import fast_init
from dispatch.model import AgeBand, Agency, Category, OutcomeKind, Priority
from maps.graph import Facility
from simulations.errors import ScenarioError

__all__ = [
    "CARRIER",
    "DEFAULT_AGENCY_MIX",
    "DEFAULT_AGE_MIX",
    "DEFAULT_CATEGORY_MIX",
    "DEFAULT_HOUR_PROFILE",
    "DEFAULT_OUTCOME_MIX",
    "DEFAULT_PRIORITY_MIX",
    "DEFAULT_WEEKDAY_PROFILE",
    "MAX_DAYS",
    "STAYED_HOME",
    "Base",
    "Booking",
    "DemandAlarm",
    "Economics",
    "FollowUpDemand",
    "KpiSettings",
    "MatrixSpec",
    "Policy",
    "ReplayDemand",
    "Roads",
    "Rules",
    "Scenario",
    "Service",
    "Shift",
    "SyntheticDemand",
    "UnitSpec",
    "localize",
    "run_end",
    "run_start",
]


#: Who carries the patient for each outcome that involves going to a facility. Outcomes not
#: listed end at the scene. Voluntary admissions ride with the MAE crew; compulsory care (LPT)
#: is a police matter in Sweden (LPT 47 §, police assistance).
CARRIER: Mapping[OutcomeKind, str] = {
    OutcomeKind.TRANSPORTED_MAE: "mae",
    OutcomeKind.ADMITTED_VOLUNTARY: "mae",
    OutcomeKind.TRANSPORTED_AMBULANCE: "ambulance",
    OutcomeKind.TRANSPORTED_POLICE: "police",
    OutcomeKind.COMPULSORY_CARE: "police",
}

#: Outcomes where the patient stays in their home (with or without a referral): the cases an
#: MAE visit may keep out of inpatient care.
STAYED_HOME = frozenset(
    {
        OutcomeKind.STAYED_HOME,
        OutcomeKind.REFERRED_PRIMARY_CARE,
        OutcomeKind.REFERRED_SOCIAL_SERVICES,
    }
)


@dataclass(frozen=True, slots=True)
class Shift:
    """Working hours starting on some weekdays: ``start_min``..``end_min`` after local midnight
    of the starting day (``end_min`` > 1440 runs past midnight)."""

    start_min: int
    end_min: int
    days: frozenset[int]

    def __post_init__(self) -> None:
        if not 0 <= self.start_min < 1440 or not self.start_min < self.end_min <= 2880:
            raise ScenarioError("shift", f"bad hours {self.start_min}..{self.end_min} min")
        if not self.days or not self.days <= set(range(7)):
            raise ScenarioError("shift.days", "must be weekdays 0..6")

    @property
    def hours(self) -> float:
        return (self.end_min - self.start_min) / 60


@dataclass(frozen=True, slots=True)
class Base:
    """Where units start and return to: a place or facility of the map."""

    id: str
    name: str
    lat: float
    lon: float
    municipality: str = ""


@dataclass(frozen=True, slots=True)
class UnitSpec:
    """One MAE car: its base, its crew's competences and its shifts."""

    id: str
    base: str
    shifts: tuple[Shift, ...]
    crew: tuple[str, ...] = ("nurse", "nurse")


@dataclass(frozen=True, slots=True)
class Roads:
    """Driving conditions: season (winter speed factor) and how the last stretch is driven."""

    season: Literal["winter", "summer", "calendar"] = "calendar"
    winter_factor: float = 0.88
    emergency: bool = False
    offroad_speed_kmh: float = 30.0


@dataclass(frozen=True, slots=True)
class Policy:
    """How the simulated dispatcher chooses, and when MAE gives the job to others."""

    kind: Literal["closest_idle", "coverage_aware"] = "closest_idle"
    max_response_min: float = 90.0
    fallback: Literal["source", "ambulance", "police"] = "source"
    queue: bool = True
    coverage_limit_min: float = 60.0
    coverage_slack_min: float = 10.0


@dataclass(frozen=True, slots=True)
class Service:
    """Times the crews spend: acknowledging, getting going, on scene, handing over."""

    ack_s: float = 30.0
    turnout_min: float = 5.0
    on_scene_min: float = 75.0
    on_scene_sd_min: float = 25.0
    at_facility_min: float = 30.0
    at_facility_sd_min: float = 10.0
    transport_to: str = "psychiatric_emergency"


def _even(n: int) -> tuple[float, ...]:
    return (1.0,) * n


@dataclass(frozen=True, slots=True)
class SyntheticDemand:
    """Alarms drawn in proportion to the population of the map's places."""

    alarms_per_year: float = 1500.0
    hour_profile: tuple[float, ...] = field(default_factory=lambda: _even(24))
    weekday_profile: tuple[float, ...] = field(default_factory=lambda: _even(7))
    agency_mix: tuple[tuple[Agency, float], ...] = ()
    category_mix: tuple[tuple[Category, float], ...] = ()
    priority_mix: tuple[tuple[Priority, float], ...] = ()
    jitter_m: float = 2000.0
    age_mix: tuple[tuple[AgeBand, float], ...] = ()  # empty: every patient's age unknown


@dataclass(frozen=True, slots=True)
class ReplayDemand:
    """Historical alarm logs replayed as they happened (see :mod:`simulations.alarm_log`);
    with several logs, seed ``k`` replays log ``k`` modulo their number."""

    paths: tuple[str, ...]
    logs: tuple[tuple[DemandAlarm, ...], ...]

    @property
    def path(self) -> str:
        return self.paths[0]

    @property
    def alarms(self) -> tuple[DemandAlarm, ...]:
        """The first log's alarms."""
        return self.logs[0]

    def for_seed(self, seed: int) -> tuple[DemandAlarm, ...]:
        """The log seed ``seed`` replays."""
        return self.logs[seed % len(self.logs)]


@dataclass(frozen=True, slots=True)
class MatrixSpec:
    """A region given as nodes and a travel-time matrix (see :mod:`simulations.matrix`)."""

    nodes: str
    matrix: str
    crs: str | None = None
    columns: tuple[tuple[str, str], ...] = ()


#: What a unit driving home does when it is sent to a new callout: go on from where it is
#: along its route, or first snap to the map's nearest node (as node-based models do).
SENT_ON = ("along_route", "nearest_node")


@dataclass(frozen=True, slots=True)
class Rules:
    """Dispatch rules a study may set differently from the live service's defaults:
    automatic merging of alarms (``merge_window_min`` 0 turns it off), the speed of the drive
    home as a factor of the drive out (0.95: 5 % slower without lights and siren), and
    where a unit on its way home starts from when it is sent on (:data:`SENT_ON`)."""

    merge_window_min: float = 15.0
    merge_radius_m: float = 300.0
    return_speed_factor: float = 1.0
    sent_on: Literal["along_route", "nearest_node"] = "along_route"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.return_speed_factor) and self.return_speed_factor > 0):
            raise ScenarioError("dispatch.return_speed_factor", "must be more than 0")


#: Response-time thresholds of the KPIs, minutes (the share attended within each).
DEFAULT_KPI_THRESHOLDS = (8.0, 12.0, 15.0, 30.0, 60.0, 90.0)
#: The longest run a scenario (or ``--days``) asks for: ten years.
MAX_DAYS = 3660


@dataclass(frozen=True, slots=True)
class KpiSettings:
    """How the KPIs are counted: the response-time thresholds (minutes) and the window of
    the run over which utilisation is measured (minutes from its start; None = to the end)."""

    thresholds_min: tuple[float, ...] = DEFAULT_KPI_THRESHOLDS
    utilisation_from_min: float = 0.0
    utilisation_to_min: float | None = None


@dataclass(frozen=True, slots=True)
class Economics:
    """Assumptions of the economic estimate; each is a parameter, none is a finding."""

    bed_year_cost_sek: float = 2_400_000.0
    avoided_admission_share: float = 0.25
    avoided_bed_days: float = 7.0
    team_cost_per_hour_sek: float = 1_600.0


@dataclass(frozen=True, slots=True)
class Booking:
    """One visit of a booking CSV (``[followups] csv``): booked at ``booked_at`` by psychiatry
    (a pseudonymous ``patient_ref``), with its place, window, duration and needs;
    ``postpone_cost_min`` None: it may not be postponed."""

    patient_ref: str
    booked_at: datetime | None
    earliest_start: datetime
    latest_start: datetime
    lat: float
    lon: float
    place: str
    duration_min: float
    doctor: bool = False
    staff: int = 1
    postpone_cost_min: float | None = None


@dataclass(frozen=True, slots=True)
class FollowUpDemand:
    """Follow-up visits the acute work leads to (``[followups]``; none without the table).

    A share of the incidents an MAE unit attends books a visit ``after_days`` later, its start
    window opening at ``window_start_hour`` local time and lasting ``window_hours``; some need
    a doctor; some may be postponed at ``postpone_cost_min`` of driving. Each day is planned at
    ``plan_hour`` (``routing.plan``, ``plan_limit_s``) and re-planned when an acute callout
    takes a unit with visits left (``routing.replan``, ``replan_limit_s``). ``bookings`` come
    from a booking CSV, beside (or, with ``share`` 0, instead of) the share."""

    share: float = 0.3
    after_days: int = 1
    window_start_hour: float = 14.0
    window_hours: float = 6.0
    duration_min: float = 45.0
    doctor_share: float = 0.0
    postponable_share: float = 0.5
    postpone_cost_min: float = 60.0
    plan_hour: float = 7.0
    plan_limit_s: float = 0.2
    replan_limit_s: float = 0.1
    bookings: tuple[Booking, ...] = ()


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything one simulated run needs; built by :func:`load_scenario`."""

    name: str
    start: date
    days: int
    timezone: str
    bases: tuple[Base, ...]
    units: tuple[UnitSpec, ...]
    demand: SyntheticDemand | ReplayDemand
    outcome_mix: tuple[tuple[OutcomeKind, float], ...]
    description: str = ""
    map_path: str | None = None
    roads: Roads = Roads()
    policy: Policy = Policy()
    service: Service = Service()
    economics: Economics = Economics()
    dispatch: DispatchConfig = field(default_factory=DispatchConfig)
    source: str = ""
    matrix: MatrixSpec | None = None
    facilities: tuple[Facility, ...] = ()
    rules: Rules = Rules()
    kpi: KpiSettings = KpiSettings()
    followups: FollowUpDemand | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def base(self, base_id: str) -> Base:
        for b in self.bases:
            if b.id == base_id:
                return b
        raise ScenarioError("units.base", f"unknown base {base_id!r}")


# -- defaults that carry a source (see simulations/README.md) ------------------------------

#: Outcome shares: the "stayed home" share follows the reported figures (Stockholm PAM 2019:
#: over 40 % stayed home; Norrbotten MAE about 44 %); the split of the rest is an assumption.
DEFAULT_OUTCOME_MIX: tuple[tuple[OutcomeKind, float], ...] = (
    (OutcomeKind.STAYED_HOME, 0.38),
    (OutcomeKind.REFERRED_PRIMARY_CARE, 0.03),
    (OutcomeKind.REFERRED_SOCIAL_SERVICES, 0.03),
    (OutcomeKind.TRANSPORTED_MAE, 0.22),
    (OutcomeKind.ADMITTED_VOLUNTARY, 0.08),
    (OutcomeKind.COMPULSORY_CARE, 0.04),
    (OutcomeKind.TRANSPORTED_AMBULANCE, 0.06),
    (OutcomeKind.TRANSPORTED_POLICE, 0.04),
    (OutcomeKind.NO_PATIENT_CONTACT, 0.12),
)
DEFAULT_AGENCY_MIX = (
    (Agency.AMBULANCE, 0.40), (Agency.POLICE, 0.35), (Agency.PSYCHIATRY, 0.20),
    (Agency.OTHER, 0.05),
)
DEFAULT_CATEGORY_MIX = (
    (Category.SUICIDE_RISK, 0.40), (Category.PSYCHOSIS, 0.15), (Category.AGITATION, 0.12),
    (Category.INTOXICATION, 0.10), (Category.WORRIED_RELATIVE, 0.15), (Category.OTHER, 0.08),
)
#: Patients by age band (current bands only; an assumption, see simulations/README.md): the
#: monthly statistics count them, the dispatch does not depend on them.
DEFAULT_AGE_MIX = (
    (AgeBand.CHILD, 0.07), (AgeBand.YOUNG, 0.20), (AgeBand.ADULT, 0.36),
    (AgeBand.MIDDLE, 0.24), (AgeBand.OLDER, 0.09), (AgeBand.UNKNOWN, 0.04),
)
DEFAULT_PRIORITY_MIX = (
    (Priority.ACUTE, 0.35), (Priority.URGENT, 0.50), (Priority.NON_URGENT, 0.15),
)
#: Alarms by local hour: low at night, rising through the afternoon to an evening peak.
DEFAULT_HOUR_PROFILE = (
    0.6, 0.5, 0.4, 0.3, 0.3, 0.3, 0.4, 0.6, 0.8, 0.9, 1.0, 1.1,
    1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.8, 1.7, 1.5, 1.2, 0.9,
)
DEFAULT_WEEKDAY_PROFILE = (1.0, 0.95, 0.95, 1.0, 1.1, 1.15, 1.1)


@fast_init
@dataclass(frozen=True, slots=True)
class DemandAlarm:
    """One alarm of the demand, with the chance outcomes decided ahead."""

    reference: str
    received_at: datetime
    agency: Agency
    priority: Priority
    category: Category
    lat: float
    lon: float
    municipality: str = ""
    place: str = ""
    outcome: OutcomeKind | None = None
    on_scene_s: float | None = None
    at_facility_s: float | None = None
    age_band: AgeBand = AgeBand.UNKNOWN

    def __post_init__(self) -> None:
        if self.received_at.tzinfo is None:
            raise ScenarioError("received_at", "must be timezone-aware")


def localize(t: datetime, tz: ZoneInfo) -> datetime:
    """``t`` in ``tz`` when it has no offset of its own; ValueError for a wall time the clocks
    skip (02:30 on the last Sunday of March in Sweden), which would be silently moved, and for
    one they pass twice (02:30 on the last Sunday of October), which would silently be the
    first of the two."""
    if t.tzinfo is not None:
        return t
    local = t.replace(tzinfo=tz)
    if local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != t:
        raise ValueError(f"{t.isoformat()} does not exist in {tz.key} (the clocks skip it at "
                         "the change to summer time): give the time with its offset")
    if local.utcoffset() != t.replace(tzinfo=tz, fold=1).utcoffset():
        raise ValueError(f"{t.isoformat()} happens twice in {tz.key} (the clocks go back at "
                         "the change to winter time): give the time with its offset "
                         f"({_hours(local)} the first time, {_hours(local, 1)} the second)")
    return local


def _hours(local: datetime, fold: int = 0) -> str:
    """The UTC offset of ``local`` (at ``fold``) as ``+HH:MM``."""
    offset = local.replace(fold=fold).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def run_start(scenario: Scenario) -> datetime:
    """The instant a run starts: local midnight of ``scenario.start``, in UTC."""
    return datetime.combine(scenario.start, time(0), scenario.tz).astimezone(UTC)


def run_end(scenario: Scenario) -> datetime:
    """The instant a run ends: local midnight after its last day, in UTC."""
    end_day = scenario.start + timedelta(days=scenario.days)
    return datetime.combine(end_day, time(0), scenario.tz).astimezone(UTC)
