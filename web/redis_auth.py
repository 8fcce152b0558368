"""Principals and token hashes in Redis, so a token made at one instance works at every one.

Keys (under the store's prefix, ``mae:`` by default): ``principal:<id>`` a hash of the
principal's fields and ``token_sha256`` (never the token), ``principals`` a sorted set of ids by
creation time (the listing's order), ``unit_principals:<unit>`` the crew principals bound to a
unit (so retiring it revokes them all in one step), ``revoked`` the set of revoked ids. A
revocation also publishes the id on channel ``revocations``, which every instance's
:class:`web.redis_revocations.RedisRevocations` listens to, so the principal's sockets close at
every instance within a moment.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import redis

from dispatch.model import Agency
from web.auth import Principal, Role, check_token, new_principal
from web.redis_client import connect, redis_errors
from web.redis_revocations import RedisRevocations

__all__ = ["RedisPrincipalStore"]

STORE = "principals"

# Revoke only a principal that exists and is not yet revoked; one atomic step, so two
# instances revoking at once count one revocation.
_REVOKE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[1], 'revoked_at') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'revoked_at', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PUBLISH', KEYS[3], ARGV[1])
return 1
"""

# Revoke every live principal bound to a unit (KEYS: the unit's set of principal ids, the
# revoked set, the channel; ARGV: the principal key prefix, the time); returns the ids revoked.
_REVOKE_UNIT = """
local done = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. id
  if redis.call('EXISTS', key) == 1 and redis.call('HEXISTS', key, 'revoked_at') == 0 then
    redis.call('HSET', key, 'revoked_at', ARGV[2])
    redis.call('SADD', KEYS[2], id)
    redis.call('PUBLISH', KEYS[3], id)
    table.insert(done, id)
  end
end
return done
"""


def _text(value: bytes | None) -> str | None:
    return value.decode() if value is not None else None


class RedisPrincipalStore:
    """:class:`web.auth.Principals` on Redis (thread-safe: redis-py pools its connections)."""

    def __init__(self, url: str, *, prefix: str = "mae:",
                 revocations: RedisRevocations | None = None) -> None:
        self.prefix = prefix
        self._r: redis.Redis = connect(url)
        #: The instance's revocation feed: with it, :meth:`is_active` of a principal this
        #: store has seen answers from memory (principals are never deleted, only revoked).
        self._revocations = revocations
        #: Principals looked up before: their fields and token hash never change (a principal
        #: is only ever revoked), so with the feed a token check needs no round trip.
        self._seen: dict[str, tuple[Principal, str]] = {}
        self._revoke = self._r.register_script(_REVOKE)
        self._revoke_unit = self._r.register_script(_REVOKE_UNIT)

    def _key(self, principal_id: str) -> str:
        return f"{self.prefix}principal:{principal_id}"

    def _unit_key(self, unit_id: str) -> str:
        return f"{self.prefix}unit_principals:{unit_id}"

    @property
    def channel(self) -> str:
        """The pub/sub channel revocations are announced on."""
        return f"{self.prefix}revocations"

    @property
    def revoked_key(self) -> str:
        """The set of revoked principal ids."""
        return f"{self.prefix}revoked"

    def close(self) -> None:
        self._r.close()

    def create(self, *, role: Role | str, name: str, agency: Agency | str | None = None,
               unit_id: str | None = None) -> tuple[Principal, str]:
        """A new principal and its token; the token is returned once and never stored."""
        principal, token, digest = new_principal(role=role, name=name, agency=agency,
                                                 unit_id=unit_id)
        fields: dict[Any, Any] = {"name": principal.name, "role": principal.role.value,
                  "token_sha256": digest, "created_at": datetime.now(UTC).isoformat()}
        if principal.agency is not None:
            fields["agency"] = principal.agency.value
        if principal.unit_id is not None:
            fields["unit_id"] = principal.unit_id
        with redis_errors(STORE):
            pipe = self._r.pipeline(transaction=True)
            pipe.hset(self._key(principal.principal_id), mapping=fields)
            pipe.zadd(f"{self.prefix}principals", {principal.principal_id: time.time_ns()})
            if principal.unit_id is not None:
                pipe.sadd(self._unit_key(principal.unit_id), principal.principal_id)
            pipe.execute()
        return principal, token

    def _fields(self, principal_id: str) -> dict[bytes, bytes]:
        with redis_errors(STORE):
            found: Any = self._r.hgetall(self._key(principal_id))
        return dict(found)

    @staticmethod
    def _principal(principal_id: str, f: dict[bytes, bytes]) -> Principal:
        agency = _text(f.get(b"agency"))
        return Principal(principal_id, f[b"name"].decode(), Role(f[b"role"].decode()),
                         Agency(agency) if agency else None, _text(f.get(b"unit_id")))

    def _lookup(self, principal_id: str) -> tuple[Principal, str, bool] | None:
        known = self._seen.get(principal_id)
        if known is not None and self._revocations is not None:
            revoked = self._revocations.is_revoked(principal_id)
            if revoked is not None:
                return (*known, revoked)
        f = self._fields(principal_id)
        if not f:
            return None
        found = (self._principal(principal_id, f), f[b"token_sha256"].decode())
        if self._revocations is not None:
            self._seen[principal_id] = found
        return (*found, b"revoked_at" in f)

    def authenticate(self, token: str | None) -> Principal:
        """The principal holding ``token``, or :class:`web.errors.Unauthorized`."""
        return check_token(token, self._lookup)

    def is_active(self, principal_id: str) -> bool:
        """Whether the principal exists and its token is not revoked: from the revocation
        feed when this store has seen the principal (every socket frame asks; no round trip),
        else from Redis."""
        if self._revocations is not None and principal_id in self._seen:
            revoked = self._revocations.is_revoked(principal_id)
            if revoked is not None:
                return not revoked
        with redis_errors(STORE):
            pipe = self._r.pipeline(transaction=False)
            pipe.exists(self._key(principal_id))
            pipe.hexists(self._key(principal_id), "revoked_at")
            exists, revoked = pipe.execute()
        return bool(exists) and not revoked

    def get(self, principal_id: str) -> tuple[Principal, bool] | None:
        """One principal and whether its token is revoked, or None."""
        found = self._lookup(principal_id)
        return None if found is None else (found[0], found[2])

    def principals(self) -> list[tuple[Principal, bool]]:
        """Every principal and whether its token is revoked, oldest first."""
        with redis_errors(STORE):
            members: Any = self._r.zrange(f"{self.prefix}principals", 0, -1)
            ids = [i.decode() for i in members]
            pipe = self._r.pipeline(transaction=False)
            for principal_id in ids:
                pipe.hgetall(self._key(principal_id))
            rows: list[Any] = pipe.execute()
        return [(self._principal(i, f), b"revoked_at" in f) for i, f in zip(ids, rows, strict=True)
                if f]

    def revoke(self, principal_id: str) -> bool:
        """Revoke a principal's token and tell every instance; False if there is no such
        principal or it was revoked already."""
        with redis_errors(STORE):
            done = self._revoke(keys=[self._key(principal_id), self.revoked_key, self.channel],
                                args=[principal_id, datetime.now(UTC).isoformat()])
        if done and self._revocations is not None:
            self._revocations.note({principal_id})
        return bool(done)

    def revoke_unit(self, unit_id: str) -> list[str]:
        """Revoke every live token bound to ``unit_id`` (its crew's phones, when the unit is
        retired) and tell every instance; returns the principal ids revoked now."""
        with redis_errors(STORE):
            done: Any = self._revoke_unit(
                keys=[self._unit_key(unit_id), self.revoked_key, self.channel],
                args=[f"{self.prefix}principal:", datetime.now(UTC).isoformat()])
        ids = sorted(i.decode() for i in done)
        if ids and self._revocations is not None:
            self._revocations.note(set(ids))
        return ids
