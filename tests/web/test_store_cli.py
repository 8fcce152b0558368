"""``mae store copy``: SQLite → Redis → SQLite gives the same events (same seqs) and the same
operations; a non-empty destination is refused in one line and left as it was; the copy goes
in pages and reports progress."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from mae.cli import main
from tests.redis_server import stream_entries
from tests.web.conftest import ROOT
from tests.web.test_eventstore import SqliteBackend, alarm_event, unit, v1_rows
from web.eventstore import EventStore, OpRecord, SqliteEventStore
from web.redislog import RedisEventStore
from web.store_cli import StoreCopyError, _ops, copy_store


def filled_sqlite(path: Path) -> SqliteEventStore:
    """An old log (no schema versions) grown by today's store, with operations."""
    SqliteBackend(path).plant(v1_rows())
    store = SqliteEventStore(path)
    store.append([alarm_event(1), alarm_event(2)], expected_last_seq=48,
                 op=OpRecord("unit:MAE-PITEA", "op-1", "d1", "C000001"))
    group = [OpRecord("unit:U1", f"op-{i}", f"d{i}", None, 50 + i) for i in range(1, 31)]
    store.append([unit(i) for i in range(1, 31)], expected_last_seq=50, ops=group)
    return store


def contents(store: EventStore) -> tuple[list[tuple[int, object]], set[OpRecord]]:
    return [(env.seq, env.event) for env in store.read()], set(_ops(store))


def test_sqlite_to_redis_to_sqlite_keeps_every_event_seq_and_operation(
        tmp_path: Path, redis_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    original = filled_sqlite(tmp_path / "a.sqlite3")
    expected = contents(original)
    assert len(expected[0]) == 80 and len(expected[1]) == 31
    original.close()

    assert main(["store", "copy", str(tmp_path / "a.sqlite3"), redis_url, "--page", "7"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == f"copied 80 events and 31 operations from {tmp_path / 'a.sqlite3'} " \
                          f"to {redis_url}"
    assert "events: 80 of 80; operations: 31" in err
    assert len([line for line in err.splitlines() if line.startswith("events: ")]) > 2
    on_redis = RedisEventStore(redis_url)
    assert contents(on_redis) == expected
    on_redis.close()

    assert main(["store", "copy", redis_url, str(tmp_path / "b.sqlite3")]) == 0
    back = SqliteEventStore(tmp_path / "b.sqlite3")
    assert contents(back) == expected
    assert back.find_op("unit:MAE-PITEA", "op-1") == OpRecord(
        "unit:MAE-PITEA", "op-1", "d1", "C000001", 50)
    back.append([unit(99)], expected_last_seq=80)  # the copy is a working log
    back.close()


def test_a_non_empty_destination_is_refused_in_one_line_and_left_alone(
        tmp_path: Path, redis_url: str) -> None:
    filled_sqlite(tmp_path / "a.sqlite3").close()
    target = RedisEventStore(redis_url)
    target.append([unit(7)], expected_last_seq=0)
    done = subprocess.run([sys.executable, "-m", "mae.cli", "store", "copy",
                           str(tmp_path / "a.sqlite3"), redis_url],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "is not empty" in lines[0] and "ends at seq 1" in lines[0]
    assert [(env.seq, env.event) for env in target.read()] == [(1, unit(7))]
    target.close()


def test_operations_alone_make_a_destination_non_empty(
        tmp_path: Path, redis_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    filled_sqlite(tmp_path / "a.sqlite3").close()
    target = RedisEventStore(redis_url)
    target.put_ops([OpRecord("u", "x", "d", None, 1)])
    assert main(["store", "copy", str(tmp_path / "a.sqlite3"), redis_url]) == 1
    assert "is not empty" in capsys.readouterr().err
    assert target.last_seq == 0
    target.close()


def test_a_missing_source_file_is_named(tmp_path: Path, redis_url: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["store", "copy", str(tmp_path / "nothing.sqlite3"), redis_url]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("mae: error: SRC: no SQLite database at") and "\n" not in err
    assert not (tmp_path / "nothing.sqlite3").exists()


def test_a_database_in_use_by_mae_serve_is_refused(tmp_path: Path, redis_url: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from web.eventstore import lock_database

    filled_sqlite(tmp_path / "a.sqlite3").close()
    held = lock_database(tmp_path / "a.sqlite3")
    try:
        assert main(["store", "copy", str(tmp_path / "a.sqlite3"), redis_url]) == 1
        assert "in use by another mae serve" in capsys.readouterr().err
    finally:
        held.close()


def stored_rows(path: Path) -> list[tuple[int, str, str, str]]:
    """The ``events`` table as stored: seq, type, at and the JSON text."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return [(int(s), str(t), str(a), str(d)) for s, t, a, d in
                conn.execute("SELECT seq, type, at, data FROM events ORDER BY seq")]


def test_the_stored_payloads_travel_byte_for_byte_between_prefixes_and_stores(
        tmp_path: Path, redis_url: str) -> None:
    """An old log's events keep their own JSON (no schema version added: they are upcast when
    read, as before), through Redis under one prefix, then another, and back to SQLite."""
    filled_sqlite(tmp_path / "a.sqlite3").close()
    before = stored_rows(tmp_path / "a.sqlite3")
    assert not any('"v"' in data for _, _, _, data in before[:48])  # the v1 rows
    assert main(["store", "copy", str(tmp_path / "a.sqlite3"), redis_url,
                 "--dst-prefix", "one:"]) == 0
    assert main(["store", "copy", redis_url, redis_url, "--src-prefix", "one:",
                 "--dst-prefix", "two:", "--page", "9"]) == 0
    raw = redis.Redis.from_url(redis_url)
    try:
        copied = [(e[1][b"d"].decode()) for e in stream_entries(raw, "two:events")]
        assert copied == [data for _, _, _, data in before]
        assert not raw.exists("mae:events")  # neither side used the default prefix
    finally:
        raw.close()
    assert main(["store", "copy", redis_url, str(tmp_path / "b.sqlite3"),
                 "--src-prefix", "two:"]) == 0
    assert stored_rows(tmp_path / "b.sqlite3") == before
    back, first = SqliteEventStore(tmp_path / "b.sqlite3"), SqliteEventStore(tmp_path / "a.sqlite3")
    assert contents(back) == contents(first)  # the operations came along too
    back.close()
    first.close()


def test_copying_a_log_onto_itself_is_refused(redis_url: str) -> None:
    with pytest.raises(StoreCopyError, match="same log"):
        copy_store(redis_url, redis_url)
