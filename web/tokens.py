"""Creating tokens safely: a crew token only for a unit the dispatch log has and has not retired.

Shared by ``mae tokens create`` and ``POST /api/admin/tokens``. It reads the unit's standing
straight from table ``events`` (the last ``UnitRegistered`` or ``UnitRetired`` of that unit)
through a small partial index of just those events, so the CLI opens only the database: no map,
no replay, no app, and no scan of a long log. Kept light on imports for the same reason (the
solvers the full ``mae`` parser imported made a token take about a second).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import partial
from pathlib import Path

from web.auth import Principal, Principals, PrincipalStore, Role
from web.errors import BadMessage

__all__ = ["create_token", "ensure_unit_index", "open_token_stores", "unit_standing"]

# Literals, not parameters: SQLite uses a partial index only when the query repeats its terms.
# UnitRetired is the region file's event for a unit removed from the file.
_UNIT_EVENTS = "type IN ('UnitRegistered', 'UnitRetired')"
_INDEX = f"CREATE INDEX IF NOT EXISTS events_unit_standing ON events(seq) WHERE {_UNIT_EVENTS}"


def ensure_unit_index(database: Path) -> None:
    """Create the partial index of registration events (once; the service does it at start,
    a token command on an older file on first use). No-op without an event log."""
    conn = sqlite3.connect(Path(database), timeout=10.0)
    try:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'"
                        ).fetchone():
            conn.execute(_INDEX)
            conn.commit()
    finally:
        conn.close()


def unit_standing(database: Path, unit_id: str) -> str | None:
    """``"active"`` or ``"retired"`` by the unit's last registration event in the log, or
    None when the log never registered it (or there is no log yet)."""
    path = Path(database)
    if not path.exists():
        return None
    ensure_unit_index(path)
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10.0)
    try:
        row = conn.execute(
            f"SELECT type FROM events WHERE {_UNIT_EVENTS} "
            "AND json_extract(data, '$.unit_id') = ? ORDER BY seq DESC LIMIT 1", (unit_id,),
        ).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise
    finally:
        conn.close()
    if row is None:
        return None
    return "active" if row[0] == "UnitRegistered" else "retired"


def create_token(
    store: Principals, database: Path | Callable[[str], str | None], *, role: Role | str,
    name: str, agency: str | None = None, unit_id: str | None = None,
) -> tuple[Principal, str]:
    """A new principal and its token (shown once, stored hashed); a crew token is refused
    unless ``unit_id`` is a registered, not retired, unit of the log: the SQLite log at
    ``database``, or the one a standing function reads (``web.redis_standing`` on Redis)."""
    if str(role) == Role.CREW.value:
        if not unit_id:
            raise BadMessage("unit", "a crew token is bound to one unit: give --unit / unit_id")
        standing = database(unit_id) if callable(database) else \
            unit_standing(database, unit_id)
        if standing is None:
            raise BadMessage("unit", f"unit {unit_id!r} is not registered in the dispatch log "
                             "(register it through the region file first)")
        if standing == "retired":
            raise BadMessage("unit", f"unit {unit_id!r} is retired")
    return store.create(role=role, name=name, agency=agency, unit_id=unit_id)


def open_token_stores(store: str | None, database: Path
                      ) -> tuple[Principals, Callable[[str], str | None], Callable[[], None]]:
    """What ``mae tokens`` needs, light to open: the principals, a unit-standing check and a
    closer. SQLite by default (the file only, no lock: the service may be running)."""
    if store is None:
        principals: Principals = PrincipalStore(database)
        return principals, partial(unit_standing, database), principals.close
    from web.redis_auth import RedisPrincipalStore
    from web.redis_standing import RedisUnitStanding
    from web.redislog import RedisEventStore

    redis_principals = RedisPrincipalStore(store)
    log = RedisEventStore(store)
    standing = RedisUnitStanding(store, log)

    def close() -> None:
        standing.close()
        log.close()
        redis_principals.close()

    return redis_principals, standing, close
