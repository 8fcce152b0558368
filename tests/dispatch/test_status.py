"""The status tables' derived sets (dispatch/status.py)."""

from __future__ import annotations

from dispatch.status import CALLOUT_TRANSITIONS, ON_THE_WAY, CalloutStatus


def test_on_the_way_is_every_status_with_a_unit_that_may_go_back_to_waiting() -> None:
    """Read off the transition table: a reassignment sends a callout back to waiting, which
    the table allows from assigned, acknowledged and en route, never once on scene."""
    expected = {CalloutStatus.ASSIGNED, CalloutStatus.ACKNOWLEDGED, CalloutStatus.EN_ROUTE}
    assert set(ON_THE_WAY) == expected
    for status in ON_THE_WAY:
        assert CalloutStatus.WAITING in CALLOUT_TRANSITIONS[status]
    assert CalloutStatus.WAITING not in CALLOUT_TRANSITIONS[CalloutStatus.ON_SCENE]
