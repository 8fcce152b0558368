"""The road graph every other package works on, and its compact on-disk format.

A :class:`RoadGraph` is a directed graph in compressed sparse row (CSR) order: the out-edges of
node ``u`` are ``edge_offsets[u]:edge_offsets[u + 1]``. Every per-node and per-edge attribute is a
flat NumPy array, so a million-node graph is a handful of arrays that load in well under a second
and that routing can hand straight to array code. The bundled Norrbotten map and every graph built
from OpenStreetMap are stored the same way (see :func:`save_graph` / :func:`load_graph`).
"""

from __future__ import annotations

import enum
import json
import math
import os
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from maps.errors import MapFormatError, MapNotFound

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "Facility",
    "Place",
    "RoadClass",
    "RoadGraph",
    "haversine_m",
    "haversine_m_float",
    "haversine_m_pair",
    "load_graph",
    "save_graph",
]

FORMAT_NAME = "mae-roadgraph"
FORMAT_VERSION = 1

FloatArray = npt.NDArray[np.float64]
F32Array = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
I32Array = npt.NDArray[np.int32]
U8Array = npt.NDArray[np.uint8]

EARTH_RADIUS_M = 6_371_008.8


class RoadClass(enum.IntEnum):
    """Functional road class, from fastest to slowest; OSM ``highway`` values map onto it."""

    MOTORWAY = 0
    TRUNK = 1
    PRIMARY = 2
    SECONDARY = 3
    TERTIARY = 4
    UNCLASSIFIED = 5
    RESIDENTIAL = 6
    SERVICE = 7
    TRACK = 8

    @classmethod
    def parse(cls, text: str) -> RoadClass:
        """The class named ``text`` (case-insensitive), or :class:`MapFormatError`."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(c.name.lower() for c in cls)
            raise MapFormatError(f"unknown road class {text!r}; expected one of {names}") from None


def haversine_m(
    lat1: Any, lon1: Any, lat2: Any, lon2: Any
) -> Any:
    """Great-circle distance in metres; works on floats and on NumPy arrays alike."""
    p1 = np.radians(lat1)
    p2 = np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def haversine_m_float(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """:func:`haversine_m` for one pair in plain floats: NumPy's per-call cost is most of the
    time for a single pair (a hot rule's check of a few candidates per command)."""
    return 2 * EARTH_RADIUS_M * math.asin(_haversine_root(lat1, lon1, lat2, lon2))


def _haversine_root(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The square root of the haversine formula's ``a`` for one pair, in plain floats (the
    steps round as NumPy's scalar steps do); the two one-pair distances share it."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dlmb = math.radians(lon2) - math.radians(lon1)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlmb / 2) ** 2
    return math.sqrt(min(a, 1.0))


def haversine_m_pair(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """:func:`haversine_m` of one pair, the same float to the last bit (checked on a million
    pairs on this machine), about 3.5 times faster: the steps in plain floats, which round as
    NumPy's scalar steps do (the arithmetic and square root are correctly rounded; sine and
    cosine agreed on every argument tried), but the arc sine through NumPy, whose own arc
    sine differs from ``math.asin`` in the last bit for some arguments (one in 20,000 of
    pairs a few km apart, about one in 2,000 of pairs up to half the globe apart). For hot
    one-pair callers whose results are kept (an off-road leg, a point along a line), where
    :func:`haversine_m_float`'s last bit would change a run."""
    return float(2 * EARTH_RADIUS_M * _ARCSIN(_haversine_root(lat1, lon1, lat2, lon2)))


_ARCSIN = np.arcsin


@dataclass(frozen=True, slots=True)
class Place:
    """A named place of the map's gazetteer, attached to the graph node that serves it."""

    name: str
    lat: float
    lon: float
    node: int
    population: int = 0
    kind: str = "locality"
    municipality: str = ""
    alt_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_coord("place " + repr(self.name), self.lat, self.lon)
        if not self.name.strip():
            raise MapFormatError("place name must not be empty")
        if self.population < 0:
            raise MapFormatError(f"place {self.name!r}: population must be >= 0")

    @property
    def names(self) -> tuple[str, ...]:
        """The main name followed by the other names people use."""
        return (self.name, *self.alt_names)


@dataclass(frozen=True, slots=True)
class Facility:
    """A hospital, psychiatric emergency reception or MAE base, attached to a graph node."""

    name: str
    kind: str
    lat: float
    lon: float
    node: int
    place: str = ""
    kinds: tuple[str, ...] = ()

    KINDS = ("hospital", "psychiatric_emergency", "mae_base")

    def __post_init__(self) -> None:
        _check_coord("facility " + repr(self.name), self.lat, self.lon)
        for k in (self.kind, *self.kinds):
            if k not in self.KINDS:
                raise MapFormatError(
                    f"facility {self.name!r}: unknown kind {k!r}; expected one of "
                    + ", ".join(self.KINDS)
                )

    def is_a(self, kind: str) -> bool:
        """Whether this facility serves as ``kind`` (its main kind or one of the others)."""
        return kind == self.kind or kind in self.kinds


def _check_coord(what: str, lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise MapFormatError(f"{what}: latitude {lat!r} is not within -90..90")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise MapFormatError(f"{what}: longitude {lon!r} is not within -180..180")


@dataclass(frozen=True, eq=False)
class RoadGraph:
    """A directed road network in CSR order with per-edge length, class, speed and geometry.

    ``edge_time_s`` is the base (summer, normal driving, free-flow) travel time; the
    :class:`maps.traveltime.TravelTimeModel` scales it for winter, emergency driving and the
    time of day. Edge geometry holds only the points *between* an edge's two end nodes.
    """

    node_lat: FloatArray
    node_lon: FloatArray
    edge_offsets: IntArray
    edge_target: I32Array
    edge_length_m: F32Array
    edge_speed_kmh: F32Array
    edge_time_s: F32Array
    edge_class: U8Array
    edge_ref: I32Array
    edge_name: I32Array
    geom_offsets: IntArray
    geom_lat: FloatArray
    geom_lon: FloatArray
    strings: tuple[str, ...]
    places: tuple[Place, ...] = ()
    facilities: tuple[Facility, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n, m = self.n_nodes, self.n_edges
        checks: dict[str, tuple[npt.NDArray[Any], int]] = {
            "node_lon": (self.node_lon, n),
            "edge_offsets": (self.edge_offsets, n + 1),
            "edge_length_m": (self.edge_length_m, m),
            "edge_speed_kmh": (self.edge_speed_kmh, m),
            "edge_time_s": (self.edge_time_s, m),
            "edge_class": (self.edge_class, m),
            "edge_ref": (self.edge_ref, m),
            "edge_name": (self.edge_name, m),
            "geom_offsets": (self.geom_offsets, m + 1),
            "geom_lon": (self.geom_lon, len(self.geom_lat)),
        }
        for name, (arr, want) in checks.items():
            if arr.ndim != 1 or len(arr) != want:
                raise MapFormatError(f"{name} has length {len(arr)}, expected {want}")
        if n and (self.edge_offsets[0] != 0 or self.edge_offsets[-1] != m):
            raise MapFormatError("edge_offsets must run from 0 to the number of edges")
        if m and (int(self.edge_target.min()) < 0 or int(self.edge_target.max()) >= n):
            raise MapFormatError("edge_target refers to a node that does not exist")
        if self.geom_offsets[0] != 0 or self.geom_offsets[-1] != len(self.geom_lat):
            raise MapFormatError("geom_offsets must run from 0 to the number of geometry points")
        attached: list[Place | Facility] = [*self.places, *self.facilities]
        for p in attached:
            if not 0 <= p.node < n:
                raise MapFormatError(f"{p.name!r} is attached to node {p.node}, not in the graph")

    # -- size and shape -------------------------------------------------------------------

    @property
    def n_nodes(self) -> int:
        return len(self.node_lat)

    @property
    def n_edges(self) -> int:
        return len(self.edge_target)

    @property
    def name(self) -> str:
        return str(self.meta.get("name", "unnamed map"))

    @property
    def edge_source(self) -> I32Array:
        """The tail node of every edge (derived from the CSR offsets)."""
        counts = np.diff(self.edge_offsets)
        return np.repeat(np.arange(self.n_nodes, dtype=np.int32), counts)

    def bounds(self) -> tuple[float, float, float, float]:
        """``(min_lat, min_lon, max_lat, max_lon)`` of the nodes."""
        return (
            float(self.node_lat.min()),
            float(self.node_lon.min()),
            float(self.node_lat.max()),
            float(self.node_lon.max()),
        )

    def out_edges(self, node: int) -> range:
        """Indices of the edges leaving ``node``."""
        return range(int(self.edge_offsets[node]), int(self.edge_offsets[node + 1]))

    def edge_label(self, edge: int) -> str:
        """The road number and/or name of an edge, as a crew would read it ("E4", "väg 97")."""
        ref = self.strings[self.edge_ref[edge]] if self.edge_ref[edge] >= 0 else ""
        name = self.strings[self.edge_name[edge]] if self.edge_name[edge] >= 0 else ""
        if ref and name and name != ref:
            return f"{ref} {name}"
        return ref or name

    def edge_geometry(self, edge: int, source: int | None = None) -> list[tuple[float, float]]:
        """``(lat, lon)`` points of an edge, from its tail node to its head node."""
        if source is None:
            source = int(np.searchsorted(self.edge_offsets, edge, side="right") - 1)
        target = int(self.edge_target[edge])
        a, b = int(self.geom_offsets[edge]), int(self.geom_offsets[edge + 1])
        mid = list(zip(self.geom_lat[a:b].tolist(), self.geom_lon[a:b].tolist(), strict=True))
        return [
            (float(self.node_lat[source]), float(self.node_lon[source])),
            *mid,
            (float(self.node_lat[target]), float(self.node_lon[target])),
        ]

    def iter_edges(self) -> Iterator[tuple[int, int, int]]:
        """``(edge, source, target)`` for every edge, in storage order."""
        src = self.edge_source
        for e in range(self.n_edges):
            yield e, int(src[e]), int(self.edge_target[e])

    def is_strongly_connected(self) -> bool:
        """Whether every node can reach every other node."""
        from scipy.sparse.csgraph import connected_components

        if self.n_nodes == 0:
            return False
        n, _ = connected_components(self._structure(), directed=True, connection="strong")
        return bool(n == 1)

    def _structure(self) -> Any:
        """Who links to whom, parallel edges merged: SciPy 1.17's strong
        ``connected_components`` never returns on a matrix with duplicate entries."""
        matrix = self.adjacency(np.ones(self.n_edges))
        matrix.sum_duplicates()
        return matrix

    def adjacency(self, weights: npt.NDArray[Any] | None = None) -> Any:
        """The graph as a SciPy CSR matrix (weights default to the base travel time)."""
        from scipy.sparse import csr_matrix

        data = self.edge_time_s if weights is None else weights
        # copy=True: SciPy may sort the index arrays in place, which must not touch the graph.
        return csr_matrix(
            (np.asarray(data, dtype=np.float64), self.edge_target, self.edge_offsets),
            shape=(self.n_nodes, self.n_nodes),
            copy=True,
        )

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_edges(
        cls,
        *,
        node_lat: Sequence[float] | FloatArray,
        node_lon: Sequence[float] | FloatArray,
        source: Sequence[int] | npt.NDArray[np.integer[Any]],
        target: Sequence[int] | npt.NDArray[np.integer[Any]],
        length_m: Sequence[float] | npt.NDArray[np.floating[Any]],
        speed_kmh: Sequence[float] | npt.NDArray[np.floating[Any]],
        road_class: Sequence[int] | npt.NDArray[np.integer[Any]],
        ref: Sequence[int] | npt.NDArray[np.integer[Any]] | None = None,
        name: Sequence[int] | npt.NDArray[np.integer[Any]] | None = None,
        geom_offsets: Sequence[int] | npt.NDArray[np.integer[Any]] | None = None,
        geom_lat: Sequence[float] | FloatArray | None = None,
        geom_lon: Sequence[float] | FloatArray | None = None,
        strings: Sequence[str] = (),
        places: Sequence[Place] = (),
        facilities: Sequence[Facility] = (),
        meta: dict[str, Any] | None = None,
    ) -> RoadGraph:
        """Build a graph from edge lists in any order; edges are sorted into CSR order."""
        lat = np.asarray(node_lat, dtype=np.float64)
        lon = np.asarray(node_lon, dtype=np.float64)
        src = np.asarray(source, dtype=np.int64)
        dst = np.asarray(target, dtype=np.int64)
        m = len(src)
        if len(dst) != m:
            raise MapFormatError("source and target must have the same length")
        if m and (src.min() < 0 or src.max() >= len(lat)):
            raise MapFormatError("an edge starts at a node that does not exist")
        length = np.asarray(length_m, dtype=np.float32)
        speed = np.asarray(speed_kmh, dtype=np.float32)
        per_edge: dict[str, npt.NDArray[Any]] = {"length_m": length, "speed_kmh": speed}
        cls_a = np.asarray(road_class, dtype=np.uint8)
        per_edge["road_class"] = cls_a
        if ref is not None:
            per_edge["ref"] = np.asarray(ref)
        if name is not None:
            per_edge["name"] = np.asarray(name)
        for field_name, arr in per_edge.items():
            if arr.ndim != 1 or len(arr) != m:
                raise MapFormatError(
                    f"{field_name} has length {len(arr)}, expected {m} (one per edge)"
                )
        if m and (not np.all(length >= 0) or not np.all(speed > 0)):
            raise MapFormatError("edge lengths must be >= 0 and speeds > 0")
        none = np.full(m, -1, dtype=np.int32)
        ref_a = none if ref is None else np.asarray(ref, dtype=np.int32)
        name_a = none if name is None else np.asarray(name, dtype=np.int32)
        if geom_offsets is None:
            g_off = np.zeros(m + 1, dtype=np.int64)
            g_lat = np.zeros(0, dtype=np.float64)
            g_lon = np.zeros(0, dtype=np.float64)
        else:
            g_off = np.asarray(geom_offsets, dtype=np.int64)
            g_lat = np.asarray(geom_lat, dtype=np.float64)
            g_lon = np.asarray(geom_lon, dtype=np.float64)
            if len(g_off) != m + 1 or len(g_lat) != len(g_lon) or g_off[-1] != len(g_lat):
                raise MapFormatError(
                    "geom_offsets must have one entry per edge plus one and end at the number "
                    "of geometry points"
                )

        order = np.argsort(src, kind="stable")
        counts = np.bincount(src, minlength=len(lat))
        offsets = np.zeros(len(lat) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        g_off2, g_lat2, g_lon2 = _permute_ragged(g_off, g_lat, g_lon, order)
        return cls(
            node_lat=lat,
            node_lon=lon,
            edge_offsets=offsets,
            edge_target=dst[order].astype(np.int32),
            edge_length_m=length[order],
            edge_speed_kmh=speed[order],
            edge_time_s=(length[order] / (speed[order] / np.float32(3.6))).astype(np.float32),
            edge_class=cls_a[order],
            edge_ref=ref_a[order],
            edge_name=name_a[order],
            geom_offsets=g_off2,
            geom_lat=g_lat2,
            geom_lon=g_lon2,
            strings=tuple(strings),
            places=tuple(places),
            facilities=tuple(facilities),
            meta=dict(meta or {}),
        )

    def subgraph(self, keep: npt.NDArray[np.bool_]) -> RoadGraph:
        """The graph on the nodes where ``keep`` is true; places and facilities whose node is
        dropped move to the nearest kept node."""
        new_id = np.full(self.n_nodes, -1, dtype=np.int64)
        kept = np.flatnonzero(keep)
        new_id[kept] = np.arange(len(kept))
        src = self.edge_source
        ekeep = keep[src] & keep[self.edge_target]
        eidx = np.flatnonzero(ekeep)
        g_off, g_lat, g_lon = _permute_ragged(
            self.geom_offsets, self.geom_lat, self.geom_lon, eidx
        )
        lat, lon = self.node_lat[kept], self.node_lon[kept]

        def move(node: int, plat: float, plon: float) -> int:
            if keep[node]:
                return int(new_id[node])
            return int(np.argmin(haversine_m(plat, plon, lat, lon)))

        places = [_replace_node(p, move(p.node, p.lat, p.lon)) for p in self.places]
        facilities = [_replace_node(f, move(f.node, f.lat, f.lon)) for f in self.facilities]
        counts = np.bincount(new_id[src[eidx]], minlength=len(kept))
        offsets = np.zeros(len(kept) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return RoadGraph(
            node_lat=lat,
            node_lon=lon,
            edge_offsets=offsets,
            edge_target=new_id[self.edge_target[eidx]].astype(np.int32),
            edge_length_m=self.edge_length_m[eidx],
            edge_speed_kmh=self.edge_speed_kmh[eidx],
            edge_time_s=self.edge_time_s[eidx],
            edge_class=self.edge_class[eidx],
            edge_ref=self.edge_ref[eidx],
            edge_name=self.edge_name[eidx],
            geom_offsets=g_off,
            geom_lat=g_lat,
            geom_lon=g_lon,
            strings=self.strings,
            places=tuple(places),
            facilities=tuple(facilities),
            meta=dict(self.meta),
        )

    def largest_strongly_connected(self) -> RoadGraph:
        """The subgraph on the largest strongly connected component (itself if connected)."""
        from scipy.sparse.csgraph import connected_components

        if self.n_nodes == 0:
            return self
        n, labels = connected_components(self._structure(), directed=True, connection="strong")
        if n == 1:
            return self
        biggest = int(np.argmax(np.bincount(labels)))
        return self.subgraph(labels == biggest)


def _replace_node(obj: Any, node: int) -> Any:
    from dataclasses import replace

    return replace(obj, node=node)


def _permute_ragged(
    offsets: IntArray, lat: FloatArray, lon: FloatArray, order: npt.NDArray[np.integer[Any]]
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Reorder (or select) the variable-length geometry runs of edges by ``order``."""
    starts = offsets[:-1][order]
    lens = (offsets[1:] - offsets[:-1])[order]
    new_off = np.zeros(len(order) + 1, dtype=np.int64)
    np.cumsum(lens, out=new_off[1:])
    total = int(new_off[-1])
    if total == 0:
        empty = np.zeros(0, dtype=np.float64)
        return new_off, empty, empty.copy()
    # index of every output point in the input: run start + position within the run
    idx = np.repeat(starts - new_off[:-1], lens) + np.arange(total)
    return new_off, lat[idx], lon[idx]


# -- on-disk format ---------------------------------------------------------------------------

_ARRAYS = (
    "node_lat",
    "node_lon",
    "edge_offsets",
    "edge_target",
    "edge_length_m",
    "edge_speed_kmh",
    "edge_time_s",
    "edge_class",
    "edge_ref",
    "edge_name",
    "geom_offsets",
    "geom_lat",
    "geom_lon",
)


def save_graph(graph: RoadGraph, path: str | os.PathLike[str]) -> Path:
    """Write ``graph`` to ``path`` atomically in the MAE road-graph format (``.maegraph``).

    The file is an uncompressed NumPy ``.npz`` archive: one array per attribute plus a JSON
    header with the format name and version, the string table, places, facilities and metadata.
    Uncompressed, because loading speed matters more than a few megabytes of disk.
    """
    path = Path(path)
    header = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "strings": list(graph.strings),
        "places": [asdict(p) for p in graph.places],
        "facilities": [asdict(f) for f in graph.facilities],
        "meta": graph.meta,
    }
    arrays = {name: getattr(graph, name) for name in _ARRAYS}
    arrays["header"] = np.frombuffer(
        json.dumps(header, ensure_ascii=False).encode("utf-8"), dtype=np.uint8
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, allow_pickle=False, **arrays)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a map is not a secret
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_graph(path: str | os.PathLike[str]) -> RoadGraph:
    """Read a graph written by :func:`save_graph`; a wrong or damaged file raises
    :class:`MapFormatError` naming the problem."""
    path = Path(path)
    if path.is_dir():
        raise MapNotFound(f"map file {str(path)!r} is a folder, not a file")
    if not path.is_file():
        raise MapNotFound(f"map file {str(path)!r} does not exist")
    try:
        with path.open("rb") as fh:
            if fh.read(4) != b"PK\x03\x04":  # np.load would suggest pickles for any other
                raise MapFormatError(f"{path}: not a readable MAE road graph (not an archive)")
            fh.seek(0)
            loaded = np.load(fh, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                raise MapFormatError(f"{path}: not an MAE road graph (not an archive)")
            with loaded as npz:
                header, arrays = _read_archive(path, npz)
    except MapFormatError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise MapFormatError(f"{path}: not a readable MAE road graph ({exc})") from exc
    return _graph_from_header(path, header, arrays)


def _read_archive(path: Path, npz: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON header and the arrays of an opened archive, checked for format and version."""
    if "header" not in npz.files:
        raise MapFormatError(f"{path}: not an MAE road graph (no header)")
    try:
        header = json.loads(bytes(npz["header"]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MapFormatError(f"{path}: unreadable header ({exc})") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise MapFormatError(f"{path}: not an MAE road graph")
    if header.get("version") != FORMAT_VERSION:
        raise MapFormatError(
            f"{path}: format version {header.get('version')} is not supported "
            f"(this program reads version {FORMAT_VERSION}); rebuild the map"
        )
    missing = [a for a in _ARRAYS if a not in npz.files]
    if missing:
        raise MapFormatError(f"{path}: missing arrays {', '.join(missing)}")
    return header, {a: npz[a] for a in _ARRAYS}


def _graph_from_header(path: Path, header: dict[str, Any], arrays: dict[str, Any]) -> RoadGraph:
    """Assemble the graph from a checked header and its arrays."""
    try:
        places = tuple(
            Place(**{**p, "alt_names": tuple(p.get("alt_names", ()))}) for p in header["places"]
        )
        facilities = tuple(
            Facility(**{**f, "kinds": tuple(f.get("kinds", ()))}) for f in header["facilities"]
        )
        strings = tuple(str(x) for x in header["strings"])
    except (TypeError, KeyError, AttributeError) as exc:
        raise MapFormatError(f"{path}: bad place or facility record ({exc})") from exc
    return RoadGraph(
        **arrays,
        strings=strings,
        places=places,
        facilities=facilities,
        meta=dict(header.get("meta", {})),
    )
