"""The SQLite event log: atomic ordered appends, optimistic check, reads survive reopening;
databases made before events carried a schema version still open, and new rows carry it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from dispatch import events
from dispatch.events import SCHEMA_VERSIONS, Event, ShiftEnded, UnitRegistered, event_from_dict
from dispatch.model import Location
from dispatch.state import DispatchState
from dispatch.status import CalloutStatus, UnitStatus
from tests.web.conftest import ROOT, T0, free_port, process_server
from web.eventstore import (
    DatabaseLocked,
    EventStore,
    SqliteEventStore,
    StoreConflict,
    lock_database,
)


def unit(i: int) -> UnitRegistered:
    return UnitRegistered(at=T0, unit_id=f"U{i}", name="u", base="b", position=Location(65, 22))


def test_appends_are_numbered_and_read_back_after_reopening(tmp_path: Path) -> None:
    store = SqliteEventStore(tmp_path / "log.sqlite3")
    assert isinstance(store, EventStore) and store.last_seq == 0
    first = store.append([unit(1), unit(2)], expected_last_seq=0)
    assert [e.seq for e in first] == [1, 2]
    store.append([ShiftEnded(at=T0, unit_id="U1")], expected_last_seq=2)
    store.close()
    again = SqliteEventStore(tmp_path / "log.sqlite3")
    assert again.last_seq == 3
    assert [(e.seq, type(e.event).__name__) for e in again.read(1)] == [
        (2, "UnitRegistered"), (3, "ShiftEnded")]
    assert next(again.read(0)).event == unit(1)
    again.close()


def test_a_stale_writer_is_refused_and_stores_nothing(tmp_path: Path) -> None:
    a = SqliteEventStore(tmp_path / "log.sqlite3")
    b = SqliteEventStore(tmp_path / "log.sqlite3")
    a.append([unit(1)], expected_last_seq=0)
    with pytest.raises(StoreConflict):
        b.append([unit(2), unit(3)], expected_last_seq=0)
    assert [e.seq for e in a.read()] == [1]
    a.close()
    b.close()


# -- schema versions and databases made by earlier versions of the store ----------------------

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


def old_database(path: Path, tables: list[str]) -> list[dict[str, Any]]:
    """A database holding the v1 fixture log the way the store wrote rows before events
    carried a version; returns the stored event dicts."""
    stored = []
    with closing(sqlite3.connect(path)) as conn, conn:
        for table in tables:
            conn.execute(table)
        for line in LOG_V1.read_text(encoding="utf-8").splitlines():
            data = json.loads(line)
            seq = data.pop("seq")
            conn.execute("INSERT INTO events (seq, type, at, data) VALUES (?,?,?,?)",
                         (seq, data["type"], data["at"], json.dumps(data, ensure_ascii=False)))
            stored.append(data)
    return stored


def stored_data(path: Path) -> dict[int, dict[str, Any]]:
    with closing(sqlite3.connect(path)) as conn:
        return {seq: json.loads(data) for seq, data in conn.execute("SELECT seq, data FROM events")}


@pytest.mark.parametrize("tables", [[EVENTS_TABLE], [EVENTS_TABLE, OPS_TABLE]],
                         ids=["first-schema", "with-ops"])
def test_a_database_written_before_schema_versions_opens_reads_and_grows(
    tmp_path: Path, tables: list[str]
) -> None:
    path = tmp_path / "old.sqlite3"
    stored = old_database(path, tables)
    assert not any("v" in data for data in stored)
    store = SqliteEventStore(path)
    assert store.last_seq == 48
    log = list(store.read())
    assert [env.event for env in log] == [event_from_dict(data) for data in stored]
    state = DispatchState.replay(log)
    assert state.callouts["C000001"].status is CalloutStatus.CLOSED
    assert state.units["MAE-PITEA"].status is UnitStatus.OFF_DUTY
    later = T0 + timedelta(days=1)
    store.append([ShiftEnded(at=later, unit_id="MAE-SUNDERBY")], expected_last_seq=48)
    store.close()
    rows = stored_data(path)
    assert rows[49]["v"] == SCHEMA_VERSIONS["ShiftEnded"]  # new rows carry the version
    assert all("v" not in rows[seq] for seq in range(1, 49))  # old rows are never rewritten
    again = SqliteEventStore(path)
    assert [env.seq for env in again.read(47)] == [48, 49]
    assert next(again.read(48)).event == ShiftEnded(at=later, unit_id="MAE-SUNDERBY")
    again.close()


def test_the_store_keeps_the_version_and_reads_old_rows_through_the_upcasters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Suppose ``NoteAdded`` v2 renamed ``text`` to ``body``: a v1 row in the database reads
    as the new event, and rows written now are stored as v2."""
    path = tmp_path / "old.sqlite3"
    old_database(path, [EVENTS_TABLE, OPS_TABLE])

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
    store = SqliteEventStore(path)
    (note,) = [env for env in store.read() if isinstance(env.event, NoteAdded)]
    assert note.event.body == "Police on scene; door code given by phone."
    store.append([NoteAdded(at=T0, callout_id="C000001", body="called back")],
                 expected_last_seq=48)
    assert stored_data(path)[49] == {"type": "NoteAdded", "v": 2, "at": T0.isoformat(),
                                     "actor": "system", "callout_id": "C000001",
                                     "body": "called back"}
    assert [env.event for env in store.read(48)] == [
        NoteAdded(at=T0, callout_id="C000001", body="called back")]
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
