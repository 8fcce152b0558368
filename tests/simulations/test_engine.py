"""The simulator against answers worked out by hand on a tiny map."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from scipy.sparse.csgraph import dijkstra

from dispatch.events import Envelope, UnitPositionReported, UnitStatusChanged
from dispatch.model import Agency, Category, OutcomeKind, Priority
from dispatch.state import DispatchState
from dispatch.status import CalloutStatus, UnitStatus
from maps.graph import RoadGraph
from simulations.behaviour import Act, Phase
from simulations.demand import DemandAlarm, build_demand
from simulations.engine import ON_ROAD_EVERY_S, RunResult, shift_intervals, simulate
from simulations.scenario import scenario_from_dict
from simulations.spec import Roads
from simulations.travel import Point, SimRoads
from tests.simulations._tiny import NODES, T0, tiny_graph, tiny_scenario

ACK_TURNOUT_S = 30 + 5 * 60


def alarm(ref: str, where: str, minutes: float, *, outcome: OutcomeKind = OutcomeKind.STAYED_HOME,
          agency: Agency = Agency.AMBULANCE, on_scene_min: float = 60.0) -> DemandAlarm:
    lat, lon = NODES[where]
    return DemandAlarm(reference=ref, received_at=T0 + timedelta(minutes=minutes), agency=agency,
                       priority=Priority.URGENT, category=Category.SUICIDE_RISK, lat=lat, lon=lon,
                       municipality=where, place=where, outcome=outcome,
                       on_scene_s=on_scene_min * 60, at_facility_s=20 * 60)


@pytest.fixture(scope="module")
def graph() -> RoadGraph:
    return tiny_graph()


@pytest.fixture(scope="module")
def hand_times(graph: RoadGraph) -> npt.NDArray[np.float64]:
    """Node-to-node driving times by a plain SciPy Dijkstra on the base edge times."""
    times: npt.NDArray[np.float64] = dijkstra(graph.adjacency(), directed=True)
    return times


def test_response_time_is_ack_turnout_and_driving_time(
        graph: RoadGraph, hand_times: npt.NDArray[np.float64]) -> None:
    sc = scenario_from_dict(tiny_scenario(), graph=graph)
    res = simulate(sc, graph=graph, demand=[alarm("A1", "Beta", 600)])
    (rec,) = res.records
    assert hand_times[0, 1] == pytest.approx(1800.0)
    assert rec.handled_by == "mae"
    assert rec.wait_s == 0
    assert rec.response_s == pytest.approx(ACK_TURNOUT_S + hand_times[0, 1])
    assert rec.done_s == pytest.approx(600 * 60 + ACK_TURNOUT_S + 1800 + 3600)


def test_second_alarm_waits_until_the_first_job_ends(
        graph: RoadGraph, hand_times: npt.NDArray[np.float64]) -> None:
    sc = scenario_from_dict(tiny_scenario(), graph=graph)
    first, second = alarm("A1", "Gamma", 600), alarm("A2", "Beta", 610)
    res = simulate(sc, graph=graph, demand=[first, second])
    r1, r2 = res.records
    to_gamma = hand_times[0, 2]
    assert to_gamma == pytest.approx(3000.0)
    first_done = 600 * 60 + ACK_TURNOUT_S + to_gamma + 3600
    assert r1.done_s == pytest.approx(first_done)
    # The unit is sent on from Gamma the moment the first job ends.
    assert r2.assigned_s == pytest.approx(first_done)
    assert r2.wait_s is not None and r2.wait_s == pytest.approx(first_done - 610 * 60)
    assert r2.response_s == pytest.approx(r2.wait_s + ACK_TURNOUT_S + hand_times[2, 1], abs=1e-3)


def test_no_unit_within_the_limit_goes_to_the_alarming_agency(graph: RoadGraph) -> None:
    sc = scenario_from_dict(tiny_scenario(policy={"max_response_min": 60}), graph=graph)
    res = simulate(sc, graph=graph, demand=[alarm("P1", "Delta", 600, agency=Agency.POLICE),
                                            alarm("A1", "Beta", 900)])
    far, near = res.records
    assert (far.handled_by, far.fallback_reason, far.unit_id) == ("police", "too_far", "")
    assert near.handled_by == "mae"
    from simulations.kpi import summarize

    k = summarize(res, sc)
    assert k.scalars["unserved_share"] == 0.5
    assert k.scalars["unserved_too_far_share"] == 0.5
    assert k.scalars["alone_police"] == 1


def test_alarm_out_of_hours_is_handled_alone_unless_a_shift_starts_in_time(
        graph: RoadGraph) -> None:
    data = tiny_scenario(policy={"max_response_min": 90})
    data["units"][0]["shifts"] = [{"start": "14:00", "end": "02:00", "days": "all"}]
    sc = scenario_from_dict(data, graph=graph)
    night = alarm("N1", "Alpha", 5 * 60)  # 05:00, the shift starts at 14:00
    early = alarm("E1", "Alpha", 13 * 60 + 30)  # 13:30: waits for the 14:00 shift
    res = simulate(sc, graph=graph, demand=[night, early])
    r_night, r_early = res.records
    assert (r_night.handled_by, r_night.fallback_reason) == ("ambulance", "off_duty")
    assert r_early.handled_by == "mae"
    assert r_early.assigned_s == pytest.approx(14 * 3600)


def test_a_call_that_waited_in_vain_for_a_shift_is_counted_off_duty_not_busy(
        graph: RoadGraph) -> None:
    """13:00 at Gamma, nobody on duty: it waits for the 14:00 shift, whose car is 50 min
    away with 30 min of the limit left; it goes to the ambulance because no unit was on duty
    (an audit found such calls counted as 'all units busy')."""
    data = tiny_scenario(policy={"max_response_min": 90})
    data["units"][0]["shifts"] = [{"start": "14:00", "end": "02:00", "days": "all"}]
    sc = scenario_from_dict(data, graph=graph)
    res = simulate(sc, graph=graph, demand=[alarm("L1", "Gamma", 13 * 60)])
    (rec,) = res.records
    assert rec.queued and (rec.handled_by, rec.fallback_reason) == ("ambulance", "off_duty")


def test_all_busy_past_the_limit_is_counted_as_busy(graph: RoadGraph) -> None:
    sc = scenario_from_dict(tiny_scenario(policy={"max_response_min": 60}), graph=graph)
    res = simulate(sc, graph=graph, demand=[alarm("A1", "Beta", 600), alarm("A2", "Alpha", 601)])
    assert [r.handled_by for r in res.records] == ["mae", "ambulance"]
    assert res.records[1].fallback_reason == "busy"


def test_mae_transport_goes_through_the_facility_and_home(
        graph: RoadGraph, hand_times: npt.NDArray[np.float64]) -> None:
    sc = scenario_from_dict(tiny_scenario(), graph=graph)
    res = simulate(sc, graph=graph, keep_log=True,
                   demand=[alarm("T1", "Beta", 600, outcome=OutcomeKind.TRANSPORTED_MAE)])
    (rec,) = res.records
    assert (rec.transport, rec.facility) == ("mae", "Alpha sjukhus")
    assert rec.done_s == pytest.approx(600 * 60 + ACK_TURNOUT_S + 1800 + 3600 + 1800 + 1200)
    assert res.log is not None
    statuses = [e.event.status for e in res.log if isinstance(e.event, UnitStatusChanged)]
    assert statuses == [UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE, UnitStatus.TRANSPORTING,
                        UnitStatus.AT_FACILITY, UnitStatus.AVAILABLE]
    state = DispatchState.replay(res.log)
    assert state.callouts[rec.callout_id].status is CalloutStatus.CLOSED
    outcome = state.callouts[rec.callout_id].outcome
    assert outcome is not None and outcome.kind is OutcomeKind.TRANSPORTED_MAE


def test_ambulance_transport_lets_the_unit_drive_home(graph: RoadGraph) -> None:
    sc = scenario_from_dict(tiny_scenario(), graph=graph)
    res = simulate(sc, graph=graph, keep_log=True, demand=[
        alarm("T1", "Beta", 600, outcome=OutcomeKind.TRANSPORTED_AMBULANCE)])
    (rec,) = res.records
    assert rec.transport == "ambulance"
    assert res.log is not None
    statuses = [e.event.status for e in res.log if isinstance(e.event, UnitStatusChanged)]
    assert statuses == [UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE, UnitStatus.RETURNING,
                        UnitStatus.AVAILABLE]
    assert res.busy == (("U1", 600 * 60.0, rec.done_s),)


def test_returning_unit_is_redirected_from_where_it_is(graph: RoadGraph) -> None:
    sc = scenario_from_dict(tiny_scenario(), graph=graph)
    # Job at Gamma ends at 10:00 + 330 + 3000 + 3600 s; 600 s into the 3000 s drive home (a
    # fifth) a new alarm comes from Gamma. The position is interpolated by distance along the
    # route: a fifth of 60 km is 12 km from Gamma on the 90 km/h road, 480 s back, not 3000 s.
    first_done = 600 * 60 + ACK_TURNOUT_S + 3000 + 3600
    second_at = (first_done + 600) / 60
    res = simulate(sc, graph=graph, demand=[alarm("A1", "Gamma", 600),
                                            alarm("A2", "Gamma", second_at)])
    r2 = res.records[1]
    assert r2.travel_s == pytest.approx(480.0, abs=0.5)
    assert r2.unit_id == "U1"


def test_positions_reach_the_state_and_stay_out_of_the_log(graph: RoadGraph) -> None:
    """As in the live service (positions table on), a crew's position reports are kept out of
    the event log and reach the state through ``note_position``: the returning unit is still
    sent on from where it is (480 s, as above), yet the log holds no position event, and its
    replay places the unit at its last *logged* position (registered at its base)."""
    sc = scenario_from_dict(tiny_scenario(), graph=graph)
    second_at = (600 * 60 + ACK_TURNOUT_S + 3000 + 3600 + 600) / 60
    res = simulate(sc, graph=graph, keep_log=True,
                   demand=[alarm("A1", "Gamma", 600), alarm("A2", "Gamma", second_at)])
    assert res.records[1].travel_s == pytest.approx(480.0, abs=0.5)
    assert res.log is not None and len(res.log) == res.events
    assert not [e for e in res.log if isinstance(e.event, UnitPositionReported)]
    where = DispatchState.replay(res.log).units["U1"].position
    base = sc.base(sc.units[0].base)
    assert (where.lat, where.lon) == (base.lat, base.lon)


def test_log_positions_logs_the_same_positions_as_events(graph: RoadGraph) -> None:
    """``log_positions`` (what ``--export-log`` uses, so a replay shows the cars move) logs
    each report as a ``UnitPositionReported``: the same records, and the log is the one
    without positions plus those events (along the road every ``ON_ROAD_EVERY_S`` while
    driving, arrival on scene, the way home, back at base)."""
    sc = scenario_from_dict(tiny_scenario(), graph=graph)
    second_at = (600 * 60 + ACK_TURNOUT_S + 3000 + 3600 + 600) / 60
    demand = [alarm("A1", "Gamma", 600), alarm("A2", "Gamma", second_at)]
    apart = simulate(sc, graph=graph, keep_log=True, demand=demand)
    logged = simulate(sc, graph=graph, keep_log=True, demand=demand, log_positions=True)
    assert logged.records == apart.records
    assert logged.log is not None and apart.log is not None
    positions = [e.event for e in logged.log if isinstance(e.event, UnitPositionReported)]
    assert len(positions) >= 4 and logged.events == apart.events + len(positions)
    assert [e.event for e in logged.log if not isinstance(e.event, UnitPositionReported)] == \
        [e.event for e in apart.log]
    arrived = next(p.at for p in positions
                   if (p.position.lat, p.position.lon) == NODES["Gamma"])
    on_the_way = [p for p in positions if p.at < arrived]  # the 50-minute drive out
    assert len(on_the_way) == 9, [p.at for p in on_the_way]
    assert all(b.at - a.at == timedelta(seconds=ON_ROAD_EVERY_S)
               for a, b in pairwise(on_the_way))
    places = [(p.position.lat, p.position.lon) for p in on_the_way]
    assert len(set(places)) == len(places)  # the car moves
    assert NODES["Gamma"] not in places


def _drive_off_runs(graph: RoadGraph, monkeypatch: pytest.MonkeyPatch,
                    units: list[dict[str, Any]], demand: list[DemandAlarm]
                    ) -> tuple[RunResult, RunResult, list[Phase]]:
    """The same run with crews that drive off at once and, the shortcut turned off, with
    crews that acknowledge and then report EN_ROUTE; and the phases the model was asked
    to act on in the first."""
    from simulations.behaviour import CrewModel

    sc = scenario_from_dict(tiny_scenario(service={"ack_s": 0, "turnout_min": 0}, units=units),
                            graph=graph)
    assert CrewModel(sc.service).drives_off_at_once
    phases: list[Phase] = []
    act = CrewModel.act

    def spy(self: CrewModel, phase: Phase, *args: Any, **kwargs: Any) -> Act:
        phases.append(phase)
        return act(self, phase, *args, **kwargs)

    monkeypatch.setattr(CrewModel, "act", spy)
    at_once = simulate(sc, graph=graph, keep_log=True, demand=demand)
    seen = list(phases)
    monkeypatch.setattr(CrewModel, "drives_off_at_once", property(lambda self: False))
    two_steps = simulate(sc, graph=graph, keep_log=True, demand=demand)
    assert at_once.log is not None and two_steps.log is not None
    return at_once, two_steps, seen


def test_a_crew_that_drives_off_at_once_logs_what_acknowledging_first_logs(
        graph: RoadGraph, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no acknowledge or turnout time the crew's EN_ROUTE is its acknowledgement (one
    report, the core adds the acknowledgement): the same records and, jobs at different
    instants, the same log event for event as a crew that acknowledges and then reports
    EN_ROUTE at the same instant. The model is never asked for an acknowledgement."""
    units = [{"id": "U1", "base": "alpha",
              "shifts": [{"start": "00:00", "end": "00:00", "days": "all"}]}]
    demand = [alarm("A1", "Gamma", 600), alarm("A2", "Beta", 620),
              alarm("A3", "Gamma", 900, outcome=OutcomeKind.TRANSPORTED_MAE)]
    at_once, two_steps, phases = _drive_off_runs(graph, monkeypatch, units, demand)
    assert Phase.ACKNOWLEDGE not in phases and phases.count(Phase.TURN_OUT) == 3
    assert at_once.log == two_steps.log
    assert at_once.records == two_steps.records and at_once.events == two_steps.events


def test_crews_sent_at_one_instant_log_each_pair_together_with_the_same_events(
        graph: RoadGraph, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two jobs given at one instant: each crew's acknowledgement is followed by its own
    EN_ROUTE (the two-step crews acknowledge both first); the same events otherwise and the
    same records."""
    units = [{"id": "U", "base": "alpha", "count": 2,
              "shifts": [{"start": "00:00", "end": "00:00", "days": "all"}]}]
    demand = [alarm("A1", "Gamma", 600), alarm("A2", "Beta", 600)]
    at_once, two_steps, _ = _drive_off_runs(graph, monkeypatch, units, demand)
    assert at_once.log is not None and two_steps.log is not None  # as _drive_off_runs checks
    assert at_once.records == two_steps.records
    assert sorted(map(repr, (e.event for e in at_once.log))) == \
        sorted(map(repr, (e.event for e in two_steps.log)))

    def order(log: Sequence[Envelope]) -> list[tuple[str, str]]:
        return [(type(e.event).__name__, getattr(e.event, "unit_id", "")) for e in log
                if type(e.event).__name__ == "AssignmentAcknowledged"
                or (isinstance(e.event, UnitStatusChanged)
                and e.event.status is UnitStatus.EN_ROUTE)]

    first, second = sorted({r.unit_id for r in at_once.records})
    ack, go = "AssignmentAcknowledged", "UnitStatusChanged"
    assert order(at_once.log) == [(ack, first), (go, first), (ack, second), (go, second)]
    assert order(two_steps.log) == [(ack, first), (ack, second), (go, first), (go, second)]


def test_shifts_join_when_back_to_back(graph: RoadGraph) -> None:
    sc = scenario_from_dict(tiny_scenario(), graph=graph)
    assert shift_intervals(sc, sc.units[0]) == [(0.0, 3 * 86400.0)]
    data = tiny_scenario()
    data["units"][0]["shifts"] = [{"start": "14:00", "end": "02:00", "days": "weekdays"}]
    sc2 = scenario_from_dict(data, graph=graph)
    assert shift_intervals(sc2, sc2.units[0]) == [
        (d * 86400 + 14 * 3600.0, d * 86400 + 26 * 3600.0) for d in range(3)]


def test_same_seed_same_run_other_seed_other_run() -> None:
    from maps.bundled import load_bundled

    graph = load_bundled()
    data = tiny_scenario(days=10, demand={"kind": "synthetic", "alarms_per_year": 2000},
                         timezone="Europe/Stockholm", roads={"season": "calendar"})
    data["bases"] = [{"id": "sun", "place": "Sunderby sjukhus"},
                     {"id": "pit", "place": "Piteå älvdals sjukhus"}]
    data["units"] = [{"id": "S", "base": "sun", "shifts": [{"start": "08:00", "end": "22:00"}]},
                     {"id": "P", "base": "pit", "shifts": [{"start": "14:00", "end": "02:00"}]}]
    data["service"] = {"on_scene_sd_min": 20, "at_facility_sd_min": 5}
    sc = scenario_from_dict(data, graph=graph)
    a = simulate(sc, seed=7, graph=graph)
    b = simulate(sc, seed=7, graph=graph)
    c = simulate(sc, seed=8, graph=graph)
    assert len(a.records) > 20
    assert a.records == b.records and a.busy == b.busy and a.events == b.events
    assert a.records != c.records
    assert build_demand(sc, graph, seed=7) == build_demand(sc, graph, seed=7)


@pytest.mark.parametrize(("sent_on", "drive_s"), [("along_route", 600 + 1200),
                                                  ("nearest_node", 1200)])
def test_a_unit_sent_on_from_its_way_home_starts_where_the_rule_says(
        graph: RoadGraph, sent_on: str, drive_s: float) -> None:
    """Issue 16: a third of the way home from Beta (10 km along the road, 20 km from Alpha),
    along the route it drives back 10 km to Beta and on to Gamma (600 + 1200 s); snapped to
    the nearest node it starts at Beta (1200 s)."""
    sc = scenario_from_dict(tiny_scenario(dispatch={"sent_on": sent_on}), graph=graph)
    done_s = ACK_TURNOUT_S + 1800 + 3600  # first job: to Beta, an hour on scene
    res = simulate(sc, graph=graph, demand=[alarm("A1", "Beta", 0),
                                            alarm("A2", "Gamma", (done_s + 600) / 60)])
    second = res.records[1]
    assert second.unit_id == "U1" and second.travel_s is not None
    assert second.travel_s == pytest.approx(drive_s, abs=2.0)


class _Registered(SimRoads):
    """A road source that keeps what the simulator registered, or prepares nothing at all
    (``prepare=False``: every drive is then asked when it comes)."""

    def __init__(self, graph: RoadGraph, roads: Roads, *, prepare: bool = True) -> None:
        super().__init__(graph, roads)
        self.prepare = prepare
        self.registered: list[tuple[float, float]] = []

    def register(self, fixed: Sequence[Point], scenes: Sequence[Point],
                 at: Sequence[datetime] | None = None) -> None:
        self.registered = list(scenes)
        if self.prepare:
            super().register(fixed, scenes, at)


def test_only_scenes_a_unit_could_serve_are_prepared_and_the_run_is_the_same(
        graph: RoadGraph) -> None:
    """The simulator prepares the drives of the alarms that come within a shift or within the
    response limit before one (the others fall back at once), each for the driving situation
    of its instant; a source that prepares nothing gives the same run (exactly, on this tiny
    map's straight roads; in general a prepared and an asked time may differ in the last bit)."""
    data = tiny_scenario(policy={"max_response_min": 90}, days=2)
    data["units"][0]["shifts"] = [{"start": "14:00", "end": "02:00", "days": "all"}]
    sc = scenario_from_dict(data, graph=graph)
    demand = [alarm("N1", "Beta", 5 * 60), alarm("E1", "Gamma", 12 * 60 + 40),
              alarm("L1", "Beta", 12 * 60 + 20), alarm("P1", "Beta", 16 * 60),
              alarm("D1", "Beta", 20 * 60, on_scene_min=30),
              alarm("M1", "Gamma", 24 * 60 + 90), alarm("O1", "Delta", 24 * 60 + 150)]
    prepared = _Registered(graph, sc.roads)
    asked = _Registered(graph, sc.roads, prepare=False)
    one = simulate(sc, graph=graph, demand=demand, roads=prepared)
    other = simulate(sc, graph=graph, demand=demand, roads=asked)
    assert prepared.registered == [NODES["Gamma"], NODES["Beta"], NODES["Beta"], NODES["Gamma"]]
    assert one.records == other.records and one.busy == other.busy
    assert [(r.reference, r.handled_by) for r in one.records] == [
        ("N1", "ambulance"), ("L1", "ambulance"), ("E1", "ambulance"), ("P1", "mae"),
        ("D1", "mae"), ("M1", "mae"), ("O1", "ambulance")]
    assert prepared.queries < asked.queries


def test_without_a_queue_only_alarms_within_a_shift_are_prepared(graph: RoadGraph) -> None:
    """When calls do not wait, an alarm before a shift falls back at once however soon the
    shift starts: its scene is not prepared."""
    data = tiny_scenario(policy={"max_response_min": 90, "queue": False}, days=1)
    data["units"][0]["shifts"] = [{"start": "14:00", "end": "02:00", "days": "all"}]
    sc = scenario_from_dict(data, graph=graph)
    prepared = _Registered(graph, sc.roads)
    run = simulate(sc, graph=graph, roads=prepared,
                   demand=[alarm("E1", "Gamma", 13 * 60 + 40), alarm("P1", "Beta", 16 * 60)])
    assert prepared.registered == [NODES["Beta"]]
    assert [(r.reference, r.handled_by) for r in run.records] == [("E1", "ambulance"),
                                                                  ("P1", "mae")]
