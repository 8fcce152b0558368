"""Snapshots in Redis beside the shared log, so any instance starts from the newest one.

Keys (under the prefix): ``snapshot:<seq>`` the encoded snapshot
(:func:`dispatch.snapshot.encode_snapshot`, compressed: a large state is megabytes) and
``snapshots`` a sorted set of the kept seqs. A Lua script stores a blob, indexes it and drops
all but the newest ``keep`` in one atomic step, so a reader never sees an index naming a
missing blob. Checked on reading exactly like the files (:func:`web.snapshots.check_snapshot`:
the digest of the log's event at the snapshot's seq, read from the shared log).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import redis

from dispatch.events import event_to_dict
from dispatch.snapshot import SnapshotError, encode_snapshot
from dispatch.state import DispatchState
from web.eventstore import EventStore
from web.logindex import LogIndex
from web.redis_client import connect, redis_errors
from web.snapshots import Restored, check_snapshot

__all__ = ["RedisSnapshots", "log_digest"]

logger = logging.getLogger(__name__)

STORE = "snapshots"

# KEYS: blob key, index key; ARGV: seq, blob, keep, blob key prefix.
_STORE = """
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[1])
local old = redis.call('ZREVRANGE', KEYS[2], tonumber(ARGV[3]), -1)
for _, seq in ipairs(old) do
  redis.call('DEL', ARGV[4] .. string.format('%012d', tonumber(seq)))
  redis.call('ZREM', KEYS[2], seq)
end
return #old
"""


def log_digest(log: EventStore, seq: int) -> str | None:
    """A digest of the event at ``seq`` of ``log`` (as :func:`web.snapshots.event_digest`
    makes of a SQLite row), or None if the log has no such event."""
    for envelope in log.read(seq - 1):
        if envelope.seq != seq:
            return None
        text = json.dumps(event_to_dict(envelope.event), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()
    return None


class RedisSnapshots:
    """:class:`web.snapshots.SnapshotShelf` on Redis, checked against ``log``."""

    def __init__(self, url: str, log: EventStore, *, prefix: str = "mae:", keep: int = 2
                 ) -> None:
        self.prefix = prefix
        self.keep = keep
        self._log = log
        self._r: redis.Redis = connect(url, socket_timeout_s=30.0)  # blobs are large
        self._store = self._r.register_script(_STORE)

    @property
    def _index(self) -> str:
        return f"{self.prefix}snapshots"

    def blob_key(self, seq: int) -> str:
        """The key of the snapshot at ``seq``."""
        return f"{self.prefix}snapshot:{seq:012d}"

    def seqs(self) -> list[int]:
        """The kept snapshots' seqs, newest first."""
        with redis_errors(STORE):
            found: list[Any] = self._r.zrevrange(self._index, 0, -1)
        return [int(s) for s in found]

    def latest(self, *, defer: bool = False) -> Restored | None:
        """The newest usable snapshot, skipping (with a warning) any that is not; ``defer``:
        its closed history left pending (see :func:`web.snapshots.check_snapshot`)."""
        for seq in self.seqs():
            name = f"snapshot-{seq:012d}"
            with redis_errors(STORE):
                blob: Any = self._r.get(self.blob_key(seq))
            if blob is None:
                continue
            try:
                return check_snapshot(Path(name), blob, lambda s: log_digest(self._log, s),
                                      defer=defer)
            except (SnapshotError, ValueError, KeyError, TypeError) as exc:
                logger.warning("skipping snapshot %s: %s", name, exc)
        return None

    def store(self, state: DispatchState, index: LogIndex) -> str:
        """Store a snapshot of ``state`` (a copy nothing else changes) and keep the newest
        ``keep``; returns its name."""
        seq = state.last_seq
        extra = {"index": index.to_data(),
                 "event_digest": log_digest(self._log, seq) if seq else None}
        blob = encode_snapshot(state, extra)
        with redis_errors(STORE):
            self._store(keys=[self.blob_key(seq), self._index],
                        args=[seq, blob, self.keep, f"{self.prefix}snapshot:"])
        return f"snapshot-{seq:012d}"

    def replace(self, seq: int, blob: bytes) -> None:
        """Store ``blob`` as the kept snapshot at ``seq`` (``mae retention run``, which erased
        it); the index is left as it is."""
        with redis_errors(STORE):
            self._r.set(self.blob_key(seq), blob, xx=True)

    def drop(self, seq: int) -> None:
        """Forget the snapshot at ``seq`` (one that no longer checks out)."""
        with redis_errors(STORE):
            pipe = self._r.pipeline(transaction=True)
            pipe.delete(self.blob_key(seq))
            pipe.zrem(self._index, seq)
            pipe.execute()

    def close(self) -> None:
        self._r.close()
