"""Revocations across instances: every instance hears at once of a token revoked at any other.

:class:`web.redis_auth.RedisPrincipalStore` adds a revoked id to the set ``revoked`` and
publishes it on channel ``revocations`` in one atomic step. Here a thread subscribes to the
channel and then reads the whole set (subscribe first, so no revocation falls between the two),
again after every reconnect; :meth:`RedisRevocations.revoked_ids` only reads memory, so the
sweep before each publish costs nothing on the event loop.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import redis

from web.redis_client import connect

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
        self.listening = threading.Event()  # set once subscribed and the set was read
        self._thread = threading.Thread(target=self._listen, name="revocations", daemon=True)
        self._thread.start()

    def _note(self, ids: set[str]) -> None:
        with self._lock:
            if not ids <= self._revoked:
                self._revoked |= ids
                self._changed = True

    def _listen(self) -> None:
        while not self._stop.is_set():
            pubsub = self._r.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.channel)
                members: Any = self._r.smembers(self.revoked_key)
                self._note({m.decode() for m in members})
                self.listening.set()
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message is not None and message.get("type") == "message":
                        self._note({message["data"].decode()})
            except (redis.RedisError, OSError) as exc:
                self.listening.clear()
                logger.warning("following revocations: %s; retrying", type(exc).__name__)
                self._stop.wait(1.0)
            finally:
                pubsub.close()

    def revoked_ids(self) -> frozenset[str] | None:
        """Every revoked id heard of, if any was added since the last call; else None."""
        with self._lock:
            if not self._changed:
                return None
            self._changed = False
            return frozenset(self._revoked)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._r.close()
