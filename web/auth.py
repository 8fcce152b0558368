"""Principals, their bearer tokens and what each role may do.

A token is ``mae_<principal id>_<secret>``; only the SHA-256 of the secret is stored (table
``principals`` in the service database) and it is compared in constant time. Roles: an
*agency* is bound to one agency and raises alarms and follows their status; a *dispatcher*
watches everything and commands; a *planner* watches and asks for advice but commands nothing;
a *crew* is bound to one unit and sees only that unit's jobs; an *admin* is a dispatcher who may
also read the audit log. :data:`PERMISSIONS` is the whole role matrix.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from dispatch.model import NOT_PRINTABLE, Agency, is_printable
from web.errors import BadMessage, Forbidden, Unauthorized
from web.eventstore import StorageUnavailable, connect_sqlite

__all__ = [
    "PERMISSIONS",
    "Action",
    "Principal",
    "PrincipalStore",
    "Principals",
    "Role",
    "authorize",
    "check_token",
    "claimed_id",
    "new_principal",
]


class Role(enum.StrEnum):
    AGENCY = "agency"
    DISPATCHER = "dispatcher"
    CREW = "crew"
    PLANNER = "planner"
    MANAGER = "manager"
    ADMIN = "admin"


class Action(enum.StrEnum):
    """Everything a principal can ask for, REST or socket."""

    ALARM_CREATE = "alarm.create"
    ALARM_READ = "alarm.read"
    AGENCY_SOCKET = "agency.socket"
    DISPATCH_SOCKET = "dispatch.socket"
    DISPATCH_COMMAND = "dispatch.command"
    DISPATCH_ADVICE = "dispatch.advice"
    CREW_SOCKET = "crew.socket"
    UNITS_READ = "units.read"
    CALLOUTS_READ = "callouts.read"
    AUDIT_READ = "audit.read"
    STATS_READ = "stats.read"
    HISTORY_READ = "history.read"
    TOKENS_ADMIN = "tokens.admin"
    VISITS_READ = "visits.read"
    VISITS_BOOK = "visits.book"
    VISITS_CHANGE = "visits.change"
    VISITS_REPORT = "visits.report"


_R = Role
_WATCHERS = frozenset({_R.DISPATCHER, _R.PLANNER, _R.ADMIN})
_READERS = _WATCHERS | {_R.MANAGER}  # statistics and histories: no text, no places
PERMISSIONS: Mapping[Action, frozenset[Role]] = MappingProxyType(
    {
        Action.ALARM_CREATE: frozenset({_R.AGENCY}),
        Action.ALARM_READ: frozenset({_R.AGENCY}) | _WATCHERS,
        Action.AGENCY_SOCKET: frozenset({_R.AGENCY}),
        Action.DISPATCH_SOCKET: _WATCHERS,
        Action.DISPATCH_COMMAND: frozenset({_R.DISPATCHER, _R.ADMIN}),
        Action.DISPATCH_ADVICE: _WATCHERS,
        Action.CREW_SOCKET: frozenset({_R.CREW}),
        Action.UNITS_READ: _WATCHERS,
        Action.CALLOUTS_READ: _WATCHERS,
        Action.AUDIT_READ: frozenset({_R.ADMIN}),
        Action.STATS_READ: _READERS,
        Action.HISTORY_READ: _READERS,
        Action.TOKENS_ADMIN: frozenset({_R.ADMIN}),
        # follow-up visits: psychiatry (an agency) books and reads its own; crews report
        # their unit's; dispatchers do everything; planners watch
        Action.VISITS_READ: _WATCHERS | {_R.AGENCY, _R.CREW},
        Action.VISITS_BOOK: frozenset({_R.AGENCY, _R.DISPATCHER, _R.ADMIN}),
        Action.VISITS_CHANGE: frozenset({_R.DISPATCHER, _R.ADMIN}),
        Action.VISITS_REPORT: frozenset({_R.CREW, _R.DISPATCHER, _R.ADMIN}),
    }
)


@dataclass(frozen=True, slots=True)
class Principal:
    """Someone holding a token: a person, an agency's system or a unit's tablet."""

    principal_id: str
    name: str
    role: Role
    agency: Agency | None = None
    unit_id: str | None = None

    def __post_init__(self) -> None:
        if self.role is Role.AGENCY and self.agency is None:
            raise BadMessage("agency", "an agency principal is bound to one agency")
        if self.role is Role.CREW and not self.unit_id:
            raise BadMessage("unit", "a crew principal is bound to one unit")
        if self.role is not Role.AGENCY and self.agency is not None:
            raise BadMessage("agency", "only an agency principal has an agency")
        if self.role is not Role.CREW and self.unit_id is not None:
            raise BadMessage("unit", "only a crew principal has a unit")

    @property
    def actor(self) -> str:
        """What the event log records as the actor: the principal id, never a token."""
        return self.principal_id


def authorize(principal: Principal, action: Action) -> None:
    """Raise :class:`Forbidden` unless ``principal``'s role may do ``action``."""
    if principal.role not in PERMISSIONS[action]:
        raise Forbidden(f"a {principal.role.value} may not do {action.value}")


_SCHEMA = """
CREATE TABLE IF NOT EXISTS principals (
    principal_id TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    agency       TEXT,
    unit_id      TEXT,
    token_sha256 TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT
)
"""

_TOKEN = re.compile(r"mae_([0-9a-f]{16})_([A-Za-z0-9_-]{20,100})")
_DUMMY_HASH = hashlib.sha256(b"no such principal").hexdigest()


def claimed_id(token: str | None) -> str | None:
    """The principal id a token names if it has the token's shape (an id, never the secret):
    what the audit log records for a failed login."""
    match = _TOKEN.fullmatch((token or "").strip())
    return match.group(1) if match else None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_principal(*, role: Role | str, name: str, agency: Agency | str | None = None,
                  unit_id: str | None = None) -> tuple[Principal, str, str]:
    """A checked new principal, its token and the token's stored hash (every store's
    ``create`` starts here, so the rules for names, roles and bindings are one)."""
    try:
        role = Role(role)
    except ValueError:
        raise BadMessage("role", f"{role!r} is not one of "
                         + ", ".join(r.value for r in Role)) from None
    try:
        agency = Agency(agency) if agency is not None else None
    except ValueError:
        raise BadMessage("agency", f"{agency!r} is not one of "
                         + ", ".join(a.value for a in Agency)) from None
    if not name.strip() or len(name) > 100:
        raise BadMessage("name", "give the principal a name of 1-100 characters")
    if not is_printable(name):
        raise BadMessage("name", NOT_PRINTABLE)
    principal = Principal(secrets.token_hex(8), name.strip(), role, agency, unit_id or None)
    secret = secrets.token_urlsafe(32)
    return principal, f"mae_{principal.principal_id}_{secret}", _hash(secret)


def check_token(token: str | None, lookup: Callable[[str], tuple[Principal, str, bool] | None]
                ) -> Principal:
    """The principal holding ``token`` (``lookup(id)`` gives a principal, its token hash and
    whether it is revoked), or :class:`Unauthorized`; the hash is compared in constant time
    even for an unknown id."""
    if not token:
        raise Unauthorized("a bearer token is required (REST: an Authorization: Bearer "
                           "header; sockets: the subprotocol mae.bearer.<token> or a first "
                           "frame {\"type\": \"auth\", \"token\": …})")
    match = _TOKEN.fullmatch(token.strip())
    found = lookup(match.group(1)) if match else None
    stored = found[1] if found else _DUMMY_HASH
    given = _hash(match.group(2)) if match else _hash(token)
    if not hmac.compare_digest(stored, given) or found is None or found[2]:
        raise Unauthorized("the token is unknown or revoked")
    return found[0]


class Principals(Protocol):
    """Where principals and their token hashes live (SQLite: :class:`PrincipalStore`; Redis:
    :class:`web.redis_auth.RedisPrincipalStore`)."""

    def create(self, *, role: Role | str, name: str, agency: Agency | str | None = None,
               unit_id: str | None = None) -> tuple[Principal, str]: ...

    def authenticate(self, token: str | None) -> Principal: ...

    def is_active(self, principal_id: str) -> bool: ...

    def get(self, principal_id: str) -> tuple[Principal, bool] | None: ...

    def principals(self) -> list[tuple[Principal, bool]]: ...

    def revoke(self, principal_id: str) -> bool: ...

    def revoke_unit(self, unit_id: str) -> list[str]: ...

    def close(self) -> None: ...


class PrincipalStore:
    """Principals and token hashes in the service database."""

    def __init__(self, path: Path) -> None:
        self._db = connect_sqlite(Path(path))
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()  # REST reads from worker threads, sockets from the loop

    def close(self) -> None:
        self._db.close()

    def _rows(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        """The rows of a query; :class:`StorageUnavailable` (a JSON 503, never a 500) when
        the file cannot be read."""
        try:
            with self._lock:
                return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StorageUnavailable("principals", str(exc)) from exc

    def _change(self, sql: str, args: tuple[object, ...]) -> int:
        try:
            with self._lock:
                return self._db.execute(sql, args).rowcount
        except sqlite3.Error as exc:
            raise StorageUnavailable("principals", str(exc)) from exc

    def create(
        self, *, role: Role | str, name: str, agency: Agency | str | None = None,
        unit_id: str | None = None,
    ) -> tuple[Principal, str]:
        """A new principal and its token; the token is returned once and never stored."""
        principal, token, digest = new_principal(role=role, name=name, agency=agency,
                                                 unit_id=unit_id)
        self._change(
            "INSERT INTO principals VALUES (?,?,?,?,?,?,?,NULL)",
            (principal.principal_id, principal.name, principal.role.value,
             principal.agency.value if principal.agency else None, principal.unit_id, digest,
             datetime.now(UTC).isoformat()),
        )
        return principal, token

    def authenticate(self, token: str | None) -> Principal:
        """The principal holding ``token``, or :class:`Unauthorized`."""
        return check_token(token, self._lookup)

    def _lookup(self, principal_id: str) -> tuple[Principal, str, bool] | None:
        found = self._rows(
            "SELECT principal_id, name, role, agency, unit_id, token_sha256, revoked_at "
            "FROM principals WHERE principal_id = ?", (principal_id,))
        if not found:
            return None
        r = found[0]
        return (Principal(r[0], r[1], Role(r[2]), Agency(r[3]) if r[3] else None, r[4]), r[5],
                r[6] is not None)

    def is_active(self, principal_id: str) -> bool:
        """Whether the principal exists and its token is not revoked (checked again while a
        socket stays open: a lost phone's token is revoked from another process)."""
        rows = self._rows("SELECT revoked_at FROM principals WHERE principal_id = ?",
                          (principal_id,))
        return bool(rows) and rows[0][0] is None

    def get(self, principal_id: str) -> tuple[Principal, bool] | None:
        """One principal and whether its token is revoked, or None."""
        rows = self._rows(
            "SELECT principal_id, name, role, agency, unit_id, revoked_at FROM principals "
            "WHERE principal_id = ?", (principal_id,),
        )
        if not rows:
            return None
        row = rows[0]
        return (Principal(row[0], row[1], Role(row[2]), Agency(row[3]) if row[3] else None,
                          row[4]), row[5] is not None)

    def principals(self) -> list[tuple[Principal, bool]]:
        """Every principal and whether its token is revoked."""
        rows = self._rows(
            "SELECT principal_id, name, role, agency, unit_id, revoked_at FROM principals "
            "ORDER BY created_at"
        )
        return [(Principal(r[0], r[1], Role(r[2]), Agency(r[3]) if r[3] else None, r[4]),
                 r[5] is not None) for r in rows]

    def revoke(self, principal_id: str) -> bool:
        """Revoke a principal's token; False if there is no such principal."""
        return self._change(
            "UPDATE principals SET revoked_at = ? WHERE principal_id = ? AND revoked_at IS NULL",
            (datetime.now(UTC).isoformat(), principal_id),
        ) > 0

    def revoke_unit(self, unit_id: str) -> list[str]:
        """Revoke every live token bound to ``unit_id`` (its crew's phones, when the unit is
        retired); returns the principal ids revoked now, for closing their sockets."""
        try:
            with self._lock:
                rows = self._db.execute(
                    "UPDATE principals SET revoked_at = ? WHERE unit_id = ? "
                    "AND revoked_at IS NULL RETURNING principal_id",
                    (datetime.now(UTC).isoformat(), unit_id),
                ).fetchall()
        except sqlite3.Error as exc:
            raise StorageUnavailable("principals", str(exc)) from exc
        return sorted(r[0] for r in rows)
