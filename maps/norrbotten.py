"""Build the bundled Norrbotten county road graph from its authored tables.

The tables in ``maps/data/norrbotten/`` (places, roads, facilities; see ``maps/data/README.md``)
are our own, written from public facts. This module reads and checks them row by row and turns
them into a :class:`RoadGraph`: one node per place or junction, two directed edges per two-way
road segment, with the segment's length, road number, class and speed limit.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from maps.errors import MapFormatError, MapNotFound
from maps.graph import Facility, Place, RoadClass, RoadGraph, haversine_m
from maps.traveltime import free_flow_speed_kmh

__all__ = [
    "DATA_DIR",
    "DriveTime",
    "build_norrbotten",
    "detour_ratio",
    "place_ids",
    "read_drive_times",
]

DATA_DIR = Path(__file__).parent / "data" / "norrbotten"

_PLACE_COLUMNS = ("id", "name", "alt_names", "kind", "municipality", "lat", "lon", "population")
_ROAD_COLUMNS = ("from", "to", "road", "road_class", "speed_limit", "length_km", "oneway", "via")
_FACILITY_COLUMNS = ("id", "name", "kinds", "place_id", "lat", "lon")
_DRIVE_COLUMNS = ("from", "to", "minutes", "distance_km", "source")


@dataclass(frozen=True, slots=True)
class DriveTime:
    """A publicly stated driving time between two places, used to validate the network."""

    source_id: str
    target_id: str
    minutes: float
    distance_km: float
    source: str


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    if not path.is_file():
        raise MapNotFound(f"map table {str(path)!r} does not exist")
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise MapFormatError(f"{path.name}: missing column(s) {', '.join(missing)}")
        for line, row in enumerate(reader, start=2):
            yield line, {k: (v or "").strip() for k, v in row.items() if k is not None}


def _number(path: Path, line: int, field: str, text: str, *, integer: bool = False) -> float:
    try:
        value = float(int(text)) if integer else float(text)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise MapFormatError(f"{path.name} line {line}: {field} {text!r} is not {kind}") from None
    if not math.isfinite(value):
        raise MapFormatError(f"{path.name} line {line}: {field} must be finite")
    return value


def _via(path: Path, line: int, text: str) -> list[tuple[float, float]]:
    points = []
    for chunk in filter(None, (c.strip() for c in text.split(";"))):
        parts = chunk.split()
        if len(parts) != 2:
            raise MapFormatError(f"{path.name} line {line}: via point {chunk!r} is not 'lat lon'")
        lat = _number(path, line, "via lat", parts[0])
        lon = _number(path, line, "via lon", parts[1])
        points.append((lat, lon))
    return points


def build_norrbotten(data_dir: Path = DATA_DIR) -> RoadGraph:
    """Read the authored tables in ``data_dir`` and build the county graph."""
    places_csv = data_dir / "places.csv"
    node_of: dict[str, int] = {}
    places: list[Place] = []
    lats: list[float] = []
    lons: list[float] = []
    for line, row in _rows(places_csv, _PLACE_COLUMNS):
        pid = row["id"]
        if not pid or pid in node_of:
            raise MapFormatError(f"places.csv line {line}: id {pid!r} is empty or repeated")
        lat = _number(places_csv, line, "lat", row["lat"])
        lon = _number(places_csv, line, "lon", row["lon"])
        node_of[pid] = len(lats)
        lats.append(lat)
        lons.append(lon)
        if row["kind"] not in ("locality", "junction"):
            raise MapFormatError(
                f"places.csv line {line}: kind {row['kind']!r} must be locality or junction"
            )
        alt = tuple(a.strip() for a in row["alt_names"].split(";") if a.strip())
        places.append(
            Place(
                name=row["name"],
                lat=lat,
                lon=lon,
                node=node_of[pid],
                population=int(_number(places_csv, line, "population", row["population"],
                                       integer=True)),
                kind=row["kind"],
                municipality=row["municipality"],
                alt_names=alt,
            )
        )

    roads_csv = data_dir / "roads.csv"
    strings: list[str] = []
    string_id: dict[str, int] = {}
    src: list[int] = []
    dst: list[int] = []
    length: list[float] = []
    speed: list[float] = []
    cls: list[int] = []
    ref: list[int] = []
    g_off = [0]
    g_lat: list[float] = []
    g_lon: list[float] = []
    for line, row in _rows(roads_csv, _ROAD_COLUMNS):
        for end in ("from", "to"):
            if row[end] not in node_of:
                raise MapFormatError(
                    f"roads.csv line {line}: {end} {row[end]!r} is not a place id"
                )
        a, b = node_of[row["from"]], node_of[row["to"]]
        if a == b:
            raise MapFormatError(f"roads.csv line {line}: a road must join two different places")
        km = _number(roads_csv, line, "length_km", row["length_km"])
        limit = _number(roads_csv, line, "speed_limit", row["speed_limit"])
        if km <= 0 or limit <= 0:
            raise MapFormatError(f"roads.csv line {line}: length_km and speed_limit must be > 0")
        road_class = RoadClass.parse(row["road_class"])
        label = _road_label(row["road"])
        if label not in string_id:
            string_id[label] = len(strings)
            strings.append(label)
        via = _via(roads_csv, line, row["via"])
        oneway = row["oneway"] in ("1", "yes", "true")
        legs = [(a, b, via)] if oneway else [(a, b, via), (b, a, via[::-1])]
        for u, v, pts in legs:
            src.append(u)
            dst.append(v)
            length.append(km * 1000.0)
            speed.append(free_flow_speed_kmh(limit))
            cls.append(int(road_class))
            ref.append(string_id[label])
            g_lat.extend(p[0] for p in pts)
            g_lon.extend(p[1] for p in pts)
            g_off.append(len(g_lat))

    fac_csv = data_dir / "facilities.csv"
    facilities: list[Facility] = []
    for line, row in _rows(fac_csv, _FACILITY_COLUMNS):
        if row["place_id"] not in node_of:
            raise MapFormatError(
                f"facilities.csv line {line}: place_id {row['place_id']!r} is not a place id"
            )
        kinds = [k.strip() for k in row["kinds"].split(";") if k.strip()]
        if not kinds:
            raise MapFormatError(f"facilities.csv line {line}: kinds must not be empty")
        node = node_of[row["place_id"]]
        facilities.append(
            Facility(
                name=row["name"],
                kind=kinds[0],
                kinds=tuple(kinds[1:]),
                lat=_number(fac_csv, line, "lat", row["lat"]),
                lon=_number(fac_csv, line, "lon", row["lon"]),
                node=node,
                place=places[node].name,
            )
        )

    return RoadGraph.from_edges(
        node_lat=lats,
        node_lon=lons,
        source=src,
        target=dst,
        length_m=length,
        speed_kmh=speed,
        road_class=cls,
        ref=ref,
        geom_offsets=g_off,
        geom_lat=g_lat,
        geom_lon=g_lon,
        strings=strings,
        places=places,
        facilities=facilities,
        meta={
            "name": "Norrbotten county (bundled)",
            "source": "authored",
            "description": "County-scale main-road network of Norrbotten, Sweden; see "
            "maps/data/README.md for sources and coverage.",
        },
    )


def _road_label(road: str) -> str:
    """How a crew reads a road number: E-roads as signed, others as 'väg N'."""
    road = road.strip()
    if not road:
        return ""
    if road[0] in "Ee" and road[1:].isdigit():
        return "E" + road[1:]
    if road.isdigit():
        return f"väg {road}"
    return road


def read_drive_times(data_dir: Path = DATA_DIR) -> list[DriveTime]:
    """The stated driving times between town pairs that the network is validated against."""
    path = data_dir / "drive_times.csv"
    out = []
    for line, row in _rows(path, _DRIVE_COLUMNS):
        out.append(
            DriveTime(
                source_id=row["from"],
                target_id=row["to"],
                minutes=_number(path, line, "minutes", row["minutes"]),
                distance_km=_number(path, line, "distance_km", row["distance_km"]),
                source=row["source"],
            )
        )
    return out


def place_ids(data_dir: Path = DATA_DIR) -> dict[str, int]:
    """Place id → node index, in the order :func:`build_norrbotten` numbers the nodes."""
    return {row["id"]: i for i, (_, row) in enumerate(_rows(data_dir / "places.csv",
                                                            _PLACE_COLUMNS))}


def detour_ratio(graph: RoadGraph, edge: int) -> float:
    """Road length of ``edge`` over the great-circle distance of its ends."""
    u = int(graph.edge_source[edge])
    v = int(graph.edge_target[edge])
    crow = float(haversine_m(graph.node_lat[u], graph.node_lon[u],
                             graph.node_lat[v], graph.node_lon[v]))
    return float(graph.edge_length_m[edge]) / crow if crow > 0 else math.inf
