"""Matrix regions (issue 16): nodes in a projected crs, minutes row = from, nearest-node snaps."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from simulations.errors import ScenarioError
from simulations.matrix import MatrixColumns, MatrixMap, MatrixRoads, load_matrix_map

DATA = Path(__file__).parents[1] / "data" / "matrix"
NOW = datetime(2026, 1, 5, tzinfo=UTC)


def region() -> MatrixMap:
    return load_matrix_map(DATA / "nodes.csv", DATA / "times.csv", crs="EPSG:28992")


def test_rd_new_metres_become_wgs84_degrees_near_utrecht() -> None:
    m = region()
    assert m.ids == ("A", "B", "C", "D")
    # RD New (136000, 455000) is in Utrecht: about 52.08 N, 5.11 E.
    assert m.lat[0] == pytest.approx(52.0829, abs=1e-3)
    assert m.lon[0] == pytest.approx(5.1100, abs=1e-3)
    assert m.lat[2] > m.lat[0] and m.lon[1] > m.lon[0]  # C is north of A, B east of A


def test_population_shares_keep_their_proportions() -> None:
    pops = [p.population for p in region().places]
    assert pops == [4_000_000, 3_000_000, 2_000_000, 1_000_000]


def test_times_are_minutes_with_the_row_as_the_origin() -> None:
    roads = MatrixRoads(region())
    m = roads.region
    a, b, d = m.point(0), m.point(1), m.point(3)
    assert roads.time(a, b, NOW) == 600.0 and roads.time(b, a, NOW) == 660.0
    assert roads.etas(d, [a, b], NOW) == [1800.0, 1500.0]
    assert roads.times_from(d, [a, b], NOW) == [1860.0, 1560.0]


def test_points_snap_to_the_nearest_node() -> None:
    roads = MatrixRoads(region())
    m = roads.region
    near_b = (m.lat[1] + 0.001, m.lon[1] - 0.002)  # ~200 m from B, 4 km from A
    assert roads.nearest_node(near_b) == m.point(1)
    assert roads.time(m.point(0), near_b, NOW) == 600.0
    roads.register([m.point(2)], [near_b])
    assert roads.node(near_b) == 1 and roads.node(m.point(2)) == 2


def test_columns_can_be_renamed(tmp_path: Path) -> None:
    text = (DATA / "nodes.csv").read_text().replace("id,x,y,population",
                                                     "postal code,east,north,inhabitants")
    (tmp_path / "n.csv").write_text(text)
    m = load_matrix_map(tmp_path / "n.csv", DATA / "times.csv", crs="EPSG:28992",
                        columns=MatrixColumns(id="postal code", x="east", y="north",
                                              population="inhabitants"))
    assert m.ids == ("A", "B", "C", "D") and m.places[0].population == 4_000_000


@pytest.mark.parametrize(("nodes", "times", "crs", "key", "problem"), [
    ("id,x,y\nA,136000,455000\n", "from,A\nA,0\n", None, "map.crs", "no lon/lat"),
    ("id,x,y\nA,136000,455000\n", "from,A\nA,0\n", "EPSG:nonsense", "map.crs", "not a coord"),
    ("id,x,y\nA,136000,455000\nB,1,2\n", "from,A,B\nA,0,1\n", "EPSG:28992", "map.matrix",
     "no row for node"),
    ("id,x,y\nA,136000,455000\n", "from,A\nA,-1\n", "EPSG:28992", "map.matrix", "negative"),
    ("id,x,y\nA,136000,455000\n", "from,Z\nZ,0\n", "EPSG:28992", "map.matrix", "differ"),
    ("id,x,y\nA,136000,abc\n", "from,A\nA,0\n", "EPSG:28992", "map.nodes", "row 2"),
    # the column is named beside the row (an audit: only the row was)
    ("id,x,y\nA,136000,abc\n", "from,A\nA,0\n", "EPSG:28992", "map.nodes",
     "row 2, column 'y': 'abc' is not a number"),
    ("id,x,y\nA,136000,455000\nB,1,2\n", "from,A,B\nA,0,ten\nB,1,0\n", "EPSG:28992",
     "map.matrix", "row 2, column 'B': 'ten' is not a number"),
    ("id,x,y\nA,136000,455000\nB,1,2\n", "from,A,B\nA,0,1\nB,,0\n", "EPSG:28992",
     "map.matrix", "row 3, column 'A': the cell is empty"),
    # found by an audit: each was a traceback or silently accepted
    ("id,x,y\nA,136000\n", "from,A\nA,0\n", "EPSG:28992", "map.nodes", "row 2: 2 values"),
    ("id,x,y\nA,136000,455000\n", "from,A\nA,1e12\n", "EPSG:28992", "map.matrix",
     "over 10080 minutes"),
    ("id,x,y\nA,136000,455000\n", "from,A\nA,0\nA,5\n", "EPSG:28992", "map.matrix",
     "row 3: node 'A' has a row already"),
    ("id,x,y\nA,136000,455000\n", "from;A\nA;0\n", "EPSG:28992", "map.matrix", "';'"),
    ("id,x,y\nÖ,136000,455000\n".encode("latin-1"), "from,A\nA,0\n", "EPSG:28992",
     "map.nodes", "not UTF-8 text"),
])
def test_bad_tables_name_the_key_and_row(tmp_path: Path, nodes: str | bytes, times: str,
                                         crs: str | None, key: str, problem: str) -> None:
    n = tmp_path / "n.csv"
    n.write_bytes(nodes) if isinstance(nodes, bytes) else n.write_text(nodes, encoding="utf-8")
    (tmp_path / "t.csv").write_text(times)
    with pytest.raises(ScenarioError, match=problem) as info:
        load_matrix_map(tmp_path / "n.csv", tmp_path / "t.csv", crs=crs)
    assert info.value.key == key


def test_a_drive_is_interpolated_in_the_maps_own_coordinates() -> None:
    """A point a third of the way from A to D lies on the straight RD New line between them."""
    roads = MatrixRoads(region())
    m = roads.region
    p = roads.along([m.point(0), m.point(3)], 1 / 3)
    assert p == m.between(m.point(0), m.point(3), 1 / 3)
    x, y = m.planar(p)
    assert x == pytest.approx(136000 + 14000 / 3, abs=1e-3)
    assert y == pytest.approx(455000 + 15000 / 3, abs=1e-3)
    assert roads.node(p) == int(m.nearest([p[0]], [p[1]])[0])
    assert roads.along([m.point(0), m.point(3)], 0.0) == m.point(0)


def test_the_node_along_a_drive_is_the_nearest_node_of_the_point_along_it() -> None:
    """node_along finds in the map's plane what nearest_node(along(...)) finds through degrees,
    ends of the leg included, and gives the node's own point (the same object each time)."""
    line = [region().point(0), region().point(3)]
    for fraction in [-0.5, 0.0, 0.01, 0.2, 1 / 3, 0.49, 0.5, 0.51, 0.8, 0.99, 1.0, 1.5]:
        fresh, other = MatrixRoads(region()), MatrixRoads(region())
        want = fresh.nearest_node(fresh.along(line, fraction))
        got = other.node_along(line, fraction)
        assert got == want
        assert got in [other.region.point(i) for i in range(other.region.n)]
        assert other.node_along(line, fraction) is got


def test_nodes_in_degrees_need_no_crs_and_weigh_the_same_without_population(
        tmp_path: Path) -> None:
    (tmp_path / "n.csv").write_text("id,lat,lon\nA,65.0,20.0\nB,65.0,20.6\n")
    (tmp_path / "t.csv").write_text("from,B,A\nA,30,0\nB,0,31\n")  # columns in another order
    m = load_matrix_map(tmp_path / "n.csv", tmp_path / "t.csv")
    assert (m.lat.tolist(), m.lon.tolist()) == ([65.0, 65.0], [20.0, 20.6])
    assert [p.population for p in m.places] == [5_000_000, 5_000_000]
    assert m.seconds.tolist() == [[0.0, 1800.0], [1860.0, 0.0]]
    assert m.nearest([65.01], [20.4]).tolist() == [1]
    mid = m.between(m.point(0), m.point(1), 0.25)
    assert mid == pytest.approx((65.0, 20.15))


def test_the_nearest_node_to_planar_coordinates_is_the_trees_nearest() -> None:
    """nearest_planar answers as the k-d tree does (ties: the lower index), anywhere around."""
    import numpy as np

    m = region()
    tree = m._tree
    assert tree is not None  # built by __post_init__
    rng = np.random.default_rng(4)
    for x, y in rng.uniform([120_000, 440_000], [170_000, 480_000], (200, 2)).tolist():
        assert m.nearest_planar((x, y)) == int(tree.query((x, y))[1])
    x0, y0 = (float(v) for v in tree.data[2])
    assert m.nearest_planar((x0, y0)) == 2


def test_the_runs_of_one_region_share_their_points_planar_coordinates() -> None:
    """A point put in the map's plane once is not transformed again by a later run's roads
    (the same array), and the coordinates are what the region gives."""
    m = region()
    first, later = MatrixRoads(m), MatrixRoads(m)
    p = m.point(2)
    xy = first._xy(p)
    assert later._xy(p) is xy
    assert xy.tolist() == m.planar(p).tolist()
