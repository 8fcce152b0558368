"""What a command costs on Redis: its events, its op and its audit row go in one script call
(all or none, written once however often a lost race makes the writer decide again), a refused
append brings the events the writer missed, and a follower's blocking read brings the new
events, so neither reads them again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis

from dispatch.commands import DispatchConfig, RegisterUnit, SendMessage, StartShift
from dispatch.events import Envelope
from dispatch.model import Location
from dispatch.state import DispatchState
from tests.web.conftest import T0, ManualClock
from tests.web.test_eventstore import alarm_event
from web.auth import Principal, Role
from web.eventstore import OpRecord, OpsSeen, OutcomeUnknown, StorageUnavailable, StoreConflict
from web.redis_audit import RedisAuditLog
from web.redislog import CONFLICT_TAIL, RedisEventStore
from web.visibility import Audience
from web.writer import Executed, LogIndex, Writer

HOME = Location(65.58, 22.15)
ADMIN = Principal("p-admin", "admin", Role.ADMIN)
CREW = Principal("p-crew", "crew", Role.CREW, unit_id="U1")


def calls(client: redis.Redis) -> dict[str, int]:
    """Commands Redis ran so far by name (Lua's own calls included), this question aside."""
    stats: Any = client.info("commandstats")
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()
            if k != "cmdstat_info"}


def since(client: redis.Redis, before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in calls(client).items() if v != before.get(k, 0)}


@pytest.fixture()
def client(redis_url: str) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(redis_url)
    yield c
    c.close()


class Published:
    def __init__(self) -> None:
        self.seqs: list[int] = []

    def __call__(self, envelopes: list[Envelope], audiences: list[Audience]) -> None:
        self.seqs.extend(e.seq for e in envelopes)


def make_writer(url: str) -> tuple[Writer, RedisEventStore, RedisAuditLog, Published]:
    store, audit, published = RedisEventStore(url), RedisAuditLog(url), Published()
    writer = Writer(store, DispatchState(), LogIndex(), clock=ManualClock(),
                    config=DispatchConfig(), publish=published, audit=audit)
    writer.load()
    return writer, store, audit, published


def register(i: int) -> RegisterUnit:
    return RegisterUnit(f"U{i}", f"unit {i}", "base", HOME)


def test_a_command_s_events_op_and_audit_row_are_one_script_call(
        redis_url: str, client: redis.Redis) -> None:
    """Commands run for a principal on Redis get the same audit rows as on SQLite (done,
    refused, duplicate; before the answer) but written by the event log's append: no separate
    transaction, one round trip per group commit (a crew's op is checked by the same script)."""
    writer, store, audit, _ = make_writer(redis_url)

    async def run_all() -> list[Executed | BaseException]:
        async def one(i: int) -> Executed:
            done = await writer.run(register(i % 25), principal=ADMIN, client="c",
                                    action="register", target={"unit_id": f"U{i % 25}"})
            assert any(e.target.get("seq") == done.last_seq for e in audit.entries(limit=100))
            return done
        return await asyncio.gather(*(one(i) for i in range(30)), return_exceptions=True)

    async def crew_twice() -> tuple[Executed, Executed]:
        shift = StartShift("U1", ("A",), T0 + timedelta(hours=8))
        first = await writer.run(shift, principal=CREW, client="c", action="start_shift",
                                 op="op-1")
        again = await writer.run(shift, principal=CREW, client="c", action="start_shift",
                                 op="op-1")
        return first, again

    try:
        before = calls(client)
        results = asyncio.run(run_all())
        used = since(client, before)
        assert sum(isinstance(r, Executed) for r in results) == 25
        entries = audit.entries(limit=100)
        assert sorted(e.result for e in entries) == ["ok"] * 25 + ["refused invalid_command "
                                                                    "(unit_id)"] * 5
        assert {e.target["unit_id"] for e in entries} == {f"U{i}" for i in range(25)}
        assert "multi" not in used and "exec" not in used  # no audit transaction of its own
        assert used["evalsha"] == writer.commits  # one script call per group commit
        assert used["xadd"] == 25 + 2 * 30  # every event, and each row in two streams

        before = calls(client)
        first, again = asyncio.run(crew_twice())
        used = since(client, before)
        assert again.decision.duplicate and again.original_seq == first.last_seq
        rows = audit.entries(limit=2, principal_id="p-crew")
        assert [(r.result, r.target.get("seq")) for r in rows] == [
            ("duplicate", first.last_seq), ("ok", first.last_seq)]
        # the first: the append alone (its script checks the op); the repeat: refused on the
        # state, so its op is looked up (a duplicate), then its row alone
        assert used.get("evalsha") == 1 and used.get("hget") == 1
        assert used.get("hexists") == 1 and used.get("exec") == 1
    finally:
        store.close()
        audit.close()


def test_racing_writers_record_each_command_once_however_often_it_is_decided_again(
        redis_url: str) -> None:
    """Two writers (two instances) register the same 20 units at once: each unit lands once,
    every loser is re-decided on the winner's events and refused, and the audit log holds one
    row per command, none from an attempt that lost the race."""
    one, two = make_writer(redis_url), make_writer(redis_url)

    async def race() -> list[Executed | BaseException]:
        jobs = [w.run(register(i), principal=ADMIN, client=f"w{k}", action="register",
                      target={"unit_id": f"U{i}"})
                for i in range(20) for k, (w, *_) in enumerate((one, two))]
        return await asyncio.gather(*jobs, return_exceptions=True)

    try:
        results = asyncio.run(race())
        assert sum(isinstance(r, Executed) for r in results) == 20
        assert one[0].conflicts + two[0].conflicts > 0
        entries = one[2].entries(limit=1000)
        assert len(entries) == 40
        assert sorted(e.result for e in entries).count("ok") == 20
        assert one[1].refresh() == 20
    finally:
        for _, store, audit, _ in (one, two):
            store.close()
            audit.close()


def test_a_refused_append_brings_the_events_the_writer_missed(
        redis_url: str, client: redis.Redis) -> None:
    """The loser of a race learns the winner's events from the refusal itself, in the same
    script call (when they are few); behind by more than CONFLICT_TAIL it learns only where
    the log ends."""
    winner, loser = RedisEventStore(redis_url), RedisEventStore(redis_url)
    try:
        winner.append([alarm_event(i) for i in range(3)], expected_last_seq=0)
        with pytest.raises(StoreConflict):
            loser.append([alarm_event(8)], expected_last_seq=0)  # loads the script
        before = calls(client)
        with pytest.raises(StoreConflict) as lost:
            loser.append([alarm_event(9)], expected_last_seq=0)
        # one round trip: the script (its own look at the end and at the missed entries)
        assert since(client, before) == {"evalsha": 1, "xrevrange": 1, "xrange": 1}
        assert lost.value.end == 3
        assert [(e.seq, e.event) for e in lost.value.missed] == [
            (i + 1, alarm_event(i)) for i in range(3)]
        winner.append([alarm_event(i) for i in range(CONFLICT_TAIL + 1)], expected_last_seq=3)
        with pytest.raises(StoreConflict) as far:
            loser.append([alarm_event(9)], expected_last_seq=3)
        assert far.value.end == CONFLICT_TAIL + 4 and far.value.missed == []
    finally:
        winner.close()
        loser.close()


def test_a_blocking_read_brings_others_events_and_skips_the_store_s_own(
        redis_url: str, client: redis.Redis) -> None:
    mine, other = RedisEventStore(redis_url), RedisEventStore(redis_url)
    try:
        mine.append([alarm_event(1)], expected_last_seq=0)
        other.append([alarm_event(2), alarm_event(3)], expected_last_seq=1)
        before = calls(client)
        end, events = mine.wait_events(0, 1.0)
        assert since(client, before) == {"xread": 1}  # one round trip per wake-up
        assert end == 3 and [(e.seq, e.event) for e in events] == [
            (2, alarm_event(2)), (3, alarm_event(3))]
        assert mine.wait_events(3, 0.2) == (3, [])  # nothing new: the wait times out
    finally:
        mine.close()
        other.close()


def test_an_append_carrying_a_stored_op_writes_nothing(redis_url: str) -> None:
    store = RedisEventStore(redis_url)
    try:
        first = OpRecord("p-crew", "op-1", "d1")
        store.append([alarm_event(1)], expected_last_seq=0, op=first)
        with pytest.raises(OpsSeen) as seen:
            store.append([alarm_event(2)], expected_last_seq=1, op=first)
        assert seen.value.end == 1 and store.refresh() == 1
        assert store.find_op("p-crew", "op-1") == OpRecord("p-crew", "op-1", "d1", None, 1)
        store.append([alarm_event(2)], expected_last_seq=1, op=OpRecord("p-crew", "op-2", "d2"))
        assert store.refresh() == 2
    finally:
        store.close()


def test_a_repeat_sent_to_another_instance_gets_the_first_answer_without_a_second_event(
        redis_url: str, client: redis.Redis) -> None:
    """A crew's message reaches instance one, then (a reconnect through the balancer) its
    repeat reaches instance two, which has followed the log: deciding it again would make a
    second message, but the append script finds the op stored, so instance two reads the op
    and answers with the first's seq."""
    one, two = make_writer(redis_url), make_writer(redis_url)
    message = SendMessage("U1", "on our way", from_crew=True)

    async def first() -> Executed:
        await one[0].run(register(1), principal=ADMIN, client="c", action="register")
        return await one[0].run(message, principal=CREW, client="c", action="message",
                                op="m-1")

    async def repeat() -> Executed:
        return await two[0].run(message, principal=CREW, client="c", action="message",
                                op="m-1")

    try:
        done = asyncio.run(first())
        two[0].load()  # instance two has followed the log to its end
        before = calls(client)
        again = asyncio.run(repeat())
        used = since(client, before)
        assert again.decision.duplicate and again.original_seq == done.last_seq
        assert one[1].refresh() == done.last_seq  # no second message
        assert two[0].conflicts == 1
        assert used.get("evalsha") == 1 and used.get("hget") == 1  # refused, then looked up
    finally:
        for _, store, audit, _ in (one, two):
            store.close()
            audit.close()


class _LostInTheStall(RedisEventStore):
    """A Redis store whose next append is lost in a stall: while it waits, another instance
    (``other``) appends first, then the append fails without an answer (what a SIGSTOPped
    Redis does: a cluster audit saw this)."""

    def __init__(self, url: str, other: RedisEventStore) -> None:
        super().__init__(url)
        self.other = other
        self.armed = False

    def append_audited(self, events: Any, **kwargs: Any) -> list[Envelope]:
        if not self.armed:
            return super().append_audited(events, **kwargs)
        self.armed = False
        self.other.append([alarm_event(901)], expected_last_seq=self.other.refresh())
        raise OutcomeUnknown("events", "Redis unreachable: Timeout reading from socket")


def test_a_write_lost_in_a_stall_is_not_answered_as_stored_because_the_log_grew(
        redis_url: str) -> None:
    """An audit of three instances found a write answered "ok" with a seq that held another
    instance's event: the writer took a log grown past its end for its own events. It reads
    what the log holds there: another's event, so this write failed and changed nothing."""
    other = RedisEventStore(redis_url)
    store = _LostInTheStall(redis_url, other)
    writer = Writer(store, DispatchState(), LogIndex(), clock=ManualClock(),
                    config=DispatchConfig(), publish=Published())
    writer.load()
    asyncio.run(writer.execute(register(1), actor="t", bounded=True))
    store.armed = True
    with pytest.raises(StorageUnavailable) as failed:
        asyncio.run(writer.execute(register(2), actor="t", bounded=True))
    assert not isinstance(failed.value, OutcomeUnknown)  # known now: the seq is another's
    assert "changed nothing" in str(failed.value)
    kinds = [type(env.event).__name__ for env in other.read(0)]
    assert kinds == ["UnitRegistered", "AlarmReceived"]
    assert "U2" not in writer.state.units
    other.close()
    store.close()


def test_an_append_to_a_stalled_redis_may_be_stored_and_says_so(tmp_path: Any) -> None:
    """SIGSTOP: the script reached Redis but no answer came. The 503 said "the request changed
    nothing", yet Redis ran the script once it resumed (an audit). The store says the outcome
    is unknown; once Redis runs again, the entry is there."""
    import signal

    from tests.redis_server import RedisServer

    server = RedisServer(tmp_path / "redis").start()
    assert server.proc is not None
    try:
        store = RedisEventStore(server.url())
        store.append([alarm_event(1)], expected_last_seq=0)
        server.proc.send_signal(signal.SIGSTOP)
        try:
            with pytest.raises(OutcomeUnknown, match="may have been stored or not"):
                store.append([alarm_event(2)], expected_last_seq=1)
        finally:
            server.proc.send_signal(signal.SIGCONT)
        for _ in range(50):  # it runs as Redis reads its buffers again
            if store.refresh() == 2:
                break
            time.sleep(0.1)
        assert store.refresh() == 2  # the stalled script ran after all
        store.close()
    finally:
        server.stop()


class _Asked(RedisEventStore):
    """A real Redis store that notes the reads it was asked for beside its appends: the end
    (``refresh``, the writer's catch-up) and who holds a seq (``holder``, the append's own
    check after a failure)."""

    def __init__(self, url: str) -> None:
        self.asked: list[str] = []
        super().__init__(url)

    def refresh(self) -> int:
        self.asked.append("refresh")
        return super().refresh()

    def _holder(self, seq: int) -> str | None:
        self.asked.append("holder")
        return super()._holder(seq)


def test_commands_queued_behind_a_stalled_write_are_refused_unsent(tmp_path: Any) -> None:
    """SIGSTOP with four commands queued, one per batch: the first is in flight and may have
    been stored (its 503 says so); the three behind it are refused at once as not stored,
    instead of each waiting out the same timeouts in turn and reaching Redis in a stall. The
    append that timed out asks Redis nothing more (neither who holds its seq nor where the
    log ends: in a stall each would wait out another timeout, three in all before the first
    503); the writer stops taking writes at once and the probe catches up. After the stall
    the log holds the first alone, and the state caught up with it is the log's."""
    import signal

    from tests.redis_server import RedisServer

    server = RedisServer(tmp_path / "redis").start()
    assert server.proc is not None
    try:
        store = _Asked(server.url())
        writer = Writer(store, DispatchState(), LogIndex(), clock=ManualClock(),
                        config=DispatchConfig(), publish=Published(), group_commit=False)
        writer.load()

        async def run(*commands: RegisterUnit) -> list[Executed | BaseException]:
            return list(await asyncio.gather(
                *(writer.execute(c, actor="system") for c in commands), return_exceptions=True))

        assert isinstance(asyncio.run(run(register(1)))[0], Executed)
        store.asked.clear()
        server.proc.send_signal(signal.SIGSTOP)
        try:
            results = asyncio.run(run(*(register(i) for i in range(2, 6))))
        finally:
            server.proc.send_signal(signal.SIGCONT)
        assert isinstance(results[0], OutcomeUnknown), results
        assert results[0].stalled and "may have been stored or not" in str(results[0])
        for queued in results[1:]:
            assert type(queued) is StorageUnavailable, results
        assert writer.halted and store.asked == []
        for _ in range(50):  # the first's script runs as Redis reads its buffers again
            if store.refresh() == 2:
                break
            time.sleep(0.1)
        assert asyncio.run(writer.probe())
        assert not writer.halted
        logged = [e.event for e in store.read(0)]
        assert [getattr(e, "unit_id", None) for e in logged] == ["U1", "U2"]
        assert writer.state.snapshot() == DispatchState.replay(store.read(0)).snapshot()
        writer.close()
        store.close()
    finally:
        server.stop()


class _DiesAfterARefusal(RedisEventStore):
    """A real Redis store whose server is killed (SIGKILL) right after it refuses an append
    for a lost race, once ``server`` is set: the writer's catch-up then finds no Redis."""

    server: Any = None

    def append(self, events: Any, **kwargs: Any) -> list[Envelope]:
        try:
            return super().append(events, **kwargs)
        except StoreConflict:
            if self.server is not None:
                self.server.kill()
            raise


def test_a_lost_race_whose_catch_up_finds_redis_gone_answers_503_not_409(tmp_path: Any) -> None:
    """A writer behind by more events than a refusal brings (CONFLICT_TAIL) must read them
    before it can decide again. When Redis is gone by then, its caller is told of the storage
    fault (503, retry later), not of a lost race (409, retry now: the last note's "409
    store_conflict when a conflict's catch-up fails"), and the writer takes no writes until
    the log can be read. Nothing of the command is stored or applied."""
    from tests.redis_server import RedisServer
    from web.errors import describe

    server = RedisServer(tmp_path / "redis").start()
    other = RedisEventStore(server.url())
    store = _DiesAfterARefusal(server.url())
    try:
        writer = Writer(store, DispatchState(), LogIndex(), clock=ManualClock(),
                        config=DispatchConfig(), publish=Published())
        writer.load()
        other.append([alarm_event(i) for i in range(CONFLICT_TAIL + 1)], expected_last_seq=0)
        store.server = server
        with pytest.raises(StorageUnavailable) as failed:
            asyncio.run(writer.execute(register(1), actor="t", bounded=True))
        assert not isinstance(failed.value, StoreConflict)
        info = describe(failed.value)
        assert (info.status, info.code) == (503, "storage_unavailable")
        assert info.retry_after_s is not None and info.retry_after_s > 0
        assert writer.halted and "events" in writer.storage_errors
        assert writer.state.last_seq == 0 and "U1" not in writer.state.units
        with pytest.raises(StorageUnavailable):  # halted: refused before reaching Redis
            asyncio.run(writer.execute(register(2), actor="t", bounded=True))
    finally:
        other.close()
        store.close()
        server.stop()
