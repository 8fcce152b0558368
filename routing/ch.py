"""Contraction hierarchies: precompute once per metric, then answer queries in microseconds.

Nodes are contracted one by one in an order chosen by lazily updated priorities (arcs added per
arc removed, their original-edge counts, and the node's level); contracting ``v`` adds a shortcut
``u -> w`` unless a witness search finds a path at least as fast that avoids ``v``. A query then
searches only *upward* from both ends and meets at the top; stall-on-demand prunes labels that a
higher node already beats. Scaling every edge time by one factor (winter, emergency driving)
keeps the same hierarchy, so :meth:`ContractionHierarchy.paths` just rescales.

The compiled kernels live in ``routing._ch_*`` (build in ``_ch_contract``, renumbering in
``_ch_order``, queries in ``_ch_query`` and ``_ch_cache``, route unpacking in ``_ch_unpack``),
each behind a typed function that takes the arrays named (:mod:`routing._ch_arrays`). After the
build, nodes are renumbered by level (the top of the hierarchy first, then along a Z-order
curve) so the nodes every query visits, and neighbours on the map, share cache lines. Query
scratch space is allocated once per hierarchy and reused, so a query touches only the nodes it
searches; a lock serialises queries from threads. Many-to-one queries (all units to a callout)
keep each source's upward search space in a bounded cache, so a unit that has not moved since
the last query costs a scan of its labels, not a search.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from maps.graph import RoadGraph
from routing._ch_arrays import Heap, Hierarchy, LabelCache, Seeds, Side
from routing._ch_cache import many_to_one_cached
from routing._ch_contract import build
from routing._ch_order import levels, renumber
from routing._ch_query import many_to_many, many_to_one, one_to_many
from routing._ch_unpack import route
from routing.errors import InvalidQuery
from routing.paths import PathResult, SeedSet

__all__ = ["CacheInfo", "ContractionHierarchy", "HierarchyStats", "ScaledHierarchy"]

FloatArray = npt.NDArray[np.float64]

#: Nodes a witness search may settle before it gives up (and adds the shortcut anyway): a small
#: limit while estimating a node's priority, a larger one when really contracting it.
SIMULATE_LIMIT = 20
WITNESS_LIMIT = 200

#: Search-space cache of many-to-one queries: table slots (a power of two; half of them used at
#: most) and labels in the pool (about 80 per source at a million nodes, so some 3,000 unit
#: positions); both are emptied at once when either is full.
CACHE_SLOTS = 8192
CACHE_LABELS = 1 << 18


@dataclass(frozen=True, slots=True)
class HierarchyStats:
    """What a hierarchy cost to build and hold."""

    nodes: int
    edges: int
    upward_arcs: int
    downward_arcs: int
    build_s: float
    memory_bytes: int
    cache_bytes: int = 0


@dataclass(frozen=True, slots=True)
class CacheInfo:
    """State of the many-to-one search-space cache: labels held, sources known (seen or with
    labels), how often it was emptied because it was full, and sources answered from it."""

    labels: int
    entries: int
    emptied: int
    hits: int


class ContractionHierarchy:
    """A contraction hierarchy of ``graph`` under the edge ``times`` (seconds)."""

    def __init__(self, graph: RoadGraph, times: FloatArray) -> None:
        times = np.ascontiguousarray(times, dtype=np.float64)
        if times.shape != (graph.n_edges,):
            raise InvalidQuery(f"times has shape {times.shape}, expected ({graph.n_edges},)")
        if graph.n_edges and not (np.all(np.isfinite(times)) and times.min() >= 0):
            raise InvalidQuery("edge times must be finite and >= 0")
        t0 = time.perf_counter()
        n = graph.n_nodes
        self.rank, up, down = build(
            n,
            np.ascontiguousarray(graph.edge_offsets, dtype=np.int64),
            np.ascontiguousarray(graph.edge_target, dtype=np.int64),
            times,
            np.ascontiguousarray(graph.edge_length_m, dtype=np.float64),
            SIMULATE_LIMIT,
            WITNESS_LIMIT,
        )
        # hierarchy node id of each graph node, and back: by descending level, then along a
        # Z-order curve over the map (see routing._ch_order)
        level = levels(self.rank, up, down)
        self._old = np.lexsort((_z_order(graph.node_lat, graph.node_lon), -level))
        self._new = np.empty(n, dtype=np.int64)
        self._new[self._old] = np.arange(n)
        self._level = level[self._old].astype(np.int32)  # by hierarchy id
        up, down = renumber(up, self._new), renumber(down, self._new)
        build_s = time.perf_counter() - t0
        self.times = times
        self._g_off = np.ascontiguousarray(graph.edge_offsets, dtype=np.int64)
        self._g_to = np.ascontiguousarray(graph.edge_target, dtype=np.int64)
        self._lock = threading.Lock()
        self._h = Hierarchy(
            up, down, _side(n), _side(n),
            Heap(np.empty(n, dtype=np.int64), np.empty(n, dtype=np.float64),
                 np.full(n, -1, dtype=np.int64)),
        )
        self._bucket = np.full(n, -1, dtype=np.int64)
        self._settled = np.empty(2 * n, dtype=np.int64)
        self._mark = np.zeros(n, dtype=np.uint8)
        self._per_level = np.zeros(int(self._level.max(initial=0)) + 1, dtype=np.int64)
        labels = min(CACHE_LABELS, max(1024, 64 * n))
        self._cache = LabelCache(
            key=np.zeros((CACHE_SLOTS, 3), dtype=np.int64),  # seed count (0: free), seed nodes
            key_f=np.zeros((CACHE_SLOTS, 4), dtype=np.float64),  # seed times and lengths
            val=np.zeros((CACHE_SLOTS, 2), dtype=np.int64),  # pool start, labels
            meta=np.zeros(4, dtype=np.int64),  # pool used, entries, times emptied, hits
            node=np.empty(labels, dtype=np.int32),
            t=np.empty(labels, dtype=np.float64),
            length=np.empty(labels, dtype=np.float64),
        )
        hier = sum(a.nbytes for a in (self.rank, self._new, self._old, self._level,
                                      *up, *down))
        scratch = sum(
            a.nbytes
            for a in (*self._h.fwd, *self._h.bwd, *self._h.heap, self._bucket, self._settled,
                      self._mark, self._per_level)
        )
        self.stats = HierarchyStats(
            nodes=n,
            edges=graph.n_edges,
            upward_arcs=len(up.to),
            downward_arcs=len(down.to),
            build_s=build_s,
            memory_bytes=hier + scratch,
            cache_bytes=sum(a.nbytes for a in self._cache),
        )

    def cache_info(self) -> CacheInfo:
        """How the many-to-one search-space cache is doing."""
        with self._lock:
            used, entries, emptied, hits = (int(x) for x in self._cache.meta)
        return CacheInfo(labels=used, entries=entries, emptied=emptied, hits=hits)

    def paths(self, scale: float = 1.0) -> ScaledHierarchy:
        """Queries on this hierarchy with every edge time multiplied by ``scale``."""
        return ScaledHierarchy(self, scale)


def _side(n: int) -> Side:
    """Scratch of one search direction over ``n`` nodes, as the kernels expect it between
    queries: labels infinite, no parents."""
    return Side(np.full(n, np.inf), np.zeros(n), np.full(n, -1, dtype=np.int64),
                np.empty(n, dtype=np.int64))


def _z_order(lat: npt.ArrayLike, lon: npt.ArrayLike) -> npt.NDArray[np.uint64]:
    """Morton (Z-order) codes of coordinates on a 2^16 grid: near codes, near places."""

    def spread(v: npt.NDArray[np.float64]) -> npt.NDArray[np.uint64]:
        lo, hi = (float(v.min()), float(v.max())) if len(v) else (0.0, 0.0)
        q = ((v - lo) / max(hi - lo, 1e-12) * 65535).astype(np.uint64)
        for shift, mask in ((8, 0x00FF00FF), (4, 0x0F0F0F0F), (2, 0x33333333), (1, 0x55555555)):
            q = (q | (q << np.uint64(shift))) & np.uint64(mask)
        return q

    a = spread(np.asarray(lat, dtype=np.float64))
    b = spread(np.asarray(lon, dtype=np.float64))
    return a | (b << np.uint64(1))


class ScaledHierarchy:
    """A :class:`~routing.paths.PathBackend` over a hierarchy whose times are scaled."""

    def __init__(self, ch: ContractionHierarchy, scale: float) -> None:
        if not (np.isfinite(scale) and scale > 0):
            raise InvalidQuery(f"scale must be a positive number, got {scale!r}")
        self.ch = ch
        self.scale = float(scale)

    def _in(self, s: SeedSet) -> Seeds:
        """``s`` in hierarchy node ids, its times in the hierarchy's unscaled seconds."""
        times = s.times if self.scale == 1.0 else s.times / self.scale
        return Seeds(s.offsets, self.ch._new[s.nodes], times, s.lengths)

    def many_to_one(self, sources: SeedSet, target: SeedSet) -> tuple[FloatArray, FloatArray]:
        ch = self.ch
        src, tgt = self._in(sources), self._in(target)
        with ch._lock:
            t, ln = many_to_one_cached(
                ch._h, sources=src, target=tgt, settled=ch._settled, level=ch._level,
                mark=ch._mark, per_level=ch._per_level, cache=ch._cache,
            )
        return (t if self.scale == 1.0 else t * self.scale), ln

    def many_to_one_uncached(
        self, sources: SeedSet, target: SeedSet
    ) -> tuple[FloatArray, FloatArray]:
        """:meth:`many_to_one` searching from every source afresh (for tests and benchmarks)."""
        src, tgt = self._in(sources), self._in(target)
        with self.ch._lock:
            t, ln = many_to_one(self.ch._h, sources=src, target=tgt)
        return t * self.scale, ln

    def one_to_many(self, source: SeedSet, targets: SeedSet) -> tuple[FloatArray, FloatArray]:
        src, tgt = self._in(source), self._in(targets)
        with self.ch._lock:
            t, ln = one_to_many(self.ch._h, source=src, targets=tgt)
        return t * self.scale, ln

    def many_to_many(self, sources: SeedSet, targets: SeedSet) -> tuple[FloatArray, FloatArray]:
        src, tgt = self._in(sources), self._in(targets)
        with self.ch._lock:
            t, ln = many_to_many(self.ch._h, sources=src, targets=tgt,
                                 bucket_first=self.ch._bucket)
        return t * self.scale, ln

    def path(self, source: SeedSet, target: SeedSet) -> PathResult | None:
        ch = self.ch
        src, tgt = self._in(source), self._in(target)
        with ch._lock:
            t, ln, a, b, edges = route(ch._h, source=src, target=tgt, old=ch._old,
                                       g_off=ch._g_off, g_to=ch._g_to, g_t=ch.times)
        if a < 0 or not np.isfinite(t):
            return None
        return PathResult(
            time_s=float(t) * self.scale,
            length_m=float(ln),
            source_seed=int(a),
            target_seed=int(b),
            edges=np.asarray(edges, dtype=np.int64),
        )
