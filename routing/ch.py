"""Contraction hierarchies: precompute once per metric, then answer queries in microseconds.

Nodes are contracted one by one in an order chosen by lazily updated priorities (arcs added per
arc removed, their original-edge counts, and the node's level); contracting ``v`` adds a shortcut
``u -> w`` unless a witness search finds a path at least as fast that avoids ``v``. A query then
searches only *upward* from both ends and meets at the top; stall-on-demand prunes labels that a
higher node already beats. Scaling every edge time by one factor (winter, emergency driving)
keeps the same hierarchy, so :meth:`ContractionHierarchy.paths` just rescales.

The compiled kernels live in :mod:`routing._chkernels`. Query scratch space is allocated once per
hierarchy and reused, so a query touches only the nodes it searches; a lock serialises queries
from threads.
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

__all__ = ["ContractionHierarchy", "HierarchyStats", "ScaledHierarchy"]

FloatArray = npt.NDArray[np.float64]
Arrays = tuple[npt.NDArray[Any], ...]

# numba dispatchers are typed loosely; call the kernels through an untyped alias
k: Any = _chkernels

#: Nodes a witness search may settle before it gives up (and adds the shortcut anyway): a small
#: limit while estimating a node's priority, a larger one when really contracting it.
SIMULATE_LIMIT = 40
WITNESS_LIMIT = 400


@dataclass(frozen=True, slots=True)
class HierarchyStats:
    """What a hierarchy cost to build and hold."""

    nodes: int
    edges: int
    upward_arcs: int
    downward_arcs: int
    build_s: float
    memory_bytes: int


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
        build_s = time.perf_counter() - t0
        (self.rank, self._fo, self._ft, self._fw, self._fl, self._fm,
         self._bo, self._bt, self._bw, self._bl, self._bm) = out
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
        hier = sum(a.nbytes for a in out)
        scratch = sum(
            a.nbytes
            for a in (self._fd, self._flen, self._fpar, self._ftouch, self._bd, self._blen,
                      self._bpar, self._btouch, self._hnode, self._hkey, self._hpos,
                      self._bucket)
        )
        self.stats = HierarchyStats(
            nodes=n,
            edges=graph.n_edges,
            upward_arcs=len(self._ft),
            downward_arcs=len(self._bt),
            build_s=build_s,
            memory_bytes=hier + scratch,
        )

    def paths(self, scale: float = 1.0) -> ScaledHierarchy:
        """Queries on this hierarchy with every edge time multiplied by ``scale``."""
        return ScaledHierarchy(self, scale)

    def _graphs(self) -> Arrays:
        return (self._fo, self._ft, self._fw, self._fl, self._bo, self._bt, self._bw, self._bl)

    def _scratch(self) -> Arrays:
        return (self._fd, self._flen, self._fpar, self._ftouch,
                self._bd, self._blen, self._bpar, self._btouch,
                self._hnode, self._hkey, self._hpos)


class ScaledHierarchy:
    """A :class:`~routing.paths.PathBackend` over a hierarchy whose times are scaled."""

    def __init__(self, ch: ContractionHierarchy, scale: float) -> None:
        if not (np.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be a positive number, got {scale!r}")
        self.ch = ch
        self.scale = float(scale)

    def _in(self, s: SeedSet) -> Arrays:
        return (s.offsets, s.nodes, s.times / self.scale, s.lengths)

    def many_to_one(self, sources: SeedSet, target: SeedSet) -> tuple[FloatArray, FloatArray]:
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
                ch.rank,
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
