"""``mae retention run`` on real SQLite files: old patient text and addresses are gone from the
log, its snapshots and the file's bytes; ids, times and outcomes stay; it refuses beside a
running service and is audited."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from dispatch.snapshot import decode_snapshot
from mae.cli import main
from maps.bundled import load_bundled
from maps.graph import RoadGraph
from tests.web.conftest import T0, thread_server
from tests.web.test_snapshots import Run, commands
from web.audit import AuditLog
from web.retention import DatabaseBusy, run_retention
from web.snapshots import SnapshotFiles

# Alarms R0..R9 arrive an hour apart from T0; notes and positions are made at T0.
NOW = T0 + timedelta(days=90, hours=5)  # 90 days: the cut-off falls between R4 and R5


@pytest.fixture(scope="module")
def graph() -> RoadGraph:
    return load_bundled()


def make_db(tmp_path: Path, graph: RoadGraph) -> tuple[Path, Run]:
    db = tmp_path / "mae.sqlite3"
    run = Run(db, graph, every=7)
    run.run(commands(10))
    run.close()
    return db, run


def rows(db: Path) -> list[tuple[int, str, dict[str, Any]]]:
    conn = sqlite3.connect(db)
    try:
        return [(s, t, json.loads(d)) for s, t, d in
                conn.execute("SELECT seq, type, data FROM events ORDER BY seq")]
    finally:
        conn.close()


def test_old_patient_details_are_erased_in_the_log_and_the_file(
        tmp_path: Path, graph: RoadGraph) -> None:
    db, first = make_db(tmp_path, graph)
    before = rows(db)
    report = run_retention(db, days=90, now=NOW)
    after = rows(db)
    assert len(after) == len(before) and report.events_erased > 0
    alarms = {d["alarm"]["reference"]: d["alarm"] for _, t, d in after
              if t == "AlarmReceived"}
    for i in range(5):
        assert alarms[f"R{i}"]["note"] == ""
    for i in range(5, 10):
        assert alarms[f"R{i}"]["note"] == "patient text", "newer alarms are kept"
    assert all(d["text"] == "" for _, t, d in after if t == "NoteAdded")
    for (seq, kind, old), (_, _, new) in zip(before, after, strict=True):
        assert new["at"] == old["at"] and new["type"] == kind, seq
        for key in ("callout_id", "unit_id", "outcome", "status"):
            assert new.get(key) == old.get(key), (seq, key)
    raw = db.read_bytes() + Path(f"{db}-wal").read_bytes() if Path(f"{db}-wal").exists() \
        else db.read_bytes()
    assert b"more text" not in raw, "the old text is overwritten in the file, not just unlinked"
    assert raw.count(b"patient text") == 5
    entries = AuditLog(db).entries(limit=1)
    assert entries[0].action == "retention.run" and entries[0].result.startswith("ok days=90")
    assert first.service.last_seq == len(after)


def test_snapshots_are_erased_too_and_still_start_the_service(
        tmp_path: Path, graph: RoadGraph) -> None:
    db, _ = make_db(tmp_path, graph)
    report = run_retention(db, days=90, now=NOW)
    assert report.snapshots_rewritten == 2
    for _, path in SnapshotFiles(db).paths():
        state, _ = decode_snapshot(path.read_bytes())
        assert all(not n.text for c in state.callouts.values() for n in c.notes)
        assert state.alarms["police/R0"].note == ""
    restarted = Run(db, graph, every=7)
    assert restarted.replayed == 0, "started from the rewritten snapshot"
    replayed = Run(db, graph, every=0)
    assert vars(restarted.service.state) == vars(replayed.service.state)
    restarted.close()
    replayed.close()


def test_a_dry_run_changes_nothing(tmp_path: Path, graph: RoadGraph,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    db, _ = make_db(tmp_path, graph)
    before = rows(db)
    snaps = [p.read_bytes() for _, p in SnapshotFiles(db).paths()]
    code = main(["retention", "run", "--database", str(db), "--days", "1", "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("would erase patient details in ")
    assert rows(db) == before
    assert [p.read_bytes() for _, p in SnapshotFiles(db).paths()] == snaps
    assert AuditLog(db).entries() == []


def test_the_cli_erases_with_the_given_days(tmp_path: Path, graph: RoadGraph,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    db, _ = make_db(tmp_path, graph)
    assert main(["retention", "run", "--database", str(db), "--days", "1"]) == 0
    assert capsys.readouterr().out.startswith("erased patient details in ")
    assert all(d["alarm"]["note"] == "" for _, t, d in rows(db)
               if t == "AlarmReceived")
    assert main(["retention", "run", "--database", str(db), "--days", "0"]) == 1
    assert "--days" in capsys.readouterr().err
    assert main(["retention", "run", "--database", str(tmp_path / "none.sqlite3")]) == 1


def test_it_refuses_while_another_process_holds_the_database(
        tmp_path: Path, graph: RoadGraph, capsys: pytest.CaptureFixture[str]) -> None:
    db, _ = make_db(tmp_path, graph)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time\n"
         f"f = open({str(db) + '.lock'!r}, 'a+')\n"
         "fcntl.flock(f.fileno(), fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        before = rows(db)
        with pytest.raises(DatabaseBusy):
            run_retention(db, days=1, now=NOW)
        assert main(["retention", "run", "--database", str(db), "--days", "1"]) == 1
        err = capsys.readouterr().err
        assert "in use" in err and len(err.strip().splitlines()) == 1
        assert rows(db) == before
    finally:
        holder.kill()
        holder.wait(timeout=10)
        if holder.stdout is not None:
            holder.stdout.close()
    assert run_retention(db, days=1, now=NOW).events_erased > 0


def test_it_refuses_while_the_service_runs(tmp_path: Path, graph: RoadGraph) -> None:
    db, _ = make_db(tmp_path, graph)
    server = thread_server(db, {})
    try:
        with pytest.raises(DatabaseBusy, match="in use"):
            run_retention(db, days=1, now=NOW)
    finally:
        server.stop()
    assert run_retention(db, days=1, now=NOW).events_erased > 0
