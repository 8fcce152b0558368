"""A unit that let an assignment time out unacknowledged carries that callout's id until it
acknowledges one again (by the button or by driving off), so it can be flagged."""

from __future__ import annotations

from datetime import timedelta

from dispatch.commands import Acknowledge, Assign, ReceiveAlarm, ReportStatus, Tick
from dispatch.status import UnitStatus
from tests.dispatch.conftest import T0, Core
from tests.dispatch.test_commands import PITEA, alarm, on_shift


def test_a_missed_acknowledgement_is_kept_until_the_next_one(core: Core) -> None:
    on_shift(core)
    first = core.do(ReceiveAlarm(alarm())).callout_id or ""
    core.do(Assign(first, "U1"))
    assert core.state.unit("U1").missed_ack is None
    core.do(Tick(), now=T0 + timedelta(seconds=61))
    assert core.state.unit("U1").missed_ack == first
    core.do(Assign(first, "U1"), now=T0 + timedelta(seconds=70))
    assert core.state.unit("U1").missed_ack == first  # assigned again: still flagged
    core.do(Acknowledge("U1", first), now=T0 + timedelta(seconds=80))
    assert core.state.unit("U1").missed_ack is None


def test_driving_off_counts_as_acknowledging(core: Core) -> None:
    on_shift(core)
    first = core.do(ReceiveAlarm(alarm())).callout_id or ""
    core.do(Assign(first, "U1"))
    core.do(Tick(), now=T0 + timedelta(seconds=61))
    second = core.do(ReceiveAlarm(alarm(ref="P-2", where=PITEA))).callout_id or ""
    core.do(Assign(second, "U1"), now=T0 + timedelta(seconds=62))
    core.do(ReportStatus("U1", UnitStatus.EN_ROUTE), now=T0 + timedelta(seconds=63))
    assert core.state.unit("U1").missed_ack is None
