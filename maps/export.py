"""Write a :class:`RoadGraph` as an OpenStreetMap file, so other routers can read our graphs.

OSRM, RoutingKit and osmnx all ingest OSM extracts; exporting the synthetic networks of
:mod:`maps.synthetic` (or any graph) to ``.osm.pbf`` lets benchmarks compare them with us on
exactly the same roads. Each graph node becomes an OSM node, each pair of opposite edges with the
same attributes one two-way way, and every other edge a ``oneway=yes`` way. Places become
``place=*`` nodes and hospitals ``amenity=hospital`` nodes, so an OSM reader rebuilds the
gazetteer too.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from maps.errors import MapFormatError
from maps.graph import RoadClass, RoadGraph

__all__ = ["OsmExportStats", "pair_two_way_edges", "write_osm"]

_FORMATS = ((".osm.pbf", "pbf"), (".pbf", "pbf"), (".osm", "osm"))


@dataclass(frozen=True, slots=True)
class OsmExportStats:
    """What :func:`write_osm` wrote: OSM nodes (graph nodes and shape points), ways, and how
    many of the ways are one-way."""

    nodes: int
    ways: int
    oneway_ways: int


def _format_for(path: Path) -> str:
    name = path.name.lower()
    for suffix, fmt in _FORMATS:
        if name.endswith(suffix):
            return fmt
    raise MapFormatError(f"{path}: cannot tell the OSM format; name it .osm.pbf or .osm")


def pair_two_way_edges(graph: RoadGraph) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Match each edge ``u -> v`` with an opposite edge ``v -> u`` of the same class, speed,
    ref, name and number of shape points.

    Returns ``(forward, partner)``: ``forward`` are the edges to write as ways (with ``u < v``
    for pairs) and ``partner[i]`` is the opposite edge of ``forward[i]``, or -1 if it has none
    (a one-way edge). Every edge appears exactly once in ``forward`` or ``partner``.
    """
    m = graph.n_edges
    src = graph.edge_source.astype(np.int64)
    dst = graph.edge_target.astype(np.int64)
    lo, hi = np.minimum(src, dst), np.maximum(src, dst)
    backward = (src > dst).astype(np.int64)
    n_geom = np.diff(graph.geom_offsets)
    speed = np.round(graph.edge_speed_kmh.astype(np.float64) * 100).astype(np.int64)
    keys = (backward, n_geom, graph.edge_name, graph.edge_ref, speed, graph.edge_class, hi, lo)
    order = np.lexsort(keys)  # by lo, hi, attributes, then forward before backward
    if m == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy()
    s_keys = [np.asarray(k)[order] for k in keys[1:]]
    new_group = np.ones(m, dtype=bool)
    same = np.ones(m - 1, dtype=bool)
    for k in s_keys:
        same &= k[1:] == k[:-1]
    new_group[1:] = ~same
    group = np.cumsum(new_group) - 1
    g_start = np.flatnonzero(new_group)
    s_back = backward[order]
    n_fwd = np.bincount(group, weights=1 - s_back).astype(np.int64)
    n_bwd = np.bincount(group, weights=s_back).astype(np.int64)
    rank = np.arange(m) - g_start[group]
    self_loop = (src == dst)[order]
    is_fwd = (s_back == 0) & ~self_loop
    paired = is_fwd & (rank < n_bwd[group])
    partner_pos = g_start[group] + n_fwd[group] + rank
    # forward edges (paired or not), then backward edges left without a partner
    bwd_rank = rank - n_fwd[group]
    lonely_bwd = (s_back == 1) & (bwd_rank >= n_fwd[group])
    lonely_loop = self_loop & (s_back == 0)  # self-loops sort as forward; never paired
    write = is_fwd | lonely_bwd | lonely_loop
    forward = order[write]
    partner = np.where(paired, order[np.minimum(partner_pos, m - 1)], -1)[write]
    return forward.astype(np.int64), partner.astype(np.int64)


def write_osm(graph: RoadGraph, path: str | os.PathLike[str]) -> OsmExportStats:
    """Write ``graph`` to ``path`` as ``.osm.pbf`` or ``.osm`` XML (chosen by the suffix),
    replacing any file there atomically.

    Node ``i`` gets OSM id ``i + 1``; shape points follow after the graph nodes, then one node
    per place and hospital. Ways carry ``highway`` (from :class:`RoadClass`; tracks as
    ``tracktype=grade2``, since our graph drives on them), ``maxspeed`` (the edge speed in
    km/h), ``ref`` and ``name``, and ``oneway=yes`` where an edge has no opposite partner.
    Two-way ways follow the shape of their ``u -> v`` edge. MAE bases have no OSM tag and are
    left out.
    """
    import osmium
    from osmium.osm.mutable import Node, Way

    path = Path(path)
    fmt = _format_for(path)
    forward, partner = pair_two_way_edges(graph)
    src = graph.edge_source
    n = graph.n_nodes
    g_off = graph.geom_offsets
    highway = [c.name.lower() for c in RoadClass]

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=path.name, dir=path.parent)
    os.close(fd)
    header = osmium.io.Header()
    header.set("generator", "mae-dispatch maps.export")
    if n:
        min_lat, min_lon, max_lat, max_lon = graph.bounds()
        header.add_box(osmium.osm.Box(min_lon, min_lat, max_lon, max_lat))
    n_oneway = 0
    n_written = 0
    try:
        writer = osmium.SimpleWriter(osmium.io.File(tmp, fmt), header=header, overwrite=True)
        try:
            for i, (lat, lon) in enumerate(
                zip(graph.node_lat.tolist(), graph.node_lon.tolist(), strict=True)
            ):
                writer.add_node(Node(id=i + 1, location=(lon, lat), version=1))
            n_written = n
            # shape points of the written edges, in id order after the graph nodes
            lens = (g_off[1:] - g_off[:-1])[forward]
            starts = g_off[:-1][forward]
            point_idx = np.repeat(starts, lens) + (
                np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
            )
            glat, glon = graph.geom_lat[point_idx].tolist(), graph.geom_lon[point_idx].tolist()
            for k, (lat, lon) in enumerate(zip(glat, glon, strict=True)):
                writer.add_node(Node(id=n + 1 + k, location=(lon, lat), version=1))
            n_written += len(glat)
            for poi_tags, (lat, lon) in _poi_nodes(graph):
                n_written += 1
                writer.add_node(
                    Node(id=n_written, location=(lon, lat), tags=poi_tags, version=1)
                )
            first_point = np.cumsum(lens) - lens
            tag_cache: dict[tuple[int, int, int, int, bool], dict[str, str]] = {}
            rows = zip(
                forward.tolist(), partner.tolist(), src[forward].tolist(),
                graph.edge_target[forward].tolist(), lens.tolist(), first_point.tolist(),
                graph.edge_class[forward].tolist(),
                np.round(graph.edge_speed_kmh[forward]).astype(np.int64).tolist(),
                graph.edge_ref[forward].tolist(), graph.edge_name[forward].tolist(),
                strict=True,
            )
            for way_id, (_e, p, u, v, n_pts, first, cls, speed, ref, name) in enumerate(rows, 1):
                oneway = p < 0
                n_oneway += oneway
                key = (cls, speed, ref, name, oneway)
                tags = tag_cache.get(key)
                if tags is None:
                    tags = _tags(graph, highway, cls, speed, ref, name, oneway)
                    tag_cache[key] = tags
                nodes: list[Any] = [u + 1]
                nodes.extend(range(n + 1 + first, n + 1 + first + n_pts))
                nodes.append(v + 1)
                writer.add_way(Way(id=way_id, nodes=nodes, tags=tags, version=1))
        finally:
            writer.close()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return OsmExportStats(n_written, len(forward), n_oneway)


def _tags(
    graph: RoadGraph, highway: list[str], cls: int, speed: int, ref: int, name: int, oneway: bool
) -> dict[str, str]:
    tags = {"highway": highway[cls] if cls < len(highway) else "road", "maxspeed": str(speed)}
    if ref >= 0:
        tags["ref"] = graph.strings[ref]
    if name >= 0:
        tags["name"] = graph.strings[name]
    if cls == RoadClass.TRACK:
        tags["tracktype"] = "grade2"
    if oneway:
        tags["oneway"] = "yes"
    return tags


def _poi_nodes(graph: RoadGraph) -> list[tuple[dict[str, str], tuple[float, float]]]:
    """Tags and ``(lat, lon)`` of a node per place and per hospital."""
    out = []
    for p in graph.places:
        tags = {"place": p.kind, "name": p.name}
        if p.population:
            tags["population"] = str(p.population)
        if p.alt_names:
            tags["alt_name"] = ";".join(p.alt_names)
        out.append((tags, (p.lat, p.lon)))
    for f in graph.facilities:
        if not f.is_a("hospital"):
            continue
        tags = {"amenity": "hospital", "name": f.name}
        if f.place:
            tags["addr:city"] = f.place
        if f.is_a("psychiatric_emergency"):
            tags["healthcare:speciality"] = "psychiatry"
            tags["emergency"] = "yes"
        out.append((tags, (f.lat, f.lon)))
    return out
