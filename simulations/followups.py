"""Follow-up visits in a simulated run: booked from the acute work, planned each day, done by
the units between callouts, re-planned when a callout takes a unit, and their key figures.

The same core, planner and crews as the live service: visits are booked with ``BookVisit``
(source ``follow_up``, the incident's callout), each day is planned at ``plan_hour`` from
:func:`dispatch.visit_plan.day_input` with :func:`routing.plan` and recorded with
``RecordDayPlan``; when an acute callout takes a unit with visits left, the rest of the day is
re-planned with :func:`routing.replan`. The crews carry out the plan by the behaviour model
the live demo's crews follow, :func:`simulations.behaviour.visit_act`: leave for the next
visit when the plan has them leave, start it once there at its planned start, finish it after
its duration, break it off (not met) when an acute job takes the unit, and head home when no
visit is due. The simulator drives them on its event queue: a drive to a visit ends in
``visit_arrive``, and :func:`~simulations.behaviour.visit_next` says when to ask again
(``visit_wake``); a unit stands at a visit's address while there, so an acute callout is
reached from there.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from dispatch.commands import BookVisit, FinishVisit, MarkVisitNotMet, StartVisit
from dispatch.errors import DispatchError
from dispatch.model import Location
from dispatch.rota import ShiftPattern
from dispatch.visit_plan import day_input, plan_day, record_plan
from dispatch.visits import VisitSource
from simulations.behaviour import Act, at_base, visit_next
from simulations.errors import SimulationError
from simulations.spec import Booking, FollowUpDemand, Scenario, UnitSpec
from simulations.travel import Point

if TYPE_CHECKING:
    from routing.problems import Plan

__all__ = ["FollowUpDesk", "VisitRecord", "followup_kpis", "rota_of"]


@dataclass(frozen=True, slots=True)
class VisitRecord:
    """What became of one follow-up visit (times in run seconds)."""

    visit_id: str
    booked_s: float
    earliest_s: float
    latest_s: float
    status: str
    unit_id: str = ""
    started_s: float | None = None
    done_s: float | None = None
    postponed: int = 0
    interrupted: bool = False

    @property
    def in_window(self) -> bool:
        """Done, and started within its window."""
        return self.status == "done" and self.started_s is not None and \
            self.earliest_s <= self.started_s <= self.latest_s


def rota_of(units: Sequence[UnitSpec]) -> tuple[ShiftPattern, ...]:
    """The scenario's shifts as the core's rota patterns (ISO weekdays, local clock times)."""
    out = []
    for u in units:
        for s in u.shifts:
            end = s.end_min % 1440
            if end == s.start_min:
                continue  # a 24-hour shift has no pattern; plan only extra shifts then
            out.append(ShiftPattern(u.id, frozenset(d + 1 for d in s.days),
                                    time(s.start_min // 60, s.start_min % 60),
                                    time(end // 60, end % 60)))
    return tuple(out)


class FollowUpDesk:
    """Drives the follow-up visits of one run through the simulator ``sim`` (engine._Sim)."""

    def __init__(self, sim: Any, spec: FollowUpDemand, scenario: Scenario, seed: int) -> None:
        self.sim = sim
        self.spec = spec
        self.rota = rota_of(scenario.units)
        self.tz = scenario.tz
        self.rng = random.Random(f"followups/{seed}")
        self.previous: tuple[str, Plan] | None = None
        self.postponed: dict[str, int] = {}
        self.interrupted: set[str] = set()
        self.started: dict[str, float] = {}
        self.done: dict[str, float] = {}
        self.drive_s: dict[str, int] = {}  # the last plan's drive per day
        #: unit -> (crew token, place) of its drive to a visit; unit -> queued ask (run s)
        self.driving: dict[str, tuple[int, Point]] = {}
        self.wakes: dict[str, float] = {}
        self.plans = 0
        self.replans = 0
        self.refused = 0  # bookings of the CSV the core refused

    def handlers(self) -> dict[str, Callable[..., None]]:
        return {"day_plan": self.on_day_plan, "visit_arrive": self.on_visit_arrive,
                "visit_wake": self.on_visit_wake, "booking": self.on_booking}

    def setup(self) -> None:
        sim = self.sim
        start = sim.clock.start
        for d in range(sim.sc.days):
            day = sim.sc.start + timedelta(days=d)
            at = datetime.combine(day, time(0), self.tz) + timedelta(hours=self.spec.plan_hour)
            sim.push((at - start).total_seconds(), "day_plan")
        for booking in self.spec.bookings:
            when = booking.booked_at or start
            sim.push(max(0.0, (when - start).total_seconds()), "booking", booking)

    def on_booking(self, b: Booking) -> None:
        """A visit of the booking CSV is booked by psychiatry (refused, e.g. a window already
        over, it is counted in :attr:`refused` and left out)."""
        cost = None if b.postpone_cost_min is None else int(b.postpone_cost_min * 60)
        try:
            self.sim.do(BookVisit(
                patient_ref=b.patient_ref, location=Location(b.lat, b.lon, label=b.place),
                earliest_start=b.earliest_start, latest_start=b.latest_start,
                duration_s=int(b.duration_min * 60), competences=("doctor",) if b.doctor else (),
                staff=b.staff,
                postpone_cost=cost,
                source=VisitSource.AGENCY, agency="psychiatry"), actor="psychiatry")
        except DispatchError:
            self.refused += 1

    # -- booking -----------------------------------------------------------------------------

    def callout_done(self, callout_id: str, scene: tuple[float, float], label: str,
                     unit_id: str) -> None:
        """An attended incident ends: maybe book its follow-up, plan again if visits are open
        today, and the freed crew turns to its visits."""
        spec = self.spec
        if self.rng.random() < spec.share:
            now = self.sim.clock.now()
            day = now.astimezone(self.tz).date() + timedelta(days=spec.after_days)
            opens = datetime.combine(day, time(0), self.tz) + timedelta(
                hours=spec.window_start_hour)
            opens = max(opens, now)
            postponable = self.rng.random() < spec.postponable_share
            doctor = self.rng.random() < spec.doctor_share
            self.sim.do(BookVisit(
                patient_ref=f"F-{callout_id}", location=Location(*scene, label=label),
                earliest_start=opens, latest_start=opens + timedelta(hours=spec.window_hours),
                duration_s=int(spec.duration_min * 60),
                competences=("doctor",) if doctor else (),
                postpone_cost=int(spec.postpone_cost_min * 60) if postponable else None,
                source=VisitSource.FOLLOW_UP, callout_id=callout_id), actor="psychiatry")
        if self._open_today():
            self.plan("unit free")
        self.follow(unit_id)

    def _open_today(self) -> bool:
        now = self.sim.clock.now()
        day_end = datetime.combine(now.astimezone(self.tz).date() + timedelta(days=1), time(0),
                                   self.tz)
        return any(v.status.is_open and v.earliest_start < day_end and v.latest_start >= now
                   for v in self.sim.state.visits.values())

    # -- planning ----------------------------------------------------------------------------

    def _travel(self, places: Sequence[Location]) -> list[list[float]]:
        points = [(p.lat, p.lon) for p in places]
        now = self.sim.clock.now()
        return [list(self.sim.roads.times_from(a, points, now)) for a in points]

    def on_day_plan(self) -> None:
        self.previous = None
        self.plan("day start")

    def plan(self, cause: str) -> None:
        """Plan (or, when a unit was taken, re-plan) the rest of today, as the service's
        planner does (:func:`dispatch.visit_plan.plan_day`), and the crews follow it."""
        sim = self.sim
        now = sim.clock.now()
        day = day_input(sim.state, self.rota, self.tz, now, self._travel)
        if day is None or (not day.visit_ids and day.day not in sim.state.day_plans):
            return
        previous = self.previous
        plan, replanned = plan_day(
            day, cause, previous=previous[1] if previous is not None and
            previous[0] == day.day else None, known=sim.state.day_plans.get(day.day),
            plan_limit_s=self.spec.plan_limit_s, replan_limit_s=self.spec.replan_limit_s,
            seed=sim.seed)
        if replanned:
            self.replans += 1
        else:
            self.plans += 1
        self.previous = (day.day, plan)
        command = record_plan(day, plan, cause=cause)
        sim.do(command, actor="planner")
        for visit_id in command.postponed:
            self.postponed[visit_id] = self.postponed.get(visit_id, 0) + 1
        self.drive_s[day.day] = plan.travel_s
        for unit_id in sorted({r.unit_id for r in command.routes}):
            self.follow(unit_id)

    def unit_taken(self, unit_id: str) -> None:
        """An acute callout took ``unit_id``: its crew breaks off the visit under way (the
        behaviour model says so), and the rest of the day is re-planned if it had visits."""
        sim = self.sim
        self.follow(unit_id)
        since = (sim.clock.now().astimezone(self.tz).date() - timedelta(days=1)).isoformat()
        if any(  # yesterday's plan too: a shift may run past midnight
                r.unit_id == unit_id and any(sim.state.visits[s.visit_id].status.is_open
                                             for s in r.stops)
                for day, p in sim.state.day_plans.items() if day >= since for r in p.routes):
            self.plan("unit taken")

    # -- the crews do the visits: the behaviour model's visit_act, as the live demo's crews ----

    def follow(self, unit_id: str) -> None:
        """The crew of ``unit_id`` does what :func:`~simulations.behaviour.visit_act` says now
        (drive to a visit, start it, finish it, break it off), asks again when the model says
        its answer changes, and heads home when its visits leave it idle away from base."""
        sim = self.sim
        crew = sim.crews[unit_id]
        for _ in range(8):  # a few acts in a row at most (finish, then drive on)
            driving = self.driving.get(unit_id)
            if driving is not None and driving[0] == crew.token and crew.leg is not None:
                return  # on its way to a visit: the arrival asks again
            now = sim.clock.now()
            here = self._here(unit_id)
            act, wake = visit_next(sim.state, unit_id, now, here)
            if wake is not None:
                self._wake_at((wake - sim.clock.start).total_seconds(), unit_id)
            if act is None:
                self._idle(unit_id, here)
                return
            if not self._do(unit_id, act):
                return
            if act.drive_to is not None:
                self._drive(unit_id, here, act.drive_to)
                return
            if not act.commands:
                return  # waiting at the door, or on a visit
        raise SimulationError(f"{unit_id}: the visit model did not settle")  # pragma: no cover

    def _here(self, unit_id: str) -> Point:
        """Where the crew is; at a drive's ends without tracing its road (the simulator's
        position along a drive needs the road's geometry)."""
        sim = self.sim
        crew = sim.crews[unit_id]
        leg = crew.leg
        here: Point
        if leg is not None and not leg[2] < sim.now_s < leg[3]:
            here = leg[0] if sim.now_s <= leg[2] else leg[1]
        else:
            here = sim.position(crew)
        return here

    def _do(self, unit_id: str, act: Act) -> bool:
        """Send the act's commands in order, noting what became of each visit; False when the
        core refused one (the crew follows the state as it is at the next ask)."""
        sim = self.sim
        for command in act.commands:
            try:
                sim.do(command, actor=unit_id)
            except DispatchError:
                return False
            if isinstance(command, StartVisit):
                self.started[command.visit_id] = sim.now_s
            elif isinstance(command, FinishVisit):
                self.done[command.visit_id] = sim.now_s
            elif isinstance(command, MarkVisitNotMet):
                self.interrupted.add(command.visit_id)
        return True

    def _drive(self, unit_id: str, here: Point, to: Point) -> None:
        sim = self.sim
        crew = sim.crews[unit_id]
        t = sim.roads.time(here, to, sim.clock.now())
        crew.token += 1
        crew.leg, crew.leg_line = (here, to, sim.now_s, sim.now_s + t), None
        self.driving[unit_id] = (crew.token, to)
        sim.drive(crew, to, t, start=here)
        sim.push(sim.now_s + t, "visit_arrive", unit_id, crew.token)

    def on_visit_arrive(self, unit_id: str, token: int) -> None:
        """The crew reached a visit's address (unless another drive replaced that one)."""
        sim = self.sim
        crew = sim.crews[unit_id]
        driving = self.driving.get(unit_id)
        if token != crew.token or driving is None or driving[0] != token:
            return
        del self.driving[unit_id]
        crew.leg = crew.leg_line = None
        sim.report_position(crew, driving[1])
        self.follow(unit_id)

    def _wake_at(self, t: float, unit_id: str) -> None:
        pending = self.wakes.get(unit_id)
        if pending is not None and self.sim.now_s <= pending <= t:
            return  # an earlier ask is queued: it schedules this one again
        self.wakes[unit_id] = t
        self.sim.push(t, "visit_wake", unit_id, t)

    def on_visit_wake(self, unit_id: str, t: float) -> None:
        if self.wakes.get(unit_id) == t:
            del self.wakes[unit_id]
        self.follow(unit_id)

    def _idle(self, unit_id: str, here: Point) -> None:
        """Visits ask nothing of the crew: one idle away from base (no job, no drive) goes
        home, as the acute model has a released crew do."""
        sim = self.sim
        crew = sim.crews[unit_id]
        unit = sim.state.units[unit_id]
        if crew.job is None and crew.leg is None and unit.callout_id is None and \
                unit.status.is_free and not at_base(here, crew.home):
            sim.go_home(crew)

    # -- results -------------------------------------------------------------------------------

    def records(self) -> tuple[VisitRecord, ...]:
        start: datetime = self.sim.clock.start

        def secs(t: datetime) -> float:
            return (t - start).total_seconds()

        return tuple(
            VisitRecord(
                visit_id=v.visit_id, booked_s=secs(v.booked_at), earliest_s=secs(v.earliest_start),
                latest_s=secs(v.latest_start), status=v.status.value, unit_id=v.unit_id or "",
                started_s=self.started.get(v.visit_id), done_s=self.done.get(v.visit_id),
                postponed=self.postponed.get(v.visit_id, 0),
                interrupted=v.visit_id in self.interrupted)
            for v in sorted(self.sim.state.visits.values(), key=lambda v: v.visit_id))

    def drive_total_s(self) -> float:
        return float(sum(self.drive_s.values()))


def followup_kpis(visits: Sequence[VisitRecord], drive_s: float, end_s: float
                  ) -> dict[str, float]:
    """The follow-up figures of a run: visits booked, done within their window, postponed,
    not met, broken off by an acute callout, missed (window over, never done), planned drive."""
    due = [v for v in visits if v.latest_s <= end_s]  # windows that closed within the run
    n = len(due)

    def share(pred: Callable[[VisitRecord], bool]) -> float:
        return sum(1 for v in due if pred(v)) / n if n else float("nan")

    return {
        "visits_booked": float(len(visits)),
        "visits_done_share": share(lambda v: v.status == "done"),
        "visits_in_window_share": share(lambda v: v.in_window),
        "visits_postponed_share": share(lambda v: v.postponed > 0),
        "visits_not_met_share": share(lambda v: v.status == "not_met"),
        "visits_interrupted_share": share(lambda v: v.interrupted),
        "visits_missed_share": share(lambda v: v.status == "booked"),
        "visit_drive_hours": drive_s / 3600.0,
    }
