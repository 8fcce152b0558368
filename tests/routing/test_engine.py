"""TravelTimes: ETAs, matrices and routes between snapped points, for every situation."""

from __future__ import annotations

import math
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from maps.bundled import load_bundled
from maps.graph import RoadClass, RoadGraph
from maps.synthetic import rural_graph
from maps.traveltime import TravelTimeModel
from routing.engine import SMALL_GRAPH_NODES, EtaResult, TravelTimes
from routing.errors import NoRoute, RoutingError, SnapError
from routing.snap import SnappedPoint, Snapper

# shared test helpers live beside the tests (pytest runs with --import-mode=importlib)
sys.path.insert(0, str(Path(__file__).parent))
from _routing_graphs import (
    norrbotten_mini,
    points_on,
    random_graphs,
    reference_dijkstra,
    with_points,
)

ALGORITHMS = ("dijkstra", "ch")
OFFROAD_MS = 15.0 / 3.6


def _close(a: float, b: float) -> bool:
    return (math.isinf(a) and math.isinf(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def _expected(graph: RoadGraph, points: list[SnappedPoint]) -> list[list[float]]:
    """Reference times between points: the points inserted as nodes, plain Dijkstra, off-road."""
    n, arcs = with_points(graph, graph.edge_time_s.astype(np.float64), points)
    k = graph.n_nodes
    out = []
    for i, p in enumerate(points):
        dist = reference_dijkstra(n, arcs, k + i)
        row = []
        for j, q in enumerate(points):
            if p == q:
                row.append(0.0)
            else:
                row.append(dist[k + j] + (p.offroad_m + q.offroad_m) / OFFROAD_MS)
        out.append(row)
    return out


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_etas_and_matrix_match_reference_dijkstra(algorithm: str, data: st.DataObject) -> None:
    graph = data.draw(random_graphs())
    points = data.draw(points_on(graph))
    tt = TravelTimes(graph, algorithm=algorithm)  # type: ignore[arg-type]
    want = _expected(graph, points)
    mat = tt.matrix(points)
    for i in range(len(points)):
        for j in range(len(points)):
            assert _close(float(mat.durations_s[i, j]), want[i][j]), (i, j)
    from_first = tt.etas_from(points[0], points)
    for i in range(len(points)):
        assert _close(from_first[i].duration_s, want[0][i])
    # the same units again and again (remembered, then searched once more, then cached),
    # to every point in turn
    for _ in range(3):
        for j in range(len(points)):
            to_j = tt.etas_to(points[j], points)
            for i in range(len(points)):
                assert _close(to_j[i].duration_s, want[i][j]), (i, j)
                assert to_j[i].reachable == math.isfinite(want[i][j])


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_small_queries_in_plain_floats_give_the_array_path_s_numbers_to_the_last_bit(
    data: st.DataObject,
) -> None:
    """A query of a few sources or targets on plain Dijkstra runs in plain floats
    (``_few_etas``); its times and distances are exactly those of the array path (the same
    seeds, sums in the same order, the same best seed pair, shortcuts and off-road legs)."""
    graph = data.draw(random_graphs())
    points = data.draw(points_on(graph))
    few, arrays = TravelTimes(graph, algorithm="dijkstra"), TravelTimes(graph, algorithm="dijkstra")
    arrays_etas_to, arrays_etas_from = arrays.etas_to, arrays.etas_from
    import routing.engine as engine

    def exact(a: list[EtaResult], b: list[EtaResult]) -> None:
        assert [(r.duration_s, r.distance_m) for r in a] == [
            (r.duration_s, r.distance_m) for r in b]

    for j in range(len(points)):
        got_to, got_from = few.etas_to(points[j], points), few.etas_from(points[j], points)
        old = engine.FEW
        engine.FEW = -1  # the array path
        try:
            want_to, want_from = arrays_etas_to(points[j], points), arrays_etas_from(
                points[j], points)
        finally:
            engine.FEW = old
        exact(got_to, want_to)
        exact(got_from, want_from)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_route_s_seeds_of_one_point_are_those_of_the_array_path(data: st.DataObject) -> None:
    """``_seed_set`` (one point, plain floats) gives the very seeds ``_seeds`` gives it."""
    from routing.engine import _columns

    graph = data.draw(random_graphs())
    tt = TravelTimes(graph, algorithm="dijkstra")
    for p in data.draw(points_on(graph)):
        src, tgt = tt._seeds(_columns([p]), _columns([p]))
        for want, got in ((src, tt._seed_set(p, True)), (tgt, tt._seed_set(p, False))):
            for name in ("offsets", "nodes", "times", "lengths"):
                a, b = getattr(want, name), getattr(got, name)
                assert a.dtype == b.dtype and a.tolist() == b.tolist(), name


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_triangle_inequality(algorithm: str, data: st.DataObject) -> None:
    graph = data.draw(random_graphs())
    points = data.draw(points_on(graph, max_points=5))
    d = TravelTimes(graph, algorithm=algorithm).matrix(points).durations_s  # type: ignore[arg-type]
    k = len(points)
    for a in range(k):
        assert d[a, a] == 0.0
        for b in range(k):
            for c in range(k):
                assert d[a, c] <= d[a, b] + d[b, c] + 1e-6


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_route_agrees_with_eta_and_drives_connected_edges(
    algorithm: str, data: st.DataObject
) -> None:
    graph = data.draw(random_graphs())
    a = data.draw(points_on(graph, max_points=1))[0]
    b = data.draw(points_on(graph, max_points=1))[0]
    tt = TravelTimes(graph, algorithm=algorithm)  # type: ignore[arg-type]
    eta = tt.eta(a, b)
    if not eta.reachable:
        with pytest.raises(NoRoute):
            tt.route(a, b)
        with pytest.raises(NoRoute):
            tt.geometry(a, b)
        return
    route = tt.route(a, b)
    assert _close(route.duration_s, eta.duration_s)
    assert tt.geometry(a, b) == route.geometry  # the line alone, point for point
    # (equally fast alternatives may differ in length, so distances are checked elsewhere)
    assert route.geometry[0] == (a.lat, a.lon) and route.geometry[-1] == (b.lat, b.lon)
    src = graph.edge_source
    for e, f in zip(route.edges, route.edges[1:], strict=False):
        assert int(graph.edge_target[e]) == int(src[f])
    total = sum(s.duration_s for s in route.steps)
    assert _close(total, route.duration_s)


def _random_points(tt: TravelTimes, k: int, seed: int) -> list[SnappedPoint]:
    rng = np.random.default_rng(seed)
    lat0, lon0, lat1, lon1 = tt.graph.bounds()
    out: list[SnappedPoint] = []
    while len(out) < k:
        try:
            out.append(tt.snap(float(rng.uniform(lat0, lat1)), float(rng.uniform(lon0, lon1))))
        except SnapError:
            continue
    return out


def test_both_algorithms_agree_on_times_and_distances_on_a_rural_graph() -> None:
    graph = rural_graph(2000, seed=11)
    fast = TravelTimes(graph, algorithm="ch")
    plain = TravelTimes(graph, algorithm="dijkstra")
    pts = _random_points(plain, 25, seed=3)
    a, b = fast.matrix(pts), plain.matrix(pts)
    assert np.allclose(a.durations_s, b.durations_s, rtol=1e-9)
    assert np.allclose(a.distances_m, b.distances_m, rtol=1e-6)
    etas = fast.etas_to(pts[0], pts[1:])
    assert [e.duration_s for e in etas] == pytest.approx(list(b.durations_s[1:, 0]))
    for i in (1, 7):
        ra, rb = fast.route(pts[i], pts[0]), plain.route(pts[i], pts[0])
        assert ra.duration_s == pytest.approx(rb.duration_s)
        assert ra.distance_m == pytest.approx(a.distances_m[i, 0])


def test_winter_and_emergency_scale_every_road_and_share_one_hierarchy() -> None:
    graph = rural_graph(1000, seed=1)
    model = TravelTimeModel()
    summer = TravelTimes(graph, model, winter=False, algorithm="ch")
    pts = _random_points(summer, 6, seed=2)
    base = summer.matrix(pts).durations_s
    winter = summer.situation(winter=True).matrix(pts).durations_s
    blue = summer.situation(winter=True, emergency=True).matrix(pts).durations_s
    drive_base = base - _offroad(pts)
    assert np.allclose(winter - _offroad(pts), drive_base / model.winter_factor)
    assert np.allclose(blue - _offroad(pts),
                       drive_base / (model.winter_factor * model.emergency_factor))
    assert len(summer._shared.hierarchies) == 1


def _offroad(pts: list[SnappedPoint]) -> np.ndarray:
    off = np.array([p.offroad_m for p in pts]) / OFFROAD_MS
    m = off[:, None] + off[None, :]
    np.fill_diagonal(m, 0.0)
    return m


def test_rush_hour_slows_town_streets_but_not_the_trunk_road() -> None:
    graph = norrbotten_mini()
    tt = TravelTimes(graph, winter=False)
    rush = tt.situation(at=datetime(2026, 6, 15, 8, 0), winter=False)  # a Monday
    night = tt.situation(at=datetime(2026, 6, 15, 23, 0), winter=False)
    lulea, pitea, hamn = tt.at_node(0), tt.at_node(3), tt.at_node(5)
    assert rush.eta(lulea, pitea).duration_s == pytest.approx(night.eta(lulea, pitea).duration_s)
    assert rush.eta(lulea, hamn).duration_s == pytest.approx(
        night.eta(lulea, hamn).duration_s / TravelTimeModel().peak_factor
    )
    # the month of `at` picks the season when none is given
    january = tt.situation(at=datetime(2026, 1, 14, 23, 0))
    assert january.winter and january.eta(lulea, pitea).duration_s > night.eta(
        lulea, pitea
    ).duration_s


def test_rush_hour_gets_its_own_hierarchy_with_exact_times() -> None:
    graph = rural_graph(800, seed=9)
    tt = TravelTimes(graph, algorithm="ch")
    rush = tt.situation(at=datetime(2026, 6, 15, 8, 0))
    plain = TravelTimes(graph, at=datetime(2026, 6, 15, 8, 0), algorithm="dijkstra")
    pts = _random_points(plain, 8, seed=4)
    assert np.allclose(rush.matrix(pts).durations_s, plain.matrix(pts).durations_s)
    assert len(tt._shared.hierarchies) == 1  # only rush hour was asked for
    tt.prepare()
    assert len(tt._shared.hierarchies) == 2


def test_auto_uses_dijkstra_on_small_graphs_and_the_hierarchy_on_large() -> None:
    small = TravelTimes(norrbotten_mini())
    assert not small.uses_hierarchy
    assert SMALL_GRAPH_NODES < 100_000


def test_tuples_are_snapped_and_far_ones_refused() -> None:
    graph = norrbotten_mini()
    tt = TravelTimes(graph, max_snap_m=2000)
    eta = tt.eta((65.5848, 22.1547), (66.6066, 19.8232))  # exactly at nodes 0 (Luleå), 2
    # the same time by a plain SciPy Dijkstra on the engine's edge times, node 0 to node 2
    weights = csr_matrix((np.asarray(tt.times, dtype=float),
                          (graph.edge_source, graph.edge_target)),
                         shape=(graph.n_nodes, graph.n_nodes))
    assert eta.duration_s == pytest.approx(float(dijkstra(weights, indices=0)[2]), rel=1e-6)
    assert 1.5 * 3600 < eta.duration_s < 2.5 * 3600  # Luleå–Jokkmokk is about two hours
    assert 150_000 < eta.distance_m < 160_000
    with pytest.raises(SnapError):
        tt.eta((67.5, 15.0), (66.6066, 19.8232))


def test_no_route_between_disconnected_roads() -> None:
    graph = RoadGraph.from_edges(
        node_lat=[65.0, 65.0, 65.1, 65.1], node_lon=[21.0, 21.1, 21.0, 21.1],
        source=[0, 1, 2, 3], target=[1, 0, 3, 2], length_m=[5000.0] * 4,
        speed_kmh=[70.0] * 4, road_class=[int(RoadClass.TERTIARY)] * 4,
    )
    for algorithm in ALGORITHMS:
        tt = TravelTimes(graph, algorithm=algorithm)  # type: ignore[arg-type]
        a, b = tt.at_node(0), tt.at_node(2)
        assert not tt.eta(a, b).reachable
        assert tt.matrix([a, b]).durations_s[0, 1] == math.inf
        with pytest.raises(NoRoute):
            tt.route(a, b)


def test_empty_queries_and_bad_options() -> None:
    tt = TravelTimes(norrbotten_mini())
    assert tt.etas_to(tt.at_node(0), []) == [] and tt.etas_from(tt.at_node(0), []) == []
    assert tt.matrix([]).durations_s.shape == (0, 0)
    with pytest.raises(RoutingError):
        TravelTimes(norrbotten_mini(), offroad_speed_kmh=0)
    with pytest.raises(RoutingError):
        TravelTimes(norrbotten_mini(), algorithm="astar")  # type: ignore[arg-type]
    with pytest.raises(RoutingError):
        EtaResult(-1.0, 0.0)
    with pytest.raises(SnapError):
        tt.eta(SnappedPoint(65, 21, 999, 0.5, 65, 21), tt.at_node(0))


def test_snapping_the_same_coordinate_again_gives_the_same_point() -> None:
    """Repeated snaps (units that have not moved) come from the cache and equal a fresh snap."""
    graph = load_bundled()
    tt = TravelTimes(graph)
    first = tt.snap(65.58, 22.15)
    assert tt.snap(65.58, 22.15) is first
    assert first == Snapper(graph, max_snap_m=tt.max_snap_m).snap(65.58, 22.15)


def test_the_hierarchy_loads_and_answers_without_or_tools() -> None:
    """OR-Tools is needed for assignment and planning only: with it blocked, ``routing.engine``
    still imports and its compiled hierarchy answers like the in-process one, and assigning
    says what is missing."""
    import json
    import subprocess

    script = (
        "import json, sys\n"
        "sys.modules['ortools'] = None  # any import of OR-Tools now fails\n"
        "from maps.synthetic import rural_graph\n"
        "from routing.engine import TravelTimes\n"
        "tt = TravelTimes(rural_graph(300, seed=3), algorithm='ch')\n"
        "pts = [tt.at_node(v) for v in (0, 40, 120, 299)]\n"
        "print(json.dumps([e.duration_s for e in tt.etas_to(pts[0], pts[1:])]))\n"
        "from routing import AssignmentProblem, AssignUnit, Callout, assign\n"
        "from routing.errors import SolverUnavailable\n"
        "problem = AssignmentProblem(units=(AssignUnit('u', 0, 900),),\n"
        "    callouts=(Callout('c', 1, 60),), travel_s=[[5]], now_s=0)\n"
        "try:\n"
        "    assign(problem)\n"
        "except SolverUnavailable as exc:\n"
        "    print(json.dumps(str(exc)))\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    tt = TravelTimes(rural_graph(300, seed=3), algorithm="dijkstra")
    pts = [tt.at_node(v) for v in (0, 40, 120, 299)]
    want = [e.duration_s for e in tt.etas_to(pts[0], pts[1:])]
    lines = done.stdout.splitlines()
    assert "OR-Tools" in json.loads(lines[1])
    got = json.loads(lines[0])
    assert all(_close(a, b) for a, b in zip(got, want, strict=True))


def test_fallback_answers_with_plain_search_until_the_situation_is_prepared() -> None:
    """A ``fallback`` view never builds a hierarchy on a query: it answers by plain Dijkstra
    (the same times) until :meth:`prepare` built it; ``situations`` covers rush hour too."""
    graph = rural_graph(3000, seed=7)
    noon = datetime(2026, 1, 14, 12, 0, tzinfo=UTC)  # a Wednesday, off-peak
    tt = TravelTimes(graph, at=noon, fallback=True)
    assert tt.uses_hierarchy and not tt.ready
    a, b = graph.places[0], graph.places[-1]
    before = tt.eta((a.lat, a.lon), (b.lat, b.lon))
    assert not tt.ready and not tt._shared.hierarchies  # answered without building
    tt.prepare()
    assert tt.ready and len(tt._shared.hierarchies) == 1
    again = tt.situation(at=noon)
    after = again.eta((a.lat, a.lon), (b.lat, b.lon))
    assert after.duration_s == pytest.approx(before.duration_s, rel=1e-9)
    views = tt.situations(around=noon)
    assert all(v.at is not None for v in views)
    assert {tt.model.is_peak(v.at) for v in views} == {False, True}
    assert {(v.winter, v.emergency) for v in views} == {(w, e) for w in (False, True)
                                                        for e in (False, True)}
    rush = next(v for v in views if tt.model.is_peak(v.at) and not v.winter)
    assert not rush.ready  # rush hour has a metric of its own
    for view in views:
        view.prepare()
    assert all(v.ready for v in views) and len(tt._shared.hierarchies) == 2


def test_the_snap_index_is_built_on_first_use_or_when_warmed_and_shared() -> None:
    """Making an engine is cheap (a service opens its port before the index exists); the
    index is built once, by ``warm`` or the first snap, for every situation of the graph,
    and only then does the engine count as ready."""
    graph = load_bundled()
    tt = TravelTimes(graph, at=datetime(2026, 1, 15, 12, tzinfo=UTC), fallback=True)
    rush = tt.situation(at=datetime(2026, 1, 15, 7, tzinfo=UTC))  # 08:00 in Sweden
    assert not tt.snap_ready and not rush.snap_ready and not tt.ready
    assert tt.max_snap_m > 0  # known without the index
    rush.warm()
    assert tt.snap_ready and tt.ready  # the bundled map runs plain Dijkstra: nothing more
    assert tt.snap(65.58, 22.15) == Snapper(graph, max_snap_m=tt.max_snap_m).snap(65.58, 22.15)
    lazy = TravelTimes(graph)
    assert lazy.snap(65.58, 22.15) == tt.snap(65.58, 22.15) and lazy.snap_ready
    with pytest.raises(SnapError, match="max_snap_m"):
        TravelTimes(graph, max_snap_m=0)  # still refused at once


def test_the_solver_half_of_routing_loads_on_first_use() -> None:
    """``import routing.engine`` brings neither OR-Tools nor numba; ``routing.assign`` and
    ``routing.plan`` are the functions, also after their submodules were imported."""
    import json
    import subprocess

    script = (
        "import json, sys\n"
        "import routing.engine, routing\n"
        "before = [m for m in ('ortools', 'numba', 'routing._lns') if m in sys.modules]\n"
        "import routing.assign, routing.plan\n"
        "from routing import assign, plan, LnsOptions\n"
        "print(json.dumps([before, callable(routing.assign), routing.assign is assign,\n"
        "    routing.plan is plan, assign.__module__, plan.__module__,\n"
        "    LnsOptions.__name__, 'ortools' in sys.modules]))\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [[], True, True, True, "routing.assign", "routing.plan",
                                       "LnsOptions", True]
