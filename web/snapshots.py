"""Snapshot files beside the service database, so a restart replays only the log's tail.

Where: the directory ``<database>.snapshots/`` next to the SQLite file, one file per snapshot,
``snapshot-<seq>.snap`` (:func:`dispatch.snapshot.encode_snapshot` of the state, with the
service's :class:`~web.logindex.LogIndex` and a digest of the event at ``seq``). The database
alone is the record: snapshots are a cache rebuilt from it, so a backup needs only the
database (backing up the directory too just makes the first start after a restore faster).

When: every ``every`` events (setting ``snapshot_every``) and at shutdown. The live state is
copied on the event loop (containers only: the values are frozen, a few milliseconds for a
large state) and encoded, compressed and written by a worker thread, never on the writer's
path. A file is written to a temporary name, fsynced and renamed; the latest ``keep`` stay.

Start: the newest snapshot that decodes, was made by code with the same state shape, and
whose event at ``seq`` is the very event the log has there (so a snapshot of another or an
older database is never used), then the tail of the log. Anything else is skipped with a
warning and the next older one tried, down to a full replay: never a wrong state.

The closed history (callouts no longer open and their alarms, most of a long log's state)
can be left to decode after the port opens (:mod:`web.pending_history`); the service holds
its writer until the state is whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Protocol

from dispatch.events import event_from_dict, event_to_dict
from dispatch.snapshot import (
    SnapshotError,
    decode_snapshot_deferred,
    encode_snapshot,
    inflate_frame,
)
from dispatch.state import DispatchState
from web.eventstore import StorageUnavailable, connect_sqlite
from web.logindex import LogIndex
from web.pending_history import PendingHistory

__all__ = ["Restored", "SnapshotFiles", "SnapshotShelf", "Snapshotter", "check_snapshot",
           "event_digest", "inflate_ahead", "restore_into"]

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^snapshot-(\d{12})\.snap$")


def event_digest(conn: sqlite3.Connection, seq: int) -> str | None:
    """A digest of the event stored at ``seq`` (of its decoded form, so an old-version row
    and its upcast agree), or None if the log has no such event."""
    row = conn.execute("SELECT data FROM events WHERE seq = ?", (seq,)).fetchone()
    if row is None:
        return None
    event = event_from_dict(json.loads(row[0]))
    text = json.dumps(event_to_dict(event), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def inflate_ahead(frames: list[bytes]) -> Iterator[bytes]:
    """The frames' marshal bytes in order, each inflated in a worker thread while the frame
    before it is being built (zlib releases the GIL, so on a second core decompressing costs
    no start time); at most two frames' raw bytes are alive at once."""
    with ThreadPoolExecutor(1, thread_name_prefix="mae-snapshot-inflate") as pool:
        ahead: deque[Future[bytes]] = deque()
        for i, frame in enumerate(frames):
            ahead.append(pool.submit(inflate_frame, frame))
            frames[i] = b""
            if len(ahead) > 1:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


def check_snapshot(path: Path, blob: bytes, digest_at: Callable[[int], str | None], *,
                   defer: bool = False) -> Restored:
    """Decode ``blob`` and check it is of this log (its digest of the event at its seq is
    ``digest_at(seq)``'s); :class:`SnapshotError` saying why not otherwise. ``defer``: leave
    the closed history to a :class:`PendingHistory` (``Restored.history``; the state's
    deferred fields are then :class:`PartialDict`)."""
    state, extra, later = decode_snapshot_deferred(blob, inflate=inflate_ahead)
    history = None
    if later is not None:
        history = PendingHistory(later, inflate=inflate_ahead)
        if defer:
            history.wrap(state)
        else:
            history.load_now()
            history.complete(state)
    digest = digest_at(state.last_seq) if state.last_seq else None
    if digest is None and state.last_seq:
        raise SnapshotError(f"the log has no event {state.last_seq}: the snapshot is "
                            "ahead of this log (restored from an older backup?)")
    if extra.get("event_digest") != digest:
        raise SnapshotError(f"event {state.last_seq} of the log is not the one the "
                            "snapshot was made after (another log?)")
    index = extra.get("index")
    if not isinstance(index, dict):
        raise SnapshotError("the snapshot has no log index")
    return Restored(path, state, index, digest, history if defer else None)


class SnapshotShelf(Protocol):
    """Where snapshots are kept and read back (SQLite's directory: :class:`SnapshotFiles`;
    Redis: :class:`web.redis_snapshots.RedisSnapshots`), with the log they belong to."""

    def latest(self, *, defer: bool = False) -> Restored | None:
        """The newest usable snapshot, skipping (with a warning) any that is not; ``defer``:
        its closed history left pending (see :func:`check_snapshot`)."""
        ...

    def store(self, state: DispatchState, index: LogIndex) -> str:
        """Durably keep a snapshot of ``state`` (replacing atomically, pruning old ones);
        returns its name."""
        ...

    def close(self) -> None: ...


class _FileShelf:
    """:class:`SnapshotFiles` with its own connection to the database for the digests."""

    def __init__(self, files: SnapshotFiles) -> None:
        self.files = files
        self._conn: sqlite3.Connection | None = None

    def latest(self, *, defer: bool = False) -> Restored | None:
        return self.files.latest(defer=defer)

    def store(self, state: DispatchState, index: LogIndex) -> str:
        if self._conn is None:
            self._conn = connect_sqlite(self.files.database)
        return self.files.write(state, index, self._conn).name

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


@dataclass(frozen=True, slots=True)
class Restored:
    """A snapshot that checked out: the state, the index data saved with it and the digest
    of the log's event at its seq."""

    path: Path
    state: DispatchState
    index: dict[str, Any]
    digest: str | None
    #: The closed history still being decoded (only when asked to defer it).
    history: PendingHistory | None = None


class SnapshotFiles:
    """The snapshot directory of one database: list, read (checked), write, prune."""

    def __init__(self, database: Path, *, keep: int = 2) -> None:
        self.database = Path(database)
        self.directory = self.database.with_name(self.database.name + ".snapshots")
        self.keep = keep

    def paths(self) -> list[tuple[int, Path]]:
        """Snapshot files by seq, newest first."""
        if not self.directory.is_dir():
            return []
        found = []
        for path in self.directory.iterdir():
            match = _NAME.match(path.name)
            if match:
                found.append((int(match.group(1)), path))
        return sorted(found, reverse=True)

    def read(self, path: Path, conn: sqlite3.Connection, *, defer: bool = False) -> Restored:
        """The snapshot at ``path`` if it is whole, of this code's state shape and of this
        log; :class:`SnapshotError` (or OSError) saying why not otherwise."""
        return check_snapshot(path, path.read_bytes(), lambda seq: event_digest(conn, seq),
                              defer=defer)

    def latest(self, *, defer: bool = False) -> Restored | None:
        """The newest usable snapshot, skipping (with a warning) any that is not."""
        candidates = self.paths()
        if not candidates or not self.database.exists():
            return None
        conn = connect_sqlite(self.database)
        try:
            for _seq, path in candidates:
                try:
                    return self.read(path, conn, defer=defer)
                except (SnapshotError, OSError, ValueError, KeyError, TypeError) as exc:
                    logger.warning("skipping snapshot %s: %s", path.name, exc)
        finally:
            conn.close()
        return None

    def write(self, state: DispatchState, index: LogIndex, conn: sqlite3.Connection) -> Path:
        """Encode and durably store a snapshot of ``state`` (a copy nothing else changes),
        then keep only the newest ``keep``; returns its path."""
        extra = {"index": index.to_data(),
                 "event_digest": event_digest(conn, state.last_seq) if state.last_seq else None}
        return self.write_bytes(state.last_seq, encode_snapshot(state, extra))

    def write_bytes(self, seq: int, blob: bytes) -> Path:
        """Store ``blob`` as the snapshot of ``seq`` (temporary file, fsync, rename)."""
        self.directory.mkdir(exist_ok=True)
        final = self.directory / f"snapshot-{seq:012d}.snap"
        tmp = final.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self.prune()
        return final

    def prune(self) -> None:
        for _seq, path in self.paths()[self.keep:]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def restore_into(target: DispatchState, source: DispatchState) -> None:
    """Make ``target`` hold ``source``'s contents (in place: the service's parts share it)."""
    for f in fields(DispatchState):
        setattr(target, f.name, getattr(source, f.name))


class Snapshotter:
    """Writes the service's snapshots: every ``every`` events in a worker thread, and at
    shutdown. ``every=0`` turns snapshots off (reading and writing)."""

    def __init__(self, database: Path | None = None, *, every: int, keep: int = 2,
                 shelf: SnapshotShelf | None = None) -> None:
        if shelf is None:
            if database is None:
                raise ValueError("give the database or a shelf")
            shelf = _FileShelf(SnapshotFiles(database, keep=keep))
        self.shelf = shelf
        self.every = every
        self.written_seq = 0
        self._pending: asyncio.Future[None] | None = None
        self._lock = threading.Lock()
        #: The restored snapshot's closed history while it is being decoded (see
        #: :meth:`restore`); None once the state is whole.
        self.history: PendingHistory | None = None

    def restore(self, state: DispatchState, index: LogIndex, *, defer: bool = False) -> int:
        """Load the newest usable snapshot into ``state`` and ``index``; returns its seq
        (0 if there was none, or snapshots are off). Runs before the log's tail is replayed.
        ``defer``: leave the closed history pending in :attr:`history` (the caller starts it
        and completes the state with :meth:`complete`)."""
        if self.every <= 0:
            return 0
        restored = self.shelf.latest(defer=defer)
        if restored is None:
            return 0
        try:
            index.restore(restored.index)
        except (KeyError, TypeError, ValueError) as exc:
            logger.warning("skipping snapshot %s: its log index is malformed (%s)",
                           restored.path.name, type(exc).__name__)
            return 0
        restore_into(state, restored.state)
        self.history = restored.history
        self.written_seq = state.last_seq
        logger.info("restored snapshot at seq %d%s", state.last_seq,
                    " (closed history pending)" if self.history is not None else "")
        return state.last_seq

    def complete(self, state: DispatchState) -> None:
        """Make the state whole: join the pending history (waits for it; on the event loop,
        where nothing changes the state meanwhile). :class:`SnapshotError` if it cannot be
        decoded (then the caller rebuilds the state from the log)."""
        history, self.history = self.history, None
        if history is not None:
            history.complete(state)

    def note(self, state: DispatchState, index: LogIndex) -> None:
        """Called on the event loop after events were applied: start writing a snapshot in a
        worker thread when ``every`` events passed since the last one and none is being
        written."""
        if self.every <= 0 or state.last_seq - self.written_seq < self.every or \
                self.history is not None:  # the state is not whole yet: it would wait
            return
        if self._pending is not None and not self._pending.done():
            return
        self._pending = asyncio.ensure_future(self._write(state.fork(), index.copy()))

    async def close(self, state: DispatchState, index: LogIndex) -> None:
        """At shutdown: wait for a snapshot being written, then write the last one."""
        if self._pending is not None:
            with contextlib.suppress(Exception):
                await self._pending
        if self.every > 0 and state.last_seq > self.written_seq:
            await self._write(state.fork(), index.copy())
        self.shelf.close()

    async def _write(self, state: DispatchState, index: LogIndex) -> None:
        try:
            await asyncio.to_thread(self._write_now, state, index)
        except (OSError, sqlite3.Error, StorageUnavailable) as exc:
            logger.warning("could not write a snapshot at seq %d: %s", state.last_seq, exc)
        except Exception as exc:  # a snapshot is a cache: failing one never stops the service
            logger.warning("could not write a snapshot at seq %d: %s", state.last_seq,
                           type(exc).__name__)

    def _write_now(self, state: DispatchState, index: LogIndex) -> None:
        with self._lock:
            name = self.shelf.store(state, index)
            self.written_seq = max(self.written_seq, state.last_seq)
        logger.info("wrote snapshot %s", name)
