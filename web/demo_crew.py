"""A simulated MAE crew for the live demo: the simulator's behaviour model over the service API.

Each step the crew reads its unit and callout from the service's state, asks
:mod:`simulations.behaviour` which phase that is, how long to wait in it and what to send when
the wait is over, and sends those crew commands through the service, exactly as a phone would.
What is its own is the road: it drives the route from :mod:`routing` and reports its position
along it every few demo seconds, arriving when the drive's time has passed. Between jobs the
same model's :func:`~simulations.behaviour.visit_act` has the crew carry out its day plan:
drive to each planned follow-up visit, start it, finish it, break it off for an acute job. A
refusal means a person changed things; the crew follows the new state on its next step.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

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
from dispatch.model import Location
from dispatch.state import Callout
from dispatch.status import UnitStatus
from mae.errors import MaeError
from maps.graph import Facility, RoadGraph, haversine_m
from routing.errors import RoutingError
from simulations.behaviour import (
    Act,
    Chance,
    Phase,
    at_base,
    nearest_facility,
    phase_of,
    transport_facilities,
    visit_act,
)
from simulations.travel import Point, point_along
from web.auth import Principal
from web.demo_config import DemoConfig
from web.demo_units import DEMO_CREW
from web.service import DispatchService

__all__ = ["CrewBot", "DemoHost", "Leg"]

FALLBACK_SPEED_MS = 50 / 3.6  # when routing fails: a straight line at 50 km/h


class DemoHost(Protocol):
    """What a crew needs from the demo it runs in (:class:`web.demo_actors.DemoRunner`)."""

    service: DispatchService
    graph: RoadGraph
    config: DemoConfig

    def do(self, principal: Principal, command: Command, action: str,
           **target: object) -> Awaitable[bool]: ...

    def chance(self, callout: Callout) -> Chance: ...

    def say(self, text: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Leg:
    """One drive: the road geometry, when it started and how long it takes (demo time)."""

    line: tuple[Point, ...]
    t0: datetime
    seconds: float

    def fraction(self, now: datetime) -> float:
        if self.seconds <= 0:
            return 1.0
        return min(1.0, max(0.0, (now - self.t0).total_seconds() / self.seconds))

    def at(self, now: datetime) -> Point:
        return point_along(self.line, self.fraction(now))

    def done(self, now: datetime) -> bool:
        return self.fraction(now) >= 1.0

    @property
    def end(self) -> Point:
        return self.line[-1]


def _metres(a: Point, b: Point) -> float:
    return float(haversine_m(a[0], a[1], b[0], b[1]))


def _audit(command: Command) -> tuple[str, dict[str, object]]:
    """The audit action and target a crew command is recorded under."""
    if isinstance(command, Acknowledge):
        return "ack", {"callout_id": command.callout_id}
    if isinstance(command, ReportStatus):
        return "status", {"status": command.status.value}
    if isinstance(command, RecordOutcome):
        return "outcome", {"callout_id": command.callout_id,
                           "kind": command.outcome.kind.value}
    if isinstance(command, StartShift):
        return "shift_start", {}
    if isinstance(command, StartVisit | FinishVisit | MarkVisitNotMet):
        action = {StartVisit: "start", FinishVisit: "done"}.get(type(command), "not_met")
        return f"visit.{action}", {"visit_id": command.visit_id}
    return "position", {}


class CrewBot:
    """The simulated crew of one unit."""

    def __init__(self, host: DemoHost, unit_id: str, principal: Principal, home: Point,
                 base: str) -> None:
        self.host = host
        self.model = host.config.crew_model
        self.unit_id = unit_id
        self.principal = principal
        self.home = home
        self.base = base
        self.here: Point = home
        self.job: str | None = None
        self.leg: Leg | None = None
        self.due: datetime | None = None
        self.facility: Facility | None = None
        self.reported_at: datetime | None = None
        self.off_since: datetime | None = None
        self.rolling = False  # was driving when the current job came: no turnout time
        self.visiting: Point | None = None  # the planned visit it is driving to
        self.rng = np.random.default_rng([host.config.seed, sum(unit_id.encode())])

    # -- commands -----------------------------------------------------------------------------

    async def _send(self, command: Command) -> bool:
        action, target = _audit(command)
        return await self.host.do(self.principal, command, action, unit_id=self.unit_id,
                                  **target)

    async def _act(self, act: Act, now: datetime) -> bool:
        """Send the model's commands in order; once all are accepted, drive where it says."""
        for command in act.commands:
            if not await self._send(command):
                return False
        if act.drive_to is not None:
            self._drive(act.drive_to, now)
        return True

    async def _report(self, p: Point, now: datetime, label: str = "") -> None:
        """Report a position as a tablet does (to the position table, not the event log,
        unless the service logs positions); one the rate limit drops is sent again later."""
        try:
            done = await self.host.service.report_position(
                self.unit_id, Location(p[0], p[1], label=label), principal=self.principal,
                client="demo")
        except MaeError:
            return
        if done["kept"]:
            self.here, self.reported_at = p, now

    def _drive(self, to: Point, now: datetime) -> Leg:
        """The road route from where the crew is to ``to`` (a straight line if none)."""
        try:
            route = self.host.service.travel().route(self.here, to)
            line, seconds = route.geometry, route.duration_s
        except RoutingError:
            line, seconds = (self.here, to), _metres(self.here, to) / FALLBACK_SPEED_MS
        self.leg = Leg(tuple(line), now, float(seconds))
        return self.leg

    def _wait(self, phase: Phase, now: datetime, callout: Callout) -> bool:
        """Start the phase's wait if not started; True once it is over."""
        if self.due is None:
            deadline = callout.ack_deadline
            left = None if deadline is None else (deadline - now).total_seconds()
            chance = (self.host.chance(callout)
                      if phase in (Phase.ON_SCENE, Phase.HANDOVER) else None)
            wait = self.model.wait_s(phase, chance, self.rng, rolling=self.rolling,
                                     ack_left_s=left)
            self.due = now + timedelta(seconds=wait)
            return False
        return now >= self.due

    # -- the step -----------------------------------------------------------------------------

    async def step(self, now: datetime) -> None:
        state = self.host.service.state
        unit = state.units.get(self.unit_id)
        if unit is None:
            return
        if unit.callout_id != self.job:  # a new job, or a person took this one away
            self.job, self.due, self.facility = unit.callout_id, None, None
            self.rolling, self.leg, self.visiting = self.leg is not None, None, None
        await self._move(now)
        if await self._visits(now):  # first: a visit under way is finished after the shift too
            return
        if unit.status is UnitStatus.OFF_DUTY:
            await self._off_duty(now)
            return
        callout = None if unit.callout_id is None else state.callouts[unit.callout_id]
        if callout is None:
            self.off_since = None
        idle_away = self.leg is None and not at_base(self.here, self.home)
        phase = phase_of(unit, callout, idle_away=idle_away)
        if phase is Phase.HOMEWARD:
            await self._homeward(now)
        elif phase is Phase.RELEASED:
            await self._go_home(now)
        elif callout is not None and phase is not None:
            await self._work(phase, callout, now)

    async def _visits(self, now: datetime) -> bool:
        """Carry out the day plan's visits (the model's :func:`visit_act`); True when they
        kept the crew busy this step (driving to one, waiting there, on one)."""
        if self.visiting is not None and self.leg is not None:
            if not self._arrived(now):
                return True
            self.visiting = None
        act = visit_act(self.host.service.state, self.unit_id, now, self.here)
        if act is None:
            return False
        if act.drive_to is not None:
            self.visiting = act.drive_to
        ok = await self._act(act, now)
        for command in act.commands if ok else ():
            if isinstance(command, StartVisit | FinishVisit):
                verb = "started" if isinstance(command, StartVisit) else "finished"
                self.host.say(f"{self.unit_id} {verb} visit {command.visit_id}")
        if act.drive_to is not None and ok and self.leg is not None:
            self.host.say(f"{self.unit_id} driving to a planned visit "
                          f"({self.leg.seconds / 60:.0f} min)")
        # a visit broken off for an acute job: the job goes on this same step
        return not any(isinstance(c, MarkVisitNotMet) for c in act.commands)

    async def _move(self, now: datetime) -> None:
        leg = self.leg
        if leg is None:
            return
        every = timedelta(seconds=self.host.config.position_every_s)
        if leg.done(now) or self.reported_at is None or now - self.reported_at >= every:
            p = leg.at(now)
            if p != self.here:
                await self._report(p, now)

    def _arrived(self, now: datetime) -> bool:
        if self.leg is not None and self.leg.done(now) and self.here == self.leg.end:
            self.leg = None
            return True
        return False

    async def _off_duty(self, now: datetime) -> None:
        self._arrived(now)
        if self.off_since is None:
            self.off_since = now
            return
        command = self.model.start_shift(self.unit_id, DEMO_CREW, now=now,
                                         off_since=self.off_since)
        if command is not None and await self._send(command):
            self.off_since = None
            self.host.say(f"{self.unit_id} new shift started")

    async def _go_home(self, now: datetime) -> None:
        await self._act(self.model.act(Phase.RELEASED, self.unit_id, here=self.here,
                                       home=self.home), now)

    async def _homeward(self, now: datetime) -> None:
        if self.leg is None:
            self._drive(self.home, now)
        elif self._arrived(now):
            await self._report(self.home, now, self.base)
            if await self._act(self.model.act(Phase.HOMEWARD, self.unit_id), now):
                self.host.say(f"{self.unit_id} back at base, available")

    async def _work(self, phase: Phase, callout: Callout, now: datetime) -> None:
        uid, cid = self.unit_id, callout.callout_id
        scene = (callout.location.lat, callout.location.lon)
        if phase in (Phase.ACKNOWLEDGE, Phase.TURN_OUT):
            if self._wait(phase, now, callout) and await self._act(
                    self.model.act(phase, uid, cid, scene=scene), now):
                self.due = None
                if phase is Phase.TURN_OUT and self.leg is not None:
                    self.host.say(f"{uid} en route to {cid} "
                                  f"({self.leg.seconds / 60:.0f} min drive)")
        elif phase is Phase.TO_SCENE:
            if self.leg is None:
                self._drive(scene, now)
            elif self._arrived(now) and await self._act(self.model.act(phase, uid, cid), now):
                self.host.say(f"{uid} on scene at {cid}")
        elif phase is Phase.ON_SCENE:
            self.leg = None
            if self._wait(phase, now, callout):
                await self._scene_done(callout, now)
        else:
            await self._transport(phase, callout, now)

    def _nearest_facility(self) -> Facility | None:
        facilities = transport_facilities(self.host.graph.facilities, self.host.config.service)
        if not facilities:
            return None
        try:
            etas = self.host.service.travel().etas_from(
                self.here, [(f.lat, f.lon) for f in facilities])
            times = [e.duration_s for e in etas]
        except RoutingError:
            times = [_metres(self.here, (f.lat, f.lon)) for f in facilities]
        return facilities[nearest_facility(facilities, times)]

    async def _scene_done(self, callout: Callout, now: datetime) -> None:
        act = self.model.act(Phase.ON_SCENE, self.unit_id, callout.callout_id,
                             chance=self.host.chance(callout), nearest=self._nearest_facility)
        if act.outcome is not None:
            await self._finish(callout, act, now)
        elif await self._act(act, now):
            self.facility, self.due = act.facility, None
            assert act.facility is not None
            self.host.say(f"{self.unit_id} transporting to {act.facility.name}")

    async def _transport(self, phase: Phase, callout: Callout, now: datetime) -> None:
        facility = self.facility or self._nearest_facility()
        if facility is None:
            return
        self.facility = facility
        if phase is Phase.TO_FACILITY:
            if self.leg is None:
                self._drive((facility.lat, facility.lon), now)
            elif self._arrived(now):
                await self._act(self.model.act(phase, self.unit_id, callout.callout_id,
                                               facility=facility), now)
        elif phase is Phase.HANDOVER and self._wait(phase, now, callout):
            await self._finish(callout, self.model.act(
                phase, self.unit_id, callout.callout_id, chance=self.host.chance(callout),
                facility=facility), now)

    async def _finish(self, callout: Callout, act: Act, now: datetime) -> None:
        if not await self._act(act, now):
            return
        assert act.outcome is not None
        self.job, self.due, self.facility, self.leg = None, None, None, None
        self.host.say(f"{self.unit_id} closed {callout.callout_id}: {act.outcome.kind.value}")
        await self._go_home(now)
