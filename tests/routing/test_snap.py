"""Snapping coordinates onto the nearest point of any road, shape points included."""

from __future__ import annotations

import math

import numpy as np
import pytest

from maps.graph import EARTH_RADIUS_M, RoadClass, RoadGraph, haversine_m
from maps.synthetic import rural_graph
from routing.errors import SnapError
from routing.snap import SnappedPoint, Snapper, edge_twins


def _straight_road(*, two_way: bool = True) -> RoadGraph:
    """One 11 km road due east along 65°N with a bend point in the middle pulled north."""
    src, dst = ([0, 1], [1, 0]) if two_way else ([0], [1])
    geo = [(65.02, 21.1)]
    return RoadGraph.from_edges(
        node_lat=[65.0, 65.0], node_lon=[21.0, 21.2], source=src, target=dst,
        length_m=[11_000.0] * len(src), speed_kmh=[70.0] * len(src),
        road_class=[int(RoadClass.SECONDARY)] * len(src),
        geom_offsets=list(range(len(src) + 1)),
        geom_lat=[p[0] for p in geo] * len(src), geom_lon=[p[1] for p in geo] * len(src),
    )


def test_snaps_to_the_middle_of_a_long_edge_not_to_a_node() -> None:
    snapper = Snapper(_straight_road())
    # next to the bend point, 5 km from either node
    p = snapper.snap(65.021, 21.1)
    assert p.offroad_m == pytest.approx(111.2, abs=1.0)
    assert p.fraction == pytest.approx(0.5, abs=0.01)
    assert (p.road_lat, p.road_lon) == pytest.approx((65.02, 21.1), abs=1e-6)


def test_snaps_onto_a_segment_between_shape_points() -> None:
    snapper = Snapper(_straight_road())
    # a quarter along the first leg: the road point lies between node 0 and the bend
    p = snapper.snap(65.012, 21.05)
    assert p.fraction == pytest.approx(0.25, abs=0.02)
    assert p.offroad_m < 300


def test_two_way_roads_know_their_twin_and_one_way_roads_do_not() -> None:
    assert list(edge_twins(_straight_road())) == [1, 0]
    assert list(edge_twins(_straight_road(two_way=False))) == [-1]
    p = Snapper(_straight_road(two_way=False)).snap(65.0, 21.15)
    assert p.twin == -1 and p.edge == 0


def test_far_point_raises_snap_error_naming_coordinate_and_distance() -> None:
    snapper = Snapper(_straight_road(), max_snap_m=1000)
    with pytest.raises(SnapError) as info:
        snapper.snap(65.1, 21.1)  # about 9 km north of the road
    message = str(info.value)
    assert "65.100000, 21.100000" in message
    assert "8.9 km" in message and "limit 1.0 km" in message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("lat, lon", [(91.0, 21.0), (65.0, 181.0), (math.nan, 21.0)])
def test_invalid_coordinates_raise_snap_error(lat: float, lon: float) -> None:
    with pytest.raises(SnapError):
        Snapper(_straight_road()).snap(lat, lon)


def test_nonpositive_limit_is_rejected() -> None:
    with pytest.raises(SnapError):
        Snapper(_straight_road(), max_snap_m=0)


def test_snapped_point_validates_its_fields() -> None:
    with pytest.raises(SnapError):
        SnappedPoint(lat=65, lon=21, edge=0, fraction=1.5, road_lat=65, road_lon=21)
    with pytest.raises(SnapError):
        SnappedPoint(lat=65, lon=21, edge=-1, fraction=0.5, road_lat=65, road_lon=21)


def test_at_node_places_the_point_exactly_on_the_node() -> None:
    graph = _straight_road(two_way=False)
    snapper = Snapper(graph)
    start, end = snapper.at_node(0), snapper.at_node(1)
    assert (start.edge, start.fraction, start.offroad_m) == (0, 0.0, 0.0)
    assert (end.edge, end.fraction) == (0, 1.0)  # node 1 has no way out: arrive on edge 0
    with pytest.raises(SnapError):
        snapper.at_node(7)


def _brute_force_m(graph: RoadGraph, lat: float, lon: float) -> float:
    """Distance to the nearest segment over every segment of every edge."""
    ky = EARTH_RADIUS_M * math.pi / 180.0
    kx = ky * math.cos(math.radians(lat))
    best = math.inf
    for e in range(graph.n_edges):
        pts = np.array(graph.edge_geometry(e))
        ax, ay = (pts[:-1, 1] - lon) * kx, (pts[:-1, 0] - lat) * ky
        bx, by = (pts[1:, 1] - lon) * kx, (pts[1:, 0] - lat) * ky
        dx, dy = bx - ax, by - ay
        den = np.where(dx * dx + dy * dy > 0, dx * dx + dy * dy, 1.0)
        t = np.clip(-(ax * dx + ay * dy) / den, 0, 1)
        rlat = pts[:-1, 0] + t * (pts[1:, 0] - pts[:-1, 0])
        rlon = pts[:-1, 1] + t * (pts[1:, 1] - pts[:-1, 1])
        best = min(best, float(np.min(haversine_m(lat, lon, rlat, rlon))))
    return best


def test_index_finds_the_same_nearest_road_as_brute_force() -> None:
    graph = rural_graph(600, seed=4)
    snapper = Snapper(graph, max_snap_m=50_000)
    rng = np.random.default_rng(7)
    lat0, lon0, lat1, lon1 = graph.bounds()
    for _ in range(40):
        lat, lon = float(rng.uniform(lat0, lat1)), float(rng.uniform(lon0, lon1))
        p = snapper.snap(lat, lon)
        assert p.offroad_m == pytest.approx(_brute_force_m(graph, lat, lon), rel=1e-6, abs=1e-3)
        # the reported road point lies on the reported edge at the reported fraction
        along = snapper.geometry_along(p.edge, 0.0, p.fraction)[-1]
        assert float(haversine_m(along[0], along[1], p.road_lat, p.road_lon)) < 1.0


@pytest.mark.parametrize("limit_m", [150.0, 600.0, 2_000.0, 5_000.0])
def test_check_refuses_exactly_the_points_snap_refuses(limit_m: float) -> None:
    """``check`` (intake's cheap question: is a road within reach?) agrees with ``snap`` on
    points near, at and beyond the limit, invalid coordinates included."""
    graph = rural_graph(600, seed=4)
    snapper = Snapper(graph, max_snap_m=limit_m)
    rng = np.random.default_rng(11)
    lat0, lon0, lat1, lon1 = graph.bounds()
    outcomes = set()
    points = [(float(rng.uniform(lat0, lat1)), float(rng.uniform(lon0, lon1)))
              for _ in range(300)] + [(91.0, 21.0), (math.nan, 21.0)]
    for lat, lon in points:
        try:
            snapper.snap(lat, lon)
            expected: str | None = None
        except SnapError as exc:
            expected = str(exc)
        try:
            snapper.check(lat, lon)
            got: str | None = None
        except SnapError as exc:
            got = str(exc)
        assert got == expected
        outcomes.add(expected is None)
    assert outcomes == {True, False}


@pytest.mark.parametrize("limit_m", [150.0, 600.0, 5_000.0])
def test_checks_answered_by_the_grid_are_within_reach_of_a_road(limit_m: float) -> None:
    """A point whose grid cell ``check`` passes without asking the tree is surely within
    reach: ``snap`` finds a road under 0.99 of the limit, for points all around the roads out
    to 1.2 limits; and the grid answers most of the points well within reach."""
    graph = rural_graph(600, seed=5)
    snapper = Snapper(graph, max_snap_m=limit_m)
    rng = np.random.default_rng(12)
    nodes = rng.integers(0, graph.n_nodes, 3000)
    dist = rng.uniform(0.0, 1.2 * limit_m, len(nodes))
    bearing = rng.uniform(0.0, 2 * math.pi, len(nodes))
    lat = graph.node_lat[nodes] + dist * np.cos(bearing) / 111_195.0
    lon = graph.node_lon[nodes] + dist * np.sin(bearing) / (
        111_195.0 * np.cos(np.radians(graph.node_lat[nodes])))
    by_grid, near = 0, 0
    for a, b, d in zip(lat.tolist(), lon.tolist(), dist.tolist(), strict=True):
        if snapper.in_road_cell(a, b):
            by_grid += 1
            assert snapper.snap(a, b).offroad_m < 0.99 * limit_m, (a, b)
        near += d < 0.3 * limit_m
    assert by_grid > near


def test_one_point_snaps_to_the_nearest_of_all_segments_by_the_array_arithmetic() -> None:
    """A single point's snap (plain floats over its few candidate segments) lands exactly where
    the array projection over every segment of the map puts it: the nearest segment, ties to
    the lowest, the same floats to the last bit (graph nodes and shape points included)."""
    graph = rural_graph(300, seed=7)
    snapper = Snapper(graph, max_snap_m=50_000.0)
    every = np.arange(len(snapper._seg_len))
    rng = np.random.default_rng(8)
    lat0, lon0, lat1, lon1 = graph.bounds()
    points = [(float(rng.uniform(lat0, lat1)), float(rng.uniform(lon0, lon1)))
              for _ in range(150)]
    points += [(float(graph.node_lat[i]), float(graph.node_lon[i])) for i in range(0, 300, 7)]
    points += [(float(a), float(b)) for a, b in zip(graph.geom_lat[:20], graph.geom_lon[:20],
                                                     strict=True)]
    # on and beside the roads (a unit driving): the search without a nearest sample first
    for seg in rng.integers(0, len(every), 150).tolist():
        t, off = float(rng.uniform()), float(rng.choice([0.0, 1e-5, 3e-4, 2e-3]))
        lat0, lon0 = snapper._seg_lat0[seg], snapper._seg_lon0[seg]
        points.append((float(lat0 + t * (snapper._seg_lat1[seg] - lat0) + off),
                       float(lon0 + t * (snapper._seg_lon1[seg] - lon0) - off)))
    for lat, lon in points:
        kx = EARTH_RADIUS_M * math.pi / 180.0 * math.cos(math.radians(lat))
        t, d2 = snapper._project(every, lat, lon, kx)
        best = int(np.argmin(d2))
        want = snapper._on_segment(lat, lon, best, float(t[best]))
        got = snapper.snap(lat, lon)
        assert got == want
        assert type(got.edge) is int and type(got.road_lat) is float


@pytest.mark.parametrize("limit_m", [600.0, 50_000.0])
def test_snap_many_gives_what_snap_gives_point_by_point(limit_m: float) -> None:
    """Snapping many points at once (a simulated year's alarms) finds, for each, exactly the
    point ``snap`` finds, graph nodes and shape points (ties between segments) included; the
    first point ``snap`` refuses is refused with the same message."""
    graph = rural_graph(600, seed=4)
    snapper = Snapper(graph, max_snap_m=limit_m)
    rng = np.random.default_rng(5)
    lat0, lon0, lat1, lon1 = graph.bounds()
    points = [(float(rng.uniform(lat0, lat1)), float(rng.uniform(lon0, lon1)))
              for _ in range(400)]
    points += [(float(graph.node_lat[i]), float(graph.node_lon[i])) for i in range(0, 600, 9)]
    points += [(float(a), float(b)) for a, b in zip(graph.geom_lat[:30], graph.geom_lon[:30],
                                                     strict=True)]
    near, refused = [], []
    for p in points:
        try:
            near.append((p, snapper.snap(*p)))
        except SnapError as exc:
            refused.append((p, str(exc)))
    assert len(near) > 100
    assert snapper.snap_many([p for p, _ in near]) == [s for _, s in near]
    assert snapper.snap_many([]) == []
    if refused:  # the tighter limit leaves some points too far
        first, message = refused[0]
        with pytest.raises(SnapError) as exc_info:
            snapper.snap_many([near[0][0], first, *[p for p, _ in refused[1:]]])
        assert str(exc_info.value) == message
    assert limit_m > 1_000 or refused
    with pytest.raises(SnapError, match="latitude"):
        snapper.snap_many([near[0][0], (91.0, 21.0)])


def test_the_way_along_an_edge_is_numpys_interpolation_to_the_last_bit() -> None:
    """Points along an edge interpolate as ``np.interp`` does, exactly: between knots, on
    knots, on repeated knots (zero-length segments), before the start and past the end."""
    from routing.snap import _interp

    rng = np.random.default_rng(11)
    for _ in range(300):
        n = int(rng.integers(2, 9))
        steps = rng.uniform(0, 400, n - 1) * (rng.uniform(0, 1, n - 1) > 0.2)
        cum = np.concatenate([[0.0], np.cumsum(steps)])
        lat = rng.uniform(65, 67, n)
        lon = rng.uniform(20, 23, n)
        xs = [*rng.uniform(-10, cum[-1] + 10, 6).tolist(), *cum.tolist(), 0.0, float(cum[-1])]
        for x in xs:
            want = (float(np.interp(x, cum, lat)), float(np.interp(x, cum, lon)))
            assert _interp(lat.tolist(), lon.tolist(), cum.tolist(), x) == want


def test_a_run_of_whole_edges_is_their_points_without_repeating_a_shared_node() -> None:
    """``edges_line`` of a connected run of edges: each edge's tail and shape points, then the
    last edge's head (the graph's own coordinates)."""
    graph = rural_graph(300, seed=2)
    snapper = Snapper(graph)
    run, node = [], 0
    for _ in range(6):
        out = list(graph.out_edges(node))
        if not out:
            break
        edge = out[-1]
        run.append(edge)
        node = int(graph.edge_target[edge])
    assert len(run) >= 2
    want: list[tuple[float, float]] = []
    for edge in run:
        want.extend(graph.edge_geometry(edge)[:-1])
    want.append(graph.edge_geometry(run[-1])[-1])
    assert snapper.edges_line(run) == want
    assert snapper.edges_line([]) == []
