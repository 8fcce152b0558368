"""Small graphs and a reference Dijkstra shared by the travel-time tests."""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Sequence

import numpy as np
from hypothesis import strategies as st

from maps.graph import Place, RoadClass, RoadGraph, haversine_m
from routing.snap import SnappedPoint, edge_twins

Arc = tuple[int, int, float]


def reference_dijkstra(n: int, arcs: Sequence[Arc], source: int) -> list[float]:
    """Textbook Dijkstra with a binary heap: the oracle the fast code is checked against."""
    adj: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for u, v, w in arcs:
        adj[u].append((v, w))
    dist = [math.inf] * n
    dist[source] = 0.0
    heap = [(0.0, source)]
    while heap:
        d, u = heapq.heappop(heap)
        if d > dist[u]:
            continue
        for v, w in adj[u]:
            if d + w < dist[v]:
                dist[v] = d + w
                heapq.heappush(heap, (d + w, v))
    return dist


def graph_arcs(graph: RoadGraph, times: np.ndarray) -> list[Arc]:
    src = graph.edge_source
    return [(int(src[e]), int(graph.edge_target[e]), float(times[e])) for e in range(graph.n_edges)]


def with_points(
    graph: RoadGraph, times: np.ndarray, points: Sequence[SnappedPoint]
) -> tuple[int, list[Arc]]:
    """The graph with every snapped point inserted as a node (``n + i`` for point ``i``),
    splitting its road; returns the node count and arcs."""
    n = graph.n_nodes
    src = graph.edge_source
    arcs = [a for a in graph_arcs(graph, times)]
    # points per road, at positions measured along the road's canonical edge
    roads: dict[int, list[tuple[float, int]]] = {}
    for i, p in enumerate(points):
        key = p.edge if p.twin < 0 else min(p.edge, p.twin)
        f = p.fraction if key == p.edge else 1.0 - p.fraction
        roads.setdefault(key, []).append((f, n + i))
    for e, pts in roads.items():
        tw = int(edge_twins(graph)[e])
        u, v = int(src[e]), int(graph.edge_target[e])
        chain = [(0.0, u), *sorted(pts), (1.0, v)]
        for (fa, a), (fb, b) in itertools.pairwise(chain):
            arcs.append((a, b, (fb - fa) * float(times[e])))
            if tw >= 0:
                arcs.append((b, a, (fb - fa) * float(times[tw])))
            elif fa == fb:  # two points at one spot of a one-way road
                arcs.append((b, a, 0.0))
        for f, node in pts:
            if f == 0.0:
                arcs += [(node, u, 0.0), (u, node, 0.0)]
            if f == 1.0:
                arcs += [(node, v, 0.0), (v, node, 0.0)]
    return n + len(points), arcs


@st.composite
def random_graphs(draw: st.DrawFn, *, max_nodes: int = 12) -> RoadGraph:
    """Small random road graphs: two-way roads and one-way edges, parallel edges, zero-length
    edges and unreachable nodes all allowed."""
    n = draw(st.integers(2, max_nodes))
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.booleans(),
                      st.integers(0, 5000), st.sampled_from([30.0, 50.0, 70.0, 90.0]),
                      st.sampled_from(list(RoadClass))),
            min_size=1,
            max_size=4 * n,
        )
    )
    src: list[int] = []
    dst: list[int] = []
    length: list[float] = []
    speed: list[float] = []
    cls: list[int] = []
    for u, v, two_way, metres, kmh, rc in pairs:
        for a, b in ((u, v), (v, u)) if two_way else ((u, v),):
            src.append(a)
            dst.append(b)
            length.append(float(metres))
            speed.append(kmh)
            cls.append(int(rc))
    lat = [65.0 + 0.01 * i for i in range(n)]
    lon = [21.0 + 0.013 * (i % 3) for i in range(n)]
    return RoadGraph.from_edges(
        node_lat=lat, node_lon=lon, source=src, target=dst, length_m=length,
        speed_kmh=speed, road_class=cls,
    )


@st.composite
def points_on(draw: st.DrawFn, graph: RoadGraph, *, max_points: int = 6) -> list[SnappedPoint]:
    """Snapped points on random edges at random fractions (ends included), with off-road legs."""
    twins = edge_twins(graph)
    k = draw(st.integers(1, max_points))
    out = []
    for _ in range(k):
        e = draw(st.integers(0, graph.n_edges - 1))
        f = draw(st.one_of(st.just(0.0), st.just(1.0), st.floats(0.0, 1.0)))
        off = draw(st.one_of(st.just(0.0), st.floats(0.0, 500.0)))
        lat, lon = float(graph.node_lat[0]), float(graph.node_lon[0])
        out.append(SnappedPoint(lat=lat, lon=lon, edge=e, fraction=f, road_lat=lat,
                                road_lon=lon, offroad_m=off, twin=int(twins[e])))
    return out


def norrbotten_mini() -> RoadGraph:
    """Five towns and a junction of Norrbotten joined by väg 97, väg 373, E4 and a town street.

    0 Luleå, 1 Boden, 2 Jokkmokk, 3 Piteå, 4 Sunderbyn (junction on 97), 5 Luleå hamn.
    """
    lat = [65.5848, 65.8252, 66.6066, 65.3172, 65.6650, 65.5790]
    lon = [22.1547, 21.6886, 19.8232, 21.4794, 21.9300, 22.1900]
    strings = ["97", "E4", "373", "Storgatan"]
    roads = [  # (u, v, ref, name, class, speed, geometry between)
        (0, 4, 0, -1, RoadClass.PRIMARY, 80.0, [(65.62, 22.05)]),
        (4, 1, 0, -1, RoadClass.PRIMARY, 80.0, []),
        (1, 2, 0, -1, RoadClass.PRIMARY, 90.0, [(66.0, 21.2), (66.3, 20.5)]),
        (0, 3, 1, -1, RoadClass.TRUNK, 100.0, [(65.45, 21.8)]),
        (3, 1, 2, -1, RoadClass.SECONDARY, 70.0, []),
        (0, 5, -1, 3, RoadClass.RESIDENTIAL, 40.0, []),
    ]
    src, dst, length, speed, cls, ref, name = [], [], [], [], [], [], []
    g_off, g_lat, g_lon = [0], [], []
    for u, v, r, nm, rc, kmh, geo in roads:
        for a, b, pts in ((u, v, geo), (v, u, geo[::-1])):
            line = [(lat[a], lon[a]), *pts, (lat[b], lon[b])]
            metres = sum(
                float(haversine_m(p[0], p[1], q[0], q[1]))
                for p, q in itertools.pairwise(line)
            )
            src.append(a)
            dst.append(b)
            length.append(metres)
            speed.append(kmh)
            cls.append(int(rc))
            ref.append(r)
            name.append(nm)
            g_lat += [p[0] for p in pts]
            g_lon += [p[1] for p in pts]
            g_off.append(len(g_lat))
    places = [
        Place("Luleå", lat[0], lon[0], 0, population=48000, alt_names=("Luleju",)),
        Place("Boden", lat[1], lon[1], 1, population=18000),
        Place("Jokkmokk", lat[2], lon[2], 2, population=2800, alt_names=("Jåhkåmåhkke",)),
        Place("Piteå", lat[3], lon[3], 3, population=23000),
    ]
    return RoadGraph.from_edges(
        node_lat=lat, node_lon=lon, source=src, target=dst, length_m=length, speed_kmh=speed,
        road_class=cls, ref=ref, name=name, geom_offsets=g_off, geom_lat=g_lat, geom_lon=g_lon,
        strings=strings, places=places, meta={"name": "Norrbotten mini"},
    )
