"""Synthetic rural road networks for scale runs and benchmarks, generated with vectorised NumPy.

Real extracts of Norrbotten hold a few hundred thousand nodes; to test how loading, routing and
export behave at a million nodes and more we need bigger graphs with the same shape: towns of
dense short streets, villages, long degree-2 rural roads between them broken by junctions where
forest and farm roads branch off, and a few fast trunk roads between the towns.
:func:`rural_graph` builds one deterministically from a seed in seconds.

Construction keeps the graph strongly connected by design: every town and village is a grid whose
vertical streets and main street form a spanning tree, settlements are joined along a spanning tree
of their Delaunay triangulation (plus some of its other edges for loops), side roads hang off nodes
that are already connected, and every road is two-way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from maps.errors import MapBuildError
from maps.graph import EARTH_RADIUS_M, Facility, Place, RoadClass, RoadGraph, haversine_m

__all__ = ["MIN_NODES", "rural_graph"]

#: Fewest nodes :func:`rural_graph` accepts: one town, three villages and the roads between them.
MIN_NODES = 300

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_KM_PER_DEG = EARTH_RADIUS_M * math.pi / 180.0 / 1000.0
# Share of the nodes in town streets, village streets and roads between settlements; the rest
# goes to side roads (forest, farm and cabin roads) hanging off them.
_TOWN_SHARE = 0.22
_VILLAGE_SHARE = 0.10
_ROAD_SHARE = 0.40
# Nodes per square kilometre overall; sets the size of the square the network covers.
_DENSITY_PER_KM2 = 0.8
_STREET_NAMES = (
    "Storgatan", "Kyrkogatan", "Skolgatan", "Strandvägen", "Järnvägsgatan", "Parkvägen",
    "Norra vägen", "Södra vägen", "Björkvägen", "Tallvägen", "Granvägen", "Älvvägen",
)


@dataclass(frozen=True, slots=True)
class _Settlements:
    """Grids of streets, one per town or village, laid out in a local km plane."""

    x: FloatArray  # node positions, km east of the centre
    y: FloatArray  # km north of the centre
    u: IntArray  # street edges (undirected)
    v: IntArray
    main_street: npt.NDArray[np.bool_]
    street_settlement: IntArray
    street_line: IntArray  # row number of a cross street, 1000 + column of a long street
    base: IntArray  # first node of each settlement's grid
    rows: IntArray
    cols: IntArray
    angle: FloatArray
    cx: FloatArray  # settlement centres
    cy: FloatArray
    centre_node: IntArray


def rural_graph(
    n_nodes: int, *, seed: int = 0, center: tuple[float, float] = (66.0, 21.0)
) -> RoadGraph:
    """A strongly connected, two-way rural road network of exactly ``n_nodes`` nodes around
    ``center`` (lat, lon), the same for the same ``seed``.

    About a fifth of the nodes are town streets (30-50 km/h), a tenth village streets, two
    fifths rural roads between settlements (70-90 km/h, trunk roads 90-110 km/h) and the rest
    side roads (30-70 km/h). Towns and villages are :class:`Place` entries with a population; the
    largest town has a hospital with psychiatric emergency reception and an MAE base.
    """
    if isinstance(n_nodes, bool) or not isinstance(n_nodes, int) or n_nodes < MIN_NODES:
        raise MapBuildError(f"n_nodes must be an integer >= {MIN_NODES}, got {n_nodes!r}")
    lat0, lon0 = center
    if not (math.isfinite(lat0) and -80.0 <= lat0 <= 80.0 and math.isfinite(lon0)
            and -180.0 <= lon0 <= 180.0):
        raise MapBuildError(f"center must be (lat, lon) with |lat| <= 80, got {center!r}")
    rng = np.random.default_rng(seed)

    side_km = math.sqrt(n_nodes / _DENSITY_PER_KM2)
    n_towns = max(1 if n_nodes < 1_000 else 2, round(n_nodes / 40_000))
    n_villages = max(3, round(n_nodes / 1_000))
    st = _settlements(rng, n_nodes, n_towns, n_villages, side_km)

    road_budget = int(_ROAD_SHARE * n_nodes)
    rd = _roads(rng, st, n_towns, road_budget)
    chain_x, chain_y, chain_u, chain_v, chain_cls, chain_speed, chain_ref, chain_nodes = rd

    first_side = len(st.x) + len(chain_x)
    side_budget = n_nodes - first_side
    if side_budget < 0:  # only when rounding of tiny graphs overshoots
        raise MapBuildError(f"n_nodes={n_nodes} is too small for the settlement layout")
    x_all = np.concatenate([st.x, chain_x])
    y_all = np.concatenate([st.y, chain_y])
    side_x, side_y, side_u, side_v, side_cls, side_speed = _side_roads(
        rng, side_budget, first_side, x_all, y_all, chain_nodes
    )
    x = np.concatenate([x_all, side_x])
    y = np.concatenate([y_all, side_y])
    assert len(x) == n_nodes

    # street attributes: main streets tertiary at 50 km/h, others residential 30/40/50
    n_street = len(st.u)
    street_cls = np.where(st.main_street, RoadClass.TERTIARY, RoadClass.RESIDENTIAL)
    street_speed = np.where(
        st.main_street, 50.0, rng.choice(np.array([30.0, 40.0, 50.0]), size=n_street)
    )
    n_ref = int(chain_ref.max()) + 1 if len(chain_ref) else 0
    # one name along each street line; every main street is Storgatan
    line_name = 1 + (st.street_settlement * 7 + st.street_line) % (len(_STREET_NAMES) - 1)
    street_name = n_ref + np.where(st.main_street, 0, line_name)
    strings = (*_road_refs(n_ref, n_towns), *_STREET_NAMES)

    u = np.concatenate([st.u, chain_u, side_u])
    v = np.concatenate([st.v, chain_v, side_v])
    cls = np.concatenate([street_cls, chain_cls, side_cls]).astype(np.uint8)
    speed = np.concatenate([street_speed, chain_speed, side_speed])
    none = np.full(len(side_u), -1, dtype=np.int64)
    ref = np.concatenate([np.full(n_street, -1, dtype=np.int64), chain_ref, none])
    name = np.concatenate([street_name, np.full(len(chain_u), -1, dtype=np.int64), none])

    # geometry points on a fifth of the rural and side road edges
    rural = np.concatenate([np.zeros(n_street, dtype=bool), np.ones(len(u) - n_street, bool)])
    n_geom = np.where(rural & (rng.random(len(u)) < 0.2), rng.integers(1, 4, len(u)), 0)
    g_off, gx, gy = _geometry(rng, x, y, u, v, n_geom)

    cos0 = math.cos(math.radians(lat0))
    lat = lat0 + y / _KM_PER_DEG
    lon = lon0 + x / (_KM_PER_DEG * cos0)
    glat = lat0 + gy / _KM_PER_DEG
    glon = lon0 + gx / (_KM_PER_DEG * cos0)
    if np.abs(lat).max() > 89.0 or np.abs(lon).max() > 180.0:
        raise MapBuildError(f"a {n_nodes}-node network around {center} leaves the globe")
    length = _edge_lengths(rng, lat, lon, u, v, g_off, glat, glon)

    # every road both ways: reverse edges carry the reversed geometry
    lens = np.diff(g_off)
    rev_idx = np.repeat(g_off[:-1] + g_off[1:] - 1, lens) - np.arange(int(g_off[-1]))
    geom_offsets = np.concatenate([g_off, g_off[-1] + g_off[1:]])
    places, facilities = _places(rng, st, n_towns, lat, lon)
    return RoadGraph.from_edges(
        node_lat=lat,
        node_lon=lon,
        source=np.concatenate([u, v]),
        target=np.concatenate([v, u]),
        length_m=np.concatenate([length, length]),
        speed_kmh=np.concatenate([speed, speed]),
        road_class=np.concatenate([cls, cls]),
        ref=np.concatenate([ref, ref]),
        name=np.concatenate([name, name]),
        geom_offsets=geom_offsets,
        geom_lat=np.concatenate([glat, glat[rev_idx]]),
        geom_lon=np.concatenate([glon, glon[rev_idx]]),
        strings=strings,
        places=places,
        facilities=facilities,
        meta={
            "name": f"synthetic rural network ({n_nodes} nodes, seed {seed})",
            "source": "maps.synthetic.rural_graph",
            "seed": seed,
            "center": [lat0, lon0],
        },
    )


def _settlements(
    rng: np.random.Generator, n: int, n_towns: int, n_villages: int, side_km: float
) -> _Settlements:
    """Town and village street grids, towns first, centres scattered over the square."""
    k = n_towns + n_villages
    cx = rng.uniform(-side_km / 2, side_km / 2, k)
    cy = rng.uniform(-side_km / 2, side_km / 2, k)
    town_w = 1.0 / np.arange(1, n_towns + 1)  # Zipf: a few big towns, many small ones
    town_size = np.maximum(16, _TOWN_SHARE * n * town_w / town_w.sum())
    village_w = rng.lognormal(0.0, 0.6, n_villages)
    village_size = np.maximum(4, _VILLAGE_SHARE * n * village_w / village_w.sum())
    size = np.concatenate([town_size, village_size])
    aspect = rng.uniform(0.6, 1.6, k)
    cols = np.maximum(2, np.round(np.sqrt(size * aspect))).astype(np.int64)
    rows = np.maximum(2, np.floor(size / cols)).astype(np.int64)
    spacing = np.where(np.arange(k) < n_towns, 0.065, 0.06)  # km between parallel streets
    angle = rng.uniform(0, np.pi, k)

    count = rows * cols
    base = np.zeros(k, dtype=np.int64)
    np.cumsum(count[:-1], out=base[1:])
    total = int(count.sum())
    owner = np.repeat(np.arange(k), count)
    local = np.arange(total) - base[owner]
    c_rep = cols[owner]
    r_rep = rows[owner]
    i, j = local // c_rep, local % c_rep
    sp = spacing[owner]
    gx = (j - (c_rep - 1) / 2) * sp + rng.uniform(-0.15, 0.15, total) * sp
    gy = (i - (r_rep - 1) / 2) * sp + rng.uniform(-0.15, 0.15, total) * sp
    ca, sa = np.cos(angle[owner]), np.sin(angle[owner])
    x = cx[owner] + gx * ca - gy * sa
    y = cy[owner] + gx * sa + gy * ca

    node = np.arange(total, dtype=np.int64)
    main_row = i == r_rep // 2
    # every vertical street and the main street span the grid; other cross streets may be missing
    h = (j < c_rep - 1) & (main_row | (rng.random(total) < 0.8))
    vert = i < r_rep - 1
    u = np.concatenate([node[h], node[vert]])
    v = np.concatenate([node[h] + 1, node[vert] + c_rep[vert]])
    main_street = np.concatenate([main_row[h], np.zeros(int(vert.sum()), dtype=bool)])
    street_settlement = np.concatenate([owner[h], owner[vert]])
    street_line = np.concatenate([i[h], 1000 + j[vert]])
    centre_node = base + (rows // 2) * cols + cols // 2
    return _Settlements(
        x=x, y=y, u=u, v=v, main_street=main_street, street_settlement=street_settlement,
        street_line=street_line, base=base, rows=rows, cols=cols, angle=angle, cx=cx, cy=cy,
        centre_node=centre_node,
    )


def _road_pairs(
    rng: np.random.Generator, cx: FloatArray, cy: FloatArray, n_towns: int
) -> tuple[IntArray, IntArray, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Settlement pairs to join: a Delaunay spanning tree plus some loops, and trunk roads
    along a spanning tree of the towns. Returns ``(a, b, is_trunk, in_tree)``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import minimum_spanning_tree
    from scipy.spatial import Delaunay

    k = len(cx)
    tri = Delaunay(np.column_stack([cx, cy]))
    s = tri.simplices
    e = np.concatenate([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]])
    e = np.unique(np.sort(e, axis=1), axis=0)
    a, b = e[:, 0].astype(np.int64), e[:, 1].astype(np.int64)
    d = np.hypot(cx[a] - cx[b], cy[a] - cy[b]) + 1e-9
    mst = minimum_spanning_tree(coo_matrix((d, (a, b)), shape=(k, k))).tocoo()
    in_tree = np.zeros(len(a), dtype=bool)
    key = a * k + b
    tree_key = np.minimum(mst.row, mst.col).astype(np.int64) * k + np.maximum(mst.row, mst.col)
    in_tree[np.isin(key, tree_key)] = True
    short = d < np.median(d)
    keep = in_tree | (rng.random(len(a)) < np.where(short, 0.5, 0.15))
    a, b, in_tree = a[keep], b[keep], in_tree[keep]
    trunk_a = np.zeros(0, dtype=np.int64)
    trunk_b = np.zeros(0, dtype=np.int64)
    if n_towns >= 2:
        t = np.arange(n_towns)
        ta, tb = np.meshgrid(t, t, indexing="ij")
        upper = ta < tb
        ta, tb = ta[upper], tb[upper]
        td = np.hypot(cx[ta] - cx[tb], cy[ta] - cy[tb]) + 1e-9
        tmst = minimum_spanning_tree(coo_matrix((td, (ta, tb)), shape=(n_towns, n_towns)))
        tm = tmst.tocoo()
        trunk_a, trunk_b = tm.row.astype(np.int64), tm.col.astype(np.int64)
    is_trunk = np.concatenate([np.zeros(len(a), bool), np.ones(len(trunk_a), bool)])
    in_tree = np.concatenate([in_tree, np.ones(len(trunk_a), bool)])
    return np.concatenate([a, trunk_a]), np.concatenate([b, trunk_b]), is_trunk, in_tree


def _anchor(st: _Settlements, s: IntArray, toward_x: FloatArray, toward_y: FloatArray) -> IntArray:
    """The edge node of settlement ``s``'s grid in the direction of ``toward``: where a road
    leaving the settlement that way starts."""
    dx, dy = toward_x - st.cx[s], toward_y - st.cy[s]
    ca, sa = np.cos(st.angle[s]), np.sin(st.angle[s])
    gx, gy = dx * ca + dy * sa, -dx * sa + dy * ca  # direction in the grid's own frame
    norm = np.hypot(gx, gy) + 1e-12
    gx, gy = gx / norm, gy / norm
    hx, hy = (st.cols[s] - 1) / 2, (st.rows[s] - 1) / 2
    with np.errstate(divide="ignore"):
        scale = np.minimum(hx / np.abs(gx), hy / np.abs(gy))
    j = np.clip(np.round(hx + gx * scale), 0, st.cols[s] - 1).astype(np.int64)
    i = np.clip(np.round(hy + gy * scale), 0, st.rows[s] - 1).astype(np.int64)
    return st.base[s] + i * st.cols[s] + j


def _roads(
    rng: np.random.Generator, st: _Settlements, n_towns: int, budget: int
) -> tuple[FloatArray, FloatArray, IntArray, IntArray, IntArray, FloatArray, IntArray, IntArray]:
    """Winding chains of degree-2 nodes between settlements.

    Returns node ``x, y``, edges ``u, v`` with class, speed and ref index, and the ids of the
    new (interior) nodes.
    """
    a, b, is_trunk, in_tree = _road_pairs(rng, st.cx, st.cy, n_towns)
    na = _anchor(st, a, st.cx[b], st.cy[b])
    nb = _anchor(st, b, st.cx[a], st.cy[a])
    ax, ay, bx, by = st.x[na], st.y[na], st.x[nb], st.y[nb]
    dist = np.hypot(bx - ax, by - ay) + 1e-6
    r = len(a)
    # one interior node per road at least, the rest of the budget in proportion to length
    extra = max(budget - r, 0) * dist / dist.sum()
    k = 1 + np.floor(extra).astype(np.int64)
    short = max(budget, r) - int(k.sum())
    if short > 0:
        k[np.argsort(extra - np.floor(extra))[::-1][:short]] += 1
    total = int(k.sum())
    first = len(st.x)
    road = np.repeat(np.arange(r), k)
    start = np.zeros(r, dtype=np.int64)
    np.cumsum(k[:-1], out=start[1:])
    step = np.arange(total) - start[road] + 1
    t = step / (k[road] + 1)
    # a gentle meander across the straight line, plus small wobble at each node
    amp = dist * rng.uniform(0.02, 0.08, r)
    freq = rng.uniform(1.0, 4.0, r)
    phase = rng.uniform(0, 2 * np.pi, r)
    px, py = -(by - ay) / dist, (bx - ax) / dist
    off = amp[road] * np.sin(np.pi * t) * np.sin(freq[road] * np.pi * t + phase[road])
    off += rng.uniform(-0.1, 0.1, total) * (dist / (k + 1))[road]
    x = ax[road] + t * (bx - ax)[road] + off * px[road]
    y = ay[road] + t * (by - ay)[road] + off * py[road]

    ids = first + np.arange(total, dtype=np.int64)
    # path of every road: anchor a, interior nodes, anchor b; edges join consecutive entries
    plen = k + 2
    pstart = np.zeros(r, dtype=np.int64)
    np.cumsum(plen[:-1], out=pstart[1:])
    path = np.empty(int(plen.sum()), dtype=np.int64)
    path[pstart] = na
    path[pstart + k + 1] = nb
    interior = np.ones(len(path), dtype=bool)
    interior[pstart] = False
    interior[pstart + k + 1] = False
    path[interior] = ids
    inside = np.ones(len(path) - 1, dtype=bool)
    inside[(pstart + k + 1)[:-1]] = False  # no edge from one road's end to the next one's start
    u, v = path[:-1][inside], path[1:][inside]

    town_pair = (a < n_towns) & (b < n_towns)
    cls = np.where(
        is_trunk,
        RoadClass.TRUNK,
        np.where(town_pair | (in_tree & ((a < n_towns) | (b < n_towns))), RoadClass.PRIMARY,
                 np.where(in_tree, RoadClass.SECONDARY, RoadClass.TERTIARY)),
    ).astype(np.int64)
    speed_by_class = {
        RoadClass.TRUNK: (90.0, 100.0, 110.0),
        RoadClass.PRIMARY: (80.0, 90.0),
        RoadClass.SECONDARY: (70.0, 80.0),
        RoadClass.TERTIARY: (70.0,),
    }
    speed = np.zeros(r)
    for c, choices in speed_by_class.items():
        sel = cls == c
        speed[sel] = rng.choice(np.array(choices), size=int(sel.sum()))
    ref = np.arange(r, dtype=np.int64)  # each road its own number; trunk roads numbered first
    ref = np.where(is_trunk, ref - int((~is_trunk).sum()), ref + int(is_trunk.sum()))
    return (x, y, u, v, np.repeat(cls, k + 1), np.repeat(speed, k + 1), np.repeat(ref, k + 1),
            ids)


def _road_refs(n_ref: int, n_towns: int) -> tuple[str, ...]:
    """Road numbers: trunk roads get national numbers (the first ``n_towns - 1``), the others
    county numbers from 501 up."""
    n_trunk = max(n_towns - 1, 0)
    return tuple(str(90 + i) if i < n_trunk else str(501 + i - n_trunk) for i in range(n_ref))


def _side_roads(
    rng: np.random.Generator,
    budget: int,
    first: int,
    x: FloatArray,
    y: FloatArray,
    pool: IntArray,
) -> tuple[FloatArray, FloatArray, IntArray, IntArray, IntArray, FloatArray]:
    """Dead-end forest, farm and cabin roads of 3-25 nodes branching off the nodes in ``pool``
    (rural road nodes), each a new junction on its road."""
    if budget == 0:
        z = np.zeros(0)
        zi = np.zeros(0, dtype=np.int64)
        return z, z.copy(), zi, zi.copy(), zi.copy(), z.copy()
    lengths = rng.integers(3, 26, budget // 3 + 1)
    cut = int(np.searchsorted(np.cumsum(lengths), budget))
    lengths = lengths[: cut + 1].copy()
    lengths[-1] -= int(lengths.sum()) - budget
    lengths = lengths[lengths > 0]
    nb = len(lengths)
    attach = pool[rng.integers(0, len(pool), nb)]
    branch = np.repeat(np.arange(nb), lengths)
    start = np.zeros(nb, dtype=np.int64)
    np.cumsum(lengths[:-1], out=start[1:])

    def within(values: FloatArray) -> FloatArray:
        c = np.cumsum(values)
        return c - (c[start] - values[start])[branch]  # cumulative sum restarted per branch

    heading = rng.uniform(0, 2 * np.pi, nb)[branch] + within(rng.normal(0, 0.25, budget))
    step = rng.uniform(0.06, 0.14, budget)
    x_new = x[attach][branch] + within(step * np.cos(heading))
    y_new = y[attach][branch] + within(step * np.sin(heading))
    ids = first + np.arange(budget, dtype=np.int64)
    u = ids - 1
    u[start] = attach
    kind = rng.random(nb)
    cls = np.where(kind < 0.7, RoadClass.UNCLASSIFIED,
                   np.where(kind < 0.9, RoadClass.SERVICE, RoadClass.TRACK)).astype(np.int64)
    speed = np.where(cls == RoadClass.UNCLASSIFIED, rng.choice([50.0, 60.0, 70.0], nb), 30.0)
    return x_new, y_new, u, ids, cls[branch], speed[branch]


def _geometry(
    rng: np.random.Generator, x: FloatArray, y: FloatArray, u: IntArray, v: IntArray,
    n_geom: IntArray,
) -> tuple[IntArray, FloatArray, FloatArray]:
    """``n_geom[e]`` shape points along each edge, slightly off the straight line."""
    off = np.zeros(len(u) + 1, dtype=np.int64)
    np.cumsum(n_geom, out=off[1:])
    total = int(off[-1])
    edge = np.repeat(np.arange(len(u)), n_geom)
    t = (np.arange(total) - off[edge] + 1) / (n_geom[edge] + 1)
    dx, dy = x[v] - x[u], y[v] - y[u]
    side = rng.uniform(-0.15, 0.15, total)
    gx = x[u][edge] + t * dx[edge] - side * dy[edge]
    gy = y[u][edge] + t * dy[edge] + side * dx[edge]
    return off, gx, gy


def _edge_lengths(
    rng: np.random.Generator, lat: FloatArray, lon: FloatArray, u: IntArray, v: IntArray,
    g_off: IntArray, glat: FloatArray, glon: FloatArray,
) -> npt.NDArray[np.float32]:
    """Edge lengths in metres, never shorter than the great circle between the ends: along the
    shape points where an edge has them, else the straight line plus up to 3 % for curves."""
    m = len(u)
    n_geom = np.diff(g_off)
    straight = haversine_m(lat[u], lon[u], lat[v], lon[v]) * (1.0 + rng.uniform(0, 0.03, m))
    length = np.asarray(straight, dtype=np.float64)
    has = np.flatnonzero(n_geom > 0)
    if len(has):
        # every shaped edge as a polyline: tail, shape points, head
        plen = n_geom[has] + 2
        pstart = np.zeros(len(has), dtype=np.int64)
        np.cumsum(plen[:-1], out=pstart[1:])
        plat = np.empty(int(plen.sum()))
        plon = np.empty_like(plat)
        ends = np.zeros(len(plat), dtype=bool)
        ends[pstart] = True
        ends[pstart + plen - 1] = True
        plat[pstart], plon[pstart] = lat[u[has]], lon[u[has]]
        plat[pstart + plen - 1], plon[pstart + plen - 1] = lat[v[has]], lon[v[has]]
        plat[~ends], plon[~ends] = glat, glon  # shaped edges hold all points, in edge order
        seg = haversine_m(plat[:-1], plon[:-1], plat[1:], plon[1:])
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        length[has] = cum[pstart + plen - 1] - cum[pstart]
    out = length.astype(np.float32)
    low = out < length  # rounding to float32 must not cut below the great circle
    out[low] = np.nextafter(out[low], np.float32(np.inf))
    return out


def _places(
    rng: np.random.Generator, st: _Settlements, n_towns: int, lat: FloatArray, lon: FloatArray
) -> tuple[list[Place], list[Facility]]:
    """A gazetteer entry per town and village, and the facilities of the biggest towns."""
    size = st.rows * st.cols
    # each village belongs to the municipality of its nearest town
    home = np.argmin(
        np.hypot(st.cx[:, None] - st.cx[None, :n_towns], st.cy[:, None] - st.cy[None, :n_towns]),
        axis=1,
    )
    places: list[Place] = []
    for s, node in enumerate(st.centre_node.tolist()):
        town = s < n_towns
        pop = int(size[s] * (rng.uniform(5.0, 10.0) if town else rng.uniform(3.0, 8.0)))
        places.append(
            Place(
                name=f"Town {s + 1}" if town else f"Village {s - n_towns + 1}",
                lat=float(lat[node]),
                lon=float(lon[node]),
                node=node,
                population=pop,
                kind="town" if town else "village",
                municipality=f"Town {int(home[s]) + 1}",
            )
        )
    facilities: list[Facility] = []
    for s in range(min(n_towns, 2)):
        node = int(st.centre_node[s]) - 1  # next to the town centre, on the main street
        p = places[s]
        kinds = ("psychiatric_emergency",) if s == 0 else ()
        facilities.append(Facility(name=f"{p.name} hospital", kind="hospital", node=node,
                                   lat=float(lat[node]), lon=float(lon[node]), place=p.name,
                                   kinds=kinds))
    p0 = places[0]
    base_node = int(st.centre_node[0])
    facilities.append(Facility(name=f"MAE base {p0.name}", kind="mae_base", node=base_node,
                               lat=float(lat[base_node]), lon=float(lon[base_node]),
                               place=p0.name))
    return places, facilities
