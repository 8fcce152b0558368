"""Build a :class:`~maps.graph.RoadGraph` from an OpenStreetMap extract on disk (offline).

Reads ``.osm`` (XML) and ``.osm.pbf`` files with pyosmium in one streaming pass and turns the
drivable ``highway=*`` ways into a node-based graph like osmnx's simplified graph: graph nodes
are way ends and nodes shared by two or more ways; the points between them become edge
geometry. The tag rules (which ways a car may use, road class, one-way, speed) live here as
small pure functions so the online builder in :mod:`maps._osm` applies exactly the same ones.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from maps.errors import MapBuildError, MapFormatError, MapNotFound
from maps.graph import Facility, Place, RoadClass, RoadGraph, haversine_m
from maps.traveltime import DEFAULT_CLASS_SPEED_KMH, free_flow_speed_kmh

__all__ = [
    "ALT_NAME_KEYS",
    "HIGHWAY_CLASS",
    "PLACE_KINDS",
    "BBox",
    "EdgeAttrs",
    "StringTable",
    "attach_to_graph",
    "build_from_osm_file",
    "edge_attrs",
    "facility_from_tags",
    "is_drivable",
    "oneway_direction",
    "parse_maxspeed",
    "place_from_tags",
    "road_class",
    "validate_bbox",
]

logger = logging.getLogger(__name__)

#: OSM ``highway`` values a car may drive on, and the road class each maps to. ``track`` is
#: kept only with ``tracktype=grade1/grade2`` (solid, all-weather gravel): in Norrbotten many
#: homes lie on such forest roads, and the slow TRACK class keeps the router off them unless
#: they are the only way in. Softer tracks are seasonal and not safe to send a car down.
HIGHWAY_CLASS: Mapping[str, RoadClass] = {
    "motorway": RoadClass.MOTORWAY,
    "motorway_link": RoadClass.MOTORWAY,
    "trunk": RoadClass.TRUNK,
    "trunk_link": RoadClass.TRUNK,
    "primary": RoadClass.PRIMARY,
    "primary_link": RoadClass.PRIMARY,
    "secondary": RoadClass.SECONDARY,
    "secondary_link": RoadClass.SECONDARY,
    "tertiary": RoadClass.TERTIARY,
    "tertiary_link": RoadClass.TERTIARY,
    "unclassified": RoadClass.UNCLASSIFIED,
    "road": RoadClass.UNCLASSIFIED,
    "residential": RoadClass.RESIDENTIAL,
    "living_street": RoadClass.RESIDENTIAL,
    "service": RoadClass.SERVICE,
    "track": RoadClass.TRACK,
}

#: ``place=*`` values that become gazetteer entries.
PLACE_KINDS = frozenset(
    {"city", "town", "village", "hamlet", "suburb", "neighbourhood", "locality",
     "isolated_dwelling"}
)

#: Tags whose values become a place's other names (Swedish, Northern Sami, Finnish, Meänkieli,
#: English, and the free ``alt_name`` list).
ALT_NAME_KEYS = ("name:sv", "name:se", "name:fi", "name:fit", "name:en", "alt_name")

# service roads that are not through roads: parking aisles, private driveways, drive-throughs
_EXCLUDED_SERVICE = frozenset({"parking_aisle", "driveway", "drive-through", "emergency_access"})
_SOLID_TRACK = frozenset({"grade1", "grade2"})
# access values that shut ordinary cars out; the most specific access key present decides
_ACCESS_KEYS = ("motorcar", "motor_vehicle", "vehicle", "access")
_DENIED = frozenset({"no", "private", "agricultural", "forestry", "agricultural;forestry",
                     "military", "emergency", "use_sidepath"})

_FORWARD = frozenset({"yes", "true", "1"})
_BACKWARD = frozenset({"-1", "reverse"})
_BOTH = frozenset({"no", "false", "0", "reversible", "alternating"})

_MPH = 1.609344
_KNOT = 1.852
# implicit limits ("SE:rural"), km/h: generic values, then per-country differences
_IMPLICIT_KMH: Mapping[str, float] = {
    "urban": 50.0, "rural": 80.0, "trunk": 100.0, "motorway": 120.0,
    "living_street": 7.0, "walk": 7.0, "bicycle_road": 30.0, "school": 30.0,
}
_COUNTRY_KMH: Mapping[str, Mapping[str, float]] = {
    "SE": {"rural": 70.0, "motorway": 110.0},   # Trafikförordningen 3 kap. 17 §
    "NO": {"rural": 80.0, "motorway": 110.0},
    "FI": {"rural": 80.0, "motorway": 120.0},
    "DK": {"rural": 80.0, "motorway": 130.0},
    "DE": {"rural": 100.0, "motorway": 130.0},  # 130 is the advisory Richtgeschwindigkeit
    "GB": {"nsl_single": 60 * _MPH, "nsl_dual": 70 * _MPH, "motorway": 70 * _MPH,
           "urban": 30 * _MPH},
}
_NUMBER = re.compile(r"^(\d+(?:[.,]\d+)?)\s*(km/h|kmh|kph|mph|knots)?$")
_ZONE = re.compile(r"^(?:[a-z]{2}:)?zone:?(\d+)$")
_NO_LIMIT_KMH = 130.0  # "maxspeed=none": drivers still keep to what the road allows
_POPULATION = re.compile(r"^\d{1,3}(?:[ ,.'\u00a0\u202f]\d{3})+$|^\d+$")

_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.gz", ".osm.bz2", ".o5m", ".opl", ".xml")

BBox = tuple[float, float, float, float]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


# -- tag rules (shared with maps._osm) ------------------------------------------------------


def road_class(tags: Mapping[str, str]) -> RoadClass | None:
    """The road class of a way's ``highway`` value, or None if it is not a road class."""
    return HIGHWAY_CLASS.get(tags.get("highway", ""))


def is_drivable(tags: Mapping[str, str]) -> bool:
    """Whether an ordinary car may drive along a way with these tags."""
    highway = tags.get("highway", "")
    if highway not in HIGHWAY_CLASS or tags.get("area") == "yes":
        return False
    if highway == "service" and tags.get("service") in _EXCLUDED_SERVICE:
        return False
    if highway == "track" and tags.get("tracktype") not in _SOLID_TRACK:
        return False
    for key in _ACCESS_KEYS:
        if key in tags:
            return tags[key].strip().lower() not in _DENIED
    return True


def oneway_direction(tags: Mapping[str, str]) -> int:
    """1 if a way may be driven only along its node order, -1 only against it, 0 both ways.

    ``oneway=yes/true/1`` and ``-1/reverse`` are explicit; ``junction=roundabout/circular`` and
    ``highway=motorway`` imply one-way unless ``oneway=no`` says otherwise. Reversible and
    alternating lanes can be driven both ways, so they count as two-way.
    """
    value = tags.get("oneway", "").strip().lower()
    if value in _FORWARD:
        return 1
    if value in _BACKWARD:
        return -1
    if value in _BOTH:
        return 0
    if tags.get("junction") in ("roundabout", "circular") or tags.get("highway") == "motorway":
        return 1
    return 0


def parse_maxspeed(text: str | None) -> float | None:
    """The speed limit in km/h of a ``maxspeed`` value, or None if it says nothing usable.

    Understands plain numbers (km/h), units (``"90 km/h"``, ``"50 mph"``, ``"10 knots"``),
    implicit limits (``"SE:urban"``, ``"SE:rural"``, ``"SE:motorway"``, ``"DE:zone30"``,
    ``"walk"``), ``"none"`` (no limit) and lists (``"60;80"`` gives the lower limit).
    """
    if text is None:
        return None
    limits = [v for part in text.split(";") if (v := _parse_one_limit(part)) is not None]
    return min(limits) if limits else None


def _parse_one_limit(text: str) -> float | None:
    s = text.strip().lower()
    if not s:
        return None
    if m := _NUMBER.match(s):
        value = float(m.group(1).replace(",", "."))
        unit = m.group(2)
        value *= _MPH if unit == "mph" else _KNOT if unit == "knots" else 1.0
        return value if 1.0 <= value <= 250.0 else None
    if s == "none":
        return _NO_LIMIT_KMH
    if m := _ZONE.match(s):
        return float(m.group(1)) or None
    country, _, kind = s.rpartition(":")
    by_country = _COUNTRY_KMH.get(country.upper(), {})
    return by_country.get(kind, _IMPLICIT_KMH.get(kind))


def _speed_kmh(cls: RoadClass, limit: float | None) -> float:
    return free_flow_speed_kmh(limit) if limit is not None else DEFAULT_CLASS_SPEED_KMH[cls]


@dataclass(frozen=True, slots=True)
class EdgeAttrs:
    """What one drivable way contributes to each of its edges."""

    road_class: RoadClass
    direction: int
    forward_kmh: float
    backward_kmh: float
    ref: str
    name: str

    def __post_init__(self) -> None:
        if self.direction not in (-1, 0, 1):
            raise MapFormatError(f"direction must be -1, 0 or 1, got {self.direction!r}")
        if not (self.forward_kmh > 0 and self.backward_kmh > 0):
            raise MapFormatError("edge speeds must be > 0")


def edge_attrs(tags: Mapping[str, str]) -> EdgeAttrs | None:
    """Class, direction, free-flow speeds and labels of a way; None if a car may not use it.

    The speed is the expected free-flow speed for the posted limit (``maxspeed``, or
    ``maxspeed:forward``/``maxspeed:backward`` per direction), else the class default. A
    ``living_street`` without a limit is taken as walking pace, as the law there requires.
    """
    if not is_drivable(tags):
        return None
    cls = HIGHWAY_CLASS[tags["highway"]]
    general = parse_maxspeed(tags.get("maxspeed"))
    if general is None and tags["highway"] == "living_street":
        general = _IMPLICIT_KMH["living_street"]
    fwd = parse_maxspeed(tags.get("maxspeed:forward"))
    bwd = parse_maxspeed(tags.get("maxspeed:backward"))
    return EdgeAttrs(
        road_class=cls,
        direction=oneway_direction(tags),
        forward_kmh=_speed_kmh(cls, fwd if fwd is not None else general),
        backward_kmh=_speed_kmh(cls, bwd if bwd is not None else general),
        ref=tags.get("ref", "").strip(),
        name=tags.get("name", "").strip(),
    )


class StringTable:
    """Interns road numbers and names into the graph's shared string table."""

    def __init__(self) -> None:
        self._index: dict[str, int] = {}

    def add(self, text: str) -> int:
        """The index of ``text`` (added if new), or -1 for an empty string."""
        if not text:
            return -1
        return self._index.setdefault(text, len(self._index))

    @property
    def strings(self) -> tuple[str, ...]:
        return tuple(self._index)


def _parse_population(text: str | None) -> int:
    if not text:
        return 0
    s = text.strip()
    if not _POPULATION.match(s):
        return 0
    return int(re.sub(r"\D", "", s))


def place_from_tags(tags: Mapping[str, str], lat: float, lon: float) -> Place | None:
    """A gazetteer place from a ``place=*`` node's tags (attached to node 0 until
    :func:`attach_to_graph`), or None if it is not a named settlement."""
    kind = tags.get("place", "")
    name = tags.get("name", "").strip()
    if kind not in PLACE_KINDS or not name:
        return None
    alt: list[str] = []
    for key in ALT_NAME_KEYS:
        for value in tags.get(key, "").split(";"):
            value = value.strip()
            if value and value != name and value not in alt:
                alt.append(value)
    try:
        return Place(name=name, lat=lat, lon=lon, node=0, kind=kind, alt_names=tuple(alt),
                     population=_parse_population(tags.get("population")))
    except MapFormatError:
        return None


def facility_from_tags(tags: Mapping[str, str], lat: float, lon: float) -> Facility | None:
    """A hospital from an ``amenity=hospital`` element's tags, or None. A psychiatric hospital
    with ``emergency=yes`` also counts as a psychiatric emergency reception."""
    if tags.get("amenity") != "hospital":
        return None
    speciality = tags.get("healthcare:speciality", "")
    psych_er = "psychiatry" in speciality and tags.get("emergency") == "yes"
    try:
        return Facility(
            name=tags.get("name", "").strip() or "hospital",
            kind="hospital",
            lat=lat,
            lon=lon,
            node=0,
            place=tags.get("addr:city", "").strip(),
            kinds=("psychiatric_emergency",) if psych_er else (),
        )
    except MapFormatError:
        return None


def validate_bbox(bbox: Sequence[float]) -> BBox:
    """``(min_lon, min_lat, max_lon, max_lat)`` checked to be finite, ordered and on Earth."""
    try:
        values = tuple(float(v) for v in bbox)
    except (TypeError, ValueError):
        raise MapBuildError(
            f"bbox must be four numbers (min_lon, min_lat, max_lon, max_lat), got {bbox!r}"
        ) from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise MapBuildError(
            f"bbox must be four finite numbers (min_lon, min_lat, max_lon, max_lat), got {bbox!r}"
        )
    min_lon, min_lat, max_lon, max_lat = values
    if not (-180.0 <= min_lon < max_lon <= 180.0):
        raise MapBuildError(
            f"bbox longitudes must satisfy -180 <= min_lon < max_lon <= 180, got {min_lon}, "
            f"{max_lon} (order is min_lon, min_lat, max_lon, max_lat)"
        )
    if not (-90.0 <= min_lat < max_lat <= 90.0):
        raise MapBuildError(
            f"bbox latitudes must satisfy -90 <= min_lat < max_lat <= 90, got {min_lat}, "
            f"{max_lat} (order is min_lon, min_lat, max_lon, max_lat)"
        )
    return min_lon, min_lat, max_lon, max_lat


def _in_bbox(bbox: BBox | None, lat: float, lon: float) -> bool:
    return bbox is None or (bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3])


def _unit_vectors(lat: F64, lon: F64) -> F64:
    p, q = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(p) * np.cos(q), np.cos(p) * np.sin(q), np.sin(p)))


def attach_to_graph(
    graph: RoadGraph, places: Iterable[Place], facilities: Iterable[Facility]
) -> RoadGraph:
    """``graph`` with the places and hospitals attached to their nearest graph node.

    The same hospital mapped twice (a node and an area) with the same name within 500 m is
    kept once.
    """
    from scipy.spatial import cKDTree

    places, facilities = list(places), list(facilities)
    if graph.n_nodes == 0 or not (places or facilities):
        return graph
    tree = cKDTree(_unit_vectors(graph.node_lat, graph.node_lon))

    def nearest(lat: float, lon: float) -> int:
        _, idx = tree.query(_unit_vectors(np.array([lat]), np.array([lon]))[0])
        return int(idx)

    kept_facilities: list[Facility] = []
    for f in facilities:
        if any(g.name == f.name and haversine_m(g.lat, g.lon, f.lat, f.lon) < 500.0
               for g in kept_facilities):
            continue
        kept_facilities.append(replace(f, node=nearest(f.lat, f.lon)))
    return replace(
        graph,
        places=tuple(replace(p, node=nearest(p.lat, p.lon)) for p in places),
        facilities=tuple(kept_facilities),
    )


# -- reading an extract -----------------------------------------------------------------------


class _Collector:
    """Gathers the drivable way pieces, places and hospitals of one pass over a file."""

    def __init__(self, bbox: BBox | None) -> None:
        self.bbox = bbox
        self.attrs: list[EdgeAttrs] = []
        self.refs: list[int] = []
        self.lats: list[float] = []
        self.lons: list[float] = []
        self.piece_start: list[int] = []
        self.piece_way: list[int] = []
        self.places: list[Place] = []
        self.facilities: list[Facility] = []
        self.ways = 0
        self.clipped_ways = 0
        self.missing_nodes = 0
        # min_lat, min_lon, max_lat, max_lon of the first located node of every road
        self.extent = [math.inf, math.inf, -math.inf, -math.inf]

    def node(self, tags: Mapping[str, str], lat: float, lon: float) -> None:
        if not _in_bbox(self.bbox, lat, lon):
            return
        if "place" in tags and (p := place_from_tags(tags, lat, lon)) is not None:
            self.places.append(p)
        if (f := facility_from_tags(tags, lat, lon)) is not None:
            self.facilities.append(f)

    def hospital_way(self, tags: Mapping[str, str], points: list[tuple[float, float]]) -> None:
        if not points:
            return
        unique = list(dict.fromkeys(points))
        lat = sum(p[0] for p in unique) / len(unique)
        lon = sum(p[1] for p in unique) / len(unique)
        self.node(tags, lat, lon)

    def way(self, tags: Mapping[str, str], nodes: Iterable[Any]) -> None:
        """Add a road; ``nodes`` are its pyosmium node references in way order. The way is cut
        where a node is missing from the file or lies outside the bbox. (The hot loop of a
        build: it touches every road node once, so it avoids helper calls.)"""
        attrs = edge_attrs(tags)
        if attrs is None:
            return
        self.ways += 1
        way_index = len(self.attrs)
        refs, lats, lons = self.refs, self.lats, self.lons
        box = self.bbox
        start = len(refs)
        last = None
        missing = 0
        first_known: tuple[float, float] | None = None
        for n in nodes:
            loc = n.location
            if loc.valid():
                lat, lon = loc.lat, loc.lon
                if first_known is None:
                    first_known = (lat, lon)
                if box is None or (box[0] <= lon <= box[2] and box[1] <= lat <= box[3]):
                    ref = n.ref
                    if ref != last:  # drop repeated consecutive nodes
                        refs.append(ref)
                        lats.append(lat)
                        lons.append(lon)
                        last = ref
                    continue
            else:
                missing += 1
            start = self._close_piece(start, way_index)
            last = None
        self._close_piece(start, way_index)
        if missing:
            self.clipped_ways += 1
            self.missing_nodes += missing
        if first_known is not None:  # roughly where the roads are, for error messages
            ext = self.extent
            ext[0], ext[1] = min(ext[0], first_known[0]), min(ext[1], first_known[1])
            ext[2], ext[3] = max(ext[2], first_known[0]), max(ext[3], first_known[1])
        if self.piece_way and self.piece_way[-1] == way_index:
            self.attrs.append(attrs)

    def _close_piece(self, start: int, way_index: int) -> int:
        """End the piece that began at ``start``: keep it if it has two nodes, else drop it."""
        end = len(self.refs)
        if end - start >= 2:
            self.piece_start.append(start)
            self.piece_way.append(way_index)
        elif end > start:
            del self.refs[start:], self.lats[start:], self.lons[start:]
        return len(self.refs)


def _read_file(path: Path, collector: _Collector) -> str | None:
    """Stream ``path`` into ``collector``; returns the file's replication timestamp, if any."""
    import osmium

    def fail(exc: BaseException) -> MapFormatError:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "detect file format" in detail:
            return MapFormatError(
                f"{path.name}: unknown file type; expected an OSM extract ending in .osm or "
                ".osm.pbf"
            )
        return MapFormatError(f"{path.name}: not a readable OSM extract ({detail})")

    node_filter = osmium.filter.KeyFilter("place", "amenity")
    node_filter.enable_for(osmium.osm.NODE)
    way_filter = osmium.filter.KeyFilter("highway", "amenity")
    way_filter.enable_for(osmium.osm.WAY)
    try:
        processor = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        processor.with_locations().with_filter(node_filter).with_filter(way_filter)
        timestamp = processor.header.get("osmosis_replication_timestamp") or None
        objects: Iterator[Any] = iter(processor)
    except Exception as exc:  # pyosmium reports bad input as RuntimeError and friends
        raise fail(exc) from exc
    while True:
        try:
            obj = next(objects)
        except StopIteration:
            return timestamp
        except Exception as exc:  # only pyosmium runs inside this try
            raise fail(exc) from exc
        tags = dict(obj.tags)
        if obj.is_node():
            loc = obj.location
            if loc.valid():
                collector.node(tags, loc.lat, loc.lon)
        elif "highway" in tags:
            collector.way(tags, obj.nodes)
        elif tags.get("amenity") == "hospital":
            points = [(n.location.lat, n.location.lon) for n in obj.nodes if n.location.valid()]
            collector.hospital_way(tags, points)


# -- from way pieces to a graph ---------------------------------------------------------------


def _rotate_rings(
    refs: I64, piece_off: I64, is_node: npt.NDArray[np.bool_]
) -> I64:
    """A gather index that starts every closed piece (a ring, like a roundabout) at its first
    junction, so the ring's closing point is not made a graph node of its own."""
    order = np.arange(len(refs), dtype=np.int64)
    starts, ends = piece_off[:-1], piece_off[1:] - 1
    closed = np.flatnonzero((refs[starts] == refs[ends]) & (ends - starts >= 3))
    for p in closed:
        s, e = int(starts[p]), int(ends[p])
        if is_node[s]:
            continue
        inner = np.flatnonzero(is_node[s + 1:e])
        if len(inner) == 0:
            continue  # an isolated ring: it becomes a self-loop and is dropped
        j = s + 1 + int(inner[0])
        ring = np.concatenate((np.arange(j, e), np.arange(s, j + 1)))
        order[s:e + 1] = ring
    return order


def _graph_from_pieces(col: _Collector, meta: dict[str, Any]) -> RoadGraph:
    refs = np.asarray(col.refs, dtype=np.int64)
    lat = np.asarray(col.lats, dtype=np.float64)
    lon = np.asarray(col.lons, dtype=np.float64)
    n_pts = len(refs)
    piece_off = np.asarray([*col.piece_start, n_pts], dtype=np.int64)
    piece_of = np.repeat(np.arange(len(col.piece_start)), np.diff(piece_off))
    starts, ends = piece_off[:-1], piece_off[1:] - 1

    # how many pieces use each node (a ring's closing point counted once)
    closed = (refs[starts] == refs[ends]) & (ends - starts >= 3)
    counted = np.ones(n_pts, dtype=bool)
    counted[ends[closed]] = False
    uniq, inverse = np.unique(refs, return_inverse=True)
    uses = np.bincount(inverse[counted], minlength=len(uniq))
    is_node = uses[inverse] >= 2
    open_ends = np.concatenate((starts[~closed], ends[~closed]))
    is_node[open_ends] = True

    order = _rotate_rings(refs, piece_off, is_node)
    refs, lat, lon, inverse = refs[order], lat[order], lon[order], inverse[order]
    is_node = uses[inverse] >= 2
    is_node[starts] = True
    is_node[ends] = True

    pos = np.flatnonzero(is_node)
    a, b = pos[:-1], pos[1:]
    same = piece_of[a] == piece_of[b]
    a, b = a[same], b[same]

    seg = haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:])
    seg[piece_of[:-1] != piece_of[1:]] = 0.0
    cum = np.concatenate(([0.0], np.cumsum(seg)))
    length = cum[b] - cum[a]

    node_refs, first = np.unique(refs[is_node], return_index=True)
    node_lat, node_lon = lat[is_node][first], lon[is_node][first]
    u = np.searchsorted(node_refs, refs[a])
    v = np.searchsorted(node_refs, refs[b])

    # interior points: every non-node point lies inside exactly one segment, in order
    n_inner = b - a - 1
    g_off = np.concatenate(([0], np.cumsum(n_inner))).astype(np.int64)
    g_lat, g_lon = lat[~is_node], lon[~is_node]
    rev = np.repeat(g_off[:-1] + n_inner - 1, n_inner) - (
        np.arange(int(g_off[-1])) - np.repeat(g_off[:-1], n_inner)
    )

    way = np.asarray(col.piece_way, dtype=np.int64)[piece_of[a]]
    strings = StringTable()
    direction = np.array([w.direction for w in col.attrs], dtype=np.int64)[way]
    cls = np.array([int(w.road_class) for w in col.attrs], dtype=np.int64)[way]
    fwd_kmh = np.array([w.forward_kmh for w in col.attrs], dtype=np.float64)[way]
    bwd_kmh = np.array([w.backward_kmh for w in col.attrs], dtype=np.float64)[way]
    ref_id = np.array([strings.add(w.ref) for w in col.attrs], dtype=np.int64)[way]
    name_id = np.array([strings.add(w.name) for w in col.attrs], dtype=np.int64)[way]

    fwd = (direction >= 0) & (u != v)
    bwd = (direction <= 0) & (u != v)
    fi, bi = np.flatnonzero(fwd), np.flatnonzero(bwd)
    geom_index = np.concatenate((
        _ragged_take(g_off, np.arange(int(g_off[-1])), fi),
        _ragged_take(g_off, rev, bi),
    ))
    counts = np.concatenate((n_inner[fi], n_inner[bi]))
    return RoadGraph.from_edges(
        node_lat=node_lat,
        node_lon=node_lon,
        source=np.concatenate((u[fi], v[bi])),
        target=np.concatenate((v[fi], u[bi])),
        length_m=np.concatenate((length[fi], length[bi])),
        speed_kmh=np.concatenate((fwd_kmh[fi], bwd_kmh[bi])),
        road_class=np.concatenate((cls[fi], cls[bi])),
        ref=np.concatenate((ref_id[fi], ref_id[bi])),
        name=np.concatenate((name_id[fi], name_id[bi])),
        geom_offsets=np.concatenate(([0], np.cumsum(counts))),
        geom_lat=g_lat[geom_index],
        geom_lon=g_lon[geom_index],
        strings=strings.strings,
        meta=meta,
    )


def _ragged_take(offsets: I64, values: I64, rows: I64) -> I64:
    """The concatenation of ``values[offsets[r]:offsets[r + 1]]`` for each ``r`` in ``rows``."""
    lens = offsets[1:][rows] - offsets[:-1][rows]
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    out_off = np.concatenate(([0], np.cumsum(lens)))
    idx = np.repeat(offsets[:-1][rows] - out_off[:-1], lens) + np.arange(total)
    return np.asarray(values[idx], dtype=np.int64)


def _file_stem(path: Path) -> str:
    name = path.name
    for suffix in _SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return path.stem


def build_from_osm_file(
    path: str | Path,
    *,
    bbox: Sequence[float] | None = None,
    name: str | None = None,
    keep_largest: bool = True,
    built_at: datetime | None = None,
) -> RoadGraph:
    """The drivable road graph of an ``.osm`` or ``.osm.pbf`` extract.

    ``bbox`` (``min_lon, min_lat, max_lon, max_lat``) crops the network: ways are cut where they
    leave it. Ways that refer to nodes missing from the file (clipped extracts) are cut there
    too and their valid pieces kept. With ``keep_largest`` only the largest strongly connected
    component remains, so every node can reach every other. ``built_at`` is recorded in
    ``meta`` if given; nothing here reads the clock.

    Raises :class:`MapNotFound` (no such file), :class:`MapFormatError` (not a readable OSM
    file) or :class:`MapBuildError` (a bad bbox, or no drivable roads).
    """
    path = Path(path)
    box = validate_bbox(bbox) if bbox is not None else None
    if not path.exists():
        raise MapNotFound(f"OSM file {str(path)!r} does not exist")
    if not path.is_file():
        raise MapFormatError(f"{str(path)!r} is not a file; expected an .osm or .osm.pbf extract")

    col = _Collector(box)
    timestamp = _read_file(path, col)
    if not col.attrs:
        if col.ways and not math.isfinite(col.extent[0]):
            raise MapBuildError(
                f"{path.name}: its {col.ways} drivable ways refer only to nodes the file does "
                "not hold (nodes must come before ways, with positive ids)"
            )
        if box is None:
            raise MapBuildError(f"{path.name} contains no drivable roads")
        raise MapBuildError(
            f"no drivable roads inside bbox {list(box)} in {path.name}"
            + _extent_hint(col.extent)
        )
    meta: dict[str, Any] = {
        "name": name or _file_stem(path),
        "source": "osm-file",
        "file": path.name,
        "bbox": list(box) if box is not None else None,
        "osm_timestamp": timestamp,
        "osm_ways": col.ways,
        "clipped_ways": col.clipped_ways,
        "missing_nodes": col.missing_nodes,
    }
    if built_at is not None:
        meta["built_at"] = built_at.isoformat()
    graph = _graph_from_pieces(col, meta)
    if keep_largest:
        graph = graph.largest_strongly_connected()
    if graph.n_edges == 0:
        raise MapBuildError(
            f"the roads in {path.name} do not form a connected network (every edge is one-way "
            "with no way back); use a larger extract or bbox"
        )
    logger.info("built %s: %d nodes, %d edges", meta["name"], graph.n_nodes, graph.n_edges)
    return attach_to_graph(graph, col.places, col.facilities)


def _extent_hint(extent: list[float]) -> str:
    min_lat, min_lon, max_lat, max_lon = extent
    if not math.isfinite(min_lat):
        return "; the file has no drivable roads at all"
    return (
        f"; the file's roads span lon {min_lon:.4f}..{max_lon:.4f}, "
        f"lat {min_lat:.4f}..{max_lat:.4f}"
    )
