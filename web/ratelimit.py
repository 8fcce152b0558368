"""A small per-caller request limit for cheap but open-ended reads (a map click asks whether a
road is within reach): at most ``per_minute`` calls per key in a sliding minute, else
:class:`~web.errors.TooManyRequests` (429 with ``Retry-After``). Thread-safe; in memory only."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from web.errors import TooManyRequests

__all__ = ["RateLimit"]

WINDOW_S = 60.0
MAX_KEYS = 10_000  # callers remembered at most (the oldest are forgotten first)


class RateLimit:
    """Calls per key (a principal id) in a sliding minute."""

    def __init__(self, per_minute: int, *, now: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError(f"per_minute must be at least 1, got {per_minute}")
        self.per_minute = per_minute
        self._now = now
        self._lock = threading.Lock()
        self._calls: dict[str, deque[float]] = {}

    def hit(self, key: str) -> None:
        """Count one call by ``key``, or raise :class:`TooManyRequests` (not counted) when it
        already made ``per_minute`` in the last minute."""
        with self._lock:
            now = self._now()
            calls = self._calls.get(key)
            if calls is None:
                if len(self._calls) >= MAX_KEYS:
                    del self._calls[next(iter(self._calls))]
                calls = self._calls[key] = deque(maxlen=self.per_minute)
            while calls and calls[0] <= now - WINDOW_S:
                calls.popleft()
            if len(calls) >= self.per_minute:
                raise TooManyRequests(calls[0] + WINDOW_S - now)
            calls.append(now)
