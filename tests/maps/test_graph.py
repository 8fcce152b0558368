"""RoadGraph: CSR construction, subgraphs, the .maegraph file format and its validation."""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mae.errors import MaeError
from maps.errors import MapFormatError, MapNotFound
from maps.graph import (
    FORMAT_NAME,
    FORMAT_VERSION,
    Facility,
    Place,
    RoadClass,
    RoadGraph,
    haversine_m,
    haversine_m_float,
    haversine_m_pair,
    load_graph,
    save_graph,
)
from maps.synthetic import rural_graph

# A small square 0-1-2-3 with a diagonal 0->2, listed out of CSR order on purpose.
LAT = [66.00, 66.00, 66.01, 66.01]
LON = [21.00, 21.02, 21.02, 21.00]
SRC = [2, 0, 3, 1, 0, 2]
DST = [3, 1, 0, 2, 2, 1]
LEN = [900.0, 1000.0, 1200.0, 1150.0, 1600.0, 1100.0]
SPEED = [50.0, 70.0, 30.0, 90.0, 36.0, 60.0]
CLS = [6, 4, 6, 2, 5, 3]
# shape points per input edge: edge 1 (0->1) has two, edge 4 (0->2) one, the others none
GEOM_OFF = [0, 0, 2, 2, 2, 3, 3]
GEOM_LAT = [66.001, 66.002, 66.005]
GEOM_LON = [21.005, 21.010, 21.011]


def square(**extra: object) -> RoadGraph:
    kwargs: dict[str, object] = dict(
        node_lat=LAT, node_lon=LON, source=SRC, target=DST, length_m=LEN, speed_kmh=SPEED,
        road_class=CLS, geom_offsets=GEOM_OFF, geom_lat=GEOM_LAT, geom_lon=GEOM_LON,
    )
    kwargs.update(extra)
    return RoadGraph.from_edges(**kwargs)  # type: ignore[arg-type]


def edge_records(g: RoadGraph) -> list[tuple[int, int, float, float, int]]:
    src = g.edge_source
    return sorted(
        (int(src[e]), int(g.edge_target[e]), float(g.edge_length_m[e]),
         float(g.edge_speed_kmh[e]), int(g.edge_class[e]))
        for e in range(g.n_edges)
    )


# -- construction ---------------------------------------------------------------------------


def test_from_edges_sorts_edges_into_csr_order() -> None:
    g = square()
    assert g.n_nodes == 4 and g.n_edges == 6
    assert g.edge_offsets.tolist() == [0, 2, 3, 5, 6]
    assert np.all(np.diff(g.edge_source) >= 0)
    assert sorted(int(g.edge_target[e]) for e in g.out_edges(0)) == [1, 2]
    assert edge_records(g) == sorted(zip(SRC, DST, LEN, SPEED, CLS, strict=True))


def test_from_edges_keeps_input_order_among_edges_of_one_node() -> None:
    g = square()
    assert [int(g.edge_target[e]) for e in g.out_edges(0)] == [1, 2]  # stable sort
    assert [int(g.edge_target[e]) for e in g.out_edges(2)] == [3, 1]


def test_from_edges_moves_geometry_with_its_edge() -> None:
    g = square()
    shapes = {(int(s), int(t)): g.edge_geometry(e) for e, s, t in g.iter_edges()}
    assert shapes[(0, 1)] == [(66.0, 21.0), (66.001, 21.005), (66.002, 21.010), (66.0, 21.02)]
    assert shapes[(0, 2)] == [(66.0, 21.0), (66.005, 21.011), (66.01, 21.02)]
    assert shapes[(2, 3)] == [(66.01, 21.02), (66.01, 21.0)]
    assert g.geom_offsets[-1] == 3 and len(g.geom_lat) == 3


def test_edge_geometry_finds_the_tail_node_itself() -> None:
    g = square()
    for e, s, _t in g.iter_edges():
        assert g.edge_geometry(e) == g.edge_geometry(e, source=s)


def test_from_edges_derives_time_from_length_and_speed() -> None:
    g = square()
    by_pair = {(s, t): float(g.edge_time_s[e]) for e, s, t in g.iter_edges()}
    assert by_pair[(0, 2)] == pytest.approx(1600.0 / 10.0)  # 36 km/h = 10 m/s
    assert by_pair[(0, 1)] == pytest.approx(1000.0 / (70 / 3.6))
    assert g.edge_time_s.dtype == np.float32


def test_from_edges_without_geometry_has_straight_edges() -> None:
    g = RoadGraph.from_edges(node_lat=LAT, node_lon=LON, source=SRC, target=DST, length_m=LEN,
                             speed_kmh=SPEED, road_class=CLS)
    assert len(g.geom_lat) == 0 and g.geom_offsets.tolist() == [0] * 7
    assert all(len(g.edge_geometry(e)) == 2 for e in range(g.n_edges))
    assert g.edge_ref.tolist() == [-1] * 6 and g.edge_label(0) == ""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"length_m": [900.0, -1.0, 1200.0, 1150.0, 1600.0, 1100.0]}, "lengths"),
        ({"speed_kmh": [50.0, 0.0, 30.0, 90.0, 36.0, 60.0]}, "speeds"),
        ({"source": [2, 0, 3, 1, 0, 7]}, "starts at a node"),
        ({"source": [-1, 0, 3, 1, 0, 2]}, "starts at a node"),
        ({"target": [3, 1, 0, 2, 2, 4]}, "edge_target"),
        ({"target": [3, 1, 0, 2, 2]}, "same length"),
    ],
)
def test_from_edges_rejects_bad_edges(change: dict[str, object], message: str) -> None:
    with pytest.raises(MapFormatError, match=message):
        square(**change)


@pytest.mark.parametrize("field", ["length_m", "speed_kmh", "road_class"])
@pytest.mark.parametrize("size", [5, 7])
def test_from_edges_rejects_attributes_of_the_wrong_length(field: str, size: int) -> None:
    with pytest.raises(MapFormatError):
        square(**{field: [50.0] * size})


def test_edge_label_joins_ref_and_name() -> None:
    g = square(strings=("E4", "Storgatan"), ref=[0, -1, -1, 0, 0, -1], name=[1, -1, 1, 0, -1, -1])
    labels = {(s, t): g.edge_label(e) for e, s, t in g.iter_edges()}
    assert labels[(2, 3)] == "E4 Storgatan"
    assert labels[(3, 0)] == "Storgatan"
    assert labels[(1, 2)] == "E4"  # name equal to the ref is said once
    assert labels[(0, 2)] == "E4"
    assert labels[(0, 1)] == ""


def test_graph_rejects_place_on_missing_node() -> None:
    with pytest.raises(MapFormatError, match="node 9"):
        square(places=[Place(name="Boden", lat=65.8, lon=21.7, node=9)])


def test_constructor_rejects_inconsistent_arrays() -> None:
    g = square()
    # the fields that are not arrays are named (as their defaults), so mypy does not take an
    # unpacked array as possibly meant for one of them
    with pytest.raises(MapFormatError, match="edge_length_m"):
        RoadGraph(**{**_arrays(g), "edge_length_m": g.edge_length_m[:-1]},
                  strings=(), places=(), facilities=(), meta={})
    with pytest.raises(MapFormatError, match="edge_offsets must run"):
        RoadGraph(**{**_arrays(g), "edge_offsets": g.edge_offsets + 1},
                  strings=(), places=(), facilities=(), meta={})
    with pytest.raises(MapFormatError, match="geom_offsets must run"):
        RoadGraph(**{**_arrays(g), "geom_lat": g.geom_lat[:-1], "geom_lon": g.geom_lon[:-1]},
                  strings=(), places=(), facilities=(), meta={})


def _arrays(g: RoadGraph) -> dict[str, npt.NDArray[Any]]:
    names = ("node_lat", "node_lon", "edge_offsets", "edge_target", "edge_length_m",
             "edge_speed_kmh", "edge_time_s", "edge_class", "edge_ref", "edge_name",
             "geom_offsets", "geom_lat", "geom_lon")
    return {n: getattr(g, n) for n in names}


def test_bounds_and_adjacency() -> None:
    g = square()
    assert g.bounds() == (66.0, 21.0, 66.01, 21.02)
    adj = g.adjacency()
    assert adj.shape == (4, 4) and adj.nnz == 6
    assert adj[0, 2] == pytest.approx(160.0)
    weights = np.arange(6, dtype=np.float64) + 1
    assert g.adjacency(weights).sum() == pytest.approx(21.0)


# -- connectivity and subgraphs ------------------------------------------------------------


def test_is_strongly_connected() -> None:
    assert square().is_strongly_connected()
    one_way = RoadGraph.from_edges(node_lat=[66.0, 66.1], node_lon=[21.0, 21.0], source=[0],
                                   target=[1], length_m=[100.0], speed_kmh=[50.0],
                                   road_class=[5])
    assert not one_way.is_strongly_connected()


def two_islands() -> RoadGraph:
    """The square (nodes 0-3) plus nodes 4 and 5 reachable from it only one way (3 -> 4 -> 5)."""
    lat = [*LAT, 66.02, 66.03]
    lon = [*LON, 21.0, 21.0]
    places = [
        Place(name="Kvarnby", lat=66.0, lon=21.02, node=1, population=300),
        Place(name="Ön", lat=66.029, lon=21.0, node=5, population=12),
    ]
    facilities = [Facility(name="Ö-basen", kind="mae_base", lat=66.021, lon=21.0, node=4)]
    return RoadGraph.from_edges(
        node_lat=lat, node_lon=lon, source=[*SRC, 3, 4], target=[*DST, 4, 5],
        length_m=[*LEN, 1100.0, 1100.0], speed_kmh=[*SPEED, 50.0, 50.0], road_class=[*CLS, 5, 5],
        geom_offsets=[*GEOM_OFF, 4, 4], geom_lat=[*GEOM_LAT, 66.015],
        geom_lon=[*GEOM_LON, 21.001], places=places, facilities=facilities, meta={"name": "x"},
    )


def test_largest_strongly_connected_keeps_the_big_component() -> None:
    g = two_islands()
    assert not g.is_strongly_connected()
    core = g.largest_strongly_connected()
    assert core.n_nodes == 4 and core.is_strongly_connected()
    assert edge_records(core) == edge_records(square())
    assert core.meta == {"name": "x"}


def test_largest_strongly_connected_moves_places_of_dropped_nodes_to_nearest_kept() -> None:
    core = two_islands().largest_strongly_connected()
    by_name = {p.name: p for p in core.places}
    assert by_name["Kvarnby"].node == 1  # kept node keeps its place
    # Ön and the base were on dropped nodes 5 and 4; the nearest kept node is 2 (66.01, 21.02)
    # or 3 (66.01, 21.0) - (66.01, 21.0) is nearer to both
    assert by_name["Ön"].node == 3
    assert core.facilities[0].node == 3
    assert by_name["Ön"].lat == 66.029  # the place itself does not move


def test_largest_strongly_connected_of_connected_graph_is_itself() -> None:
    g = square()
    assert g.largest_strongly_connected() is g


def test_subgraph_renumbers_nodes_and_keeps_geometry() -> None:
    g = square()
    sub = g.subgraph(np.array([True, True, True, False]))
    assert sub.n_nodes == 3
    pairs = sorted((s, t) for _e, s, t in sub.iter_edges())
    assert pairs == [(0, 1), (0, 2), (1, 2), (2, 1)]
    shapes = {(s, t): sub.edge_geometry(e) for e, s, t in sub.iter_edges()}
    assert shapes[(0, 1)][1:3] == [(66.001, 21.005), (66.002, 21.010)]
    assert shapes[(0, 2)][1] == (66.005, 21.011)
    assert len(sub.geom_lat) == 3


# -- the .maegraph file ---------------------------------------------------------------------


def rich_graph() -> RoadGraph:
    places = [Place(name="Jokkmokk", lat=66.0, lon=21.0, node=0, population=2786,
                    kind="town", municipality="Jokkmokk", alt_names=("Jåhkåmåhkke",))]
    facilities = [Facility(name="Sjukstugan", kind="hospital", lat=66.01, lon=21.02, node=2,
                           place="Jokkmokk", kinds=("psychiatric_emergency",))]
    return square(strings=("97", "Storgatan"), ref=[0, -1, 0, -1, -1, -1],
                  name=[-1, 1, -1, -1, -1, -1], places=places, facilities=facilities,
                  meta={"name": "Testkarta", "built": "2024-05-01", "sources": ["OSM"]})


def assert_same_graph(a: RoadGraph, b: RoadGraph) -> None:
    for name, arr in _arrays(a).items():
        other = getattr(b, name)
        assert other.dtype == arr.dtype, name
        np.testing.assert_array_equal(other, arr, err_msg=name)
    assert a.strings == b.strings
    assert a.places == b.places
    assert a.facilities == b.facilities
    assert a.meta == b.meta


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    g = rich_graph()
    out = save_graph(g, tmp_path / "sub" / "test.maegraph")
    assert out == tmp_path / "sub" / "test.maegraph"
    back = load_graph(out)
    assert_same_graph(g, back)
    assert back.places[0].alt_names == ("Jåhkåmåhkke",)
    assert back.facilities[0].is_a("psychiatric_emergency")
    assert back.name == "Testkarta"


def test_save_and_load_round_trip_of_a_synthetic_network(tmp_path: Path) -> None:
    g = rural_graph(3000, seed=4)
    back = load_graph(save_graph(g, tmp_path / "rural.maegraph"))
    assert_same_graph(g, back)
    assert back.is_strongly_connected()


def test_save_replaces_file_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "m.maegraph"
    path.write_bytes(b"old")
    save_graph(square(), path)
    save_graph(rich_graph(), path)
    assert load_graph(path).name == "Testkarta"
    assert [p.name for p in tmp_path.iterdir()] == ["m.maegraph"]


def test_load_missing_file_raises_map_not_found(tmp_path: Path) -> None:
    with pytest.raises(MapNotFound, match="does not exist") as info:
        load_graph(tmp_path / "nowhere.maegraph")
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, MaeError)


def test_load_of_a_directory_raises_map_not_found(tmp_path: Path) -> None:
    with pytest.raises(MapNotFound, match="is a folder, not a file"):
        load_graph(tmp_path)


@pytest.mark.parametrize("keep", [0.0, 0.1, 0.5, 0.9, 0.99])
def test_load_truncated_file_raises_format_error(tmp_path: Path, keep: float) -> None:
    path = save_graph(rural_graph(2000), tmp_path / "t.maegraph")
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(MapFormatError) as info:
        load_graph(path)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "content",
    [b"", b"hello, I am not a map\n" * 50, b"PK\x03\x04" + b"\x00" * 100, bytes(range(256)) * 8],
)
def test_load_garbage_raises_format_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "g.maegraph"
    path.write_bytes(content)
    with pytest.raises(MapFormatError, match=r"g\.maegraph") as info:
        load_graph(path)
    assert "pickle" not in str(info.value)  # NumPy's advice to load pickles is not ours


def _write_npz(path: Path, header: object, **arrays: npt.NDArray[Any]) -> None:
    raw = json.dumps(header).encode()
    with path.open("wb") as fh:  # a file object, so NumPy does not append ".npz"
        # allow_pickle named (its default), else mypy reads an array as possibly meant for it
        np.savez(fh, allow_pickle=True, header=np.frombuffer(raw, dtype=np.uint8), **arrays)


def _header(**changes: object) -> dict[str, object]:
    h: dict[str, object] = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "strings": [],
                            "places": [], "facilities": [], "meta": {}}
    h.update(changes)
    return h


def test_load_wrong_version_says_to_rebuild(tmp_path: Path) -> None:
    path = tmp_path / "v.maegraph"
    _write_npz(path, _header(version=FORMAT_VERSION + 1), **_arrays(square()))
    with pytest.raises(MapFormatError, match=f"version {FORMAT_VERSION + 1} is not supported"):
        load_graph(path)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (_header(format="something-else"), "not an MAE road graph"),
        (_header(places=[{"name": "X", "lat": 66.0}]), "bad place"),
        (_header(facilities=[{"name": "X", "kind": "hospital", "lat": 66, "lon": 21}]),
         "bad place or facility"),
        (_header(places=[{"name": "X", "lat": 95.0, "lon": 21.0, "node": 0}]), "latitude"),
        (_header(places=[{"name": "X", "lat": 66.0, "lon": 21.0, "node": 40}]), "node 40"),
    ],
)
def test_load_bad_header_raises_format_error(
    tmp_path: Path, header: dict[str, object], message: str
) -> None:
    path = tmp_path / "h.maegraph"
    _write_npz(path, header, **_arrays(square()))
    with pytest.raises(MapFormatError, match=message):
        load_graph(path)


def test_load_archive_without_header_or_arrays(tmp_path: Path) -> None:
    path = tmp_path / "a.maegraph"
    with path.open("wb") as fh:
        np.savez(fh, node_lat=np.zeros(3))
    with pytest.raises(MapFormatError, match="no header"):
        load_graph(path)
    arrays = _arrays(square())
    del arrays["edge_ref"], arrays["geom_lat"]
    _write_npz(path, _header(), **arrays)
    with pytest.raises(MapFormatError, match="missing arrays edge_ref, geom_lat"):
        load_graph(path)


def test_load_inconsistent_arrays_raises_format_error(tmp_path: Path) -> None:
    path = tmp_path / "i.maegraph"
    arrays = _arrays(square())
    arrays["edge_target"] = arrays["edge_target"] + 10
    _write_npz(path, _header(), **arrays)
    with pytest.raises(MapFormatError, match="edge_target"):
        load_graph(path)


def test_load_corrupted_member_raises_format_error(tmp_path: Path) -> None:
    """A flipped byte inside an array is caught by the archive's CRC check."""
    path = save_graph(square(), tmp_path / "c.maegraph")
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("node_lat.npy")
    data = bytearray(path.read_bytes())
    pos = info.header_offset + 30 + len(info.filename) + info.file_size - 3
    data[pos] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(MapFormatError):
        load_graph(path)


@pytest.mark.parametrize("kind", ["npy", "list-header"])
def test_load_other_numpy_files_raises_format_error(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "n.maegraph"
    if kind == "npy":
        with path.open("wb") as fh:
            np.save(fh, np.arange(5))
    else:
        _write_npz(path, [1, 2, 3], **_arrays(square()))
    with pytest.raises(MapFormatError):
        load_graph(path)


# -- places, facilities, classes ------------------------------------------------------------


def test_place_validation() -> None:
    p = Place(name="Arjeplog", lat=66.05, lon=17.89, node=0, alt_names=("Árjepluovve",))
    assert p.names == ("Arjeplog", "Árjepluovve")
    assert p.population == 0 and p.kind == "locality"
    cases: list[tuple[dict[str, object], str]] = [
        (dict(name="  "), "must not be empty"),
        (dict(lat=90.5), "latitude"),
        (dict(lat=math.nan), "latitude"),
        (dict(lon=-181.0), "longitude"),
        (dict(lon=math.inf), "longitude"),
        (dict(population=-1), "population"),
    ]
    for bad, message in cases:
        args: dict[str, object] = dict(name="Arjeplog", lat=66.05, lon=17.89, node=0)
        args.update(bad)
        with pytest.raises(MapFormatError, match=message):
            Place(**args)  # type: ignore[arg-type]


def test_place_is_frozen() -> None:
    p = Place(name="Pajala", lat=67.21, lon=23.37, node=0)
    with pytest.raises(AttributeError):
        p.node = 3  # type: ignore[misc]


def test_facility_validation_and_kinds() -> None:
    f = Facility(name="Sunderby sjukhus", kind="hospital", lat=65.67, lon=21.92, node=0,
                 kinds=("psychiatric_emergency",))
    assert f.is_a("hospital") and f.is_a("psychiatric_emergency") and not f.is_a("mae_base")
    with pytest.raises(MapFormatError, match="unknown kind 'clinic'"):
        Facility(name="X", kind="clinic", lat=65.0, lon=21.0, node=0)
    with pytest.raises(MapFormatError, match="unknown kind 'spa'"):
        Facility(name="X", kind="hospital", lat=65.0, lon=21.0, node=0, kinds=("spa",))
    with pytest.raises(MapFormatError, match="latitude"):
        Facility(name="X", kind="hospital", lat=-91.0, lon=21.0, node=0)


def test_road_class_parse() -> None:
    assert RoadClass.parse(" Trunk ") is RoadClass.TRUNK
    assert RoadClass.parse("residential") is RoadClass.RESIDENTIAL
    with pytest.raises(MapFormatError, match=r"unknown road class 'footway'.*motorway"):
        RoadClass.parse("footway")
    assert list(RoadClass) == sorted(RoadClass)  # fastest first


def test_haversine_known_distances() -> None:
    assert haversine_m(66.0, 21.0, 67.0, 21.0) == pytest.approx(111_195, rel=1e-4)
    # one degree of longitude at 66 N is cos(66) of one at the equator
    assert haversine_m(66.0, 21.0, 66.0, 22.0) == pytest.approx(
        111_195 * math.cos(math.radians(66.0)), rel=1e-3)
    assert haversine_m(66.0, 21.0, 66.0, 21.0) == 0.0
    d = haversine_m(np.array([66.0, 65.0]), np.array([21.0, 21.0]), 66.0, 21.0)
    assert d.shape == (2,) and d[0] == 0.0 and d[1] == pytest.approx(111_195, rel=1e-4)


@given(st.floats(-90, 90), st.floats(-180, 180), st.floats(-90, 90), st.floats(-180, 180))
def test_haversine_in_plain_floats_is_the_numpy_formula(lat1: float, lon1: float, lat2: float,
                                                         lon2: float) -> None:
    """The one-pair version agrees with the array one to rounding, antipodes and poles too."""
    d = haversine_m_float(lat1, lon1, lat2, lon2)
    assert isinstance(d, float)
    # abs: asin is steep near the antipodes, where an ulp of the formula's a is centimetres
    assert d == pytest.approx(float(haversine_m(lat1, lon1, lat2, lon2)), rel=1e-9, abs=0.5)


@given(st.floats(-90, 90), st.floats(-180, 180), st.floats(-0.02, 0.02), st.floats(-0.02, 0.02),
       st.booleans())
def test_haversine_of_one_pair_is_the_numpy_float_to_the_last_bit(
        lat: float, lon: float, dlat: float, dlon: float, far: bool) -> None:
    """The one-pair version gives haversine_m's own float for a pair of floats, exactly (a
    simulation keeps the distances it measures), near pairs and far ones."""
    lat2 = min(90.0, max(-90.0, lat + (dlat * 4000 if far else dlat)))
    lon2 = lon + (dlon * 9000 if far else dlon)
    d = haversine_m_pair(lat, lon, lat2, lon2)
    assert isinstance(d, float)
    assert d == float(haversine_m(lat, lon, lat2, lon2))


def test_haversine_of_one_pair_on_many_random_pairs() -> None:
    """The same to the last bit on 20,000 seeded pairs a few km apart (for one of them
    ``math.asin`` differs from NumPy's arc sine: haversine_m_float would fail here)."""
    rng = np.random.default_rng(16)
    lat = rng.uniform(-89, 89, 20_000)
    lon = rng.uniform(-180, 180, 20_000)
    lat2 = np.clip(lat + rng.normal(0, 0.05, 20_000), -90, 90)
    lon2 = lon + rng.normal(0, 0.05, 20_000)
    for a, b, c, d in zip(lat.tolist(), lon.tolist(), lat2.tolist(), lon2.tolist(), strict=True):
        assert haversine_m_pair(a, b, c, d) == float(haversine_m(a, b, c, d))


# -- property: from_edges preserves every edge and its shape -------------------------------


@st.composite
def edge_lists(draw: st.DrawFn) -> dict[str, list[float] | list[int]]:
    n = draw(st.integers(1, 12))
    m = draw(st.integers(0, 30))
    ints = st.integers(0, n - 1)
    src = draw(st.lists(ints, min_size=m, max_size=m))
    dst = draw(st.lists(ints, min_size=m, max_size=m))
    n_geom = draw(st.lists(st.integers(0, 3), min_size=m, max_size=m))
    off = np.concatenate([[0], np.cumsum(n_geom, dtype=np.int64)]).tolist()
    total = int(off[-1])
    return {
        "node_lat": [66.0 + i * 0.01 for i in range(n)],
        "node_lon": [21.0] * n,
        "source": src,
        "target": dst,
        "length_m": [float(i) for i in range(m)],  # unique tag per input edge
        "speed_kmh": [50.0] * m,
        "road_class": [i % 9 for i in range(m)],
        "geom_offsets": off,
        "geom_lat": [60.0 + k for k in range(total)],
        "geom_lon": [10.0 + k for k in range(total)],
    }


@given(edge_lists())
@settings(max_examples=100, deadline=None)
def test_from_edges_preserves_edges_and_their_shapes(
    spec: dict[str, list[float] | list[int]],
) -> None:
    g = RoadGraph.from_edges(**spec)  # type: ignore[arg-type]
    off = spec["geom_offsets"]
    want = {}
    for i, (s, t) in enumerate(zip(spec["source"], spec["target"], strict=True)):
        pts = list(zip(spec["geom_lat"][int(off[i]):int(off[i + 1])],
                       spec["geom_lon"][int(off[i]):int(off[i + 1])], strict=True))
        want[i] = (s, t, i % 9, pts)
    got = {}
    for e, s, t in g.iter_edges():
        tag = int(g.edge_length_m[e])
        got[tag] = (s, t, int(g.edge_class[e]), g.edge_geometry(e, source=s)[1:-1])
    assert got == want
    assert np.all(np.diff(g.edge_offsets) >= 0)
    assert np.all(np.diff(g.edge_source) >= 0)


def test_parallel_edges_neither_hang_connectivity_nor_touch_the_graph() -> None:
    """SciPy's strong components loop forever on duplicate matrix entries; we merge them."""
    g = RoadGraph.from_edges(
        node_lat=[65.0, 65.01], node_lon=[21.0, 21.01], source=[0, 0, 1], target=[1, 1, 0],
        length_m=[1500.0, 1800.0, 1500.0], speed_kmh=[50.0, 70.0, 50.0], road_class=[4, 3, 4],
    )
    before = g.edge_target.copy()
    assert g.is_strongly_connected()
    assert g.largest_strongly_connected() is g
    assert np.array_equal(g.edge_target, before)
