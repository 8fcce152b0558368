"""When a crew pressed a status, as the service records it: the phone's press time, bounded.

A status pressed without a connection waits in the phone's outbox and reaches the service
later; the service then logs both times: ``at`` (when it arrived, the command's time) and
``pressed_at`` (when the crew pressed). The phone's time is only believed within bounds: a press
cannot come before the unit's previous status change (for a unit on a callout that is at the
earliest its assignment), and a press a little in the future (a phone clock running fast, by up
to the skew allowance) counts as now; one further in the future is not believed at all and the
arrival time stands. Response times and time in status count from the press.
"""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["DEFAULT_SKEW_S", "ON_ARRIVAL_S", "bounded_press"]

#: How far ahead of the service's clock a phone's press time may be and still be believed.
DEFAULT_SKEW_S = 120.0
#: A press this close before its arrival was sent at once: the arrival time says it all.
ON_ARRIVAL_S = 2.0


def bounded_press(pressed_at: datetime | None, *, now: datetime, floor: datetime | None,
                  skew_s: float = DEFAULT_SKEW_S) -> datetime | None:
    """The press time to record for a status arriving at ``now``: None when there is nothing
    to record apart from the arrival (not given, not believed, or less than
    :data:`ON_ARRIVAL_S` before ``now``: sent at once), else
    ``pressed_at`` moved into ``[floor, now]``."""
    if pressed_at is None or pressed_at.tzinfo is None:
        return None
    if pressed_at > now + timedelta(seconds=skew_s):
        return None  # a phone clock this far ahead says nothing about when it was pressed
    pressed = min(pressed_at, now)
    if floor is not None and pressed < floor:
        pressed = min(floor, now)
    return None if (now - pressed).total_seconds() < ON_ARRIVAL_S else pressed
