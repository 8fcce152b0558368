"""Sliding-minute counters per caller, for the request limits: failed logins per client address
(:class:`web.logins.LoginLimiter`) and cheap but open-ended reads per principal (a map click asks
whether a road is within reach: :class:`RateLimit`, a 429 with ``Retry-After``). Thread-safe (REST
dependencies run in worker threads); in memory only, with a bounded number of callers."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from web.errors import TooManyRequests

__all__ = ["RateLimit", "SlidingWindow"]

WINDOW_S = 60.0


class SlidingWindow:
    """Events per key in the last :data:`WINDOW_S` seconds, at most ``per_minute`` kept per key
    and ``max_keys`` keys (the oldest key is forgotten first)."""

    def __init__(self, per_minute: int, *, max_keys: int,
                 now: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError(f"per_minute must be at least 1, got {per_minute}")
        self.per_minute = per_minute
        self.max_keys = max_keys
        self._now = now
        self._lock = threading.Lock()
        self._times: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._times.get(key)
        if times is None:
            return None
        while times and times[0] <= now - WINDOW_S:
            times.popleft()
        if not times:
            del self._times[key]
            return None
        return times

    def wait_s(self, key: str) -> float | None:
        """Seconds until ``key`` is under its limit again, or None when it is under it now."""
        with self._lock:
            now = self._now()
            times = self._recent(key, now)
            if times is not None and len(times) >= self.per_minute:
                return times[0] + WINDOW_S - now
            return None

    def add(self, key: str) -> float | None:
        """Count one event of ``key`` unless it is at its limit: then count nothing and return
        the seconds to wait (as :meth:`wait_s`); None when counted."""
        with self._lock:
            now = self._now()
            times = self._recent(key, now)
            if times is None:
                if len(self._times) >= self.max_keys:
                    del self._times[next(iter(self._times))]
                times = self._times[key] = deque(maxlen=self.per_minute)
            elif len(times) >= self.per_minute:
                return times[0] + WINDOW_S - now
            times.append(now)
            return None


class RateLimit:
    """Calls per key (a principal id) in a sliding minute."""

    def __init__(self, per_minute: int, *, now: Callable[[], float] = time.monotonic) -> None:
        self._window = SlidingWindow(per_minute, max_keys=10_000, now=now)
        self.per_minute = per_minute

    def hit(self, key: str) -> None:
        """Count one call by ``key``, or raise :class:`TooManyRequests` (not counted) when it
        already made ``per_minute`` in the last minute."""
        wait = self._window.add(key)
        if wait is not None:
            raise TooManyRequests(wait)
