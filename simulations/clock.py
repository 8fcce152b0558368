"""A simulated clock: the :class:`dispatch.clock.Clock` the simulator advances itself.

Simulated time is kept as float seconds since the run's start, so the event loop orders events
with plain numbers; :meth:`SimulatedClock.now` turns that into the timezone-aware ``datetime``
the dispatch core is given.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from simulations.errors import SimulationError

__all__ = ["SimulatedClock"]


class SimulatedClock:
    """Time that moves only when told to, and never backwards."""

    __slots__ = ("_now", "_s", "start")

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise SimulationError("the simulated clock needs a timezone-aware start")
        self.start = start
        self._s = 0.0
        self._now: datetime | None = start

    @property
    def seconds(self) -> float:
        """Seconds since the start."""
        return self._s

    def now(self) -> datetime:
        """The current time (made once per tick: many commands are decided at one instant)."""
        found = self._now
        if found is None:
            found = self._now = self.start + timedelta(0, self._s)  # (days, seconds)
        return found

    def at(self, seconds: float) -> datetime:
        """The time ``seconds`` after the start."""
        return self.start + timedelta(seconds=seconds)

    def advance_to(self, seconds: float) -> None:
        """Move to ``seconds`` after the start; moving backwards is a bug and raises."""
        if not math.isfinite(seconds) or seconds < self._s:
            raise SimulationError(f"clock cannot go from {self._s} s back to {seconds} s")
        if seconds != self._s:
            self._s = float(seconds)
            self._now = None
