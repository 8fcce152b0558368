"""``mae retention run``: erase patient details older than the retention period, in place.

The event log keeps every event (ids, times, statuses, outcomes, age band, sex, children):
only free text and address detail are erased (:mod:`dispatch.erasure`). Rows are rewritten in
batches with SQLite's ``secure_delete`` on, and the WAL is checkpointed at the end, so the old
text is overwritten in the file rather than left in free pages. Snapshots hold the whole state,
old callouts included, so each one is erased the same way and rewritten (one that cannot be read
is deleted: the next start replays the log instead). The run is one audit row.

It refuses to run beside a service: it takes the same exclusive lock on ``<db>.lock`` that
``mae serve`` holds (:func:`web.eventstore.lock_database`, non-blocking), so neither can start
while the other works. Backups made
before a run still hold the old text: keep them no longer than the retention period.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from dispatch.erasure import ERASABLE_EVENTS, erase_event, erase_state
from dispatch.events import event_from_dict, event_to_dict
from dispatch.snapshot import SnapshotError, encode_snapshot
from mae.errors import MaeError
from web.audit import AuditLog
from web.auth import Principal, Role
from web.eventstore import DatabaseLocked, SqliteEventStore, connect_sqlite, lock_database
from web.snapshots import Restored, SnapshotFiles, event_digest

__all__ = ["DatabaseBusy", "RetentionReport", "hold_database", "run_retention"]

logger = logging.getLogger(__name__)

_BATCH = 5_000
_PRINCIPAL = Principal("cli:retention", "mae retention run", Role.ADMIN)


class DatabaseBusy(MaeError, RuntimeError):
    """A service (or another maintenance run) holds the database."""


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What a run erased (or, with ``dry_run``, would erase)."""

    cutoff: datetime
    events_scanned: int
    events_erased: int
    snapshots_rewritten: int
    snapshots_dropped: int
    dry_run: bool

    def summary(self) -> str:
        verb = "would erase" if self.dry_run else "erased"
        return (f"{verb} patient details in {self.events_erased} of {self.events_scanned} "
                f"events before {self.cutoff.isoformat()}; snapshots rewritten "
                f"{self.snapshots_rewritten}, dropped {self.snapshots_dropped}")


@contextlib.contextmanager
def hold_database(database: Path) -> Iterator[IO[str]]:
    """Hold the exclusive lock ``mae serve`` takes (:func:`web.eventstore.lock_database`);
    raises :class:`DatabaseBusy` at once if another process holds it."""
    try:
        handle = lock_database(database)
    except DatabaseLocked:
        raise DatabaseBusy(f"{database} is in use (a running mae serve?): stop it, then run "
                           "retention again") from None
    try:
        yield handle
    finally:
        handle.close()


def run_retention(database: Path, *, days: int, now: datetime,
                  dry_run: bool = False) -> RetentionReport:
    """Erase patient details older than ``days`` days before ``now`` from the log at
    ``database`` and its snapshots; ``dry_run`` only counts. Raises :class:`DatabaseBusy`
    while a service holds the database."""
    if days < 1:
        raise ValueError("days must be at least 1")
    if not Path(database).exists():
        raise FileNotFoundError(f"no database at {database}")
    cutoff = now - timedelta(days=days)
    with hold_database(database):
        SqliteEventStore(database).close()  # the tables exist, whatever the file's age
        conn = connect_sqlite(database)
        try:
            files = SnapshotFiles(database)
            usable, dropped = _check_snapshots(files, conn)
            scanned, erased = _erase_log(conn, cutoff, dry_run=dry_run)
            rewritten = 0
            if not dry_run:
                for _seq, path in dropped:
                    path.unlink(missing_ok=True)
                for restored in usable:
                    rewritten += _rewrite(files, restored, conn, cutoff)
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            report = RetentionReport(cutoff, scanned, erased, rewritten, len(dropped), dry_run)
        finally:
            conn.close()
        if not dry_run:
            audit = AuditLog(database)
            try:
                audit.record(at=now, principal=_PRINCIPAL, action="retention.run",
                             target={"seq": None}, client="cli",
                             result=f"ok days={days} events={erased} "
                             f"snapshots={rewritten} dropped={len(dropped)}")
            finally:
                audit.close()
    logger.info("retention: %s", report.summary())
    return report


def _check_snapshots(files: SnapshotFiles, conn: sqlite3.Connection
                     ) -> tuple[list[Restored], list[tuple[int, Path]]]:
    """The snapshots that check out against the log as it is now, and those that do not."""
    usable, dropped = [], []
    for seq, path in files.paths():
        try:
            usable.append(files.read(path, conn))
        except (SnapshotError, OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("retention: dropping unusable snapshot %s: %s", path.name, exc)
            dropped.append((seq, path))
    return usable, dropped


def _erase_log(conn: sqlite3.Connection, cutoff: datetime, *, dry_run: bool) -> tuple[int, int]:
    """Rewrite the erasable events with details older than ``cutoff``, a batch per
    transaction (a re-run after an interruption finds the rest); returns (scanned, erased)."""
    conn.execute("PRAGMA secure_delete=ON")
    kinds = sorted(ERASABLE_EVENTS)
    marks = ",".join("?" * len(kinds))
    scanned = erased = 0
    last = 0
    while True:
        rows = conn.execute(
            f"SELECT seq, data FROM events WHERE seq > ? AND type IN ({marks}) "
            "ORDER BY seq LIMIT ?", (last, *kinds, _BATCH)).fetchall()
        if not rows:
            break
        last = int(rows[-1][0])
        updates = []
        for seq, data in rows:
            scanned += 1
            event = event_from_dict(json.loads(data))
            kept = erase_event(event, cutoff)
            if kept is not event:
                updates.append((json.dumps(event_to_dict(kept), ensure_ascii=False), seq))
        erased += len(updates)
        if updates and not dry_run:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("UPDATE events SET data = ? WHERE seq = ?", updates)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
    return scanned, erased


def _rewrite(files: SnapshotFiles, restored: Restored, conn: sqlite3.Connection,
             cutoff: datetime) -> int:
    """Erase one snapshot's state like the log and store it again (with the digest of its
    event as the log now has it); 1 if it changed."""
    state = restored.state
    digest = event_digest(conn, state.last_seq) if state.last_seq else None
    if erase_state(state, cutoff) == 0 and digest == restored.digest:
        return 0
    extra = {"index": restored.index, "event_digest": digest}
    files.write_bytes(state.last_seq, encode_snapshot(state, extra))
    return 1
