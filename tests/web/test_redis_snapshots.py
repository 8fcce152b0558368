"""Snapshots in a real redis-server: stored atomically, the newest ``keep`` kept, and one made
after another log's event never restored (checked against the log it is read with)."""

from __future__ import annotations

from pathlib import Path

import redis

from dispatch.commands import DispatchConfig, RegisterUnit, decide
from dispatch.model import Location
from dispatch.state import DispatchState
from tests.web.conftest import T0
from web.eventstore import SqliteEventStore, connect_sqlite
from web.logindex import AudienceWindow, LogIndex
from web.redis_snapshots import RedisSnapshots, log_digest
from web.snapshots import Snapshotter, event_digest


def register(log: SqliteEventStore, state: DispatchState, unit_id: str) -> None:
    """Decide, log and apply one unit's registration."""
    events = decide(state, RegisterUnit(unit_id, unit_id, "Luleå", Location(65.58, 22.15)),
                    now=T0, actor="t", config=DispatchConfig()).events
    for envelope in log.append(events, expected_last_seq=log.last_seq):
        state.apply(envelope)


def test_the_newest_snapshots_are_kept_and_restored(tmp_path: Path, redis_url: str) -> None:
    log = SqliteEventStore(tmp_path / "log.sqlite3")
    state = DispatchState()
    shelf = RedisSnapshots(redis_url, log, keep=2)
    for unit in ("U1", "U2", "U3"):
        register(log, state, unit)
        shelf.store(state, LogIndex(AudienceWindow(100)))
    assert shelf.seqs() == [3, 2]  # the oldest pruned, blob and index together
    assert not redis.Redis.from_url(redis_url).exists("mae:snapshot:000000000001")
    restored = shelf.latest()
    assert restored is not None and restored.state.last_seq == 3
    assert sorted(restored.state.units) == ["U1", "U2", "U3"]
    assert log_digest(log, 3) == restored.digest
    conn = connect_sqlite(tmp_path / "log.sqlite3")
    assert log_digest(log, 3) == event_digest(conn, 3)  # the files' digest: one format
    conn.close()
    assert log_digest(log, 4) is None
    shelf.close()
    log.close()


def test_a_snapshot_of_another_log_is_skipped(tmp_path: Path, redis_url: str) -> None:
    first = SqliteEventStore(tmp_path / "a.sqlite3")
    other = SqliteEventStore(tmp_path / "b.sqlite3")
    state, other_state = DispatchState(), DispatchState()
    register(first, state, "U1")
    register(other, other_state, "U9")
    RedisSnapshots(redis_url, first).store(state, LogIndex(AudienceWindow(100)))
    assert RedisSnapshots(redis_url, other).latest() is None  # event 1 differs


def test_the_snapshotter_restores_from_redis(tmp_path: Path, redis_url: str) -> None:
    log = SqliteEventStore(tmp_path / "log.sqlite3")
    state = DispatchState()
    register(log, state, "U1")
    register(log, state, "U2")
    RedisSnapshots(redis_url, log).store(state, LogIndex(AudienceWindow(100)))
    fresh = DispatchState()
    snapshots = Snapshotter(every=1, shelf=RedisSnapshots(redis_url, log))
    assert snapshots.restore(fresh, LogIndex(AudienceWindow(100))) == 2
    assert sorted(fresh.units) == ["U1", "U2"]
