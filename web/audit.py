"""The audit log: who asked for what, when, from where, and whether it was done.

One row per command (socket or REST), accepted or refused, in table ``audit`` of the service
database. A row names the action and the ids it concerns (callout, unit, alarm) and, for a
refusal, the error code and field — never free text, so patient notes cannot reach it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from web.auth import Principal
from web.eventstore import SERVICE_BUSY_TIMEOUT_S, StorageUnavailable, connect_sqlite

__all__ = ["Audit", "AuditEntry", "AuditLog", "AuditRow", "kept_target"]

#: Keys a target may carry: identifiers only.
TARGET_KEYS = frozenset({"callout_id", "unit_id", "alarm_id", "target_id", "source_id", "status",
                         "kind", "seq", "reference", "agency", "duplicate", "options",
                         "fields"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id           INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    role         TEXT NOT NULL,
    action       TEXT NOT NULL,
    target       TEXT NOT NULL,
    client       TEXT NOT NULL,
    result       TEXT NOT NULL
)
"""


_INSERT = ("INSERT INTO audit (at, principal_id, role, action, target, client, result) "
           "VALUES (?,?,?,?,?,?,?)")
#: Up to this many rows are written by one INSERT statement (atomic by itself).
ONE_STATEMENT_ROWS = 64


@functools.cache
def _insert_rows_sql(n: int) -> str:
    """One INSERT statement for ``n`` audit rows."""
    return _INSERT + ",(?,?,?,?,?,?,?)" * (n - 1)


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One row to record: ``target`` is filtered to identifier keys when written."""

    at: datetime
    principal: Principal
    action: str
    target: Mapping[str, object]
    client: str
    result: str = "ok"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    principal_id: str
    role: str
    action: str
    target: dict[str, object]
    client: str
    result: str


def kept_target(target: Mapping[str, object]) -> dict[str, object]:
    """The identifier keys of ``target`` (anything else, e.g. free text, is dropped)."""
    return {k: v for k, v in target.items() if k in TARGET_KEYS and v is not None}


class Audit(Protocol):
    """Where audit rows go (SQLite: :class:`AuditLog`; Redis:
    :class:`web.redis_audit.RedisAuditLog`)."""

    def record(self, *, at: datetime, principal: Principal, action: str,
               target: Mapping[str, object], client: str, result: str = "ok") -> None: ...

    def record_many(self, rows: Sequence[AuditRow]) -> None: ...

    def record_failed_login(self, *, at: datetime, claimed_id: str | None, client: str,
                            action: str, result: str) -> None: ...

    def entries(self, *, limit: int = 100, principal_id: str | None = None
                ) -> list[AuditEntry]: ...

    def close(self) -> None: ...


class AuditLog:
    """Append and read audit rows (no fsync per row: the next event commit flushes the WAL)."""

    def __init__(self, path: Path) -> None:
        self._db: sqlite3.Connection = connect_sqlite(Path(path),
                                                      busy_timeout_s=SERVICE_BUSY_TIMEOUT_S)
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()
        #: Transactions that wrote command rows (several rows may share one): for tests.
        self.transactions = 0

    def close(self) -> None:
        self._db.close()

    def record(
        self, *, at: datetime, principal: Principal, action: str,
        target: Mapping[str, object], client: str, result: str = "ok",
    ) -> None:
        """Record one command; ``target`` keeps only identifier keys."""
        self.record_many([AuditRow(at, principal, action, target, client, result)])

    def record_many(self, rows: Sequence[AuditRow]) -> None:
        """Record several commands in one transaction (the writer gathers the rows of the
        commands answered together, so a burst costs one write, not one per command)."""
        values = [(r.at.isoformat(), r.principal.principal_id, r.principal.role.value, r.action,
                   json.dumps(kept_target(r.target), sort_keys=True, ensure_ascii=False),
                   r.client, r.result)
                  for r in rows]
        with self._lock:
            self.transactions += 1
            if len(values) <= ONE_STATEMENT_ROWS:  # one statement, one transaction, one call
                self._db.execute(_insert_rows_sql(len(values)),
                                 [value for row in values for value in row])
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(_INSERT, values)
                self._db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise

    def record_failed_login(self, *, at: datetime, claimed_id: str | None, client: str,
                            action: str, result: str) -> None:
        """Record a refused token: the principal id it claimed (if it had a token's shape) or
        ``-``, the client and what was tried; never the token itself. A store that cannot
        take the row (disk full) is :class:`StorageUnavailable`: the client gets a 503 rather
        than a refusal that went unrecorded (it was a 500)."""
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO audit (at, principal_id, role, action, target, client, result) "
                    "VALUES (?,?,?,?,?,?,?)",
                    (at.isoformat(), claimed_id or "-", "-", action, "{}", client, result),
                )
            except sqlite3.Error as exc:
                raise StorageUnavailable("audit", str(exc)) from exc

    def entries(self, *, limit: int = 100, principal_id: str | None = None) -> list[AuditEntry]:
        """The latest ``limit`` rows, newest first."""
        sql = "SELECT at, principal_id, role, action, target, client, result FROM audit"
        args: tuple[object, ...] = ()
        if principal_id is not None:
            sql += " WHERE principal_id = ?"
            args = (principal_id,)
        sql += " ORDER BY id DESC LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, (*args, limit)).fetchall()
        return [AuditEntry(datetime.fromisoformat(r[0]), r[1], r[2], r[3], json.loads(r[4]),
                           r[5], r[6]) for r in rows]
