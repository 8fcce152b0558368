"""A unit's rota: the weekly shift patterns a region file declares.

Shared by the region parser (``dispatch.region``) and the shift rules that start and end shifts on
the service clock. Times are local to the region's timezone; a shift whose end is not after its
start runs past midnight into the next day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

__all__ = ["ShiftPattern"]


@dataclass(frozen=True, slots=True)
class ShiftPattern:
    """One recurring shift of one unit: on these ISO weekdays (1 = Monday), from start to end."""

    unit_id: str
    days: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.unit_id:
            raise ValueError("unit_id: must not be empty")
        if not self.days:
            raise ValueError("days: at least one weekday is needed")
        bad = sorted(d for d in self.days if not 1 <= d <= 7)
        if bad:
            raise ValueError(f"days: {bad} are not ISO weekdays (1 = Monday … 7 = Sunday)")
        if self.start == self.end:
            raise ValueError("end: a shift must not start and end at the same time")

    @property
    def overnight(self) -> bool:
        """Whether the shift ends on the day after it starts."""
        return self.end <= self.start
