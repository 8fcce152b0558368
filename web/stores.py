"""Every store the service uses, opened together from the settings: SQLite or Redis.

:func:`open_stores` returns one :class:`Stores` bundle; the setting ``store`` chooses. Without
it everything lives in the SQLite file ``database`` (one instance: the file is locked against a
second ``mae serve``); with ``store = redis://HOST:PORT/DB`` the event log
(:mod:`web.redislog`), principals, audit, snapshots, positions and revocations live in Redis
and any number of instances share them (no lock). The app sees only the interfaces
(:class:`~web.eventstore.EventStore`, :class:`~web.auth.Principals`, :class:`~web.audit.Audit`,
:class:`~web.positions.PositionStorage`, :class:`~web.snapshots.Snapshotter`,
:class:`~web.connections.Revocations`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import IO, TYPE_CHECKING, Any

from web.audit import Audit, AuditLog
from web.auth import Principals, PrincipalStore
from web.connections import Revocations, SqliteRevocations
from web.eventstore import EventStore, SqliteEventStore, lock_database
from web.positions import PositionStorage, PositionStore
from web.settings import Settings
from web.snapshots import Snapshotter
from web.tokens import ensure_unit_index, unit_standing

if TYPE_CHECKING:
    from web.planning import Lease

__all__ = ["Stores", "open_stores"]

@dataclass
class Stores:
    """The service's stores, of one kind (``sqlite`` or ``redis``)."""

    kind: str
    events: EventStore
    principals: Principals
    audit: Audit
    positions: PositionStorage | None
    snapshots: Snapshotter
    revocations: Revocations
    standing: Callable[[str], str | None]  # a unit's registration: "active", "retired", None
    #: Who of the instances sharing the store plans the day's visits (None: SQLite, one
    #: instance, which always plans); :mod:`web.redis_lease`.
    planner_lease: Lease | None = None
    _closers: list[Callable[[], Any]] = field(default_factory=list, repr=False)

    def close(self) -> None:
        """Close every store (each once; one failing does not keep the others open)."""
        for close in reversed(self._closers):
            with contextlib.suppress(Exception):
                close()
        self._closers.clear()


def open_stores(settings: Settings) -> Stores:
    """The stores ``settings`` name (blocking: call it from a worker thread in the app).
    SQLite: raises :class:`~web.eventstore.DatabaseLocked` if another service has the file."""
    if settings.store is not None:
        return _open_redis(settings, settings.store)
    return _open_sqlite(settings)


def _open_sqlite(settings: Settings) -> Stores:
    database = settings.database
    lock: IO[str] = lock_database(database)  # a second service on this file stops here
    closers: list[Callable[[], Any]] = [lock.close]
    try:
        events = SqliteEventStore(database)
        closers.append(events.close)
        principals = PrincipalStore(database)
        closers.append(principals.close)
        audit = AuditLog(database)
        closers.append(audit.close)
        positions = PositionStore(
            database, retention=timedelta(days=settings.position_retention_days)
        ) if settings.positions_table else None
        if positions is not None:
            closers.append(positions.close)
        ensure_unit_index(database)
        revocations = SqliteRevocations(database)
        closers.append(revocations.close)
    except BaseException:
        for close in reversed(closers):
            close()
        raise
    return Stores("sqlite", events, principals, audit, positions,
                  Snapshotter(database, every=settings.snapshot_every), revocations,
                  partial(unit_standing, database), None, closers)


def _open_redis(settings: Settings, url: str) -> Stores:
    from web.redis_audit import RedisAuditLog
    from web.redis_auth import RedisPrincipalStore
    from web.redis_lease import RedisLease
    from web.redis_positions import RedisPositions
    from web.redis_revocations import RedisRevocations
    from web.redis_snapshots import RedisSnapshots
    from web.redis_standing import RedisUnitStanding
    from web.redislog import RedisEventStore

    closers: list[Callable[[], Any]] = []
    try:
        events: EventStore = RedisEventStore(url)
        closers.append(events.close)
        revocations = RedisRevocations(url)
        closers.append(revocations.close)
        principals = RedisPrincipalStore(url, revocations=revocations)
        closers.append(principals.close)
        audit = RedisAuditLog(url)
        closers.append(audit.close)
        positions = RedisPositions(
            url, retention=timedelta(days=settings.position_retention_days)
        ) if settings.positions_table else None
        if positions is not None:
            closers.append(positions.close)
        shelf = RedisSnapshots(url, events)
        standing = RedisUnitStanding(url, events)
        closers.append(standing.close)
        lease = RedisLease(url, "planner", ttl_s=settings.planning_lease_s)
        closers.append(lease.close)
    except BaseException:
        for close in reversed(closers):
            close()
        raise
    return Stores("redis", events, principals, audit, positions,
                  Snapshotter(every=settings.snapshot_every, shelf=shelf), revocations,
                  standing, lease, closers)
