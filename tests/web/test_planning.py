"""The planning worker on a real state with the real solver: what makes it plan, that a plan it
records holds every open visit once, that a visit running long or a unit taken re-plans from
the previous plan (the visit under way stays on its unit), and that an unchanged plan is not
recorded again; in a cluster (a planner lease on a real redis-server) one instance plans, and
another takes over when it stops or dies."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

from dispatch.commands import Assign, Command, ReceiveAlarm, StartVisit, decide
from dispatch.events import DayPlanned, Envelope, UnitAssigned, VisitBooked
from dispatch.model import Agency, Alarm, Category, Priority
from dispatch.state import DispatchState
from tests.dispatch.test_state import run
from tests.dispatch.test_visit_plan import NOW, ROTA, TOWNS, km_travel, setup, visit
from tests.redis_server import RedisServer
from tests.web.conftest import ManualClock
from web.planning import DayPlanner
from web.redis_lease import RedisLease
from web.ticks import Ticker
from web.writer import Executed


@dataclass
class Done:
    last_seq: int


def planner_on(state: DispatchState, log: list[Envelope], clock: ManualClock) -> DayPlanner:
    async def execute(command: Command, *, actor: str) -> Done:
        decision = decide(state, command, now=clock.now(), actor=actor)
        for event in decision.events:
            env = Envelope(state.last_seq + 1, event)
            log.append(env)
            state.apply(env)
        return Done(state.last_seq)

    return DayPlanner(state, execute, clock=clock, rota=lambda: (ROTA, UTC),
                      travel=lambda: km_travel, plan_limit_s=0.1, replan_limit_s=0.1)


def booked_day() -> tuple[DispatchState, list[Envelope]]:
    state, log = setup()
    for command in (visit(0, 9, 3), visit(1, 10, 3), visit(2, 12, 4), visit(4, 14, 2)):
        assert run(state, log, command, NOW)
    return state, log


def test_a_plan_holds_every_open_visit_once_and_an_unchanged_one_is_not_recorded() -> None:
    state, log = booked_day()
    planner = planner_on(state, log, ManualClock(NOW))
    first = asyncio.run(planner.plan_once("day start"))
    assert first is not None and not first.replanned
    plan = state.day_plans["2026-01-15"]
    ids = [*plan.planned_ids(), *plan.postponed, *plan.unplaced]
    assert sorted(ids) == sorted(state.visits) and len(ids) == len(set(ids))
    seq = state.last_seq
    assert asyncio.run(planner.plan_once("visits changed")) is None  # the same plan
    assert state.last_seq == seq


def test_a_visit_running_long_and_a_unit_taken_re_plan_from_the_previous_plan() -> None:
    state, log = booked_day()
    clock = ManualClock(NOW)
    planner = planner_on(state, log, clock)
    asyncio.run(planner.plan_once("day start"))
    (route,) = [r for r in state.day_plans["2026-01-15"].routes if r.stops][:1]
    first = route.stops[0].visit_id
    assert run(state, log, StartVisit(first, route.unit_id), NOW)
    planner._day = "2026-01-15"
    clock.advance(3 * 3600)  # 45 minutes were booked
    planner.check_clock()
    assert planner._causes == ["visit running long"]
    again = asyncio.run(planner.plan_once("visit running long"))
    assert again is not None and again.replanned
    assert state.planned_unit(first) == route.unit_id  # the visit under way stays
    planner.check_clock()
    assert planner._causes == ["visit running long"]  # once per visit
    planner._causes.clear()

    alarm = Alarm(agency=Agency.POLICE, reference="R1", received_at=clock.now(),
                  location=TOWNS[3], priority=Priority.ACUTE, category=Category.PSYCHOSIS)
    assert run(state, log, ReceiveAlarm(alarm), clock.now())
    assert run(state, log, Assign(sorted(state.callouts)[-1], route.unit_id), clock.now())
    planner.notice(log[-1:])  # the unit with visits planned is taken
    assert planner._causes == ["unit taken"]
    taken = asyncio.run(planner.plan_once("unit taken"))
    assert taken is None or taken.replanned  # None: the re-plan came out the same


def test_what_makes_it_plan() -> None:
    state, log = booked_day()
    planner = planner_on(state, log, ManualClock(NOW))
    at = NOW
    planner.notice([Envelope(1, DayPlanned(at=at, day="2026-01-15", routes=()))])
    assert planner._causes == []
    planner.notice([Envelope(2, VisitBooked(at=at, visit_id="V9", patient_ref="P",
                                            location=TOWNS[0], earliest_start=at,
                                            latest_start=at + timedelta(hours=1),
                                            duration_s=600))])
    assert planner._causes == ["visits changed"]
    planner.notice([Envelope(3, UnitAssigned(at=at, callout_id="C1", unit_id="U1", eta_s=None,
                                             ack_deadline=at))])
    assert planner._causes == ["visits changed"]  # U1 has no visits planned yet


def test_the_service_tick_notices_a_visit_running_long_at_the_first_tick_past_it() -> None:
    """The clock tick the service already runs checks the planner's clock after each tick
    (``Ticker(after=...)``): no separate 30 s check is needed to notice a visit running long."""
    state, log = booked_day()
    clock = ManualClock(NOW)
    planner = planner_on(state, log, clock)
    asyncio.run(planner.plan_once("day start"))
    route = next(r for r in state.day_plans["2026-01-15"].routes if r.stops)
    first = route.stops[0].visit_id
    assert run(state, log, StartVisit(first, route.unit_id), clock.now())

    async def execute(command: Command, *, actor: str) -> Executed:
        decision = decide(state, command, now=clock.now(), actor=actor)
        return Executed(decision, [])

    async def recommend(callout_id: str, *, exclude: Any = ()) -> list[Any]:
        return []

    ticker = Ticker(execute, recommend, lambda message, *, roles: None,
                    after=planner.check_clock)
    planner.check_clock()  # the day's start
    planner._causes.clear()
    clock.advance(2700 - 1)  # 45 minutes were booked: not yet
    asyncio.run(ticker.tick())
    assert planner._causes == []
    clock.advance(2)
    asyncio.run(ticker.tick())
    assert planner._causes == ["visit running long"]


# -- one planner in a cluster: the lease --------------------------------------------------


async def until(what: Callable[[], bool], timeout_s: float = 20.0) -> None:
    """Wait (generously: the test asserts behaviour, not speed) until ``what()`` holds."""
    deadline = time.monotonic() + timeout_s
    while not what():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def status_now(planner: DayPlanner) -> str:
    """``planner.status`` read anew: it changes while the event loop runs the planner (mypy
    would take the property as fixed after its first comparison)."""
    return planner.status


def leased_planner(url: str, holder: str) -> tuple[DayPlanner, DispatchState]:
    state, log = booked_day()
    planner = planner_on(state, log, ManualClock(NOW))
    planner.lease = RedisLease(url, "planner", ttl_s=0.6, holder=holder)
    return planner, state


def test_two_planners_sharing_one_redis_one_plans_and_the_other_takes_over_when_it_stops(
        redis_url: str) -> None:
    async def scenario() -> None:
        a, a_state = leased_planner(redis_url, "a")
        b, b_state = leased_planner(redis_url, "b")
        assert status_now(a) == "off"
        run_a = asyncio.create_task(a.run())
        await until(lambda: bool(a.runs))
        run_b = asyncio.create_task(b.run())
        await until(lambda: b.running)
        for _ in range(3):  # several lease times: a renews, b never plans
            a.request("visits changed")
            b.request("visits changed")
            await asyncio.sleep(0.6)
        assert status_now(a) == "here" and status_now(b) == "elsewhere"
        assert b.runs == [] and "2026-01-15" not in b_state.day_plans
        assert "2026-01-15" in a_state.day_plans
        run_a.cancel()  # a stops cleanly: it releases the lease
        await asyncio.gather(run_a, return_exceptions=True)
        assert status_now(a) == "off"
        await until(lambda: bool(b.runs))  # b took over and planned the day at once
        assert b.runs[0].cause == "planner took over" and status_now(b) == "here"
        run_b.cancel()
        await asyncio.gather(run_b, return_exceptions=True)

    asyncio.run(scenario())


def test_when_the_planning_instance_dies_another_plans_once_its_lease_runs_out(
        redis_url: str) -> None:
    """A holder that dies renews no more and releases nothing: its lease expires."""
    dead = RedisLease(redis_url, "planner", ttl_s=1.0, holder="dead")
    assert dead.hold() > 0

    async def scenario() -> None:
        b, b_state = leased_planner(redis_url, "b")
        run_b = asyncio.create_task(b.run())
        await until(lambda: b.running)
        b.request("visits changed")
        await asyncio.sleep(0.3)
        assert dead.current() == "dead" and b.runs == [] and b.status == "elsewhere"
        await until(lambda: bool(b.runs))
        assert b.runs[0].cause == "planner took over" and dead.current() == "b"
        assert "2026-01-15" in b_state.day_plans
        run_b.cancel()
        await asyncio.gather(run_b, return_exceptions=True)
        assert dead.current() is None  # released on the clean stop

    asyncio.run(scenario())


def test_without_a_lease_the_one_instance_always_plans() -> None:
    state, log = booked_day()
    planner = planner_on(state, log, ManualClock(NOW))
    assert planner.lease is None and planner.planning_here

    async def scenario() -> None:
        task = asyncio.create_task(planner.run())
        await until(lambda: planner.running)
        assert planner.status == "here"
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())


def test_a_planner_cancelled_just_as_it_is_woken_stops() -> None:
    """The service's shutdown cancels the planner; a change arriving in the same moment must
    not swallow that cancel (``asyncio.wait_for`` of Python 3.11 does), or shutdown hangs."""
    state, log = booked_day()
    planner = planner_on(state, log, ManualClock(NOW))

    async def scenario() -> None:
        task = asyncio.create_task(planner.run())
        await until(lambda: planner.running and planner.idle.is_set())
        await asyncio.sleep(0.05)  # waiting for a change
        planner.request("visits changed")
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=5)
        assert done, "the planner went on after it was cancelled"
        assert task.cancelled()

    asyncio.run(scenario())


def test_a_planner_that_cannot_renew_its_lease_stops_planning_until_redis_is_back(
        redis_folder: Path) -> None:
    """Redis away: the lease cannot be renewed, so the holder stops counting itself the
    planner before the lease could pass to another; once Redis answers it takes it again."""
    server = RedisServer(redis_folder).start()
    try:
        async def scenario() -> None:
            state, log = booked_day()
            a = planner_on(state, log, ManualClock(NOW))
            a.lease = RedisLease(server.url(), "planner", ttl_s=0.6, holder="a")
            task = asyncio.create_task(a.run())
            await until(lambda: len(a.runs) == 1)
            server.stop()
            await until(lambda: a.status == "elsewhere")
            assert run(state, log, visit(3, 12, 4), NOW)  # a change to plan for
            a.notice(log[-1:])
            await asyncio.sleep(0.5)
            assert len(a.runs) == 1 and a.running  # not the planner now: no plan
            server.start()
            await until(lambda: len(a.runs) == 2)  # holds the lease again: plans at once
            assert a.runs[1].cause == "planner took over" and a.status == "here"
            day = state.day_plans["2026-01-15"]
            assert "V000005" in [*day.planned_ids(), *day.postponed, *day.unplaced]
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

        asyncio.run(scenario())
    finally:
        server.stop()
