"""Synthetic rural networks: exact size, connected, two-way, plausible lengths, speeds, places."""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maps.errors import MapBuildError
from maps.graph import RoadClass, RoadGraph, haversine_m
from maps.synthetic import MIN_NODES, rural_graph


@cache
def graph(n: int = 12_000, seed: int = 0) -> RoadGraph:
    return rural_graph(n, seed=seed)


def undirected_degree(g: RoadGraph) -> npt.NDArray[np.intp]:
    """Distinct neighbours of every node (both directions count once)."""
    src = g.edge_source.astype(np.int64)
    dst = g.edge_target.astype(np.int64)
    pairs = np.unique(np.column_stack([np.minimum(src, dst), np.maximum(src, dst)]), axis=0)
    return np.bincount(pairs.ravel(), minlength=g.n_nodes)


@pytest.mark.parametrize("n", [MIN_NODES, 2_000, 12_000, 20_001])
def test_has_exactly_the_nodes_asked_for_and_is_strongly_connected(n: int) -> None:
    g = rural_graph(n, seed=3)
    assert g.n_nodes == n
    assert g.is_strongly_connected()


def test_same_seed_same_graph_other_seed_other_graph() -> None:
    a, b, c = rural_graph(3000, seed=7), rural_graph(3000, seed=7), rural_graph(3000, seed=8)
    for name in ("node_lat", "node_lon", "edge_offsets", "edge_target", "edge_length_m",
                 "edge_speed_kmh", "edge_class", "edge_ref", "edge_name", "geom_offsets",
                 "geom_lat", "geom_lon"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.places == b.places and a.facilities == b.facilities and a.strings == b.strings
    assert not np.array_equal(a.node_lat, c.node_lat)


def test_every_road_is_two_way_with_the_same_length_and_reversed_shape() -> None:
    g = graph()
    src = g.edge_source.astype(np.int64)
    dst = g.edge_target.astype(np.int64)
    fwd = {(s, t): e for e, (s, t) in enumerate(zip(src.tolist(), dst.tolist(), strict=True))}
    assert len(fwd) == g.n_edges  # no parallel edges
    for e, (s, t) in enumerate(zip(src.tolist(), dst.tolist(), strict=True)):
        r = fwd[(t, s)]
        assert g.edge_length_m[r] == g.edge_length_m[e]
        assert g.edge_speed_kmh[r] == g.edge_speed_kmh[e]
        assert g.edge_class[r] == g.edge_class[e]
        assert g.edge_geometry(r, source=t) == g.edge_geometry(e, source=s)[::-1]


def test_edges_are_never_shorter_than_the_great_circle() -> None:
    g = graph()
    src = g.edge_source
    gc = haversine_m(g.node_lat[src], g.node_lon[src], g.node_lat[g.edge_target],
                     g.node_lon[g.edge_target])
    assert np.all(g.edge_length_m.astype(np.float64) >= gc)
    assert np.all(src != g.edge_target)
    assert g.edge_length_m.min() > 1.0
    assert np.median(g.edge_length_m) < 200.0  # unsimplified roads: a node every ~100 m


def test_shaped_edges_are_as_long_as_their_polyline() -> None:
    g = graph()
    n_geom = np.diff(g.geom_offsets)
    shaped = np.flatnonzero(n_geom > 0)
    assert 0.03 < len(shaped) / g.n_edges < 0.5
    assert set(np.unique(n_geom[shaped]).tolist()) <= {1, 2, 3}
    for e in shaped[:: max(1, len(shaped) // 200)].tolist():
        pts = np.array(g.edge_geometry(int(e)))
        along = haversine_m(pts[:-1, 0], pts[:-1, 1], pts[1:, 0], pts[1:, 1]).sum()
        assert float(g.edge_length_m[e]) == pytest.approx(along, rel=1e-5)
        assert float(g.edge_length_m[e]) >= along


def test_speeds_match_the_road_classes() -> None:
    g = graph()
    expected = {
        RoadClass.TRUNK: (90, 110),
        RoadClass.PRIMARY: (70, 90),
        RoadClass.SECONDARY: (70, 90),
        RoadClass.TERTIARY: (50, 70),
        RoadClass.RESIDENTIAL: (30, 50),
        RoadClass.UNCLASSIFIED: (50, 70),
        RoadClass.SERVICE: (30, 30),
        RoadClass.TRACK: (30, 30),
    }
    present = {RoadClass(int(c)) for c in np.unique(g.edge_class)}
    assert present == set(expected)
    for cls, (lo, hi) in expected.items():
        speeds = g.edge_speed_kmh[g.edge_class == cls]
        assert speeds.min() >= lo and speeds.max() <= hi, cls
    np.testing.assert_allclose(g.edge_time_s, g.edge_length_m / (g.edge_speed_kmh / 3.6),
                               rtol=1e-5)


def test_shape_is_rural_mostly_chains_with_junctions_and_dead_ends() -> None:
    deg = undirected_degree(graph())
    assert deg.min() >= 1
    assert np.mean(deg == 2) > 0.5  # long chains of degree-2 nodes
    assert np.mean(deg >= 3) > 0.1  # town grids and road junctions
    assert np.mean(deg == 1) > 0.01  # ends of forest and farm roads


def test_rural_roads_are_long_and_town_streets_short() -> None:
    g = graph(40_000)
    by_class = {c: g.edge_length_m[g.edge_class == c] for c in RoadClass}
    assert np.median(by_class[RoadClass.RESIDENTIAL]) < np.median(by_class[RoadClass.PRIMARY])
    # the whole network spans tens of kilometres
    lat0, lon0, lat1, lon1 = g.bounds()
    assert haversine_m(lat0, lon0, lat1, lon1) > 50_000


def test_places_are_towns_and_villages_on_their_own_nodes() -> None:
    g = graph()
    kinds = [p.kind for p in g.places]
    assert kinds.count("town") >= 2 and kinds.count("village") >= 3
    assert kinds == sorted(kinds)  # towns first
    assert len({p.name for p in g.places}) == len(g.places)
    assert len({p.node for p in g.places}) == len(g.places)
    for p in g.places:
        assert p.population > 0
        assert (p.lat, p.lon) == (float(g.node_lat[p.node]), float(g.node_lon[p.node]))
        assert p.municipality.startswith("Town ")
    towns = [p for p in g.places if p.kind == "town"]
    villages = [p for p in g.places if p.kind == "village"]
    assert towns[0].population > max(v.population for v in villages)


def test_facilities_include_psychiatric_emergency_and_an_mae_base() -> None:
    g = graph()
    assert any(f.is_a("psychiatric_emergency") for f in g.facilities)
    assert any(f.is_a("mae_base") for f in g.facilities)
    assert sum(f.is_a("hospital") for f in g.facilities) >= 2
    for f in g.facilities:
        assert (f.lat, f.lon) == (float(g.node_lat[f.node]), float(g.node_lon[f.node]))
        assert f.place in {p.name for p in g.places}


def test_roads_have_numbers_and_streets_have_names() -> None:
    g = graph()
    streets = g.edge_class == RoadClass.RESIDENTIAL
    assert np.all(g.edge_name[streets] >= 0) and np.all(g.edge_ref[streets] < 0)
    rural = np.isin(g.edge_class, [RoadClass.TRUNK, RoadClass.PRIMARY, RoadClass.SECONDARY])
    assert np.all(g.edge_ref[rural] >= 0)
    labels = {g.edge_label(int(e)) for e in np.flatnonzero(rural)[:500]}
    assert all(label.isdigit() for label in labels)
    assert "Storgatan" in {g.edge_label(int(e)) for e in np.flatnonzero(~rural)}


def test_network_is_centred_where_asked() -> None:
    g = rural_graph(5000, seed=1, center=(67.85, 20.22))
    lat0, lon0, lat1, lon1 = g.bounds()
    assert lat0 < 67.85 < lat1 and lon0 < 20.22 < lon1
    assert abs(float(np.mean(g.node_lat)) - 67.85) < 0.3
    assert g.meta["seed"] == 1 and g.meta["center"] == [67.85, 20.22]
    assert "5000 nodes" in g.name


@pytest.mark.parametrize("bad", [0, MIN_NODES - 1, -5, 1000.0, True])
def test_rejects_too_few_nodes(bad: object) -> None:
    with pytest.raises(MapBuildError, match="n_nodes"):
        rural_graph(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("center", [(85.0, 21.0), (66.0, 190.0), (float("nan"), 21.0)])
def test_rejects_centres_off_the_map(center: tuple[float, float]) -> None:
    with pytest.raises(MapBuildError, match="center"):
        rural_graph(1000, center=center)


@given(n=st.integers(MIN_NODES, 4000), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=30, deadline=None)
def test_any_size_and_seed_gives_an_exact_connected_graph(n: int, seed: int) -> None:
    g = rural_graph(n, seed=seed)
    assert g.n_nodes == n
    assert g.is_strongly_connected()
    assert g.n_edges % 2 == 0
