"""Contraction hierarchies: precompute once per metric, then answer queries in microseconds.

Nodes are contracted one by one in an order chosen by lazily updated priorities (arcs added per
arc removed, their original-edge counts, and the node's level); contracting ``v`` adds a shortcut
``u -> w`` unless a witness search finds a path at least as fast that avoids ``v``. A query then
searches only *upward* from both ends and meets at the top; stall-on-demand prunes labels that a
higher node already beats. Scaling every edge time by one factor (winter, emergency driving)
keeps the same hierarchy, so :meth:`ContractionHierarchy.paths` just rescales.

The compiled kernels live in :mod:`routing._chkernels`. After the build, nodes are renumbered by
level (the top of the hierarchy first, then along a Z-order curve) so the nodes every query
visits, and neighbours on the map, share cache lines. Query
scratch space is allocated once per hierarchy and reused, so a query touches only the nodes it
searches; a lock serialises queries from threads. Many-to-one queries (all units to a callout)
keep each source's upward search space in a bounded cache, so a unit that has not moved since
the last query costs a scan of its labels, not a search.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from maps.graph import RoadGraph
from routing import _chkernels
from routing.paths import PathResult, SeedSet

__all__ = ["CacheInfo", "ContractionHierarchy", "HierarchyStats", "ScaledHierarchy"]

FloatArray = npt.NDArray[np.float64]
Arrays = tuple[npt.NDArray[Any], ...]

# numba dispatchers are typed loosely; call the kernels through an untyped alias
k: Any = _chkernels

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
            raise ValueError(f"times has shape {times.shape}, expected ({graph.n_edges},)")
        if graph.n_edges and not (np.all(np.isfinite(times)) and times.min() >= 0):
            raise ValueError("edge times must be finite and >= 0")
        t0 = time.perf_counter()
        n = graph.n_nodes
        out = k.build(
            n,
            np.ascontiguousarray(graph.edge_offsets, dtype=np.int64),
            np.ascontiguousarray(graph.edge_target, dtype=np.int64),
            times,
            np.ascontiguousarray(graph.edge_length_m, dtype=np.float64),
            SIMULATE_LIMIT,
            WITNESS_LIMIT,
        )
        self.rank = out[0]
        # hierarchy node id of each graph node, and back: by descending level, then along a
        # Z-order curve over the map (see _chkernels)
        level = k.levels(self.rank, out[1], out[2], out[6], out[7])
        self._old = np.lexsort((_z_order(graph.node_lat, graph.node_lon), -level))
        self._new = np.empty(n, dtype=np.int64)
        self._new[self._old] = np.arange(n)
        self._level = level[self._old].astype(np.int32)  # by hierarchy id
        (self._fo, self._ft, self._fw, self._fl, self._fm) = k.renumber(*out[1:6], self._new)
        (self._bo, self._bt, self._bw, self._bl, self._bm) = k.renumber(*out[6:11], self._new)
        build_s = time.perf_counter() - t0
        out = (self.rank, self._new, self._old, self._level,
               self._fo, self._ft, self._fw, self._fl, self._fm,
               self._bo, self._bt, self._bw, self._bl, self._bm)
        self.times = times
        self._g_off = np.ascontiguousarray(graph.edge_offsets, dtype=np.int64)
        self._g_to = np.ascontiguousarray(graph.edge_target, dtype=np.int64)
        self._lock = threading.Lock()
        self._fd = np.full(n, np.inf)
        self._flen = np.zeros(n)
        self._fpar = np.full(n, -1, dtype=np.int64)
        self._ftouch = np.empty(n, dtype=np.int64)
        self._bd = np.full(n, np.inf)
        self._blen = np.zeros(n)
        self._bpar = np.full(n, -1, dtype=np.int64)
        self._btouch = np.empty(n, dtype=np.int64)
        self._hnode = np.empty(n, dtype=np.int64)
        self._hkey = np.empty(n, dtype=np.float64)
        self._hpos = np.full(n, -1, dtype=np.int64)
        self._bucket = np.full(n, -1, dtype=np.int64)
        self._settled = np.empty(2 * n, dtype=np.int64)
        self._mark = np.zeros(n, dtype=np.uint8)
        self._per_level = np.zeros(int(self._level.max(initial=0)) + 1, dtype=np.int64)
        labels = min(CACHE_LABELS, max(1024, 64 * n))
        self._cache = (
            np.zeros((CACHE_SLOTS, 3), dtype=np.int64),  # seed count (0: free), seed nodes
            np.zeros((CACHE_SLOTS, 4), dtype=np.float64),  # seed times and lengths
            np.zeros((CACHE_SLOTS, 2), dtype=np.int64),  # pool start, labels
            np.zeros(4, dtype=np.int64),  # pool used, entries, times emptied, hits
            np.empty(labels, dtype=np.int32),
            np.empty(labels, dtype=np.float64),
            np.empty(labels, dtype=np.float64),
        )
        hier = sum(a.nbytes for a in out)
        scratch = sum(
            a.nbytes
            for a in (self._fd, self._flen, self._fpar, self._ftouch, self._bd, self._blen,
                      self._bpar, self._btouch, self._hnode, self._hkey, self._hpos,
                      self._bucket, self._settled, self._mark, self._per_level)
        )
        self.stats = HierarchyStats(
            nodes=n,
            edges=graph.n_edges,
            upward_arcs=len(self._ft),
            downward_arcs=len(self._bt),
            build_s=build_s,
            memory_bytes=hier + scratch,
            cache_bytes=sum(a.nbytes for a in self._cache),
        )

    def cache_info(self) -> CacheInfo:
        """How the many-to-one search-space cache is doing."""
        with self._lock:
            used, entries, emptied, hits = (int(x) for x in self._cache[3])
        return CacheInfo(labels=used, entries=entries, emptied=emptied, hits=hits)

    def paths(self, scale: float = 1.0) -> ScaledHierarchy:
        """Queries on this hierarchy with every edge time multiplied by ``scale``."""
        return ScaledHierarchy(self, scale)

    def _graphs(self) -> Arrays:
        return (self._fo, self._ft, self._fw, self._fl, self._bo, self._bt, self._bw, self._bl)

    def _scratch(self) -> Arrays:
        return (self._fd, self._flen, self._fpar, self._ftouch,
                self._bd, self._blen, self._bpar, self._btouch,
                self._hnode, self._hkey, self._hpos)


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
            raise ValueError(f"scale must be a positive number, got {scale!r}")
        self.ch = ch
        self.scale = float(scale)

    def _in(self, s: SeedSet) -> Arrays:
        times = s.times if self.scale == 1.0 else s.times / self.scale
        return (s.offsets, self.ch._new[s.nodes], times, s.lengths)

    def many_to_one(self, sources: SeedSet, target: SeedSet) -> tuple[FloatArray, FloatArray]:
        ch = self.ch
        so, sn, st, sl = self._in(sources)
        _, tn, tt, tl = self._in(target)
        with ch._lock:
            t, ln = k.many_to_one_cached(
                *ch._graphs(), so, sn, st, sl, tn, tt, tl,
                ch._fd, ch._flen, ch._ftouch, ch._bd, ch._blen, ch._bpar, ch._btouch,
                ch._hnode, ch._hkey, ch._hpos, ch._settled, ch._level, ch._mark,
                ch._per_level, *ch._cache,
            )
        return (t if self.scale == 1.0 else t * self.scale), ln

    def many_to_one_uncached(
        self, sources: SeedSet, target: SeedSet
    ) -> tuple[FloatArray, FloatArray]:
        """:meth:`many_to_one` searching from every source afresh (for tests and benchmarks)."""
        ch = self.ch
        so, sn, st, sl = self._in(sources)
        _, tn, tt, tl = self._in(target)
        with ch._lock:
            t, ln = k.many_to_one(*ch._graphs(), so, sn, st, sl, tn, tt, tl, *ch._scratch())
        return t * self.scale, ln

    def one_to_many(self, source: SeedSet, targets: SeedSet) -> tuple[FloatArray, FloatArray]:
        ch = self.ch
        _, sn, st, sl = self._in(source)
        to, tn, tt, tl = self._in(targets)
        with ch._lock:
            t, ln = k.one_to_many(*ch._graphs(), sn, st, sl, to, tn, tt, tl, *ch._scratch())
        return t * self.scale, ln

    def many_to_many(self, sources: SeedSet, targets: SeedSet) -> tuple[FloatArray, FloatArray]:
        ch = self.ch
        so, sn, st, sl = self._in(sources)
        to, tn, tt, tl = self._in(targets)
        with ch._lock:
            t, ln = k.many_to_many(
                *ch._graphs(), so, sn, st, sl, to, tn, tt, tl, *ch._scratch(), ch._bucket
            )
        return t * self.scale, ln

    def path(self, source: SeedSet, target: SeedSet) -> PathResult | None:
        ch = self.ch
        _, sn, st, sl = self._in(source)
        _, tn, tt, tl = self._in(target)
        with ch._lock:
            t, ln, a, b, edges = k.route(
                ch._old,
                ch._fo, ch._ft, ch._fw, ch._fl, ch._fm,
                ch._bo, ch._bt, ch._bw, ch._bl, ch._bm,
                sn, st, sl, tn, tt, tl, *ch._scratch(),
                ch._g_off, ch._g_to, ch.times,
            )
        if a < 0 or not np.isfinite(t):
            return None
        return PathResult(
            time_s=float(t) * self.scale,
            length_m=float(ln),
            source_seed=int(a),
            target_seed=int(b),
            edges=np.asarray(edges, dtype=np.int64),
        )
