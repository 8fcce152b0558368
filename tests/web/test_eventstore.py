"""One contract for every event store, run against SQLite and Redis alike: atomic ordered
appends, the optimistic check, exactly-once operations, reopening, paged reads, following the
log (``wait_beyond``), logs written before events carried a schema version, and a store that
fails (a full disk, a killed redis-server) and recovers. SQLite-only
behaviour (its file lock, its older table layouts) follows at the end; Redis-only behaviour is in
``test_redislog.py``."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from dispatch import events
from dispatch.events import (
    SCHEMA_VERSIONS,
    AlarmReceived,
    Event,
    ShiftEnded,
    UnitRegistered,
    event_from_dict,
)
from dispatch.model import Agency, Alarm, Category, Location, Priority
from dispatch.state import DispatchState
from dispatch.status import CalloutStatus, UnitStatus
from tests.redis_server import RedisServer, stream_entries
from tests.web.conftest import ROOT, T0, free_port, process_server
from tests.web.test_storage_faults import fill, small_tmpfs
from web.eventstore import (
    DatabaseLocked,
    EventStore,
    OpRecord,
    SqliteEventStore,
    StorageUnavailable,
    StoreConflict,
    lock_database,
)
from web.redislog import PAGE, RedisEventStore


def unit(i: int) -> UnitRegistered:
    return UnitRegistered(at=T0, unit_id=f"U{i}", name="u", base="b", position=Location(65, 22))


def alarm_event(i: int) -> AlarmReceived:
    """A real alarm event (the kind whose loss would matter most), numbered ``i``."""
    alarm = Alarm(agency=Agency.POLICE, reference=f"L-{i}", received_at=T0,
                  location=Location(65.584, 22.154), priority=Priority.URGENT,
                  category=Category.PSYCHOSIS)
    return AlarmReceived(at=T0, alarm=alarm, callout_id=f"C{i:06d}")


# -- the two stores behind one interface --------------------------------------------------------

LOG_V1 = Path(__file__).parents[1] / "data" / "events" / "log_v1.jsonl"

#: The ``events`` table as the first store made it (before ``ops`` existed), and as today.
EVENTS_TABLE = """CREATE TABLE IF NOT EXISTS events (
    seq   INTEGER PRIMARY KEY,
    type  TEXT NOT NULL,
    at    TEXT NOT NULL,
    data  TEXT NOT NULL
)"""
OPS_TABLE = """CREATE TABLE IF NOT EXISTS ops (
    scope      TEXT NOT NULL,
    op         TEXT NOT NULL,
    digest     TEXT NOT NULL,
    callout_id TEXT,
    seq        INTEGER NOT NULL,
    PRIMARY KEY (scope, op)
) WITHOUT ROWID"""


def v1_rows() -> list[tuple[int, dict[str, Any]]]:
    """The fixture log as written before events carried a version: (seq, stored data)."""
    rows = []
    for line in LOG_V1.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        rows.append((data.pop("seq"), data))
    return rows


class Backend:
    """One kind of store for the contract: open it (again), plant raw rows the way an older
    version wrote them, and read back what is stored, bypassing the store."""

    name: str

    def open(self) -> EventStore:
        raise NotImplementedError

    def plant(self, rows: list[tuple[int, dict[str, Any]]]) -> None:
        raise NotImplementedError

    def stored_data(self) -> dict[int, dict[str, Any]]:
        raise NotImplementedError


class SqliteBackend(Backend):
    name = "sqlite"

    def __init__(self, path: Path, tables: tuple[str, ...] = (EVENTS_TABLE,)) -> None:
        self.path = path
        self.tables = tables

    def open(self) -> EventStore:
        return SqliteEventStore(self.path)

    def plant(self, rows: list[tuple[int, dict[str, Any]]]) -> None:
        with closing(sqlite3.connect(self.path)) as conn, conn:
            for table in self.tables:
                conn.execute(table)
            conn.executemany("INSERT INTO events (seq, type, at, data) VALUES (?,?,?,?)",
                             [(seq, d["type"], d["at"], json.dumps(d, ensure_ascii=False))
                              for seq, d in rows])

    def stored_data(self) -> dict[int, dict[str, Any]]:
        with closing(sqlite3.connect(self.path)) as conn:
            return {seq: json.loads(data)
                    for seq, data in conn.execute("SELECT seq, data FROM events")}


class RedisBackend(Backend):
    name = "redis"

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = redis.Redis.from_url(url)

    def open(self) -> EventStore:
        return RedisEventStore(self.url)

    def plant(self, rows: list[tuple[int, dict[str, Any]]]) -> None:
        for seq, data in rows:
            self.client.xadd("mae:events", {"d": json.dumps(data, ensure_ascii=False)},
                             id=f"{seq}-0")

    def stored_data(self) -> dict[int, dict[str, Any]]:
        return {int(entry_id.split(b"-")[0]): json.loads(fields[b"d"])
                for entry_id, fields in stream_entries(self.client, "mae:events")}


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield SqliteBackend(tmp_path / "log.sqlite3")
    else:
        url = request.getfixturevalue("redis_url")
        made = RedisBackend(url)
        yield made
        made.client.close()


@pytest.fixture()
def store(backend: Backend) -> Iterator[EventStore]:
    opened = backend.open()
    yield opened
    opened.close()


# -- the contract -------------------------------------------------------------------------------


def test_appends_are_numbered_and_read_back_after_reopening(backend: Backend) -> None:
    store = backend.open()
    assert isinstance(store, EventStore) and store.last_seq == 0
    first = store.append([unit(1), unit(2)], expected_last_seq=0)
    assert [e.seq for e in first] == [1, 2]
    store.append([ShiftEnded(at=T0, unit_id="U1")], expected_last_seq=2)
    store.close()
    again = backend.open()
    assert again.last_seq == 3
    assert [(e.seq, type(e.event).__name__) for e in again.read(1)] == [
        (2, "UnitRegistered"), (3, "ShiftEnded")]
    assert next(again.read(0)).event == unit(1)
    assert list(again.read(3)) == []
    again.close()


def test_a_stale_writer_is_refused_and_stores_nothing(backend: Backend) -> None:
    a, b = backend.open(), backend.open()
    a.append([unit(1)], expected_last_seq=0)
    op = OpRecord("unit:U2", "op-1", "digest")
    with pytest.raises(StoreConflict, match="ends at 1"):
        b.append([unit(2), unit(3)], expected_last_seq=0, op=op)
    assert [e.seq for e in a.read()] == [1]
    assert b.find_op("unit:U2", "op-1") is None  # the refused batch's op was not kept
    assert b.refresh() == 1 and b.last_seq == 1
    assert [e.seq for e in b.append([unit(2)], expected_last_seq=1)] == [2]
    a.close()
    b.close()


def test_a_stale_writer_without_operations_is_refused_and_stores_none_of_its_batch(
        backend: Backend) -> None:
    """The plain append (one statement on SQLite): the batch's first seq is taken, its second
    is free, and neither is stored; a writer that expects more than the log holds would leave
    a gap and is refused too."""
    a, b = backend.open(), backend.open()
    a.append([unit(1)], expected_last_seq=0)
    with pytest.raises(StoreConflict, match="ends at 1"):
        b.append([unit(2), unit(3)], expected_last_seq=0)
    with pytest.raises(StoreConflict, match="ends at 1"):
        b.append([unit(4)], expected_last_seq=3)
    assert [(e.seq, e.event) for e in a.read()] == [(1, unit(1))]
    assert b.refresh() == 1
    assert [e.seq for e in b.append([unit(2), unit(3)], expected_last_seq=1)] == [2, 3]
    assert [e.event for e in a.read()] == [unit(1), unit(2), unit(3)]
    a.close()
    b.close()


def test_operations_are_kept_with_their_seqs_and_survive_reopening(backend: Backend) -> None:
    store = backend.open()
    store.append([unit(1), unit(2)], expected_last_seq=0,
                 op=OpRecord("unit:U1", "a", "d1", "C000001"))
    group = [OpRecord("unit:U1", "b", "d2", None, 3), OpRecord("unit:U2", "b", "d3", "C9", 4)]
    store.append([unit(3), unit(4)], expected_last_seq=2, ops=group)
    store.close()
    again = backend.open()
    assert again.find_op("unit:U1", "a") == OpRecord("unit:U1", "a", "d1", "C000001", 2)
    assert again.find_op("unit:U1", "b") == group[0]
    assert again.find_op("unit:U2", "b") == group[1]
    assert again.find_op("unit:U2", "a") is None  # ops are scoped per unit
    assert again.find_op("unit:U3", "b") is None
    again.close()


def test_an_operation_retried_after_a_conflict_is_stored_exactly_once(backend: Backend) -> None:
    """The writer's retry loop: a batch refused by the check leaves no op, so the re-decided
    batch stores it once; a later retry finds it and stores nothing more."""
    a, b = backend.open(), backend.open()
    a.append([unit(1)], expected_last_seq=0)
    op = OpRecord("unit:U7", "op-7", "d7", "C7")
    with pytest.raises(StoreConflict):
        b.append([ShiftEnded(at=T0, unit_id="U7")], expected_last_seq=0, op=op)
    assert b.find_op("unit:U7", "op-7") is None
    b.append([ShiftEnded(at=T0, unit_id="U7")], expected_last_seq=b.refresh(), op=op)
    assert a.find_op("unit:U7", "op-7") == OpRecord("unit:U7", "op-7", "d7", "C7", 2)
    assert [type(e.event).__name__ for e in a.read()] == ["UnitRegistered", "ShiftEnded"]
    a.close()
    b.close()


def test_long_logs_read_in_order_across_pages(store: EventStore) -> None:
    total = 2 * PAGE + 234
    batch = 100
    for start in range(0, total, batch):
        count = min(batch, total - start)
        store.append([alarm_event(i) for i in range(start + 1, start + count + 1)],
                     expected_last_seq=start)
    assert store.last_seq == total
    seqs = [env.seq for env in store.read()]
    assert seqs == list(range(1, total + 1))
    tail = list(store.read(PAGE - 1))
    assert [env.seq for env in tail[:3]] == [PAGE, PAGE + 1, PAGE + 2]
    assert len(tail) == total - PAGE + 1
    assert tail[-1].event == alarm_event(total)


def test_wait_beyond_returns_at_once_when_the_log_is_already_past(store: EventStore) -> None:
    store.append([unit(1), unit(2)], expected_last_seq=0)
    assert store.wait_beyond(1, timeout_s=30) == 2


def test_wait_beyond_gives_up_after_the_timeout_on_a_quiet_log(store: EventStore) -> None:
    store.append([unit(1)], expected_last_seq=0)
    assert store.wait_beyond(1, timeout_s=0.2) == 1
    assert store.wait_beyond(1, timeout_s=0) == 1


def test_wait_beyond_wakes_when_another_writer_appends(backend: Backend) -> None:
    """A follower blocked in ``wait_beyond`` sees an append made through another store
    object (another instance); the timeout is long, so returning early proves the wake-up."""
    follower, writer = backend.open(), backend.open()
    follower_end: list[int] = []
    waiting = threading.Thread(target=lambda: follower_end.append(
        follower.wait_beyond(0, timeout_s=60)))
    waiting.start()
    writer.append([unit(1), unit(2)], expected_last_seq=0)
    waiting.join(timeout=60)
    assert not waiting.is_alive() and follower_end == [2]
    follower.close()
    writer.close()


def test_a_log_written_before_schema_versions_opens_reads_and_grows(backend: Backend) -> None:
    rows = v1_rows()
    assert not any("v" in data for _, data in rows)
    backend.plant(rows)
    store = backend.open()
    assert store.last_seq == 48
    log = list(store.read())
    assert [env.event for env in log] == [event_from_dict(dict(data)) for _, data in rows]
    state = DispatchState.replay(log)
    assert state.callouts["C000001"].status is CalloutStatus.CLOSED
    assert state.units["MAE-PITEA"].status is UnitStatus.OFF_DUTY
    later = T0 + timedelta(days=1)
    store.append([ShiftEnded(at=later, unit_id="MAE-SUNDERBY")], expected_last_seq=48)
    store.close()
    stored = backend.stored_data()
    assert stored[49]["v"] == SCHEMA_VERSIONS["ShiftEnded"]  # new entries carry the version
    assert all("v" not in stored[seq] for seq in range(1, 49))  # old ones are never rewritten
    again = backend.open()
    assert [env.seq for env in again.read(47)] == [48, 49]
    assert next(again.read(48)).event == ShiftEnded(at=later, unit_id="MAE-SUNDERBY")
    again.close()


def test_the_store_keeps_the_version_and_reads_old_entries_through_the_upcasters(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Suppose ``NoteAdded`` v2 renamed ``text`` to ``body``: a v1 entry in the log reads as
    the new event, and entries written now are stored as v2."""
    backend.plant(v1_rows())

    @dataclass(frozen=True, slots=True, kw_only=True)
    class NoteAdded(Event):
        callout_id: str
        body: str

    def text_to_body(data: dict[str, Any]) -> dict[str, Any]:
        data["body"] = data.pop("text")
        return data

    monkeypatch.setitem(events._EVENT_TYPES, "NoteAdded", NoteAdded)
    monkeypatch.setitem(SCHEMA_VERSIONS, "NoteAdded", 2)
    monkeypatch.setitem(events.UPCASTERS, ("NoteAdded", 1), text_to_body)
    store = backend.open()
    (note,) = [env.event for env in store.read() if isinstance(env.event, NoteAdded)]
    assert note.body == "Police on scene; door code given by phone."
    store.append([NoteAdded(at=T0, callout_id="C000001", body="called back")],
                 expected_last_seq=48)
    assert backend.stored_data()[49] == {"type": "NoteAdded", "v": 2, "at": T0.isoformat(),
                                         "actor": "system", "callout_id": "C000001",
                                         "body": "called back"}
    assert [env.event for env in store.read(48)] == [
        NoteAdded(at=T0, callout_id="C000001", body="called back")]
    store.close()


@pytest.fixture(params=["sqlite-disk-full", "redis-killed"])
def outage(request: pytest.FixtureRequest, tmp_path: Path
           ) -> Iterator[tuple[Backend, Callable[[], None], Callable[[], None]]]:
    """A store on its own medium and a way to break it and mend it: SQLite on a small tmpfs
    filled to ENOSPC and emptied again; Redis (append-only file) killed with SIGKILL and
    started again on the same folder and port."""
    if request.param == "sqlite-disk-full":
        with small_tmpfs(tmp_path) as mount:
            fillers: list[Path] = []
            yield (SqliteBackend(mount / "log.sqlite3"), lambda: fillers.append(fill(mount)),
                   lambda: fillers.pop().unlink())
        return
    server = RedisServer(request.getfixturevalue("redis_folder"), appendonly=True).start()
    made = RedisBackend(server.url())

    def restart() -> None:
        server.start()

    try:
        yield made, server.kill, restart
    finally:
        made.client.close()
        server.stop()


def test_a_failing_store_raises_storage_unavailable_stores_nothing_and_recovers(
        outage: tuple[Backend, Callable[[], None], Callable[[], None]]) -> None:
    backend, break_store, mend_store = outage
    store = backend.open()
    store.append([unit(1), unit(2)], expected_last_seq=0)
    break_store()
    with pytest.raises(StorageUnavailable) as failed:
        store.append([alarm_event(i) for i in range(1, 300)], expected_last_seq=2,
                     op=OpRecord("unit:U1", "lost", "d"))
    assert failed.value.store == "events"
    assert store.last_seq == 2
    mend_store()
    store.probe()
    assert store.refresh() == 2
    assert store.find_op("unit:U1", "lost") is None
    store.append([unit(3)], expected_last_seq=2, op=OpRecord("unit:U1", "lost", "d"))
    store.close()
    again = backend.open()
    assert [env.event for env in again.read()] == [unit(1), unit(2), unit(3)]
    assert again.find_op("unit:U1", "lost") == OpRecord("unit:U1", "lost", "d", None, 3)
    again.close()


def test_probe_succeeds_on_a_working_store(store: EventStore) -> None:
    store.probe()
    assert store.last_seq == 0 and list(store.read()) == []  # a probe is not an event


# -- SQLite only ----------------------------------------------------------------------------------


def test_a_sqlite_database_with_the_ops_table_but_no_versions_opens(tmp_path: Path) -> None:
    backend = SqliteBackend(tmp_path / "old.sqlite3", (EVENTS_TABLE, OPS_TABLE))
    backend.plant(v1_rows())
    store = backend.open()
    assert store.last_seq == 48 and len(list(store.read())) == 48
    store.append([unit(1)], expected_last_seq=48, op=OpRecord("unit:U1", "x", "d"))
    assert store.find_op("unit:U1", "x") == OpRecord("unit:U1", "x", "d", None, 49)
    store.close()


# -- one service per database ------------------------------------------------------------------


def test_a_second_service_on_the_same_database_refuses_in_one_line(
        db: Path, tokens: dict[str, str]) -> None:
    """Two real ``mae serve`` processes: the second exits at once with one line naming the
    holder, and the first keeps serving and writing."""
    first, proc = process_server(db, tokens, free_port())
    try:
        second = subprocess.run(
            [sys.executable, "-m", "mae.cli", "serve", "--database", str(db), "--port",
             str(free_port())], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert second.returncode == 1
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and "in use by another mae serve" in lines[0], second.stderr
        with first.http("police") as police:
            reply = police.post("/api/alarms", json={
                "reference": "L-1", "priority": 2, "category": "psychosis",
                "location": {"lat": 65.584, "lon": 22.154}})
            assert reply.status_code == 201
    finally:
        first.stop()
        if proc.stderr is not None:
            proc.stderr.close()


def test_the_lock_is_held_while_open_and_released_on_close(tmp_path: Path) -> None:
    db = tmp_path / "x.sqlite3"
    held = lock_database(db)
    with pytest.raises(DatabaseLocked, match=str(os.getpid())):
        lock_database(db)
    held.close()
    lock_database(db).close()
