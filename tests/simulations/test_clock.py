"""The simulated clock satisfies the dispatch Clock protocol and never runs backwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.clock import Clock
from simulations.clock import SimulatedClock
from simulations.errors import SimulationError


def test_simulated_clock_moves_only_forward() -> None:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    clock = SimulatedClock(start)
    assert isinstance(clock, Clock)
    clock.advance_to(90.0)
    assert clock.now() == start + timedelta(seconds=90)
    with pytest.raises(SimulationError):
        clock.advance_to(10.0)
    with pytest.raises(SimulationError):
        SimulatedClock(datetime(2026, 1, 5))
