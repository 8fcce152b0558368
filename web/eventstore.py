"""The durable event log behind the dispatch service.

:class:`EventStore` is the interface: ``append`` writes a batch atomically and only if the log
still ends at ``expected_last_seq`` (an optimistic check that makes a second writer fail loudly
instead of interleaving), ``read`` streams the log from a sequence number, ``last_seq`` says
where it ends. :class:`SqliteEventStore` is the default implementation: one row per event in
WAL mode with ``synchronous=FULL``, so an append that returned survives a power cut. A Redis
Streams store fits the same shape (``XADD`` with an explicit id per event inside ``MULTI``,
``XRANGE`` from ``since+1``).

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

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from dispatch.events import Envelope, Event, event_from_dict, event_to_dict
from mae.errors import MaeError

__all__ = ["EventStore", "OpRecord", "SqliteEventStore", "StoreConflict", "connect_sqlite"]


class StoreConflict(MaeError, RuntimeError):
    """The log no longer ends where the writer expected: another writer appended."""


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
               op: OpRecord | None = None) -> list[Envelope]:
        """Store ``events`` as ``expected_last_seq + 1, …`` atomically and durably, or raise
        :class:`StoreConflict` (and store nothing) if the log has moved on. ``op`` is
        remembered in the same transaction, with the seq of the last event."""
        ...

    def find_op(self, scope: str, op: str) -> OpRecord | None:
        """The stored operation ``op`` of ``scope``, or None if it was never accepted."""
        ...

    def read(self, since: int = 0) -> Iterator[Envelope]:
        """Every stored event with a sequence number above ``since``, in order."""
        ...

    def close(self) -> None: ...


def connect_sqlite(path: Path) -> sqlite3.Connection:
    """A connection to the service database in WAL mode with full fsync on commit."""
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
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


class SqliteEventStore:
    """:class:`EventStore` in a SQLite file (table ``events``), shared with other tables."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._write = connect_sqlite(self.path)
        self._write.execute(_SCHEMA)
        self._write.execute(_OPS_SCHEMA)
        self._read = connect_sqlite(self.path)
        self._lock = threading.Lock()
        row = self._write.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
        self._last_seq = int(row[0])

    @property
    def last_seq(self) -> int:
        return self._last_seq

    def append(self, events: Sequence[Event], *, expected_last_seq: int,
               op: OpRecord | None = None) -> list[Envelope]:
        if not events:
            return []
        rows = []
        envelopes = []
        for i, event in enumerate(events, start=expected_last_seq + 1):
            data = event_to_dict(event)
            rows.append((i, data["type"], data["at"], json.dumps(data, ensure_ascii=False)))
            envelopes.append(Envelope(i, event))
        with self._lock:
            cur = self._write
            cur.execute("BEGIN IMMEDIATE")
            try:
                (last,) = cur.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
                if last != expected_last_seq:
                    raise StoreConflict(
                        f"the event log ends at {last}, not {expected_last_seq}: "
                        "another writer is using this database"
                    )
                cur.executemany("INSERT INTO events (seq, type, at, data) VALUES (?,?,?,?)", rows)
                if op is not None:
                    cur.execute("INSERT INTO ops (scope, op, digest, callout_id, seq) "
                                "VALUES (?,?,?,?,?)",
                                (op.scope, op.op, op.digest, op.callout_id, envelopes[-1].seq))
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            self._last_seq = envelopes[-1].seq
        return envelopes

    def find_op(self, scope: str, op: str) -> OpRecord | None:
        with self._lock:
            row = self._write.execute(
                "SELECT digest, callout_id, seq FROM ops WHERE scope = ? AND op = ?", (scope, op)
            ).fetchone()
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
