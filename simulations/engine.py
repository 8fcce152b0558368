"""The discrete-event simulator: demand replayed through the live dispatch core.

Alarms become :class:`~dispatch.commands.ReceiveAlarm` commands, the policy picks a unit and
issues :class:`~dispatch.commands.Assign`, and the simulated crews follow the behaviour model of
:mod:`simulations.behaviour` (acknowledge, turn out, drive with times from :mod:`routing`, work
on scene, record the outcome drawn for the alarm or take the patient in, drive home); shifts
start with StartShift and end through Tick.
Every command goes through :func:`dispatch.commands.decide` and every event is applied to a
:class:`~dispatch.state.DispatchState` as the live shell does, on a :class:`SimulatedClock`
advanced by a heap of timed events; the crews' position reports reach the state as the live
service's do by default, through ``DispatchState.note_position`` and not the event log
(``log_positions`` logs them as events, as a service run with ``MAE_POSITIONS_TABLE=false``
does: for a log replayed on the dispatcher map). A run is a pure function of the scenario and
the seed.
"""

from __future__ import annotations

import heapq
import logging
import math
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cached_property
from typing import Any

from dispatch.commands import (
    Assign,
    CancelCallout,
    Command,
    Decision,
    ReceiveAlarm,
    RegisterUnit,
    ReportPosition,
    Tick,
    decide,
)
from dispatch.events import Envelope, Event, ShiftEnded, ShiftStarted
from dispatch.fastinit import fast_init
from dispatch.model import Agency, Alarm, Location, Patient
from dispatch.state import DispatchState
from dispatch.status import UnitStatus
from maps.graph import Facility
from simulations.behaviour import (
    Act,
    Chance,
    CrewModel,
    Phase,
    nearest_facility,
    transport_facilities,
)
from simulations.clock import SimulatedClock
from simulations.demand import DemandAlarm, build_demand, run_start
from simulations.errors import SimulationError
from simulations.followups import FollowUpDesk, VisitRecord
from simulations.policy import choose_unit
from simulations.scenario import Base, Scenario, UnitSpec
from simulations.staffing import crew_of
from simulations.terrain import Terrain, all_facilities, load_terrain, travel_source
from simulations.travel import Point, TravelSource

__all__ = ["CalloutRecord", "RunResult", "shift_intervals", "simulate"]

logger = logging.getLogger(__name__)


@fast_init
@dataclass(frozen=True, slots=True)
class CalloutRecord:
    """What happened to one incident (its first alarm and any merged into it)."""

    callout_id: str
    reference: str
    alarm_s: float
    municipality: str
    priority: int
    agency: str
    handled_by: str  # "mae", "ambulance" or "police"
    fallback_reason: str = ""  # "off_duty", "too_far", "busy" when MAE did not go
    unit_id: str = ""
    assigned_s: float | None = None
    on_scene_s: float | None = None
    done_s: float | None = None
    travel_s: float | None = None
    outcome: str = ""
    transport: str = ""  # who carried the patient: "mae", "ambulance", "police" or ""
    facility: str = ""
    merged_alarms: int = 0
    queued: bool = False  # waited for a unit to free up or a shift to start

    @property
    def response_s(self) -> float | None:
        """Alarm to MAE on scene, seconds."""
        return None if self.on_scene_s is None else self.on_scene_s - self.alarm_s

    @property
    def wait_s(self) -> float | None:
        """Alarm to a unit assigned, seconds."""
        return None if self.assigned_s is None else self.assigned_s - self.alarm_s


@dataclass(frozen=True, slots=True)
class RunResult:
    """One scenario run with one seed: every callout, when units were busy and on duty."""

    scenario: str
    seed: int
    start: datetime
    timezone: str
    days: int
    records: tuple[CalloutRecord, ...]
    busy: tuple[tuple[str, float, float], ...]
    on_duty: tuple[tuple[str, float, float], ...]
    events: int
    alarms: int
    scheduled: tuple[tuple[str, float, float], ...] = ()
    log: tuple[Envelope, ...] | None = None
    visits: tuple[VisitRecord, ...] = ()
    visit_drive_s: float = 0.0

    @property
    def end_s(self) -> float:
        return self.days * 86_400.0


@dataclass
class _Job:
    callout_id: str
    alarm: DemandAlarm
    alarm_s: float
    unit_id: str = ""
    assigned_s: float | None = None
    on_scene_s: float | None = None
    done_s: float | None = None
    travel_s: float | None = None
    handled_by: str = ""
    fallback_reason: str = ""
    transport: str = ""
    facility: str = ""
    merged: int = 0
    queued: bool = False
    #: Why it waits in the queue (its fallback reason if its time runs out there): all units
    #: busy, none on duty (a shift starts before the limit), or those on duty too far.
    queued_for: str = ""

    @cached_property
    def chance(self) -> Chance:
        return Chance.of(self.alarm)

    @property
    def scene(self) -> Point:
        return (self.alarm.lat, self.alarm.lon)


@dataclass
class _Crew:
    spec: UnitSpec
    base: Base
    token: int = 0
    leg: tuple[Point, Point, float, float] | None = None
    leg_line: tuple[Point, ...] | None = None
    job: _Job | None = None
    pending_end_s: float | None = None
    duty_since: float | None = None

    @property
    def home(self) -> Point:
        return (self.base.lat, self.base.lon)


#: What the event queue holds: (time s, sequence number, kind, arguments). Plain tuples, so
#: the heap compares them in C; the unique sequence number keeps equal times in push order.
_Timed = tuple[float, int, str, tuple[Any, ...]]


def shift_intervals(scenario: Scenario, spec: UnitSpec) -> list[tuple[float, float]]:
    """The unit's working intervals in run seconds, back-to-back shifts joined into one."""
    t0 = run_start(scenario)
    tz = scenario.tz
    spans = []
    for d in range(scenario.days):
        day = scenario.start + timedelta(days=d)
        midnight = datetime.combine(day, time(0), tz)
        for s in spec.shifts:
            if day.weekday() in s.days:
                on = (midnight + timedelta(minutes=s.start_min)).astimezone(t0.tzinfo)
                off = (midnight + timedelta(minutes=s.end_min)).astimezone(t0.tzinfo)
                spans.append(((on - t0).total_seconds(), (off - t0).total_seconds()))
    spans.sort()
    joined: list[tuple[float, float]] = []
    for a, b in spans:
        if joined and a <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], b))
        else:
            joined.append((a, b))
    return joined


#: The events whose fold the simulator follows for the crews' time on duty.
_SHIFT_EVENTS = frozenset({ShiftStarted, ShiftEnded})

#: With ``log_positions``, a crew on the road reports where it is this often (simulated
#: seconds), as a phone does: a replay shows the car move along its road instead of jumping
#: from its base to the scene an hour later.
ON_ROAD_EVERY_S = 300.0

#: A drive whose positions are reported: from, to, start and end (simulated s), the crew's
#: token when it set off (another job or drive since makes it stale), its road once known.
_Drive = tuple[Point, Point, float, float, int, "tuple[Point, ...] | None"]


class _Sim:
    def __init__(self, scenario: Scenario, graph: Terrain, seed: int, keep_log: bool,
                 roads: TravelSource | None = None, *, log_positions: bool = False) -> None:
        self.sc = scenario
        self.log_positions = log_positions
        self.graph = graph
        self.seed = seed
        self.clock = SimulatedClock(run_start(scenario))
        self.state = DispatchState.unshared()
        self.log: list[Envelope] | None = [] if keep_log else None
        self.n_events = 0
        self.roads = roads if roads is not None else travel_source(graph, scenario.roads,
                                                                   scenario.timezone)
        self.heap: list[_Timed] = []
        self.seq = 0
        self.jobs: dict[str, _Job] = {}
        self.records: list[_Job] = []
        self.waiting: dict[str, _Job] = {}
        self.busy: list[tuple[str, float, float]] = []
        self.on_duty: list[tuple[str, float, float]] = []
        self.scheduled: list[tuple[str, float, float]] = []
        self.crews: dict[str, _Crew] = {}
        self.model = CrewModel(scenario.service)
        self.limit_s = scenario.policy.max_response_min * 60.0
        self.reach_extra_s = scenario.service.ack_s + scenario.service.turnout_min * 60.0
        self.places = [p for p in graph.places if p.population > 0]
        self.facilities = transport_facilities(all_facilities(graph, scenario),
                                               scenario.service)
        self.return_factor = scenario.rules.return_speed_factor
        self.snap_sent_on = scenario.rules.sent_on == "nearest_node"
        if not self.facilities:
            raise SimulationError(f"no {scenario.service.transport_to} facility on the map")
        self.shift_starts: list[float] = []
        self.alarms = 0
        #: The positions reported so far, as the core's locations (see report_position).
        self.places_seen: dict[tuple[Point, str], Location] = {}
        self.patients: dict[Any, Patient] = {}  # one per age band
        #: Follow-up visits (simulations/followups.py) when the scenario has ``[followups]``.
        self.followups = FollowUpDesk(self, scenario.followups, scenario, seed) \
            if scenario.followups is not None else None

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def now_s(self) -> float:
        return self.clock.seconds

    def push(self, t: float, kind: str, *args: Any) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, args))

    def do(self, command: Command, actor: str = "system") -> Decision:
        """The core as the live shell drives it: decide, log, apply."""
        state, log = self.state, self.log
        decision = decide(state, command, now=self.clock.now(), actor=actor,
                          config=self.sc.dispatch)
        events = decision.events
        for event in events:
            env = Envelope.make(state.last_seq + 1, event)
            if log is not None:
                log.append(env)
            state.apply(env)
            if type(event) in _SHIFT_EVENTS:
                self.on_shift_event(event)
        self.n_events += len(events)
        return decision

    def on_shift_event(self, event: Event) -> None:
        """Keep the crews' time on duty as their shifts start and end."""
        if isinstance(event, ShiftStarted):
            self.crews[event.unit_id].duty_since = self.now_s
        elif isinstance(event, ShiftEnded):
            crew = self.crews[event.unit_id]
            if crew.duty_since is not None:
                self.on_duty.append((event.unit_id, crew.duty_since, self.now_s))
            crew.duty_since = None

    def position(self, crew: _Crew, *, node: bool = False) -> Point:
        """Where the crew is now: its last report, or along its drive home (with ``node``,
        the map node nearest to that point)."""
        if crew.leg is None:
            pos = self.state.units[crew.spec.id].position
            here = (pos.lat, pos.lon)
            return self.roads.nearest_node(here) if node else here
        a, b, t0, t1 = crew.leg
        if crew.leg_line is None:
            crew.leg_line = self.roads.geometry(a, b, self.clock.at(t0))
        f = 1.0 if t1 <= t0 else (self.now_s - t0) / (t1 - t0)
        if node:
            return self.roads.node_along(crew.leg_line, f)
        return self.roads.along(crew.leg_line, f)

    def drive(self, crew: _Crew, b: Point, duration_s: float, *, start: Point | None = None
              ) -> None:
        """With ``log_positions``, the crew now setting off from ``start`` (where it is, if not
        given) to ``b`` reports its position along the road every :data:`ON_ROAD_EVERY_S`
        until it is there (where its arrival reports it). Nothing else reads these reports:
        the run is the same, and without ``log_positions`` this costs nothing."""
        if self.log_positions and duration_s > ON_ROAD_EVERY_S:
            a = self.position(crew) if start is None else start
            self.push(self.now_s + ON_ROAD_EVERY_S, "on_road", crew.spec.id,
                      (a, b, self.now_s, self.now_s + duration_s, crew.token, None))

    def on_road(self, unit_id: str, drive: _Drive) -> None:
        a, b, t0, t1, token, line = drive
        crew = self.crews[unit_id]
        if token != crew.token:
            return  # sent elsewhere since
        if line is None:
            line = self.roads.geometry(a, b, self.clock.at(t0))
        self.report_position(crew, self.roads.along(line, (self.now_s - t0) / (t1 - t0)))
        if self.now_s + ON_ROAD_EVERY_S < t1:
            self.push(self.now_s + ON_ROAD_EVERY_S, "on_road", unit_id,
                      (a, b, t0, t1, token, line))

    def location(self, p: Point, label: str) -> Location:
        """``Location(*p, label=label)``, one per point and label: bases, scenes, facilities
        and matrix nodes recur, and a location is immutable."""
        key = (p, label)
        found = self.places_seen.get(key)
        if found is None:
            found = self.places_seen[key] = Location(p[0], p[1], label=label)
        return found

    def report_position(self, crew: _Crew, p: Point, label: str = "") -> None:
        """The crew's phone reports where it is. As in the live service with its positions
        table (``web/positions.py``, the default), the report stays out of the event log and
        reaches the state through :meth:`DispatchState.note_position`, so the policy starts
        from it and a replay of the log alone places units at their last logged position;
        with ``log_positions`` it is a logged ``ReportPosition``, as in a service run with
        ``MAE_POSITIONS_TABLE=false``. The state is the same either way."""
        where = self.location(p, label)
        if self.log_positions:
            self.do(ReportPosition(crew.spec.id, where), actor=crew.spec.id)
        else:
            self.state.note_position(crew.spec.id, where, self.clock.now())

    # -- setup ------------------------------------------------------------------------------

    def setup(self, demand: list[DemandAlarm]) -> None:
        t0 = self.clock.start
        for spec in self.sc.units:
            base = self.sc.base(spec.base)
            self.crews[spec.id] = _Crew(spec, base)
            self.do(RegisterUnit(spec.id, f"MAE {base.name}", base.name,
                                 Location(base.lat, base.lon, label=base.name)))
            for a, b in shift_intervals(self.sc, spec):
                self.push(a, "shift_start", spec.id, b)
                self.push(b, "shift_end", spec.id)
                self.scheduled.append((spec.id, a, b))
                self.shift_starts.append(a)
        self.shift_starts.sort()
        fixed = [(b.lat, b.lon) for b in self.sc.bases] + [(f.lat, f.lon) for f in self.facilities]
        servable = [a for a in demand if self._may_serve((a.received_at - t0).total_seconds())]
        self.roads.register(fixed, [(a.lat, a.lon) for a in servable],
                            at=[a.received_at for a in servable])
        for i, alarm in enumerate(demand):
            self.push((alarm.received_at - t0).total_seconds(), "alarm", i, alarm)
        if self.followups is not None:
            self.followups.setup()

    def run(self) -> None:
        handlers: dict[str, Callable[..., None]] = {
            "alarm": self.on_alarm, "shift_start": self.on_shift_start,
            "shift_end": self.on_shift_end, "ack": self.on_ack, "depart": self.on_depart,
            "arrive": self.on_arrive, "scene_done": self.on_scene_done,
            "at_facility": self.on_at_facility, "handover_done": self.on_handover_done,
            "home": self.on_home, "deadline": self.on_deadline, "on_road": self.on_road,
            **(self.followups.handlers() if self.followups is not None else {}),
        }
        heap, clock, pop = self.heap, self.clock, heapq.heappop
        while heap:
            t, _, kind, args = pop(heap)
            if not t <= clock.seconds:  # a later instant (a NaN time raises there)
                clock.advance_to(t)
            handlers[kind](*args)

    # -- shifts -----------------------------------------------------------------------------

    def on_shift_start(self, unit_id: str, end_s: float) -> None:
        crew = self.crews[unit_id]
        if self.state.units[unit_id].status is not UnitStatus.OFF_DUTY:
            crew.pending_end_s = end_s  # still on a job from the last shift: start when free
            return
        self.start_shift(crew, end_s)
        self.serve_queue()

    def on_shift_end(self, unit_id: str) -> None:
        self.do(Tick())

    def start_shift(self, crew: _Crew, end_s: float) -> None:
        command = self.model.start_shift(crew.spec.id, crew_of(crew.spec), now=self.clock.now(),
                                         ends_at=self.clock.at(end_s))
        if command is not None:
            self.do(command, actor=crew.spec.id)
            if self.followups is not None:
                self.followups.follow(crew.spec.id)  # a visit may be due from the start

    def after_off_duty(self, crew: _Crew) -> None:
        end = crew.pending_end_s
        if end is not None and self.state.units[crew.spec.id].status is UnitStatus.OFF_DUTY:
            crew.pending_end_s = None
            self.start_shift(crew, end)

    # -- alarms and dispatch ----------------------------------------------------------------

    def on_alarm(self, index: int, a: DemandAlarm) -> None:
        self.alarms += 1
        patient = self.patients.get(a.age_band)
        if patient is None:
            patient = self.patients[a.age_band] = Patient(age_band=a.age_band)
        alarm = Alarm(
            agency=a.agency, reference=a.reference, received_at=self.clock.now(),
            location=self.location((a.lat, a.lon), a.place), priority=a.priority,
            category=a.category, patient=patient,
        )
        decision = self.do(ReceiveAlarm(alarm), actor=a.agency.value)
        cid = decision.callout_id
        assert cid is not None
        if decision.duplicate or cid in self.jobs:
            job = self.jobs.get(cid)
            if job is not None:
                job.merged += 1
            return
        job = _Job(cid, a, self.now_s)
        self.jobs[cid] = job
        self.records.append(job)
        if all(u.status is UnitStatus.OFF_DUTY for u in self.state.units.values()) and not (
            self.sc.policy.queue and self._shift_starts_before(self.now_s + self.limit_s)
        ):
            self.fallback(job, "off_duty")
            return
        if self.try_dispatch(job):
            return
        busy = any(u.status.is_busy for u in self.state.units.values())
        on_duty = any(u.status is not UnitStatus.OFF_DUTY for u in self.state.units.values())
        reason = "busy" if busy else "too_far" if on_duty else "off_duty"
        if self.sc.policy.queue and (
            busy or self._shift_starts_before(self.now_s + self.limit_s)
        ):
            self.waiting[cid] = job
            job.queued, job.queued_for = True, reason
            self.push(self.now_s + self.limit_s, "deadline", cid)
        else:
            self.fallback(job, reason)

    def _may_serve(self, t: float) -> bool:
        """Whether an alarm at ``t`` could get a unit: within a shift, or (when calls queue)
        waiting for one that starts within the response limit. The others fall back at once,
        so their scenes need no prepared drives; were one driven to, its times would be asked
        then."""
        windows = self._windows
        i = bisect_right(windows, (t, math.inf))
        return i > 0 and windows[i - 1][1] >= t

    @cached_property
    def _windows(self) -> list[tuple[float, float]]:
        """The shifts, each from the response limit before it starts (when calls queue) to
        its end, merged."""
        lead = self.limit_s if self.sc.policy.queue else 0.0
        merged: list[tuple[float, float]] = []
        for a, b in sorted((a - lead, b) for _, a, b in self.scheduled):
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        return merged

    def _shift_starts_before(self, t: float) -> bool:
        i = bisect_right(self.shift_starts, self.now_s)
        return i < len(self.shift_starts) and self.shift_starts[i] < t

    def fallback(self, job: _Job, reason: str) -> None:
        """No MAE unit can come in time: the ambulance or police handle it alone."""
        choice = self.sc.policy.fallback
        if choice == "source":
            agency = job.alarm.agency
            handler = "police" if agency is Agency.POLICE else "ambulance"
        else:
            handler = choice
        job.handled_by = handler
        job.fallback_reason = reason
        self.waiting.pop(job.callout_id, None)
        self.do(CancelCallout(job.callout_id, reason=f"handled by {handler} alone ({reason})"),
                actor="dispatcher")

    def on_deadline(self, callout_id: str) -> None:
        job = self.waiting.get(callout_id)
        if job is not None:  # waited in vain: for the reason it queued (no unit on duty ...)
            self.fallback(job, job.queued_for)

    def try_dispatch(self, job: _Job) -> bool:
        now = self.clock.now()
        budget = self.limit_s - (self.now_s - job.alarm_s) - self.reach_extra_s
        if budget < 0:
            return False
        candidates = [
            u for u in self.state.units.values()
            if u.status.is_free and u.callout_id is None
            and u.shift_ends_at is not None and u.shift_ends_at > now
        ]
        if not candidates:
            return False
        units = self.state.units
        for i, u in enumerate(candidates):
            crew = self.crews[u.unit_id]
            if crew.leg is not None:  # driving home: the phone reports where it is
                # with the study's rule, it starts again from the nearest node
                here = self.position(crew, node=self.snap_sent_on)
                self.report_position(crew, here)
                candidates[i] = units[u.unit_id]  # as it now stands
        choice = choose_unit(
            self.sc.policy, self.state, job.callout_id, candidates, self.roads, now=now,
            budget_s=budget, places=self.places,
            on_scene_s=job.alarm.on_scene_s or self.sc.service.on_scene_min * 60,
        )
        if choice is None:
            return False
        crew = self.crews[choice.unit_id]
        crew.token += 1
        crew.leg = crew.leg_line = None
        crew.job = job
        self.waiting.pop(job.callout_id, None)
        job.unit_id, job.assigned_s, job.travel_s = choice.unit_id, self.now_s, choice.travel_s
        job.handled_by = "mae"
        self.do(Assign(job.callout_id, choice.unit_id,
                       eta_s=self.reach_extra_s + choice.travel_s), actor="dispatcher")
        if self.model.drives_off_at_once:
            self.push(self.now_s, "depart", choice.unit_id)
        else:
            self.push(self.now_s + self.model.wait_s(Phase.ACKNOWLEDGE), "ack", choice.unit_id)
        if self.followups is not None:
            self.followups.unit_taken(choice.unit_id)
        return True

    def serve_queue(self) -> None:
        if not self.waiting:
            return
        order = sorted(self.waiting.values(),
                       key=lambda j: (j.alarm.priority, j.alarm_s, j.callout_id))
        for job in order:
            if not any(u.status.is_free and u.callout_id is None
                       for u in self.state.units.values()):
                return
            self.try_dispatch(job)

    # -- the crew's job: the behaviour model on the event queue ------------------------------

    def _job(self, unit_id: str) -> tuple[_Crew, _Job]:
        crew = self.crews[unit_id]
        assert crew.job is not None
        return crew, crew.job

    def act(self, crew: _Crew, act: Act) -> None:
        for command in act.commands:
            self.do(command, actor=crew.spec.id)

    def on_ack(self, unit_id: str) -> None:
        crew, job = self._job(unit_id)
        self.act(crew, self.model.act(Phase.ACKNOWLEDGE, unit_id, job.callout_id))
        self.push(self.now_s + self.model.wait_s(Phase.TURN_OUT), "depart", unit_id)

    def on_depart(self, unit_id: str) -> None:
        crew, job = self._job(unit_id)
        self.act(crew, self.model.act(Phase.TURN_OUT, unit_id, job.callout_id, scene=job.scene))
        assert job.travel_s is not None
        self.drive(crew, job.scene, job.travel_s)
        self.push(self.now_s + job.travel_s, "arrive", unit_id)

    def on_arrive(self, unit_id: str) -> None:
        crew, job = self._job(unit_id)
        self.act(crew, self.model.act(Phase.TO_SCENE, unit_id, job.callout_id))
        self.report_position(crew, job.scene, job.alarm.place)
        job.on_scene_s = self.now_s
        self.push(self.now_s + self.model.wait_s(Phase.ON_SCENE, job.chance), "scene_done",
                  unit_id)

    def _facility(self, scene: Point) -> tuple[Facility, float]:
        times = self.roads.times_from(scene, [(f.lat, f.lon) for f in self.facilities],
                                      self.clock.now())
        i = nearest_facility(self.facilities, times)
        if not math.isfinite(times[i]):
            raise SimulationError(f"no road from {scene} to any {self.sc.service.transport_to}")
        return self.facilities[i], times[i]

    def on_scene_done(self, unit_id: str) -> None:
        crew, job = self._job(unit_id)
        drive: list[float] = []

        def nearest() -> Facility:
            facility, t = self._facility(job.scene)
            drive.append(t)
            return facility

        act = self.model.act(Phase.ON_SCENE, unit_id, job.callout_id, chance=job.chance,
                             nearest=nearest)
        job.transport = act.transport
        if act.facility is not None:
            job.facility = act.facility.name
        if act.outcome is not None:
            self.finish(crew, job, act)
            return
        self.act(crew, act)
        if act.facility is not None:
            self.drive(crew, (act.facility.lat, act.facility.lon), drive[0], start=job.scene)
        self.push(self.now_s + drive[0], "at_facility", unit_id, act.facility)

    def on_at_facility(self, unit_id: str, facility: Facility) -> None:
        crew, job = self._job(unit_id)
        self.act(crew, self.model.act(Phase.TO_FACILITY, unit_id, job.callout_id,
                                      facility=facility))
        self.report_position(crew, (facility.lat, facility.lon), facility.name)
        self.push(self.now_s + self.model.wait_s(Phase.HANDOVER, job.chance), "handover_done",
                  unit_id, facility)

    def on_handover_done(self, unit_id: str, facility: Facility) -> None:
        crew, job = self._job(unit_id)
        self.finish(crew, job, self.model.act(Phase.HANDOVER, unit_id, job.callout_id,
                                              chance=job.chance, facility=facility))

    def finish(self, crew: _Crew, job: _Job, closing: Act) -> None:
        """Record the outcome (``closing``), then the crew heads home."""
        uid = crew.spec.id
        self.act(crew, closing)
        job.done_s = self.now_s
        assert job.assigned_s is not None
        self.busy.append((uid, job.assigned_s, self.now_s))
        crew.job = None
        self.go_home(crew)
        unit = self.state.units[uid]
        if unit.shift_ends_at is not None and unit.shift_ends_at <= self.clock.now():
            self.do(Tick())
            self.after_off_duty(crew)
        self.serve_queue()
        if self.followups is not None:
            self.followups.callout_done(job.callout_id, job.scene, job.alarm.place, uid)

    def go_home(self, crew: _Crew) -> None:
        """A released crew heads home (the behaviour model's RELEASED act): it reports
        RETURNING and drives, or AVAILABLE if already there; one already returning drives on."""
        uid = crew.spec.id
        here = self.position(crew)
        if self.state.units[uid].status is UnitStatus.RETURNING:
            to: Point | None = crew.home
        else:
            home = self.model.act(Phase.RELEASED, uid, here=here, home=crew.home)
            self.act(crew, home)
            to = home.drive_to
        if to is not None:
            t = self.roads.time(here, to, self.clock.now()) / self.return_factor
            crew.token += 1
            crew.leg, crew.leg_line = (here, to, self.now_s, self.now_s + t), None
            self.drive(crew, to, t, start=here)
            self.push(self.now_s + t, "home", uid, crew.token)

    def on_home(self, unit_id: str, token: int) -> None:
        crew = self.crews[unit_id]
        if token != crew.token:
            return  # sent to another callout on the way home
        crew.leg = crew.leg_line = None
        self.report_position(crew, crew.home, crew.base.name)
        if self.state.units[unit_id].status is UnitStatus.RETURNING:
            self.act(crew, self.model.act(Phase.HOMEWARD, unit_id))
        self.serve_queue()

    # -- results ----------------------------------------------------------------------------

    def result(self) -> RunResult:
        for uid, crew in self.crews.items():
            if crew.duty_since is not None:
                self.on_duty.append((uid, crew.duty_since, self.now_s))
        records = tuple(
            CalloutRecord(
                callout_id=j.callout_id, reference=j.alarm.reference, alarm_s=j.alarm_s,
                municipality=j.alarm.municipality, priority=int(j.alarm.priority),
                agency=j.alarm.agency.value, handled_by=j.handled_by or "waiting",
                fallback_reason=j.fallback_reason, unit_id=j.unit_id, assigned_s=j.assigned_s,
                on_scene_s=j.on_scene_s, done_s=j.done_s, travel_s=j.travel_s,
                outcome=(j.alarm.outcome.value if j.handled_by == "mae" and j.alarm.outcome
                         else ""),
                transport=j.transport, facility=j.facility, merged_alarms=j.merged,
                queued=j.queued,
            )
            for j in self.records
        )
        return RunResult(
            scenario=self.sc.name, seed=self.seed, start=self.clock.start,
            timezone=self.sc.timezone, days=self.sc.days, records=records,
            busy=tuple(self.busy), on_duty=tuple(sorted(self.on_duty)), events=self.n_events,
            alarms=self.alarms, scheduled=tuple(self.scheduled),
            log=tuple(self.log) if self.log is not None else None,
            visits=self.followups.records() if self.followups is not None else (),
            visit_drive_s=self.followups.drive_total_s() if self.followups is not None else 0.0,
        )


def simulate(
    scenario: Scenario,
    *,
    seed: int = 0,
    graph: Terrain | None = None,
    demand: list[DemandAlarm] | None = None,
    keep_log: bool = False,
    roads: TravelSource | None = None,
    log_positions: bool = False,
) -> RunResult:
    """Run ``scenario`` with ``seed`` through the dispatch core; ``demand`` overrides the
    scenario's alarms, ``keep_log`` keeps the full event log (for export and replay);
    ``roads`` lets runs of one scenario share their travel times (snapping, matrices);
    ``log_positions`` logs the crews' positions as events (for a replay on the dispatcher map,
    where the cars then move) instead of keeping them out of the log as the live service
    does. Records and KPIs are the same either way; only the log and its event count differ."""
    g = graph if graph is not None else load_terrain(scenario)
    alarms = demand if demand is not None else build_demand(scenario, g, seed=seed)
    sim = _Sim(scenario, g, seed, keep_log, roads, log_positions=log_positions)
    sim.setup(alarms)
    sim.run()
    logger.info("%s seed %d: %d alarms, %d events", scenario.name, seed, sim.alarms,
                sim.n_events)
    return sim.result()
