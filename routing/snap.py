"""Snap a coordinate onto the nearest road: the closest point of any edge, geometry included.

Units report GPS positions and callouts come with an address coordinate; neither lies on a graph
node. :class:`Snapper` finds the nearest point on the nearest road segment (every shape point of
an edge counts, not just its end nodes) and returns a :class:`SnappedPoint`: the edge, how far
along it the point lies, and the straight off-road distance that travel-time queries cost at a
slow speed. A point farther than ``max_snap_m`` from every road raises :class:`SnapError`.

Index: every segment is sampled at most ``spacing`` metres apart into a k-d tree of 3-D points on
the sphere. The nearest sample is at most ``spacing / 2`` farther than the nearest segment, so the
exact answer is among the segments with a sample within ``nearest sample + spacing / 2``; those
few candidates are then measured exactly in a local plane around the query point.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from maps.export import pair_two_way_edges
from maps.graph import EARTH_RADIUS_M, RoadGraph, haversine_m, haversine_m_pair
from routing.errors import SnapError

__all__ = ["DEFAULT_MAX_SNAP_M", "SnappedPoint", "Snapper", "edge_twins"]

#: Farthest a coordinate may lie from a road before snapping refuses it. The bundled county map
#: draws roads between places as coarse polylines, so a house can lie a few km from the nearest
#: drawn road; on a full OpenStreetMap extract a smaller limit (say 1 km) is more telling.
DEFAULT_MAX_SNAP_M = 5_000.0

#: Metres per degree of latitude (and of longitude at the equator).
_KY = EARTH_RADIUS_M * math.pi / 180.0

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
#: An edge's ``(lat, lon)`` points, their latitudes and longitudes, metres along it to each
#: (plain floats: one point's way along an edge is a handful of steps).
_Measured = tuple[list[tuple[float, float]], list[float], list[float], list[float]]


class _Scalars(NamedTuple):
    """The snapper's segment and sample arrays as :class:`array.array` copies, whose items
    read as plain floats and ints (for one point's snap) at 8 bytes an item, as NumPy's:
    lists of floats would take about four times that, a gigabyte for a large region's
    samples. ``sample_xyz`` holds each sample's x, y, z in turn."""

    sample_seg: array[int]
    sample_xyz: array[float]
    lat0: array[float]
    lon0: array[float]
    lat1: array[float]
    lon1: array[float]
    seg_len: array[float]
    before: array[float]
    seg_edge: array[int]
    edge_total: array[float]
    twin: array[int]


def _floats(values: Any) -> array[float]:
    """``values`` (an array) as an ``array('d')`` of the same float64 values (one copy)."""
    return array("d", np.ascontiguousarray(values, dtype=np.float64).tobytes())


def _ints(values: Any) -> array[int]:
    """``values`` (an array) as an ``array('q')`` of the same int64 values (one copy)."""
    return array("q", np.ascontiguousarray(values, dtype=np.int64).tobytes())


#: Edges whose measured geometry :meth:`Snapper.geometry_along` keeps (a few hundred bytes each).
MEASURED_EDGES = 4096


@dataclass(frozen=True, slots=True)
class SnappedPoint:
    """A coordinate placed on a road of one graph.

    ``edge`` is a directed edge and ``fraction`` how far along it (0 = tail node, 1 = head node)
    the road point lies; ``twin`` is the opposite edge of the same two-way road, or -1 when the
    road is one-way. ``offroad_m`` is the straight distance from ``(lat, lon)`` to the road point
    ``(road_lat, road_lon)``.
    """

    lat: float
    lon: float
    edge: int
    fraction: float
    road_lat: float
    road_lon: float
    offroad_m: float = 0.0
    twin: int = -1

    def __post_init__(self) -> None:
        if self.edge < 0:
            raise SnapError(f"edge must be >= 0, got {self.edge}")
        if self.twin < -1:
            raise SnapError(f"twin must be an edge or -1, got {self.twin}")
        if not (math.isfinite(self.fraction) and 0.0 <= self.fraction <= 1.0):
            raise SnapError(f"fraction must be within 0..1, got {self.fraction!r}")
        if not (math.isfinite(self.offroad_m) and self.offroad_m >= 0.0):
            raise SnapError(f"offroad_m must be a finite distance >= 0, got {self.offroad_m!r}")
        _check_coordinate(self.lat, self.lon)


def _check_coordinate(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise SnapError(f"latitude {lat!r} is not within -90..90")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise SnapError(f"longitude {lon!r} is not within -180..180")


def edge_twins(graph: RoadGraph) -> npt.NDArray[np.int32]:
    """For every edge, the opposite edge of the same two-way road, or -1 for one-way edges."""
    twin = np.full(graph.n_edges, -1, dtype=np.int32)
    forward, partner = pair_two_way_edges(graph)
    paired = partner >= 0
    twin[forward[paired]] = partner[paired]
    twin[partner[paired]] = forward[paired]
    return twin


#: Grid cells are numbered (row + _CELL_ROW) * _CELL_ROWS + column: rows are bands of
#: ``cell_deg`` latitude, and a row's columns as wide in longitude as ``cell_deg`` metres of
#: latitude are where the row lies nearest the equator (so no wider anywhere in it). Cells of
#: at least 1 m keep rows and columns under 2**25 either way.
_CELL_ROW = 2**25
_CELL_ROWS = 2**26


#: The intake grid (:meth:`Snapper.check`): cells of this share of ``max_snap_m`` on a side
#: (so a diagonal of 0.354), kept when a point this share of ``max_snap_m`` from a road sample
#: lies in them: 0.354 + 0.59 leaves 5 % of ``max_snap_m`` for the flat-earth offsets.
_CELL_SIDE = 0.25
_CELL_REACH = 0.59


def _row_widths(rows: Any, cell_deg: float) -> Any:
    """The longitude width of grid row ``rows`` (an int or an int array)."""
    nearest = np.minimum(np.abs(rows), np.abs(rows + 1)) * cell_deg  # degrees from the equator
    return cell_deg / np.cos(np.radians(np.minimum(nearest, 89.0)))


def _cell_keys(lat: FloatArray, lon: FloatArray, cell_deg: float) -> IntArray:
    """The grid cell number of each point (see :meth:`Snapper.check`)."""
    rows = np.floor(lat / cell_deg).astype(np.int64)
    columns = np.floor(lon / _row_widths(rows, cell_deg)).astype(np.int64)
    keys: IntArray = (rows + _CELL_ROW) * _CELL_ROWS + columns
    return keys


def _cell_key(lat: float, lon: float, cell_deg: float) -> int:
    """:func:`_cell_keys` of one point, in plain floats."""
    row = math.floor(lat / cell_deg)
    nearest = min(abs(row), abs(row + 1)) * cell_deg
    width = cell_deg / math.cos(math.radians(min(nearest, 89.0)))
    return (row + _CELL_ROW) * _CELL_ROWS + math.floor(lon / width)


def _xyz(lat: Any, lon: Any) -> FloatArray:
    """Points on a sphere of the earth's radius, so chord length approximates ground distance."""
    p, lm = np.radians(lat), np.radians(lon)
    c = np.cos(p)
    return np.column_stack([c * np.cos(lm), c * np.sin(lm), np.sin(p)]) * EARTH_RADIUS_M


class Snapper:
    """Nearest-road lookup over one graph; build once, query from any number of threads."""

    def __init__(self, graph: RoadGraph, *, max_snap_m: float = DEFAULT_MAX_SNAP_M) -> None:
        from scipy.spatial import cKDTree

        if not (math.isfinite(max_snap_m) and max_snap_m > 0):
            raise SnapError(f"max_snap_m must be a positive distance, got {max_snap_m!r}")
        self.graph = graph
        self.max_snap_m = float(max_snap_m)
        self.twin = edge_twins(graph)
        # Index each road once: one-way edges, and the lower-numbered edge of each two-way pair.
        edges = np.flatnonzero((self.twin < 0) | (np.arange(graph.n_edges) < self.twin))
        src = graph.edge_source
        n_mid = np.diff(graph.geom_offsets)[edges]
        n_pts = n_mid + 2
        starts = np.zeros(len(edges) + 1, dtype=np.int64)
        np.cumsum(n_pts, out=starts[1:])
        total = int(starts[-1])
        lat = np.empty(total)
        lon = np.empty(total)
        first, last = starts[:-1], starts[1:] - 1
        lat[first], lon[first] = graph.node_lat[src[edges]], graph.node_lon[src[edges]]
        tgt = graph.edge_target[edges]
        lat[last], lon[last] = graph.node_lat[tgt], graph.node_lon[tgt]
        within = _ragged_arange(n_mid)
        out_idx = np.repeat(first + 1, n_mid) + within
        geo_idx = np.repeat(graph.geom_offsets[edges], n_mid) + within
        lat[out_idx] = graph.geom_lat[geo_idx]
        lon[out_idx] = graph.geom_lon[geo_idx]
        # segments join consecutive points of one edge's polyline
        is_last = np.zeros(total, dtype=bool)
        is_last[last] = True
        seg_a = np.flatnonzero(~is_last)
        seg_len = haversine_m(lat[seg_a], lon[seg_a], lat[seg_a + 1], lon[seg_a + 1])
        seg_edge_pos = np.repeat(np.arange(len(edges)), n_pts - 1)
        edge_total = np.bincount(seg_edge_pos, weights=seg_len, minlength=len(edges))
        excl = np.cumsum(seg_len) - seg_len
        first_seg = starts[:-1] - np.arange(len(edges))
        before = excl - np.repeat(excl[first_seg], n_pts - 1)
        self._seg_lat0, self._seg_lon0 = lat[seg_a], lon[seg_a]
        self._seg_lat1, self._seg_lon1 = lat[seg_a + 1], lon[seg_a + 1]
        self._seg_len = seg_len
        self._seg_before = before  # metres along the edge before the segment starts
        self._seg_edge = edges[seg_edge_pos].astype(np.int64)
        self._edge_total = np.zeros(graph.n_edges)
        self._edge_total[edges] = edge_total
        # sample every segment at most `spacing` apart (both ends included)
        positive = seg_len[seg_len > 0]
        typical = float(np.median(positive)) if len(positive) else 100.0
        self.spacing = float(min(500.0, max(25.0, 2.0 * typical)))
        k = np.maximum(np.ceil(seg_len / self.spacing).astype(np.int64), 1) + 1
        seg_of_sample = np.repeat(np.arange(len(seg_len)), k)
        t = _ragged_arange(k) / np.repeat(k - 1, k)
        s_lat = self._seg_lat0[seg_of_sample] + t * (
            self._seg_lat1[seg_of_sample] - self._seg_lat0[seg_of_sample]
        )
        s_lon = self._seg_lon0[seg_of_sample] + t * (
            self._seg_lon1[seg_of_sample] - self._seg_lon0[seg_of_sample]
        )
        self._sample_seg = seg_of_sample
        self._edges: dict[int, _Measured] = {}
        self._plain: _Scalars | None = None
        self._spacing_chord = _arc_to_chord(self.spacing + 1.0)
        self._tree = cKDTree(_xyz(s_lat, s_lon)) if len(seg_of_sample) else None
        self._cell_deg = _CELL_SIDE * self.max_snap_m / _KY
        self._road_cells: set[int] = set() if self.max_snap_m < 4.0 else \
            self._cells_near_roads(s_lat, s_lon)

    def _cells_near_roads(self, s_lat: FloatArray, s_lon: FloatArray) -> set[int]:
        """The grid cells (:data:`_CELL_SIDE` max_snap_m on a side) every point of which is
        surely within reach of a road sample: the cells of points at most
        :data:`_CELL_REACH` max_snap_m from a sample (one sample per cell stands for the
        cell's), so any point of such a cell is within that plus the cell's diagonal,
        0.94 max_snap_m, of the sample. (Cells narrower than the lattice step may be missed:
        the tree query then answers.)"""
        keys = _cell_keys(s_lat, s_lon, self._cell_deg)
        _, first = np.unique(keys, return_index=True)
        lat, lon = s_lat[first], s_lon[first]
        near_pole = np.abs(lat) > 85.0  # offsets in longitude degrees blow up there
        lat, lon = lat[~near_pole], lon[~near_pole]
        step = _CELL_SIDE * self.max_snap_m
        span = int(_CELL_REACH / _CELL_SIDE)
        grid = [(i * step, j * step) for i in range(-span, span + 1)
                for j in range(-span, span + 1)
                if math.hypot(i, j) * _CELL_SIDE <= _CELL_REACH]
        per_lon = _KY * np.cos(np.radians(lat))
        cells: set[int] = set()
        for dx, dy in grid:
            cells.update(np.unique(_cell_keys(lat + dy / _KY, lon + dx / per_lon,
                                              self._cell_deg)).tolist())
        return cells

    def in_road_cell(self, lat: float, lon: float) -> bool:
        """Whether ``check`` passes this point by its grid cell alone (surely within reach)."""
        return _cell_key(lat, lon, self._cell_deg) in self._road_cells

    def check(self, lat: float, lon: float) -> None:
        """Raise :class:`SnapError` exactly when :meth:`snap` would, at a fraction of its cost
        when a road sample lies well within ``max_snap_m``: in the point's grid cell (a set
        lookup), else by one tree query; a road is then surely that near. Otherwise
        :meth:`snap` decides. For intake, which only asks whether a place is within reach of
        the roads, once per alarm on the event loop."""
        lat, lon = float(lat), float(lon)
        _check_coordinate(lat, lon)
        if self.in_road_cell(lat, lon):
            return  # a road sample lies well within reach of every point of this cell
        if self._tree is not None:
            chord, _ = self._tree.query(_xyz(lat, lon)[0], k=1)
            if _chord_to_arc(float(chord)) <= 0.99 * self.max_snap_m:
                return
        self.snap(lat, lon)

    def snap(self, lat: float, lon: float) -> SnappedPoint:
        """The nearest road point to ``(lat, lon)``, or :class:`SnapError` if it is farther
        than ``max_snap_m`` or the coordinate is invalid."""
        lat, lon = float(lat), float(lon)
        _check_coordinate(lat, lon)
        tree = self._tree
        if tree is None:
            raise SnapError(f"cannot snap ({lat:.6f}, {lon:.6f}): the map has no roads")
        p, lm = math.radians(lat), math.radians(lon)
        c = math.cos(p)
        q = np.array([c * math.cos(lm) * EARTH_RADIUS_M, c * math.sin(lm) * EARTH_RADIUS_M,
                      math.sin(p) * EARTH_RADIUS_M])
        sc = self._scalars()
        seg_of = sc.sample_seg
        # A point near a road (a unit driving) has a sample within half the spacing: then the
        # samples within the spacing (one ball search, no nearest-sample search first) hold
        # every segment the search below would measure, and the others found are over a
        # metre farther than the nearest, so the nearest segment and its ties are the same.
        found = tree.query_ball_point(q, self._spacing_chord)
        if found:
            qx, qy, qz = float(q[0]), float(q[1]), float(q[2])
            xyz = sc.sample_xyz
            chord2 = min((xyz[3 * i] - qx) ** 2 + (xyz[3 * i + 1] - qy) ** 2
                         + (xyz[3 * i + 2] - qz) ** 2 for i in found)
            if _chord_to_arc(math.sqrt(chord2)) <= self.spacing / 2 - 0.5:
                seg, t = self._nearest_segment(sorted({seg_of[i] for i in found}), lat, lon)
                return self._on_segment(lat, lon, seg, t)
        chord, _ = tree.query(q, k=1)
        nearest_m = _chord_to_arc(float(chord))
        if nearest_m - self.spacing / 2 > self.max_snap_m:
            return self._snap_far(lat, lon, q)
        radius = _arc_to_chord(nearest_m + self.spacing / 2 + 1.0)
        segs = sorted({seg_of[i] for i in tree.query_ball_point(q, radius)})
        seg, t = self._nearest_segment(segs, lat, lon)
        return self._on_segment(lat, lon, seg, t)

    def _snap_far(self, lat: float, lon: float, q: FloatArray) -> SnappedPoint:
        """:meth:`snap` of a point surely beyond ``max_snap_m``: the segments of its nearest
        samples are measured for the message, which names the distance."""
        assert self._tree is not None
        _, near = self._tree.query(q, k=min(16, self._tree.n))
        segs = np.unique(self._sample_seg[np.atleast_1d(near)])
        kx = _KY * math.cos(math.radians(lat))
        t, d2 = self._project(segs, lat, lon, kx)
        best = int(np.argmin(d2))
        return self._on_segment(lat, lon, int(segs[best]), float(t[best]))

    def _scalars(self) -> _Scalars:
        """The segment and sample arrays as lists of plain floats, made on first use: a single
        point measures a handful of segments, where NumPy's cost per call is most of the
        work."""
        found = self._plain
        if found is None:
            xyz = self._tree.data if self._tree is not None else np.zeros((0, 3))
            found = self._plain = _Scalars(
                _ints(self._sample_seg), _floats(xyz.ravel()),
                _floats(self._seg_lat0), _floats(self._seg_lon0),
                _floats(self._seg_lat1), _floats(self._seg_lon1), _floats(self._seg_len),
                _floats(self._seg_before), _ints(self._seg_edge),
                _floats(self._edge_total), _ints(self.twin))
        return found

    def _nearest_segment(self, segs: Sequence[int], lat: float, lon: float) -> tuple[int, float]:
        """Of the segments ``segs`` (ascending), the nearest to the point and where on it the
        point falls: :meth:`_project`'s arithmetic in plain floats, operation for operation
        (so the same numbers), and its ties to the lowest segment, as ``np.argmin`` has it."""
        sc = self._scalars()
        lat0, lon0, lat1, lon1 = sc.lat0, sc.lon0, sc.lat1, sc.lon1
        kx = _KY * math.cos(math.radians(lat))
        best, best_t, best_d2 = -1, 0.0, math.inf
        for s in segs:
            ax = (lon0[s] - lon) * kx
            ay = (lat0[s] - lat) * _KY
            bx = (lon1[s] - lon) * kx
            by = (lat1[s] - lat) * _KY
            dx, dy = bx - ax, by - ay
            den = dx * dx + dy * dy
            t = -(ax * dx + ay * dy) / den if den > 0 else 0.0
            t = t if t > 0.0 else 0.0  # np.clip(t, 0.0, 1.0)
            t = t if t < 1.0 else 1.0
            px, py = ax + t * dx, ay + t * dy
            d2 = px * px + py * py
            if d2 < best_d2 or best < 0:
                best, best_t, best_d2 = s, t, d2
        return best, best_t

    def _project(self, segs: Any, lat: Any, lon: Any, kx: Any) -> tuple[Any, Any]:
        """Where on each segment ``segs`` the point (``lat``, ``lon``: scalars, or arrays
        along ``segs``) falls (0..1) and its squared distance in metres, in the local
        equirectangular plane (``kx``: metres per degree of longitude there)."""
        ax = (self._seg_lon0[segs] - lon) * kx
        ay = (self._seg_lat0[segs] - lat) * _KY
        bx = (self._seg_lon1[segs] - lon) * kx
        by = (self._seg_lat1[segs] - lat) * _KY
        dx, dy = bx - ax, by - ay
        den = dx * dx + dy * dy
        t = np.where(den > 0, -(ax * dx + ay * dy) / np.where(den > 0, den, 1.0), 0.0)
        t = np.clip(t, 0.0, 1.0)
        px, py = ax + t * dx, ay + t * dy
        return t, px * px + py * py

    def snap_many(self, points: Sequence[tuple[float, float]]) -> list[SnappedPoint]:
        """:meth:`snap` of every ``(lat, lon)`` in ``points``, the same answers, with the tree
        searches and the candidate segments of all points in a few array operations (a
        simulated year snaps thousands of alarms at once); the first point that fails raises
        what :meth:`snap` raises."""
        pts = [(float(lat), float(lon)) for lat, lon in points]
        valid = all(math.isfinite(lat) and -90.0 <= lat <= 90.0 and math.isfinite(lon)
                    and -180.0 <= lon <= 180.0 for lat, lon in pts)
        if not valid or not pts or self._tree is None:
            return [self.snap(lat, lon) for lat, lon in pts]  # raises in order, as snap does
        lat_a = np.array([p[0] for p in pts])
        lon_a = np.array([p[1] for p in pts])
        q = _xyz(lat_a, lon_a)
        chords, _ = self._tree.query(q, k=1)
        nearest = [_chord_to_arc(c) for c in chords.tolist()]
        far = [n - self.spacing / 2 > self.max_snap_m for n in nearest]
        near = [i for i, f in enumerate(far) if not f]
        best: dict[int, tuple[int, float]] = {}
        if near:
            radii = np.array([_arc_to_chord(nearest[i] + self.spacing / 2 + 1.0) for i in near])
            found = self._tree.query_ball_point(q[near], radii)
            counts = np.array([len(f) for f in found], dtype=np.int64)
            samples = np.fromiter((s for f in found for s in f), dtype=np.int64,
                                  count=int(counts.sum()))
            owner = np.repeat(np.asarray(near, dtype=np.int64), counts)
            n_seg = len(self._seg_len)
            keys = np.unique(owner * n_seg + self._sample_seg[samples])  # by point, then segment
            who, segs = keys // n_seg, keys % n_seg
            # the arithmetic of snap(), element by element, so each point gets the same answer
            kx = np.array([_KY * math.cos(math.radians(p[0])) for p in pts])[who]
            t, d2 = self._project(segs, lat_a[who], lon_a[who], kx)
            # nearest segment of each point; ties go to the lowest segment, as in snap()
            order = np.lexsort((segs, d2, who))
            first = np.ones(len(order), dtype=bool)
            first[1:] = who[order[1:]] != who[order[:-1]]
            pick = order[first]
            best = dict(zip(who[pick].tolist(), zip(segs[pick].tolist(), t[pick].tolist(),
                                                    strict=True), strict=True))
        out = []
        for i, (lat, lon) in enumerate(pts):
            if far[i]:
                out.append(self.snap(lat, lon))  # raises, naming the distance
                continue
            seg, tb = best[i]
            out.append(self._on_segment(lat, lon, seg, tb))
        return out

    def _on_segment(self, lat: float, lon: float, seg: int, tb: float) -> SnappedPoint:
        """The snapped point of ``(lat, lon)`` at ``tb`` along segment ``seg``, or SnapError if
        that is farther than ``max_snap_m``."""
        sc = self._scalars()
        lat0, lon0 = sc.lat0[seg], sc.lon0[seg]
        road_lat = lat0 + tb * (sc.lat1[seg] - lat0)
        road_lon = lon0 + tb * (sc.lon1[seg] - lon0)
        off = haversine_m_pair(lat, lon, road_lat, road_lon)
        if off > self.max_snap_m:
            raise _too_far(lat, lon, off, self.max_snap_m)
        edge = sc.seg_edge[seg]
        total = sc.edge_total[edge]
        along = sc.before[seg] + tb * sc.seg_len[seg]
        fraction = min(1.0, max(0.0, along / total)) if total > 0 else 0.0
        return SnappedPoint(
            lat=lat,
            lon=lon,
            edge=edge,
            fraction=fraction,
            road_lat=road_lat,
            road_lon=road_lon,
            offroad_m=off,
            twin=sc.twin[edge],
        )

    def at_node(self, node: int) -> SnappedPoint:
        """A point exactly at graph node ``node`` (as a place's serving node is)."""
        g = self.graph
        if not 0 <= node < g.n_nodes:
            raise SnapError(f"node {node} is not in the graph")
        lat, lon = float(g.node_lat[node]), float(g.node_lon[node])
        out = g.out_edges(node)
        if len(out):
            edge, fraction = out[0], 0.0
        else:
            into = np.flatnonzero(g.edge_target == node)
            if not len(into):
                raise SnapError(f"node {node} at ({lat:.6f}, {lon:.6f}) has no roads")
            edge, fraction = int(into[0]), 1.0
        return SnappedPoint(
            lat=lat,
            lon=lon,
            edge=int(edge),
            fraction=fraction,
            road_lat=lat,
            road_lon=lon,
            offroad_m=0.0,
            twin=int(self.twin[edge]),
        )

    def _measured(self, edge: int) -> _Measured:
        """An edge's points, as arrays too, and the metres along it to each point; kept for
        the last :data:`MEASURED_EDGES` edges asked (a route asks for its first and last edge
        twice, and drives home end on the same few roads)."""
        found = self._edges.get(edge)
        if found is None:
            found = _measure(self.graph, edge)
            if len(self._edges) >= MEASURED_EDGES:
                self._edges.pop(next(iter(self._edges)), None)
            self._edges[edge] = found
        return found

    def geometry_along(
        self, edge: int, start: float, end: float
    ) -> list[tuple[float, float]]:
        """``(lat, lon)`` points of ``edge`` between fractions ``start`` <= ``end``."""
        pts, lat, lon, cum = self._measured(edge)
        if len(pts) < 2:
            return list(pts)
        total = cum[-1]
        if total <= 0:
            return [pts[0], pts[-1]] if start < end else [pts[0]]
        a, b = start * total, end * total
        out = [_interp(lat, lon, cum, a)]
        out.extend(pts[bisect_right(cum, a):bisect_left(cum, b)])  # a < metres along < b
        out.append(_interp(lat, lon, cum, b))
        return out

    def edges_line(self, edges: Sequence[int]) -> list[tuple[float, float]]:
        """The tail node and shape points of each of ``edges`` in turn (a run of whole edges
        of a route), then the last edge's head node; empty for no edges."""
        if not edges:
            return []
        out: list[tuple[float, float]] = []
        for edge in edges:
            out.extend(self._measured(edge)[0][:-1])
        out.append(self._measured(edges[-1])[0][-1])
        return out


def _measure(graph: RoadGraph, edge: int) -> _Measured:
    """``edge``'s points, their coordinates and the metres along it to each."""
    pts = graph.edge_geometry(edge)
    lat = np.array([p[0] for p in pts])
    lon = np.array([p[1] for p in pts])
    if len(pts) < 2:
        return pts, lat.tolist(), lon.tolist(), [0.0] * len(pts)
    seg = haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:])
    return pts, lat.tolist(), lon.tolist(), np.concatenate([[0.0], np.cumsum(seg)]).tolist()


def _ragged_arange(counts: IntArray) -> IntArray:
    """``[0..counts[0]), [0..counts[1]), ...`` concatenated."""
    total = int(counts.sum())
    return np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)


def _interp(lat: list[float], lon: list[float], cum: list[float],
            x: float) -> tuple[float, float]:
    """``(np.interp(x, cum, lat), np.interp(x, cum, lon))`` in plain floats, the same steps:
    the last point at or before ``x`` (``cum`` ascending), its own value when ``x`` is on it
    or past the end, else its value plus the slope to the next times the way past it."""
    j = bisect_right(cum, x) - 1
    if j < 0:
        return lat[0], lon[0]
    if j == len(cum) - 1 or cum[j] == x:
        return lat[j], lon[j]
    c0 = cum[j]
    dc = cum[j + 1] - c0
    return ((lat[j + 1] - lat[j]) / dc * (x - c0) + lat[j],
            (lon[j + 1] - lon[j]) / dc * (x - c0) + lon[j])


def _chord_to_arc(chord: float) -> float:
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, chord / (2 * EARTH_RADIUS_M)))


def _arc_to_chord(arc: float) -> float:
    return 2 * EARTH_RADIUS_M * math.sin(min(math.pi / 2, arc / (2 * EARTH_RADIUS_M)))


def _too_far(lat: float, lon: float, dist_m: float, limit_m: float) -> SnapError:
    return SnapError(
        f"({lat:.6f}, {lon:.6f}) is {dist_m / 1000:.1f} km from the nearest road "
        f"(limit {limit_m / 1000:.1f} km); check the coordinate or raise max_snap_m",
        distance_m=dist_m, limit_m=limit_m,
    )
