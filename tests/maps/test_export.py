"""OSM export: read back with osmium, the file holds the same roads, shapes and tags."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import osmium
import pytest

from maps.errors import MapFormatError
from maps.export import pair_two_way_edges, write_osm
from maps.graph import Facility, Place, RoadClass, RoadGraph
from maps.osm import build_from_osm_file
from maps.synthetic import rural_graph


def read_osm(path: Path) -> tuple[dict[int, tuple[float, float]], list[dict[str, Any]]]:
    """Nodes as ``{id: (lat, lon)}`` and ways as dicts of ``nodes`` and ``tags``."""
    nodes, ways, _ = read_osm_all(path)
    return nodes, ways


def read_osm_all(
    path: Path,
) -> tuple[dict[int, tuple[float, float]], list[dict[str, Any]], dict[int, dict[str, str]]]:
    """Like :func:`read_osm`, plus the tags of every tagged node."""
    nodes: dict[int, tuple[float, float]] = {}
    ways: list[dict[str, Any]] = []
    node_tags: dict[int, dict[str, str]] = {}
    for obj in osmium.FileProcessor(str(path)):
        if isinstance(obj, osmium.osm.Node):  # what is_node() checks, in a form mypy narrows
            nodes[obj.id] = (obj.location.lat, obj.location.lon)
            if len(obj.tags):
                node_tags[obj.id] = dict(obj.tags)
        elif isinstance(obj, osmium.osm.Way):
            ways.append({"id": obj.id, "nodes": [n.ref for n in obj.nodes],
                         "tags": dict(obj.tags)})
    return nodes, ways, node_tags


def directed_edges_of(ways: list[dict[str, Any]], n_nodes: int) -> Counter[tuple[Any, ...]]:
    """``(u, v, highway, maxspeed, shape ids)`` of every direction the ways allow, with graph
    node numbers for the ends; shape points are given as OSM ids."""
    out: Counter[tuple[Any, ...]] = Counter()
    for w in ways:
        ids = w["nodes"]
        u, v, mid = ids[0] - 1, ids[-1] - 1, tuple(ids[1:-1])
        assert 0 <= u < n_nodes and 0 <= v < n_nodes
        assert all(i > n_nodes for i in mid)
        hw, speed = w["tags"]["highway"], int(w["tags"]["maxspeed"])
        out[(u, v, hw, speed, len(mid))] += 1
        if w["tags"].get("oneway") != "yes":
            out[(v, u, hw, speed, len(mid))] += 1
    return out


def directed_edges_in(g: RoadGraph) -> Counter[tuple[Any, ...]]:
    n_geom = np.diff(g.geom_offsets)
    return Counter(
        (s, t, RoadClass(int(g.edge_class[e])).name.lower(), round(float(g.edge_speed_kmh[e])),
         int(n_geom[e]))
        for e, s, t in g.iter_edges()
    )


@pytest.fixture(scope="module")
def rural() -> RoadGraph:
    return rural_graph(4000, seed=2)


def test_pbf_holds_every_node_shape_point_and_road(rural: RoadGraph, tmp_path: Path) -> None:
    path = tmp_path / "rural.osm.pbf"
    stats = write_osm(rural, path)
    nodes, ways = read_osm(path)
    n_shape = len(rural.geom_lat) // 2  # each two-way road's shape is written once
    n_poi = len(rural.places) + sum(f.is_a("hospital") for f in rural.facilities)
    assert len(nodes) == stats.nodes == rural.n_nodes + n_shape + n_poi
    assert len(ways) == stats.ways == rural.n_edges // 2
    assert stats.oneway_ways == 0
    assert sorted(nodes) == list(range(1, len(nodes) + 1))
    assert directed_edges_of(ways, rural.n_nodes) == directed_edges_in(rural)


def test_pbf_coordinates_and_shapes_match_the_graph(rural: RoadGraph, tmp_path: Path) -> None:
    path = tmp_path / "rural.osm.pbf"
    write_osm(rural, path)
    nodes, ways = read_osm(path)
    for i in range(0, rural.n_nodes, 97):
        lat, lon = nodes[i + 1]
        assert lat == pytest.approx(rural.node_lat[i], abs=1e-7)  # OSM keeps 7 decimals
        assert lon == pytest.approx(rural.node_lon[i], abs=1e-7)
    shapes = {(s, t): rural.edge_geometry(e, source=s) for e, s, t in rural.iter_edges()}
    shaped = [w for w in ways if len(w["nodes"]) > 2]
    assert shaped
    for w in shaped:
        u, v = w["nodes"][0] - 1, w["nodes"][-1] - 1
        got = [nodes[i] for i in w["nodes"]]
        np.testing.assert_allclose(got, shapes[(u, v)], atol=1e-7)


def test_tags_carry_class_speed_ref_and_name(rural: RoadGraph, tmp_path: Path) -> None:
    path = tmp_path / "rural.osm.pbf"
    write_osm(rural, path)
    _, ways = read_osm(path)
    highways = Counter(w["tags"]["highway"] for w in ways)
    assert set(highways) == {c.name.lower() for c in RoadClass} - {"motorway"}
    assert all(w["tags"]["maxspeed"].isdigit() for w in ways)
    named = [w["tags"] for w in ways if "name" in w["tags"]]
    assert named and all(t["highway"] in {"residential", "tertiary"} for t in named)
    assert "Storgatan" in {t["name"] for t in named}
    numbered = [w["tags"] for w in ways if w["tags"]["highway"] in {"trunk", "primary"}]
    assert numbered and all(t["ref"].isdigit() for t in numbered)
    assert all("ref" not in w["tags"] for w in ways if w["tags"]["highway"] == "residential")


def test_places_and_hospitals_become_tagged_nodes(tmp_path: Path) -> None:
    places = [Place(name="Kåbdalis", lat=66.16, lon=19.98, node=0, population=120, kind="village",
                    alt_names=("Goabddális",))]
    facilities = [
        Facility(name="Sunderby sjukhus", kind="hospital", lat=66.0, lon=21.0, node=0,
                 place="Luleå", kinds=("psychiatric_emergency",)),
        Facility(name="MAE-basen", kind="mae_base", lat=66.0, lon=21.0, node=0),
    ]
    g = RoadGraph.from_edges(
        node_lat=[66.0, 66.01], node_lon=[21.0, 21.0], source=[0, 1], target=[1, 0],
        length_m=[1200.0] * 2, speed_kmh=[30.0] * 2, road_class=[RoadClass.TRACK] * 2,
        places=places, facilities=facilities,
    )
    path = tmp_path / "poi.osm.pbf"
    assert write_osm(g, path).nodes == 4
    _, ways, tags = read_osm_all(path)
    assert ways[0]["tags"] == {"highway": "track", "tracktype": "grade2", "maxspeed": "30"}
    assert tags == {
        3: {"place": "village", "name": "Kåbdalis", "population": "120",
            "alt_name": "Goabddális"},
        4: {"amenity": "hospital", "name": "Sunderby sjukhus", "addr:city": "Luleå",
            "healthcare:speciality": "psychiatry", "emergency": "yes"},
    }


def test_our_osm_reader_rebuilds_the_same_network(rural: RoadGraph, tmp_path: Path) -> None:
    """Every graph node is a way end, so the reader keeps them all; shape points stay shape."""
    from scipy.spatial import cKDTree

    path = tmp_path / "rt.osm.pbf"
    write_osm(rural, path)
    back = build_from_osm_file(path)
    assert (back.n_nodes, back.n_edges) == (rural.n_nodes, rural.n_edges)
    assert len(back.geom_lat) == len(rural.geom_lat)
    np.testing.assert_array_equal(np.bincount(back.edge_class, minlength=9),
                                  np.bincount(rural.edge_class, minlength=9))
    dist, idx = cKDTree(np.column_stack([rural.node_lat, rural.node_lon])).query(
        np.column_stack([back.node_lat, back.node_lon]))
    assert dist.max() < 1e-6 and len(set(idx.tolist())) == rural.n_nodes
    # the reader measures along the shape; ours adds a little for curves, never less
    assert 0.97 * rural.edge_length_m.sum() <= back.edge_length_m.sum() <= (
        rural.edge_length_m.sum() * (1 + 1e-6))
    assert back.is_strongly_connected()
    assert {p.name for p in back.places} == {p.name for p in rural.places}
    assert {f.name for f in back.facilities} == {
        f.name for f in rural.facilities if f.is_a("hospital")}
    assert any(f.is_a("psychiatric_emergency") for f in back.facilities)


def test_one_way_edges_become_oneway_ways(tmp_path: Path) -> None:
    # 0 <-> 1 two-way; 1 -> 2 one-way; 2 -> 0 one-way with a shape point; 0 <-> 2 differ in speed
    g = RoadGraph.from_edges(
        node_lat=[66.0, 66.01, 66.02], node_lon=[21.0, 21.01, 21.0],
        source=[0, 1, 1, 2, 0], target=[1, 0, 2, 0, 2],
        length_m=[1200.0, 1200.0, 1300.0, 2300.0, 2300.0],
        speed_kmh=[70.0, 70.0, 50.0, 90.0, 80.0], road_class=[3, 3, 6, 2, 2],
        geom_offsets=[0, 0, 0, 0, 1, 1], geom_lat=[66.011], geom_lon=[20.99],
        strings=("E10",), ref=[0, 0, -1, -1, -1],
    )
    path = tmp_path / "small.osm"
    stats = write_osm(g, path)
    assert (stats.nodes, stats.ways, stats.oneway_ways) == (4, 4, 3)
    nodes, ways = read_osm(path)
    by_ends = {(w["nodes"][0], w["nodes"][-1]): w for w in ways}
    assert by_ends[(1, 2)]["tags"] == {"highway": "secondary", "maxspeed": "70", "ref": "E10"}
    assert by_ends[(2, 3)]["tags"]["oneway"] == "yes"
    assert by_ends[(3, 1)]["nodes"] == [3, 4, 1]
    assert by_ends[(3, 1)]["tags"] == {"highway": "primary", "maxspeed": "90", "oneway": "yes"}
    assert by_ends[(1, 3)]["tags"]["maxspeed"] == "80"
    assert nodes[4] == pytest.approx((66.011, 20.99))
    assert directed_edges_of(ways, 3) == directed_edges_in(g)


def test_pairing_covers_every_edge_once(rural: RoadGraph) -> None:
    forward, partner = pair_two_way_edges(rural)
    both = np.concatenate([forward, partner[partner >= 0]])
    assert sorted(both.tolist()) == list(range(rural.n_edges))
    src = rural.edge_source
    assert np.all(src[forward] < rural.edge_target[forward])
    np.testing.assert_array_equal(src[partner], rural.edge_target[forward])


def test_parallel_roads_pair_up_one_to_one(tmp_path: Path) -> None:
    """Two distinct two-way roads between the same nodes stay two ways."""
    g = RoadGraph.from_edges(
        node_lat=[66.0, 66.01], node_lon=[21.0, 21.0], source=[0, 1, 0, 1], target=[1, 0, 1, 0],
        length_m=[1200.0] * 4, speed_kmh=[70.0] * 4, road_class=[3] * 4,
    )
    stats = write_osm(g, tmp_path / "p.osm.pbf")
    assert (stats.ways, stats.oneway_ways) == (2, 0)


def test_xml_and_pbf_hold_the_same_data(rural: RoadGraph, tmp_path: Path) -> None:
    write_osm(rural, tmp_path / "a.osm")
    write_osm(rural, tmp_path / "a.osm.pbf")
    assert read_osm(tmp_path / "a.osm") == read_osm(tmp_path / "a.osm.pbf")
    assert (tmp_path / "a.osm").read_text()[:5] == "<?xml"


def test_existing_file_is_replaced_and_no_temporary_left(tmp_path: Path) -> None:
    path = tmp_path / "out" / "r.osm.pbf"
    path.parent.mkdir()
    path.write_bytes(b"stale")
    write_osm(rural_graph(500), path)
    assert len(read_osm(path)[1]) > 0
    assert [p.name for p in path.parent.iterdir()] == ["r.osm.pbf"]


@pytest.mark.parametrize("name", ["r.geojson", "r.pbf.gz", "r"])
def test_unknown_suffix_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(MapFormatError, match=r"\.osm\.pbf or \.osm"):
        write_osm(rural_graph(500), tmp_path / name)
    assert list(tmp_path.iterdir()) == []
