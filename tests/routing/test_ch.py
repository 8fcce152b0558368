"""The contraction hierarchy: cached many-to-one queries agree with a textbook Dijkstra, times
scale without rebuilding, and the renumbering orders the arcs. (The Dijkstra checks it shares
with plain Dijkstra are parametrized over both backends in test_paths.py.)"""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import routing.ch as ch_module
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


def _seed_runs(data: st.DataObject, n: int, pool: list[int]) -> SeedSet:
    """Points with one or two seeds drawn from a few nodes and head starts, so they repeat."""
    draw = data.draw
    runs = []
    for _ in range(draw(st.integers(1, 6))):
        m = draw(st.integers(1, 2))
        runs.append([(draw(st.sampled_from(pool)), draw(st.sampled_from([0.0, 2.5, 40.0])), 7.0)
                     for _ in range(m)])
    return SeedSet.of(runs)


@pytest.mark.parametrize("tiny_cache", [False, True])
@settings(max_examples=40, deadline=None)
@given(graph=random_graphs(), data=st.data())
def test_many_to_one_with_units_that_stay_or_move_matches_reference(
    tiny_cache: bool, graph: RoadGraph, data: st.DataObject
) -> None:
    """A run of alarms where some units stay put (cache hits: first seen, then kept labels) and
    others move (swept afresh) answers like a plain Dijkstra every time, also when the cache
    is so small that it empties itself all the time."""
    times = graph.edge_time_s.astype(np.float64)
    arcs = graph_arcs(graph, times)
    n = graph.n_nodes
    pool = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4, unique=True))
    with pytest.MonkeyPatch.context() as mp:
        if tiny_cache:
            mp.setattr(ch_module, "CACHE_SLOTS", 4)
            mp.setattr(ch_module, "CACHE_LABELS", 3)
        paths = ContractionHierarchy(graph, times).paths()
    for _ in range(4):
        sources = _seed_runs(data, n, pool)
        target = data.draw(st.integers(0, n - 1))
        got_t, _ = paths.many_to_one(sources, _seeds([target]))
        plain_t, _ = paths.many_to_one_uncached(sources, _seeds([target]))
        for i in range(len(sources)):
            run = sources.run(i)
            want = min(float(t) + reference_dijkstra(n, arcs, int(v))[target]
                       for v, t in zip(sources.nodes[run], sources.times[run], strict=True))
            assert _close(float(got_t[i]), want)
            assert _close(float(plain_t[i]), want)


def test_a_unit_that_stays_is_searched_twice_then_read_from_the_cache() -> None:
    from maps.synthetic import rural_graph

    graph = rural_graph(3000, seed=4)
    times = graph.edge_time_s.astype(np.float64)
    ch = ContractionHierarchy(graph, times)
    paths = ch.paths()
    units = SeedSet.of([[(v, 3.0, 20.0), (v + 1, 9.0, 80.0)] for v in range(0, 2000, 97)])
    answers = []
    for target in (5, 1500, 2999, 42):
        answers.append(paths.many_to_one(units, _seeds([target])))
        want_t, want_l = paths.many_to_one_uncached(units, _seeds([target]))
        assert np.allclose(answers[-1][0], want_t, rtol=1e-12)
        assert np.allclose(answers[-1][1], want_l, rtol=1e-9)
    info = ch.cache_info()
    # first alarm: swept and remembered; second: labels kept; third and fourth: read
    assert info.entries == len(units) and info.hits == 2 * len(units)
    assert info.labels > 0 and info.emptied == 0
    moved = SeedSet.of([[(v, 3.0, 20.0)] for v in range(1, 2000, 89)])
    got = paths.many_to_one(moved, _seeds([5]))
    assert np.allclose(got[0], paths.many_to_one_uncached(moved, _seeds([5]))[0], rtol=1e-12)
    assert ch.cache_info().hits == info.hits


@settings(max_examples=30, deadline=None)
@given(graph=random_graphs())
def test_every_arc_leads_up_to_a_lower_id(graph: RoadGraph) -> None:
    """The renumbering is a topological order of the upward arcs, which the one-pass sweep of
    many-to-one queries and the unpacking of shortcuts rely on."""
    ch = ContractionHierarchy(graph, graph.edge_time_s.astype(np.float64))
    n = graph.n_nodes
    for g in (ch._h.up, ch._h.down):
        owner = np.repeat(np.arange(n), np.diff(g.off))
        assert np.all(g.to < owner)
    assert sorted(ch._new.tolist()) == list(range(n))
    assert np.array_equal(ch._old[ch._new], np.arange(n))
