"""Revocations across instances: every instance hears at once of a token revoked at any other.

:class:`web.redis_auth.RedisPrincipalStore` adds a revoked id to the set ``revoked`` and
publishes it on channel ``revocations`` in one atomic step. Here a thread subscribes to the
channel and then reads the whole set (subscribe first, so no revocation falls between the two),
again after every reconnect; :meth:`RedisRevocations.revoked_ids` only reads memory, so the
sweep before each publish costs nothing on the event loop. :meth:`RedisRevocations.is_revoked`
answers the per-frame token check of a socket the same way (no round trip per command).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import redis

from web.redis_client import connect, listen, wake, wake_channel

__all__ = ["RedisRevocations"]

logger = logging.getLogger(__name__)


class RedisRevocations:
    """:class:`web.connections.Revocations` fed by Redis pub/sub."""

    def __init__(self, url: str, *, prefix: str = "mae:") -> None:
        self.channel = f"{prefix}revocations"
        self.revoked_key = f"{prefix}revoked"
        self._r: redis.Redis = connect(url)
        self._lock = threading.Lock()
        self._revoked: set[str] = set()
        self._changed = False
        self._stop = threading.Event()
        self._wake = wake_channel(self.channel)
        self.listening = threading.Event()  # set once subscribed and the set was read
        self._thread = threading.Thread(target=self._listen, name="revocations", daemon=True)
        self._thread.start()

    def _note(self, ids: set[str]) -> None:
        with self._lock:
            if not ids <= self._revoked:
                self._revoked |= ids
                self._changed = True

    def _listen(self) -> None:
        def read_all() -> None:  # after every (re)subscription: what was missed meanwhile
            members: Any = self._r.smembers(self.revoked_key)
            self._note({m.decode() for m in members})
            self.listening.set()

        listen(self._r, self.channel, self._stop, what="revocations",
               on_message=lambda data: self._note({data.decode()}),
               on_subscribed=read_all, on_lost=self.listening.clear, woken_by=self._wake)

    def note(self, ids: set[str]) -> None:
        """Count ``ids`` as revoked now (this instance revoked them: its own sockets must not
        wait for the published message to come back)."""
        self._note(ids)

    def is_revoked(self, principal_id: str) -> bool | None:
        """Whether ``principal_id`` is revoked, from memory while the feed is subscribed (the
        set was read after subscribing, so nothing is missed); None while it is not."""
        if not self.listening.is_set():
            return None
        with self._lock:
            return principal_id in self._revoked

    def revoked_ids(self) -> frozenset[str] | None:
        """Every revoked id heard of, if any was added since the last call; else None."""
        with self._lock:
            if not self._changed:
                return None
            self._changed = False
            return frozenset(self._revoked)

    def close(self) -> None:
        self._stop.set()
        wake(self._r, self._wake)
        self._thread.join(timeout=5)
        self._r.close()
