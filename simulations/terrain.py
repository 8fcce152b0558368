"""The ground a scenario runs on: a road map or a travel-time matrix, loaded once per process.

Both kinds give places (with population, for demand and coverage) and facilities; the
scenario's own ``[[facilities]]`` are added to the map's (replacing one of the same name).
:func:`travel_source` gives the simulator's travel questions an answer on either kind. Loading
is remembered per file (and its modification time), so the seeds of a batch, and the report
after them, read and index a map once, not once per run.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np

from maps.graph import Facility, RoadGraph
from maps.traveltime import DEFAULT_TIMEZONE
from routing.errors import SnapError
from routing.snap import DEFAULT_MAX_SNAP_M, Snapper
from simulations.matrix import MatrixColumns, MatrixMap, MatrixRoads, load_matrix_map
from simulations.spec import MatrixSpec, Roads, Scenario
from simulations.travel import SimRoads, TravelSource

__all__ = [
    "Terrain",
    "all_facilities",
    "load_graph_for",
    "load_matrix",
    "load_terrain",
    "nearest_node_index",
    "off_map",
    "off_road",
    "travel_source",
]

Terrain = RoadGraph | MatrixMap

#: How far outside the box of its nodes a point may lie and still be on a map: half a degree
#: of latitude (about 55 km), and as many kilometres east-west.
MAP_MARGIN_DEG = 0.5


def off_map(terrain: Terrain, lat: float, lon: float) -> str | None:
    """Why ``(lat, lon)`` cannot be a place on ``terrain`` (well outside the box of its nodes:
    a coordinate of another country, or lat and lon swapped), or None if it can."""
    lats, lons = ((terrain.node_lat, terrain.node_lon) if isinstance(terrain, RoadGraph)
                  else (terrain.lat, terrain.lon))
    if not len(lats):
        return None
    south, north = float(lats.min()) - MAP_MARGIN_DEG, float(lats.max()) + MAP_MARGIN_DEG
    wide = MAP_MARGIN_DEG / max(math.cos(math.radians((south + north) / 2)), 0.05)
    west, east = float(lons.min()) - wide, float(lons.max()) + wide
    if not (south <= lat <= north and west <= lon <= east):
        return (f"({lat:.4f}, {lon:.4f}) is outside the map ({south:.2f}..{north:.2f} N, "
                f"{west:.2f}..{east:.2f} E): check the coordinate (latitude first)")
    if isinstance(terrain, RoadGraph):
        return off_road(terrain, lat, lon)
    return None


#: Snappers of the road maps checked in this process (by identity; the loaders remember maps).
_SNAPPERS: dict[int, tuple[RoadGraph, Snapper]] = {}


def off_road(graph: RoadGraph, lat: float, lon: float) -> str | None:
    """Why the simulator cannot drive to ``(lat, lon)`` on ``graph`` (farther from every road
    than it reaches an address from its road: :data:`routing.snap.DEFAULT_MAX_SNAP_M`), or
    None if it can. Asked when a scenario, log or candidate list is read, so the file and its
    key or row are named, not found in the middle of a run."""
    found = _SNAPPERS.get(id(graph))
    if found is None or found[0] is not graph:
        if len(_SNAPPERS) >= 4:
            _SNAPPERS.clear()
        found = _SNAPPERS[id(graph)] = (graph, Snapper(graph, max_snap_m=DEFAULT_MAX_SNAP_M))
    try:
        found[1].check(lat, lon)
    except SnapError as exc:
        if exc.distance_m is None:  # not a coordinate at all
            return str(exc)
        return (f"({lat:.6f}, {lon:.6f}) is {exc.distance_m / 1000:.1f} km from the nearest "
                f"road: the simulator reaches addresses within {DEFAULT_MAX_SNAP_M / 1000:g} km "
                "of a road of the map; check the coordinate or use a place of the map")
    return None


@functools.lru_cache(maxsize=4)
def _graph(map_path: str | None, mtime: float) -> RoadGraph:
    if map_path is None:
        from maps.bundled import load_bundled

        return load_bundled()
    from maps.graph import load_graph

    return load_graph(Path(map_path))


def load_graph_for(map_path: str | None) -> RoadGraph:
    """The scenario's road map: the bundled county map when ``map_path`` is None."""
    mtime = 0.0
    if map_path is not None:
        try:
            mtime = Path(map_path).stat().st_mtime
        except OSError:
            mtime = -1.0  # let load_graph report the missing file
    return _graph(map_path, mtime)


@functools.lru_cache(maxsize=4)
def _matrix(spec: MatrixSpec, mtimes: tuple[float, float]) -> MatrixMap:
    columns = MatrixColumns(**dict(spec.columns))
    return load_matrix_map(Path(spec.nodes), Path(spec.matrix), crs=spec.crs, columns=columns)


def load_matrix(spec: MatrixSpec) -> MatrixMap:
    """The matrix region of ``spec`` (remembered while its files are unchanged)."""
    mtimes = []
    for name in (spec.nodes, spec.matrix):
        try:
            mtimes.append(Path(name).stat().st_mtime)
        except OSError:
            mtimes.append(-1.0)
    return _matrix(spec, (mtimes[0], mtimes[1]))


def load_terrain(scenario: Scenario) -> Terrain:
    """The scenario's road map or matrix region."""
    if scenario.matrix is not None:
        return load_matrix(scenario.matrix)
    return load_graph_for(scenario.map_path)


def all_facilities(terrain: Terrain, scenario: Scenario) -> tuple[Facility, ...]:
    """The map's facilities and the scenario's, the scenario's replacing one of the same
    name."""
    own = {f.name for f in scenario.facilities}
    return tuple(f for f in terrain.facilities if f.name not in own) + scenario.facilities


def travel_source(terrain: Terrain, roads: Roads,
                  timezone: str = DEFAULT_TIMEZONE) -> TravelSource:
    """Travel times for the simulator on ``terrain`` (rush hours on ``timezone``'s clock)."""
    if isinstance(terrain, MatrixMap):
        return MatrixRoads(terrain)
    return SimRoads(terrain, roads, timezone)


def nearest_node_index(terrain: Terrain, lat: float, lon: float) -> int:
    """The node of ``terrain`` nearest to a point in a straight line."""
    if isinstance(terrain, MatrixMap):
        return int(terrain.nearest([lat], [lon])[0])
    cos = math.cos(math.radians(lat))
    d = (terrain.node_lat - lat) ** 2 + ((terrain.node_lon - lon) * cos) ** 2
    return int(np.argmin(d))
