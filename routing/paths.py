"""Shortest paths between sets of seeded nodes: the interface the engine uses, and plain Dijkstra.

A snapped point enters the graph at up to two nodes, each with a head start (the part of its edge
still to drive) — a :class:`SeedSet` holds those seeds for any number of points. A
:class:`PathBackend` answers many-to-one, one-to-many, many-to-many and path queries on seeds;
:class:`DijkstraPaths` does it with SciPy's compiled Dijkstra over the whole graph, which needs no
preprocessing and is the fastest choice on small graphs (the bundled county map), while
:class:`routing.ch.ContractionHierarchy` serves the large ones.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from maps.graph import RoadGraph
from routing.errors import InvalidQuery

__all__ = ["DijkstraPaths", "PathBackend", "PathResult", "SeedSet"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Up to this many seed pairs (a route between two points has two to four),
#: :meth:`DijkstraPaths.path` picks the best pair in plain floats: NumPy's cost per call is
#: most of the work on arrays that small.
FEW_SEED_PAIRS = 64


@dataclass(frozen=True, slots=True, eq=False)
class SeedSet:
    """Seeds of several points: point ``i`` owns ``nodes[offsets[i]:offsets[i + 1]]``, entered
    after ``times`` seconds and ``lengths`` metres."""

    offsets: IntArray
    nodes: IntArray
    times: FloatArray
    lengths: FloatArray

    def __post_init__(self) -> None:
        k = len(self.nodes)
        if len(self.times) != k or len(self.lengths) != k or int(self.offsets[-1]) != k:
            raise InvalidQuery("seed arrays disagree in length")

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def run(self, i: int) -> slice:
        return slice(int(self.offsets[i]), int(self.offsets[i + 1]))

    @classmethod
    def of(cls, seeds: list[list[tuple[int, float, float]]]) -> SeedSet:
        """Pack ``[(node, time, length), ...]`` per point."""
        counts = np.array([len(s) for s in seeds], dtype=np.int64)
        offsets = np.zeros(len(seeds) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        flat = [x for s in seeds for x in s]
        return cls(
            offsets=offsets,
            nodes=np.array([x[0] for x in flat], dtype=np.int64),
            times=np.array([x[1] for x in flat], dtype=np.float64),
            lengths=np.array([x[2] for x in flat], dtype=np.float64),
        )


@dataclass(frozen=True, slots=True, eq=False)
class PathResult:
    """A fastest path: time, length, which source and target seed it used, its edges."""

    time_s: float
    length_m: float
    source_seed: int
    target_seed: int
    edges: IntArray


class PathBackend(Protocol):
    """Shortest-path queries between seed sets on one metric (edge times)."""

    def many_to_one(self, sources: SeedSet, target: SeedSet) -> tuple[FloatArray, FloatArray]:
        """Times and lengths from every source point to the single target point."""
        ...

    def one_to_many(self, source: SeedSet, targets: SeedSet) -> tuple[FloatArray, FloatArray]:
        """Times and lengths from the single source point to every target point."""
        ...

    def many_to_many(self, sources: SeedSet, targets: SeedSet) -> tuple[FloatArray, FloatArray]:
        """Time and length matrices, sources by targets."""
        ...

    def path(self, source: SeedSet, target: SeedSet) -> PathResult | None:
        """The fastest path between two single points, or None if there is none."""
        ...


class DijkstraPaths:
    """SciPy Dijkstra over the whole graph; no preprocessing, O(n log n) per seed node.

    Whole trees (times and lengths from or to a node) are kept per node, so on the small graphs
    this serves a callout or unit seen before costs only array lookups: at most ``max_rows``
    trees per direction (by default about 32 MB worth), all dropped at once when full. The
    same holds for the searches :meth:`path` walks back (times and predecessors from a node).
    """

    def __init__(self, graph: RoadGraph, times: FloatArray) -> None:
        from scipy.sparse import csr_matrix

        n = graph.n_nodes
        src = graph.edge_source.astype(np.int64)
        dst = graph.edge_target.astype(np.int64)
        # keep the fastest of parallel edges and drop self-loops: SciPy must not sum or keep them
        order = np.lexsort((times, dst, src))
        s, d = src[order], dst[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = (s[1:] != s[:-1]) | (d[1:] != d[:-1])
        keep = order[first & (s != d)]
        self._n = n
        self._edge = keep  # graph edge of each matrix entry, in (src, dst) order
        self._key = src[keep] * n + dst[keep]
        self._len = graph.edge_length_m.astype(np.float64)[keep]
        self._fwd = csr_matrix((times[keep], (src[keep], dst[keep])), shape=(n, n))
        self._bwd = self._fwd.T.tocsr()
        self._fwd.sort_indices()
        self.max_rows = max(16, (1 << 21) // max(n, 1))
        self._rows: dict[bool, dict[int, tuple[FloatArray, FloatArray]]] = {False: {}, True: {}}
        self._walks: dict[int, tuple[FloatArray, IntArray]] = {}  # path's searches, by node
        self._lock = threading.Lock()  # the row cache is shared by threads (service workers)

    def _cached(self, nodes: IntArray, *, reverse: bool) -> tuple[FloatArray, FloatArray]:
        """Rows of :meth:`_tree` times and lengths for ``nodes``, searching only new nodes."""
        with self._lock:
            return self._cached_locked(nodes, reverse=reverse)

    def rows(self, keys: list[int], *, reverse: bool) -> list[tuple[FloatArray, FloatArray]]:
        """The kept tree rows (times, lengths; read-only) of each node of ``keys``, searching
        only new nodes: what a query of a few points reads entry by entry
        (:meth:`routing.engine.TravelTimes.etas_to`), without stacking them."""
        with self._lock:
            rows = self._fill(keys, reverse=reverse)
            return [rows[v] for v in keys]

    def _fill(self, keys: list[int], *, reverse: bool) -> dict[int, tuple[FloatArray, FloatArray]]:
        """The row store of ``reverse`` holding every node of ``keys`` (lock held)."""
        rows = self._rows[reverse]
        new = sorted({v for v in keys if v not in rows})
        if new:
            if len(rows) + len(new) > self.max_rows:
                rows.clear()  # and this query's nodes kept so far go with it: search them too
                new = sorted(set(keys))
            dist, lens, _ = self._tree(np.asarray(new, dtype=np.int64), reverse=reverse)
            dist.flags.writeable = lens.flags.writeable = False
            for i, v in enumerate(new):
                rows[v] = (dist[i], lens[i])
        return rows

    def _cached_locked(self, nodes: IntArray, *, reverse: bool) -> tuple[FloatArray, FloatArray]:
        keys = nodes.tolist()
        rows = self._fill(keys, reverse=reverse)
        if len(keys) == 1:
            d, ln = rows[keys[0]]
            return d[None, :], ln[None, :]
        distinct = list(dict.fromkeys(keys))
        if len(distinct) == len(keys):
            return (np.stack([rows[v][0] for v in keys]), np.stack([rows[v][1] for v in keys]))
        # many points on few nodes (a run's scenes on a small map): stack each node's rows once
        # and repeat them by index, the same rows without a list of thousands to stack
        at = {v: i for i, v in enumerate(distinct)}
        pick = np.fromiter((at[v] for v in keys), dtype=np.int64, count=len(keys))
        return (np.stack([rows[v][0] for v in distinct])[pick],
                np.stack([rows[v][1] for v in distinct])[pick])

    def _tree(
        self, nodes: IntArray, *, reverse: bool
    ) -> tuple[FloatArray, FloatArray, IntArray]:
        """Times, lengths and predecessors of full searches from ``nodes``."""
        dist, pred = self._search(nodes, reverse=reverse)
        lengths = self._tree_lengths(pred, reverse=reverse)
        lengths[~np.isfinite(dist)] = np.inf
        return dist, lengths, pred

    def _search(self, nodes: IntArray, *, reverse: bool) -> tuple[FloatArray, IntArray]:
        """Times and predecessors of full searches from ``nodes``."""
        from scipy.sparse.csgraph import dijkstra

        mat = self._bwd if reverse else self._fwd
        dist, pred = dijkstra(mat, directed=True, indices=nodes, return_predecessors=True)
        return np.atleast_2d(dist), np.atleast_2d(pred).astype(np.int64)

    def _walkable(self, nodes: IntArray) -> tuple[FloatArray, IntArray]:
        """Times and predecessors of forward searches from ``nodes`` (rows as :meth:`_search`
        gives them: each node's search is its own), searching only nodes not seen before."""
        rows = self._walk_rows(nodes)
        return np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows])

    def _walk_rows(self, nodes: IntArray) -> list[tuple[FloatArray, IntArray]]:
        """:meth:`_walkable`'s rows, one ``(times, predecessors)`` pair per node, unstacked."""
        with self._lock:
            walks = self._walks
            keys = nodes.tolist()
            new = sorted({v for v in keys if v not in walks})
            if new:
                if len(walks) + len(new) > self.max_rows:
                    walks.clear()  # and this query's nodes kept so far: search them too
                    new = sorted(set(keys))
                dist, pred = self._search(np.asarray(new, dtype=np.int64), reverse=False)
                dist.flags.writeable = pred.flags.writeable = False
                for i, v in enumerate(new):
                    walks[v] = (dist[i], pred[i])
            return [walks[v] for v in keys]

    def _edge_length(self, a: IntArray, b: IntArray) -> FloatArray:
        pos = np.searchsorted(self._key, a * self._n + b)
        return np.asarray(self._len[np.minimum(pos, len(self._len) - 1)], dtype=np.float64)

    def _tree_lengths(self, pred: IntArray, *, reverse: bool) -> FloatArray:
        """Metres from the root along each row's predecessor tree, by pointer jumping."""
        me = np.broadcast_to(np.arange(self._n), pred.shape)
        has = pred >= 0
        up = np.where(has, pred, me)
        acc = np.zeros(pred.shape)
        if has.any():
            a, b = (me[has], up[has]) if reverse else (up[has], me[has])
            acc[has] = self._edge_length(a, b)
        while True:
            nxt = np.take_along_axis(up, up, axis=1)
            if np.array_equal(nxt, up):
                break
            acc = acc + np.take_along_axis(acc, up, axis=1)
            up = nxt
        return acc

    def many_to_one(self, sources: SeedSet, target: SeedSet) -> tuple[FloatArray, FloatArray]:
        dist, lens = self._cached(target.nodes, reverse=True)
        t, ln = _best(dist, lens, target, sources)
        return t[0], ln[0]

    def one_to_many(self, source: SeedSet, targets: SeedSet) -> tuple[FloatArray, FloatArray]:
        dist, lens = self._cached(source.nodes, reverse=False)
        t, ln = _best(dist, lens, source, targets)
        return t[0], ln[0]

    def many_to_many(self, sources: SeedSet, targets: SeedSet) -> tuple[FloatArray, FloatArray]:
        dist, lens = self._cached(sources.nodes, reverse=False)
        return _best(dist, lens, sources, targets)

    def path(self, source: SeedSet, target: SeedSet) -> PathResult | None:
        # one path needs no tree of lengths: its own edges' lengths are summed below
        if len(source.nodes) * len(target.nodes) > FEW_SEED_PAIRS:
            return self._path_arrays(source, target)
        # few seed pairs (a route between two points): the best pair in plain floats, the
        # same sums in the same order as the arrays', the first best pair as argmin's
        rows = self._walk_rows(source.nodes)
        times, ends = source.times.tolist(), target.nodes.tolist()
        end_times = target.times.tolist()
        best, a, b = math.inf, -1, -1
        for i, (dist, _) in enumerate(rows):
            ti = times[i]
            for j, node in enumerate(ends):
                t = ti + float(dist[node]) + end_times[j]
                if t < best:
                    best, a, b = t, i, j
        if a < 0:
            return None
        pred = rows[a][1]
        return self._path_result(source, target, pred.tolist() if self._n <= 4096 else pred,
                                 a, b, best)

    def _path_arrays(self, source: SeedSet, target: SeedSet) -> PathResult | None:
        dist, pred = self._walkable(source.nodes)
        tot = source.times[:, None] + dist[:, target.nodes] + target.times[None, :]
        if not tot.size or not np.isfinite(tot.min()):
            return None
        a, b = np.unravel_index(int(np.argmin(tot)), tot.shape)
        return self._path_result(source, target, pred[a], int(a), int(b), float(tot[a, b]))

    def _path_result(self, source: SeedSet, target: SeedSet, pred: Any, a: int, b: int,
                     time_s: float) -> PathResult:
        """The path to target seed ``b`` along the predecessors ``pred`` (a row, as an array or
        a list) of source seed ``a``'s search."""
        node = int(target.nodes[b])
        chain = [node]
        while pred[node] >= 0:
            node = int(pred[node])
            chain.append(node)
        chain.reverse()
        nodes = np.asarray(chain, dtype=np.int64)
        pos = np.searchsorted(self._key, nodes[:-1] * self._n + nodes[1:])
        return PathResult(
            time_s=time_s,
            length_m=float(source.lengths[a] + self._len[pos].sum() + target.lengths[b]),
            source_seed=a,
            target_seed=b,
            edges=self._edge[pos].astype(np.int64),
        )


def _padded(seeds: SeedSet) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    """Seed indices per point as a (points x most seeds) array, and which entries are real."""
    counts = np.diff(seeds.offsets)
    width = max(1, int(counts.max())) if len(counts) else 1
    col = np.arange(width)
    ok = col[None, :] < counts[:, None]
    idx = np.where(ok, seeds.offsets[:-1, None] + col[None, :], 0)
    return idx, ok


def _best(
    dist: FloatArray, lens: FloatArray, rows: SeedSet, cols: SeedSet
) -> tuple[FloatArray, FloatArray]:
    """Best time and length between each ``rows`` point and each ``cols`` point, where
    ``dist[r, v]`` is the tree distance between row seed ``r`` and node ``v``."""
    ri, rok = _padded(rows)
    ci, cok = _padded(cols)
    r = ri[:, :, None, None]
    c = ci[None, None, :, :]
    node = cols.nodes[c]
    tot = rows.times[r] + dist[r, node] + cols.times[c]
    tot = np.where(rok[:, :, None, None] & cok[None, None, :, :], tot, np.inf)
    met = rows.lengths[r] + lens[r, node] + cols.lengths[c]
    # (row points, col points, seed pairs)
    kr, kc = len(ri), len(ci)
    tot = tot.transpose(0, 2, 1, 3).reshape(kr, kc, -1)
    met = np.broadcast_to(met, (kr, ri.shape[1], kc, ci.shape[1]))
    met = met.transpose(0, 2, 1, 3).reshape(kr, kc, -1)
    arg = np.argmin(tot, axis=2)[:, :, None]
    best_t = np.take_along_axis(tot, arg, axis=2)[:, :, 0]
    best_l = np.take_along_axis(met, arg, axis=2)[:, :, 0]
    best_l = np.where(np.isfinite(best_t), best_l, np.inf)
    return best_t, best_l
