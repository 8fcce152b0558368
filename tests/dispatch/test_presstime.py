"""Statuses pressed offline: the service records when the crew pressed (bounded: not before the
unit's last status, so never before its assignment; a little ahead of the service's clock counts
as now, further ahead is not believed) beside when the status arrived, and response times and
time in status count from the press. Events stored before the field existed still replay."""

from __future__ import annotations

from datetime import timedelta

from dispatch.commands import Acknowledge, Assign, ReceiveAlarm, ReportStatus
from dispatch.events import UnitStatusChanged, event_from_dict, event_to_dict
from dispatch.presstime import bounded_press
from dispatch.state import DispatchState
from dispatch.stats_fold import StatsFold
from dispatch.status import UnitStatus
from tests.dispatch.conftest import T0, Core
from tests.dispatch.test_commands import alarm, on_shift

MIN = timedelta(minutes=1)


def test_a_press_time_is_kept_inside_its_bounds() -> None:
    now, floor = T0 + 10 * MIN, T0
    assert bounded_press(T0 + 4 * MIN, now=now, floor=floor) == T0 + 4 * MIN
    assert bounded_press(T0 - 3 * MIN, now=now, floor=floor) == floor  # before the assignment
    assert bounded_press(now + timedelta(seconds=30), now=now, floor=floor) is None  # = now
    assert bounded_press(now + 3 * MIN, now=now, floor=floor, skew_s=120) is None  # not believed
    assert bounded_press(now - MIN, now=now, floor=None) == now - MIN
    assert bounded_press(None, now=now, floor=floor) is None
    assert bounded_press(now, now=now, floor=floor) is None  # pressed on arrival: nothing extra
    assert bounded_press(now - timedelta(seconds=1), now=now, floor=floor) is None  # sent at once


def worked_offline(core: Core) -> str:
    """A callout assigned at T0 + 1 min and acknowledged; the crew drives off at T0 + 2 min and
    is on scene at T0 + 20 min, both pressed offline and arriving at T0 + 30 min."""
    on_shift(core)
    cid = core.do(ReceiveAlarm(alarm())).callout_id or ""
    core.do(Assign(cid, "U1", eta_s=900), now=T0 + MIN)
    core.do(Acknowledge("U1", cid), now=T0 + MIN)
    back = T0 + 30 * MIN
    core.do(ReportStatus("U1", UnitStatus.EN_ROUTE, pressed_at=T0 + 2 * MIN), now=back)
    core.do(ReportStatus("U1", UnitStatus.ON_SCENE, pressed_at=T0 + 20 * MIN), now=back)
    return cid


def test_the_press_time_is_logged_beside_the_arrival_and_counts(core: Core) -> None:
    cid = worked_offline(core)
    changes = [e.event for e in core.log if isinstance(e.event, UnitStatusChanged)]
    assert [(c.at, c.pressed_at) for c in changes] == [
        (T0 + 30 * MIN, T0 + 2 * MIN), (T0 + 30 * MIN, T0 + 20 * MIN)]
    callout = core.state.callout(cid)
    assert callout.on_scene_at == T0 + 20 * MIN and callout.response_s == 20 * 60
    assert core.state.unit("U1").status_since == T0 + 20 * MIN  # time in status from the press
    replayed = DispatchState()
    for env in core.log:  # through the stored JSON form and back
        replayed.apply(type(env)(env.seq, event_from_dict(event_to_dict(env.event))))
    assert replayed.callout(cid).on_scene_at == T0 + 20 * MIN


def test_a_press_before_the_assignment_counts_from_the_assignment(core: Core) -> None:
    on_shift(core)
    cid = core.do(ReceiveAlarm(alarm())).callout_id or ""
    core.do(Assign(cid, "U1"), now=T0 + 5 * MIN)
    core.do(ReportStatus("U1", UnitStatus.EN_ROUTE, pressed_at=T0), now=T0 + 9 * MIN)
    event = core.log[-1].event
    assert isinstance(event, UnitStatusChanged) and event.pressed_at == T0 + 5 * MIN


def test_a_press_far_in_the_future_is_not_believed(core: Core) -> None:
    on_shift(core)
    cid = core.do(ReceiveAlarm(alarm())).callout_id or ""
    core.do(Assign(cid, "U1"), now=T0)
    core.do(ReportStatus("U1", UnitStatus.EN_ROUTE, pressed_at=T0 + 2 * MIN), now=T0 + MIN)
    core.do(ReportStatus("U1", UnitStatus.ON_SCENE, pressed_at=T0 + 4 * MIN), now=T0 + MIN)
    events = [e.event for e in core.log if isinstance(e.event, UnitStatusChanged)]
    assert [e.pressed_at for e in events] == [None, None]  # now, and not believed
    assert core.state.callout(cid).on_scene_at == T0 + MIN


def test_a_status_stored_before_press_times_existed_replays_with_its_arrival() -> None:
    old = {"type": "UnitStatusChanged", "at": T0.isoformat(), "actor": "c1", "unit_id": "U1",
           "status": "on_scene", "facility": ""}
    event = event_from_dict(old)
    assert isinstance(event, UnitStatusChanged)
    assert event.pressed_at is None and event.effective_at == T0
    assert "v" not in old and event_to_dict(event)["v"] == 1


def test_the_monthly_statistics_count_the_response_from_the_press(core: Core) -> None:
    """The statistics fold (``mae stats``, ``/stats``) takes "on scene" at its press time, as
    the live state does: 20 min, not the 30 min at which the press reached the service."""
    cid = worked_offline(core)
    fold = StatsFold()
    fold.feed(core.log)
    facts = {f.callout_id: f for f in fold.facts()}
    arrival = facts[cid].arrival
    assert arrival is not None and arrival.at == T0 + 20 * MIN
    assert facts[cid].response_s == 20 * 60 == core.state.callout(cid).response_s


def test_a_status_pressed_on_arrival_counts_from_its_arrival_in_the_statistics(core: Core) -> None:
    on_shift(core)
    cid = core.do(ReceiveAlarm(alarm())).callout_id or ""
    core.do(Assign(cid, "U1"), now=T0 + MIN)
    core.do(Acknowledge("U1", cid), now=T0 + MIN)
    core.do(ReportStatus("U1", UnitStatus.EN_ROUTE), now=T0 + 2 * MIN)
    core.do(ReportStatus("U1", UnitStatus.ON_SCENE), now=T0 + 25 * MIN)
    fold = StatsFold()
    fold.feed(core.log)
    assert [f.response_s for f in fold.facts()] == [25 * 60]
