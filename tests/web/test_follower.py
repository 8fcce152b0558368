"""Two services on one shared log (two stores on the same SQLite file, or on the same Redis,
in one process): each follows what the other appends (state, fan-out, exactly once and in seq
order), a batch that loses the race for the log's end is decided again (a command no longer
valid gets a clear refusal, never a double assignment) and a client op id is exactly-once
across both."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from dispatch.commands import (
    Acknowledge,
    Assign,
    CancelCallout,
    DispatchConfig,
    ReceiveAlarm,
    RegisterUnit,
    StartShift,
)
from dispatch.errors import DispatchError
from dispatch.model import Agency, Alarm, Category, Location, Priority
from dispatch.status import UnitStatus
from maps.bundled import load_bundled
from maps.graph import RoadGraph
from tests.redis_server import RedisServer
from tests.web.conftest import T0, ManualClock
from web.auth import Principal, Role
from web.demo_units import demo_region, start_demo_shifts
from web.errors import describe
from web.eventstore import EventStore, SqliteEventStore
from web.fanout import Subscription
from web.redislog import RedisEventStore
from web.regions import RegionLoad, load_region
from web.service import DispatchService
from web.writer import Executed

T = TypeVar("T")

DISPATCHER = Principal("p-disp", "dispatcher", Role.DISPATCHER)
LULEA = Location(65.584, 22.154, label="Luleå")
CONFIG = DispatchConfig(merge_radius_m=1.0)  # alarms 1 km apart: each its own callout


Opener = Callable[[], EventStore]


@pytest.fixture(scope="module")
def graph() -> RoadGraph:
    return load_bundled()


@pytest.fixture(params=["sqlite", "redis"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    """Opens a new store on one shared log: the same SQLite file, or the same Redis DB."""
    if request.param == "sqlite":
        return lambda: SqliteEventStore(tmp_path / "shared.sqlite3")
    url = request.getfixturevalue("redis_url")
    return lambda: RedisEventStore(url)


@contextlib.asynccontextmanager
async def pair(open_store: Opener, graph: RoadGraph, *, wait_s: float = 0.2,
               follow: bool = True) -> AsyncIterator[tuple[DispatchService, DispatchService]]:
    """Two services on their own stores of one log, each following the other's appends
    (unless ``follow`` is false)."""
    clock = ManualClock()
    stores = [open_store(), open_store()]
    services = [DispatchService(s, graph=graph, clock=clock, config=CONFIG) for s in stores]
    followers = [asyncio.create_task(s.follow(wait_s=wait_s)) for s in services] if follow \
        else []
    try:
        yield services[0], services[1]
    finally:
        for task in followers:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for service, store in zip(services, stores, strict=True):
            await service.drain()
            service.close()
            store.close()


async def settled(*services: DispatchService, timeout_s: float = 10.0) -> int:
    """Wait until every service's state reaches the log's end on disk; return that end."""
    store = services[0]._store
    for _ in range(int(timeout_s / 0.01)):
        end = store.refresh()
        if all(s.last_seq == end for s in services):
            return end
        await asyncio.sleep(0.01)
    raise AssertionError(f"not followed: {[s.last_seq for s in services]} vs {end}")


def stored_types(open_store: Opener) -> list[str]:
    """The type of every stored event, in order, read by a store of its own."""
    store = open_store()
    try:
        return [type(env.event).__name__ for env in store.read(0)]
    finally:
        store.close()


def event_seqs(sub: Subscription) -> list[int]:
    out = []
    while not sub.queue.empty():
        text = sub.queue.get_nowait()
        assert text is not None, "the subscriber was dropped"
        message = json.loads(text)
        if message["type"] == "event":
            out.append(message["seq"])
    return out


async def unit_on_shift(service: DispatchService, unit_id: str) -> None:
    await service.execute(RegisterUnit(unit_id, f"MAE {unit_id}", "Luleå", LULEA), actor="t")
    await service.execute(StartShift(unit_id, ("A", "B"), T0 + timedelta(hours=8)), actor="t")


async def alarm(service: DispatchService, ref: str, i: int = 0) -> str:
    where = Location(65.0 + i * 0.01, 22.154)
    done = await service.execute(ReceiveAlarm(Alarm(
        Agency.POLICE, ref, T0, where, Priority(1), Category("psychosis"))), actor="t")
    assert done.decision.callout_id is not None
    return done.decision.callout_id


async def both(a: Awaitable[T], b: Awaitable[T]) -> list[T | BaseException]:
    return list(await asyncio.gather(a, b, return_exceptions=True))


def split(results: list[Any]) -> tuple[list[Executed], list[BaseException]]:
    won = [r for r in results if isinstance(r, Executed) and r.envelopes]
    lost = [r for r in results if isinstance(r, BaseException)]
    return won, lost


def test_each_service_applies_and_fans_out_the_others_events_once_in_order(
        shared: Opener, graph: RoadGraph) -> None:
    async def run() -> None:
        async with pair(shared, graph) as (a, b):
            sub_a = a.subscribe(DISPATCHER, None)[0]
            sub_b = b.subscribe(DISPATCHER, None)[0]
            for i in range(6):  # interleaved writers: each must see all, its own once
                await unit_on_shift(a if i % 2 else b, f"U{i}")
                await alarm(b if i % 2 else a, f"R-{i}", i)
            end = await settled(a, b)
            assert end == 6 * 3
            assert set(a.state.units) == set(b.state.units) == {f"U{i}" for i in range(6)}
            assert a.state.callouts.keys() == b.state.callouts.keys()
            assert len(a.state.callouts) == 6
            for sub in (sub_a, sub_b):
                assert event_seqs(sub) == list(range(1, end + 1))  # no gap, no duplicate

    asyncio.run(run())


def test_two_dispatchers_assigning_different_units_to_one_callout_one_wins(
        shared: Opener, graph: RoadGraph) -> None:
    async def run() -> None:
        async with pair(shared, graph) as (a, b):
            rounds = 25
            for i in range(2 * rounds):
                await unit_on_shift(a, f"U{i}")
            cids = [await alarm(a, f"R-{i}", i) for i in range(rounds)]
            await settled(a, b)
            for i, cid in enumerate(cids):
                results = await both(a.execute(Assign(cid, f"U{2 * i}"), actor="d1"),
                                     b.execute(Assign(cid, f"U{2 * i + 1}"), actor="d2"))
                won, lost = split(results)
                assert len(won) == 1 and len(lost) == 1, results
                info = describe(lost[0])
                assert info.status in (400, 409) and cid in info.message, info
                assert isinstance(lost[0], DispatchError)
            await settled(a, b)
            assert a.writer.conflicts + b.writer.conflicts > 0  # the races really happened
            for service in (a, b):
                assert all(service.state.callouts[c].unit_id is not None for c in cids)
        assigned = [t for t in stored_types(shared) if t == "UnitAssigned"]
        assert len(assigned) == rounds  # one assignment per callout, never two

    asyncio.run(run())


def test_one_unit_to_two_callouts_from_two_services_is_assigned_once(
        shared: Opener, graph: RoadGraph) -> None:
    async def run() -> None:
        async with pair(shared, graph) as (a, b):
            rounds = 25
            for i in range(rounds):
                await unit_on_shift(b, f"U{i}")
            cids = [await alarm(b, f"R-{i}", i) for i in range(2 * rounds)]
            await settled(a, b)
            for i in range(rounds):
                one, two = cids[2 * i], cids[2 * i + 1]
                won, lost = split(await both(a.execute(Assign(one, f"U{i}"), actor="d1"),
                                             b.execute(Assign(two, f"U{i}"), actor="d2")))
                assert len(won) == 1 and len(lost) == 1
                message = describe(lost[0]).message
                assert f"unit U{i} is already on callout" in message, message
            await settled(a, b)
            for service in (a, b):
                on = [c for c in service.state.callouts.values() if c.unit_id is not None]
                assert len(on) == rounds
                assert len({c.unit_id for c in on}) == rounds  # no unit on two callouts

    asyncio.run(run())


def test_an_acknowledge_racing_a_cancel_leaves_one_consistent_outcome(
        shared: Opener, graph: RoadGraph) -> None:
    async def run() -> None:
        async with pair(shared, graph) as (a, b):
            rounds = 20
            for i in range(rounds):
                await unit_on_shift(a, f"U{i}")
            cids = [await alarm(a, f"R-{i}", i) for i in range(rounds)]
            for i, cid in enumerate(cids):
                await a.execute(Assign(cid, f"U{i}"), actor="d")
            await settled(a, b)
            outcomes: list[str] = []
            for i, cid in enumerate(cids):
                ack, cancel = await both(a.execute(Acknowledge(f"U{i}", cid), actor="crew"),
                                         b.execute(CancelCallout(cid, "duplicate"), actor="d"))
                await settled(a, b)
                callout = b.state.callouts[cid]
                if isinstance(ack, BaseException):  # the cancel went first: no ack after it
                    assert isinstance(cancel, Executed) and callout.status.value == "cancelled"
                    assert describe(ack).status in (400, 409)
                    outcomes.append("cancelled")
                else:
                    assert isinstance(ack, Executed)
                    if isinstance(cancel, Executed):  # ack first; cancelling it still works
                        assert callout.status.value == "cancelled"
                    outcomes.append("acknowledged")
                assert a.state.callouts[cid].status == callout.status
            assert len(outcomes) == rounds

    asyncio.run(run())


def test_an_op_id_sent_to_both_services_is_executed_once(
        shared: Opener, graph: RoadGraph) -> None:
    async def run() -> None:
        async with pair(shared, graph) as (a, b):
            await unit_on_shift(a, "U1")
            cid = await alarm(a, "R-1")
            await a.execute(Assign(cid, "U1"), actor="d")
            await settled(a, b)
            ack = Acknowledge("U1", cid)
            first, second = await both(a.execute(ack, actor="crew", op=("unit:U1", "op-1")),
                                       b.execute(ack, actor="crew", op=("unit:U1", "op-1")))
            assert isinstance(first, Executed) and isinstance(second, Executed)
            assert sorted([first.decision.duplicate, second.decision.duplicate]) == \
                [False, True]
            assert first.last_seq == second.last_seq  # the duplicate names the original's seq
        assert stored_types(shared).count("AssignmentAcknowledged") == 1

    asyncio.run(run())


def test_a_follower_reports_redis_down_and_catches_up_when_it_returns(
        redis_folder: Path, graph: RoadGraph) -> None:
    """redis-server killed: the follower's blocking read fails, which is a storage fault for
    /health (not a crash); started again on its append-only file, the heartbeat clears it and
    what the other instance appended meanwhile arrives."""
    server = RedisServer(redis_folder, appendonly=True).start()

    async def run() -> None:
        async with pair(lambda: RedisEventStore(server.url(0)), graph, wait_s=0.2) as (a, b):
            await unit_on_shift(a, "U1")
            await settled(a, b)
            server.kill()
            for _ in range(1000):
                if "events" in b.storage_problems():
                    break
                await asyncio.sleep(0.01)
            assert "events" in b.storage_problems()
            server.start()
            await unit_on_shift(a, "U2")
            assert await b.writer.probe()
            await settled(a, b)
            assert "U2" in b.state.units and not b.storage_problems()

    try:
        asyncio.run(run())
    finally:
        server.stop()


def test_a_cancelled_follower_wakes_its_blocked_read_instead_of_waiting_it_out(
        redis_url: str, graph: RoadGraph) -> None:
    """Stopping an instance on Redis cancels its follower while it blocks in XREAD; it wakes the
    read (``stop_waiting``) and stops at once, not after its wait (here 120 s)."""
    import redis

    async def run() -> None:
        store = RedisEventStore(redis_url)
        service = DispatchService(store, graph=graph, clock=ManualClock(), config=CONFIG)
        follower = asyncio.create_task(service.follow(wait_s=120.0))
        watcher = redis.Redis.from_url(redis_url)
        try:
            for _ in range(1000):
                if any(c.get("name") == store._client_name and "b" in c.get("flags", "")
                       for c in watcher.client_list()):
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError("the follower never blocked in XREAD")
            follower.cancel()
            done, _ = await asyncio.wait({follower}, timeout=10)
            assert done, "the follower waited out its blocked read"
        finally:
            watcher.close()
            store.close()

    asyncio.run(run())


def test_a_timeout_logged_by_one_instance_is_alerted_on_every_instance(
        shared: Opener, graph: RoadGraph) -> None:
    """The ack-timeout alert is no event: the instance whose tick logged the timeout alerts its
    dispatchers, and every other instance alerts its own when it follows the event."""

    async def run() -> None:
        async with pair(shared, graph) as (a, b):
            await unit_on_shift(a, "U1")
            cid = await alarm(a, "R-1")
            await a.execute(Assign(cid, "U1"), actor="d")
            await settled(a, b)
            subs = [s.subscribe(DISPATCHER, None)[0] for s in (a, b)]
            clock = a.clock
            assert isinstance(clock, ManualClock)
            clock.advance(CONFIG.ack_timeout_s + 1)
            await a._ticker.tick()
            await b._ticker.tick()  # b's own tick finds nothing left to time out
            await settled(a, b)
            for sub in subs:
                alerts: list[dict[str, Any]] = []
                for _ in range(500):
                    while not sub.queue.empty():
                        message = json.loads(sub.queue.get_nowait() or "{}")
                        if message.get("type") == "alert":
                            alerts.append(message)
                    if alerts:
                        break
                    await asyncio.sleep(0.01)
                assert [(m["kind"], m["callout_id"]) for m in alerts] == [("ack_timeout", cid)]

    asyncio.run(run())


def test_a_client_resuming_from_a_seq_seen_on_another_instance_gets_the_rest(
        shared: Opener, graph: RoadGraph) -> None:
    """A dispatcher who saw seq N on instance a reconnects to b before b followed that far:
    b catches up first, so the resume is accepted and nothing after N is missed or repeated."""

    async def run() -> None:
        async with pair(shared, graph, follow=False) as (a, b):
            await unit_on_shift(a, "U1")
            seen = a.last_seq
            await alarm(a, "R-1")
            assert b.last_seq == 0  # b has not followed
            await b.catch_up()
            _sub, plan = b.subscribe(DISPATCHER, seen)
            assert (plan.since, plan.upto) == (seen, a.last_seq)
            pages = [page async for page in b.backlog(plan)]
            seqs = [json.loads(t)["seq"] for page in pages for t in page
                    if json.loads(t)["type"] == "event"]
            assert seqs == list(range(seen + 1, a.last_seq + 1))

    asyncio.run(run())


def test_instances_starting_together_load_one_region_and_demo_shifts_once(
        shared: Opener, graph: RoadGraph) -> None:
    """Every instance loads the region and starts demo shifts at startup: one that has not
    seen another's shifts yet finds them when its own are refused, and starts anyway."""

    async def run() -> None:
        async with pair(shared, graph, follow=False) as (a, b):
            region = demo_region(graph)
            await load_region(a, region)
            await b.catch_up()
            await load_region(b, region)  # the same units: nothing to do
            assert await start_demo_shifts(a) == len(region.units)
            assert await start_demo_shifts(b) == 0  # b was behind: all refused, none failed
            assert all(u.status is UnitStatus.AVAILABLE for u in b.state.units.values())
        types = stored_types(shared)
        assert types.count("ShiftStarted") == len(region.units)  # one shift per unit

    asyncio.run(run())


def test_instances_loading_one_region_at_once_register_each_unit_once_without_warnings(
        shared: Opener, graph: RoadGraph, caplog: pytest.LogCaptureFixture) -> None:
    """Two instances starting together load the same region file at the same moment, neither
    having seen the other's units: each unit is registered once, and the one that lost a race
    learns the unit is there already (no "not applied" warning, nothing refused)."""

    async def run() -> tuple[RegionLoad, RegionLoad]:
        async with pair(shared, graph, follow=False) as (a, b):
            region = demo_region(graph)
            one, two = await asyncio.gather(load_region(a, region), load_region(b, region))
            assert a.state.units.keys() == b.state.units.keys() == \
                {u.unit_id for u in region.units}
            return one, two

    with caplog.at_level(logging.DEBUG, logger="web.regions"):
        one, two = asyncio.run(run())
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not one.refused and not two.refused
    assert sorted(one.registered + two.registered) == sorted(
        u.unit_id for u in demo_region(graph).units)
    assert stored_types(shared).count("UnitRegistered") == len(demo_region(graph).units)
