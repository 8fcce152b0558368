"""Travel times for the simulated crews, from the live service's routing engine.

One :class:`~routing.engine.TravelTimes` per driving situation (winter or not, rush hour or
not), all sharing the graph's precomputation; points are snapped once and remembered, and times
between fixed points (bases, facilities) are remembered per situation.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import numpy as np

from maps.graph import RoadGraph, haversine_m_pair
from maps.traveltime import DEFAULT_TIMEZONE, TravelTimeModel
from routing.engine import TravelTimes
from routing.errors import RoutingError
from routing.snap import SnappedPoint
from simulations.spec import Roads

#: Points (and point pairs) whose snaps, times and road lines a travel source keeps across runs.
#: Each seed brings its own scenes, so a long process (``mae optimise``, many seeds) emptied
#: them at the start of a run once past this, as a fresh process would start (about 25 county
#: years; each kept point costs a few hundred bytes).
KEPT_POINTS = 100_000

__all__ = ["Point", "SimRoads", "TravelSource", "point_along"]

Point = tuple[float, float]
#: A situation's matrices: fixed to scenes, scenes to fixed, fixed to fixed, the scenes' rows.
_Tables = tuple[list[list[float]], list[list[float]], list[list[float]], dict[Point, int]]


class TravelSource(Protocol):
    """What the simulator asks of a region's travel times, whether they come from a road map
    (:class:`SimRoads`) or a travel-time matrix (:class:`simulations.matrix.MatrixRoads`)."""

    queries: int

    def register(self, fixed: Sequence[Point], scenes: Sequence[Point],
                 at: Sequence[datetime] | None = None) -> None: ...

    def etas(self, target: Point, sources: Sequence[Point], when: datetime) -> list[float]: ...

    def time(self, a: Point, b: Point, when: datetime) -> float: ...

    def times_from(self, a: Point, targets: Sequence[Point], when: datetime) -> list[float]: ...

    def geometry(self, a: Point, b: Point, when: datetime) -> tuple[Point, ...]: ...

    def nearest_node(self, p: Point) -> Point: ...

    def along(self, line: Sequence[Point], fraction: float) -> Point: ...

    def node_along(self, line: Sequence[Point], fraction: float) -> Point: ...

    def at(self, when: datetime) -> TravelTimes: ...


class SimRoads:
    """ETAs and routes on ``graph`` for the scenario's road conditions at a simulated time;
    rush hours and winter months are read on the scenario's ``timezone``."""

    def __init__(self, graph: RoadGraph, roads: Roads,
                 timezone: str = DEFAULT_TIMEZONE) -> None:
        self.graph = graph
        self.roads = roads
        self.model = TravelTimeModel(winter_factor=roads.winter_factor, timezone=timezone)
        self._winter: bool | None = {"winter": True, "summer": False}.get(roads.season)
        self.base = TravelTimes(graph, self.model, winter=self._winter,
                                emergency=roads.emergency,
                                offroad_speed_kmh=roads.offroad_speed_kmh)
        self._situations: dict[tuple[bool, bool], TravelTimes] = {}
        self._snaps: dict[Point, SnappedPoint] = {}
        self._pairs: dict[tuple[Point, Point, bool, bool], float] = {}
        #: Per situation, the registered points' matrices: fixed to scenes, scenes to fixed,
        #: fixed to fixed (rows of plain floats), and the row of each of its scenes; the fixed
        #: points' rows are in ``_fixed_at``.
        self._tables: dict[tuple[bool, bool], _Tables] = {}
        self._fixed_at: dict[Point, int] = {}
        #: With the scenes' instants given, the driving situations each scene is prepared for.
        self._scene_keys: dict[Point, set[tuple[bool, bool]]] | None = None
        self._lines: dict[tuple[Point, Point, bool, bool], tuple[Point, ...]] = {}
        self._fixed: list[Point] = []
        self._scenes: list[Point] = []
        self._loaded: set[tuple[bool, bool]] = set()
        self._cos = math.cos(math.radians(float(np.mean(graph.node_lat)))) if len(
            graph.node_lat) else 1.0
        self._tree: object | None = None
        self._last_key: tuple[datetime, tuple[bool, bool]] | None = None
        self.queries = 0

    def along(self, line: Sequence[Point], fraction: float) -> Point:
        """Where a drive along the road ``line`` is at ``fraction`` of it (by distance)."""
        return point_along(line, fraction)

    def node_along(self, line: Sequence[Point], fraction: float) -> Point:
        """The node nearest to where a drive along ``line`` is at ``fraction`` of it."""
        return self.nearest_node(self.along(line, fraction))

    def nearest_node(self, p: Point) -> Point:
        """The graph node nearest to ``p`` in a straight line (built on first use)."""
        from scipy.spatial import cKDTree

        g = self.graph
        if self._tree is None:
            self._tree = cKDTree(np.column_stack([g.node_lon * self._cos, g.node_lat]))
        assert isinstance(self._tree, cKDTree)
        _, i = self._tree.query([p[1] * self._cos, p[0]])
        return (float(g.node_lat[int(i)]), float(g.node_lon[int(i)]))

    def register(self, fixed: Sequence[Point], scenes: Sequence[Point],
                 at: Sequence[datetime] | None = None) -> None:
        """Points every run drives between: bases and facilities (``fixed``) and the alarms'
        scenes. Times between the two sets are computed in two matrix calls per situation, on
        the situation's first use, instead of one query per drive. With ``at``, the instant of
        each scene's alarm, a scene is prepared only for the driving situation of that instant;
        a drive in another one is asked when it comes, as for a point never registered (the
        same times to within float rounding: a matrix's and a single query's may differ in the
        last bit)."""
        if max(len(self._snaps), len(self._pairs), len(self._lines)) > KEPT_POINTS:
            self._snaps.clear()
            self._pairs.clear()
            self._lines.clear()
        self._fixed = list(dict.fromkeys(fixed))
        self._scenes = list(dict.fromkeys(scenes))
        self._fixed_at = {p: i for i, p in enumerate(self._fixed)}
        if at is None:
            self._scene_keys = None
        else:
            keys: dict[Point, set[tuple[bool, bool]]] = {}
            for p, when in zip(scenes, at, strict=True):
                keys.setdefault(p, set()).add(self._situation(when))
            self._scene_keys = keys
        self._loaded.clear()
        self._tables.clear()

    def _load(self, key: tuple[bool, bool], tt: TravelTimes) -> None:
        self._loaded.add(key)
        if not self._fixed or not self._scenes:
            return
        keys = self._scene_keys
        mine = self._scenes if keys is None else [p for p in self._scenes if key in keys[p]]
        new = [p for p in dict.fromkeys([*self._fixed, *mine]) if p not in self._snaps]
        self._snaps.update(zip(new, self.base.snap_many(new), strict=True))
        fixed = [self.snap(p) for p in self._fixed]
        scenes = [self.snap(p) for p in mine]
        empty: list[list[float]] = [[] for _ in fixed]
        self._tables[key] = (
            tt.matrix(fixed, scenes).durations_s.tolist() if scenes else empty,
            tt.matrix(scenes, fixed).durations_s.tolist() if scenes else [],
            tt.matrix(fixed).durations_s.tolist(),
            {p: j for j, p in enumerate(mine)},
        )

    def _known(self, a: Point, b: Point, key: tuple[bool, bool]) -> float | None:
        """Seconds from ``a`` to ``b`` in situation ``key`` if known: from the matrices of the
        registered points, else remembered from an earlier query."""
        tables = self._tables.get(key)
        if tables is not None:
            out, back, between, scene_at = tables
            i, k = self._fixed_at.get(a), self._fixed_at.get(b)
            if k is not None:
                if i is not None:
                    return between[i][k]
                j = scene_at.get(a)
                if j is not None:
                    return back[j][k]
            if i is not None:
                m = scene_at.get(b)
                if m is not None:
                    return out[i][m]
        return self._pairs.get((a, b, *key))

    def key(self, at: datetime) -> tuple[bool, bool]:
        """The driving situation (winter, rush hour) at ``at``; the last one asked is
        remembered, as the simulator asks again and again at one instant (its clock makes
        one ``datetime`` per tick)."""
        last = self._last_key
        if last is not None and last[0] is at:
            return last[1]
        found = self._situation(at)
        self._last_key = (at, found)
        return found

    def _situation(self, at: datetime) -> tuple[bool, bool]:
        """(winter, rush hour) at ``at``: what tells one prepared travel-time engine from
        another."""
        return (self.model.is_winter(at, self._winter), self.model.is_peak(at))

    def at(self, when: datetime) -> TravelTimes:
        """The travel-time engine for the driving situation at ``when``."""
        key = self.key(when)
        found = self._situations.get(key)
        if found is None:
            found = self.base.situation(at=when, winter=key[0], emergency=self.roads.emergency)
            found.prepare()
            self._situations[key] = found
        if key not in self._loaded:
            self._load(key, found)
        return found

    def snap(self, p: Point) -> SnappedPoint:
        found = self._snaps.get(p)
        if found is None:
            found = self.base.snap(*p)
            self._snaps[p] = found
        return found

    def etas(self, target: Point, sources: Sequence[Point], when: datetime) -> list[float]:
        """Seconds from each source to ``target`` (infinite when no road connects)."""
        tt = self.at(when)
        key = self.key(when)
        known = [self._known(s, target, key) for s in sources]
        if all(k is not None for k in known):
            return [float(k) for k in known if k is not None]
        self.queries += 1
        return [r.duration_s for r in tt.etas_to(self.snap(target),
                                                 [self.snap(s) for s in sources])]

    def time(self, a: Point, b: Point, when: datetime) -> float:
        """Seconds from ``a`` to ``b``, remembered per situation."""
        self.at(when)
        situation = self.key(when)
        found = self._known(a, b, situation)
        if found is None:
            found = self.etas(b, [a], when)[0]
            self._pairs[(a, b, *situation)] = found
        return found

    def times_from(self, a: Point, targets: Sequence[Point], when: datetime) -> list[float]:
        """Seconds from ``a`` to each target (e.g. a scene to the facilities)."""
        tt = self.at(when)
        key = self.key(when)
        known = [self._known(a, t, key) for t in targets]
        if all(k is not None for k in known):
            return [float(k) for k in known if k is not None]
        self.queries += 1
        return [r.duration_s for r in tt.etas_from(self.snap(a), [self.snap(t) for t in targets])]

    def geometry(self, a: Point, b: Point, when: datetime) -> tuple[Point, ...]:
        """The driven line from ``a`` to ``b`` (a straight segment if routing fails),
        remembered per situation: drives home from a facility repeat all year."""
        key = (a, b, *self.key(when))
        found = self._lines.get(key)
        if found is None:
            try:
                found = self.at(when).geometry(self.snap(a), self.snap(b))
            except RoutingError:
                found = (a, b)
            self._lines[key] = found
        return found


def point_along(line: Sequence[Point], fraction: float) -> Point:
    """The point ``fraction`` (0..1) of the way along ``line`` by distance."""
    if len(line) == 1 or fraction <= 0:
        return line[0]
    if fraction >= 1:
        return line[-1]
    steps = [haversine_m_pair(a[0], a[1], b[0], b[1]) for a, b in itertools.pairwise(line)]
    total = sum(steps)
    if total <= 0 or not math.isfinite(total):
        return line[0]
    want = fraction * total
    for (a, b), d in zip(itertools.pairwise(line), steps, strict=True):
        if want <= d and d > 0:
            f = want / d
            return (a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]))
        want -= d
    return line[-1]
