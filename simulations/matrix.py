"""A region given as a travel-time matrix instead of a road map: nodes and minutes between them.

A planner with a published study's tables (postal-code nodes, a driving-time matrix) brings
them as two CSV files: ``nodes.csv`` (an id, coordinates, optionally a population weight) and
``times.csv`` (minutes, one row per *from* node, a header row of *to* node ids). Coordinates in
a projected system (``crs = "EPSG:28992"``) are turned into WGS84 degrees through ``pyproj``.
Every point a run drives between snaps to its nearest node (straight-line distance), and a
drive takes the matrix's time between the two nodes. :class:`MatrixRoads` answers the
simulator's travel questions with the same methods as :class:`simulations.travel.SimRoads`.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from maps.graph import Facility, Place
from routing.engine import TravelTimes
from simulations.errors import ScenarioError, SimulationError, unreadable
from simulations.travel import Point

__all__ = ["MatrixColumns", "MatrixMap", "MatrixRoads", "load_matrix_map"]

EARTH_M_PER_DEG = 111_320.0
#: The longest travel time a matrix may hold (a week): more is a sentinel or a typo, not a
#: drive, and would carry simulated time past the calendar.
MAX_MATRIX_MIN = 7 * 24 * 60.0
#: Population weights are scaled to integer "people" summing to this (Place counts people).
POPULATION_SCALE = 10_000_000


#: Points whose planar coordinates a matrix region keeps for all its runs (bases, hospitals,
#: nodes, scenes; emptied when full).
PLANAR_KEPT = 100_000

@dataclass(frozen=True, slots=True)
class MatrixColumns:
    """Column names of ``nodes.csv``: the id, the coordinates (x = easting or longitude, y =
    northing or latitude; by default ``x``/``y`` with a crs, ``lon``/``lat`` without) and the
    optional population weight."""

    id: str = "id"
    x: str | None = None
    y: str | None = None
    population: str = "population"


@dataclass(frozen=True, eq=False)
class MatrixMap:
    """Nodes with WGS84 coordinates and population, and seconds between every two nodes
    (``seconds[i, j]``: from node ``i`` to node ``j``)."""

    name: str
    ids: tuple[str, ...]
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    seconds: npt.NDArray[np.float64]
    places: tuple[Place, ...]
    facilities: tuple[Facility, ...] = ()
    _index: dict[str, int] = field(default_factory=dict, repr=False)
    crs: str | None = None
    _tree: cKDTree | None = field(default=None, repr=False)
    _cos: float = field(default=1.0, repr=False)
    _to_crs: Any = field(default=None, repr=False)
    _from_crs: Any = field(default=None, repr=False)
    #: points already put in planar coordinates (:meth:`planar` of each), shared by the runs
    _planar_of: dict[Point, npt.NDArray[np.float64]] = field(
        default_factory=dict, repr=False, compare=False)
    #: the tree's points, a column each (see nearest_planar)
    _tree_x: Any = field(default=None, repr=False, compare=False)
    _tree_y: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index.update({nid: i for i, nid in enumerate(self.ids)})
        lat0 = float(np.mean(self.lat)) if len(self.lat) else 0.0
        object.__setattr__(self, "_cos", math.cos(math.radians(lat0)))
        if self.crs:
            from pyproj import Transformer

            object.__setattr__(self, "_to_crs",
                               Transformer.from_crs("EPSG:4326", self.crs, always_xy=True))
            object.__setattr__(self, "_from_crs",
                               Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True))
        tree = cKDTree(self._xy(self.lat, self.lon))
        object.__setattr__(self, "_tree", tree)
        object.__setattr__(self, "_tree_x", np.ascontiguousarray(tree.data[:, 0]))
        object.__setattr__(self, "_tree_y", np.ascontiguousarray(tree.data[:, 1]))

    def _xy(self, lat: npt.ArrayLike, lon: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Planar coordinates to measure "nearest" in: the map's own crs when it has one (as
        its nodes were given), else metres of a local equirectangular projection."""
        lat_a = np.asarray(lat, dtype=np.float64)
        lon_a = np.asarray(lon, dtype=np.float64)
        if self._to_crs is not None:
            x, y = self._to_crs.transform(lon_a, lat_a)
            return np.column_stack([np.asarray(x, dtype=np.float64),
                                    np.asarray(y, dtype=np.float64)])
        return np.column_stack([lon_a * self._cos * EARTH_M_PER_DEG, lat_a * EARTH_M_PER_DEG])

    @property
    def n(self) -> int:
        return len(self.ids)

    def index(self, node_id: str) -> int:
        """The row of node ``node_id``; KeyError naming it when the map has no such node."""
        try:
            return self._index[node_id]
        except KeyError:
            raise KeyError(f"no node {node_id!r} in the matrix") from None

    def nearest(self, lats: Sequence[float], lons: Sequence[float]) -> npt.NDArray[np.intp]:
        """The nearest node of each point (straight-line distance)."""
        assert self._tree is not None
        _, idx = self._tree.query(self._xy(lats, lons))
        out: npt.NDArray[np.intp] = np.asarray(idx, dtype=np.intp)
        return out

    def between(self, a: Point, b: Point, fraction: float) -> Point:
        """The point ``fraction`` of the way from ``a`` to ``b`` in a straight line of the
        map's own coordinates (so "nearest node" afterwards means what it means there)."""
        if fraction <= 0:
            return a
        if fraction >= 1:
            return b
        if self._from_crs is None:
            return (a[0] + fraction * (b[0] - a[0]), a[1] + fraction * (b[1] - a[1]))
        xy = self._xy([a[0], b[0]], [a[1], b[1]])
        return self.to_point(xy[0] + fraction * (xy[1] - xy[0]))

    def planar(self, p: Point) -> npt.NDArray[np.float64]:
        """``p`` in the planar coordinates "nearest" is measured in."""
        out: npt.NDArray[np.float64] = self._xy([p[0]], [p[1]])[0]
        return out

    def to_point(self, xy: npt.NDArray[np.float64] | tuple[float, float]) -> Point:
        """Planar coordinates back to (lat, lon)."""
        if self._from_crs is None:
            return (float(xy[1] / EARTH_M_PER_DEG),
                    float(xy[0] / (self._cos * EARTH_M_PER_DEG)))
        lon, lat = self._from_crs.transform(float(xy[0]), float(xy[1]))
        return (float(lat), float(lon))

    def nearest_planar(self, xy: npt.NDArray[np.float64] | tuple[float, float]) -> int:
        """The node nearest to planar coordinates ``xy`` (ties: the lower index, as the
        k-d tree of :meth:`nearest`)."""
        assert self._tree is not None
        if len(self._tree_x) > 4096:
            return int(self._tree.query(xy)[1])
        # the same squares and sums as over the tree's own (strided) columns, on contiguous
        # copies at about half the cost
        d = (self._tree_x - xy[0]) ** 2 + (self._tree_y - xy[1]) ** 2
        return int(np.argmin(d))

    def point(self, i: int) -> Point:
        return (float(self.lat[i]), float(self.lon[i]))

    @property
    def center_lat(self) -> float:
        return float(np.mean(self.lat))


def _read_rows(path: Path, what: str) -> list[list[str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = [row for row in csv.reader(fh) if row and any(c.strip() for c in row)]
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"map.{what}", unreadable(path, exc)) from None
    if rows and len(rows[0]) == 1 and ";" in rows[0][0]:
        raise ScenarioError(f"map.{what}", f"{path} has one column: its values are separated "
                                           "by ';' — write them with ',' (comma-separated)")
    return rows


def _number(text: str, key: str, row: int, column: str) -> float:
    """The number in ``column`` of ``row``; errors name both (a spreadsheet's row, the
    header's column name)."""
    where = f"row {row}, column {column!r}"
    if not text.strip():
        raise ScenarioError(key, f"{where}: the cell is empty")
    try:
        v = float(text)
    except ValueError:
        raise ScenarioError(key, f"{where}: {text!r} is not a number") from None
    if not math.isfinite(v):
        raise ScenarioError(key, f"{where}: {text!r} is not a finite number")
    return v


def load_matrix_map(nodes: Path, matrix: Path, *, crs: str | None = None,
                    columns: MatrixColumns = MatrixColumns()) -> MatrixMap:
    """Read ``nodes`` and ``matrix`` (minutes, row = from) into a :class:`MatrixMap`; errors
    name the ``map.…`` key and the row (the header is row 1)."""
    rows = _read_rows(nodes, "nodes")
    if not rows:
        raise ScenarioError("map.nodes", f"{nodes} is empty")
    header = [h.strip() for h in rows[0]]
    xname = columns.x or ("x" if crs else "lon")
    yname = columns.y or ("y" if crs else "lat")
    if not crs and (xname not in header or yname not in header) and "x" in header:
        raise ScenarioError("map.crs", "the nodes have no lon/lat columns: name the crs of "
                                       f"their x/y (e.g. EPSG:28992); header: {header}")
    need = [columns.id, xname, yname]
    for c in need:
        if c not in header:
            raise ScenarioError("map.nodes", f"column {c!r} is missing; header: {header}")
    ci, cx, cy = (header.index(c) for c in need)
    cp = header.index(columns.population) if columns.population in header else None
    ids: list[str] = []
    xs: list[float] = []
    ys: list[float] = []
    weights: list[float] = []
    for r, row in enumerate(rows[1:], start=2):
        if len(row) < len(header):
            raise ScenarioError("map.nodes", f"row {r}: {len(row)} values, expected "
                                             f"{len(header)} (one per column of the header)")
        nid = row[ci].strip()
        if not nid or nid in ids:
            raise ScenarioError("map.nodes", f"row {r}: node id {nid!r} is empty or repeats")
        ids.append(nid)
        xs.append(_number(row[cx], "map.nodes", r, xname))
        ys.append(_number(row[cy], "map.nodes", r, yname))
        w = _number(row[cp], "map.nodes", r, header[cp]) if cp is not None else 1.0
        if w < 0:
            raise ScenarioError("map.nodes", f"row {r}: population {w} is negative")
        weights.append(w)
    if crs:
        from pyproj import Transformer
        from pyproj.exceptions import CRSError

        try:
            to_wgs = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        except CRSError as exc:
            raise ScenarioError("map.crs", f"{crs!r} is not a coordinate system: {exc}") from None
        lon, lat = to_wgs.transform(np.array(xs), np.array(ys))
        lat, lon = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
    else:
        lat, lon = np.array(ys, dtype=np.float64), np.array(xs, dtype=np.float64)
    if not (np.all(np.abs(lat) <= 90) and np.all(np.abs(lon) <= 180)):
        raise ScenarioError("map.crs", "coordinates fall outside the globe: check the crs")
    seconds = _read_matrix(matrix, ids)
    total = sum(weights)
    scale = POPULATION_SCALE / total if total > 0 else 0.0
    places = tuple(
        Place(nid, float(lat[i]), float(lon[i]), node=i, population=round(weights[i] * scale))
        for i, nid in enumerate(ids)
    )
    return MatrixMap(name=nodes.stem, ids=tuple(ids), lat=lat, lon=lon, seconds=seconds,
                     places=places, crs=crs)


def _read_matrix(path: Path, ids: list[str]) -> npt.NDArray[np.float64]:
    rows = _read_rows(path, "matrix")
    if not rows:
        raise ScenarioError("map.matrix", f"{path} is empty")
    cols = [c.strip() for c in rows[0][1:]]
    if sorted(cols) != sorted(ids):
        missing = sorted(set(ids) - set(cols))[:5]
        extra = sorted(set(cols) - set(ids))[:5]
        raise ScenarioError("map.matrix", f"the header's node ids differ from the nodes file "
                                          f"(missing {missing}, unknown {extra})")
    col_of = [cols.index(i) for i in ids]
    by_id: dict[str, list[float]] = {}
    for r, row in enumerate(rows[1:], start=2):
        nid = row[0].strip()
        if nid not in cols:
            raise ScenarioError("map.matrix", f"row {r}: unknown node {nid!r}")
        if len(row) != len(cols) + 1:
            raise ScenarioError("map.matrix", f"row {r}: {len(row) - 1} values, expected "
                                              f"{len(cols)}")
        values = []
        for c in col_of:
            v = _number(row[1 + c], "map.matrix", r, cols[c])
            if v < 0:
                raise ScenarioError("map.matrix", f"row {r}, column {cols[c]!r}: {v:g} is a "
                                                  "negative time")
            if v > MAX_MATRIX_MIN:
                raise ScenarioError("map.matrix", f"row {r}, column {cols[c]!r}: {v:g} is over "
                                                  f"{MAX_MATRIX_MIN:g} minutes (a week), not a "
                                                  "drive")
            values.append(v)
        if nid in by_id:
            raise ScenarioError("map.matrix", f"row {r}: node {nid!r} has a row already")
        by_id[nid] = values
    missing_rows = [i for i in ids if i not in by_id]
    if missing_rows:
        raise ScenarioError("map.matrix", f"no row for node(s) {missing_rows[:5]}")
    return np.array([by_id[i] for i in ids], dtype=np.float64) * 60.0


class MatrixRoads:
    """The simulator's travel questions answered from a :class:`MatrixMap`: every point snaps
    to its nearest node (remembered), a drive takes the matrix's time between the nodes and its
    line is straight. Same methods as :class:`simulations.travel.SimRoads`."""

    def __init__(self, region: MatrixMap) -> None:
        self.region = region
        self._node: dict[Point, int] = {}
        self._planar = region._planar_of  # a point's coordinates are the same in every run
        #: The matrix's seconds as rows of plain floats (the same numbers), made on first use:
        #: an alarm reads one entry per unit, and indexing an array costs more than a list.
        self._rows: list[list[float]] | None = None
        self._points: list[Point] | None = None
        self.queries = 0

    @property
    def rows(self) -> list[list[float]]:
        found = self._rows
        if found is None:
            found = self._rows = self.region.seconds.tolist()
        return found

    def _xy(self, p: Point) -> npt.NDArray[np.float64]:
        found = self._planar.get(p)
        if found is None:
            if len(self._planar) >= PLANAR_KEPT:
                self._planar.clear()
            found = self._planar[p] = self.region.planar(p)
        return found

    def node(self, p: Point) -> int:
        found = self._node.get(p)
        if found is None:
            found = int(self.region.nearest([p[0]], [p[1]])[0])
            self._node[p] = found
        return found

    def register(self, fixed: Sequence[Point], scenes: Sequence[Point],
                 at: Sequence[datetime] | None = None) -> None:
        """Snap every point a run drives between in one query (the nodes of earlier runs'
        points are kept, up to :data:`PLANAR_KEPT`: then a run starts afresh); a matrix has
        one driving situation, so the scenes' instants ``at`` change nothing."""
        if len(self._node) > PLANAR_KEPT:
            self._node.clear()
        points = [p for p in dict.fromkeys([*fixed, *scenes]) if p not in self._node]
        if points:
            idx = self.region.nearest([p[0] for p in points], [p[1] for p in points])
            self._node.update(zip(points, idx.tolist(), strict=True))

    def nearest_node(self, p: Point) -> Point:
        """The node a point snaps to, as a point."""
        return self._point(self.node(p))

    def _point(self, i: int) -> Point:
        """:meth:`MatrixMap.point` ``i``, made once per node."""
        points = self._points
        if points is None:
            points = self._points = [self.region.point(j) for j in range(self.region.n)]
        return points[i]

    def etas(self, target: Point, sources: Sequence[Point], when: datetime) -> list[float]:
        j, rows, known = self.node(target), self.rows, self._node
        return [rows[i if (i := known.get(p)) is not None else self.node(p)][j]
                for p in sources]

    def time(self, a: Point, b: Point, when: datetime) -> float:
        return self.rows[self.node(a)][self.node(b)]

    def times_from(self, a: Point, targets: Sequence[Point], when: datetime) -> list[float]:
        row = self.rows[self.node(a)]
        return [row[self.node(t)] for t in targets]

    def geometry(self, a: Point, b: Point, when: datetime) -> tuple[Point, ...]:
        return (a, b)

    def along(self, line: Sequence[Point], fraction: float) -> Point:
        """Where a drive along ``line`` (a straight leg here) is at ``fraction`` of it, as
        :meth:`MatrixMap.between` puts it; its nearest node is remembered on the way."""
        a, b = line[0], line[-1]
        if fraction <= 0:
            return a
        if fraction >= 1:
            return b
        xy = self._planar_along(a, b, fraction)
        p = self.region.to_point(xy)
        self._node.setdefault(p, self.region.nearest_planar(xy))
        return p

    def node_along(self, line: Sequence[Point], fraction: float) -> Point:
        """``nearest_node(along(line, fraction))``, found in the map's own plane without the
        way back to degrees (a coordinate transformation per point) that only the point
        itself needs."""
        a, b = line[0], line[-1]
        if fraction <= 0:
            return self.nearest_node(a)
        if fraction >= 1:
            return self.nearest_node(b)
        return self._point(self.region.nearest_planar(self._planar_along(a, b, fraction)))

    def _planar_along(self, a: Point, b: Point, fraction: float) -> tuple[float, float]:
        """The point ``fraction`` of the way from ``a`` to ``b`` in the map's plane."""
        xa, xb = self._xy(a), self._xy(b)
        # in plain floats: the same IEEE operations as the two-element array sum, without
        # numpy's cost per call on arrays of two
        ax, ay = float(xa[0]), float(xa[1])
        return (ax + fraction * (float(xb[0]) - ax), ay + fraction * (float(xb[1]) - ay))

    def at(self, when: datetime) -> TravelTimes:
        raise SimulationError("a travel-time matrix has no roads to route on (coverage_aware "
                              "needs a road map)")
