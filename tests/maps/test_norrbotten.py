"""The bundled Norrbotten network: its tables, the rules they obey, the driving times they give."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from maps.bundled import BUNDLED_PATH, load_bundled
from maps.errors import MapFormatError, MapNotFound
from maps.gazetteer import Gazetteer
from maps.graph import RoadGraph, load_graph
from maps.norrbotten import (
    DATA_DIR,
    build_norrbotten,
    detour_ratio,
    place_ids,
    read_drive_times,
)

MUNICIPALITIES = {
    "Arjeplog", "Arvidsjaur", "Boden", "Gällivare", "Haparanda", "Jokkmokk", "Kalix", "Kiruna",
    "Luleå", "Pajala", "Piteå", "Älvsbyn", "Överkalix", "Övertorneå",
}


@pytest.fixture(scope="module")
def graph() -> RoadGraph:
    return build_norrbotten()


def test_network_is_strongly_connected(graph: RoadGraph) -> None:
    assert graph.is_strongly_connected()


def test_every_segment_is_1_0_to_1_6_times_the_great_circle(graph: RoadGraph) -> None:
    bad = []
    for e, u, v in graph.iter_edges():
        ratio = detour_ratio(graph, e)
        if not 1.0 <= ratio <= 1.6:
            bad.append(f"{graph.places[u].name}-{graph.places[v].name}: {ratio:.2f}")
    assert not bad, bad


def test_localities_cover_all_fourteen_municipalities(graph: RoadGraph) -> None:
    localities = [p for p in graph.places if p.kind == "locality"]
    assert 55 <= len(localities) <= 90
    assert {p.municipality for p in localities} == MUNICIPALITIES
    assert all(p.population >= 150 for p in localities)
    assert all(p.population == 0 for p in graph.places if p.kind == "junction")
    assert any(p.kind == "junction" for p in graph.places)


def test_places_lie_in_norrbotten(graph: RoadGraph) -> None:
    lat0, lon0, lat1, lon1 = graph.bounds()
    assert lat0 > 64.9
    assert lat1 < 69.2
    assert lon0 > 15.3
    assert lon1 < 24.3


def test_names_people_use_are_known(graph: RoadGraph) -> None:
    gaz = Gazetteer.of(graph)
    assert gaz.find("Jåhkåmåhkke").name == "Jokkmokk"
    assert gaz.find("Jiellevárre").name == "Gällivare"
    assert gaz.find("Haaparanta").name == "Haparanda"
    assert gaz.find("lulea").name == "Luleå"


def test_main_roads_are_present(graph: RoadGraph) -> None:
    labels = {graph.strings[i] for i in set(graph.edge_ref.tolist()) if i >= 0}
    for road in ("E4", "E10", "E45", "väg 94", "väg 95", "väg 97", "väg 98", "väg 99"):
        assert road in labels, road


def test_facilities_include_hospitals_and_mae_bases(graph: RoadGraph) -> None:
    names = {f.name: f for f in graph.facilities}
    for hospital in ("Sunderby sjukhus", "Piteå älvdals sjukhus", "Gällivare sjukhus",
                     "Kalix sjukhus", "Kiruna sjukhus"):
        assert hospital in names and names[hospital].is_a("hospital"), hospital
    assert any(f.is_a("psychiatric_emergency") for f in graph.facilities)
    base_places = {graph.places[f.node].name for f in graph.facilities if f.is_a("mae_base")}
    assert {"Piteå", "Gällivare"} <= base_places
    assert any("Sunderby" in f.name for f in graph.facilities if f.is_a("mae_base"))


def test_drive_times_match_public_figures_within_15_percent(graph: RoadGraph) -> None:
    ids = place_ids()
    pairs = read_drive_times()
    required = {("lulea", "pitea"), ("lulea", "boden"), ("lulea", "kalix"),
                ("lulea", "haparanda"), ("lulea", "gallivare"), ("gallivare", "kiruna"),
                ("lulea", "jokkmokk"), ("pitea", "arvidsjaur")}
    have = {(d.source_id, d.target_id) for d in pairs} | {(d.target_id, d.source_id) for d in pairs}
    assert required <= have
    dist = dijkstra(graph.adjacency(), directed=True, indices=[ids[d.source_id] for d in pairs])
    off = []
    for row, d in zip(dist, pairs, strict=True):
        minutes = row[ids[d.target_id]] / 60.0
        if abs(minutes - d.minutes) > 0.15 * d.minutes:
            off.append(f"{d.source_id}-{d.target_id}: {minutes:.0f} min vs stated {d.minutes:.0f}")
    assert not off, off


def test_at_least_eight_pairs_rest_on_a_stated_time_documented_in_the_readme() -> None:
    """Eight pairs must rest on a published driving time; `est` is not a citation."""
    readme = (DATA_DIR.parent / "README.md").read_text(encoding="utf-8")
    cited = []
    for d in read_drive_times():
        keys = d.source.split(";")
        assert len(keys) <= 2 and all(keys), d  # at most two sources, none empty
        for key in keys:
            assert key == "est" or f"`{key}`" in readme, f"source key {key!r} not in README"
        if keys[0] != "est":
            cited.append((d.source_id, d.target_id))
    assert len(set(cited)) >= 8, cited


def test_shipped_graph_matches_its_tables(graph: RoadGraph) -> None:
    shipped = load_graph(BUNDLED_PATH)
    for name in ("node_lat", "node_lon", "edge_offsets", "edge_target", "edge_length_m",
                 "edge_time_s", "edge_class", "edge_ref", "geom_offsets", "geom_lat"):
        assert np.array_equal(getattr(shipped, name), getattr(graph, name)), (
            f"{name} differs: run `mae maps build --bundled`"
        )
    assert shipped.places == graph.places
    assert shipped.facilities == graph.facilities
    assert load_bundled().n_nodes == graph.n_nodes


def _copy_tables(tmp_path: Path) -> Path:
    dst = tmp_path / "tables"
    shutil.copytree(DATA_DIR, dst)
    return dst


def test_a_bad_number_names_file_line_and_field(tmp_path: Path) -> None:
    tables = _copy_tables(tmp_path)
    roads = tables / "roads.csv"
    lines = roads.read_text(encoding="utf-8").splitlines()
    head = lines[0].split(",")
    row = lines[1].split(",")
    row[head.index("length_km")] = "far"
    lines[1] = ",".join(row)
    roads.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(MapFormatError, match=r"roads.csv line 2: length_km 'far' is not a number"):
        build_norrbotten(tables)


def test_a_road_to_an_unknown_place_is_refused(tmp_path: Path) -> None:
    tables = _copy_tables(tmp_path)
    with (tables / "roads.csv").open("a", encoding="utf-8") as fh:
        fh.write("lulea,atlantis,E4,trunk,90,10.0,0,\n")
    with pytest.raises(MapFormatError, match="to 'atlantis' is not a place id"):
        build_norrbotten(tables)


def test_a_missing_table_is_reported(tmp_path: Path) -> None:
    tables = _copy_tables(tmp_path)
    (tables / "facilities.csv").unlink()
    with pytest.raises(MapNotFound, match=r"facilities\.csv"):
        build_norrbotten(tables)
