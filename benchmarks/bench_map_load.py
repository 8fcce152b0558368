"""How fast a road graph loads: our ``.maegraph`` against the usual ways of storing a graph.

For the bundled Norrbotten map (if built) and synthetic rural networks of 100,000 and 1,000,000
nodes, times ``load_graph`` side by side with, on the same graph in the same run:

- ``pickle``: ``pickle.load`` of the very same :class:`RoadGraph` object;
- ``npy-read``: ``np.load`` of each array from a plain ``.npy`` file (the floor for reading
  every byte);
- ``npy-mmap``: the same with ``mmap_mode="r"`` (the floor for "open only": nothing is read);
- ``osmnx-graphml``: ``osmnx.load_graphml`` of the graph converted to an osmnx MultiDiGraph
  (only up to ``--graphml-max`` nodes: it is slow);
- ``nx-pickle``: ``pickle.load`` of that networkx graph.

Files are generated once into ``--cache`` and reused. Each loader runs ``--repeat`` times after
one warm-up (``--slow-repeat`` times for loaders slower than 2 s); the table shows median and
p95 seconds, the ratio to ``load_graph``'s median, the file size and the peak memory allocated
while loading (traced in one separate run). With ``--cold`` every timed run first drops the file
from the OS page cache (``posix_fadvise``).

Run: ``.venv/bin/python benchmarks/bench_map_load.py [--cache DIR] [--repeat N] [--cold]``
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pickle
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from maps.graph import RoadClass, RoadGraph, load_graph, save_graph  # noqa: E402
from maps.synthetic import rural_graph  # noqa: E402

BUNDLED = ROOT / "maps" / "data" / "norrbotten.maegraph"
ARRAYS = ("node_lat", "node_lon", "edge_offsets", "edge_target", "edge_length_m",
          "edge_speed_kmh", "edge_time_s", "edge_class", "edge_ref", "edge_name",
          "geom_offsets", "geom_lat", "geom_lon")
TARGET_S = {"bundled": 1.0, "rural-1000000": 3.0}


@dataclass(frozen=True, slots=True)
class Row:
    dataset: str
    method: str
    times: list[float]
    size_bytes: int
    peak_bytes: int


def _evict(paths: list[Path]) -> None:
    """Drop ``paths`` from the page cache so the next read comes from disk."""
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def _files(path: Path) -> list[Path]:
    return sorted(path.iterdir()) if path.is_dir() else [path]


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in _files(path))


def _time(
    load: Callable[[], Any], path: Path, repeat: int, cold: bool, slow_repeat: int
) -> list[float]:
    t0 = time.perf_counter()
    load()  # warm-up: imports, first touch of the page cache
    if time.perf_counter() - t0 > 2.0:  # a slow peer: fewer runs tell enough
        repeat = min(repeat, slow_repeat)
    times = []
    for _ in range(repeat):
        if cold:
            _evict(_files(path))
        gc.collect()
        t0 = time.perf_counter()
        obj = load()
        times.append(time.perf_counter() - t0)
        del obj
    return times


def _peak(load: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        obj = load()
        _, peak = tracemalloc.get_traced_memory()
        del obj
    finally:
        tracemalloc.stop()
    return peak


# -- writing the peers' files ---------------------------------------------------------------


def write_npy_dir(graph: RoadGraph, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in ARRAYS:
        np.save(out / f"{name}.npy", getattr(graph, name))
    header = {"strings": list(graph.strings), "n_places": len(graph.places)}
    (out / "header.json").write_text(json.dumps(header))


def load_npy_dir(path: Path, mmap: bool) -> dict[str, Any]:
    mode: Literal["r"] | None = "r" if mmap else None
    arrays: dict[str, Any] = {n: np.load(path / f"{n}.npy", mmap_mode=mode) for n in ARRAYS}
    arrays["header"] = json.loads((path / "header.json").read_text())
    return arrays


def to_osmnx(graph: RoadGraph) -> Any:
    """The graph as an osmnx-style MultiDiGraph (x/y nodes; length, speed_kph, travel_time,
    highway and oneway on edges), the form osmnx's routing functions expect."""
    import networkx as nx

    g = nx.MultiDiGraph(crs="epsg:4326", name=graph.name)
    g.add_nodes_from(
        (i, {"x": x, "y": y, "street_count": int(c)})
        for i, (x, y, c) in enumerate(zip(graph.node_lon.tolist(), graph.node_lat.tolist(),
                                          np.diff(graph.edge_offsets).tolist(), strict=True))
    )
    highway = [c.name.lower() for c in RoadClass]
    src = graph.edge_source.tolist()
    g.add_edges_from(
        (u, v, {"osmid": e, "length": ln, "speed_kph": sp, "travel_time": tt,
                "highway": highway[c], "oneway": False, "reversed": False})
        for e, (u, v, ln, sp, tt, c) in enumerate(zip(
            src, graph.edge_target.tolist(), graph.edge_length_m.tolist(),
            graph.edge_speed_kmh.tolist(), graph.edge_time_s.tolist(),
            graph.edge_class.tolist(), strict=True))
    )
    return g


def prepare(name: str, graph_path: Path, cache: Path, graphml_max: int) -> dict[str, Path]:
    """Write the peers' files for the graph at ``graph_path`` (once; reused from ``cache``)."""
    files = {"load_graph": graph_path}
    pkl = cache / f"{name}.roadgraph.pkl"
    npy = cache / f"{name}.npy"
    graph: RoadGraph | None = None
    if not pkl.exists() or not npy.exists():
        graph = load_graph(graph_path)
        with pkl.open("wb") as fh:
            pickle.dump(graph, fh, protocol=pickle.HIGHEST_PROTOCOL)
        write_npy_dir(graph, npy)
    files["pickle"] = pkl
    files["npy-read"] = npy
    files["npy-mmap"] = npy
    gml = cache / f"{name}.graphml"
    nxp = cache / f"{name}.nx.pkl"
    n_nodes = int(np.load(npy / "node_lat.npy", mmap_mode="r").shape[0])
    if n_nodes <= graphml_max:
        if not gml.exists() or not nxp.exists():
            import osmnx as ox

            graph = graph or load_graph(graph_path)
            nxg = to_osmnx(graph)
            ox.save_graphml(nxg, gml)
            with nxp.open("wb") as fh:
                pickle.dump(nxg, fh, protocol=pickle.HIGHEST_PROTOCOL)
        files["osmnx-graphml"] = gml
        files["nx-pickle"] = nxp
    return files


def loaders(files: dict[str, Path]) -> dict[str, Callable[[], Any]]:
    def unpickle(p: Path) -> Callable[[], Any]:
        def run() -> Any:
            with p.open("rb") as fh:
                return pickle.load(fh)
        return run

    out: dict[str, Callable[[], Any]] = {
        "load_graph": lambda: load_graph(files["load_graph"]),
        "pickle": unpickle(files["pickle"]),
        "npy-read": lambda: load_npy_dir(files["npy-read"], mmap=False),
        "npy-mmap": lambda: load_npy_dir(files["npy-mmap"], mmap=True),
    }
    if "osmnx-graphml" in files:
        import osmnx as ox

        out["osmnx-graphml"] = lambda: ox.load_graphml(files["osmnx-graphml"])
        out["nx-pickle"] = unpickle(files["nx-pickle"])
    return out


def synthetic(n: int, cache: Path, seed: int) -> Path:
    path = cache / f"rural-{n}-seed{seed}.maegraph"
    if not path.exists():
        t0 = time.perf_counter()
        graph = rural_graph(n, seed=seed)
        t1 = time.perf_counter()
        save_graph(graph, path)
        print(f"# generated {path.name}: {graph.n_nodes} nodes, {graph.n_edges} edges in "
              f"{t1 - t0:.1f} s, saved in {time.perf_counter() - t1:.1f} s", flush=True)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=None,
                    help="directory for generated graphs and peer files (default: a new tmp dir)")
    ap.add_argument("--sizes", default="100000,1000000",
                    help="synthetic graph sizes in nodes, comma-separated")
    ap.add_argument("--seed", type=int, default=0, help="seed of the synthetic graphs")
    ap.add_argument("--repeat", type=int, default=7, help="timed runs per loader")
    ap.add_argument("--slow-repeat", type=int, default=3,
                    help="timed runs for a loader whose warm-up took over 2 s")
    ap.add_argument("--graphml-max", type=int, default=100_000,
                    help="largest graph (nodes) the slow networkx/osmnx peers run on")
    ap.add_argument("--cold", action="store_true",
                    help="drop each file from the page cache before every timed run")
    ap.add_argument("--no-memory", action="store_true", help="skip the traced-memory run")
    args = ap.parse_args(argv)
    cache = args.cache or Path(tempfile.mkdtemp(prefix="mae-bench-map-load-"))
    cache.mkdir(parents=True, exist_ok=True)
    print(f"# cache: {cache}; repeat {args.repeat}; {'cold' if args.cold else 'warm'} page cache")

    datasets: list[tuple[str, Path]] = []
    if BUNDLED.is_file():
        datasets.append(("bundled", BUNDLED))
    else:
        print(f"# {BUNDLED.relative_to(ROOT)} not built: skipping the bundled map")
    for n in (int(s) for s in args.sizes.split(",") if s.strip()):
        datasets.append((f"rural-{n}", synthetic(n, cache, args.seed)))

    rows: list[Row] = []
    for name, path in datasets:
        files = prepare(name, path, cache, args.graphml_max)
        g = load_graph(path)
        print(f"# {name}: {g.n_nodes:,} nodes, {g.n_edges:,} edges, "
              f"{len(g.geom_lat):,} shape points", flush=True)
        del g
        for method, load in loaders(files).items():
            times = _time(load, files[method], args.repeat, args.cold, args.slow_repeat)
            peak = 0 if args.no_memory else _peak(load)
            rows.append(Row(name, method, times, _size(files[method]), peak))
            print(f"#   {method}: median {statistics.median(times):.3f} s", flush=True)

    print()
    head = (f"{'dataset':<16} {'method':<14} {'median s':>9} {'p95 s':>8} {'x ours':>7} "
            f"{'file MB':>8} {'peak MB':>8}")
    print(head)
    print("-" * len(head))
    verdicts = []
    for name, _ in datasets:
        ours = statistics.median(next(r.times for r in rows
                                      if r.dataset == name and r.method == "load_graph"))
        for r in (r for r in rows if r.dataset == name):
            med = statistics.median(r.times)
            p95 = float(np.percentile(r.times, 95))
            peak_mb = "-" if args.no_memory else f"{r.peak_bytes / 1e6:.1f}"
            print(f"{name:<16} {r.method:<14} {med:>9.4f} {p95:>8.4f} {med / ours:>7.2f} "
                  f"{r.size_bytes / 1e6:>8.1f} {peak_mb:>8}")
        if name in TARGET_S:
            ok = "meets" if ours < TARGET_S[name] else "MISSES"
            verdicts.append(f"{name}: load_graph median {ours:.3f} s {ok} the "
                            f"{TARGET_S[name]:.0f} s target")
    print()
    for v in verdicts:
        print(v)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
