"""Where things are in a scenario: the ``[map]`` (a road map or a travel-time matrix), the
``[[bases]]`` and the ``[[facilities]]``, each at a place of the map, a matrix node or
coordinates."""

from __future__ import annotations

from pathlib import Path

from maps.errors import MapError, MapFormatError, UnknownPlace
from maps.gazetteer import Gazetteer
from maps.graph import Facility
from simulations._toml import Table
from simulations.errors import ScenarioError
from simulations.matrix import MatrixMap
from simulations.spec import Base, MatrixSpec
from simulations.terrain import (
    Terrain,
    load_graph_for,
    load_matrix,
    nearest_node_index,
    off_map,
)

__all__ = ["parse_bases", "parse_facilities", "parse_map"]

COLUMN_KEYS = ("id", "x", "y", "population")


def _path(base_dir: Path, name: str) -> str:
    p = Path(name)
    return str(p if p.is_absolute() else (base_dir / p).resolve())


def parse_map(
    root: Table, base_dir: Path, terrain: Terrain | None
) -> tuple[str | None, MatrixSpec | None, Terrain]:
    """``[map]``: ``path`` (a ``.maegraph``; the bundled county map when absent) or ``nodes``
    and ``matrix`` CSV files with an optional ``crs`` and ``[map.columns]``."""
    mt = root.table("map")
    map_path: str | None = mt.text("path", "") or None
    matrix: MatrixSpec | None = None
    if mt.has("nodes") or mt.has("matrix"):
        if map_path is not None:
            raise mt.error("path", "give a road map (path) or a matrix (nodes, matrix), not both")
        crs = mt.text("crs", "") or None
        ct = mt.table("columns")
        columns = tuple((k, ct.text(k)) for k in COLUMN_KEYS if ct.has(k))
        ct.done()
        matrix = MatrixSpec(_path(base_dir, mt.text("nodes")), _path(base_dir, mt.text("matrix")),
                            crs, columns)
    elif mt.has("crs"):
        raise mt.error("crs", "a crs goes with a matrix map (nodes and matrix)")
    if map_path is not None:
        map_path = _path(base_dir, map_path)
    mt.done()
    if terrain is None:
        try:
            terrain = load_matrix(matrix) if matrix is not None else load_graph_for(map_path)
        except ScenarioError as exc:
            raise ScenarioError(exc.key, exc.problem, source=root.source) from None
        except MapError as exc:
            raise ScenarioError("map.path", str(exc), source=root.source) from None
    return map_path, matrix, terrain


def _locate(t: Table, terrain: Terrain, gaz: Gazetteer | None) -> tuple[str, float, float, str]:
    """A table's place: ``lat``/``lon``, a matrix ``node``, or a ``place`` of the map (on a
    matrix map a node id); returns its label, coordinates and municipality."""
    if t.has("lat") or t.has("lon"):
        lat = t.number("lat", low=-90, high=90)
        lon = t.number("lon", low=-180, high=180)
        problem = off_map(terrain, lat, lon)
        if problem is not None:
            raise t.error("lat", problem)
        return t.text("place", f"{lat:.4f},{lon:.4f}"), lat, lon, ""
    if isinstance(terrain, MatrixMap):
        key = "node" if t.has("node") else "place"
        raw = t.raw(key)
        name = str(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
        if not name:
            raise t.error(key, "give the node id of the matrix (or lat and lon)")
        try:
            i = terrain.index(name)
        except KeyError as exc:
            raise t.error(key, str(exc.args[0])) from None
        lat, lon = terrain.point(i)
        return name, lat, lon, ""
    if t.has("node"):
        raise t.error("node", "nodes name places of a matrix map; on a road map use place")
    name = t.text("place")
    assert gaz is not None
    try:
        found = gaz.find(name)
    except UnknownPlace as exc:
        raise t.error("place", str(exc)) from None
    municipality = getattr(found, "municipality", "")
    if not municipality:
        for p in terrain.places:
            if p.name == getattr(found, "place", ""):
                municipality = p.municipality
    return found.name, float(found.lat), float(found.lon), municipality


def _gazetteer(terrain: Terrain) -> Gazetteer | None:
    return None if isinstance(terrain, MatrixMap) else Gazetteer.of(terrain)


def parse_bases(root: Table, terrain: Terrain) -> list[Base]:
    """``[[bases]]``: an id and where it is."""
    gaz = _gazetteer(terrain)
    bases: list[Base] = []
    for bt in root.tables("bases"):
        bid = bt.text("id")
        if any(b.id == bid for b in bases):
            raise bt.error("id", f"base {bid!r} is listed twice")
        label, lat, lon, municipality = _locate(bt, terrain, gaz)
        bases.append(Base(bid, bt.text("name", label), lat, lon, municipality))
        bt.done()
    if not bases:
        raise root.error("bases", "name at least one base ([[bases]] with id and place)")
    return bases


def parse_facilities(root: Table, terrain: Terrain) -> list[Facility]:
    """``[[facilities]]``: ``name``, ``kind`` (and more ``kinds``) and where it is; added to
    the map's facilities, replacing one of the same name."""
    gaz = _gazetteer(terrain)
    out: list[Facility] = []
    for ft in root.tables("facilities"):
        label, lat, lon, _ = _locate(ft, terrain, gaz)
        name = ft.text("name", label)
        if any(f.name == name for f in out):
            raise ft.error("name", f"facility {name!r} is listed twice")
        kind = ft.choice("kind", "hospital", Facility.KINDS)
        kinds_raw = ft.raw("kinds", [])
        if not isinstance(kinds_raw, list) or not all(k in Facility.KINDS for k in kinds_raw):
            raise ft.error("kinds", "must be a list of " + ", ".join(Facility.KINDS))
        try:
            out.append(Facility(name, kind, lat, lon, node=nearest_node_index(terrain, lat, lon),
                                kinds=tuple(kinds_raw)))
        except MapFormatError as exc:
            raise ft.error("name", str(exc)) from None
        ft.done()
    return out
