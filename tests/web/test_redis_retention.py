"""``mae retention run --store redis://…`` on a real redis-server: the same erasure as on SQLite
(old patient text and addresses gone from the stream and the snapshots, ids, times and outcomes
kept, the seqs unchanged, the snapshot still checks out), audited; a dry run changes nothing;
it refuses while an instance's heartbeat is fresh."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from dispatch.snapshot import decode_snapshot
from dispatch.state import DispatchState
from mae.cli import main
from maps.graph import RoadGraph
from tests.redis_server import as_bytes, stream_entries
from tests.web.test_retention import NOW, graph, make_db
from web.logindex import LogIndex
from web.redis_audit import RedisAuditLog
from web.redis_retention import _rewrite_aof, run_redis_retention
from web.redis_snapshots import RedisSnapshots
from web.redislog import RedisEventStore
from web.retention import DatabaseBusy
from web.store_cli import copy_store

__all__ = ["graph"]  # the module fixture, shared


def stream(url: str) -> list[tuple[bytes, dict[str, Any]]]:
    client = redis.Redis.from_url(url)
    try:
        return [(i, json.loads(f[b"d"])) for i, f in stream_entries(client, "mae:events")]
    finally:
        client.close()


def log_on_redis(tmp_path: Path, graph: RoadGraph, url: str) -> int:
    """The retention tests' log (alarms R0..R9 an hour apart, notes), moved to Redis, with a
    snapshot of its end; returns the snapshot's seq."""
    db, _ = make_db(tmp_path, graph)
    copy_store(str(db), url)
    log = RedisEventStore(url)
    shelf = RedisSnapshots(url, log)
    try:
        state = DispatchState.replay(log.read())
        shelf.store(state, LogIndex())
        return state.last_seq
    finally:
        shelf.close()
        log.close()


def test_old_patient_details_are_erased_in_the_stream_and_its_snapshots(
        tmp_path: Path, graph: RoadGraph, redis_url: str) -> None:
    seq = log_on_redis(tmp_path, graph, redis_url)
    before = stream(redis_url)
    report = run_redis_retention(redis_url, days=90, now=NOW)
    after = stream(redis_url)
    assert report.events_erased > 0 and report.snapshots_rewritten == 1
    assert [i for i, _ in after] == [i for i, _ in before]  # every entry, same ids
    alarms = {d["alarm"]["reference"]: d["alarm"] for _, d in after
              if d["type"] == "AlarmReceived"}
    assert [alarms[f"R{i}"]["note"] for i in range(10)] == [""] * 5 + ["patient text"] * 5
    assert all(d["text"] == "" for _, d in after if d["type"] == "NoteAdded")
    for (_, old), (_, new) in zip(before, after, strict=True):
        for key in ("at", "type", "callout_id", "unit_id", "outcome", "status"):
            assert new.get(key) == old.get(key), key
    client = redis.Redis.from_url(redis_url)
    try:
        raw = b"".join(f[b"d"] for _, f in stream_entries(client, "mae:events"))
        assert b"more text" not in raw and raw.count(b"patient text") == 5
        assert not client.exists("mae:events:retention", "mae:maintenance")
        state, _ = decode_snapshot(as_bytes(client.get(f"mae:snapshot:{seq:012d}")))
    finally:
        client.close()
    assert state.alarms["police/R0"].note == ""
    assert all(not n.text for c in state.callouts.values() for n in c.notes)
    log = RedisEventStore(redis_url)
    shelf = RedisSnapshots(redis_url, log)
    audit = RedisAuditLog(redis_url)
    try:
        restored = shelf.latest()  # checks out against the erased log
        assert restored is not None and restored.state.last_seq == seq
        assert vars(restored.state) == vars(DispatchState.replay(log.read()))
        row = audit.entries(limit=1)[0]
        assert row.action == "retention.run" and row.result.startswith("ok days=90")
    finally:
        shelf.close()
        log.close()
        audit.close()


def test_a_dry_run_through_the_cli_changes_nothing(
        tmp_path: Path, graph: RoadGraph, redis_url: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    log_on_redis(tmp_path, graph, redis_url)
    before = stream(redis_url)
    code = main(["retention", "run", "--store", redis_url, "--days", "1", "--dry-run"])
    assert code == 0 and capsys.readouterr().out.startswith("would erase patient details in ")
    assert stream(redis_url) == before
    audit = RedisAuditLog(redis_url)
    try:
        assert audit.entries() == []
    finally:
        audit.close()
    assert main(["retention", "run", "--store", redis_url, "--days", "1"]) == 0
    assert capsys.readouterr().out.startswith("erased patient details in ")
    assert all(d["alarm"]["note"] == "" for _, d in stream(redis_url)
               if d["type"] == "AlarmReceived")


def test_it_refuses_while_an_instance_s_heartbeat_is_fresh(
        tmp_path: Path, graph: RoadGraph, redis_url: str) -> None:
    log_on_redis(tmp_path, graph, redis_url)
    before = stream(redis_url)
    log = RedisEventStore(redis_url)
    try:
        log.probe()  # what a running mae serve does every few seconds
    finally:
        log.close()
    with pytest.raises(DatabaseBusy, match="instance"):
        run_redis_retention(redis_url, days=90, now=NOW)
    assert stream(redis_url) == before
    client = redis.Redis.from_url(redis_url)
    try:
        client.set("mae:heartbeat", time.time() - 3600)  # an instance stopped an hour ago
        client.set("mae:maintenance", "retention")  # but another run is going
        with pytest.raises(DatabaseBusy, match="maintenance"):
            run_redis_retention(redis_url, days=90, now=NOW)
        client.delete("mae:maintenance")
    finally:
        client.close()
    assert run_redis_retention(redis_url, days=90, now=NOW).events_erased > 0


def test_a_rewrite_already_running_is_waited_for_then_ours_starts(redis_url: str) -> None:
    """The erase must reach the append-only file: when a rewrite (begun before the erase,
    so holding the old text) is running, the run waits for it and starts its own."""
    r = redis.Redis.from_url(redis_url)

    def settle() -> None:  # no rewrite of an earlier test still running
        deadline = time.monotonic() + 30
        while r.info("persistence")["aof_rewrite_in_progress"] and time.monotonic() < deadline:
            time.sleep(0.05)

    try:
        settle()
        r.mset({f"pad:{i}": "x" for i in range(400)})
        r.config_set("rdb-key-save-delay", "2000")  # 2 ms a key: the first rewrite takes ~1 s
        r.bgrewriteaof()
        assert r.info("persistence")["aof_rewrite_in_progress"] == 1
        with pytest.raises(redis.ResponseError, match="already in progress"):
            r.bgrewriteaof()  # what the run met before it waited
        _rewrite_aof(r)
        assert r.info("persistence")["aof_rewrite_in_progress"] == 1  # ours, after the first
        r.config_set("rdb-key-save-delay", "0")
        settle()
    finally:
        r.config_set("rdb-key-save-delay", "0")
        r.delete(*[f"pad:{i}" for i in range(400)])
        r.close()
