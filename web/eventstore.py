"""The durable event log behind the dispatch service.

:class:`EventStore` is the interface: ``append`` writes a batch atomically and only if the log
still ends at ``expected_last_seq`` (an optimistic check that makes a second writer fail loudly
instead of interleaving), ``read`` streams the log from a sequence number, ``last_seq`` says
where it ends. :class:`SqliteEventStore` is the default implementation: one row per event in
WAL mode with ``synchronous=FULL``, so an append that returned survives a power cut.
:class:`web.redislog.RedisEventStore` is the same log on a Redis Stream, shared by instances.

Client operations (a crew tablet's status, position, outcome or ack, each with an op id the
client made up) are remembered in table ``ops`` of the same file, written in the *same
transaction* as the events they caused. A separate table rather than an ``op`` column on
``events``: one op may cause several events (driving off acknowledges and changes status), the
log's schema stays as it is (no migration), ops are scoped per unit so one tablet's ids never
collide with another's, and the table holds ids only, never patient text. Because events and op
row commit together, a retry after a crash either finds the op (and its seq) or finds nothing
was stored — never one without the other.

Each event's schema version (:data:`dispatch.events.SCHEMA_VERSIONS`) is stored inside its JSON
in ``data``, as ``"v"`` beside ``"type"``, not in a column of its own: rows written before
versions existed simply have no ``"v"`` (version 1), so a database of any age opens as it is
with no migration, and :meth:`SqliteEventStore.read` hands every row to
:func:`dispatch.events.event_from_dict`, which upcasts old versions.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol, runtime_checkable

from dispatch.events import Envelope, Event, event_from_dict, event_to_dict
from mae.errors import MaeError

__all__ = [
    "BUSY_TIMEOUT_S",
    "SERVICE_BUSY_TIMEOUT_S",
    "DatabaseLocked",
    "EventStore",
    "OpRecord",
    "OpsSeen",
    "OutcomeUnknown",
    "SqliteEventStore",
    "StorageUnavailable",
    "StoreConflict",
    "connect_sqlite",
    "lock_database",
]

logger = logging.getLogger(__name__)


class StoreConflict(MaeError, RuntimeError):
    """The log no longer ends where the writer expected: another writer appended. ``end`` is
    where it ends (when known) and ``missed`` the events past the writer's expectation, when
    the store brought them along (the writer then catches up without reading them again)."""

    def __init__(self, message: str, *, end: int | None = None,
                 missed: Sequence[Envelope] = ()) -> None:
        super().__init__(message)
        self.end = end
        self.missed = list(missed)


class OpsSeen(StoreConflict):
    """An append carried a client operation the store holds already (another instance
    accepted it first): nothing was written; the writer reads the stored operations and
    decides again, so the repeat gets the first one's answer. Only a store that checks
    operations in its append raises it (``checks_ops_on_append``)."""


class StorageUnavailable(MaeError, OSError):
    """A store could not be written or read (disk full, file too large, I/O error): nothing
    the client did; the request may be retried once the store works again. ``store`` names
    the failing store (``events``, ``audit``, ``positions``), ``detail`` SQLite's or the OS's
    own words, ``retry_after_s`` how long a client should wait. ``stalled``: the store did not
    answer in time (a timeout), so asking it again at once would only wait as long."""

    #: What the failure means for the request, as the client reads it.
    consequence = "the request changed nothing: try again in {s} s"

    def __init__(self, store: str, detail: str, *, retry_after_s: int = 5,
                 stalled: bool = False) -> None:
        self.store = store
        self.detail = detail
        self.retry_after_s = retry_after_s
        self.stalled = stalled
        super().__init__(f"the {store} store cannot be used ({detail}); "
                         + self.consequence.format(s=retry_after_s))


class OutcomeUnknown(StorageUnavailable):
    """The store stopped answering while a write was on its way: it may yet be stored (a
    stalled Redis runs the write it already received once it resumes) or not. The client is
    told so, not that nothing changed: a retry with the same op id or alarm reference is
    safe, anything else should be looked up first."""

    consequence = ("the request may have been stored or not: look before doing it again (a "
                   "retry with the same op id or reference is safe), in {s} s")


class DatabaseLocked(MaeError, RuntimeError):
    """Another ``mae serve`` holds the database: two writers would freeze each other."""


@dataclass(frozen=True, slots=True)
class OpRecord:
    """An accepted client operation: who (``scope``), its id, a fingerprint of the command
    (so a reused id with a different message is caught), the callout it concerned and the seq
    of its last event (0 until stored)."""

    scope: str
    op: str
    digest: str
    callout_id: str | None = None
    seq: int = 0


@runtime_checkable
class EventStore(Protocol):
    """An append-only, totally ordered log of dispatch events."""

    @property
    def last_seq(self) -> int:
        """The sequence number of the last stored event (0 when empty)."""
        ...

    def append(self, events: Sequence[Event], *, expected_last_seq: int,
               op: OpRecord | None = None, ops: Sequence[OpRecord] = ()) -> list[Envelope]:
        """Store ``events`` as ``expected_last_seq + 1, …`` atomically and durably, or raise
        :class:`StoreConflict` (and store nothing) if the log has moved on. ``op`` is
        remembered in the same transaction, with the seq of the last event; ``ops`` (a group
        commit's) are remembered with the seq each carries."""
        ...

    def find_op(self, scope: str, op: str) -> OpRecord | None:
        """The stored operation ``op`` of ``scope``, or None if it was never accepted."""
        ...

    def read(self, since: int = 0) -> Iterator[Envelope]:
        """Every stored event with a sequence number above ``since``, in order."""
        ...

    def refresh(self) -> int:
        """Re-read where the stored log ends (after a failed append) and return it."""
        ...

    def probe(self) -> None:
        """Raise :class:`StorageUnavailable` unless the store takes a small write now."""
        ...

    def wait_beyond(self, after_seq: int, timeout_s: float) -> int:
        """Block (in a worker thread, never on the event loop) until the stored log ends past
        ``after_seq`` or ``timeout_s`` has passed; return where it ends. This is how an
        instance follows events other instances appended to a shared store."""
        ...

    def close(self) -> None: ...


#: How long a command-line tool waits for another program's lock on the database.
BUSY_TIMEOUT_S = 10.0
#: How long the service's writes wait for one (``mae retention``, a backup) before the client
#: gets a 503 with Retry-After: every write goes through one thread, so each wait holds up
#: every writer behind it (10 s each made 30-60 s answers under a held lock).
SERVICE_BUSY_TIMEOUT_S = 2.0


def connect_sqlite(path: Path, *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """A connection to the service database in WAL mode with full fsync on commit, waiting at
    most ``busy_timeout_s`` for another connection's lock."""
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                           timeout=busy_timeout_s)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
    return conn


_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq   INTEGER PRIMARY KEY,
    type  TEXT NOT NULL,
    at    TEXT NOT NULL,
    data  TEXT NOT NULL
)
"""

_OPS_SCHEMA = """
CREATE TABLE IF NOT EXISTS ops (
    scope      TEXT NOT NULL,
    op         TEXT NOT NULL,
    digest     TEXT NOT NULL,
    callout_id TEXT,
    seq        INTEGER NOT NULL,
    PRIMARY KEY (scope, op)
) WITHOUT ROWID
"""


_HEARTBEAT_SCHEMA = """
CREATE TABLE IF NOT EXISTS heartbeat (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at TEXT NOT NULL
)
"""


#: Appends of up to this many events without client operations go in one INSERT statement.
ONE_STATEMENT_ROWS = 64
_EVENTS_INTO = "INSERT INTO events (seq, type, at, data) "
_INSERT_EVENTS = _EVENTS_INTO + "VALUES (?,?,?,?)"


@functools.cache
def _insert_events_sql(n: int) -> str:
    """One INSERT statement for ``n`` event rows that stores them only if the log ends at the
    seq given last (else none: the rowcount tells)."""
    return (_EVENTS_INTO + "SELECT * FROM (VALUES " + ",".join(["(?,?,?,?)"] * n)
            + ") WHERE (SELECT COALESCE(MAX(seq), 0) FROM events) = ?")


def _conflict(last: int | None, expected: int) -> StoreConflict:
    where = "elsewhere" if last is None else f"at {last}"
    return StoreConflict(f"the event log ends {where}, not {expected}: another writer is using "
                         "this database")


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back if a transaction is still open: SQLite ends one by itself on a full disk,
    and a ROLLBACK then fails with "no transaction is active", hiding the real error."""
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


class SqliteEventStore:
    """:class:`EventStore` in a SQLite file (table ``events``), shared with other tables.

    A failed commit is checked against the file: if the events are there after all (the write
    failed after the commit landed) the append succeeds; otherwise it raises
    :class:`StorageUnavailable` with SQLite's own words, and nothing was stored."""

    name = "events"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._write = connect_sqlite(self.path, busy_timeout_s=SERVICE_BUSY_TIMEOUT_S)
        self._write.execute(_SCHEMA)
        self._write.execute(_OPS_SCHEMA)
        self._write.execute(_HEARTBEAT_SCHEMA)
        self._read = connect_sqlite(self.path)
        self._lock = threading.Lock()
        row = self._write.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
        self._last_seq = int(row[0])

    @property
    def last_seq(self) -> int:
        return self._last_seq

    def append(self, events: Sequence[Event], *, expected_last_seq: int,
               op: OpRecord | None = None, ops: Sequence[OpRecord] = ()) -> list[Envelope]:
        if not events:
            return []
        rows = []
        envelopes = []
        for i, event in enumerate(events, start=expected_last_seq + 1):
            data = event_to_dict(event)
            rows.append((i, data["type"], data["at"], json.dumps(data, ensure_ascii=False)))
            envelopes.append(Envelope(i, event))
        op_rows = [(o.scope, o.op, o.digest, o.callout_id, o.seq) for o in ops]
        if op is not None:
            op_rows.append((op.scope, op.op, op.digest, op.callout_id, envelopes[-1].seq))
        with self._lock:
            cur = self._write
            try:
                if op_rows or len(rows) > ONE_STATEMENT_ROWS:
                    cur.execute("BEGIN IMMEDIATE")
                    (last,) = cur.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
                    if last != expected_last_seq:
                        raise _conflict(last, expected_last_seq)
                    cur.executemany(_INSERT_EVENTS, rows)
                    if op_rows:
                        cur.executemany("INSERT INTO ops (scope, op, digest, callout_id, seq) "
                                        "VALUES (?,?,?,?,?)", op_rows)
                    cur.execute("COMMIT")
                else:
                    # The same check and insert as one statement, its own transaction, as
                    # atomic and durable as the one above in a single call into SQLite: the
                    # storage thread wants the GIL back once per append, not four times,
                    # which is what the loop pays for (see benchmarks/README.md, issue 12).
                    stored = cur.execute(
                        _insert_events_sql(len(rows)),
                        [*(value for row in rows for value in row), expected_last_seq],
                    ).rowcount
                    if stored != len(rows):
                        raise _conflict(self._stored_up_to(), expected_last_seq)
            except StoreConflict:
                _rollback(cur)
                raise
            except (sqlite3.Error, OSError) as exc:
                _rollback(cur)
                if self._stored_up_to() == envelopes[-1].seq:
                    logger.warning("commit of seq %d reported %s but is stored",
                                   envelopes[-1].seq, exc)
                else:
                    raise StorageUnavailable(self.name, str(exc)) from exc
            except BaseException:
                _rollback(cur)
                raise
            self._last_seq = envelopes[-1].seq
        return envelopes

    def _stored_up_to(self) -> int | None:
        """Where the log on disk ends, read afresh; None if even that fails."""
        try:
            (last,) = self._read.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
        except sqlite3.Error:
            return None
        return int(last)

    def refresh(self) -> int:
        """Re-read where the log on disk ends (after a failed append or a conflict) and
        return it; raises :class:`StorageUnavailable` if the file cannot be read."""
        with self._lock:
            last = self._stored_up_to()
            if last is None:
                raise StorageUnavailable(self.name, "the end of the log cannot be read")
            self._last_seq = last
        return last

    def wait_beyond(self, after_seq: int, timeout_s: float) -> int:
        """Poll the file (SQLite has no blocking read) every 50 ms until the log ends past
        ``after_seq`` or the time is up; return where it ends."""
        deadline = time.monotonic() + timeout_s
        while True:
            last = self._stored_up_to()
            if last is None:
                raise StorageUnavailable(self.name, "the end of the log cannot be read")
            if last > after_seq or time.monotonic() >= deadline:
                return last
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    def probe(self) -> None:
        """A small durable write (the heartbeat row), to learn whether the file takes writes
        again; raises :class:`StorageUnavailable` if it does not."""
        with self._lock:
            cur = self._write
            try:
                cur.execute("INSERT OR REPLACE INTO heartbeat (id, at) VALUES "
                            "(1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))")
            except (sqlite3.Error, OSError) as exc:
                _rollback(cur)
                raise StorageUnavailable(self.name, str(exc)) from exc

    def find_op(self, scope: str, op: str) -> OpRecord | None:
        # On the read connection, without the writer's lock: the writer asks from the event
        # loop, and must not wait there for a commit's (or a heartbeat's) fsync to finish
        try:
            row = self._read.execute(
                "SELECT digest, callout_id, seq FROM ops WHERE scope = ? AND op = ?",
                (scope, op),
            ).fetchone()
        except sqlite3.Error as exc:
            raise StorageUnavailable(self.name, str(exc)) from exc
        if row is None:
            return None
        return OpRecord(scope, op, str(row[0]), row[1], int(row[2]))

    def read(self, since: int = 0) -> Iterator[Envelope]:
        cursor = self._read.execute(
            "SELECT seq, data FROM events WHERE seq > ? ORDER BY seq", (since,)
        )
        for seq, data in cursor:
            yield Envelope(int(seq), event_from_dict(json.loads(data)))

    def close(self) -> None:
        self._write.close()
        self._read.close()


def lock_database(path: Path) -> IO[str]:
    """Take the exclusive lock of the service database (``flock`` on ``<db>.lock``), held as
    long as the returned file stays open: a second ``mae serve`` on the same file is refused
    with :class:`DatabaseLocked` instead of starting on a frozen board. The lock file names
    the holder's pid; the kernel releases the lock when the process ends, even on a crash."""
    lock_path = Path(f"{path}.lock")
    handle = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the lifetime
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise DatabaseLocked(
            f"{path} is in use by another mae serve (pid {holder}); stop it first, or give "
            "this one its own --database"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
