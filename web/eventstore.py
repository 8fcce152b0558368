"""The durable event log behind the dispatch service.

:class:`EventStore` is the interface: ``append`` writes a batch atomically and only if the log
still ends at ``expected_last_seq`` (an optimistic check that makes a second writer fail loudly
instead of interleaving), ``read`` streams the log from a sequence number, ``last_seq`` says
where it ends. :class:`SqliteEventStore` is the default implementation: one row per event in
WAL mode with ``synchronous=FULL``, so an append that returned survives a power cut. A Redis
Streams store fits the same shape (``XADD`` with an explicit id per event inside ``MULTI``,
``XRANGE`` from ``since+1``).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from dispatch.events import Envelope, Event, event_from_dict, event_to_dict
from mae.errors import MaeError

__all__ = ["EventStore", "SqliteEventStore", "StoreConflict", "connect_sqlite"]


class StoreConflict(MaeError, RuntimeError):
    """The log no longer ends where the writer expected: another writer appended."""


@runtime_checkable
class EventStore(Protocol):
    """An append-only, totally ordered log of dispatch events."""

    @property
    def last_seq(self) -> int:
        """The sequence number of the last stored event (0 when empty)."""
        ...

    def append(self, events: Sequence[Event], *, expected_last_seq: int) -> list[Envelope]:
        """Store ``events`` as ``expected_last_seq + 1, …`` atomically and durably, or raise
        :class:`StoreConflict` (and store nothing) if the log has moved on."""
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


class SqliteEventStore:
    """:class:`EventStore` in a SQLite file (table ``events``), shared with other tables."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._write = connect_sqlite(self.path)
        self._write.execute(_SCHEMA)
        self._read = connect_sqlite(self.path)
        self._lock = threading.Lock()
        row = self._write.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
        self._last_seq = int(row[0])

    @property
    def last_seq(self) -> int:
        return self._last_seq

    def append(self, events: Sequence[Event], *, expected_last_seq: int) -> list[Envelope]:
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
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            self._last_seq = envelopes[-1].seq
        return envelopes

    def read(self, since: int = 0) -> Iterator[Envelope]:
        cursor = self._read.execute(
            "SELECT seq, data FROM events WHERE seq > ? ORDER BY seq", (since,)
        )
        for seq, data in cursor:
            yield Envelope(int(seq), event_from_dict(json.loads(data)))

    def close(self) -> None:
        self._write.close()
        self._read.close()
