"""The contraction hierarchy agrees with a textbook Dijkstra, and scales without rebuilding."""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from maps.graph import RoadGraph
from routing.ch import ContractionHierarchy
from routing.paths import SeedSet

# shared test helpers live beside the tests (pytest runs with --import-mode=importlib)
sys.path.insert(0, str(Path(__file__).parent))
from _routing_graphs import graph_arcs, random_graphs, reference_dijkstra


def _close(a: float, b: float) -> bool:
    return (math.isinf(a) and math.isinf(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def _seeds(nodes: list[int]) -> SeedSet:
    return SeedSet.of([[(v, 0.0, 0.0)] for v in nodes])


@settings(max_examples=80, deadline=None)
@given(graph=random_graphs(), data=st.data())
def test_node_to_node_times_match_reference(graph: RoadGraph, data: st.DataObject) -> None:
    times = graph.edge_time_s.astype(np.float64)
    arcs = graph_arcs(graph, times)
    n = graph.n_nodes
    nodes = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=5))
    target = data.draw(st.integers(0, n - 1))
    paths = ContractionHierarchy(graph, times).paths()
    got, _ = paths.many_to_one(_seeds(nodes), _seeds([target]))
    for s, t in zip(nodes, got, strict=True):
        assert _close(float(t), reference_dijkstra(n, arcs, s)[target])
    got, _ = paths.one_to_many(_seeds([target]), _seeds(nodes))
    ref = reference_dijkstra(n, arcs, target)
    for v, t in zip(nodes, got, strict=True):
        assert _close(float(t), ref[v])
    mat, _ = paths.many_to_many(_seeds(nodes), _seeds(nodes))
    for i, s in enumerate(nodes):
        ref = reference_dijkstra(n, arcs, s)
        for j, v in enumerate(nodes):
            assert _close(float(mat[i, j]), ref[v])


@settings(max_examples=60, deadline=None)
@given(graph=random_graphs(), data=st.data())
def test_path_edges_connect_the_seeds_and_sum_to_the_time(
    graph: RoadGraph, data: st.DataObject
) -> None:
    times = graph.edge_time_s.astype(np.float64)
    n = graph.n_nodes
    a, b = data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, n - 1))
    found = ContractionHierarchy(graph, times).paths().path(_seeds([a]), _seeds([b]))
    ref = reference_dijkstra(n, graph_arcs(graph, times), a)[b]
    if math.isinf(ref):
        assert found is None
        return
    assert found is not None
    assert _close(found.time_s, ref)
    assert _close(float(times[found.edges].sum()), ref)
    src = graph.edge_source
    walk = [a] + [int(graph.edge_target[e]) for e in found.edges]
    assert walk[-1] == b
    assert all(int(src[e]) == walk[i] for i, e in enumerate(found.edges))
    assert _close(found.length_m, float(graph.edge_length_m[found.edges].astype(float).sum()))


def test_scaled_queries_multiply_times_but_not_lengths() -> None:
    from maps.synthetic import rural_graph

    graph = rural_graph(400, seed=2)
    times = graph.edge_time_s.astype(np.float64)
    ch = ContractionHierarchy(graph, times)
    one, two = ch.paths(), ch.paths(2.0)
    s, t = _seeds([0, 5, 9]), _seeds([300])
    t1, l1 = one.many_to_one(s, t)
    t2, l2 = two.many_to_one(s, t)
    assert np.allclose(t2, 2 * t1) and np.allclose(l1, l2)
    assert ch.stats.nodes == 400 and ch.stats.upward_arcs > 0 and ch.stats.memory_bytes > 0


def test_lengths_follow_the_fastest_path() -> None:
    import networkx as nx

    from maps.synthetic import rural_graph

    graph = rural_graph(500, seed=5)
    times = graph.edge_time_s.astype(np.float64)
    g = nx.DiGraph()
    for e, u, v in graph.iter_edges():
        g.add_edge(u, v, t=float(times[e]), m=float(graph.edge_length_m[e]))
    paths = ContractionHierarchy(graph, times).paths()
    mat_t, mat_l = paths.many_to_many(_seeds([0, 17, 250]), _seeds([3, 100, 499]))
    for i, a in enumerate([0, 17, 250]):
        for j, b in enumerate([3, 100, 499]):
            route = nx.shortest_path(g, a, b, weight="t")
            metres = sum(g[x][y]["m"] for x, y in itertools.pairwise(route))
            assert math.isclose(float(mat_t[i, j]), nx.shortest_path_length(g, a, b, weight="t"),
                                rel_tol=1e-9)
            assert math.isclose(float(mat_l[i, j]), metres, rel_tol=1e-6)
