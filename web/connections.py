"""Open sockets by principal, so revoking a token closes that principal's sockets at once.

Each socket registers a :class:`Handle` under its principal id. A revocation made in this
process (``DELETE /api/admin/tokens/{id}``, or retiring a unit, which revokes its crew's tokens)
calls :meth:`Connections.revoke` directly; one made by ``mae tokens revoke`` in another process
(or at another instance) is noticed two ways: :meth:`Connections.watch` asks every
``interval_s`` (0.5 s) in a worker thread, and :meth:`Connections.sweep` runs on the loop just
before each batch of new events and each ``unit_positions`` message is sent, so nothing sent
after a revocation reaches the revoked principal. Both ask a :class:`Revocations` source:
SQLite's (:class:`SqliteRevocations`) first asks ``PRAGMA data_version`` (has anyone else
committed?) and reads the revoked ids only then; Redis's
(:class:`web.redis_revocations.RedisRevocations`) is told by pub/sub, so a revocation at any
instance closes the sockets at every instance.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

__all__ = ["Connections", "Handle", "Revocations", "SqliteRevocations"]

logger = logging.getLogger(__name__)


class Handle:
    """One registered socket: ``stop`` is called once when its principal is revoked (it must
    stop all further sends at once, e.g. unsubscribe); ``revoked`` is then set so the socket's
    loop tells the client and closes it."""

    def __init__(self, principal_id: str, stop: Callable[[], None]) -> None:
        self.principal_id = principal_id
        self._stop = stop
        self.revoked = asyncio.Event()

    def revoke(self) -> None:
        if self.revoked.is_set():
            return
        self._stop()
        self.revoked.set()


class Revocations(Protocol):
    """Where :class:`Connections` learns of revoked principals."""

    def revoked_ids(self) -> frozenset[str] | None:
        """The revoked principal ids if they may have changed since the last call, else None
        (cheap when nothing changed: it runs on the loop before each publish)."""
        ...

    def close(self) -> None: ...


class SqliteRevocations:
    """Revoked ids from the principals table of the service database."""

    def __init__(self, database: Path) -> None:
        self._db = sqlite3.connect(Path(database), check_same_thread=False,
                                   isolation_level=None, timeout=10.0)
        self._lock = threading.Lock()
        self._version: int | None = None

    def revoked_ids(self) -> frozenset[str] | None:
        with self._lock:
            (version,) = self._db.execute("PRAGMA data_version").fetchone()
            if version == self._version:
                return None
            try:
                rows = self._db.execute(
                    "SELECT principal_id FROM principals WHERE revoked_at IS NOT NULL"
                ).fetchall()
            except sqlite3.OperationalError:  # no principals table yet
                rows = []
            self._version = version
            return frozenset(r[0] for r in rows)

    def close(self) -> None:
        with self._lock:
            self._db.close()


class Connections:
    """The registry of open sockets by principal id, and the revocation watcher."""

    def __init__(self, revocations: Revocations | Path) -> None:
        self._source = revocations if not isinstance(revocations, Path) \
            else SqliteRevocations(revocations)
        self._open: dict[str, set[Handle]] = {}

    def close(self) -> None:
        self._source.close()

    def add(self, handle: Handle) -> None:
        self._open.setdefault(handle.principal_id, set()).add(handle)

    def discard(self, handle: Handle) -> None:
        handles = self._open.get(handle.principal_id)
        if handles is not None:
            handles.discard(handle)
            if not handles:
                del self._open[handle.principal_id]

    def count(self, principal_id: str) -> int:
        """How many sockets ``principal_id`` has open."""
        return len(self._open.get(principal_id, ()))

    def revoke(self, principal_id: str) -> int:
        """Stop and close every socket of ``principal_id``; returns how many."""
        handles = self._open.pop(principal_id, set())
        for handle in handles:
            handle.revoke()
        if handles:
            logger.info("closed %d socket(s) of revoked principal %s", len(handles), principal_id)
        return len(handles)

    def _close_revoked(self, revoked: frozenset[str] | None) -> None:
        if revoked is None:
            return
        for principal_id in revoked & self._open.keys():
            self.revoke(principal_id)

    def sweep(self) -> None:
        """On the loop: close the sockets of principals revoked since the last look (called
        before publishing events, so none reaches a revoked principal)."""
        if self._open:
            self._close_revoked(self._source.revoked_ids())

    async def watch(self, interval_s: float = 0.5) -> None:
        """Poll for revocations made by other processes until cancelled (reads off the loop)."""
        while True:
            await asyncio.sleep(interval_s)
            if not self._open:
                continue
            try:
                revoked = await asyncio.to_thread(self._source.revoked_ids)
            except (sqlite3.Error, OSError):
                logger.exception("could not read revoked principals")
                continue
            self._close_revoked(revoked)
