"""Recommendations on the bundled Norrbotten map with the real routing engine."""

from __future__ import annotations

from datetime import timedelta

import pytest
from scipy.sparse.csgraph import dijkstra

from dispatch.commands import (
    Assign,
    ReceiveAlarm,
    RegisterUnit,
    ReportPosition,
    ReportStatus,
    StartShift,
)
from dispatch.model import Agency, Alarm, Category, Location, Priority
from dispatch.recommend import on_the_way, propose, recommend
from dispatch.status import UnitStatus
from maps.bundled import load_bundled
from maps.gazetteer import Gazetteer
from maps.graph import RoadGraph
from maps.traveltime import TravelTimeModel
from routing.engine import TravelTimes
from tests.dispatch.conftest import T0, Core


@pytest.fixture(scope="module")
def graph() -> RoadGraph:
    return load_bundled()


@pytest.fixture(scope="module")
def travel(graph: RoadGraph) -> TravelTimes:
    return TravelTimes(graph, at=T0)


def where(graph: RoadGraph, name: str) -> Location:
    """The road node serving ``name``, so hand-computed travel times need no snapping."""
    place = Gazetteer.of(graph).find(name)
    return Location(float(graph.node_lat[place.node]), float(graph.node_lon[place.node]),
                    label=place.name)


def three_bases(core: Core, graph: RoadGraph, shift_hours: int = 10) -> None:
    for unit_id, base in (("PIT", "Piteå"), ("SUN", "Sunderby sjukhus"), ("GLV", "Gällivare")):
        core.do(RegisterUnit(unit_id, f"MAE {base}", base, where(graph, base)))
        core.do(StartShift(unit_id, ("nurse",), T0 + timedelta(hours=shift_hours)))


def call(core: Core, graph: RoadGraph, town: str, ref: str,
         priority: Priority = Priority.URGENT) -> str:
    a = Alarm(agency=Agency.POLICE, reference=ref, received_at=T0, location=where(graph, town),
              priority=priority, category=Category.PSYCHOSIS)
    return core.do(ReceiveAlarm(a)).callout_id or ""


def test_nearest_unit_by_road_comes_first(core: Core, graph: RoadGraph,
                                          travel: TravelTimes) -> None:
    three_bases(core, graph)
    cid = call(core, graph, "Boden", "B1")
    options = recommend(core.state, cid, travel, now=T0, places=graph.places)
    assert options[0].unit_id == "SUN"
    assert options[0].eta_s < options[1].eta_s < options[2].eta_s
    assert all(o.assignable for o in options)
    # The Sunderbyn car sits 15-20 minutes from Boden by road.
    assert 8 * 60 < options[0].eta_s < 30 * 60


def test_coverage_left_behind_is_the_population_beyond_an_hour(
    core: Core, graph: RoadGraph, travel: TravelTimes
) -> None:
    three_bases(core, graph)
    cid = call(core, graph, "Kiruna", "K1")
    options = {o.unit_id: o for o in recommend(core.state, cid, travel, now=T0,
                                               places=graph.places)}
    # By hand: plain Dijkstra from the other two bases on the same (winter) edge times.
    times = TravelTimeModel().edge_times(graph, at=T0)
    gaz = Gazetteer.of(graph)
    base_node = {"PIT": gaz.find("Piteå").node, "SUN": gaz.find("Sunderby sjukhus").node,
                 "GLV": gaz.find("Gällivare").node}
    for unit_id, option in options.items():
        others = [n for u, n in base_node.items() if u != unit_id]
        reach = dijkstra(graph.adjacency(times), indices=others, min_only=True)
        expected = sum(p.population for p in graph.places if reach[p.node] > 3600)
        assert option.uncovered_population == expected, unit_id
    assert len({o.uncovered_population for o in options.values()}) == 3


def test_units_whose_shift_ends_too_soon_are_not_assignable(
    core: Core, graph: RoadGraph, travel: TravelTimes
) -> None:
    three_bases(core, graph, shift_hours=1)
    cid = call(core, graph, "Kiruna", "K1")
    options = recommend(core.state, cid, travel, now=T0, places=graph.places)
    assert not any(o.assignable for o in options)
    assert all("shift ends" in o.note for o in options)


def test_busy_units_are_not_offered(core: Core, graph: RoadGraph, travel: TravelTimes) -> None:
    three_bases(core, graph)
    first = call(core, graph, "Boden", "B1")
    core.do(Assign(first, "SUN"))
    second = call(core, graph, "Luleå", "L1")
    assert "SUN" not in {o.unit_id for o in recommend(core.state, second, travel, now=T0)}


def test_the_unit_on_its_way_is_timed_from_where_it_last_reported(
    core: Core, graph: RoadGraph, travel: TravelTimes
) -> None:
    """What a dispatcher weighs before reassigning: the unit that has the callout, with its
    ETA from its last position (closer as it drives), and nothing once it is on scene."""
    three_bases(core, graph)
    cid = call(core, graph, "Boden", "B1")
    assert on_the_way(core.state, cid, travel) is None  # nobody has it yet
    offered = recommend(core.state, cid, travel, now=T0, places=graph.places)[0]
    core.do(Assign(cid, "SUN"))
    at_base = on_the_way(core.state, cid, travel)
    assert at_base is not None and at_base.unit_id == "SUN" and not at_base.assignable
    assert (offered.unit_id, offered.eta_s) == ("SUN", at_base.eta_s)
    core.do(ReportStatus("SUN", UnitStatus.EN_ROUTE), actor="SUN")
    core.do(ReportPosition("SUN", where(graph, "Boden")), actor="SUN")
    there = on_the_way(core.state, cid, travel)
    assert there is not None and there.eta_s < at_base.eta_s / 4
    core.do(ReportStatus("SUN", UnitStatus.ON_SCENE), actor="SUN")
    assert on_the_way(core.state, cid, travel) is None


def test_joint_proposal_puts_each_unit_where_it_is_needed_most(
    core: Core, graph: RoadGraph, travel: TravelTimes
) -> None:
    three_bases(core, graph)
    boden = call(core, graph, "Boden", "B1")
    pitea = call(core, graph, "Öjebyn", "P1") if "Öjebyn" in Gazetteer.of(graph) else call(
        core, graph, "Piteå", "P1")
    kiruna = call(core, graph, "Kiruna", "K1", Priority.ACUTE)
    proposal = propose(core.state, travel, now=T0)
    got = {c: u for c, u, _ in proposal.pairs}
    assert got == {boden: "SUN", pitea: "PIT", kiruna: "GLV"}
    assert proposal.waiting == ()
