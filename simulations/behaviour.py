"""Simulated crews: what a crew does next, and after how long, given its job and the chances.

One model, two drivers. :mod:`simulations.engine` runs it on its event queue; the live demo
(``web/demo_crew.py``) runs it over the service's command API on a scaled clock. A job passes
through the phases of :class:`Phase`; for each, :meth:`CrewModel.wait_s` says how long the crew
takes before it acts and :meth:`CrewModel.act` which commands it then sends and where it drives.
How long a drive takes, and the positions reported along the road, are the driver's: it knows
its roads. Between jobs :func:`visit_act` says what a crew does about its planned follow-up
visits: leave for the next one when the plan has it leave, start it once there and its planned
start has come, finish it after its duration, break it off (not met) when an acute job takes
it. The dispatcher's choice of unit is :func:`simulations.policy.choose_unit` /
:func:`simulations.policy.pick`.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from dispatch.commands import (
    Acknowledge,
    Command,
    FinishVisit,
    MarkVisitNotMet,
    RecordOutcome,
    ReportStatus,
    StartShift,
    StartVisit,
)
from dispatch.fastinit import fast_init
from dispatch.model import CrewMember, Outcome, OutcomeKind
from dispatch.state import Callout, DispatchState, Unit
from dispatch.status import CalloutStatus, UnitStatus
from dispatch.visits import MAX_WINDOW_DAYS, PlannedStop, Visit, VisitStatus
from maps.graph import Facility, haversine_m_pair
from simulations.care import care_outcome
from simulations.errors import SimulationError
from simulations.spec import CARRIER, DEFAULT_OUTCOME_MIX, DemandAlarm, Service
from simulations.travel import Point

__all__ = [
    "AT_BASE_M",
    "Act",
    "Chance",
    "CrewModel",
    "Phase",
    "at_base",
    "draw_chance",
    "nearest_facility",
    "phase_of",
    "transport_facilities",
    "visit_act",
    "visit_next",
]

AT_BASE_M = 200.0  # a unit this close to its base is home


class Phase(enum.Enum):
    """Where a crew is in a job, as far as its next move is concerned."""

    ACKNOWLEDGE = "acknowledge"  # assigned: acknowledge after a short while
    TURN_OUT = "turn_out"  # acknowledged: get going, report EN_ROUTE and drive to the scene
    TO_SCENE = "to_scene"  # driving there: report ON_SCENE on arrival
    ON_SCENE = "on_scene"  # assessing: record the outcome, or take the patient in
    TO_FACILITY = "to_facility"  # transporting: report AT_FACILITY on arrival
    HANDOVER = "handover"  # at the facility: record the outcome after the handover
    RELEASED = "released"  # the job is over (outcome, cancel, merge): go home
    HOMEWARD = "homeward"  # returning: report AVAILABLE on arrival


@fast_init
@dataclass(frozen=True, slots=True)
class Chance:
    """What chance decided for an incident: its outcome and the crew's time on it (seconds)."""

    outcome: OutcomeKind
    on_scene_s: float
    at_facility_s: float

    @classmethod
    def of(cls, alarm: DemandAlarm) -> Chance:
        """The chances drawn for a demand alarm ahead (:func:`simulations.demand.build_demand`)."""
        assert alarm.on_scene_s is not None and alarm.at_facility_s is not None
        return cls(alarm.outcome or OutcomeKind.STAYED_HOME, alarm.on_scene_s,
                   alarm.at_facility_s)


def draw_chance(service: Service, rng: np.random.Generator,
                mix: Sequence[tuple[OutcomeKind, float]] = DEFAULT_OUTCOME_MIX) -> Chance:
    """Chances for an incident nobody drew ahead (a person's alarm in the live demo): the
    outcome from ``mix``, times normal around the service's means, at least a quarter of them."""
    kinds = [k for k, _ in mix]
    shares = np.array([s for _, s in mix])
    kind = kinds[int(rng.choice(len(kinds), p=shares / shares.sum()))]
    on_scene = max(service.on_scene_min / 4,
                   float(rng.normal(service.on_scene_min, service.on_scene_sd_min)))
    at_facility = max(service.at_facility_min / 4,
                      float(rng.normal(service.at_facility_min, service.at_facility_sd_min)))
    return Chance(kind, on_scene * 60.0, at_facility * 60.0)


def at_base(here: Point, home: Point) -> bool:
    """Whether a unit at ``here`` is home (within :data:`AT_BASE_M` of its base)."""
    return haversine_m_pair(here[0], here[1], home[0], home[1]) <= AT_BASE_M


def transport_facilities(facilities: Sequence[Facility], service: Service) -> list[Facility]:
    """Where a crew can take a patient: the facilities of the service's ``transport_to`` kind."""
    return [f for f in facilities if f.is_a(service.transport_to)]


def nearest_facility(facilities: Sequence[Facility], times: Sequence[float]) -> int:
    """The index of the facility reached first, ``times`` being the drives there (ties go by
    name; one that cannot be reached comes last)."""
    return min(range(len(facilities)),
               key=lambda i: (times[i] if math.isfinite(times[i]) else math.inf,
                              facilities[i].name))


def phase_of(unit: Unit, callout: Callout | None, *, idle_away: bool = False) -> Phase | None:
    """The phase the core's state puts a crew in; None when it has nothing to do (off duty, or
    free at base). ``idle_away``: an available unit that is away from base and not driving."""
    status = unit.status
    if status is UnitStatus.OFF_DUTY:
        return None
    if callout is None:
        if status is UnitStatus.RETURNING:
            return Phase.HOMEWARD
        if status is UnitStatus.AVAILABLE:
            return Phase.RELEASED if idle_away else None
        if status.is_busy and status is not UnitStatus.TRANSPORTING:
            return Phase.RELEASED  # released from a job (cancelled, merged, outcome)
        return None
    if callout.status is CalloutStatus.TRANSPORTING:
        return {UnitStatus.TRANSPORTING: Phase.TO_FACILITY,
                UnitStatus.AT_FACILITY: Phase.HANDOVER}.get(status)
    return _BY_CALLOUT.get(callout.status)


_BY_CALLOUT = {
    CalloutStatus.ASSIGNED: Phase.ACKNOWLEDGE,
    CalloutStatus.ACKNOWLEDGED: Phase.TURN_OUT,
    CalloutStatus.EN_ROUTE: Phase.TO_SCENE,
    CalloutStatus.ON_SCENE: Phase.ON_SCENE,
}


@fast_init
@dataclass(frozen=True, slots=True)
class Act:
    """What a crew does at the end of a wait: ``commands`` in order, then it drives to
    ``drive_to`` (if set). ``facility`` is where the patient goes; ``transport`` who carries
    them (``CARRIER``); ``outcome`` is set when the commands close the job."""

    commands: tuple[Command, ...]
    drive_to: Point | None = None
    facility: Facility | None = None
    transport: str = ""
    outcome: Outcome | None = None


@dataclass(frozen=True, slots=True)
class CrewModel:
    """How simulated crews work. The simulator uses the service times as they are; the live
    demo varies acknowledging and turning out by ``jitter`` (a share either way), turns out in
    ``rolling_turnout_s`` when the job reached it on the road, acknowledges within a
    ``1 / ack_margin`` of the time left, and sends a fresh crew ``relief_after_s`` after a shift
    ended (for ``relief_hours``) instead of following a rota."""

    service: Service
    jitter: float = 0.0
    rolling_turnout_s: float | None = None
    ack_margin: float | None = None
    relief_after_s: float | None = None
    relief_hours: float = 12.0

    def _vary(self, seconds: float, rng: np.random.Generator | None) -> float:
        if not self.jitter:
            return seconds
        if rng is None:
            raise SimulationError("a crew model with jitter needs a random generator")
        return float(seconds * rng.uniform(1.0 - self.jitter, 1.0 + self.jitter))

    @property
    def drives_off_at_once(self) -> bool:
        """Whether the crew takes no time to acknowledge nor to turn out (however the job
        reaches it): it then reports EN_ROUTE as the job comes, which acknowledges the
        assignment too (the core's rule: the job's acknowledgement and EN_ROUTE, at the same
        instant, as two reports would log them), so it sends that one report instead of two.
        Jobs given at one instant to several such crews then log each crew's pair together,
        not every acknowledgement first."""
        return (not self.jitter and not self.rolling_turnout_s and self.service.ack_s == 0
                and self.service.turnout_min == 0)

    def wait_s(self, phase: Phase, chance: Chance | None = None,
               rng: np.random.Generator | None = None, *, rolling: bool = False,
               ack_left_s: float | None = None) -> float:
        """Seconds the crew takes in ``phase`` before it acts. Driving phases give 0: the drive
        itself (the driver's road time) is the wait. ``rolling``: the job came while driving;
        ``ack_left_s``: time left before the core's acknowledge deadline."""
        if phase is Phase.ACKNOWLEDGE:
            wait = self._vary(self.service.ack_s, rng)
            if ack_left_s is not None and self.ack_margin:
                wait = min(wait, ack_left_s / self.ack_margin)
            return wait
        if phase is Phase.TURN_OUT:
            if rolling and self.rolling_turnout_s is not None:
                return self.rolling_turnout_s
            return self._vary(self.service.turnout_min * 60.0, rng)
        if phase is Phase.ON_SCENE:
            return _need(chance).on_scene_s
        if phase is Phase.HANDOVER:
            return _need(chance).at_facility_s
        return 0.0

    def act(
        self,
        phase: Phase,
        unit_id: str,
        callout_id: str = "",
        *,
        chance: Chance | None = None,
        scene: Point | None = None,
        facility: Facility | None = None,
        nearest: Callable[[], Facility | None] | None = None,
        here: Point | None = None,
        home: Point | None = None,
    ) -> Act:
        """The commands that end ``phase``. ON_SCENE asks ``nearest()`` for the facility of the
        service's ``transport_to`` kind only when someone carries the patient; RELEASED needs
        ``here`` and ``home``; TURN_OUT the ``scene``; TO_FACILITY and HANDOVER the ``facility``."""
        if phase is Phase.ACKNOWLEDGE:
            return Act((Acknowledge(unit_id, callout_id),))
        if phase is Phase.TURN_OUT:
            assert scene is not None
            return Act((ReportStatus(unit_id, UnitStatus.EN_ROUTE),), drive_to=scene)
        if phase is Phase.TO_SCENE:
            return Act((ReportStatus(unit_id, UnitStatus.ON_SCENE),))
        if phase is Phase.ON_SCENE:
            return self._scene_done(unit_id, callout_id, _need(chance), nearest)
        if phase is Phase.TO_FACILITY:
            assert facility is not None
            return Act((ReportStatus(unit_id, UnitStatus.AT_FACILITY, facility.name),),
                       facility=facility)
        if phase is Phase.HANDOVER:
            assert facility is not None
            kind = _need(chance).outcome
            outcome = care_outcome(callout_id, kind, facility.name)
            return Act((RecordOutcome(unit_id, callout_id, outcome),), facility=facility,
                       transport="mae", outcome=outcome)
        if phase is Phase.RELEASED:
            assert here is not None and home is not None
            if at_base(here, home):
                return Act((ReportStatus(unit_id, UnitStatus.AVAILABLE),))
            return Act((ReportStatus(unit_id, UnitStatus.RETURNING),), drive_to=home)
        return Act((ReportStatus(unit_id, UnitStatus.AVAILABLE),))  # HOMEWARD: arrived

    def _scene_done(self, unit_id: str, callout_id: str, chance: Chance,
                    nearest: Callable[[], Facility | None] | None) -> Act:
        """Close the job on scene (the outcome names the facility when others carry the
        patient), or report TRANSPORTING and drive the patient to the nearest facility."""
        kind = chance.outcome
        carrier = CARRIER.get(kind, "")
        facility = nearest() if carrier and nearest is not None else None
        if facility is None or carrier != "mae":
            outcome = care_outcome(callout_id, kind,
                                   facility.name if facility is not None else "")
            return Act((RecordOutcome(unit_id, callout_id, outcome),), facility=facility,
                       transport=carrier, outcome=outcome)
        return Act((ReportStatus(unit_id, UnitStatus.TRANSPORTING),),
                   drive_to=(facility.lat, facility.lon), facility=facility, transport=carrier)

    def start_shift(self, unit_id: str, crew: tuple[CrewMember | str, ...], *, now: datetime,
                    ends_at: datetime | None = None,
                    off_since: datetime | None = None) -> StartShift | None:
        """The command that puts an off-duty crew on shift now, or None if no shift is due.
        With a rota (``ends_at``) the shift runs to its end unless that has passed; with relief
        crews a new shift starts ``relief_after_s`` after ``off_since``."""
        if ends_at is not None:
            return StartShift(unit_id, crew, ends_at) if ends_at > now else None
        if self.relief_after_s is None or off_since is None:
            return None
        if (now - off_since).total_seconds() < self.relief_after_s:
            return None
        return StartShift(unit_id, crew, now + timedelta(hours=self.relief_hours))


def _need(chance: Chance | None) -> Chance:
    if chance is None:
        raise SimulationError("this phase needs the incident's chances")
    return chance


def visit_act(state: DispatchState, unit_id: str, now: datetime, here: Point) -> Act | None:
    """What the crew of ``unit_id`` at ``here`` does about its planned visits now: an
    :class:`Act` (no commands: wait where it is), or None when its visits ask nothing of it and
    its acute behaviour decides. Acute work comes first: a job taking the unit breaks off the
    visit under way; otherwise a started visit is finished after its duration (after the shift
    too), and the next visit the day plan gives the unit is driven to when the plan has the unit
    leave (at the end of the stop before, or the route's departure) and started once there at
    its planned start. A visit follows the newest day plan that names it."""
    return visit_next(state, unit_id, now, here)[0]


def visit_next(state: DispatchState, unit_id: str, now: datetime, here: Point
               ) -> tuple[Act | None, datetime | None]:
    """:func:`visit_act`, and when its answer next changes with the clock alone (a started
    visit's end, the planned start waited for at the door, the time to leave for the next
    visit); None when only an event can change it. A driver on an event queue (the simulator)
    asks again then; one that polls (the live demo) needs only the act."""
    unit = state.units.get(unit_id)
    if unit is None:
        return None, None
    started = next(iter([v for v in state.visits.values()  # a list is quicker to fill
                         if v.status is VisitStatus.STARTED and v.unit_id == unit_id]), None)
    if unit.callout_id is not None:
        if started is None:
            return None, None
        return Act((MarkVisitNotMet(started.visit_id, unit_id, "taken by an acute callout"),)), \
            None
    if started is not None:
        ends = (started.changed_at or now) + timedelta(seconds=started.duration_s)
        if now >= ends:
            return Act((FinishVisit(started.visit_id, unit_id),)), None
        return Act(()), ends
    if not unit.status.is_free:
        return None, None
    nxt = _next_stop(state, unit_id, now)
    if nxt is None:
        return None, None
    visit, stop, leave = nxt
    place = (visit.location.lat, visit.location.lon)
    if at_base(here, place):
        if now >= stop.start:
            return Act((StartVisit(visit.visit_id, unit_id),)), None
        return Act(()), stop.start
    if now >= leave:
        return Act((), drive_to=place), None
    return None, leave


def _next_stop(state: DispatchState, unit_id: str, now: datetime
               ) -> tuple[Visit, PlannedStop, datetime] | None:
    """The unit's next visit to do (booked, window not over, on its route in the newest plan
    that names it, at a planned start within its window as it is now: a visit moved since is
    not done by the old plan), its stop and when the unit leaves for it; earlier days' plans
    first. A plan older than the longest window cannot hold such a stop: not looked at."""
    oldest = (now - timedelta(days=MAX_WINDOW_DAYS + 3)).date().isoformat()
    named: set[str] = set()  # visits a newer plan names (routed, postponed or unplaced)
    found: tuple[Visit, PlannedStop, datetime] | None = None
    plans = sorted((p for p in state.day_plans.values() if p.day >= oldest),
                   key=lambda p: p.day, reverse=True)
    for plan in plans:
        route = next((r for r in plan.routes if r.unit_id == unit_id), None)
        if route is not None:
            leave = route.depart
            for stop in route.stops:
                visit = state.visits.get(stop.visit_id)
                if visit is None or visit.status is not VisitStatus.BOOKED or \
                        visit.latest_start < now or stop.visit_id in named or \
                        not visit.earliest_start <= stop.start <= visit.latest_start:
                    leave = stop.end
                    continue
                found = (visit, stop, leave)
                break
        for r in plan.routes:
            named.update(s.visit_id for s in r.stops)
        named.update(plan.postponed)
        named.update(plan.unplaced)
    return found
