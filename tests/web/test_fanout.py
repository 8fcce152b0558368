"""The fan-out: each event rendered once per viewer, batch frames, backlogs and histories read in
pages off the event loop with live events queued behind exactly once, and a ``since`` older than
the retained window answered with a snapshot."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

import web.fanout
from dispatch.commands import (
    AddNote,
    Assign,
    ReceiveAlarm,
    RegisterUnit,
    ReportPosition,
    StartShift,
)
from dispatch.model import Agency, Alarm, Category, Location, Priority
from dispatch.status import ON_THE_WAY
from maps.bundled import load_bundled
from maps.graph import RoadGraph
from tests.web.conftest import T0, ManualClock, Server, bearer, thread_server
from web.auth import Principal, Role
from web.eventstore import SqliteEventStore
from web.fanout import Subscription
from web.service import DispatchService
from web.visibility import Viewer

DISPATCHER = Principal("p-disp", "dispatcher", Role.DISPATCHER)
LULEA = Location(65.584, 22.154, label="Luleå")
BODEN = Location(65.825, 21.689, label="Boden")


def crew(unit_id: str) -> Principal:
    return Principal(f"p-{unit_id}", f"crew {unit_id}", Role.CREW, unit_id=unit_id)


@pytest.fixture(scope="module")
def graph() -> RoadGraph:
    return load_bundled()


@pytest.fixture
def service(tmp_path: Path, graph: RoadGraph) -> Iterator[DispatchService]:
    store = SqliteEventStore(tmp_path / "fanout.sqlite3")
    svc = DispatchService(store, graph=graph, clock=ManualClock(), backlog_page=7)
    yield svc
    svc.close()
    store.close()


async def register(service: DispatchService, *units: str) -> None:
    for unit in units:
        await service.execute(RegisterUnit(unit, f"MAE {unit}", "Luleå", LULEA), actor="test")


async def move(service: DispatchService, unit: str, n: int) -> None:
    """``n`` position reports of ``unit``, one event each."""
    for i in range(n):
        where = Location(65.58 + i * 1e-4, 22.15, label="")
        await service.execute(ReportPosition(unit, where), actor="test")


def drain(sub: Subscription) -> list[dict[str, Any]]:
    out = []
    while not sub.queue.empty():
        text = sub.queue.get_nowait()
        assert text is not None, "the subscriber was dropped"
        out.append(json.loads(text))
    return out


def event_seqs(messages: list[dict[str, Any]]) -> list[int]:
    return [m["seq"] for m in messages if m["type"] == "event"]


def test_each_event_is_rendered_once_per_viewer_however_many_sockets(
        service: DispatchService) -> None:
    """Five dispatcher sockets share one rendering; crews of one unit share theirs; a crew
    that may not see the event costs no rendering; all get the same text."""

    async def run() -> None:
        await register(service, "A", "B")
        subs = [service.subscribe(DISPATCHER, None)[0] for _ in range(5)]
        subs_a = [service.subscribe(crew("A"), None)[0] for _ in range(3)]
        subs_b = [service.subscribe(crew("B"), None)[0] for _ in range(2)]
        fanout = service._fanout  # the counter on the real rendering path
        before = fanout.renders
        await move(service, "A", 4)
        assert fanout.renders - before == 4 * 2  # the dispatcher viewer and unit A's
        texts = [[sub.queue.get_nowait() for _ in range(4)] for sub in subs + subs_a]
        assert all(t == texts[0] for t in texts[:5]) and all(t == texts[5] for t in texts[5:])
        assert all(a is b for a, b in zip(texts[0], texts[1], strict=True))  # the same bytes
        assert all(sub.queue.empty() for sub in subs + subs_a + subs_b)

    asyncio.run(run())


def test_queued_messages_leave_as_one_batch_frame_for_a_batching_client() -> None:
    async def run() -> None:
        batching = Subscription(Viewer(Role.DISPATCHER), maxsize=100, batch=True)
        plain = Subscription(Viewer(Role.DISPATCHER), maxsize=100)
        for sub in (batching, plain):
            for i in range(3):
                sub.push(json.dumps({"type": "event", "seq": i + 1}))
        frame = json.loads(await batching.next_frame() or "")
        assert frame == {"type": "batch", "messages": [{"type": "event", "seq": i + 1}
                                                        for i in range(3)]}
        assert batching.queue.empty()
        assert json.loads(await plain.next_frame() or "") == {"type": "event", "seq": 1}
        assert plain.queue.qsize() == 2
        batching.push('{"type":"ready","seq":3}')  # alone: sent as it is
        assert await batching.next_frame() == '{"type":"ready","seq":3}'
        small = Subscription(Viewer(Role.DISPATCHER), maxsize=2, batch=True)
        for i in range(3):  # the third overflows: dropped, the client must reconnect
            small.push(f'{{"seq":{i}}}')
        assert await small.next_frame() is None

    asyncio.run(run())


def test_a_batching_clients_frames_keep_the_gap_and_the_first_after_a_pause_leaves_at_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Frames at least the batching gap apart (what comes in the gap shares the next frame), and no
    wait at all for the first message after a quiet spell."""
    real_sleep = asyncio.sleep
    slept: list[float] = []

    async def recorded(delay: float, result: Any = None) -> Any:
        slept.append(delay)
        return await real_sleep(delay, result)

    monkeypatch.setattr(asyncio, "sleep", recorded)
    gap = 0.25  # wider than the shipped gap, so a busy machine's pauses cannot close it early
    monkeypatch.setattr(web.fanout, "BATCH_GAP_S", gap)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        sub = Subscription(Viewer(Role.DISPATCHER), maxsize=100, batch=True)
        sub.push('{"n":1}')
        assert await sub.next_frame() == '{"n":1}'
        sent = loop.time()
        assert slept == []  # the first frame left at once
        sub.push('{"n":2}')
        frame = asyncio.ensure_future(sub.next_frame())
        await real_sleep(0.002)
        assert not frame.done()  # held for the gap ...
        sub.push('{"n":3}')  # ... so this one shares the frame
        assert json.loads(await frame or "") == {"type": "batch",
                                                 "messages": [{"n": 2}, {"n": 3}]}
        assert loop.time() - sent >= gap * 0.99
        assert len(slept) == 1 and 0 < slept[0] <= gap
        await real_sleep(gap * 2)  # quiet
        sub.push('{"n":4}')
        assert await sub.next_frame() == '{"n":4}'
        assert len(slept) == 1  # no wait after the pause

    asyncio.run(run())


@pytest.mark.parametrize("maxsize", [0, 1, 3, 5])
def test_pushing_many_at_once_queues_or_drops_as_pushing_each_does(maxsize: int) -> None:
    """``push_many`` (one per subscriber per publish) leaves the same queue and the same
    dropped flag as one ``push`` per text, for every fill and overflow."""
    def contents(sub: Subscription) -> tuple[list[str | None], bool]:
        items = []
        while not sub.queue.empty():
            items.append(sub.queue.get_nowait())
        return items, sub.dropped

    for before in range(4):
        for n in range(6):
            texts = [f'{{"seq":{i}}}' for i in range(n)]
            one, many = (Subscription(Viewer(Role.DISPATCHER), maxsize=maxsize)
                         for _ in range(2))
            for sub in (one, many):
                for i in range(min(before, maxsize or before)):
                    sub.push(f'{{"old":{i}}}')
            for text in texts:
                one.push(text)
            many.push_many(texts)
            many.push_many(["after a drop: nothing"] if many.dropped else [])
            assert contents(many) == contents(one), (before, n)


def test_events_arriving_during_a_long_backlog_come_once_in_order_after_it(
        service: DispatchService) -> None:
    """The backlog (read 7 rows a page in a worker thread) ends at the seq fixed when the
    subscriber registered; events logged meanwhile wait on its queue, none lost or repeated."""

    async def run() -> None:
        await register(service, "A")
        await move(service, "A", 60)
        sub, plan = service.subscribe(DISPATCHER, 0)
        assert plan.upto == 61
        pages, live_during = [], 0
        async for page in service.backlog(plan):
            pages.append([json.loads(t) for t in page])
            if live_during < 3:  # the loop is free between pages: others write meanwhile
                await move(service, "A", 2)
                live_during += 1
        backlog = [m for p in pages for m in p]
        assert len(pages) >= 9  # 61 events, 7 per page, then ready
        assert backlog[-1] == {"type": "ready", "seq": 61}
        live = drain(sub)
        assert event_seqs(backlog) == list(range(1, 62))
        assert event_seqs(live) == list(range(62, 68))

    asyncio.run(run())


def test_a_backlog_leaves_the_event_loop_free_between_pages(service: DispatchService) -> None:
    """Another coroutine runs while the backlog is read: pages come from a worker thread."""

    async def run() -> None:
        await register(service, "A")
        await move(service, "A", 40)
        _, plan = service.subscribe(DISPATCHER, 0)
        ticks = [0]

        async def other() -> None:
            while True:
                ticks[0] += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(other())
        seen = []
        async for _ in service.backlog(plan):
            seen.append(ticks[0])
        task.cancel()
        assert len(seen) >= 6 and seen[-1] > seen[0]

    asyncio.run(run())


def test_a_crew_backlog_holds_only_its_units_events_and_its_job(
        service: DispatchService) -> None:
    async def run() -> None:
        await register(service, "A", "B")
        for _ in range(5):
            await move(service, "B", 3)
            await move(service, "A", 1)
        await service.execute(StartShift("A", ("Anna",), T0 + timedelta(hours=8)), actor="t")
        alarm = Alarm(Agency.POLICE, "R-1", T0, LULEA, Priority(1), Category("psychosis"),
                      note="he called twice")
        cid = (await service.execute(ReceiveAlarm(alarm), actor="t")).decision.callout_id
        assert cid is not None
        await service.execute(Assign(cid, "A", 600.0), actor="t")
        _, plan = service.subscribe(crew("A"), 0)
        backlog = [json.loads(t) async for page in service.backlog(plan) for t in page]
        events = [m for m in backlog if m["type"] == "event"]
        assert [m["event"]["type"] for m in events] == [
            "UnitRegistered", *["UnitPositionReported"] * 5, "ShiftStarted", "UnitAssigned"]
        assert all(m["event"]["unit_id"] == "A" for m in events)
        assert events[-1]["job"]["callout_id"] == cid  # the job the tablet needs to show
        assert events[-1]["job"]["alarms"][0]["note"] == "he called twice"
        assert backlog[-1]["type"] == "ready"

    asyncio.run(run())


def test_history_is_paged_and_keeps_the_last_events_of_the_callout(
        service: DispatchService) -> None:
    """A callout's events spread over a long log are found and read seven rows a page."""

    async def run() -> None:
        await register(service, "A")
        alarm = Alarm(Agency.POLICE, "R-1", T0, LULEA, Priority(1), Category("psychosis"),
                      note="secret")
        done = await service.execute(ReceiveAlarm(alarm), actor="test")
        cid = done.decision.callout_id
        assert cid is not None
        await move(service, "A", 30)
        later = Alarm(Agency.AMBULANCE, "R-2", T0 + timedelta(minutes=1), LULEA, Priority(1),
                      Category("psychosis"))
        await service.execute(ReceiveAlarm(later), actor="test")  # joins the same callout
        found = await service.history(Viewer(Role.DISPATCHER), cid, limit=500)
        assert [e["event"]["type"] for e in found.events] == ["AlarmReceived"] * 2
        assert [e["event"]["alarm"]["reference"] for e in found.events] == ["R-1", "R-2"]
        assert found.seq == service.last_seq and not found.truncated
        last = await service.history(Viewer(Role.PLANNER), cid, limit=1)
        assert [e["seq"] for e in last.events] == [found.events[-1]["seq"]] and last.truncated
        assert "secret" not in json.dumps(
            (await service.history(Viewer(Role.PLANNER), cid, limit=5)).events)

    asyncio.run(run())


def test_a_history_that_reaches_past_the_audience_window_says_it_is_truncated(
        tmp_path: Path, graph: RoadGraph) -> None:
    """A history covers the kept audience window: a callout opened before it is marked
    truncated (its alarm is no longer found), one opened inside it is whole."""
    store = SqliteEventStore(tmp_path / "window.sqlite3")
    clock = ManualClock()
    svc = DispatchService(store, graph=graph, clock=clock, backlog_window=5)

    async def run() -> None:
        await register(svc, "A")
        old = await svc.execute(ReceiveAlarm(Alarm(Agency.POLICE, "OLD", T0, LULEA, Priority(1),
                                                   Category("psychosis"))), actor="test")
        await move(svc, "A", 30)  # the old alarm leaves the window
        clock.advance(60)
        new = await svc.execute(ReceiveAlarm(Alarm(
            Agency.POLICE, "NEW", clock.now(), BODEN, Priority(1), Category("psychosis"))),
            actor="test")
        for done in (old, new):
            assert done.decision.callout_id is not None
            await svc.execute(AddNote(done.decision.callout_id, "noted"), actor="test")
        viewer = Viewer(Role.DISPATCHER)
        cut = await svc.history(viewer, old.decision.callout_id or "", limit=500)
        assert [e["event"]["type"] for e in cut.events] == ["NoteAdded"] and cut.truncated
        whole = await svc.history(viewer, new.decision.callout_id or "", limit=500)
        assert [e["event"]["type"] for e in whole.events] == ["AlarmReceived", "NoteAdded"]
        assert not whole.truncated

    try:
        asyncio.run(run())
    finally:
        svc.close()
        store.close()


# -- over real sockets --------------------------------------------------------------------------


@pytest.fixture
def small_window(db: Path, tokens: dict[str, str]) -> Iterator[Server]:
    """A server that keeps a backlog of 3 events for reconnects."""
    srv = thread_server(db, tokens, demo_units=True, backlog_window=3)
    yield srv
    srv.stop()


def test_a_since_older_than_the_window_gets_a_snapshot_then_the_tail(
        small_window: Server) -> None:
    disp = small_window.socket("/ws/dispatch", "dispatcher")
    first = disp.recv()
    assert first["type"] == "snapshot" and len(first["units"]) == 3
    # the page's reassign rule comes from the core's table, not a copy of its own
    assert first["on_the_way"] == sorted(s.value for s in ON_THE_WAY)
    end = disp.ready()["seq"]
    assert end > 4
    old = small_window.socket("/ws/dispatch", "dispatcher", since=end - 4)
    snap = old.recv()
    assert snap["type"] == "snapshot" and snap["seq"] == end and len(snap["units"]) == 3
    assert old.recv() == {"type": "ready", "seq": end}
    recent = small_window.socket("/ws/dispatch", "dispatcher", since=end - 3)
    assert [recent.recv()["seq"] for _ in range(3)] == [end - 2, end - 1, end]
    assert recent.recv()["type"] == "unit_positions"  # positions are not logged events
    assert recent.recv() == {"type": "ready", "seq": end}
    sock = small_window.socket("/ws/agency", "police")  # the tail: live events after ready
    sock.ready()
    alarm = {"type": "alarm", "reference": "R-9", "priority": 1, "category": "psychosis",
             "location": {"place": "Boden"}}
    assert sock.request(alarm)["type"] == "alarm_ack"
    for s in (old, recent):
        assert s.until(lambda m: m.get("type") == "event")["seq"] == end + 1
    for s in (disp, old, recent, sock):
        s.close()


def test_a_batching_socket_gets_its_backlog_in_one_frame(server: Server) -> None:
    plain = server.socket("/ws/dispatch", "dispatcher")
    end = plain.ready()["seq"]
    url = f"{server.ws}/ws/dispatch?since=0&batch=1"
    login = bearer(server.tokens["dispatcher"])
    with connect(url, open_timeout=10, subprotocols=login) as ws:
        frame = json.loads(ws.recv(timeout=10))
        assert frame["type"] == "batch"
        assert [m["seq"] for m in frame["messages"]] == list(range(1, end + 1))
        last = json.loads(ws.recv(timeout=10))  # the units' positions, then ready
        assert [m["type"] for m in last["messages"]] == ["unit_positions", "ready"]
        assert last["messages"][-1] == {"type": "ready", "seq": end}
    with connect(url.replace("batch=1", "batch=yes"), open_timeout=10, subprotocols=login) as ws:
        reply = json.loads(ws.recv(timeout=10))
        assert reply["type"] == "error" and reply["field"] == "batch"
    plain.close()
