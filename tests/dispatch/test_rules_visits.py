"""The visit rules: booking checks, the status table, who may finish, day plans; and, on random
command sequences (Hypothesis), that no visit is ever lost and a replay equals the live state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.commands import (
    Acknowledge,
    Assign,
    BookVisit,
    CancelVisit,
    Command,
    FinishVisit,
    MarkVisitNotMet,
    MoveVisit,
    PinVisit,
    ReceiveAlarm,
    RecordDayPlan,
    RecordOutcome,
    ReportStatus,
    StartVisit,
    Tick,
    decide,
)
from dispatch.errors import InvalidCommand, InvalidTransition, UnknownUnit
from dispatch.events import (
    Envelope,
    OutcomeRecorded,
    VisitBooked,
    event_from_dict,
    event_to_dict,
)
from dispatch.model import Agency, Alarm, Category, Location, Outcome, OutcomeKind, Priority
from dispatch.snapshot import decode_snapshot, encode_snapshot
from dispatch.state import DispatchState
from dispatch.status import UnitStatus
from dispatch.visits import PlannedRoute, PlannedStop, VisitSource, VisitStatus
from tests.dispatch.test_snapshot import assert_same
from tests.dispatch.test_state import SPOTS, T0, UNITS, _setup, run

HOME = Location(65.60, 22.10, label="Hemvägen 1")


def book(**changes: object) -> BookVisit:
    values: dict[str, object] = dict(
        patient_ref="P-17", location=HOME, earliest_start=T0 + timedelta(hours=1),
        latest_start=T0 + timedelta(hours=3), duration_s=2700, competences=("doctor",),
        staff=2, postpone_cost=3600)
    values.update(changes)
    return BookVisit(**values)  # type: ignore[arg-type]


def booked(state: DispatchState, log: list[Envelope], **changes: object) -> str:
    assert run(state, log, book(**changes), T0)
    return sorted(state.visits)[-1]


def test_a_booked_visit_keeps_its_needs_window_and_who_booked_it() -> None:
    state, log = _setup()
    visit_id = booked(state, log, agency="psychiatry", source=VisitSource.AGENCY)
    visit = state.visits[visit_id]
    assert visit_id == "V000001"
    assert (visit.competences, visit.staff, visit.postpone_cost) == (("doctor",), 2, 3600)
    assert (visit.booked_by, visit.booked_at, visit.agency) == ("tester", T0, "psychiatry")
    assert visit.status is VisitStatus.BOOKED and visit.source is VisitSource.AGENCY


@pytest.mark.parametrize(("changes", "field"), [
    ({"patient_ref": "Anna Berg"}, "patient_ref"),
    ({"patient_ref": "19850101-1234"}, "patient_ref"),
    ({"patient_ref": "8501011234"}, "patient_ref"),
    ({"latest_start": T0}, "latest_start"),
    ({"latest_start": T0 + timedelta(days=20)}, "latest_start"),
    ({"earliest_start": T0 - timedelta(hours=5), "latest_start": T0 - timedelta(hours=1)},
     "latest_start"),
    ({"duration_s": 60}, "duration_s"),
    ({"duration_s": 9 * 3600}, "duration_s"),
    ({"staff": 0}, "staff"),
    ({"staff": 7}, "staff"),
    ({"postpone_cost": -1}, "postpone_cost"),
    ({"competences": ("",)}, "competences"),
    # far ahead (a report would overflow at the calendar's end): refused
    ({"earliest_start": T0 + timedelta(days=400), "latest_start": T0 + timedelta(days=401)},
     "earliest_start"),
    ({"earliest_start": datetime(9999, 12, 31, tzinfo=UTC),
      "latest_start": datetime(9999, 12, 31, 1, tzinfo=UTC)}, "earliest_start"),
])
def test_a_bad_booking_is_refused_naming_the_field(changes: dict[str, object],
                                                   field: str) -> None:
    state, _ = _setup()
    with pytest.raises(InvalidCommand) as refused:
        decide(state, book(**changes), now=T0)
    assert refused.value.field == field


def test_a_window_may_span_days() -> None:
    state, log = _setup()
    visit_id = booked(state, log, latest_start=T0 + timedelta(days=3))
    assert state.visits[visit_id].latest_start - state.visits[visit_id].earliest_start > \
        timedelta(days=2)


def test_the_status_table_refuses_illegal_moves() -> None:
    state, log = _setup()
    visit_id = booked(state, log)
    with pytest.raises(InvalidTransition):
        decide(state, FinishVisit(visit_id, "U1"), now=T0)
    assert run(state, log, StartVisit(visit_id, "U1"), T0)
    for command in (CancelVisit(visit_id), StartVisit(visit_id, "U2"),
                    MoveVisit(visit_id, T0, T0 + timedelta(hours=4)), PinVisit(visit_id, "U2")):
        with pytest.raises(InvalidTransition):
            decide(state, command, now=T0)
    with pytest.raises(InvalidCommand):  # only the unit that started it finishes it
        decide(state, FinishVisit(visit_id, "U2"), now=T0)
    assert run(state, log, FinishVisit(visit_id, "U1"), T0 + timedelta(hours=1))
    visit = state.visits[visit_id]
    assert (visit.status, visit.unit_id, visit.changed_at) == (
        VisitStatus.DONE, "U1", T0 + timedelta(hours=1))
    with pytest.raises(InvalidTransition):
        decide(state, MarkVisitNotMet(visit_id, "U1"), now=T0)


def test_a_unit_off_duty_or_on_a_callout_or_another_visit_cannot_start_one() -> None:
    state, log = _setup()
    first, second = booked(state, log), booked(state, log)
    with pytest.raises(InvalidCommand):  # U3 is off duty
        decide(state, StartVisit(first, "U3"), now=T0)
    assert run(state, log, StartVisit(first, "U1"), T0)
    with pytest.raises(InvalidCommand, match="already on visit"):
        decide(state, StartVisit(second, "U1"), now=T0)


def test_move_pin_cancel_and_not_met_are_recorded_with_who_and_when() -> None:
    state, log = _setup()
    visit_id = booked(state, log)
    later = T0 + timedelta(minutes=5)
    assert run(state, log, PinVisit(visit_id, "U2", T0 + timedelta(hours=2)), later)
    assert run(state, log, MoveVisit(visit_id, T0 + timedelta(hours=4),
                                     T0 + timedelta(hours=6)), later)
    visit = state.visits[visit_id]
    assert visit.moves == 1 and visit.pinned_unit == "U2"
    assert visit.pinned_start is None  # the pinned time fell outside the new window
    with pytest.raises(InvalidCommand):
        decide(state, PinVisit(visit_id, None, T0), now=later)
    assert run(state, log, MarkVisitNotMet(visit_id, "U2", "nobody home"), later)
    assert state.visits[visit_id].status is VisitStatus.NOT_MET
    other = booked(state, log)
    assert run(state, log, CancelVisit(other, "patient admitted"), later)
    assert (state.visits[other].status, state.visits[other].changed_by) == (
        VisitStatus.CANCELLED, "tester")


def test_a_visit_reason_naming_a_personal_number_is_refused() -> None:
    state, log = _setup()
    visit_id = booked(state, log)
    for command in (CancelVisit(visit_id, "pnr 121212-1212 inlagd"),
                    MarkVisitNotMet(visit_id, "U1", "121212-1212 ej hemma")):
        with pytest.raises(InvalidCommand) as refused:
            decide(state, command, now=T0)
        assert (refused.value.field, refused.value.reason) == ("reason", "personal_number")


def on_scene(state: DispatchState, log: list[Envelope]) -> None:
    """A police alarm at SPOTS[0] (callout C000001) with unit U1 on scene at T0."""
    alarm = Alarm(agency=Agency.POLICE, reference="R1", received_at=T0, location=SPOTS[0],
                  priority=Priority.ACUTE, category=Category.PSYCHOSIS)
    for command in (ReceiveAlarm(alarm), Assign("C000001", "U1"), Acknowledge("U1", "C000001"),
                    ReportStatus("U1", UnitStatus.EN_ROUTE),
                    ReportStatus("U1", UnitStatus.ON_SCENE)):
        assert run(state, log, command, T0)


def test_an_outcome_asking_for_a_follow_up_books_a_visit() -> None:
    state, log = _setup()
    on_scene(state, log)
    when = T0 + timedelta(days=1)
    assert run(state, log, RecordOutcome(
        "U1", "C000001", Outcome(OutcomeKind.STAYED_HOME, follow_up_at=when)), T0)
    (visit,) = state.visits.values()
    assert (visit.source, visit.callout_id, visit.earliest_start) == (
        VisitSource.FOLLOW_UP, "C000001", when)
    assert visit.patient_ref == "F-C000001" and visit.location == SPOTS[0]
    assert visit.postpone_cost is not None


@pytest.mark.parametrize("ahead", [timedelta(days=400), datetime(2099, 1, 1, tzinfo=UTC) - T0])
def test_a_follow_up_asked_for_too_far_ahead_refuses_the_outcome(ahead: timedelta) -> None:
    state, log = _setup()
    on_scene(state, log)
    with pytest.raises(InvalidCommand) as refused:
        decide(state, RecordOutcome("U1", "C000001", Outcome(
            OutcomeKind.STAYED_HOME, follow_up_at=T0 + ahead)), now=T0)
    assert refused.value.field == "outcome.follow_up_at"
    assert not state.visits


def test_times_outside_the_years_2000_2099_are_refused_where_commands_carry_them() -> None:
    """The rules refuse such times; the values themselves still take them, so a log written
    before the limit (an audit's 9999-12-31 follow-up) reads as it was written."""
    far = Outcome(OutcomeKind.STAYED_HOME, follow_up_at=datetime(9999, 12, 31, tzinfo=UTC))
    state, log = _setup()
    on_scene(state, log)
    with pytest.raises(InvalidCommand) as refused:
        decide(state, RecordOutcome("U1", "C000001", far), now=T0)
    assert refused.value.field == "outcome.follow_up_at"
    old = OutcomeRecorded(at=T0, callout_id="C000001", unit_id="U1", outcome=far)
    assert event_from_dict(event_to_dict(old)) == old
    state, log = _setup()
    visit_id = booked(state, log)
    with pytest.raises(InvalidCommand) as refused:
        decide(state, PinVisit(visit_id, start=datetime(1, 1, 1, tzinfo=UTC)), now=T0)
    assert refused.value.field == "start"


def _route(unit_id: str, *visit_ids: str) -> PlannedRoute:
    t = T0 + timedelta(hours=1)
    stops = tuple(PlannedStop(v, t + timedelta(hours=k), t + timedelta(hours=k),
                              t + timedelta(hours=k, minutes=45))
                  for k, v in enumerate(visit_ids))
    return PlannedRoute(unit_id, T0, stops, T0 + timedelta(hours=8), 1200)


def test_a_day_plan_with_a_visit_twice_or_closed_or_unknown_is_refused() -> None:
    state, log = _setup()
    a, b = booked(state, log), booked(state, log)
    assert run(state, log, CancelVisit(b), T0)
    for routes, postponed in (((_route("U1", a), _route("U2", a)), ()),
                              ((_route("U1", a),), (a,)),
                              ((_route("U1", b),), ()),
                              ((_route("U1", "V999"),), ()),
                              ((_route("U9", a),), ())):
        with pytest.raises((InvalidCommand, UnknownUnit)):
            decide(state, RecordDayPlan("2026-01-15", routes, postponed), now=T0)
    assert run(state, log, RecordDayPlan("2026-01-15", (_route("U1", a),), cause="day start"), T0)
    assert run(state, log, RecordDayPlan("2026-01-15", (_route("U2", a),), cause="unit taken"), T0)
    plan = state.day_plans["2026-01-15"]
    assert (plan.revision, plan.cause, state.planned_unit(a)) == (2, "unit taken", "U2")


def draw_visit_command(data: st.DataObject, state: DispatchState, now: object) -> Command:
    """A visit command about a visit that exists most of the time, or nonsense sometimes."""
    ids = [*sorted(state.visits), "V999999"]
    visit = data.draw(st.sampled_from(ids))
    unit = data.draw(st.sampled_from([*UNITS, "U9"]))
    kind = data.draw(st.sampled_from(["book", "book", "move", "pin", "cancel", "start",
                                      "start", "done", "done", "not_met", "plan", "plan", "tick",
                                      "status"]))
    hours = data.draw(st.integers(0, 30))
    if kind == "book":
        return book(earliest_start=T0 + timedelta(hours=hours),
                    latest_start=T0 + timedelta(hours=hours + data.draw(st.integers(0, 50))),
                    postpone_cost=data.draw(st.sampled_from([None, 600])))
    if kind == "move":
        return MoveVisit(visit, T0 + timedelta(hours=hours), T0 + timedelta(hours=hours + 2))
    if kind == "pin":
        return PinVisit(visit, data.draw(st.sampled_from([None, unit])))
    if kind == "cancel":
        return CancelVisit(visit, "no longer needed")
    if kind == "start":
        return StartVisit(visit, unit)
    if kind == "done":
        return FinishVisit(visit, unit)
    if kind == "not_met":
        return MarkVisitNotMet(visit, data.draw(st.sampled_from([None, unit])))
    if kind == "plan":
        open_ids = [v for v in sorted(state.visits) if state.visits[v].status.is_open]
        chosen = data.draw(st.lists(st.sampled_from(open_ids or ["V999999"]), max_size=4))
        return RecordDayPlan("2026-01-15", (_route(unit, *chosen),), cause="test")
    if kind == "status":
        return ReportStatus(unit, data.draw(st.sampled_from(UnitStatus)))
    return Tick()


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_random_visit_commands_never_lose_a_visit_and_replay_exactly(
        data: st.DataObject) -> None:
    state, log = _setup()
    now = T0
    booked_ids: list[str] = []
    for _ in range(data.draw(st.integers(0, 60))):
        now += timedelta(minutes=data.draw(st.integers(0, 30)))
        command = draw_visit_command(data, state, now)
        before = state.snapshot()
        if not run(state, log, command, now):
            assert state.snapshot() == before, "a refused command changed the state"
        booked_ids += [e.event.visit_id for e in log[-3:] if isinstance(e.event, VisitBooked)
                       and e.event.visit_id not in booked_ids]
        assert sorted(state.visits) == sorted(booked_ids), "a visit was lost or made up"
        started = [v.unit_id for v in state.visits.values() if v.status is VisitStatus.STARTED]
        assert len(started) == len(set(started)), "a unit is on two visits"
        for plan in state.day_plans.values():
            ids = plan.planned_ids() + list(plan.postponed) + list(plan.unplaced)
            assert len(ids) == len(set(ids)), "a visit is planned twice"
    assert DispatchState.replay(log).snapshot() == state.snapshot()
    via_json = [Envelope(e.seq, event_from_dict(event_to_dict(e.event))) for e in log]
    assert DispatchState.replay(via_json).snapshot() == state.snapshot()
    restored, _ = decode_snapshot(encode_snapshot(state))
    assert_same(restored, state)


def test_retention_erases_a_visits_address_pseudonym_and_reason_in_log_and_state_alike() -> None:
    from dispatch.erasure import erase_event, erase_state

    state, log = _setup()
    kept, gone = booked(state, log), booked(state, log)
    assert run(state, log, CancelVisit(gone, "patient admitted"), T0)
    cut = T0 + timedelta(seconds=1)
    erased_log = [Envelope(e.seq, erase_event(e.event, cut)) for e in log]
    erase_state(state, cut)
    replayed = DispatchState.replay(erased_log)
    assert replayed.snapshot() == state.snapshot()
    for visit_id in (kept, gone):
        visit = state.visits[visit_id]
        assert visit.patient_ref == "" and visit.location.label == ""
        assert (visit.location.lat, visit.location.lon) == (round(HOME.lat, 2), round(HOME.lon, 2))
    assert state.visits[gone].reason == ""
