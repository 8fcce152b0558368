"""The frontier report says where the simulated frontier falls with more staffed hours."""

from __future__ import annotations

from typing import Any

from simulations.compare import Estimate
from simulations.optimise_report import _monotone_note


def row(hours: float, reached: float, kind: str = "optimised") -> dict[str, Any]:
    share = Estimate(reached, reached, reached, 1)
    return {
        "kind": kind,
        "car_hours_per_week": hours,
        **{f"reached_within_{m}_min": share for m in (30, 60, 90)},
    }


def test_a_rising_frontier_gets_no_note() -> None:
    assert _monotone_note([row(100, 0.5), row(200, 0.6), row(50, 0.9, "baseline")]) == ""


def test_a_falling_step_is_named() -> None:
    note = _monotone_note([row(300, 0.55), row(100, 0.5), row(200, 0.6)])
    assert "from 200 to 300 h" in note and "≤60 min" in note and "100 to 200" not in note
