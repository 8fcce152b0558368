"""Event-loop stall while routing is prepared: the old way (a contraction hierarchy built on the
loop by the first rush-hour question) against the service's way (every situation prepared in a
worker thread, questions answered meanwhile by plain Dijkstra in a worker thread), and an idle
loop as the floor.

A ping task is due every ``--ping-ms`` on the loop; each due ping that fires late counts its
lateness (a blocked loop makes every ping due during the block late, not just one). In each
mode the loop also answers one ETA question (20 units to a callout) every 100 ms, as a
dispatcher's recommendations would. Each mode starts from a fresh engine on the same graph
with the off-peak hierarchy already built (the service's start), so what is measured is the
preparation of the other situations (rush hour gets a hierarchy of its own).

    .venv/bin/python benchmarks/bench_routing_prepare.py [--nodes 100000]

Prints one table: ping lateness p50 / p99 / max in ms, each p99 also as a ratio to the idle
loop's, and how many ETA questions were answered in the window and their median time. Never
collected by pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maps.graph import RoadGraph  # noqa: E402
from maps.synthetic import rural_graph  # noqa: E402
from routing.engine import TravelTimes  # noqa: E402
from routing.errors import SnapError  # noqa: E402
from routing.snap import SnappedPoint  # noqa: E402

NOON = datetime(2026, 1, 14, 12, 0, tzinfo=UTC)  # a Wednesday, off-peak
RUSH = datetime(2026, 1, 14, 16, 0, tzinfo=UTC)


def points(tt: TravelTimes, k: int, seed: int = 0) -> list[SnappedPoint]:
    rng = np.random.default_rng(seed)
    g = tt.graph
    out: list[SnappedPoint] = []
    while len(out) < k:
        node = int(rng.integers(g.n_nodes))
        try:
            out.append(tt.snap(float(g.node_lat[node]), float(g.node_lon[node])))
        except SnapError:
            continue
    return out


async def measure(work: Callable[[], Awaitable[None]], ping_s: float) -> list[float]:
    """Ping lateness (s) of every ping due while ``work`` runs on this loop."""
    late: list[float] = []
    done = asyncio.Event()

    async def ping() -> None:
        due = time.perf_counter() + ping_s
        while not done.is_set():
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            now = time.perf_counter()
            while due <= now:
                late.append(now - due)
                due += ping_s

    pinger = asyncio.create_task(ping())
    await asyncio.sleep(2 * ping_s)  # the pinger is running before the work starts
    try:
        await work()
        await asyncio.sleep(2 * ping_s)  # and counts the pings the work held up
    finally:
        done.set()
        await pinger
    return late


def fresh(graph: RoadGraph, *, fallback: bool) -> TravelTimes:
    """An engine as the service starts it: the off-peak hierarchy built."""
    tt = TravelTimes(graph, at=NOON, fallback=fallback)
    tt.prepare()
    return tt


async def questions(tt: TravelTimes, pts: list[SnappedPoint], until: Callable[[], bool],
                    answered: list[float]) -> None:
    """One ETA question (20 units to a callout, a new callout each time) every 100 ms in rush
    hour until ``until()``; off the loop while its situation is not prepared."""
    i = 0
    while not until():
        view = tt.situation(at=RUSH)
        t0 = time.perf_counter()
        if view.ready:
            view.etas_to(pts[i % len(pts)], pts[20:40])
        else:  # plain search meanwhile, in a worker thread (as DispatchService.advise does)
            await asyncio.to_thread(view.etas_to, pts[i % len(pts)], pts[20:40])
        answered.append(time.perf_counter() - t0)
        i += 1
        await asyncio.sleep(0.1)


Row = tuple[str, list[float], list[float], float]


async def run(graph: RoadGraph, ping_s: float, idle_s: float) -> list[Row]:
    rows: list[Row] = []

    async def idle() -> None:
        await asyncio.sleep(idle_s)

    rows.append(("idle loop", await measure(idle, ping_s), [], idle_s))

    old = fresh(graph, fallback=False)
    pts = points(old, 60)
    answered: list[float] = []

    async def on_loop() -> None:  # the first rush-hour question builds its hierarchy here
        view = old.situation(at=RUSH)
        t0 = time.perf_counter()
        view.etas_to(pts[0], pts[20:40])
        answered.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    rows.append(("before: built on the loop", await measure(on_loop, ping_s), answered,
                 time.perf_counter() - t0))

    new = fresh(graph, fallback=True)
    answered = []
    finished = threading.Event()

    def prepare_all() -> None:
        for view in new.situations(around=NOON):
            view.prepare()
        finished.set()

    async def in_thread() -> None:
        worker = threading.Thread(target=prepare_all, daemon=True)
        worker.start()
        await questions(new, pts, finished.is_set, answered)
        worker.join()

    t0 = time.perf_counter()
    rows.append(("after: worker thread + fallback", await measure(in_thread, ping_s),
                 answered, time.perf_counter() - t0))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000, help="rural graph size")
    parser.add_argument("--ping-ms", type=float, default=10.0, help="ping interval")
    parser.add_argument("--idle-s", type=float, default=5.0, help="idle baseline length")
    args = parser.parse_args()
    graph = rural_graph(args.nodes, seed=0)
    print(f"graph: rural {graph.n_nodes} nodes, {graph.n_edges} edges; ping every "
          f"{args.ping_ms:g} ms")
    rows = asyncio.run(run(graph, args.ping_ms / 1000.0, args.idle_s))
    base = max(1e-6, float(np.percentile(rows[0][1], 99)))
    print(f"{'mode':34} {'window s':>8} {'pings':>6} {'p50 ms':>8} {'p99 ms':>9} "
          f"{'max ms':>9} {'p99 x idle':>10} {'asked':>5} {'ask p50 ms':>10}")
    print("-" * 108)
    for name, late, asked, window in rows:
        p50 = statistics.median(late) * 1000
        p99 = float(np.percentile(late, 99)) * 1000
        ask = f"{statistics.median(asked) * 1000:10.1f}" if asked else f"{'-':>10}"
        print(f"{name:34} {window:8.1f} {len(late):6d} {p50:8.2f} {p99:9.2f} "
              f"{max(late) * 1000:9.1f} {p99 / (base * 1000):10.1f} {len(asked):5d} {ask}")


if __name__ == "__main__":
    main()
