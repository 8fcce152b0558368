"""A lease in Redis that elects one instance of a cluster for a job (the day planner).

Key ``lease:<name>`` holds the holder's id and expires after the lease time. :meth:`hold`
takes the lease if nobody has it (``SET NX PX``) or renews it if this holder has it, in one
Lua script, so a renewal never extends a lease another instance took after ours expired;
:meth:`release` deletes it only if it is still ours (a clean stop hands over at once). A holder
that dies or stops renewing loses the lease when it expires, and the next instance to ask
takes it. :meth:`hold` reports how long the lease is known to be held from before the call,
so the holder stops counting itself the holder before Redis lets another take over.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from typing import Any

import redis

from web.redis_client import connect, redis_errors

__all__ = ["RedisLease"]

STORE = "planner lease"

#: Take the lease if free, or renew it if ours: 1 when held (by us) afterwards, else 0.
_HOLD = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

#: Delete the lease if it is still ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def instance_id() -> str:
    """This process's id for leases: host, pid and a random part (a restarted pid differs)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class RedisLease:
    """One named lease at ``url`` with ``ttl_s`` seconds; ``holder`` is this instance's id."""

    def __init__(self, url: str, name: str, *, ttl_s: float, holder: str | None = None,
                 prefix: str = "mae:") -> None:
        if not 0.1 <= ttl_s <= 3600:
            raise ValueError(f"lease time {ttl_s} s: must be 0.1-3600 seconds")
        self.key = f"{prefix}lease:{name}"
        self.ttl_s = ttl_s
        self.holder = holder or instance_id()
        self._r: redis.Redis = connect(url)
        self._hold = self._r.register_script(_HOLD)
        self._release = self._r.register_script(_RELEASE)

    def hold(self) -> float:
        """Take or renew the lease (blocking: call from a worker thread). Returns the
        ``time.monotonic()`` until which this holder may count on it (0.0: another instance
        holds it); the time is counted from before the call, so it ends before Redis frees the
        key. Raises :class:`~web.eventstore.StorageUnavailable` when Redis does not answer."""
        began = time.monotonic()
        with redis_errors(STORE):
            held: Any = self._hold(keys=[self.key],
                                   args=[self.holder, max(1, round(self.ttl_s * 1000))])
        return began + self.ttl_s if int(held) == 1 else 0.0

    def release(self) -> bool:
        """Give the lease up if this holder has it (a clean stop: another takes it at once)."""
        with redis_errors(STORE):
            gone: Any = self._release(keys=[self.key], args=[self.holder])
        return int(gone) == 1

    def current(self) -> str | None:
        """The id of the instance holding the lease now, if any."""
        with redis_errors(STORE):
            raw: Any = self._r.get(self.key)
        return raw.decode() if raw is not None else None

    def close(self) -> None:
        self._r.close()
