"""Unit positions in Redis: the latest per unit, a thinned track, and sharing between instances.

Keys (under the prefix): ``positions`` a hash unit → latest position (JSON), replaced only by a
report at least as new; ``track:<unit>`` a sorted set of track points scored by time, points
older than the retention dropped at every save; ``tracked`` the set of units with a track (so
the retention sweep reaches units that stopped reporting). One Lua script stores a batch
atomically. Each kept report is published on channel ``positions`` with the instance's id as
soon as it is kept (:meth:`RedisPositions.share`, before the once-a-second storage), so every
other instance shows it to its own dispatchers (:meth:`RedisPositions.follow`) as promptly as
the instance that took it, without storing it again.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import redis

from dispatch.model import Location
from web.positions import PositionReport
from web.redis_client import connect, listen, redis_errors, wake, wake_channel

__all__ = ["RedisPositions"]

logger = logging.getLogger(__name__)

# KEYS: latest hash, tracked set; ARGV: key prefix, cutoff, payload (JSON).
_SAVE = """
local batch = cjson.decode(ARGV[3])
for _, p in ipairs(batch.latest) do
  local old = redis.call('HGET', KEYS[1], p.unit_id)
  if (not old) or cjson.decode(old).t <= p.t then
    redis.call('HSET', KEYS[1], p.unit_id, cjson.encode(p))
  end
end
for _, p in ipairs(batch.track) do
  local key = ARGV[1] .. 'track:' .. p.unit_id
  redis.call('ZREMRANGEBYSCORE', key, p.t, p.t)
  redis.call('ZADD', key, p.t, cjson.encode(p))
  redis.call('SADD', KEYS[2], p.unit_id)
end
for _, unit in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local key = ARGV[1] .. 'track:' .. unit
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. ARGV[2])
  if redis.call('EXISTS', key) == 0 then redis.call('SREM', KEYS[2], unit) end
end
return #batch.latest
"""


def _point(report: PositionReport) -> dict[str, Any]:
    loc = report.location
    return {"unit_id": report.unit_id, "lat": loc.lat, "lon": loc.lon, "label": loc.label,
            "at": report.at.isoformat(), "t": report.at.timestamp()}


def _report(p: dict[str, Any]) -> PositionReport:
    label = p.get("label")
    return PositionReport(str(p["unit_id"]),
                          Location(float(p["lat"]), float(p["lon"]),
                                   label=label if isinstance(label, str) else ""),
                          datetime.fromisoformat(str(p["at"])))


class RedisPositions:
    """:class:`web.positions.PositionStorage` on Redis, shared by every instance."""

    name = "positions"
    shares = True

    def __init__(self, url: str, *, prefix: str = "mae:",
                 retention: timedelta = timedelta(days=7)) -> None:
        self.prefix = prefix
        self.retention = retention
        self.instance = secrets.token_hex(8)  # this instance's own batches are not followed
        self._r: redis.Redis = connect(url)
        self._save = self._r.register_script(_SAVE)
        self._stop = threading.Event()
        self._wake = wake_channel(self.channel)
        self._thread: threading.Thread | None = None

    @property
    def channel(self) -> str:
        return f"{self.prefix}positions"

    def latest(self) -> list[PositionReport]:
        """The last stored position of every unit."""
        with redis_errors(self.name):
            found: Any = self._r.hgetall(f"{self.prefix}positions")
        return sorted((_report(json.loads(v)) for v in found.values()),
                      key=lambda r: r.unit_id)

    def track(self, unit_id: str, *, since: datetime | None = None) -> list[PositionReport]:
        """The thinned track of a unit, oldest first."""
        low: float | str = since.timestamp() if since is not None else "-inf"
        with redis_errors(self.name):
            found: Any = self._r.zrangebyscore(f"{self.prefix}track:{unit_id}", low,
                                                       "+inf")
        return [_report(json.loads(v)) for v in found]

    def save(self, latest: list[PositionReport], track: list[PositionReport], *,
             now: datetime) -> None:
        """Store a batch atomically and drop track points older than the retention;
        :class:`StorageUnavailable` if Redis fails."""
        payload = json.dumps({"latest": [_point(r) for r in latest],
                              "track": [_point(r) for r in track]})
        cutoff = (now - self.retention).timestamp()
        with redis_errors(self.name):
            self._save(keys=[f"{self.prefix}positions", f"{self.prefix}tracked"],
                       args=[self.prefix, repr(cutoff), payload])

    def share(self, reports: list[PositionReport]) -> None:
        """Publish positions kept here to the other instances (one message)."""
        if not reports:
            return
        payload = json.dumps({"from": self.instance, "latest": [_point(r) for r in reports]})
        with redis_errors(self.name):
            self._r.publish(self.channel, payload)

    def follow(self, on_reports: Callable[[list[PositionReport]], None]) -> None:
        """Call ``on_reports`` from a thread with every batch another instance shares, until
        :meth:`close` (reconnecting when Redis comes back: positions missed meanwhile are
        replaced by the next reports anyway)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._listen, args=(on_reports,),
                                        name="positions-follow", daemon=True)
        self._thread.start()

    def _listen(self, on_reports: Callable[[list[PositionReport]], None]) -> None:
        def batch_of(data: bytes) -> None:
            try:
                batch = json.loads(data)
                if batch.get("from") == self.instance or not batch.get("latest"):
                    return
                reports = [_report(p) for p in batch["latest"]]
            except (ValueError, KeyError, TypeError, AttributeError):
                logger.warning("ignored a malformed positions batch")
                return
            on_reports(reports)

        listen(self._r, self.channel, self._stop, what="positions", on_message=batch_of,
               woken_by=self._wake)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            wake(self._r, self._wake)
            self._thread.join(timeout=5)
            self._thread = None
        self._r.close()
