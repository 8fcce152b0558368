"""Snapshots on real SQLite files: written every N events and at shutdown, a restart restores
the newest usable one and replays only the tail, and a bad one is skipped for a full replay."""

from __future__ import annotations

import asyncio
import json
import logging
import marshal
import shutil
import threading
import time
import zlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from dispatch import snapshot as snap
from dispatch.commands import (
    AddNote,
    Assign,
    Command,
    ReceiveAlarm,
    RecordOutcome,
    RegisterUnit,
    ReportPosition,
    ReportStatus,
    StartShift,
)
from dispatch.cowdict import CowDict
from dispatch.model import Agency, Alarm, Category, Location, Outcome, OutcomeKind, Priority
from dispatch.state import DispatchState
from dispatch.status import UnitStatus
from maps.bundled import load_bundled
from maps.graph import RoadGraph
from tests.web.conftest import (
    BOTH_STORES,
    T0,
    ManualClock,
    current_store,
    make_tokens,
    thread_server,
)
from web.auth import Principal, Role
from web.eventstore import EventStore, SqliteEventStore
from web.pending_history import PartialDict
from web.redis_snapshots import RedisSnapshots
from web.redislog import RedisEventStore
from web.service import DispatchService
from web.snapshots import SnapshotFiles, Snapshotter

LULEA = Location(65.584, 22.154)


@pytest.fixture(scope="module")
def graph() -> RoadGraph:
    return load_bundled()


def commands(n_alarms: int) -> list[Command]:
    out: list[Command] = [RegisterUnit("U1", "MAE 1", "Luleå", LULEA),
                          StartShift("U1", ("nurse",), T0 + timedelta(hours=12))]
    for i in range(n_alarms):
        out.append(ReceiveAlarm(Alarm(
            agency=Agency.POLICE, reference=f"R{i}", received_at=T0 + timedelta(hours=i),
            location=Location(65.0 + i / 100, 21.0), priority=Priority.URGENT,
            category=Category.PSYCHOSIS, note="patient text")))
        out.append(AddNote(f"C{i + 1:06d}", "more text"))
        out.append(ReportPosition("U1", Location(65.5 + i / 100, 22.0)))
    out.append(Assign("C000001", "U1", 600.0))
    return out


def snapshot_seqs(db: Path) -> list[int]:
    """The kept snapshots' seqs, newest first, of the test's store (files or Redis)."""
    url = current_store()
    if url is None:
        return [s for s, _ in SnapshotFiles(db).paths()]
    shelf = RedisSnapshots(url, SqliteEventStore(db))  # the log is not read for the seqs
    try:
        return shelf.seqs()
    finally:
        shelf.close()


def drop_snapshot(db: Path, seq: int) -> None:
    """Delete one snapshot of the test's store."""
    url = current_store()
    if url is None:
        dict(SnapshotFiles(db).paths())[seq].unlink()
        return
    client = redis.Redis.from_url(url)
    client.delete(f"mae:snapshot:{seq:012d}")
    client.zrem("mae:snapshots", seq)
    client.close()


class Run:
    """A service over ``db`` (or the test's Redis) as the app runs it: restore + replay,
    execute, shut down."""

    def __init__(self, db: Path, graph: RoadGraph, *, every: int, window: int = 1000) -> None:
        url = current_store()
        self.store: EventStore = SqliteEventStore(db) if url is None else RedisEventStore(url)
        self.snapshots = Snapshotter(db, every=every) if url is None else \
            Snapshotter(every=every, shelf=RedisSnapshots(url, self.store))
        self.service = DispatchService(self.store, graph=graph, clock=ManualClock(),
                                       backlog_window=window, snapshots=self.snapshots)
        self.replayed = self.service.load()

    def run(self, todo: list[Command]) -> None:
        async def go() -> None:
            for command in todo:
                await self.service.execute(command, actor="tester")
                await asyncio.sleep(0)  # let a snapshot being written progress
            await self.service.drain()
            await self.service.save_snapshot()

        asyncio.run(go())

    def close(self) -> None:
        self.service.close()
        self.store.close()


def index_data(service: DispatchService) -> dict[str, Any]:
    return service._index.to_data()


@BOTH_STORES
def test_restart_restores_the_newest_snapshot_and_replays_only_the_tail(
        tmp_path: Path, graph: RoadGraph) -> None:
    db = tmp_path / "mae.sqlite3"
    first = Run(db, graph, every=7)
    first.run(commands(10))
    seqs = snapshot_seqs(db)
    assert len(seqs) == 2, "only the latest two are kept"
    assert seqs[0] == first.service.last_seq, "shutdown writes a final snapshot"
    state, index = vars(first.service.state), index_data(first.service)
    first.close()

    drop_snapshot(db, seqs[0])  # the shutdown one gone: the older one plus a tail
    second = Run(db, graph, every=7)
    assert second.replayed == state["last_seq"] - seqs[1] > 0
    assert vars(second.service.state) == state
    assert index_data(second.service) == index
    second.close()


def test_a_corrupt_newest_snapshot_is_skipped_for_the_older_one(
        tmp_path: Path, graph: RoadGraph, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "mae.sqlite3"
    first = Run(db, graph, every=7)
    first.run(commands(10))
    state = vars(first.service.state)
    first.close()
    (newest_seq, newest), (older_seq, _) = SnapshotFiles(db).paths()
    blob = bytearray(newest.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    newest.write_bytes(bytes(blob))
    with caplog.at_level(logging.WARNING, logger="web.snapshots"):
        second = Run(db, graph, every=7)
    assert "checksum" in caplog.text and newest.name in caplog.text
    assert second.replayed == newest_seq - older_seq
    assert vars(second.service.state) == state
    second.close()


def _rewrap(path: Path, change: Any) -> None:
    """Rewrite the snapshot at ``path`` with its header changed and a valid checksum."""
    blob = path.read_bytes()
    frames = snap._split_frames(blob[len(snap._MAGIC) + 32:])
    header = marshal.loads(zlib.decompress(frames[0]))
    change(header)
    body = zlib.compress(marshal.dumps(header))
    rest = [len(f).to_bytes(4, "big") + f for f in frames[1:]]
    path.write_bytes(snap._seal([len(body).to_bytes(4, "big") + body, *rest]))


@pytest.mark.parametrize("fault", ["old-version", "other-database", "ahead-of-log",
                                   "bad-index", "empty-file"])
def test_an_unusable_snapshot_means_a_full_replay_never_a_wrong_state(
        tmp_path: Path, graph: RoadGraph, caplog: pytest.LogCaptureFixture, fault: str) -> None:
    db = tmp_path / "mae.sqlite3"
    first = Run(db, graph, every=1000)
    first.run(commands(6))
    state: dict[str, Any] | None = vars(first.service.state)
    first.close()
    ((seq, path),) = SnapshotFiles(db).paths()
    if fault == "old-version":
        _rewrap(path, lambda d: d.update(schema="0" * 16))
    elif fault == "other-database":
        other = tmp_path / "other.sqlite3"
        o = Run(other, graph, every=1000)
        o.run([*commands(6)[:-1], AddNote("C000002", "different")])
        o.close()
        assert o.service.last_seq == seq
        shutil.rmtree(SnapshotFiles(db).directory)
        shutil.copytree(SnapshotFiles(other).directory, SnapshotFiles(db).directory)
    elif fault == "ahead-of-log":
        with SqliteEventStore(db)._write as conn:
            conn.execute("DELETE FROM events WHERE seq > ?", (seq - 3,))
        state = None  # the log itself is shorter now
    elif fault == "bad-index":
        _rewrap(path, lambda d: d["extra"]["index"]["audiences"].update(table="nonsense"))
    else:
        path.write_bytes(b"")  # a crash between create and write on a filesystem without order
    with caplog.at_level(logging.WARNING, logger="web.snapshots"):
        second = Run(db, graph, every=1000)
    assert "skipping snapshot" in caplog.text
    assert second.replayed == second.service.last_seq, "a full replay"
    if state is not None:
        assert vars(second.service.state) == state
    second.close()


def test_snapshots_off_write_and_read_nothing(tmp_path: Path, graph: RoadGraph) -> None:
    db = tmp_path / "mae.sqlite3"
    first = Run(db, graph, every=3)
    first.run(commands(3))
    first.close()
    off = Run(db, graph, every=0)
    assert off.replayed == off.service.last_seq
    off.run([AddNote("C000001", "x")])
    off.close()
    assert max(s for s, _ in SnapshotFiles(db).paths()) < off.service.last_seq


def test_a_resume_older_than_the_window_gets_the_state_not_a_partial_backlog(
        tmp_path: Path, graph: RoadGraph) -> None:
    db = tmp_path / "mae.sqlite3"
    r = Run(db, graph, every=0, window=8)
    r.run(commands(10))
    window = r.service._index.audiences
    assert len(window) <= 10 and window.first_seq > 1, "the window stays bounded"
    dispatcher = Principal("p1", "Disp", Role.DISPATCHER)
    _, old = r.service.subscribe(dispatcher, since=0)
    # the state as of then, rendered as a snapshot off the loop when the backlog is sent
    assert old.since is None and old.frozen is not None
    assert old.frozen.state.last_seq == old.upto == r.service.last_seq
    since = window.first_seq - 1
    _, recent = r.service.subscribe(dispatcher, since=since)
    assert not recent.head and recent.since == since
    assert recent.span.first == since + 1 and recent.upto == r.service.last_seq
    assert len(recent.span.items) == r.service.last_seq - since
    r.close()


def test_a_new_subscribers_snapshot_is_the_state_it_came_to_rendered_off_the_loop(
        tmp_path: Path, graph: RoadGraph) -> None:
    """A board of thousands of alarms, times a room of pages reconnecting at once, stalled
    every other client while the snapshots were built on the event loop. The snapshot is the
    state as of the subscriber's arrival (its live events follow from there), rendered in the
    backlog's worker thread, whatever the live state did meanwhile."""
    r = Run(tmp_path / "mae.sqlite3", graph, every=0)
    r.run(commands(3))
    _, plan = r.service.subscribe(Principal("p1", "Disp", Role.DISPATCHER), since=None)
    r.run([ReceiveAlarm(Alarm(
        agency=Agency.POLICE, reference="R-late", received_at=T0 + timedelta(hours=9),
        location=Location(65.6, 22.1), priority=Priority.URGENT, category=Category.PSYCHOSIS))])
    assert r.service.last_seq > plan.upto  # the live state moved on
    fanout, threads = r.service._fanout, []
    render = fanout.snapshot

    def recorded(viewer: Any, *, at: Any = None) -> dict[str, Any]:
        threads.append(threading.current_thread().name)
        return render(viewer, at=at)

    fanout.snapshot = recorded  # type: ignore[method-assign]

    async def pages() -> list[list[str]]:
        return [page async for page in r.service.backlog(plan)]

    first = json.loads(asyncio.run(pages())[0][0])
    assert first["type"] == "snapshot" and first["seq"] == plan.upto
    assert {c["callout_id"] for c in first["callouts"]} == {"C000001", "C000002", "C000003"}
    assert threads == ["mae-backlog_0"], threads
    r.close()


@BOTH_STORES
def test_the_app_snapshots_right_after_a_long_replay_and_at_shutdown(
        tmp_path: Path, graph: RoadGraph) -> None:
    """A log replayed in full at start is snapshotted at once in the background (the next
    start is quick even if this process dies), and the app's shutdown writes the last one."""
    db = tmp_path / "mae.sqlite3"
    first = Run(db, graph, every=0)
    first.run(commands(5))
    first.close()
    assert snapshot_seqs(db) == []
    # the log's clock: its assignment's acknowledgement is not overdue (on the wall clock a
    # tick would time it out, one more event, before or after health by timing)
    server = thread_server(db, make_tokens(db), snapshot_every=5, clock=ManualClock())
    try:
        deadline = time.monotonic() + 20
        while not snapshot_seqs(db) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert snapshot_seqs(db) == [first.service.last_seq]
        with server.http("police") as police:
            ack = police.post("/api/alarms", json={
                "reference": "late", "priority": 2, "category": "psychosis",
                "location": {"place": "Kalix"}})
            assert ack.status_code == 201, ack.text
        with server.http(None) as http:
            end = http.get("/api/health").json()["seq"]
        assert end == first.service.last_seq + 1
    finally:
        server.stop()
    assert snapshot_seqs(db) == [end, first.service.last_seq]


def test_a_snapshot_that_cannot_be_written_only_warns(
        tmp_path: Path, graph: RoadGraph, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "mae.sqlite3"
    SnapshotFiles(db).directory.write_text("not a directory")
    first = Run(db, graph, every=3)
    with caplog.at_level(logging.WARNING, logger="web.snapshots"):
        first.run(commands(3))
    assert "could not write a snapshot" in caplog.text
    state = vars(first.service.state)
    first.close()
    again = Run(db, graph, every=3)
    assert again.replayed == again.service.last_seq and vars(again.service.state) == state
    again.close()


# -- the closed history decoded after the start --------------------------------------------------

def closed_and_open(n_closed: int) -> list[Command]:
    """A unit that closes ``n_closed`` callouts (notes, outcomes), then one callout left open."""
    out: list[Command] = [RegisterUnit("U1", "MAE 1", "Luleå", LULEA),
                          StartShift("U1", ("nurse",), T0 + timedelta(days=30))]
    for i in range(n_closed + 1):
        out.append(ReceiveAlarm(Alarm(
            agency=Agency.POLICE, reference=f"R{i}", received_at=T0 + timedelta(hours=i),
            location=Location(65.0 + i / 100, 21.0), priority=Priority.URGENT,
            category=Category.PSYCHOSIS, note="patient text")))
        if i < n_closed:
            cid = f"C{i + 1:06d}"
            out += [Assign(cid, "U1", 600.0), ReportStatus("U1", UnitStatus.EN_ROUTE),
                    ReportStatus("U1", UnitStatus.ON_SCENE), AddNote(cid, "seen"),
                    RecordOutcome("U1", cid, Outcome(OutcomeKind.STAYED_HOME)),
                    ReportStatus("U1", UnitStatus.AVAILABLE)]
    return out


def test_a_restart_serves_the_board_holds_commands_until_the_history_is_in(
        tmp_path: Path, graph: RoadGraph) -> None:
    """The service restored with its history pending: the board is there, a command waits
    (it is decided on the whole state, never on a part), and once the history is joined the
    command is done and the state is the log's."""
    db = tmp_path / "mae.sqlite3"
    first = Run(db, graph, every=1000)
    first.run(closed_and_open(30))
    whole = vars(first.service.state)
    first.close()

    store = SqliteEventStore(db)
    service = DispatchService(store, graph=graph, clock=ManualClock(),
                              snapshots=Snapshotter(db, every=1000))
    try:
        assert service.load(prepare=False, defer_history=True) == 0
        assert service.history_pending and service.writer.held
        assert isinstance(service.state.callouts, PartialDict)
        assert [c.callout_id for c in service.state.open_callouts()] == ["C000031"]

        async def go() -> None:
            note = asyncio.ensure_future(service.execute(AddNote("C000031", "later"),
                                                         actor="tester"))
            await asyncio.sleep(0.2)
            assert not note.done(), "held while the history is pending"
            await service.complete_history()
            done = await note
            assert done.last_seq == whole["last_seq"] + 1
            await service.drain()

        asyncio.run(go())
        assert not service.history_pending and not service.writer.held
        assert type(service.state.callouts) is CowDict  # whole: no PartialDict
        replayed = DispatchState.replay(store.read(0))
        assert service.state.snapshot() == replayed.snapshot()
        assert list(service.state.alarms) == list(replayed.alarms)
    finally:
        service.close()
        store.close()


def test_a_history_that_does_not_decode_is_rebuilt_from_the_log(
        tmp_path: Path, graph: RoadGraph, caplog: pytest.LogCaptureFixture) -> None:
    """The board decodes but the closed history does not (its keys do not match its
    entries, under a valid checksum): the service rebuilds the state from the log before it
    takes writes, never serving a part of it as the whole."""
    db = tmp_path / "mae.sqlite3"
    first = Run(db, graph, every=1000)
    first.run(closed_and_open(5))
    first.close()
    ((_, path),) = SnapshotFiles(db).paths()
    _rewrap(path, lambda d: d["deferred"][0][1].append("C777777"))
    store = SqliteEventStore(db)
    service = DispatchService(store, graph=graph, clock=ManualClock(),
                              snapshots=Snapshotter(db, every=1000))
    try:
        service.load(prepare=False, defer_history=True)
        assert service.history_pending

        async def go() -> None:
            with caplog.at_level(logging.ERROR, logger="web.service"):
                await service.complete_history()
            await service.execute(AddNote("C000006", "after"), actor="tester")
            await service.drain()

        asyncio.run(go())
        assert "replaying the log" in caplog.text
        assert not service.history_pending and type(service.state.callouts) is CowDict
        assert service.state.snapshot() == DispatchState.replay(store.read(0)).snapshot()
        assert "C777777" not in service.state.callouts
    finally:
        service.close()
        store.close()


def test_health_says_whether_the_history_is_loaded(tmp_path: Path, graph: RoadGraph) -> None:
    """``/api/health`` answers while the closed history is decoded and says so
    (``history_loaded``), then says it is in."""
    db = tmp_path / "mae.sqlite3"
    first = Run(db, graph, every=1000)
    first.run(closed_and_open(5))
    first.close()
    server = thread_server(db, make_tokens(db), snapshot_every=1000, clock=ManualClock())
    try:
        with server.http(None) as http:
            deadline = time.monotonic() + 20
            while not http.get("/api/health").json()["history_loaded"]:
                assert time.monotonic() < deadline, "the history never came in"
                time.sleep(0.05)
            body = http.get("/api/health").json()
            assert body["seq"] == first.service.last_seq and body["open_callouts"] == 1
    finally:
        server.stop()
