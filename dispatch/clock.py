"""The clock the dispatch shells read time from: one protocol, a wall clock and a simulated one.

The core never reads a clock (time is passed in as ``now``); the shells do. The live service
reads a wall clock and :mod:`simulations` a simulated clock it advances itself; both satisfy
:class:`Clock`, so the same shell code runs in either (as SimPy's real-time environment
subclasses its simulated one).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

__all__ = ["Clock"]


@runtime_checkable
class Clock(Protocol):
    """Something that tells the current time as a timezone-aware ``datetime``."""

    def now(self) -> datetime:
        """The current time (timezone-aware)."""
        ...
