"""A driven route as a crew sees it: geometry to draw, totals, and a short list of roads.

:func:`build_route` turns the edges of a fastest path (the first and last driven only in part)
into a :class:`Route`. Consecutive edges of the same road merge into one :class:`Step`, so the
phone says "E4 for 34 km, then väg 97 for 12 km" rather than listing every junction.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from maps.graph import RoadGraph
from routing.errors import RoutingError
from routing.snap import SnappedPoint, Snapper

__all__ = ["Route", "Step", "StepKind", "build_route", "format_distance", "format_duration",
           "road_label", "route_geometry"]


class StepKind(enum.Enum):
    """Whether a step leaves the start, follows a road, or reaches the destination."""

    DEPART = "depart"
    ROAD = "road"
    ARRIVE = "arrive"


def format_distance(metres: float) -> str:
    """"34 km", "3.4 km" or "450 m"."""
    if metres >= 9_950:
        return f"{metres / 1000:.0f} km"
    if metres >= 950:
        return f"{metres / 1000:.1f} km"
    return f"{max(0, round(metres / 10) * 10):.0f} m"


def format_duration(seconds: float) -> str:
    """"1 h 05 min", "12 min" or "under 1 min"."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under 1 min"
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def road_label(graph: RoadGraph, edge: int) -> str:
    """How a crew reads an edge's road: "E4", "väg 97", "Storgatan" or "väg 97 (Storgatan)"."""
    ref = graph.strings[graph.edge_ref[edge]] if graph.edge_ref[edge] >= 0 else ""
    name = graph.strings[graph.edge_name[edge]] if graph.edge_name[edge] >= 0 else ""
    ref = ref.strip()
    if ref.isdigit():
        ref = f"väg {ref}"
    name = name.strip()
    if ref and name and name != ref:
        return f"{ref} ({name})"
    return ref or name


@dataclass(frozen=True, slots=True)
class Step:
    """One instruction: leave the start, follow one road for a distance, or arrive.

    ``lat``/``lon`` is where the step begins; ``road`` is empty for unnamed roads.
    """

    kind: StepKind
    road: str
    distance_m: float
    duration_s: float
    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.distance_m) and self.distance_m >= 0):
            raise RoutingError(f"step distance must be >= 0, got {self.distance_m!r}")
        if not (math.isfinite(self.duration_s) and self.duration_s >= 0):
            raise RoutingError(f"step duration must be >= 0, got {self.duration_s!r}")

    def describe(self) -> str:
        """The step as one line of text for the crew."""
        if self.kind is StepKind.DEPART:
            if self.distance_m >= 1:
                return f"Start: {format_distance(self.distance_m)} off-road to the road"
            return "Start"
        if self.kind is StepKind.ARRIVE:
            if self.distance_m >= 1:
                return f"Arrive: {format_distance(self.distance_m)} off-road to the destination"
            return "Arrive"
        road = self.road or "unnamed road"
        return f"{road} for {format_distance(self.distance_m)} ({format_duration(self.duration_s)})"


@dataclass(frozen=True, slots=True)
class Route:
    """A fastest route: total time and distance, ``(lat, lon)`` geometry, roads driven, steps.

    ``edges`` are the directed edges driven in order; the first and last may be driven only
    from or to the snapped points. Totals include the slow off-road legs at both ends.
    """

    origin: SnappedPoint
    destination: SnappedPoint
    duration_s: float
    distance_m: float
    geometry: tuple[tuple[float, float], ...]
    edges: tuple[int, ...]
    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        if not (math.isfinite(self.duration_s) and self.duration_s >= 0):
            raise RoutingError(f"route duration must be >= 0, got {self.duration_s!r}")
        if not (math.isfinite(self.distance_m) and self.distance_m >= 0):
            raise RoutingError(f"route distance must be >= 0, got {self.distance_m!r}")
        if len(self.geometry) < 2:
            raise RoutingError("a route needs at least two geometry points")

    def describe(self) -> str:
        """Time and distance, then "E4 for 34 km, then väg 97 for 12 km"."""
        roads = [
            f"{s.road or 'unnamed road'} for {format_distance(s.distance_m)}"
            for s in self.steps
            if s.kind is StepKind.ROAD
        ]
        head = f"{format_duration(self.duration_s)}, {format_distance(self.distance_m)}"
        return head + (": " + ", then ".join(roads) if roads else "")


def build_route(
    snapper: Snapper,
    times: npt.NDArray[np.float64],
    origin: SnappedPoint,
    destination: SnappedPoint,
    legs: list[tuple[int, float, float]],
    *,
    offroad_speed_ms: float,
) -> Route:
    """The :class:`Route` driving ``legs`` — ``(edge, start fraction, end fraction)`` in order —
    between the two snapped points, with ``times`` the edge times of the situation."""
    graph = snapper.graph
    off_a, off_b = origin.offroad_m, destination.offroad_m
    edges = np.array([e for e, _, _ in legs], dtype=np.int64)
    part = np.array([max(0.0, f1 - f0) for _, f0, f1 in legs], dtype=np.float64)
    dist = graph.edge_length_m[edges].astype(np.float64) * part
    dur = times[edges] * part
    geometry = route_geometry(snapper, origin, destination, legs)
    # steps: one per run of edges on the same road
    steps = [Step(StepKind.DEPART, "", off_a, off_a / offroad_speed_ms, origin.lat, origin.lon)]
    if len(legs):
        keys = np.stack([graph.edge_ref[edges], graph.edge_name[edges]], axis=1)
        new = np.ones(len(legs), dtype=bool)
        new[1:] = np.any(keys[1:] != keys[:-1], axis=1)
        starts = np.flatnonzero(new)
        run_d = np.add.reduceat(dist, starts)
        run_t = np.add.reduceat(dur, starts)
        for k, i in enumerate(starts.tolist()):
            edge, f0, _ = legs[i]
            lat, lon = snapper.geometry_along(edge, f0, f0)[0] if f0 > 0 else (
                float(graph.node_lat[_tail(graph, edge)]), float(graph.node_lon[_tail(graph, edge)])
            )
            steps.append(Step(StepKind.ROAD, road_label(graph, edge), float(run_d[k]),
                              float(run_t[k]), lat, lon))
    end = (destination.road_lat, destination.road_lon)
    steps.append(Step(StepKind.ARRIVE, "", off_b, off_b / offroad_speed_ms, end[0], end[1]))
    return Route(
        origin=origin,
        destination=destination,
        duration_s=float(dur.sum()) + (off_a + off_b) / offroad_speed_ms,
        distance_m=float(dist.sum()) + off_a + off_b,
        geometry=tuple(geometry),
        edges=tuple(edges.tolist()),
        steps=tuple(steps),
    )


def route_geometry(
    snapper: Snapper,
    origin: SnappedPoint,
    destination: SnappedPoint,
    legs: list[tuple[int, float, float]],
) -> list[tuple[float, float]]:
    """The ``(lat, lon)`` line of :func:`build_route`'s route over ``legs``: the off-road leg,
    the partial first and last legs and the whole edges between, without repeated points (all
    a caller needs that only draws the drive or moves a unit along it)."""
    geometry: list[tuple[float, float]] = [(origin.lat, origin.lon)]
    _extend(geometry, [(origin.road_lat, origin.road_lon)])
    whole: list[int] = []  # a run of whole edges, drawn in one go
    for edge, f0, f1 in legs:
        if f0 == 0.0 and f1 == 1.0:
            whole.append(edge)
            continue
        _extend(geometry, snapper.edges_line(whole))
        whole = []
        _extend(geometry, snapper.geometry_along(edge, f0, f1))
    _extend(geometry, snapper.edges_line(whole))
    _extend(geometry, [(destination.road_lat, destination.road_lon)])
    geometry.append((destination.lat, destination.lon))
    return geometry


def _tail(graph: RoadGraph, edge: int) -> int:
    return int(np.searchsorted(graph.edge_offsets, edge, side="right") - 1)


def _extend(line: list[tuple[float, float]], points: list[tuple[float, float]]) -> None:
    """Append ``points`` to ``line`` without repeating a point."""
    for p in points:
        if _far(line[-1], p):
            line.append(p)


def _far(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Whether two points differ (drops repeated points from the geometry)."""
    return abs(a[0] - b[0]) > 1e-9 or abs(a[1] - b[1]) > 1e-9
