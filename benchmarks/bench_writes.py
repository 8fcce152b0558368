"""The write path under a county's crews: 1,000 crews each sending a position every 5 s, plus 20
dispatchers watching (and alarms arriving), before and after group commit and the position table.

Both configurations run in the same run, on copies of one seeded database (1,000 units, their
crew tokens, 20 dispatcher tokens), as ``mae serve`` subprocesses:

- ``before``: ``MAE_GROUP_COMMIT=false MAE_POSITIONS_TABLE=false MAE_WRITE_QUEUE_SIZE=100000``:
  every position is a logged event with its own fsync and the queue is unbounded (as on main
  before issue 12);
- ``after``: the defaults: group commit, a bounded queue, positions rate-limited and kept in
  their own table (``web/positions.py``).

The crews' sockets live in this process (open loop: each sends on its own 5 s beat from a
random phase, whether or not earlier replies came back); the 20 dispatcher sockets live in
subscriber processes and count what they receive; a police socket sends an alarm every 2 s
(a command through the writer beside the positions). Columns: crew reply p50/p99/max (send ->
reply with that id), crew replies/s, alarm ack p50/p99, replies refused (503), unanswered
when the run ends, dispatcher messages/s (per dispatcher), server CPU (cores), and the p99 as a
ratio of ``after``'s.

    .venv/bin/python benchmarks/bench_writes.py [--crews 1000] [--seconds 40] [--cache DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _ws_load import Subscribers, free_port, open_socket, percentile, ready, start_server

from dispatch.commands import RegisterUnit
from dispatch.model import Location
from maps.bundled import load_bundled
from web.auth import PrincipalStore
from web.eventstore import SqliteEventStore
from web.service import DispatchService

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {
    "before": {"MAE_GROUP_COMMIT": "false", "MAE_POSITIONS_TABLE": "false",
               "MAE_WRITE_QUEUE_SIZE": "100000"},
    "after": {},
}


def seed(db: Path, crews: int, dispatchers: int) -> dict[str, Any]:
    """A database with ``crews`` units near the bundled map's towns and their tokens."""
    towns = [p for p in load_bundled().places if p.kind == "locality"]
    rng = random.Random(7)
    homes = []
    for i in range(crews):
        town = towns[i % len(towns)]
        homes.append((round(town.lat + rng.uniform(-0.01, 0.01), 5),
                      round(town.lon + rng.uniform(-0.02, 0.02), 5)))
    store = PrincipalStore(db)
    tokens = {"police": store.create(role="agency", agency="police", name="bench police")[1]}
    for d in range(dispatchers):
        tokens[f"D{d}"] = store.create(role="dispatcher", name=f"bench dispatcher {d}")[1]
    for i in range(crews):
        tokens[f"U{i:04d}"] = store.create(role="crew", unit_id=f"U{i:04d}",
                                           name=f"bench crew {i}")[1]
    store.close()

    async def register() -> None:
        events = SqliteEventStore(db)
        service = DispatchService(events, graph=load_bundled())
        service.load()
        await asyncio.gather(*(service.execute(
            RegisterUnit(f"U{i:04d}", f"MAE {i}", "bench", Location(lat, lon)), actor="bench")
            for i, (lat, lon) in enumerate(homes)))
        service.close()
        events.close()

    asyncio.run(register())
    return {"tokens": tokens, "homes": homes}


async def crews_run(ws_base: str, seeded: dict[str, Any], crews: int, seconds: float,
                    every_s: float, debug: bool = False) -> dict[str, Any]:
    """Open every crew socket, then let each report on its own beat for ``seconds``."""
    tokens, homes = seeded["tokens"], seeded["homes"]
    gate = asyncio.Semaphore(50)

    async def open_one(i: int) -> Any:
        async with gate:
            ws = await open_socket(f"{ws_base}/ws/crew?token={tokens[f'U{i:04d}']}")
            await ready(ws)
            return ws

    sockets = await asyncio.gather(*(open_one(i) for i in range(crews)))
    gc.collect()
    gc.freeze()  # the 1,000 sockets' objects: a full collection of them paused this client
    pauses: list[float] = []
    started: list[float] = []

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            pauses.append(time.perf_counter() - started.pop())

    gc.callbacks.append(on_gc)
    latencies: list[float] = []
    timeline: list[tuple[float, float]] = []
    refused = [0]
    sent = [0]
    pending: dict[str, float] = {}
    rng = random.Random(11)
    t0 = time.monotonic()
    deadline = t0 + seconds

    async def reader(ws: Any) -> None:
        async for text in ws:
            msg = json.loads(text)
            rid = msg.get("id")
            if rid in pending:
                sent_at = pending.pop(rid)
                latencies.append(time.monotonic() - sent_at)
                timeline.append((sent_at - t0, latencies[-1]))
                if msg.get("type") == "error":
                    refused[0] += 1

    async def beat(i: int, ws: Any) -> None:
        await asyncio.sleep(rng.uniform(0, every_s))
        lat, lon = homes[i]
        n = 0
        while time.monotonic() < deadline:
            rid = f"{i}-{n}"
            pending[rid] = time.monotonic()
            step = 0.0005 * n
            await ws.send(json.dumps({"type": "position", "lat": round(lat + step, 6),
                                      "lon": round(lon + step, 6), "id": rid}))
            sent[0] += 1
            n += 1
            await asyncio.sleep(every_s)

    readers = [asyncio.create_task(reader(ws)) for ws in sockets]
    await asyncio.gather(*(beat(i, ws) for i, ws in enumerate(sockets)))
    end = time.monotonic()
    wait_until = end + 30
    while pending and time.monotonic() < wait_until:
        await asyncio.sleep(0.1)
    for task in readers:
        task.cancel()
    for ws in sockets:
        await ws.close()
    gc.callbacks.remove(on_gc)
    if debug:
        print(f"  client GC pauses: {len(pauses)}, longest {max(pauses, default=0) * 1e3:.1f} ms",
              file=sys.stderr)
        for w in range(0, int(seconds), 5):
            window = [lat for at, lat in timeline if w <= at < w + 5]
            if window:
                print(f"  {w:>3}-{w + 5:<3}s n={len(window):<5} "
                      f"p50={percentile(window, 50) * 1e3:7.1f} "
                      f"p99={percentile(window, 99) * 1e3:7.1f} ms", file=sys.stderr)
    return {"latencies": latencies, "sent": sent[0], "refused": refused[0],
            "unanswered": len(pending), "span": end - t0}


async def alarms_run(ws_base: str, token: str, seconds: float, every_s: float,
                     tag: str) -> list[float]:
    """One alarm every ``every_s``: ack latencies."""
    ws = await open_socket(f"{ws_base}/ws/agency?token={token}")
    await ready(ws)
    out: list[float] = []
    pending: dict[str, float] = {}

    async def reader() -> None:
        async for text in ws:
            msg = json.loads(text)
            if msg.get("id") in pending:
                out.append(time.monotonic() - pending.pop(msg["id"]))

    task = asyncio.create_task(reader())
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        rid = f"{tag}-{i}"
        pending[rid] = time.monotonic()
        await ws.send(json.dumps({"type": "alarm", "reference": rid, "priority": 3,
                                  "category": "worried_relative", "id": rid,
                                  "location": {"lat": 65.584, "lon": 22.154}}))
        i += 1
        await asyncio.sleep(every_s)
    wait_until = time.monotonic() + 30
    while pending and time.monotonic() < wait_until:
        await asyncio.sleep(0.1)
    task.cancel()
    await ws.close()
    return out


def run_config(name: str, template: Path, seeded: dict[str, Any], tmp: Path,
               args: argparse.Namespace) -> dict[str, float]:
    db = tmp / f"{name}-{time.monotonic_ns()}.sqlite3"
    shutil.copy(template, db)
    port = free_port()
    server = start_server([sys.executable, "-m", "mae.cli", "serve", "--database", str(db),
                           "--port", str(port)], port=port, health="/api/health",
                          log=db.with_suffix(".log"), cwd=ROOT, env=CONFIGS[name])
    tokens = seeded["tokens"]
    subs = Subscribers(f"{server.ws}/ws/dispatch?token={tokens['D0']}", args.dispatchers, 2)
    try:
        got0, cpu0 = subs.received, server.cpu()

        async def both() -> tuple[dict[str, Any], list[float]]:
            crews = asyncio.create_task(crews_run(server.ws, seeded, args.crews, args.seconds,
                                                  args.every, args.windows))
            await asyncio.sleep(5)  # the crews' sockets open first
            alarms = await alarms_run(server.ws, tokens["police"], args.seconds, 2.0, name)
            return await crews, alarms

        t0 = time.monotonic()
        crew, alarms = asyncio.run(both())
        span = time.monotonic() - t0
        lat = crew["latencies"]
        health = httpx.get(server.base + "/api/health", timeout=10).json()
        return {"p50": percentile(lat, 50), "p99": percentile(lat, 99), "max": max(lat),
                "rate": len(lat) / crew["span"], "sent": crew["sent"],
                "ack50": percentile(alarms, 50) if alarms else math.nan,
                "ack99": percentile(alarms, 99) if alarms else math.nan,
                "refused": crew["refused"], "unanswered": crew["unanswered"],
                "disp_rate": (subs.received - got0) / args.dispatchers / span,
                "cpu": (server.cpu() - cpu0) / span, "seq": float(health["seq"])}
    finally:
        subs.close()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crews", type=int, default=1000)
    parser.add_argument("--dispatchers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=40.0, help="length of each run")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between a crew's "
                        "positions")
    parser.add_argument("--only", choices=sorted(CONFIGS), default=None,
                        help="run one configuration (no comparison)")
    parser.add_argument("--windows", action="store_true",
                        help="also print the crews' p50/p99 per 5 s window (stderr)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="keep the seeded database here between runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        cache = args.cache or tmp
        cache.mkdir(parents=True, exist_ok=True)
        template = cache / f"writes-{args.crews}-{args.dispatchers}.sqlite3"
        meta = template.with_suffix(".json")
        if template.exists() and meta.exists():
            seeded = json.loads(meta.read_text())
        else:
            t = time.monotonic()
            template.unlink(missing_ok=True)
            seeded = seed(template, args.crews, args.dispatchers)
            meta.write_text(json.dumps(seeded))
            print(f"seeded {args.crews} units and tokens in {time.monotonic() - t:.1f} s")
        names = [args.only] if args.only else list(CONFIGS)
        results = {name: run_config(name, template, seeded, tmp, args) for name in names}
    print(f"{args.crews} crews, a position every {args.every:g} s each "
          f"({args.crews / args.every:.0f}/s offered), {args.dispatchers} dispatchers, "
          f"an alarm every 2 s; {args.seconds:g} s per run")
    head = (f"{'config':<8}{'crew p50 ms':>12}{'p99 ms':>9}{'max ms':>9}{'x after':>8}"
            f"{'replies/s':>10}{'ack p50':>8}{'ack p99':>8}{'503':>6}{'lost':>6}"
            f"{'disp msg/s':>11}{'cpu':>6}{'log seq':>9}")
    print(head)
    print("-" * len(head))
    base = results.get("after", next(iter(results.values())))["p99"]
    for name, r in results.items():
        print(f"{name:<8}{r['p50'] * 1000:>12.1f}{r['p99'] * 1000:>9.1f}{r['max'] * 1000:>9.0f}"
              f"{r['p99'] / base:>8.1f}{r['rate']:>10.1f}{r['ack50'] * 1000:>8.0f}"
              f"{r['ack99'] * 1000:>8.0f}{r['refused']:>6.0f}{r['unanswered']:>6.0f}"
              f"{r['disp_rate']:>11.1f}{r['cpu']:>6.2f}{r['seq']:>9.0f}")


if __name__ == "__main__":
    main()
