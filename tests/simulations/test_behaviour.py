"""The crew behaviour model: given the state and a seeded generator, the next commands and wait."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from dispatch.commands import (
    Acknowledge,
    Assign,
    Command,
    ReceiveAlarm,
    RecordOutcome,
    RegisterUnit,
    ReportStatus,
    StartShift,
    decide,
)
from dispatch.events import Envelope
from dispatch.model import Agency, Alarm, Category, Location, OutcomeKind, Priority
from dispatch.state import DispatchState
from dispatch.status import UnitStatus
from maps.graph import Facility
from simulations.behaviour import (
    Chance,
    CrewModel,
    Phase,
    draw_chance,
    nearest_facility,
    phase_of,
    transport_facilities,
)
from simulations.care import care_outcome
from simulations.errors import SimulationError
from simulations.spec import DemandAlarm, Service
from tests.simulations._tiny import NODES, T0

SERVICE = Service(ack_s=30.0, turnout_min=5.0, on_scene_min=75.0, on_scene_sd_min=25.0,
                  at_facility_min=30.0, at_facility_sd_min=10.0)
SIM = CrewModel(SERVICE)
DEMO = CrewModel(SERVICE, jitter=0.5, rolling_turnout_s=15.0, ack_margin=3.0,
                 relief_after_s=600.0, relief_hours=12.0)
CHANCE = Chance(OutcomeKind.STAYED_HOME, on_scene_s=4000.0, at_facility_s=1500.0)
HOME = NODES["Alpha"]
SCENE = NODES["Gamma"]
PSY = Facility("Alpha sjukhus", "hospital", *HOME, node=0, place="Alpha",
               kinds=("psychiatric_emergency",))


def _state(*commands: Command) -> DispatchState:
    state = DispatchState()
    for i, command in enumerate(commands):
        decision = decide(state, command, now=T0 + timedelta(seconds=i))
        for event in decision.events:
            state.apply(Envelope(state.last_seq + 1, event))
    return state


def _assigned() -> DispatchState:
    alarm = Alarm(Agency.POLICE, "P1", T0, Location(*SCENE), Priority.URGENT,
                  Category.PSYCHOSIS)
    return _state(RegisterUnit("U1", "MAE Alpha", "Alpha", Location(*HOME)),
                  StartShift("U1", ("nurse",), T0 + timedelta(hours=12)),
                  ReceiveAlarm(alarm), Assign("C000001", "U1", eta_s=900.0))


def test_the_simulator_waits_the_service_times_and_draws_nothing() -> None:
    assert SIM.wait_s(Phase.ACKNOWLEDGE) == 30.0
    assert SIM.wait_s(Phase.TURN_OUT) == 300.0
    assert SIM.wait_s(Phase.ON_SCENE, CHANCE) == 4000.0
    assert SIM.wait_s(Phase.HANDOVER, CHANCE) == 1500.0
    assert SIM.wait_s(Phase.TO_SCENE) == 0.0  # the drive is the wait: the driver's road time


def test_demo_crews_vary_ack_and_turnout_with_their_seeded_generator() -> None:
    rng, same = np.random.default_rng(7), np.random.default_rng(7)
    ack = DEMO.wait_s(Phase.ACKNOWLEDGE, rng=rng)
    turnout = DEMO.wait_s(Phase.TURN_OUT, rng=rng)
    assert ack == pytest.approx(30.0 * same.uniform(0.5, 1.5))
    assert turnout == pytest.approx(300.0 * same.uniform(0.5, 1.5))
    assert 15.0 <= ack <= 45.0 and 150.0 <= turnout <= 450.0
    other = np.random.default_rng(8)
    assert DEMO.wait_s(Phase.ACKNOWLEDGE, rng=other) != ack


def test_demo_crews_acknowledge_within_a_third_of_the_time_left() -> None:
    assert DEMO.wait_s(Phase.ACKNOWLEDGE, rng=np.random.default_rng(1), ack_left_s=30.0) == 10.0
    with pytest.raises(SimulationError):
        DEMO.wait_s(Phase.ACKNOWLEDGE)  # a varying crew needs its generator


def test_a_crew_sent_on_while_driving_turns_out_at_once_without_a_draw() -> None:
    rng = np.random.default_rng(3)
    assert DEMO.wait_s(Phase.TURN_OUT, rng=rng, rolling=True) == 15.0
    assert rng.random() == np.random.default_rng(3).random()  # the stream was not touched
    assert SIM.wait_s(Phase.TURN_OUT, rolling=True) == 300.0


def test_the_job_in_commands_from_acknowledge_to_on_scene() -> None:
    assert SIM.act(Phase.ACKNOWLEDGE, "U1", "C1").commands == (Acknowledge("U1", "C1"),)
    off = SIM.act(Phase.TURN_OUT, "U1", "C1", scene=SCENE)
    assert off.commands == (ReportStatus("U1", UnitStatus.EN_ROUTE),)
    assert off.drive_to == SCENE
    assert SIM.act(Phase.TO_SCENE, "U1", "C1").commands == (
        ReportStatus("U1", UnitStatus.ON_SCENE),)


def test_an_outcome_at_the_scene_closes_the_job_without_asking_for_a_facility() -> None:
    def nearest() -> Facility:
        raise AssertionError("no facility is needed when nobody carries the patient")

    act = SIM.act(Phase.ON_SCENE, "U1", "C1", chance=CHANCE, nearest=nearest)
    expected = care_outcome("C1", OutcomeKind.STAYED_HOME)  # with the crew's care answers
    assert expected.kind is OutcomeKind.STAYED_HOME and expected.facility == ""
    assert act.commands == (RecordOutcome("U1", "C1", expected),)
    assert act.outcome == expected and act.transport == ""


def test_the_mae_car_takes_its_patient_to_the_nearest_facility_and_hands_over() -> None:
    chance = Chance(OutcomeKind.TRANSPORTED_MAE, 4000.0, 1500.0)
    act = SIM.act(Phase.ON_SCENE, "U1", "C1", chance=chance, nearest=lambda: PSY)
    assert act.commands == (ReportStatus("U1", UnitStatus.TRANSPORTING),)
    assert act.drive_to == HOME and act.facility == PSY and act.outcome is None
    assert act.transport == "mae"
    there = SIM.act(Phase.TO_FACILITY, "U1", "C1", facility=PSY)
    assert there.commands == (ReportStatus("U1", UnitStatus.AT_FACILITY, "Alpha sjukhus"),)
    done = SIM.act(Phase.HANDOVER, "U1", "C1", chance=chance, facility=PSY)
    assert done.outcome == care_outcome("C1", OutcomeKind.TRANSPORTED_MAE, "Alpha sjukhus")
    assert done.commands == (RecordOutcome("U1", "C1", done.outcome),)


def test_when_the_ambulance_carries_the_patient_the_outcome_names_the_facility() -> None:
    chance = Chance(OutcomeKind.TRANSPORTED_AMBULANCE, 4000.0, 1500.0)
    act = SIM.act(Phase.ON_SCENE, "U1", "C1", chance=chance, nearest=lambda: PSY)
    assert act.outcome == care_outcome("C1", OutcomeKind.TRANSPORTED_AMBULANCE, "Alpha sjukhus")
    assert act.transport == "ambulance" and act.drive_to is None


def test_a_released_crew_is_available_at_base_and_drives_home_from_elsewhere() -> None:
    at_home = SIM.act(Phase.RELEASED, "U1", here=(HOME[0] + 0.001, HOME[1]), home=HOME)
    assert at_home.commands == (ReportStatus("U1", UnitStatus.AVAILABLE),)
    assert at_home.drive_to is None
    away = SIM.act(Phase.RELEASED, "U1", here=SCENE, home=HOME)
    assert away.commands == (ReportStatus("U1", UnitStatus.RETURNING),)
    assert away.drive_to == HOME
    assert SIM.act(Phase.HOMEWARD, "U1").commands == (ReportStatus("U1", UnitStatus.AVAILABLE),)


def test_shifts_follow_the_rota_or_a_relief_crew() -> None:
    later = T0 + timedelta(hours=8)
    assert SIM.start_shift("U1", ("nurse",), now=T0, ends_at=later) == StartShift(
        "U1", ("nurse",), later)
    assert SIM.start_shift("U1", ("nurse",), now=later, ends_at=later) is None  # already over
    assert SIM.start_shift("U1", ("nurse",), now=T0, off_since=T0 - timedelta(hours=1)) is None
    off = T0 - timedelta(seconds=599)
    assert DEMO.start_shift("U1", ("demo crew",), now=T0, off_since=off) is None
    assert DEMO.start_shift("U1", ("demo crew",), now=T0,
                            off_since=T0 - timedelta(seconds=600)) == StartShift(
        "U1", ("demo crew",), T0 + timedelta(hours=12))


def test_the_phase_follows_the_core_state() -> None:
    state = _assigned()
    unit, callout = state.units["U1"], state.callouts["C000001"]
    assert phase_of(unit, callout) is Phase.ACKNOWLEDGE
    state = _state(RegisterUnit("U2", "MAE Alpha", "Alpha", Location(*HOME)))
    assert phase_of(state.units["U2"], None) is None  # off duty: a shift rule, not a job
    state = _state(RegisterUnit("U3", "MAE Alpha", "Alpha", Location(*HOME)),
                   StartShift("U3", ("nurse",), T0 + timedelta(hours=12)))
    free = state.units["U3"]
    assert phase_of(free, None) is None
    assert phase_of(free, None, idle_away=True) is Phase.RELEASED


def test_chances_come_from_the_demand_or_a_seeded_draw() -> None:
    alarm = DemandAlarm("R1", T0, Agency.POLICE, Priority.URGENT, Category.PSYCHOSIS, *SCENE,
                        outcome=OutcomeKind.TRANSPORTED_MAE, on_scene_s=3600.0,
                        at_facility_s=900.0)
    assert Chance.of(alarm) == Chance(OutcomeKind.TRANSPORTED_MAE, 3600.0, 900.0)
    drawn = [draw_chance(SERVICE, np.random.default_rng([5, k])) for k in range(200)]
    assert drawn[:5] == [draw_chance(SERVICE, np.random.default_rng([5, k])) for k in range(5)]
    assert all(c.on_scene_s >= 75.0 / 4 * 60 and c.at_facility_s >= 30.0 / 4 * 60
               for c in drawn)
    kinds = {c.outcome for c in drawn}
    assert OutcomeKind.STAYED_HOME in kinds and OutcomeKind.TRANSPORTED_MAE in kinds


def test_the_patient_goes_to_the_facility_of_the_right_kind_reached_first() -> None:
    er = Facility("Beta akuten", "hospital", *NODES["Beta"], node=1, place="Beta")
    far = Facility("Gamma psykiatri", "psychiatric_emergency", *SCENE, node=2, place="Gamma")
    kinds = transport_facilities([PSY, er, far], SERVICE)
    assert kinds == [PSY, far]  # psychiatric emergency only, as the service says
    assert nearest_facility(kinds, [1800.0, 900.0]) == 1
    assert nearest_facility(kinds, [float("inf"), float("nan")]) == 0  # unreachable: by name
    assert nearest_facility([far, PSY], [600.0, 600.0]) == 1  # a tie goes by name


# -- planned follow-up visits (one behaviour: the simulator's crews and the live demo's) ------


def test_a_crew_drives_to_starts_finishes_and_breaks_off_its_planned_visits() -> None:
    from dispatch.commands import (
        Assign,
        FinishVisit,
        MarkVisitNotMet,
        ReceiveAlarm,
        RecordDayPlan,
        StartVisit,
    )
    from dispatch.visits import PlannedRoute, PlannedStop
    from simulations.behaviour import visit_act
    from tests.dispatch.test_state import run
    from tests.dispatch.test_visit_plan import BASE, DAY, TOWNS, setup, visit

    def h(hours: float) -> datetime:
        return DAY + timedelta(hours=hours)

    state, log = setup()  # U1 and U2 on shift 07-19 at BASE
    assert run(state, log, visit(1, 9, 2), h(8))  # V000001 at TOWNS[1], 09-11, 45 min
    assert run(state, log, visit(2, 9, 4), h(8))  # V000002 at TOWNS[2], 09-13
    stops = (PlannedStop("V000001", h(9.5), h(9.5), h(10.25)),
             PlannedStop("V000002", h(11), h(11), h(11.75)))
    route = PlannedRoute("U1", h(9), stops, h(12.5), 3600)
    assert run(state, log, RecordDayPlan(day="2026-01-15", routes=(route,), cause="t"), h(8))
    home = (BASE.lat, BASE.lon)
    first = (TOWNS[1].lat, TOWNS[1].lon)
    assert visit_act(state, "U1", h(8.5), home) is None  # not time to leave yet
    assert visit_act(state, "U2", h(9), home) is None  # nothing planned for U2
    leave = visit_act(state, "U1", h(9), home)
    assert leave is not None and leave.commands == () and leave.drive_to == first
    wait = visit_act(state, "U1", h(9.4), first)  # there early: wait for the planned start
    assert wait is not None and wait.commands == () and wait.drive_to is None
    start = visit_act(state, "U1", h(9.5), first)
    assert start is not None and start.commands == (StartVisit("V000001", "U1"),)
    assert run(state, log, start.commands[0], h(9.5))
    on_it = visit_act(state, "U1", h(10), first)
    assert on_it is not None and on_it.commands == ()  # 45 minutes not over
    done = visit_act(state, "U1", h(10.25), first)
    assert done is not None and done.commands == (FinishVisit("V000001", "U1"),)
    assert run(state, log, done.commands[0], h(10.25))
    onward = visit_act(state, "U1", h(10.25), first)  # leaves when the stop before ends
    assert onward is not None and onward.drive_to == (TOWNS[2].lat, TOWNS[2].lon)
    there = (TOWNS[2].lat, TOWNS[2].lon)
    second = visit_act(state, "U1", h(11), there)
    assert second is not None
    assert run(state, log, second.commands[0], h(11))
    alarm = Alarm(agency=Agency.POLICE, reference="R1", received_at=h(11.1),
                  location=TOWNS[3], priority=Priority.ACUTE, category=Category.PSYCHOSIS)
    assert run(state, log, ReceiveAlarm(alarm), h(11.1))
    assert run(state, log, Assign(sorted(state.callouts)[-1], "U1"), h(11.1))
    taken = visit_act(state, "U1", h(11.1), there)  # acute first: the visit is broken off
    assert taken is not None
    assert [type(c) for c in taken.commands] == [MarkVisitNotMet]
    assert run(state, log, taken.commands[0], h(11.1))
    assert visit_act(state, "U1", h(11.2), there) is None  # the acute job decides now


def test_visit_next_says_when_a_crew_must_be_asked_again() -> None:
    """The simulator drives the same model on its event queue: the time to leave, the planned
    start waited for at the door and a started visit's end are when the answer changes."""
    from dispatch.commands import RecordDayPlan, StartVisit
    from dispatch.visits import PlannedRoute, PlannedStop
    from simulations.behaviour import visit_next
    from tests.dispatch.test_state import run
    from tests.dispatch.test_visit_plan import BASE, DAY, TOWNS, setup, visit

    def h(hours: float) -> datetime:
        return DAY + timedelta(hours=hours)

    state, log = setup()
    assert run(state, log, visit(1, 9, 2), h(8))
    stop = PlannedStop("V000001", h(9.5), h(9.75), h(10.5))
    route = PlannedRoute("U1", h(9), (stop,), h(11), 3600)
    assert run(state, log, RecordDayPlan(day="2026-01-15", routes=(route,), cause="t"), h(8))
    home, there = (BASE.lat, BASE.lon), (TOWNS[1].lat, TOWNS[1].lon)
    assert visit_next(state, "U1", h(8), home) == (None, h(9))  # leave at the departure
    act, wake = visit_next(state, "U1", h(9.5), there)
    assert act is not None and act.commands == () and wake == h(9.75)  # wait at the door
    act, wake = visit_next(state, "U1", h(9.75), there)
    assert act is not None and act.commands == (StartVisit("V000001", "U1"),) and wake is None
    assert run(state, log, act.commands[0], h(9.75))
    act, wake = visit_next(state, "U1", h(10), there)
    assert act is not None and act.commands == () and wake == h(10.5)  # 45 min from 09:45
    assert visit_next(state, "U2", h(9), home) == (None, None)  # nothing for U2, ever


def test_a_visit_follows_the_newest_plan_that_names_it_and_its_window_as_it_is() -> None:
    """Yesterday's route does not send a crew to a visit today's plan postponed or gave to
    another unit, nor to a visit moved since to a window its old stop is outside of."""
    from dispatch.commands import MoveVisit, RecordDayPlan
    from dispatch.visits import PlannedRoute, PlannedStop
    from simulations.behaviour import visit_act
    from tests.dispatch.test_state import run
    from tests.dispatch.test_visit_plan import BASE, DAY, setup, visit

    def h(hours: float) -> datetime:
        return DAY + timedelta(hours=hours)

    state, log = setup()
    assert run(state, log, visit(1, 9, 48), h(8))  # V000001: a window of two days
    assert run(state, log, visit(2, 9, 48), h(8))  # V000002 likewise
    old = (PlannedStop("V000001", h(9.5), h(9.5), h(10.25)),
           PlannedStop("V000002", h(11), h(11), h(11.75)))
    assert run(state, log, RecordDayPlan(day="2026-01-15", routes=(
        PlannedRoute("U1", h(9), old, h(12.5), 3600),), cause="t"), h(8))
    home = (BASE.lat, BASE.lon)
    act = visit_act(state, "U1", h(9), home)
    assert act is not None and act.drive_to is not None  # yesterday, V000001 was U1's
    assert run(state, log, RecordDayPlan(  # the next day: V000001 postponed, V000002 to U2
        day="2026-01-16", routes=(PlannedRoute("U2", h(33), (PlannedStop(
            "V000002", h(33.5), h(33.5), h(34.25)),), h(35), 3600),),
        postponed=("V000001",), cause="t"), h(32))
    assert visit_act(state, "U1", h(33), home) is None
    assert visit_act(state, "U2", h(33), home) is not None
    state2, log2 = setup()
    assert run(state2, log2, visit(1, 9, 4), h(8))
    assert run(state2, log2, RecordDayPlan(day="2026-01-15", routes=(
        PlannedRoute("U1", h(9), old[:1], h(12.5), 3600),), cause="t"), h(8))
    assert run(state2, log2, MoveVisit("V000001", h(12), h(13)), h(8.5))  # 09:30 is outside
    assert visit_act(state2, "U1", h(9), home) is None


def test_a_crew_whose_shift_ends_during_a_visit_still_finishes_it() -> None:
    from dispatch.commands import FinishVisit, RecordDayPlan, StartVisit, Tick
    from dispatch.status import UnitStatus
    from dispatch.visits import PlannedRoute, PlannedStop
    from simulations.behaviour import visit_act
    from tests.dispatch.test_state import run
    from tests.dispatch.test_visit_plan import DAY, TOWNS, setup, visit

    def h(hours: float) -> datetime:
        return DAY + timedelta(hours=hours)

    state, log = setup()  # shifts end at 19:00
    assert run(state, log, visit(1, 18, 1), h(8))
    stop = PlannedStop("V000001", h(18.5), h(18.5), h(19.25))
    assert run(state, log, RecordDayPlan(day="2026-01-15", routes=(
        PlannedRoute("U1", h(18), (stop,), h(19.5), 3600),), cause="t"), h(8))
    there = (TOWNS[1].lat, TOWNS[1].lon)
    assert run(state, log, StartVisit("V000001", "U1"), h(18.5))
    assert run(state, log, Tick(), h(19.1))
    assert state.units["U1"].status is UnitStatus.OFF_DUTY
    act = visit_act(state, "U1", h(19.25), there)
    assert act is not None and act.commands == (FinishVisit("V000001", "U1"),)
    assert run(state, log, act.commands[0], h(19.25))  # the core takes it off duty too
    assert state.visits["V000001"].status.value == "done"
    assert visit_act(state, "U1", h(19.3), there) is None  # off duty: nothing more


@pytest.mark.parametrize(("ack_s", "turnout_min", "jitter", "rolling_s", "at_once"), [
    (0.0, 0.0, 0.0, None, True), (30.0, 0.0, 0.0, None, False), (0.0, 5.0, 0.0, None, False),
    (0.0, 0.0, 0.5, None, False), (0.0, 0.0, 0.0, 15.0, False),
])
def test_only_a_crew_with_no_acknowledge_nor_turnout_time_drives_off_at_once(
        ack_s: float, turnout_min: float, jitter: float, rolling_s: float | None,
        at_once: bool) -> None:
    """A crew that takes any time to acknowledge or turn out (on the road too), or whose
    times vary as the live demo's do, acknowledges first; only one that takes none sends
    EN_ROUTE alone."""
    model = CrewModel(Service(ack_s=ack_s, turnout_min=turnout_min), jitter=jitter,
                      rolling_turnout_s=rolling_s)
    assert model.drives_off_at_once is at_once
    assert at_once is (model.wait_s(Phase.ACKNOWLEDGE, rng=np.random.default_rng(1)) == 0
                       and model.wait_s(Phase.TURN_OUT, rng=np.random.default_rng(1),
                                        rolling=True) == 0 and not jitter)
