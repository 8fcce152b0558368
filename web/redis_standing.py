"""Whether a unit is registered, read from the shared log: the crew-token check on Redis.

The SQLite store answers from a partial index of its ``events`` table (:mod:`web.tokens`).
On Redis the log is a stream with no secondary index, so this keeps one beside it: hash
``unit_standing`` (unit → ``active``/``retired``) and ``unit_standing:seq`` (how far into the
log it is folded). Each question first folds the events appended since, through the
:class:`~web.eventstore.EventStore` interface, in a ``WATCH``/``MULTI`` transaction, so two
instances folding at once never let an older answer overwrite a newer one. Only the first
question reads the whole log.
"""

from __future__ import annotations

from typing import Any

import redis

from dispatch.events import UnitRegistered, UnitRetired
from web.eventstore import EventStore
from web.redis_client import connect, redis_errors

__all__ = ["RedisUnitStanding"]

STORE = "events"


class RedisUnitStanding:
    """``standing(unit_id)`` → ``"active"``, ``"retired"`` or None (never registered)."""

    def __init__(self, url: str, log: EventStore, *, prefix: str = "mae:") -> None:
        self._r: redis.Redis = connect(url)
        self._log = log
        self._key = f"{prefix}unit_standing"
        self._cursor = f"{prefix}unit_standing:seq"

    def __call__(self, unit_id: str) -> str | None:
        with redis_errors(STORE):
            self.update()
            found: Any = self._r.hget(self._key, unit_id)
        return found.decode() if found is not None else None

    def update(self) -> int:
        """Fold the events appended since the last fold; returns the seq folded up to."""
        while True:
            with self._r.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(self._cursor)  # type: ignore[no-untyped-call]
                    raw: Any = pipe.get(self._cursor)
                    upto = int(raw) if raw is not None else 0
                    end = self._log.refresh()
                    start = upto if upto <= end else 0  # a log shorter than our cursor: refold
                    changes: dict[str, str] = {}
                    last = start
                    for envelope in self._log.read(start):
                        event = envelope.event
                        if isinstance(event, UnitRegistered):
                            changes[event.unit_id] = "active"
                        elif isinstance(event, UnitRetired):
                            changes[event.unit_id] = "retired"
                        last = envelope.seq
                    if last == upto:
                        pipe.unwatch()
                        return upto
                    pipe.multi()
                    if start == 0:
                        pipe.delete(self._key)
                    if changes:
                        pipe.hset(self._key, mapping=dict(changes.items()))
                    pipe.set(self._cursor, last)
                    pipe.execute()
                    return last
                except redis.WatchError:
                    continue

    def close(self) -> None:
        self._r.close()
