"""Coverage on a tiny map whose road times are worked out by hand: nearest origin per place,
population within each threshold and beyond, origins left out, and the free units counted."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest

from dispatch import model
from dispatch.commands import Assign, ReceiveAlarm, RegisterUnit, ReportStatus, StartShift
from dispatch.coverage import (
    DEFAULT_THRESHOLDS,
    DEFAULT_THRESHOLDS_MIN,
    CoverageError,
    CoverageResult,
    Thresholds,
    coverage,
    free_units,
    populated,
)
from dispatch.status import UnitStatus
from mae.errors import MaeError
from maps.graph import Place, RoadClass, RoadGraph
from routing.engine import Location, TravelTimes
from tests.dispatch.conftest import T0, Core

# Two-way primary roads at 60 km/h, so a kilometre takes a minute (summer, no rush hour):
# A-B 20 km, B-C 25 km, A-D 70 km, and E-F 10 km on an island no road reaches.
NODES = {"A": (65.0, 20.0), "B": (65.0, 20.4), "C": (65.0, 20.9), "D": (65.6, 20.0),
         "E": (66.5, 22.0), "F": (66.5, 22.2)}
ROADS = (("A", "B", 20), ("B", "C", 25), ("A", "D", 70), ("E", "F", 10))
POPULATION = {"A": 1000, "B": 400, "C": 200, "D": 100, "E": 50, "F": 0}
TOTAL = 1750


def tiny() -> RoadGraph:
    names = list(NODES)
    src, dst, length = [], [], []
    for a, b, km in ROADS:
        for u, v in ((a, b), (b, a)):
            src.append(names.index(u))
            dst.append(names.index(v))
            length.append(km * 1000.0)
    places = [Place(n, *NODES[n], node=i, population=POPULATION[n]) for i, n in enumerate(names)]
    return RoadGraph.from_edges(
        node_lat=[NODES[n][0] for n in names], node_lon=[NODES[n][1] for n in names],
        source=src, target=dst, length_m=length, speed_kmh=[60.0] * len(src),
        road_class=[int(RoadClass.PRIMARY)] * len(src), places=places, meta={"name": "tiny"},
    )


@pytest.fixture(scope="module")
def graph() -> RoadGraph:
    return tiny()


@pytest.fixture(scope="module")
def travel(graph: RoadGraph) -> TravelTimes:
    return TravelTimes(graph, winter=False)


def at(travel: TravelTimes, *names: str) -> list[Location]:
    """Points exactly at the named nodes."""
    return [travel.at_node(list(NODES).index(n)) for n in names]


def test_nearest_origin_and_population_within_each_threshold(
    graph: RoadGraph, travel: TravelTimes
) -> None:
    reach = coverage(travel, at(travel, "A", "C"), graph.places)
    assert [p.name for p in reach.places] == list(NODES)
    # From A: A 0, B 20, C 45, D 70 min; from C: A 45, B 25, C 0, D 115; E and F unreachable.
    assert reach.seconds[:4] / 60 == pytest.approx([0, 20, 0, 70])
    assert math.isinf(reach.seconds[4]) and math.isinf(reach.seconds[5])
    assert reach.nearest.tolist() == [0, 0, 1, 0, -1, -1]
    assert reach.times_s[1] / 60 == pytest.approx([45, 25, 0, 115, math.inf, math.inf])
    assert reach.thresholds == DEFAULT_THRESHOLDS
    assert reach.total == TOTAL
    assert reach.within == (1600, 1600, 1700)  # A, B, C within 30; D at 70 min within 90
    assert reach.shares == pytest.approx((1600 / TOTAL, 1600 / TOTAL, 1700 / TOTAL))
    assert reach.bands == (1600, 0, 100, 50)  # each band without the one before; E beyond
    assert reach.beyond == 50


def test_a_place_exactly_at_a_threshold_is_within_it(
    graph: RoadGraph, travel: TravelTimes
) -> None:
    reach = coverage(travel, at(travel, "A"), graph.places, thresholds=Thresholds((20, 45)))
    assert reach.within == (1400, 1600)  # B at 20 min, C at 45 min
    assert reach.bands == (1400, 200, 150)


def test_coordinates_are_snapped_like_points_on_the_road(
    graph: RoadGraph, travel: TravelTimes
) -> None:
    by_point = coverage(travel, at(travel, "A"), graph.places)
    by_coordinates = coverage(travel, [NODES["A"]], graph.places)
    assert by_coordinates.seconds.tolist() == pytest.approx(by_point.seconds.tolist())
    assert by_coordinates.within == by_point.within


def test_fewer_origins_and_each_one_left_out(graph: RoadGraph, travel: TravelTimes) -> None:
    reach = coverage(travel, at(travel, "A", "C"), graph.places)
    only_c = reach.among([1])
    assert only_c.seconds[:4] / 60 == pytest.approx([45, 25, 0, 115])
    assert only_c.nearest.tolist() == [0, 0, 0, 0, -1, -1]
    assert only_c.within == (600, 1600, 1600)
    # Beyond 90 min: without A, D (115 min from C) and E; without C, only E.
    assert reach.beyond_without_each().tolist() == [150, 50]
    assert reach.among([]).within == (0, 0, 0)
    one_hour = coverage(travel, at(travel, "A", "C"), graph.places,
                        thresholds=Thresholds.of_seconds(3600))
    assert one_hour.beyond_without_each().tolist() == [150, 150]  # D is 70 min from A


def test_no_origin_leaves_everyone_beyond(graph: RoadGraph, travel: TravelTimes) -> None:
    reach = coverage(travel, [], graph.places)
    assert reach.times_s.shape == (0, 6)
    assert reach.nearest.tolist() == [-1] * 6 and all(math.isinf(s) for s in reach.seconds)
    assert reach.within == (0, 0, 0) and reach.bands == (0, 0, 0, TOTAL)
    assert reach.beyond_without_each().tolist() == []
    empty = coverage(travel, at(travel, "A"), [])
    assert empty.total == 0 and empty.shares == (0.0, 0.0, 0.0)


def test_ties_go_to_the_first_origin(graph: RoadGraph, travel: TravelTimes) -> None:
    reach = coverage(travel, at(travel, "C", "A", "A"), graph.places)
    assert reach.nearest.tolist() == [1, 1, 0, 1, -1, -1]


def test_populated_keeps_only_places_where_someone_lives(graph: RoadGraph) -> None:
    assert [p.name for p in populated(graph.places)] == ["A", "B", "C", "D", "E"]


def test_thresholds_are_checked_and_named() -> None:
    assert DEFAULT_THRESHOLDS.minutes == DEFAULT_THRESHOLDS_MIN == (30, 60, 90)
    assert DEFAULT_THRESHOLDS.seconds == (1800, 3600, 5400)
    assert DEFAULT_THRESHOLDS.labels == ("30", "60", "90")
    assert Thresholds.of_seconds(3600, 450 * 60).minutes == (60, 450)
    assert Thresholds((7.5,)).labels == ("7.5",)
    for bad in ((), (30, 30), (60, 30), (0,), (-5, 10), (math.inf,), (math.nan,)):
        with pytest.raises(CoverageError) as exc:
            Thresholds(bad)
        assert isinstance(exc.value, MaeError) and isinstance(exc.value, ValueError)


def test_free_units_are_available_or_returning_and_on_no_callout() -> None:
    core = Core()
    for unit_id in ("U4", "U2", "U3", "U1", "U5"):
        core.do(RegisterUnit(unit_id, unit_id, "A", model.Location(*NODES["A"])))
    for unit_id in ("U1", "U2", "U3", "U4"):
        core.do(StartShift(unit_id, ("nurse",), T0 + timedelta(hours=8)))
    core.do(ReportStatus("U2", UnitStatus.RETURNING))
    core.do(ReportStatus("U3", UnitStatus.UNAVAILABLE))
    alarm = model.Alarm(agency=model.Agency.POLICE, reference="X1", received_at=T0,
                  location=model.Location(*NODES["B"]), priority=model.Priority.URGENT,
                  category=model.Category.PSYCHOSIS)
    core.do(Assign(core.do(ReceiveAlarm(alarm)).callout_id or "", "U4"))
    # U5 never started its shift; U4 is dispatched; U3 unavailable.
    assert [u.unit_id for u in free_units(core.state)] == ["U1", "U2"]


def test_a_resolution_counts_times_as_shown_and_keeps_the_exact_nearest(
    graph: RoadGraph,
) -> None:
    """At a tenth of a minute (6 s), 20 min 2.4 s shows as 20.0 and counts within 20 min;
    the nearest origin is still the one with the shorter exact time."""
    a, b = graph.places[0], graph.places[1]
    times = np.array([[1202.4, 1211.0], [1201.0, 1300.0]])
    exact = CoverageResult((a, b), Thresholds((20,)), times)
    assert exact.within == (0,) and exact.nearest.tolist() == [1, 0]
    shown = CoverageResult((a, b), Thresholds((20,)), times, resolution_s=6.0)
    assert shown.seconds.tolist() == [1200.0, 1212.0]
    assert shown.nearest.tolist() == [1, 0]
    assert shown.within == (1000,)
    assert shown.beyond_without_each().tolist() == [400, 400]
    assert shown.among([0]).within == (1000,) and shown.among([0]).resolution_s == 6.0
    with pytest.raises(CoverageError):
        CoverageResult((a, b), Thresholds((20,)), times, resolution_s=-1.0)
    with pytest.raises(CoverageError):
        CoverageResult((a, b), Thresholds((20,)), times[:, :1])
