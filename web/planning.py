"""The planning worker: keeps each day's visit plan in step with the dispatch state.

It plans the day's visits over the units on shift (:func:`dispatch.visit_plan.day_input`, then
:func:`routing.plan`) when the day starts and whenever visits or units change; when an acute
callout takes a unit that has visits planned, or a started visit runs past its duration, it
re-plans the rest of the day with :func:`routing.replan`, warm-started from the previous plan.
Every solve runs in a worker thread on a copy of the state (the event loop only awaits it), and
every plan passes :func:`routing.validate_plan` inside the solver facade before it is recorded
as a ``DayPlanned`` event through the single writer, so it reaches crews and dispatchers over
the ordinary fan-out. A plan refused because a visit changed meanwhile is simply made again.

In a cluster exactly one instance plans: with a :class:`Lease` (on Redis,
:class:`web.redis_lease.RedisLease`) the planner plans only while it holds the lease, renews it
every third of the lease time, and the others follow the plans through the shared log; when
the holder stops (it releases the lease) or dies (the lease expires) another takes it over and
plans the day at once. Without a lease (SQLite: one instance) it always plans.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, Literal, Protocol

from dispatch.clock import Clock
from dispatch.errors import DispatchError
from dispatch.events import (
    DayPlanned,
    Envelope,
    OutcomeRecorded,
    ShiftEnded,
    ShiftStarted,
    UnitAssigned,
    UnitRetired,
    VisitBooked,
    VisitCancelled,
    VisitDone,
    VisitMoved,
    VisitNotMet,
    VisitPinned,
    VisitStarted,
)
from dispatch.model import Location
from dispatch.rota import ShiftPattern
from dispatch.state import DispatchState
from dispatch.visit_plan import (
    REPLAN_CAUSES,
    DayInput,
    PlanningConfig,
    TravelFn,
    day_input,
    day_of,
    plan_day,
    record_plan,
)
from dispatch.visits import VisitStatus
from mae.errors import MaeError
from routing.problems import Plan
from web.writer import Executed

__all__ = ["DayPlanner", "Lease", "PlanRun"]

logger = logging.getLogger(__name__)

_VISIT_CHANGES = (VisitBooked, VisitMoved, VisitPinned, VisitCancelled, VisitNotMet, VisitDone,
                  VisitStarted)
_UNIT_CHANGES = (ShiftStarted, ShiftEnded, UnitRetired, OutcomeRecorded)


class Lease(Protocol):
    """Who of several instances plans (:class:`web.redis_lease.RedisLease`)."""

    ttl_s: float
    holder: str

    def hold(self) -> float:
        """Take or renew (blocking); the ``time.monotonic()`` it is held until, 0.0 if not."""
        ...

    def release(self) -> bool:
        """Give it up if held (blocking)."""
        ...


@dataclass(frozen=True, slots=True)
class PlanRun:
    """One finished planning run: why, how long the solve took (s), what it recorded."""

    cause: str
    solve_s: float
    seq: int | None
    replanned: bool


class DayPlanner:
    """Plans and re-plans the current day in the background; :meth:`notice` is told of every
    batch of new events, :meth:`run` does the work until cancelled."""

    def __init__(
        self,
        state: DispatchState,
        execute: Callable[..., Any],
        *,
        clock: Clock,
        rota: Callable[[], tuple[tuple[ShiftPattern, ...], tzinfo]],
        travel: Callable[[], TravelFn],
        config: PlanningConfig | None = None,
        plan_limit_s: float = 2.0,
        replan_limit_s: float = 0.3,
        settle_s: float = 0.2,
        check_every_s: float = 30.0,
        seed: int = 0,
        lease: Lease | None = None,
    ) -> None:
        self._state = state
        self._execute = execute
        self._clock = clock
        self._rota = rota
        self._travel = travel
        self._config = config or PlanningConfig()
        self.plan_limit_s = plan_limit_s
        self.replan_limit_s = replan_limit_s
        self._settle_s = settle_s
        self._check_every_s = check_every_s
        self._seed = seed
        self._causes: list[str] = []
        self._wake = asyncio.Event()
        self._previous: tuple[str, Plan] | None = None
        self._long: set[str] = set()
        #: The solver's time limits (s): a day's plan, and a re-plan when a unit is taken.
        self._day: str | None = None
        #: Finished runs, newest last (the benchmark and the tests read them).
        self.runs: list[PlanRun] = []
        self.idle = asyncio.Event()
        self.idle.set()
        #: Who plans in a cluster (None: this instance alone, always); set before :meth:`run`.
        self.lease = lease
        self._held_until = 0.0  # time.monotonic() until which the lease is ours
        self._holding = False
        self.running = False

    # -- who plans ---------------------------------------------------------------------------

    @property
    def planning_here(self) -> bool:
        """Whether this instance plans now: no lease, or the lease held with a fifth of its
        time to spare (a plan being recorded must land before another may take over)."""
        lease = self.lease
        if lease is None:
            return True
        return time.monotonic() < self._held_until - lease.ttl_s / 5

    @property
    def status(self) -> Literal["here", "elsewhere", "off"]:
        """For ``/api/health``: this instance plans, another does, or planning is off here."""
        if not self.running:
            return "off"
        return "here" if self.planning_here else "elsewhere"

    async def _keep_lease(self, lease: Lease) -> None:
        """Take or renew the lease every third of its time until cancelled; on taking it
        over, plan the day at once (the previous holder's plan is the warm start)."""
        while True:
            try:
                until = await asyncio.to_thread(lease.hold)
            except MaeError as exc:  # Redis away: the lease runs out unless renewed in time
                logger.warning("planner lease not renewed: %s", exc)
            except Exception:  # an unexpected answer must not end the keeping for good
                logger.exception("planner lease not renewed")
            else:
                self._held_until = until
            holding = self.planning_here
            if holding and not self._holding:
                logger.info("this instance (%s) plans the day's visits", lease.holder)
                self._previous = None  # another instance's plans came between
                self.request("planner took over")
            elif self._holding and not holding:
                logger.info("another instance plans the day's visits now")
            self._holding = holding
            await asyncio.sleep(lease.ttl_s / 3)

    async def _release(self, lease: Lease) -> None:
        self._held_until = 0.0
        try:
            await asyncio.to_thread(lease.release)
        except Exception as exc:  # stopping anyway: it expires on its own
            logger.warning("planner lease not released (it expires): %s", exc)

    # -- what changed ------------------------------------------------------------------------

    def request(self, cause: str) -> None:
        """Plan again soon, for ``cause``."""
        self._causes.append(cause)
        self.idle.clear()
        self._wake.set()

    def notice(self, envelopes: Iterable[Envelope]) -> None:
        """Called on the loop with each batch of events just applied."""
        for env in envelopes:
            e = env.event
            if isinstance(e, DayPlanned):
                continue
            if isinstance(e, UnitAssigned) and self._has_visits(e.unit_id):
                self.request("unit taken")
            elif isinstance(e, _VISIT_CHANGES) and not isinstance(e, VisitStarted):
                self.request("visits changed")
            elif isinstance(e, _UNIT_CHANGES):
                self.request("units changed")

    def _has_visits(self, unit_id: str) -> bool:
        for plan in self._state.day_plans.values():
            for route in plan.routes:
                if route.unit_id == unit_id and route.stops:
                    return True
        return False

    def check_clock(self) -> None:
        """A new day, or a started visit past its duration, asks for a plan (on the loop: the
        service's clock tick calls it, and :meth:`run` every ``check_every_s`` without one)."""
        now = self._clock.now()
        _, tz = self._rota()
        day, _ = day_of(now, tz)
        if day != self._day:
            self._day = day
            self.request("day start")
        for visit in self._state.visits.values():
            if visit.status is VisitStatus.STARTED and visit.visit_id not in self._long and \
                    visit.changed_at is not None and \
                    visit.changed_at + timedelta(seconds=visit.duration_s) < now:
                self._long.add(visit.visit_id)
                self.request("visit running long")

    # -- the work ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Plan whenever asked (and check the clock every ``check_every_s``) until cancelled;
        with a lease, only while holding it (it is released when cancelled)."""
        lease = self.lease
        keeper = asyncio.create_task(self._keep_lease(lease)) if lease is not None else None
        self.running = True
        try:
            await self._work()
        finally:
            self.running = False
            if keeper is not None and lease is not None:
                keeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keeper
                await asyncio.shield(self._release(lease))

    async def _work(self) -> None:
        while True:
            self.check_clock()
            if not self.planning_here:
                self._causes.clear()  # the holder plans; its plans arrive through the log
            if not self._causes:
                self.idle.set()
                try:  # not asyncio.wait_for: on 3.11 it swallows a cancel racing the wake
                    async with asyncio.timeout(self._check_every_s):
                        await self._wake.wait()
                except TimeoutError:
                    continue
            self._wake.clear()
            if not any(c in _URGENT for c in self._causes):
                await asyncio.sleep(self._settle_s)  # let a burst of changes arrive together
            causes, self._causes = self._causes, []
            if not causes:
                continue
            try:
                await self.plan_once(_main_cause(causes))
            except (MaeError, ValueError) as exc:
                logger.warning("planning failed: %s", exc)
            except Exception:  # a bug in one run must not stop planning for the day
                logger.exception("planning failed")

    async def plan_once(self, cause: str) -> PlanRun | None:
        """Plan the current day now (in a worker thread) and record the plan (not if another
        instance holds the planner lease, or took it over during the solve)."""
        if not self.planning_here:
            return None
        now = self._clock.now()
        rota, tz = self._rota()
        day_name, _ = day_of(now, tz)
        if day_name not in self._state.day_plans and not any(
                v.status.is_open for v in self._state.visits.values()):
            return None  # nothing to plan: no event for it either
        copy = self._state.fork()
        travel = self._travel()
        previous = self._previous
        began = time.perf_counter()
        solved = await asyncio.to_thread(self._solve, copy, rota, tz, now, travel, previous,
                                         cause)
        solve_s = time.perf_counter() - began
        if solved is None:
            return None
        day, plan, replanned = solved
        command = record_plan(day, plan, cause=cause)
        known = self._state.day_plans.get(day.day)
        if known is not None and (known.routes, known.postponed, known.unplaced) == (
                command.routes, command.postponed, command.unplaced):
            self._previous = (day.day, plan)
            return None  # the same plan: nothing to tell anyone
        if not self.planning_here:
            return None  # the lease ran out meanwhile: the new holder plans
        try:
            done: Executed = await self._execute(command, actor="system")
        except DispatchError as exc:  # a visit changed meanwhile: plan once more
            logger.info("day plan refused (%s); planning again", exc)
            self.request("visits changed")
            return None
        self._previous = (day.day, plan)
        run = PlanRun(cause=cause, solve_s=solve_s, seq=done.last_seq, replanned=replanned)
        self.runs.append(run)
        logger.info("day %s planned (%s, %.2f s): %d routes, %d postponed, %d unplaced",
                    day.day, cause, solve_s, len(plan.routes), len(plan.postponed),
                    len(plan.unplaced))
        return run

    def _solve(self, state: DispatchState, rota: tuple[ShiftPattern, ...], tz: tzinfo,
               now: datetime, travel: TravelFn, previous: tuple[str, Plan] | None,
               cause: str) -> tuple[DayInput, Plan, bool] | None:
        """In a worker thread: the day's problem and its plan (None: no unit works today)."""
        day = day_input(state, rota, tz, now, travel, config=self._config)
        if day is None:
            return None
        plan, replanned = plan_day(
            day, cause, previous=previous[1] if previous is not None and
            previous[0] == day.day else None, known=state.day_plans.get(day.day),
            plan_limit_s=self.plan_limit_s, replan_limit_s=self.replan_limit_s, seed=self._seed)
        return day, plan, replanned


#: Causes re-planned at once (from the previous plan), without waiting for more changes.
_URGENT = REPLAN_CAUSES


def _main_cause(causes: Sequence[str]) -> str:
    """The cause a batch is recorded under: a unit taken or a visit running long first (they
    re-plan from the previous plan), then the rest in the order they came."""
    for urgent in _URGENT:
        if urgent in causes:
            return urgent
    return causes[0]


def travel_fn(travel: Any) -> TravelFn:
    """A :data:`TravelFn` over a :class:`routing.TravelTimes` (durations in seconds)."""

    def matrix(places: Sequence[Location]) -> Sequence[Sequence[float]]:
        points = [(p.lat, p.lon) for p in places]
        return [list(row) for row in travel.matrix(points).durations_s]

    return matrix
