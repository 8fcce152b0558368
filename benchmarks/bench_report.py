"""The simulation report's map on a big road graph: one LineCollection against one plot per edge.

Issue 16: ``mae simulate`` spent about two minutes of a run drawing the report map one edge at a
time (53,000 ``ax.plot`` calls). On a synthetic rural graph of about 50,000 edges
(``maps.synthetic.rural_graph``) this times, in the same run:

- ``collection``: ``simulations.report.draw_roads`` (one LineCollection) and saving the PNG;
- ``per-edge plot``: the old way, one ``ax.plot`` per edge, on the first ``--peer-edges`` edges
  (all of them by default; that takes minutes), saved the same way;
- ``whole report``: ``simulations.report.write_report`` for a week of one scenario on that map
  (one seed; the runs themselves are not timed), the acceptance figure (under 5 s).

    .venv/bin/python benchmarks/bench_report.py [--nodes 20000] [--peer-edges 5000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from maps.graph import RoadGraph, save_graph  # noqa: E402
from maps.synthetic import rural_graph  # noqa: E402
from simulations.batch import run_batch  # noqa: E402
from simulations.report import draw_roads, write_report  # noqa: E402
from simulations.scenario import scenario_from_dict  # noqa: E402


def _save(fig: object, out: Path) -> None:
    fig.savefig(out, format="png", dpi=90, bbox_inches="tight")  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]


def time_collection(graph: RoadGraph, out: Path) -> float:
    t = time.perf_counter()
    fig, ax = plt.subplots(figsize=(5.5, 6.5))
    draw_roads(ax, graph)
    _save(fig, out)
    return time.perf_counter() - t


def time_per_edge(graph: RoadGraph, edges: int, out: Path) -> float:
    t = time.perf_counter()
    fig, ax = plt.subplots(figsize=(5.5, 6.5))
    src = graph.edge_source
    for e in range(edges):
        line = graph.edge_geometry(e, int(src[e]))
        ax.plot([p[1] for p in line], [p[0] for p in line], color="#c8c8c8", linewidth=0.7,
                zorder=1)
    _save(fig, out)
    return time.perf_counter() - t


def time_report(graph: RoadGraph, folder: Path) -> float:
    path = save_graph(graph, folder / "big.maegraph")
    hospital = next(f for f in graph.facilities if f.is_a("psychiatric_emergency"))
    sc = scenario_from_dict({
        "name": "big map", "days": 7, "timezone": "UTC", "map": {"path": str(path)},
        "roads": {"season": "summer"},
        "bases": [{"id": "b", "lat": hospital.lat, "lon": hospital.lon}],
        "units": [{"id": "U", "base": "b", "shifts": "24/7"}],
        "demand": {"kind": "synthetic", "alarms_per_year": 1500},
    }, graph=graph)
    batch = run_batch([sc], [0], workers=1)
    t = time.perf_counter()
    write_report(batch, folder / "report")
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=20_000, help="synthetic graph nodes")
    parser.add_argument("--peer-edges", type=int, default=None,
                        help="edges the per-edge peer draws (default: all)")
    args = parser.parse_args()
    graph = rural_graph(args.nodes)
    n_peer = graph.n_edges if args.peer_edges is None else min(args.peer_edges, graph.n_edges)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        time_collection(graph, folder / "warm.png")  # warm-up: fonts, caches
        ours = [time_collection(graph, folder / f"c{i}.png") for i in range(3)]
        peer = time_per_edge(graph, n_peer, folder / "peer.png")
        report = time_report(graph, folder)
    ours_s = sorted(ours)[1]
    print(f"report map, synthetic rural graph: {graph.n_nodes} nodes, {graph.n_edges} edges")
    # With --peer-edges below all edges the peer's time for the whole map is extrapolated
    # linearly (one plot call per edge) and marked "est.".
    peer_all = peer * graph.n_edges / n_peer
    est = "" if n_peer == graph.n_edges else " (est.)"
    head = f"{'method':<26} {'edges drawn':>11} {'seconds':>8} {'whole map s':>14} {'x ours':>7}"
    print(head)
    print("-" * len(head))
    print(f"{'collection (ours)':<26} {graph.n_edges:>11} {ours_s:>8.2f} {ours_s:>14.2f} "
          f"{1.0:>7.1f}")
    print(f"{'per-edge ax.plot (before)':<26} {n_peer:>11} {peer:>8.2f} "
          f"{f'{peer_all:.2f}{est}':>14} {peer_all / ours_s:>7.1f}")
    print(f"{'whole report, 1 seed':<26} {graph.n_edges:>11} {report:>8.2f} {report:>14.2f} "
          f"{report / ours_s:>7.1f}")



if __name__ == "__main__":
    main()
