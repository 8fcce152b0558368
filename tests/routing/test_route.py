"""Routes for the crew: geometry, totals and one step per road."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from maps.graph import haversine_m
from routing.engine import TravelTimes
from routing.errors import RoutingError
from routing.route import Step, StepKind, format_distance, format_duration, road_label

# shared test helpers live beside the tests (pytest runs with --import-mode=importlib)
sys.path.insert(0, str(Path(__file__).parent))
from _routing_graphs import norrbotten_mini


def test_consecutive_edges_of_one_road_merge_into_one_step() -> None:
    tt = TravelTimes(norrbotten_mini(), winter=False)
    route = tt.route(tt.at_node(0), tt.at_node(2))  # Luleå -> Jokkmokk: 97 all the way
    kinds = [s.kind for s in route.steps]
    assert kinds == [StepKind.DEPART, StepKind.ROAD, StepKind.ARRIVE]
    assert route.steps[1].road == "väg 97"
    assert len(route.edges) == 3  # three edges, one step
    assert route.steps[1].distance_m == pytest.approx(route.distance_m)
    assert route.describe().endswith(": väg 97 for 155 km")


def test_road_changes_make_new_steps_in_order() -> None:
    tt = TravelTimes(norrbotten_mini(), winter=False)
    route = tt.route(tt.at_node(5), tt.at_node(3))  # Luleå hamn -> Piteå
    roads = [s.road for s in route.steps if s.kind is StepKind.ROAD]
    assert roads == ["Storgatan", "E4"]
    assert sum(s.distance_m for s in route.steps) == pytest.approx(route.distance_m)
    assert sum(s.duration_s for s in route.steps) == pytest.approx(route.duration_s)
    assert "Storgatan for" in route.describe() and ", then E4 for" in route.describe()


def test_geometry_follows_shape_points_and_off_road_legs() -> None:
    tt = TravelTimes(norrbotten_mini(), winter=False)
    a = tt.snap(65.63, 22.06)  # beside the bend of 97 south of Sunderbyn
    b = tt.snap(66.31, 20.49)  # beside the shape point before Jokkmokk
    route = tt.route(a, b)
    assert route.geometry[0] == (a.lat, a.lon)
    assert route.geometry[1] == pytest.approx((a.road_lat, a.road_lon))
    assert route.geometry[-1] == (b.lat, b.lon)
    assert any(p == pytest.approx((66.3, 20.5)) for p in route.geometry)
    assert any(p == pytest.approx((66.0, 21.2)) for p in route.geometry)
    assert route.steps[0].distance_m == pytest.approx(a.offroad_m)
    assert route.steps[-1].distance_m == pytest.approx(b.offroad_m)
    # the drawn line is about as long as the distance driven
    line = sum(
        float(haversine_m(p[0], p[1], q[0], q[1]))
        for p, q in zip(route.geometry, route.geometry[1:], strict=False)
    )
    assert line == pytest.approx(route.distance_m, rel=0.01)


def test_same_point_gives_an_empty_route() -> None:
    tt = TravelTimes(norrbotten_mini())
    p = tt.snap(65.63, 22.06)
    route = tt.route(p, p)
    assert route.duration_s == 0.0 and route.distance_m == 0.0 and route.edges == ()


def test_two_points_on_one_road_drive_straight_between_them() -> None:
    tt = TravelTimes(norrbotten_mini(), winter=False)
    a, b = tt.snap(66.0, 21.21), tt.snap(66.31, 20.5)
    there, back = tt.route(a, b), tt.route(b, a)
    assert len(there.edges) == 1 and len(back.edges) == 1 and there.edges != back.edges
    assert there.duration_s == pytest.approx(tt.eta(a, b).duration_s)


def test_road_labels_and_formatting() -> None:
    graph = norrbotten_mini()
    labels = {road_label(graph, e) for e in range(graph.n_edges)}
    assert labels == {"väg 97", "E4", "väg 373", "Storgatan"}
    assert format_distance(34_200) == "34 km"
    assert format_distance(3_420) == "3.4 km"
    assert format_distance(447) == "450 m"
    assert format_duration(20) == "under 1 min"
    assert format_duration(12 * 60) == "12 min"
    assert format_duration(3900) == "1 h 05 min"


def test_steps_describe_themselves_and_reject_negative_values() -> None:
    step = Step(StepKind.ROAD, "E4", 34_000, 1500, 65.5, 22.1)
    assert step.describe() == "E4 for 34 km (25 min)"
    assert Step(StepKind.ROAD, "", 500, 60, 65.5, 22.1).describe().startswith("unnamed road")
    assert Step(StepKind.DEPART, "", 120, 29, 65.5, 22.1).describe() == (
        "Start: 120 m off-road to the road"
    )
    with pytest.raises(RoutingError):
        Step(StepKind.ROAD, "E4", -1, 0, 65.5, 22.1)
