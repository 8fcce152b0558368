"""Every path backend (plain Dijkstra and the contraction hierarchy) agrees with a textbook
Dijkstra on seed sets; plain Dijkstra keeps its trees bounded."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maps.graph import RoadGraph
from routing.ch import ContractionHierarchy
from routing.paths import DijkstraPaths, PathBackend, PathResult, SeedSet

# shared test helpers live beside the tests (pytest runs with --import-mode=importlib)
sys.path.insert(0, str(Path(__file__).parent))
from _routing_graphs import graph_arcs, norrbotten_mini, random_graphs, reference_dijkstra


def _close(a: float, b: float) -> bool:
    return (math.isinf(a) and math.isinf(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def _seeds(nodes: list[int]) -> SeedSet:
    return SeedSet.of([[(v, 0.0, 0.0)] for v in nodes])


def assert_same_path(got: PathResult | None, want: PathResult | None) -> None:
    """The same path: time, length, seeds and edges, or None alike."""
    if want is None:
        assert got is None
        return
    assert got is not None
    assert (got.time_s, got.length_m, got.source_seed, got.target_seed) == (
        want.time_s, want.length_m, want.source_seed, want.target_seed)
    assert got.edges.tolist() == want.edges.tolist()


def _hierarchy(graph: RoadGraph, times: npt.NDArray[np.float64]) -> PathBackend:
    return ContractionHierarchy(graph, times).paths()


#: Each :class:`PathBackend`, made from a graph and its edge times.
BACKENDS = pytest.mark.parametrize(
    "make", [DijkstraPaths, _hierarchy], ids=["dijkstra", "ch"]
)
Make = Callable[[RoadGraph, npt.NDArray[np.float64]], PathBackend]


@BACKENDS
@settings(max_examples=80, deadline=None)
@given(graph=random_graphs(), data=st.data())
def test_node_to_node_times_match_reference(
    make: Make, graph: RoadGraph, data: st.DataObject
) -> None:
    times = graph.edge_time_s.astype(np.float64)
    arcs = graph_arcs(graph, times)
    n = graph.n_nodes
    nodes = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=5))
    target = data.draw(st.integers(0, n - 1))
    paths = make(graph, times)
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


@BACKENDS
@settings(max_examples=60, deadline=None)
@given(graph=random_graphs(), data=st.data())
def test_path_edges_connect_the_seeds_and_sum_to_the_time(
    make: Make, graph: RoadGraph, data: st.DataObject
) -> None:
    times = graph.edge_time_s.astype(np.float64)
    n = graph.n_nodes
    a, b = data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, n - 1))
    found = make(graph, times).path(_seeds([a]), _seeds([b]))
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


@settings(max_examples=80, deadline=None)
@given(graph=random_graphs(), data=st.data())
def test_a_path_between_few_seeds_is_the_one_the_arrays_pick(graph: RoadGraph,
                                                             data: st.DataObject) -> None:
    """With few seed pairs the best pair is found in plain floats: the same pair (the first
    best, as argmin's), time, length and edges as the array computation, or None alike."""
    times = graph.edge_time_s.astype(np.float64)
    n = graph.n_nodes
    seed = st.tuples(st.integers(0, n - 1), st.sampled_from([0.0, 0.5, 3.0, 12.25]),
                     st.sampled_from([0.0, 7.5, 40.0]))
    source = SeedSet.of([data.draw(st.lists(seed, min_size=1, max_size=3))])
    target = SeedSet.of([data.draw(st.lists(seed, min_size=1, max_size=3))])
    paths = DijkstraPaths(graph, times)
    few = paths.path(source, target)
    arrays = paths._path_arrays(source, target)
    assert_same_path(few, arrays)
    assert few is None or (type(few.source_seed) is int and type(few.time_s) is float)


def test_seed_set_packs_runs_per_point() -> None:
    s = SeedSet.of([[(1, 2.0, 3.0), (4, 5.0, 6.0)], [(7, 0.0, 0.0)]])
    assert len(s) == 2
    assert list(s.nodes[s.run(0)]) == [1, 4] and list(s.nodes[s.run(1)]) == [7]


@settings(max_examples=40, deadline=None)
@given(graph=random_graphs(), data=st.data())
def test_cached_trees_give_the_same_answers_and_stay_bounded(
    graph: RoadGraph, data: st.DataObject
) -> None:
    """Trees kept per node answer repeated and new queries like fresh searches, and the store
    empties itself instead of growing past ``max_rows``."""
    times = graph.edge_time_s.astype(np.float64)
    arcs = graph_arcs(graph, times)
    n = graph.n_nodes
    paths = DijkstraPaths(graph, times)
    paths.max_rows = 3
    for _ in range(5):
        nodes = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=3))
        target = data.draw(st.integers(0, n - 1))
        got, _ = paths.many_to_one(_seeds(nodes), _seeds([target]))
        for s, t in zip(nodes, got, strict=True):
            assert _close(float(t), reference_dijkstra(n, arcs, s)[target])
        assert all(len(rows) <= 3 for rows in paths._rows.values())


@settings(max_examples=25, deadline=None)
@given(graph=random_graphs(), data=st.data())
def test_dijkstra_paths_from_nodes_searched_before_are_the_paths_a_fresh_search_finds(
    graph: RoadGraph, data: st.DataObject
) -> None:
    """``DijkstraPaths`` keeps the searches ``path`` walks back per node (dropping them all
    when more than ``max_rows`` are kept): a path asked again, or from a node searched for
    another path, is exactly the path a backend that never searched before finds."""
    times = graph.edge_time_s.astype(np.float64)
    n = graph.n_nodes
    kept = DijkstraPaths(graph, times)
    kept.max_rows = 3  # small enough to be emptied along the way
    asks = data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                              min_size=1, max_size=12))
    for a, b in asks + asks:
        again = kept.path(_seeds([a]), _seeds([b]))
        assert_same_path(again, DijkstraPaths(graph, times).path(_seeds([a]), _seeds([b])))
    assert len(kept._walks) <= kept.max_rows


@pytest.mark.parametrize("walk", [False, True], ids=["trees", "walks"])
def test_a_query_that_fills_the_kept_searches_still_gets_the_nodes_it_had(walk: bool) -> None:
    """When a query's new nodes overflow the kept searches (``max_rows``) and the store is
    emptied, the nodes of the same query that were kept before are searched again with the new
    ones (they used to be dropped with the store, a KeyError mid-query)."""
    graph = norrbotten_mini()
    times = graph.edge_time_s.astype(np.float64)
    kept, fresh = DijkstraPaths(graph, times), DijkstraPaths(graph, times)
    kept.max_rows = 2
    if walk:
        kept.path(_seeds([0]), _seeds([1]))  # node 0's search kept
        got = kept.path(_seeds([0, 2, 3]), _seeds([1]))
        want = fresh.path(_seeds([0, 2, 3]), _seeds([1]))
        assert got is not None and want is not None
        assert (got.time_s, got.length_m, got.source_seed) == (
            want.time_s, want.length_m, want.source_seed)
    else:
        kept.many_to_many(_seeds([0]), _seeds([1]))  # node 0's tree kept
        got_t, got_l = kept.many_to_many(_seeds([0, 2, 3]), _seeds([1, 5]))
        want_t, want_l = fresh.many_to_many(_seeds([0, 2, 3]), _seeds([1, 5]))
        assert got_t.tolist() == want_t.tolist() and got_l.tolist() == want_l.tolist()
