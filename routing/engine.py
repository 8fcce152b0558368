"""Travel times for dispatch: snapping, ETAs of many units to one callout, matrices and routes.

:class:`TravelTimes` is the one entry point. It answers for one *situation* (time of day, season,
emergency driving) of a :class:`~maps.traveltime.TravelTimeModel`; :meth:`TravelTimes.situation`
gives a view for another situation that shares everything already precomputed for the graph.

Algorithm (measurements in ``routing/README.md``): on small graphs a plain compiled Dijkstra over
the whole graph answers in well under a millisecond with no preprocessing; on large graphs a
contraction hierarchy (:mod:`routing.ch`) is built once per metric and answers 50 units to one
callout in about 0.15 ms when the units have not moved since the last alarm (their search spaces
are cached) and under a millisecond when all have. Winter and emergency driving scale every edge
by one factor and so reuse the same hierarchy; rush hour slows only urban roads and gets a
hierarchy of its own, built on first use (or ahead of time with :meth:`TravelTimes.prepare`).
With ``fallback=True`` a query never builds: until its situation's hierarchy is prepared (by
:meth:`TravelTimes.prepare`, e.g. of every one of :meth:`TravelTimes.situations` in a worker
thread) it runs plain Dijkstra, so a service never stalls on the first rush-hour question.
"""

from __future__ import annotations

import itertools
import logging
import math
import operator
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from maps.graph import RoadGraph
from maps.traveltime import TravelTimeModel
from routing.errors import NoRoute, RoutingError, SnapError
from routing.paths import DijkstraPaths, PathBackend, SeedSet
from routing.route import Route, Step, StepKind, build_route, route_geometry
from routing.snap import DEFAULT_MAX_SNAP_M, SnappedPoint, Snapper

if TYPE_CHECKING:  # numba loads only when a hierarchy is built
    from routing.ch import ContractionHierarchy

__all__ = [
    "DEFAULT_OFFROAD_SPEED_KMH",
    "SMALL_GRAPH_NODES",
    "Algorithm",
    "EtaResult",
    "Location",
    "TravelMatrix",
    "TravelTimes",
]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

#: Speed of the leg between a coordinate and its road (walking, a yard, a forest track).
DEFAULT_OFFROAD_SPEED_KMH = 15.0

#: Up to this many nodes plain Dijkstra is used: it answers an alarm's ETAs in about a
#: millisecond there (see routing/README.md) and needs neither preprocessing nor compiling the
#: hierarchy's kernels, so a one-off ``mae route`` on the county map starts at once.
SMALL_GRAPH_NODES = 2_000

Algorithm = Literal["auto", "dijkstra", "ch"]

#: A point to route from or to: already snapped, or a ``(lat, lon)`` pair to snap.
Location = SnappedPoint | tuple[float, float]


@dataclass(frozen=True, slots=True)
class EtaResult:
    """Travel time and distance of the fastest route; both infinite when there is none."""

    duration_s: float
    distance_m: float

    def __post_init__(self) -> None:
        if math.isnan(self.duration_s) or self.duration_s < 0:
            raise RoutingError(f"duration must be >= 0, got {self.duration_s!r}")
        if math.isnan(self.distance_m) or self.distance_m < 0:
            raise RoutingError(f"distance must be >= 0, got {self.distance_m!r}")

    @property
    def reachable(self) -> bool:
        return math.isfinite(self.duration_s)


@dataclass(frozen=True, slots=True, eq=False)
class TravelMatrix:
    """Durations (s) and distances (m) from each source (row) to each target (column)."""

    durations_s: FloatArray
    distances_m: FloatArray

    def __post_init__(self) -> None:
        if self.durations_s.shape != self.distances_m.shape or self.durations_s.ndim != 2:
            raise RoutingError("durations and distances must be matrices of the same shape")


FALLBACKS = 4  # plain-search backends kept for metrics whose hierarchy is not built yet
#: Queries with at most this many sources (or targets) run in plain floats on plain Dijkstra
#: (:meth:`TravelTimes._few_etas`): for a few points, numpy's per-call cost is most of the time.
FEW = 8
SNAP_CACHE = 4096  # coordinates whose snapped point is kept (a few hundred bytes each)


class _Shared:
    """What every situation of one graph shares: the snap index, edge times, hierarchies.

    The snap index is built on first use (or ahead of it by :meth:`TravelTimes.warm`, e.g. in a
    worker thread while a service already answers): on a large map it takes a second or more,
    and its KD-tree brings scipy with it."""

    def __init__(self, graph: RoadGraph, *, max_snap_m: float) -> None:
        if not (math.isfinite(max_snap_m) and max_snap_m > 0):
            raise SnapError(f"max_snap_m must be a positive distance, got {max_snap_m!r}")
        self.graph = graph
        self.max_snap_m = float(max_snap_m)
        self._snapper: Snapper | None = None
        self._snapper_lock = threading.Lock()
        self.lengths = graph.edge_length_m.astype(np.float64)
        self.source = graph.edge_source.astype(np.int64)
        self.target = graph.edge_target.astype(np.int64)
        self.lock = threading.Lock()
        self.build_lock = threading.Lock()  # one hierarchy build at a time, outside ``lock``
        self.times: dict[tuple[object, ...], FloatArray] = {}
        self.hierarchies: list[ContractionHierarchy] = []
        self.snaps: dict[tuple[float, float], SnappedPoint] = {}
        self.fallbacks: list[tuple[FloatArray, DijkstraPaths]] = []

    @property
    def snapper(self) -> Snapper:
        """The snap index, built by the first caller (others wait for it)."""
        found = self._snapper
        if found is None:
            with self._snapper_lock:
                if self._snapper is None:
                    self._snapper = Snapper(self.graph, max_snap_m=self.max_snap_m)
                found = self._snapper
        return found

    @property
    def snap_ready(self) -> bool:
        """Whether the snap index is built (a snap then takes microseconds)."""
        return self._snapper is not None

    def snap(self, lat: float, lon: float) -> SnappedPoint:
        """:meth:`Snapper.snap`, remembered for the last ``SNAP_CACHE`` coordinates: units that
        have not moved are asked about on every alarm and recommendation."""
        key = (lat, lon)
        found = self.snaps.get(key)
        if found is None:
            found = self.snapper.snap(lat, lon)
            with self.lock:
                if len(self.snaps) >= SNAP_CACHE:
                    self.snaps.pop(next(iter(self.snaps)))
                self.snaps[key] = found
        return found

    def edge_times(
        self, model: TravelTimeModel, at: datetime | None, winter: bool | None, emergency: bool
    ) -> FloatArray:
        if type(model) is not TravelTimeModel:  # a subclass may depend on more than these
            return model.edge_times(self.graph, at=at, winter=winter, emergency=emergency)
        key = (model, model.is_winter(at, winter), emergency, model.is_peak(at))
        with self.lock:
            found = self.times.get(key)
            if found is None:
                found = model.edge_times(self.graph, at=at, winter=winter, emergency=emergency)
                found.flags.writeable = False
                self.times[key] = found
            return found

    def built(self, times: FloatArray) -> tuple[ContractionHierarchy, float] | None:
        """A hierarchy already built whose metric is ``times`` up to one factor, or None."""
        with self.lock:
            for ch in self.hierarchies:
                scale = _proportion(times, ch.times)
                if scale is not None:
                    return ch, scale
        return None

    def hierarchy(self, times: FloatArray) -> tuple[ContractionHierarchy, float]:
        """A hierarchy whose metric is ``times`` up to one factor, built if there is none.

        The build holds only ``build_lock`` (and the GIL not at all: its kernel is ``nogil``),
        so snapping and queries on hierarchies already built go on meanwhile."""
        found = self.built(times)
        if found is not None:
            return found
        with self.build_lock:
            found = self.built(times)  # another thread may have built it while we waited
            if found is not None:
                return found
            from routing.ch import ContractionHierarchy

            logger.info("building contraction hierarchy for %d nodes", self.graph.n_nodes)
            ch = ContractionHierarchy(self.graph, times)
            logger.info("hierarchy built in %.1f s", ch.stats.build_s)
            with self.lock:
                self.hierarchies.append(ch)
                self.fallbacks = [(t, d) for t, d in self.fallbacks
                                  if _proportion(t, ch.times) is None]
            return ch, 1.0

    def fallback(self, times: FloatArray) -> DijkstraPaths:
        """Plain Dijkstra under ``times`` (kept per metric until its hierarchy is built)."""
        with self.lock:
            for t, paths in self.fallbacks:
                if t is times or np.array_equal(t, times):  # equal: a model subclass's copy
                    return paths
        paths = DijkstraPaths(self.graph, times)
        with self.lock:
            self.fallbacks = [*self.fallbacks[-(FALLBACKS - 1):], (times, paths)]
        return paths


def _proportion(a: FloatArray, b: FloatArray) -> float | None:
    """``s`` with ``a == s * b`` (to rounding), or None."""
    if a.shape != b.shape:
        return None
    if not len(a):
        return 1.0
    i = int(np.argmax(b))
    if b[i] <= 0:
        return 1.0 if not np.any(a) else None
    s = float(a[i] / b[i])
    if s > 0 and np.allclose(a, s * b, rtol=1e-9, atol=1e-12):
        return s
    return None


class TravelTimes:
    """Snapping, ETAs, matrices and routes on ``graph`` for one driving situation.

    ``at`` picks the time of day (rush hour) and, unless ``winter`` says otherwise, the season;
    ``emergency`` drives with blue lights. The leg between a coordinate and its road is costed at
    ``offroad_speed_kmh``; coordinates farther than ``max_snap_m`` from any road raise
    :class:`~routing.errors.SnapError`. ``algorithm`` forces plain Dijkstra or the contraction
    hierarchy; ``"auto"`` picks by graph size. ``fallback`` answers with plain Dijkstra until
    the situation's hierarchy is prepared, instead of building it on the first query.
    """

    def __init__(
        self,
        graph: RoadGraph,
        model: TravelTimeModel | None = None,
        *,
        at: datetime | None = None,
        winter: bool | None = None,
        emergency: bool = False,
        offroad_speed_kmh: float = DEFAULT_OFFROAD_SPEED_KMH,
        max_snap_m: float = DEFAULT_MAX_SNAP_M,
        algorithm: Algorithm = "auto",
        fallback: bool = False,
        _shared: _Shared | None = None,
    ) -> None:
        if not (math.isfinite(offroad_speed_kmh) and offroad_speed_kmh > 0):
            raise RoutingError(
                f"offroad_speed_kmh must be a positive speed, got {offroad_speed_kmh!r}"
            )
        if algorithm not in ("auto", "dijkstra", "ch"):
            raise RoutingError(f"algorithm must be 'auto', 'dijkstra' or 'ch', got {algorithm!r}")
        self.graph = graph
        self.model = model if model is not None else TravelTimeModel()
        self.at = at
        self.winter = self.model.is_winter(at, winter)
        self.emergency = emergency
        self.offroad_speed_kmh = float(offroad_speed_kmh)
        self.algorithm: Algorithm = algorithm
        self.fallback = fallback
        self._shared = _shared if _shared is not None else _Shared(graph, max_snap_m=max_snap_m)
        self.times = self._shared.edge_times(self.model, at, winter, emergency)
        self._backend: PathBackend | None = None
        self._n_edges = graph.n_edges

    # -- situations and preparation ----------------------------------------------------------

    def situation(
        self, *, at: datetime | None = None, winter: bool | None = None, emergency: bool = False
    ) -> TravelTimes:
        """The same graph, model and settings for another situation, sharing precomputation."""
        return TravelTimes(
            self.graph,
            self.model,
            at=at,
            winter=winter,
            emergency=emergency,
            offroad_speed_kmh=self.offroad_speed_kmh,
            algorithm=self.algorithm,
            fallback=self.fallback,
            _shared=self._shared,
        )

    def situations(self, *, around: datetime) -> list[TravelTimes]:
        """One view per driving situation the model distinguishes (rush hour or not, winter or
        not, emergency or not), on weekdays near ``around``; preparing them all readies every
        metric the service can meet. Situations whose metrics differ by one factor share a
        hierarchy, so most of them cost nothing more."""
        model = self.model
        day = around.replace(minute=0, second=0, microsecond=0)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        hours = [day.replace(hour=h) for h in range(24)]
        kinds = {model.is_peak(t): t for t in reversed(hours)}  # the earliest of each kind
        return [self.situation(at=t, winter=w, emergency=e)
                for t in sorted(kinds.values()) for w in (False, True) for e in (False, True)]

    @property
    def ready(self) -> bool:
        """Whether queries in this situation run on their prepared tables (the snap index and
        a hierarchy built, or plain Dijkstra chosen), not on the fallback or a first build."""
        return self._shared.snap_ready and (
            self._backend is not None or not self.uses_hierarchy
            or self._shared.built(self.times) is not None)

    @property
    def uses_hierarchy(self) -> bool:
        """Whether queries run on a contraction hierarchy (else plain Dijkstra)."""
        if self.algorithm == "auto":
            return self.graph.n_nodes > SMALL_GRAPH_NODES
        return self.algorithm == "ch"

    def prepare(self) -> TravelTimes:
        """Do now the precomputation the first query would otherwise do (the snap index, and a
        hierarchy even with ``fallback``); returns ``self``."""
        self.warm()
        self._paths(build=True)
        return self

    def warm(self) -> TravelTimes:
        """Build the snap index now (shared by every situation of this graph), so no query
        pays for it; returns ``self``."""
        _ = self._shared.snapper
        return self

    @property
    def snap_ready(self) -> bool:
        """Whether the snap index is built."""
        return self._shared.snap_ready

    def _paths(self, *, build: bool = False) -> PathBackend:
        if self._backend is None:
            if self.uses_hierarchy:
                found = self._shared.built(self.times) if self.fallback and not build \
                    else self._shared.hierarchy(self.times)
                if found is None:  # not prepared yet: plain search meanwhile, kept apart
                    return self._shared.fallback(self.times)
                ch, scale = found
                self._backend = ch.paths(scale)
            else:
                self._backend = DijkstraPaths(self.graph, self.times)
        return self._backend

    # -- snapping ----------------------------------------------------------------------

    @property
    def max_snap_m(self) -> float:
        return self._shared.max_snap_m

    def snap(self, lat: float, lon: float) -> SnappedPoint:
        """The nearest road point to ``(lat, lon)`` (see :class:`~routing.snap.Snapper`)."""
        return self._shared.snap(lat, lon)

    def snap_many(self, points: Sequence[tuple[float, float]]) -> list[SnappedPoint]:
        """:meth:`snap` of every ``(lat, lon)``, in one pass (:meth:`Snapper.snap_many`)."""
        return self._shared.snapper.snap_many(points)

    def check_snap(self, lat: float, lon: float) -> None:
        """Raise :class:`SnapError` where :meth:`snap` would, cheaply when a road is surely
        near (:meth:`~routing.snap.Snapper.check`)."""
        if (lat, lon) not in self._shared.snaps:
            self._shared.snapper.check(lat, lon)

    def at_node(self, node: int) -> SnappedPoint:
        """A point exactly at graph node ``node``."""
        return self._shared.snapper.at_node(node)

    def _point(self, where: Location) -> SnappedPoint:
        if isinstance(where, SnappedPoint):
            if where.edge >= self._n_edges or where.twin >= self._n_edges:
                raise SnapError(f"point on edge {where.edge} was snapped on another graph")
            return where
        lat, lon = where
        return self.snap(lat, lon)

    # -- seeds ----------------------------------------------------------------------

    def _points(self, where: Sequence[Location]) -> tuple[list[SnappedPoint], FloatArray]:
        """The points (coordinates snapped) and their :func:`_columns`, checked to lie on
        this graph."""
        pts = [p if type(p) is SnappedPoint else self._point(p) for p in where]
        cols = _columns(pts)
        if len(pts) and cols[:, 0::2].max() >= self._n_edges:  # edge and twin columns
            bad = pts[int(np.argmax(np.maximum(cols[:, 0], cols[:, 2]) >= self._n_edges))]
            raise SnapError(f"point on edge {bad.edge} was snapped on another graph")
        return pts, cols

    def _seeds(self, cs: FloatArray, ct: FloatArray) -> tuple[SeedSet, SeedSet]:
        """Where each source (columns ``cs``) enters and each target (``ct``) leaves the graph.

        Every point gets two seeds. Seed 0 drives the point's own edge (a source to its head, a
        target from its tail); seed 1 drives the twin edge of a two-way road, stands on the end
        node when the point sits exactly there on a one-way road, and is never reached
        (infinite time) otherwise. Both sides in one pass: an alarm's seeds cost ~20 array
        operations, not twice that.
        """
        sh, w, ln = self._shared, self.times, self._shared.lengths
        ks = len(cs)
        cols = np.concatenate((cs, ct))
        e, f, tw = cols[:, 0].astype(np.int64), cols[:, 1], cols[:, 2].astype(np.int64)
        depart = np.arange(len(cols)) < ks
        has_tw = tw >= 0
        twc = np.where(has_tw, tw, e)
        head, tail = sh.target[e], sh.source[e]
        r0 = np.where(depart, 1.0 - f, f)  # share of the edge still to drive / already driven
        r1 = np.where(depart, f, 1.0 - f)  # same along the twin
        nodes = np.empty((len(cols), 2), dtype=np.int64)
        times = np.empty((len(cols), 2))
        lens = np.empty((len(cols), 2))
        nodes[:, 0] = np.where(depart, head, tail)
        nodes[:, 1] = np.where(depart, tail, head)
        times[:, 0], lens[:, 0] = r0 * w[e], r0 * ln[e]
        times[:, 1] = np.where(has_tw, r1 * w[twc], np.where(r1 == 0.0, 0.0, np.inf))
        lens[:, 1] = np.where(has_tw, r1 * ln[twc], 0.0)
        fn, ft, fl = nodes.reshape(-1), times.reshape(-1), lens.reshape(-1)
        cut = 2 * ks
        offsets = np.arange(0, 2 * max(ks, len(ct)) + 1, 2)
        return (
            SeedSet(offsets=offsets[: ks + 1], nodes=fn[:cut], times=ft[:cut], lengths=fl[:cut]),
            SeedSet(offsets=offsets[: len(ct) + 1], nodes=fn[cut:], times=ft[cut:],
                    lengths=fl[cut:]),
        )

    def _direct(
        self, a: SnappedPoint, b: SnappedPoint
    ) -> tuple[float, float, tuple[int, float, float]] | None:
        """Driving from ``a`` to ``b`` along the one road they share, if they share one."""
        if b.edge == a.edge:
            fb = b.fraction
        elif a.twin >= 0 and b.edge == a.twin:
            fb = 1.0 - b.fraction
        else:
            return None
        fa, w, ln = a.fraction, self.times, self._shared.lengths
        best: tuple[float, float, tuple[int, float, float]] | None = None
        if fb >= fa:
            best = ((fb - fa) * w[a.edge], (fb - fa) * ln[a.edge], (a.edge, fa, fb))
        if a.twin >= 0 and fb <= fa:
            t = (fa - fb) * w[a.twin]
            if best is None or t < best[0]:
                best = (t, (fa - fb) * ln[a.twin], (a.twin, 1.0 - fa, 1.0 - fb))
        return best

    def _offroad_s(self, p: SnappedPoint) -> float:
        return p.offroad_m / (self.offroad_speed_kmh / 3.6)

    def _finish(
        self, a: SnappedPoint, b: SnappedPoint, t: float, d: float
    ) -> tuple[float, float]:
        """Add the same-road shortcut and the off-road legs to a network time and distance."""
        if a == b:
            return 0.0, 0.0
        direct = self._direct(a, b)
        if direct is not None and direct[0] < t:
            t, d = direct[0], direct[1]
        if not math.isfinite(t):
            return math.inf, math.inf
        return (
            float(t + self._offroad_s(a) + self._offroad_s(b)),
            float(d + a.offroad_m + b.offroad_m),
        )

    def _between(
        self, srcs: Sequence[SnappedPoint], cs: FloatArray, tgts: Sequence[SnappedPoint],
        ct: FloatArray, times: FloatArray, lens: FloatArray,
    ) -> tuple[FloatArray, FloatArray]:
        """Network results (sources x targets; ``cs``/``ct`` their :func:`_columns`) completed
        with off-road legs and same-road shortcuts; unreachable pairs stay infinite."""
        extra = cs[:, 3, None] + ct[None, :, 3]
        durations = times + extra / (self.offroad_speed_kmh / 3.6)
        distances = lens + extra
        distances[np.isinf(durations)] = np.inf
        same = _road_keys(cs)[:, None] == _road_keys(ct)[None, :]
        if same.any():
            for i, j in np.argwhere(same):
                durations[i, j], distances[i, j] = self._finish(
                    srcs[i], tgts[j], float(times[i, j]), float(lens[i, j])
                )
        return durations, distances

    # -- queries ----------------------------------------------------------------------

    # -- a few points, scalar ---------------------------------------------------------------

    def _few(self, where: Sequence[Location]) -> list[SnappedPoint]:
        """The points of a small query (coordinates snapped), checked as :meth:`_points`
        checks them, without their array of columns."""
        pts = [p if type(p) is SnappedPoint else self._point(p) for p in where]
        n = self._n_edges
        for p in pts:
            if p.edge >= n or p.twin >= n:
                raise SnapError(f"point on edge {p.edge} was snapped on another graph")
        return pts

    def _seed_pair(
        self, p: SnappedPoint, depart: bool
    ) -> tuple[tuple[int, float, float], tuple[int, float, float]]:
        """:meth:`_seeds` of one point, as plain numbers: (node, time, metres) of its two
        seeds, each computed by the same operations as there (so equal to the last bit)."""
        sh, w = self._shared, self.times
        e, f, tw = p.edge, p.fraction, p.twin
        head, tail = int(sh.target[e]), int(sh.source[e])
        r0, r1 = (1.0 - f, f) if depart else (f, 1.0 - f)
        first = (head if depart else tail, float(r0 * w[e]), float(r0 * sh.lengths[e]))
        if tw >= 0:
            second = (tail if depart else head, float(r1 * w[tw]), float(r1 * sh.lengths[tw]))
        else:
            second = (tail if depart else head, 0.0 if r1 == 0.0 else math.inf, 0.0)
        return first, second

    def _seed_set(self, p: SnappedPoint, depart: bool) -> SeedSet:
        """The :class:`SeedSet` of one point as :meth:`_seeds` makes it (the same numbers),
        from :meth:`_seed_pair`: a route's two points need no arrays of columns."""
        (n0, t0, l0), (n1, t1, l1) = self._seed_pair(p, depart)
        return SeedSet(offsets=np.array([0, 2], dtype=np.int64),
                       nodes=np.array([n0, n1], dtype=np.int64),
                       times=np.array([t0, t1], dtype=np.float64),
                       lengths=np.array([l0, l1], dtype=np.float64))

    def _few_etas(
        self, one: SnappedPoint, many: list[SnappedPoint], backend: DijkstraPaths, *, to: bool
    ) -> list[EtaResult]:
        """:meth:`etas_to` (``to``: ``many`` drive to ``one``) or :meth:`etas_from` (``one``
        drives to ``many``) for a few points, in plain floats: the same seeds, tree rows,
        sums in the same order, first-best seed pair, off-road legs and same-road shortcuts as
        the array path, so the same numbers to the last bit, without the cost of small arrays
        (an alarm's candidates on the county map are two or three units)."""
        if not many:
            return []
        own = self._seed_pair(one, not to)  # the rows' point: the target of etas_to
        trees = backend.rows([own[0][0], own[1][0]], reverse=to)
        speed = self.offroad_speed_kmh / 3.6
        key_one = min(one.edge, one.twin) if one.twin >= 0 else one.edge
        out = []
        for p in many:
            seeds = self._seed_pair(p, to)
            best_t, best_l = math.inf, math.inf
            found = False
            for (_, rt, rl), (dist, lens) in zip(own, trees, strict=True):
                for node, ct, cl in seeds:
                    t = rt + float(dist[node]) + ct
                    if not found or t < best_t:
                        best_t, best_l, found = t, rl + float(lens[node]) + cl, True
            if not math.isfinite(best_t):
                best_l = math.inf
            a, b = (p, one) if to else (one, p)
            extra = a.offroad_m + b.offroad_m
            key_p = min(p.edge, p.twin) if p.twin >= 0 else p.edge
            if key_p == key_one:
                dur, dis = self._finish(a, b, best_t, best_l)
            else:
                dur = best_t + extra / speed
                dis = math.inf if math.isinf(dur) else best_l + extra
            out.append(EtaResult(dur, dis))
        return out

    def etas_to(self, target: Location, sources: Sequence[Location]) -> list[EtaResult]:
        """Time and distance from every source (e.g. each unit) to one target (the callout)."""
        if len(sources) <= FEW:
            backend = self._paths()
            if type(backend) is DijkstraPaths:
                return self._few_etas(self._point(target), self._few(sources), backend, to=True)
        tgt = self._point(target)
        srcs, cs = self._points(sources)
        if not srcs:
            return []
        ct = _columns([tgt])
        times, lens = self._paths().many_to_one(*self._seeds(cs, ct))
        dur, dist = self._between(srcs, cs, [tgt], ct, times[:, None], lens[:, None])
        return _eta_results(dur[:, 0], dist[:, 0])

    def etas_from(self, source: Location, targets: Sequence[Location]) -> list[EtaResult]:
        """Time and distance from one source to every target."""
        if len(targets) <= FEW:
            backend = self._paths()
            if type(backend) is DijkstraPaths:
                return self._few_etas(self._point(source), self._few(targets), backend, to=False)
        src = self._point(source)
        tgts, ct = self._points(targets)
        if not tgts:
            return []
        cs = _columns([src])
        times, lens = self._paths().one_to_many(*self._seeds(cs, ct))
        dur, dist = self._between([src], cs, tgts, ct, times[None, :], lens[None, :])
        return _eta_results(dur[0], dist[0])

    def eta(self, source: Location, target: Location) -> EtaResult:
        """Time and distance of the fastest route from ``source`` to ``target``."""
        return self.etas_to(target, [source])[0]

    def matrix(
        self, points: Sequence[Location], targets: Sequence[Location] | None = None
    ) -> TravelMatrix:
        """Durations and distances between all ``points`` (or from ``points`` to ``targets``)."""
        srcs, cs = self._points(points)
        tgts, ct = (srcs, cs) if targets is None else self._points(targets)
        if not srcs or not tgts:
            empty = np.zeros((len(srcs), len(tgts)))
            return TravelMatrix(durations_s=empty, distances_m=empty.copy())
        times, lens = self._paths().many_to_many(*self._seeds(cs, ct))
        dur, dist = self._between(srcs, cs, tgts, ct, times, lens)
        return TravelMatrix(durations_s=dur, distances_m=dist)

    def route(self, a: Location, b: Location) -> Route:
        """The fastest route from ``a`` to ``b`` with geometry and a step list for the crew;
        :class:`~routing.errors.NoRoute` if no road connects them."""
        pa, pb = self._point(a), self._point(b)
        if pa == pb:  # already there: no travel, as in etas_to and matrix
            here = (pa.lat, pa.lon)
            stay = (Step(StepKind.DEPART, "", 0.0, 0.0, *here),
                    Step(StepKind.ARRIVE, "", 0.0, 0.0, *here))
            return Route(pa, pb, 0.0, 0.0, (here, here), (), stay)
        legs = self._legs(pa, pb)
        return build_route(
            self._shared.snapper,
            self.times,
            pa,
            pb,
            legs,
            offroad_speed_ms=self.offroad_speed_kmh / 3.6,
        )

    def geometry(self, a: Location, b: Location) -> tuple[tuple[float, float], ...]:
        """The ``geometry`` of :meth:`route` from ``a`` to ``b`` (the same line, point for
        point), without the route's step list and totals: for drawing a drive or moving a unit
        along it (a simulated unit on its way home). :class:`NoRoute` as :meth:`route`."""
        pa, pb = self._point(a), self._point(b)
        if pa == pb:
            here = (pa.lat, pa.lon)
            return (here, here)
        return tuple(route_geometry(self._shared.snapper, pa, pb, self._legs(pa, pb)))

    def _legs(self, pa: SnappedPoint, pb: SnappedPoint) -> list[tuple[int, float, float]]:
        """The fastest drive from ``pa`` to ``pb`` (two different points) as ``(edge, start
        fraction, end fraction)`` legs, or :class:`NoRoute`."""
        legs: list[tuple[int, float, float]] = []
        direct = self._direct(pa, pb)
        found = self._paths().path(self._seed_set(pa, True), self._seed_set(pb, False))
        if direct is not None and (found is None or direct[0] <= found.time_s):
            legs = [direct[2]]
        elif found is not None:
            legs = [self._departure_leg(pa, found.source_seed)]
            legs.extend((int(e), 0.0, 1.0) for e in found.edges)
            legs.append(self._arrival_leg(pb, found.target_seed))
        else:
            raise NoRoute(
                f"no road connects ({pa.lat:.6f}, {pa.lon:.6f}) to ({pb.lat:.6f}, {pb.lon:.6f})"
            )
        return [leg for leg in legs if leg[2] > leg[1]]

    def _departure_leg(self, p: SnappedPoint, seed: int) -> tuple[int, float, float]:
        if seed == 0:
            return (p.edge, p.fraction, 1.0)
        if p.twin >= 0:
            return (p.twin, 1.0 - p.fraction, 1.0)
        return (p.edge, 0.0, 0.0)  # standing on the tail node: nothing to drive

    def _arrival_leg(self, p: SnappedPoint, seed: int) -> tuple[int, float, float]:
        if seed == 0:
            return (p.edge, 0.0, p.fraction)
        if p.twin >= 0:
            return (p.twin, 0.0, 1.0 - p.fraction)
        return (p.edge, 1.0, 1.0)  # standing on the head node


_FIELDS = operator.attrgetter("edge", "fraction", "twin", "offroad_m")


def _columns(points: Sequence[SnappedPoint]) -> FloatArray:
    """``(edge, fraction, twin, offroad_m)`` of each point as one array (edges fit exactly)."""
    flat = itertools.chain.from_iterable(map(_FIELDS, points))
    return np.fromiter(flat, dtype=np.float64, count=4 * len(points)).reshape(-1, 4)


_new_result = object.__new__
_set_duration: Any = vars(EtaResult)["duration_s"].__set__  # the slots' own descriptors
_set_distance: Any = vars(EtaResult)["distance_m"].__set__


def _eta_results(durations: FloatArray, distances: FloatArray) -> list[EtaResult]:
    """One :class:`EtaResult` per entry, checked as a whole.

    An alarm asks for 50 of them; validating the arrays once and filling the slots directly
    costs half of building each through ``__init__``/``__post_init__``.
    """
    if np.isnan(durations).any() or np.isnan(distances).any() or (
        len(durations) and min(durations.min(), distances.min()) < 0
    ):
        raise RoutingError("durations and distances must be >= 0")
    out = []
    for t, d in zip(durations.tolist(), distances.tolist(), strict=True):
        r = _new_result(EtaResult)
        _set_duration(r, t)
        _set_distance(r, d)
        out.append(r)
    return out


def _road_keys(cols: FloatArray) -> npt.NDArray[np.int64]:
    """One number per road: the lower edge of a two-way pair, or the one-way edge."""
    e, tw = cols[:, 0].astype(np.int64), cols[:, 2].astype(np.int64)
    return np.where(tw >= 0, np.minimum(e, tw), e)
