"""The writer's group commit and bounded queue, on a real SQLite file: commands waiting together
share one transaction, each is decided against the state the earlier ones leave, a refused one
changes nothing for the others, and a full queue answers 503 with Retry-After."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from dispatch.commands import Command, DispatchConfig, EndShift, RegisterUnit, StartShift
from dispatch.errors import InvalidCommand, InvalidTransition, UnknownUnit
from dispatch.events import Envelope
from dispatch.model import Location
from dispatch.state import DispatchState
from tests.web.conftest import BOTH_STORES, T0, ManualClock, thread_server
from tests.web.test_storage_faults import fill, small_tmpfs
from web.audit import AuditLog
from web.auth import Principal, Role
from web.errors import Busy, describe
from web.eventstore import SqliteEventStore, StorageUnavailable, StoreConflict
from web.visibility import Audience
from web.writer import Executed, LogIndex, Writer

HOME = Location(65.58, 22.15)


class Published:
    """What the writer hands the fan-out, in order."""

    def __init__(self) -> None:
        self.seqs: list[int] = []

    def __call__(self, envelopes: list[Envelope], audiences: list[Audience]) -> None:
        assert len(envelopes) == len(audiences)
        self.seqs.extend(e.seq for e in envelopes)


def make_writer(db: Path, **options: Any) -> tuple[Writer, SqliteEventStore, Published]:
    store = SqliteEventStore(db)
    published = Published()
    writer = Writer(store, DispatchState(), LogIndex(), clock=ManualClock(),
                    config=DispatchConfig(), publish=published, **options)
    writer.load()
    return writer, store, published


def register(i: int) -> RegisterUnit:
    return RegisterUnit(f"U{i}", f"unit {i}", "base", HOME)


def on_shift(i: int) -> StartShift:
    return StartShift(f"U{i}", ("A", "B"), T0 + timedelta(hours=8))


async def all_of(writer: Writer, commands: list[Command],
                 ops: list[tuple[str, str] | None] | None = None) -> list[Executed | BaseException]:
    ops = ops or [None] * len(commands)
    return await asyncio.gather(*(writer.execute(c, actor="t", op=o, bounded=True)
                                  for c, o in zip(commands, ops, strict=True)),
                                return_exceptions=True)


def stored(db: Path) -> list[tuple[int, str]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return [(int(s), str(t)) for s, t in conn.execute("SELECT seq, type FROM events")]


def test_concurrent_commands_share_one_commit_and_are_answered_in_log_order(
        tmp_path: Path) -> None:
    writer, store, published = make_writer(tmp_path / "w.sqlite3")
    try:
        n = 40
        results = asyncio.run(all_of(writer, [register(i) for i in range(n)]))
        assert writer.commits < n  # they waited together: here all in one transaction
        assert writer.commits == 1
        seqs = [r.last_seq for r in results if isinstance(r, Executed)]
        assert seqs == list(range(1, n + 1))  # answered in submission order, as logged
        assert [s for s, _ in stored(tmp_path / "w.sqlite3")] == seqs == published.seqs
        assert writer.state.snapshot() == DispatchState.replay(store.read()).snapshot()
    finally:
        store.close()


def test_each_command_is_decided_against_the_earlier_ones_and_a_refusal_stays_alone(
        tmp_path: Path) -> None:
    """In one batch a shift may start on a unit registered just before it; a command the
    rules refuse (an unknown unit, a unit already on shift) fails alone."""
    writer, store, _ = make_writer(tmp_path / "w.sqlite3")
    try:
        results = asyncio.run(all_of(writer, [
            register(1), on_shift(1), on_shift(9), register(2), on_shift(1), register(1),
            on_shift(2)]))
        assert writer.commits == 1
        assert isinstance(results[2], UnknownUnit)
        assert isinstance(results[4], InvalidTransition | InvalidCommand)
        assert isinstance(results[5], InvalidCommand)
        ok = [r for r in results if isinstance(r, Executed)]
        assert [r.last_seq for r in ok] == [1, 2, 3, 4]
        assert [t for _, t in stored(tmp_path / "w.sqlite3")] == [
            "UnitRegistered", "ShiftStarted", "UnitRegistered", "ShiftStarted"]
        assert writer.state.snapshot() == DispatchState.replay(store.read()).snapshot()
    finally:
        store.close()


def test_an_op_repeated_in_the_same_batch_is_one_event_and_a_duplicate(tmp_path: Path) -> None:
    writer, store, _ = make_writer(tmp_path / "w.sqlite3")
    try:
        asyncio.run(all_of(writer, [register(1), on_shift(1)]))
        key = ("unit:U1", "op-1")
        first, again = asyncio.run(all_of(writer, [EndShift("U1"), EndShift("U1")], [key, key]))
        assert isinstance(first, Executed) and isinstance(again, Executed)
        assert not first.decision.duplicate and again.decision.duplicate
        assert again.last_seq == first.last_seq == 3
        later = asyncio.run(all_of(writer, [EndShift("U1")], [key]))[0]
        assert isinstance(later, Executed) and later.decision.duplicate
        assert later.last_seq == 3 and len(stored(tmp_path / "w.sqlite3")) == 3
    finally:
        store.close()


def test_without_group_commit_each_command_is_its_own_transaction(tmp_path: Path) -> None:
    writer, store, _ = make_writer(tmp_path / "w.sqlite3", group_commit=False)
    try:
        asyncio.run(all_of(writer, [register(i) for i in range(5)]))
        assert writer.commits == 5
    finally:
        store.close()


def test_a_full_queue_refuses_with_busy_and_keeps_the_rest(tmp_path: Path) -> None:
    writer, store, _ = make_writer(tmp_path / "w.sqlite3", queue_size=3)
    try:
        results = asyncio.run(all_of(writer, [register(i) for i in range(5)]))
        assert [type(r).__name__ for r in results] == ["Executed"] * 3 + ["Busy"] * 2
        busy = results[3]
        assert isinstance(busy, Busy) and busy.retry_after_s >= 1
        assert len(stored(tmp_path / "w.sqlite3")) == 3
    finally:
        store.close()


class CommitBlocker:
    """Holds up the service's commits: SQLite's write lock taken by another connection, or
    Redis's writes paused (``CLIENT PAUSE … WRITE``) for the Redis store."""

    def __init__(self, db: Path, store: str | None) -> None:
        self.sqlite = sqlite3.connect(db, isolation_level=None) if store is None else None
        self.redis = redis.Redis.from_url(store) if store is not None else None

    def hold(self) -> None:
        if self.sqlite is not None:
            self.sqlite.execute("BEGIN IMMEDIATE")
        else:
            assert self.redis is not None
            self.redis.client_pause(60000, all=False)  # CLIENT PAUSE 60000 WRITE

    def release(self) -> None:
        if self.sqlite is not None:
            if self.sqlite.in_transaction:
                self.sqlite.execute("ROLLBACK")
        elif self.redis is not None:
            self.redis.client_unpause()

    def close(self) -> None:
        self.release()
        if self.sqlite is not None:
            self.sqlite.close()
        if self.redis is not None:
            self.redis.close()


@BOTH_STORES
def test_a_full_queue_answers_rest_503_with_retry_after(
        db: Path, tokens: dict[str, str], service_store: str | None) -> None:
    """A real server whose commit is held up (another connection holds SQLite's write lock,
    or Redis pauses writes): commands beyond ``write_queue_size`` get a JSON 503 with
    Retry-After at once (a socket an error frame with ``retry_after_s``); the queued ones
    complete when the store takes writes again."""
    server = thread_server(db, tokens, demo_units=True, write_queue_size=2,
                           tick_interval_s=60)
    blocker = CommitBlocker(db, service_store)
    answers: list[int] = []
    try:
        blocker.hold()
        done = threading.Event()

        def post(ref: str) -> None:
            with server.http("police") as police:
                reply = police.post("/api/alarms", json={
                    "reference": ref, "priority": 2, "category": "psychosis",
                    "location": {"lat": 65.584, "lon": 22.154}})
                answers.append(reply.status_code)
                if reply.status_code == 503:
                    assert reply.headers["retry-after"] == "1"
                    assert reply.json()["error"] == "busy"
                    done.set()

        threads = [threading.Thread(target=post, args=(f"Q-{i}",)) for i in range(6)]
        for t in threads:
            t.start()
        assert done.wait(8), f"nobody was refused: {answers}"
        crew = server.socket("/ws/crew", "crew_sun")  # a socket gets an error frame, stays open
        crew.ready()
        frame = crew.request({"type": "status", "status": "unavailable"})
        assert (frame["type"], frame["status"], frame["error"]) == ("error", 503, "busy")
        assert frame["retry_after_s"] == 1
        assert crew.request({"type": "ping"})["type"] == "pong"
        crew.close()
        blocker.release()
        for t in threads:
            t.join(30)
        assert answers.count(201) >= 2 and 503 in answers and set(answers) <= {201, 503}
    finally:
        blocker.close()
        server.stop()
    assert len([e for e in server.events() if type(e.event).__name__ == "AlarmReceived"]
               ) == answers.count(201)


@pytest.mark.parametrize("size", [1, 7])
def test_a_batch_never_grows_past_max_batch(tmp_path: Path, size: int) -> None:
    writer, store, _ = make_writer(tmp_path / "w.sqlite3", max_batch=size)
    try:
        asyncio.run(all_of(writer, [register(i) for i in range(14)]))
        assert writer.commits == -(-14 // size)
    finally:
        store.close()


def test_a_second_writer_catches_up_on_a_conflict_and_decides_again(tmp_path: Path) -> None:
    """Two writers on one file (a shared store; for SQLite the lock of ``mae serve`` normally
    prevents it): the stale one's append is refused by the store, it applies what the other
    stored and decides its batch again on that state, so a still-valid command goes through
    and one the other made invalid gets the core's refusal."""
    db = tmp_path / "w.sqlite3"
    one, store_one, _ = make_writer(db)
    two, store_two, published = make_writer(db)
    try:
        asyncio.run(all_of(one, [register(1)]))
        (done,) = asyncio.run(all_of(two, [register(2)]))
        assert isinstance(done, Executed) and done.last_seq == 2 and two.conflicts == 1
        assert "U1" in two.state.units and published.seqs == [1, 2]
        asyncio.run(all_of(two, [on_shift(2)]))
        (refused,) = asyncio.run(all_of(one, [on_shift(2)]))  # two already did it
        assert not isinstance(refused, StoreConflict) and isinstance(refused, Exception)
        assert describe(refused).status in (400, 409) and "U2" in str(refused)
        assert one.conflicts == 1 and one.state.last_seq == 3
        assert two.state.snapshot() == DispatchState.replay(store_two.read()).snapshot()
    finally:
        store_one.close()
        store_two.close()


def test_answers_come_in_log_order_refusals_included(tmp_path: Path) -> None:
    writer, store, _ = make_writer(tmp_path / "w.sqlite3")
    order: list[int] = []

    async def run() -> None:
        futures = [asyncio.ensure_future(writer.execute(c, actor="t")) for c in (
            register(1), on_shift(9), register(2), on_shift(8), on_shift(1))]
        def done_as(i: int) -> Callable[[object], None]:
            return lambda _: order.append(i)

        for i, f in enumerate(futures):
            f.add_done_callback(done_as(i))
        await asyncio.gather(*futures, return_exceptions=True)

    try:
        asyncio.run(run())
        assert order == [0, 1, 2, 3, 4] and writer.commits == 1
    finally:
        store.close()


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path) as mount:
        yield mount


def test_a_failed_group_commit_fails_what_depended_on_it(small_fs: Path) -> None:
    """On a full disk: a refusal judged before the batch's first command with events stands
    (it saw the real state); the commands with events fail with the storage error, and so do
    the refusals judged after them (on events that were never stored). Nothing is applied."""
    db = small_fs / "w.sqlite3"
    writer, store, published = make_writer(db)
    try:
        asyncio.run(all_of(writer, [register(1)]))
        fill(small_fs)
        results = asyncio.run(all_of(writer, [on_shift(9), register(2), on_shift(2),
                                              on_shift(8)]))
        assert isinstance(results[0], UnknownUnit)
        assert all(isinstance(r, StorageUnavailable) for r in results[1:]), results
        assert writer.state.last_seq == 1 and "U2" not in writer.state.units
        assert published.seqs == [1] and "events" in writer.storage_errors
        assert writer.state.snapshot() == DispatchState.replay(store.read()).snapshot()
    finally:
        store.close()


def test_audit_rows_of_commands_answered_together_share_a_transaction(tmp_path: Path) -> None:
    """Every command run on behalf of a principal gets its audit row, done or refused, before
    it is answered; rows that wait together are written in one transaction."""
    db = tmp_path / "w.sqlite3"
    audit = AuditLog(db)
    writer, store, _ = make_writer(db, audit=audit)
    admin = Principal("p-admin", "admin", Role.ADMIN)

    async def run_all() -> list[Executed | BaseException]:
        async def one(i: int) -> Executed:
            done = await writer.run(register(i % 25), principal=admin, client="c",
                                    action="register", target={"unit_id": f"U{i % 25}"})
            assert any(e.target.get("seq") == done.last_seq  # written before the answer
                       for e in audit.entries(limit=100))
            return done
        return await asyncio.gather(*(one(i) for i in range(30)), return_exceptions=True)

    try:
        results = asyncio.run(run_all())
        entries = audit.entries(limit=100)[::-1]
        assert len(entries) == 30
        assert sum(isinstance(r, Executed) for r in results) == 25
        assert sorted(e.result for e in entries) == ["ok"] * 25 + ["refused invalid_command "
                                                                    "(unit_id)"] * 5
        assert {e.target["unit_id"] for e in entries} == {f"U{i}" for i in range(25)}
        assert audit.transactions < 30
    finally:
        store.close()
        audit.close()
