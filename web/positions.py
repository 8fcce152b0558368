"""Unit positions, kept out of the permanent event log.

A thousand crews reporting every few seconds would be most of the log and most of its fsyncs,
yet a position is worth something only until the next one. So a report goes here instead of
through the writer: :class:`PositionTracker` rate-limits it per unit (a report sooner than
``min_interval_s`` after the last one kept is answered ``kept: false``; the newest such report
of a unit is still taken once the interval has passed, unless a newer one came first, so a car
that stops right after a burst is not shown where it was before), tells the dispatch state
(:meth:`dispatch.state.DispatchState.note_position`, so recommendations use it) and the
dispatchers (through the service: one ``unit_positions`` message a second with the units that
moved), and queues it for :class:`PositionStore`. That store writes in batches (one
transaction a second, no fsync of its own) to two tables of the service database:
``unit_positions``, the latest position per unit (read back at start), and ``position_track``,
a thinned track (one point per unit every ``track_every_s``) deleted after ``retention``. A
crash loses at most the last batch: the next report replaces it anyway.

On a store shared by several instances (:class:`web.redis_positions.RedisPositions`) each kept
report is also *shared* at once (:meth:`PositionStorage.share`, one publish for whatever was
kept while the last one was on its way), not with the once-a-second storage: the other
instances take it straight into their state and their dispatchers' next ``unit_positions``
message (:meth:`PositionTracker.remote`), as soon as this instance's own dispatchers get it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from dispatch.model import Location
from dispatch.state import DispatchState
from web.eventstore import StorageUnavailable, connect_sqlite

__all__ = ["PositionReport", "PositionStorage", "PositionStore", "PositionTracker"]

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS unit_positions (
    unit_id TEXT PRIMARY KEY,
    lat     REAL NOT NULL,
    lon     REAL NOT NULL,
    label   TEXT,
    at      TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS position_track (
    unit_id TEXT NOT NULL,
    at      TEXT NOT NULL,
    lat     REAL NOT NULL,
    lon     REAL NOT NULL,
    PRIMARY KEY (unit_id, at)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS position_track_at ON position_track (at);
"""


@dataclass(frozen=True, slots=True)
class PositionReport:
    """Where a unit was at a moment (the service clock's time of the report)."""

    unit_id: str
    location: Location
    at: datetime


class PositionStorage(Protocol):
    """Where kept positions are stored, and how other instances' reach this one (SQLite:
    :class:`PositionStore`, one instance; Redis: :class:`web.redis_positions.RedisPositions`,
    which also shares each kept report with every other instance)."""

    name: str
    #: Whether other instances follow this store (then :meth:`share` tells them).
    shares: bool

    def latest(self) -> list[PositionReport]: ...

    def track(self, unit_id: str, *, since: datetime | None = None
              ) -> list[PositionReport]: ...

    def save(self, latest: list[PositionReport], track: list[PositionReport], *,
             now: datetime) -> None: ...

    def share(self, reports: list[PositionReport]) -> None:
        """Tell the other instances of positions kept here (before they are stored)."""
        ...

    def follow(self, on_reports: Callable[[list[PositionReport]], None]) -> None:
        """Call ``on_reports`` (from another thread) with the positions other instances
        share, until :meth:`close`; nothing to do where there are no others."""
        ...

    def close(self) -> None: ...


class PositionStore:
    """The ``unit_positions`` and ``position_track`` tables of the service database."""

    name = "positions"
    shares = False

    def __init__(self, path: Path, *, retention: timedelta = timedelta(days=7)) -> None:
        self.retention = retention
        self._db = connect_sqlite(Path(path))
        self._db.execute("PRAGMA synchronous=NORMAL")  # positions are replaced within seconds
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def latest(self) -> list[PositionReport]:
        """The last stored position of every unit (what a restart starts from)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT unit_id, lat, lon, label, at FROM unit_positions ORDER BY unit_id"
            ).fetchall()
        return [PositionReport(r[0], Location(r[1], r[2], label=r[3]),
                               datetime.fromisoformat(r[4])) for r in rows]

    def track(self, unit_id: str, *, since: datetime | None = None) -> list[PositionReport]:
        """The thinned track of a unit, oldest first."""
        sql = "SELECT unit_id, lat, lon, at FROM position_track WHERE unit_id = ?"
        args: tuple[object, ...] = (unit_id,)
        if since is not None:
            sql += " AND at >= ?"
            args = (unit_id, since.isoformat())
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY at", args).fetchall()
        return [PositionReport(r[0], Location(r[1], r[2]), datetime.fromisoformat(r[3]))
                for r in rows]

    def save(self, latest: list[PositionReport], track: list[PositionReport], *,
             now: datetime) -> None:
        """Store a batch in one transaction and drop track points older than the retention;
        raises :class:`StorageUnavailable` (and stores nothing) if the file takes no writes."""
        cutoff = (now - self.retention).isoformat()
        with self._lock:
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")
                db.executemany(
                    "INSERT INTO unit_positions (unit_id, lat, lon, label, at) "
                    "VALUES (?,?,?,?,?) ON CONFLICT (unit_id) DO UPDATE SET lat = excluded.lat, "
                    "lon = excluded.lon, label = excluded.label, at = excluded.at "
                    "WHERE excluded.at >= unit_positions.at",
                    [(p.unit_id, p.location.lat, p.location.lon, p.location.label,
                      p.at.isoformat()) for p in latest])
                db.executemany(
                    "INSERT OR REPLACE INTO position_track (unit_id, at, lat, lon) "
                    "VALUES (?,?,?,?)",
                    [(p.unit_id, p.at.isoformat(), p.location.lat, p.location.lon)
                     for p in track])
                db.execute("DELETE FROM position_track WHERE at < ?", (cutoff,))
                db.execute("COMMIT")
            except (sqlite3.Error, OSError) as exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise StorageUnavailable(self.name, str(exc)) from exc

    def share(self, reports: list[PositionReport]) -> None:
        """One instance per file: nobody to tell."""

    def follow(self, on_reports: Callable[[list[PositionReport]], None]) -> None:
        """One instance per file: no other instance's positions to follow."""

    def close(self) -> None:
        self._db.close()


class PositionTracker:
    """Takes position reports: rate limit, state, dispatchers' screens, batched storage.

    ``publish(report)`` shows a kept report to the dispatchers; ``on_storage_error(store)`` is
    told when a batch cannot be stored (it is kept and retried with the next one)."""

    def __init__(self, store: PositionStorage, state: DispatchState, *, min_interval_s: float,
                 track_every_s: float, publish: Callable[[PositionReport], None],
                 on_storage_error: Callable[[str, str], None] | None = None,
                 on_storage_ok: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.state = state
        self.min_interval = timedelta(seconds=min_interval_s)
        self.track_every = timedelta(seconds=track_every_s)
        self.kept = 0
        self.dropped = 0
        self._publish = publish
        self._on_error = on_storage_error
        self._on_ok = on_storage_ok
        self._last_kept: dict[str, datetime] = {}
        self._last_track: dict[str, datetime] = {}
        self._latest: dict[str, PositionReport] = {}
        self._track: list[PositionReport] = []
        self._deferred: dict[str, PositionReport] = {}
        self._unshared: dict[str, PositionReport] = {}
        self._sharing: asyncio.Task[None] | None = None

    def restore(self) -> int:
        """Put each unit at its last stored position (at start, after the log's replay);
        returns how many units were placed."""
        placed = 0
        for report in self.store.latest():
            if report.unit_id in self.state.units and self.state.note_position(
                    report.unit_id, report.location, report.at):
                self._last_kept[report.unit_id] = report.at
                self._last_track[report.unit_id] = report.at
                placed += 1
        return placed

    def report(self, unit_id: str, location: Location, at: datetime) -> bool:
        """Take a report of ``unit_id`` (UnknownUnit if none); returns False when it came
        sooner than ``min_interval_s`` after the last one kept: it is then held as the unit's
        next position, taken by :meth:`catch_up` once the interval has passed."""
        self.state.unit(unit_id)
        report = PositionReport(unit_id, location, at)
        last = self._last_kept.get(unit_id)
        if last is not None and at - last < self.min_interval:
            self.dropped += 1
            self._deferred[unit_id] = report
            return False
        self._deferred.pop(unit_id, None)
        return self._take(report)

    def catch_up(self, now: datetime) -> int:
        """Take the held reports whose unit's interval has passed; returns how many."""
        due = [r for r in self._deferred.values()
               if now - self._last_kept.get(r.unit_id, r.at) >= self.min_interval]
        for report in due:
            del self._deferred[report.unit_id]
            if report.unit_id in self.state.units:
                self._take(report)
        return len(due)

    def remote(self, reports: list[PositionReport]) -> int:
        """On the loop: positions another instance kept and stored; shown here too (state and
        dispatchers), never stored again. Returns how many were newer than what we had."""
        shown = 0
        for report in reports:
            if report.unit_id in self.state.units and self.state.note_position(
                    report.unit_id, report.location, report.at):
                self._publish(report)
                shown += 1
        return shown

    def _take(self, report: PositionReport) -> bool:
        unit_id, at = report.unit_id, report.at
        if not self.state.note_position(unit_id, report.location, at):
            return False
        self._last_kept[unit_id] = at
        self._latest[unit_id] = report
        tracked = self._last_track.get(unit_id)
        if tracked is None or at - tracked >= self.track_every:
            self._last_track[unit_id] = at
            if len(self._track) < 100_000:  # a store down for long: keep the newest latest only
                self._track.append(report)
        self.kept += 1
        self._publish(report)
        if self.store.shares:
            self._share_soon(report)
        return True

    def _share_soon(self, report: PositionReport) -> None:
        """Share ``report`` with the other instances now, or with the next publish if one is
        on its way (so a burst of reports costs a few publishes, not one each)."""
        self._unshared[report.unit_id] = report
        if self._sharing is None:
            # not on a loop (a script's direct call): the next flush shares it
            with contextlib.suppress(RuntimeError):
                self._sharing = asyncio.get_running_loop().create_task(self._share())

    async def _share(self) -> None:
        try:
            while self._unshared:
                batch = list(self._unshared.values())
                self._unshared = {}
                try:
                    await asyncio.to_thread(self.store.share, batch)
                except StorageUnavailable:  # the flush reports it; the next move shares again
                    self._unshared.clear()
                    return
        finally:
            self._sharing = None

    @property
    def pending(self) -> int:
        """Reports kept but not yet stored."""
        return len(self._latest) + len(self._track)

    async def flush(self, now: datetime) -> bool:
        """Take the held reports that are due, then store what was kept since the last flush
        (in a worker thread); on failure the batch stays for the next flush. Returns whether
        everything pending is stored."""
        self.catch_up(now)
        if self._unshared and self._sharing is None:
            await self._share()
        if not self._latest and not self._track:
            return True
        latest, track = list(self._latest.values()), self._track
        self._latest, self._track = {}, []
        try:
            await asyncio.to_thread(self.store.save, latest, track, now=now)
        except StorageUnavailable as exc:
            for report in latest:  # put back what no newer report replaced meanwhile
                self._latest.setdefault(report.unit_id, report)
            self._track = track + self._track
            if self._on_error is not None:
                self._on_error(exc.store, exc.detail)
            return False
        if self._on_ok is not None:
            self._on_ok(self.store.name)
        return True
