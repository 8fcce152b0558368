"""Connecting to the shared Redis store, and what its failures mean to a client.

Every Redis-backed store of the service (event log, operations, principals, audit, snapshots,
positions) connects through :func:`connect` so they share one URL check and the same short
timeouts: a Redis that stops answering must turn into a JSON 503 within seconds, never a client
that hangs. :func:`redis_errors` maps redis-py's exceptions to
:class:`web.eventstore.StorageUnavailable` naming the store.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from urllib.parse import urlsplit

import redis

from web.errors import BadMessage
from web.eventstore import StorageUnavailable

__all__ = ["connect", "is_redis_url", "redis_errors"]

#: Seconds a command may take before the store counts as unavailable.
SOCKET_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 2.0


def is_redis_url(value: str) -> bool:
    """True for ``redis://`` / ``rediss://`` / ``unix://`` URLs (a store on Redis)."""
    return urlsplit(value).scheme in {"redis", "rediss", "unix"}


def connect(url: str, *, field: str = "store", socket_timeout_s: float = SOCKET_TIMEOUT_S
            ) -> redis.Redis:
    """A client for ``url`` (``redis://HOST:PORT/DB``) with short timeouts; a malformed URL
    raises :class:`BadMessage` naming ``field``. No command is sent: the first one reports an
    unreachable server as :class:`StorageUnavailable` (through :func:`redis_errors`)."""
    if not is_redis_url(url):
        raise BadMessage(field, f"{url!r} is not a Redis URL (redis://HOST:PORT/DB)")
    try:
        return redis.Redis.from_url(url, socket_timeout=socket_timeout_s,
                                    socket_connect_timeout=CONNECT_TIMEOUT_S,
                                    health_check_interval=30)
    except ValueError as exc:
        raise BadMessage(field, f"{url!r} is not a usable Redis URL: {exc}") from exc


@contextlib.contextmanager
def redis_errors(store: str) -> Iterator[None]:
    """Turn a Redis failure (unreachable, timed out, out of memory, read-only replica, a
    failing append-only file) into :class:`StorageUnavailable` for ``store``."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StorageUnavailable(store, f"Redis unreachable: {exc}") from exc
    except redis.ResponseError as exc:
        text = str(exc)
        if text.split(" ", 1)[0] in {"OOM", "MISCONF", "READONLY", "LOADING", "BUSY",
                                      "NOREPLICAS", "MASTERDOWN"}:
            raise StorageUnavailable(store, f"Redis refused the write: {text}") from exc
        raise
