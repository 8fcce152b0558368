"""Build a :class:`~maps.graph.RoadGraph` online from OpenStreetMap through osmnx.

This is the only module of ``maps`` that talks to the network. osmnx downloads the ways; the
same tag rules as the offline builder (:mod:`maps.osm`) then decide which ways a car may use,
their direction, class and speed. Before any download a quick connection check of the geocoder
and Overpass hosts makes an offline machine fail in seconds, not after osmnx's long waits.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from maps.errors import MapBuildError, MapFormatError, MapNotFound, OfflineError
from maps.graph import Facility, Place, RoadGraph, haversine_m
from maps.osm import (
    HIGHWAY_CLASS,
    PLACE_KINDS,
    StringTable,
    attach_to_graph,
    edge_attrs,
    facility_from_tags,
    place_from_tags,
)

__all__ = [
    "OSMNX_WAY_TAGS",
    "OVERPASS_WAY_FILTER",
    "build_from_place",
    "check_reachable",
    "drive_graph_from_osmnx",
    "graph_from_osmnx",
    "osmnx_drive_graph_from_xml",
    "osmnx_settings",
    "places_from_features",
]

logger = logging.getLogger(__name__)

#: Way tags osmnx must keep on its edges so that :func:`maps.osm.edge_attrs` sees them.
OSMNX_WAY_TAGS = (
    "access", "area", "highway", "junction", "maxspeed", "maxspeed:backward",
    "maxspeed:forward", "motor_vehicle", "motorcar", "name", "oneway", "ref", "service",
    "tracktype", "vehicle",
)

#: The Overpass way filter: every highway value a car might use. The finer rules (access,
#: service kinds, track grades) are applied afterwards by :func:`maps.osm.is_drivable`.
OVERPASS_WAY_FILTER = f'["highway"~"^({"|".join(HIGHWAY_CLASS)})$"]["area"!~"^yes$"]'

# the oneway values for which osmnx stores a way's nodes in reverse order
_OSMNX_REVERSED = frozenset({"-1", "reverse", "T"})
_FEATURE_TAGS: dict[str, bool | str | list[str]] = {
    "place": sorted(PLACE_KINDS),
    "amenity": "hospital",
}

OFFLINE_HINT = (
    "download a .osm.pbf extract (e.g. from Geofabrik) and run "
    "`mae maps build --osm-file FILE`"
)


@contextmanager
def osmnx_settings(**overrides: Any) -> Iterator[None]:
    """Set osmnx settings for the duration of a block and restore them (and the socket
    resolver osmnx patches while downloading) afterwards.

    Always keeps the way tags in :data:`OSMNX_WAY_TAGS` and sets ``all_oneway`` so osmnx adds
    every way once in its node order; our own rules add the directions.
    """
    import osmnx

    values: dict[str, Any] = {
        "useful_tags_way": list(OSMNX_WAY_TAGS),
        "all_oneway": True,
        "log_console": False,
        **overrides,
    }
    saved = {key: getattr(osmnx.settings, key) for key in values}
    resolver = socket.getaddrinfo
    try:
        for key, value in values.items():
            setattr(osmnx.settings, key, value)
        yield
    finally:
        for key, value in saved.items():
            setattr(osmnx.settings, key, value)
        socket.getaddrinfo = resolver


def _scalar(value: Any) -> Any:
    """One value of an attribute osmnx may have merged into a list."""
    return value[0] if isinstance(value, list) and value else value


def _tags(data: Mapping[str, Any]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for key in OSMNX_WAY_TAGS:
        value = _scalar(data.get(key))
        if isinstance(value, str):
            tags[key] = value
        elif isinstance(value, int | float) and not isinstance(value, bool) \
                and math.isfinite(value):
            tags[key] = str(value)
    return tags


def drive_graph_from_osmnx(raw: Any) -> Any:
    """The drivable, simplified osmnx graph of a raw (unsimplified) one read or downloaded
    inside :func:`osmnx_settings`.

    Drops ways a car may not use, adds each remaining way in the directions our rules allow
    (edge attribute ``reversed`` marks travel against the way's node order), then simplifies
    with ``edge_attrs_differ=["osmid"]`` so nodes where ways meet stay graph nodes, as in
    :func:`maps.osm.build_from_osm_file`.
    """
    import networkx as nx
    import osmnx

    drive = nx.MultiDiGraph(**raw.graph)
    for u, v, data in raw.edges(data=True):
        attrs = edge_attrs(_tags(data))
        if attrs is None:
            continue
        a, b = (v, u) if str(data.get("oneway")) in _OSMNX_REVERSED else (u, v)
        if attrs.direction >= 0:
            drive.add_edge(a, b, **{**data, "reversed": False})
        if attrs.direction <= 0:
            drive.add_edge(b, a, **{**data, "reversed": True})
    for node in drive.nodes:
        drive.nodes[node].update(raw.nodes[node])
    if drive.number_of_edges() == 0:
        return drive
    return osmnx.simplify_graph(drive, edge_attrs_differ=["osmid"])


def osmnx_drive_graph_from_xml(path: str | Path) -> Any:
    """The drivable osmnx graph of an OSM XML file, read offline with osmnx's own reader and
    prepared exactly as an online download is."""
    import osmnx

    path = Path(path)
    if not path.is_file():
        raise MapNotFound(f"OSM file {str(path)!r} does not exist")
    with osmnx_settings():
        try:
            raw = osmnx.graph_from_xml(path, simplify=False, retain_all=True)
        except Exception as exc:  # osmnx's XML reader raises many kinds of error
            raise MapFormatError(f"{path.name}: osmnx could not read it ({exc})") from exc
        return drive_graph_from_osmnx(raw)


def graph_from_osmnx(
    graph: Any,
    *,
    places: Iterable[Place] = (),
    facilities: Iterable[Facility] = (),
    meta: Mapping[str, Any] | None = None,
    keep_largest: bool = True,
) -> RoadGraph:
    """Convert a graph from :func:`drive_graph_from_osmnx` into a :class:`RoadGraph`.

    Lengths are great-circle distances along each edge's geometry; class, speed and labels
    come from :func:`maps.osm.edge_attrs`, so they match the offline builder's.
    """
    index: dict[Any, int] = {}
    lat: list[float] = []
    lon: list[float] = []

    def node(n: Any) -> int:
        if n not in index:
            index[n] = len(lat)
            lat.append(float(graph.nodes[n]["y"]))
            lon.append(float(graph.nodes[n]["x"]))
        return index[n]

    strings = StringTable()
    src: list[int] = []
    dst: list[int] = []
    length: list[float] = []
    speed: list[float] = []
    cls: list[int] = []
    ref: list[int] = []
    name: list[int] = []
    g_off = [0]
    g_lat: list[float] = []
    g_lon: list[float] = []
    for u, v, data in graph.edges(data=True):
        attrs = edge_attrs(_tags(data))
        if attrs is None or u == v:
            continue
        if "geometry" in data:
            xs, ys = data["geometry"].xy
            pts_lat, pts_lon = np.asarray(ys, dtype=np.float64), np.asarray(xs, dtype=np.float64)
        else:
            pts_lat = np.array([graph.nodes[u]["y"], graph.nodes[v]["y"]], dtype=np.float64)
            pts_lon = np.array([graph.nodes[u]["x"], graph.nodes[v]["x"]], dtype=np.float64)
        src.append(node(u))
        dst.append(node(v))
        length.append(float(np.sum(haversine_m(pts_lat[:-1], pts_lon[:-1],
                                               pts_lat[1:], pts_lon[1:]))))
        backward = bool(_scalar(data.get("reversed", False)))
        speed.append(attrs.backward_kmh if backward else attrs.forward_kmh)
        cls.append(int(attrs.road_class))
        ref.append(strings.add(attrs.ref))
        name.append(strings.add(attrs.name))
        g_lat.extend(pts_lat[1:-1].tolist())
        g_lon.extend(pts_lon[1:-1].tolist())
        g_off.append(len(g_lat))
    if not src:
        raise MapBuildError("the downloaded network has no drivable roads")
    road_graph = RoadGraph.from_edges(
        node_lat=lat, node_lon=lon, source=src, target=dst, length_m=length,
        speed_kmh=speed, road_class=cls, ref=ref, name=name, geom_offsets=g_off,
        geom_lat=g_lat, geom_lon=g_lon, strings=strings.strings, meta=dict(meta or {}),
    )
    if keep_largest:
        road_graph = road_graph.largest_strongly_connected()
    if road_graph.n_edges == 0:
        raise MapBuildError("the roads do not form a connected network")
    return attach_to_graph(road_graph, places, facilities)


def places_from_features(features: Any) -> tuple[list[Place], list[Facility]]:
    """Gazetteer places (from ``place=*`` nodes) and hospitals (nodes or areas, by centroid)
    from an osmnx features GeoDataFrame."""
    places: list[Place] = []
    facilities: list[Facility] = []
    if features is None or len(features) == 0:
        return places, facilities
    for key, row in features.iterrows():
        geom = row.get("geometry")
        if geom is None or geom.is_empty:
            continue
        tags = {str(k): v for k, v in row.items() if k != "geometry" and isinstance(v, str)}
        point = geom if geom.geom_type == "Point" else geom.centroid
        is_node = geom.geom_type == "Point" and (not isinstance(key, tuple) or key[0] == "node")
        if is_node and (p := place_from_tags(tags, float(point.y), float(point.x))) is not None:
            places.append(p)
        if (f := facility_from_tags(tags, float(point.y), float(point.x))) is not None:
            facilities.append(f)
    return places, facilities


def check_reachable(urls: Sequence[str], *, timeout_s: float) -> None:
    """Raise :class:`OfflineError` unless a TCP connection to each URL's host opens within
    ``timeout_s`` seconds in all (the hosts are tried at the same time, name lookup included)."""
    if not (math.isfinite(timeout_s) and timeout_s > 0):
        raise MapBuildError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}")
    targets: list[tuple[str, int]] = []
    for url in urls:
        parsed = urlparse(url)
        default_port = 80 if parsed.scheme == "http" else 443
        targets.append((parsed.hostname or url, parsed.port or default_port))
    problems: dict[str, str] = {host: "timed out" for host, _ in targets}

    def probe(host: str, port: int) -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                problems.pop(host, None)
        except OSError as exc:
            problems[host] = str(exc) or type(exc).__name__

    threads = [threading.Thread(target=probe, args=t, daemon=True) for t in targets]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout_s
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    failed = dict(problems)
    if failed:
        detail = "; ".join(f"{host}: {why}" for host, why in failed.items())
        raise OfflineError(
            f"cannot reach OpenStreetMap (Nominatim/Overpass: {detail}): {OFFLINE_HINT}"
        )


def _refused(exc: BaseException) -> str:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"OpenStreetMap's server refused the request ({detail}); try later, or {OFFLINE_HINT}"


def build_from_place(
    query: str,
    *,
    connect_timeout_s: float = 4.0,
    name: str | None = None,
    request_timeout_s: int = 180,
    keep_largest: bool = True,
    built_at: datetime | None = None,
) -> RoadGraph:
    """Download the drivable road network of a named area (``"Luleå, Sweden"``) from
    OpenStreetMap and build its graph, with the area's place names and hospitals.

    Offline, fails within ``connect_timeout_s`` with :class:`OfflineError`; a name the
    geocoder does not know raises :class:`MapBuildError`. If the place names cannot be
    fetched the graph is built without them and ``meta["notes"]`` says so.
    """
    import osmnx
    import requests
    from osmnx._errors import InsufficientResponseError, ResponseStatusCodeError

    query = query.strip()
    if not query:
        raise MapBuildError("the place to build a map of must not be empty")
    if isinstance(request_timeout_s, bool) or not (
        isinstance(request_timeout_s, int) and request_timeout_s > 0
    ):
        # a whole number: osmnx also writes it into the Overpass query, which wants an integer
        raise MapBuildError(
            f"request_timeout_s must be a positive whole number, got {request_timeout_s!r}"
        )
    check_reachable(
        [osmnx.settings.nominatim_url, osmnx.settings.overpass_url], timeout_s=connect_timeout_s
    )
    notes: list[str] = []
    with osmnx_settings(
        overpass_rate_limit=False, requests_timeout=request_timeout_s, use_cache=False
    ):
        try:
            area = osmnx.geocode_to_gdf(query)
        except InsufficientResponseError as exc:
            raise MapBuildError(
                f"OpenStreetMap's geocoder found no place called {query!r}; check the spelling "
                "or add the country (\"Luleå, Sweden\")"
            ) from exc
        except TypeError as exc:
            raise MapBuildError(
                f"{query!r} is not an area with a boundary in OpenStreetMap; name a town, "
                "municipality or county instead"
            ) from exc
        except requests.RequestException as exc:
            raise OfflineError(f"cannot reach OpenStreetMap ({exc}): {OFFLINE_HINT}") from exc
        except ResponseStatusCodeError as exc:
            raise MapBuildError(_refused(exc)) from exc
        polygon = area.geometry.iloc[0]
        try:
            raw = osmnx.graph_from_polygon(
                polygon, custom_filter=OVERPASS_WAY_FILTER, simplify=False, retain_all=True
            )
        except InsufficientResponseError as exc:
            raise MapBuildError(f"OpenStreetMap has no drivable roads in {query!r}") from exc
        except requests.RequestException as exc:
            raise OfflineError(f"cannot reach OpenStreetMap ({exc}): {OFFLINE_HINT}") from exc
        except ResponseStatusCodeError as exc:
            raise MapBuildError(_refused(exc)) from exc
        drive = drive_graph_from_osmnx(raw)
        try:
            features = osmnx.features_from_polygon(polygon, tags=_FEATURE_TAGS)
        except InsufficientResponseError:
            features = None
        except (requests.RequestException, ResponseStatusCodeError, ValueError, TypeError) as exc:
            features = None
            notes.append(f"place names and hospitals not fetched: {exc}")
            logger.warning("built %r without place names: %s", query, exc)
    places, facilities = places_from_features(features)
    meta: dict[str, Any] = {
        "name": name or query,
        "source": "osm-online",
        "query": query,
        "bbox": [float(v) for v in polygon.bounds],
    }
    if notes:
        meta["notes"] = notes
    if built_at is not None:
        meta["built_at"] = built_at.isoformat()
    return graph_from_osmnx(drive, places=places, facilities=facilities, meta=meta,
                            keep_largest=keep_largest)
