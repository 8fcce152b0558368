"""A simulated MAE crew for the live demo: acknowledge, drive, work, hand over, drive home.

Each step the crew reads its unit and callout from the service's state and does the next thing
a crew would: acknowledge after a short while, drive off after the turnout time, report its
position along the road route from :mod:`routing` every few demo seconds, report on scene,
record the incident's drawn outcome (driving the patient to the psychiatric emergency unit first
when the MAE car carries them), and drive back to base. Every action is a crew command through
the service; a refusal means a person changed things and the crew follows the new state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from dispatch.commands import (
    Acknowledge,
    Command,
    RecordOutcome,
    ReportPosition,
    ReportStatus,
    StartShift,
)
from dispatch.model import Location, Outcome
from dispatch.state import Callout, Unit
from dispatch.status import CalloutStatus, UnitStatus
from maps.graph import Facility, haversine_m
from routing.errors import RoutingError
from simulations.scenario import CARRIER
from simulations.travel import point_along
from web.auth import Principal

if TYPE_CHECKING:
    from web.demo_actors import DemoRunner

__all__ = ["AT_BASE_M", "CrewBot", "Leg"]

Point = tuple[float, float]

AT_BASE_M = 200.0  # this close to its base a unit is home
OFF_DUTY_GAP_S = 600.0  # a new crew starts a shift this long after the last one ended
SHIFT_HOURS = 12.0
FALLBACK_SPEED_MS = 50 / 3.6  # when routing fails: a straight line at 50 km/h


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


class CrewBot:
    """The simulated crew of one unit."""

    def __init__(self, runner: DemoRunner, unit_id: str, principal: Principal, home: Point,
                 base: str) -> None:
        self.runner = runner
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
        self.rng = np.random.default_rng([runner.config.seed, sum(unit_id.encode())])

    # -- commands -----------------------------------------------------------------------------

    async def _do(self, command: Command, action: str, **target: object) -> bool:
        return await self.runner.do(self.principal, command, action, unit_id=self.unit_id,
                                    **target)

    async def _status(self, status: UnitStatus, facility: str = "") -> bool:
        return await self._do(ReportStatus(self.unit_id, status, facility), "status",
                              status=status.value)

    async def _report(self, p: Point, now: datetime, label: str = "") -> None:
        if await self._do(ReportPosition(self.unit_id, Location(p[0], p[1], label=label)),
                          "position"):
            self.here, self.reported_at = p, now

    def _drive(self, to: Point, now: datetime) -> Leg:
        """The road route from where the crew is to ``to`` (a straight line if none)."""
        try:
            route = self.runner.service.travel().route(self.here, to)
            line, seconds = route.geometry, route.duration_s
        except RoutingError:
            line, seconds = (self.here, to), _metres(self.here, to) / FALLBACK_SPEED_MS
        self.leg = Leg(tuple(line), now, float(seconds))
        return self.leg

    def _jitter(self, seconds: float) -> float:
        return float(seconds * self.rng.uniform(0.5, 1.5))

    # -- the step -----------------------------------------------------------------------------

    async def step(self, now: datetime) -> None:
        state = self.runner.service.state
        unit = state.units.get(self.unit_id)
        if unit is None:
            return
        if unit.callout_id != self.job:  # a new job, or a person took this one away
            self.job, self.due, self.facility = unit.callout_id, None, None
            self.rolling, self.leg = self.leg is not None, None
        await self._move(now)
        if unit.status is UnitStatus.OFF_DUTY:
            await self._off_duty(now)
        elif unit.callout_id is None:
            await self._free(unit, now)
        else:
            await self._work(unit, state.callouts[unit.callout_id], now)

    async def _move(self, now: datetime) -> None:
        leg = self.leg
        if leg is None:
            return
        every = timedelta(seconds=self.runner.config.position_every_s)
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
        elif (now - self.off_since).total_seconds() >= OFF_DUTY_GAP_S and await self._do(
            StartShift(self.unit_id, ("demo crew",), now + timedelta(hours=SHIFT_HOURS)),
            "shift_start",
        ):
            self.off_since = None
            self.runner.say(f"{self.unit_id} new shift started")

    async def _go_home(self, now: datetime) -> None:
        if _metres(self.here, self.home) <= AT_BASE_M:
            await self._status(UnitStatus.AVAILABLE)
        elif await self._status(UnitStatus.RETURNING):
            self._drive(self.home, now)

    async def _free(self, unit: Unit, now: datetime) -> None:
        self.off_since = None
        status = unit.status
        if status is UnitStatus.RETURNING:
            if self.leg is None:
                self._drive(self.home, now)
            elif self._arrived(now):
                await self._report(self.home, now, self.base)
                if await self._status(UnitStatus.AVAILABLE):
                    self.runner.say(f"{self.unit_id} back at base, available")
        elif status is UnitStatus.AVAILABLE:
            if self.leg is None and _metres(self.here, self.home) > AT_BASE_M:
                await self._go_home(now)
        elif status.is_busy and status is not UnitStatus.TRANSPORTING:
            await self._go_home(now)  # released from a job (cancelled, merged, outcome)

    async def _work(self, unit: Unit, callout: Callout, now: datetime) -> None:
        cfg = self.runner.config
        status = callout.status
        scene = (callout.location.lat, callout.location.lon)
        if status is CalloutStatus.ASSIGNED:
            if self.due is None:  # a crew answers well within the acknowledge window
                self.due = now + timedelta(seconds=self._jitter(cfg.service.ack_s))
                if callout.ack_deadline is not None:
                    self.due = min(self.due, now + (callout.ack_deadline - now) / 3)
            elif now >= self.due and await self._do(
                    Acknowledge(self.unit_id, callout.callout_id), "ack",
                    callout_id=callout.callout_id):
                self.due = None
        elif status is CalloutStatus.ACKNOWLEDGED:
            if self.due is None:
                turnout = 15.0 if self.rolling else self._jitter(cfg.service.turnout_min * 60)
                self.due = now + timedelta(seconds=turnout)
            elif now >= self.due and await self._status(UnitStatus.EN_ROUTE):
                self.due = None
                leg = self._drive(scene, now)
                self.runner.say(f"{self.unit_id} en route to {callout.callout_id} "
                                f"({leg.seconds / 60:.0f} min drive)")
        elif status is CalloutStatus.EN_ROUTE:
            if self.leg is None:
                self._drive(scene, now)
            elif self._arrived(now) and await self._status(UnitStatus.ON_SCENE):
                self.runner.say(f"{self.unit_id} on scene at {callout.callout_id}")
        elif status is CalloutStatus.ON_SCENE:
            self.leg = None
            if self.due is None:
                self.due = now + timedelta(seconds=self.runner.chance(callout).on_scene_s)
            elif now >= self.due:
                await self._scene_done(callout, now)
        elif status is CalloutStatus.TRANSPORTING:
            await self._transport(unit, callout, now)

    def _nearest_facility(self) -> Facility | None:
        kind = self.runner.config.service.transport_to
        facilities = [f for f in self.runner.graph.facilities if f.is_a(kind)]
        if not facilities:
            return None
        try:
            etas = self.runner.service.travel().etas_from(
                self.here, [(f.lat, f.lon) for f in facilities])
            times = [e.duration_s for e in etas]
        except RoutingError:
            times = [_metres(self.here, (f.lat, f.lon)) for f in facilities]
        best = min(range(len(facilities)),
                   key=lambda i: (times[i] if math.isfinite(times[i]) else math.inf,
                                  facilities[i].name))
        return facilities[best]

    async def _scene_done(self, callout: Callout, now: datetime) -> None:
        kind = self.runner.chance(callout).outcome
        carrier = CARRIER.get(kind, "")
        facility = self._nearest_facility() if carrier else None
        if facility is None or carrier != "mae":
            await self._finish(callout, Outcome(kind, facility.name if facility else ""), now)
            return
        if await self._status(UnitStatus.TRANSPORTING):
            self.facility, self.due = facility, None
            self._drive((facility.lat, facility.lon), now)
            self.runner.say(f"{self.unit_id} transporting to {facility.name}")

    async def _transport(self, unit: Unit, callout: Callout, now: datetime) -> None:
        facility = self.facility or self._nearest_facility()
        if facility is None:
            return
        self.facility = facility
        if unit.status is UnitStatus.TRANSPORTING:
            if self.leg is None:
                self._drive((facility.lat, facility.lon), now)
            elif self._arrived(now):
                await self._status(UnitStatus.AT_FACILITY, facility.name)
        elif unit.status is UnitStatus.AT_FACILITY:
            if self.due is None:
                self.due = now + timedelta(seconds=self.runner.chance(callout).at_facility_s)
            elif now >= self.due:
                kind = self.runner.chance(callout).outcome
                await self._finish(callout, Outcome(kind, facility.name), now)

    async def _finish(self, callout: Callout, outcome: Outcome, now: datetime) -> None:
        if not await self._do(RecordOutcome(self.unit_id, callout.callout_id, outcome),
                              "outcome", callout_id=callout.callout_id,
                              kind=outcome.kind.value):
            return
        self.job, self.due, self.facility, self.leg = None, None, None, None
        self.runner.say(f"{self.unit_id} closed {callout.callout_id}: {outcome.kind.value}")
        await self._go_home(now)
