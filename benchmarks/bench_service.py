"""The dispatch service over real sockets: alarm latency and broadcast throughput vs a bare server.

Starts ``mae serve`` in a subprocess on a fresh SQLite file with 20 units spread over the
bundled map (registered through ``DispatchService.execute``, the service's own write path;
shifts started over ``/ws/crew``), and beside it ``_bare_broadcast.py``, a FastAPI WebSocket
broadcast server with nothing else in it, as the ceiling. Both run with permessage-deflate off
(our default) and on. Measures:

- latency: an agency socket sends one alarm at a time at a random place; a dispatcher socket
  waits for its ``AlarmReceived`` event and asks for a recommendation (then cancels the callout,
  untimed). p50/p99 of alarm sent -> ``alarm_ack`` and alarm sent -> recommendation received
  (bare: publish -> broadcast copy);
- throughput: 50 dispatcher sockets (in subscriber processes) receive every event while agency
  sockets push alarms, or crew sockets push positions, each as fast as its replies come back;
  rate = events received by all 50 / (last receipt - first send). The bare server gets the same
  messages (the real event texts) from as many publishers.

    .venv/bin/python benchmarks/bench_service.py [--quick] [--rounds 4] [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _ws_load import (
    Sender,
    Subscribers,
    closed_loop,
    free_port,
    log_floor,
    open_socket,
    percentile,
    ready,
    request,
    start_server,
    throughput,
)

from dispatch.commands import RegisterUnit
from dispatch.model import Location
from maps.bundled import load_bundled
from maps.graph import Place
from web.auth import PrincipalStore
from web.eventstore import SqliteEventStore
from web.service import DispatchService

ROOT = Path(__file__).resolve().parents[1]
SERVER_TREE = ROOT  # the code `mae serve` runs from (--server-ref: another commit's tree)
AGENCIES = ("police", "ambulance", "psychiatry", "other")
CATEGORIES = ("suicide_risk", "psychosis", "agitation_violence_risk", "intoxication_psychiatric",
              "worried_relative", "other")


def spread_places(n: int) -> list[Place]:
    """``n`` localities of the bundled map, each as far as possible from those already taken."""
    towns = [p for p in load_bundled().places if p.kind == "locality"]
    chosen = [max(towns, key=lambda p: p.population)]

    def km(a: Place, b: Place) -> float:
        x = math.radians(b.lon - a.lon) * math.cos(math.radians((a.lat + b.lat) / 2))
        return 6371 * math.hypot(x, math.radians(b.lat - a.lat))

    while len(chosen) < n:
        chosen.append(max((p for p in towns if p not in chosen),
                          key=lambda p: min(km(p, c) for c in chosen)))
    return chosen


def seed(db: Path, bases: list[Place]) -> dict[str, str]:
    """Tokens for the bench's principals and the units registered, in a fresh database."""
    store = PrincipalStore(db)
    tokens = {"dispatcher": store.create(role="dispatcher", name="bench dispatcher")[1]}
    for agency in AGENCIES:
        tokens[agency] = store.create(role="agency", agency=agency, name=f"bench {agency}")[1]
    for i in range(len(bases)):
        unit = f"U{i + 1:02d}"
        tokens[unit] = store.create(role="crew", unit_id=unit, name=f"bench crew {unit}")[1]
    store.close()

    async def register() -> None:
        events = SqliteEventStore(db)
        service = DispatchService(events, graph=load_bundled())
        service.load()
        for i, p in enumerate(bases):
            await service.execute(RegisterUnit(f"U{i + 1:02d}", f"MAE {p.name}", p.name,
                                               Location(p.lat, p.lon, label=p.name)),
                                  actor="bench")
        service.close()
        events.close()

    asyncio.run(register())
    return tokens


def near(p: Place, rng: random.Random, km: float = 2.0) -> dict[str, float]:
    """A random point within about ``km`` of ``p``."""
    d = km / 111.0
    return {"lat": round(p.lat + rng.uniform(-d, d), 5),
            "lon": round(p.lon + rng.uniform(-d, d) / math.cos(math.radians(p.lat)), 5)}


def alarm(ref: str, rng: random.Random, towns: list[Place]) -> dict[str, Any]:
    return {"type": "alarm", "reference": ref, "priority": rng.randint(1, 3),
            "category": rng.choice(CATEGORIES), "location": near(rng.choice(towns), rng),
            "note": "Benchmark alarm, no patient: synthetic text of a typical length."}


def _is_alarm(ref: str, event: dict[str, Any]) -> bool:
    return bool(event["alarm"]["reference"] == ref)


async def until_position(ws: Any, unit_id: str) -> str:
    """The text that told dispatchers of ``unit_id``'s position: a ``unit_position`` message
    (positions are kept out of the event log since issue 12) or, from older servers, the
    ``UnitPositionReported`` event."""
    while True:
        text = await ws.recv()
        msg = json.loads(text)
        if msg.get("type") == "unit_position" and msg["unit_id"] == unit_id:
            return str(text)
        if msg.get("type") == "event" and msg["event"]["type"] == "UnitPositionReported" \
                and msg["event"]["unit_id"] == unit_id:
            return str(text)


async def until_event(ws: Any, kind: str, pred: Callable[[dict[str, Any]], bool]
                      ) -> tuple[dict[str, Any], str]:
    while True:
        text = await ws.recv()
        msg = json.loads(text)
        if msg.get("type") == "event" and msg["event"]["type"] == kind and pred(msg["event"]):
            return msg, text


# -- the two servers ----------------------------------------------------------------------------


class Ours:
    """``mae serve`` with 20 units on shift; ``payloads`` are real event texts for the bare run."""

    def __init__(self, tmp: Path, deflate: bool, bases: list[Place], profile: Path | None):
        self.deflate = deflate
        self.db = tmp / f"ours-{deflate}-{time.monotonic_ns()}.sqlite3"
        self.tokens = seed(self.db, bases)
        self.bases = bases
        port = free_port()
        run = ["-m", "cProfile", "-o", str(profile / f"ours-deflate-{deflate}.prof")] \
            if profile else []
        argv = [sys.executable, *run, "-m", "mae.cli", "serve", "--database", str(self.db),
                "--port", str(port)] + (["--permessage-deflate"] if deflate else [])
        # positions as logged events, as this benchmark measures the fan-out of events
        # (bench_writes.py measures the position table against this)
        self.server = start_server(argv, port=port, health="/api/health",
                                   log=self.db.with_suffix(".log"), cwd=SERVER_TREE,
                                   env={"PYTHONPATH": str(SERVER_TREE),
                                        "MAE_POSITIONS_TABLE": "false"})
        self.payloads: dict[str, str] = {}

    def url(self, path: str, who: str) -> str:
        return f"{self.server.ws}{path}#bearer={self.tokens[who]}"  # see _ws_load.open_socket

    def seq(self) -> int:
        return int(self.health()["seq"])

    def health(self) -> dict[str, Any]:
        reply: dict[str, Any] = httpx.get(self.server.base + "/api/health", timeout=10).json()
        return reply

    async def latency(self, n: int, rng: random.Random) -> dict[str, list[float]]:
        disp = await open_socket(self.url("/ws/dispatch", "dispatcher"))
        await ready(disp)
        assert bool(disp.protocol.extensions) is self.deflate, "deflate not as configured"
        for i, p in enumerate(self.bases):  # shifts, and one position each, over /ws/crew
            crew = await open_socket(self.url("/ws/crew", f"U{i + 1:02d}"))
            await ready(crew)
            assert (await request(crew, {"type": "shift_start", "crew": ["A", "B"],
                                         "hours": 12}, "s"))["type"] == "ok"
            assert (await request(crew, {"type": "position", **near(p, rng)}, "p"))["type"] \
                == "ok"
            await crew.close()
        self.payloads["position"] = await until_position(disp, f"U{len(self.bases):02d}")
        agency = await open_socket(self.url("/ws/agency", "police"))
        await ready(agency)
        towns = [q for q in load_bundled().places if q.kind == "locality"]
        out: dict[str, list[float]] = {"ack": [], "event": [], "rec": []}
        for i in range(n + 10):  # 10 warm-up alarms
            ref = f"L{i}"

            async def acked(ref: str = ref) -> float:
                assert (await request(agency, alarm(ref, rng, towns), ref))["type"] == "alarm_ack"
                return time.monotonic()

            t0 = time.monotonic()
            ack = asyncio.create_task(acked())
            msg, self.payloads["alarm"] = await until_event(
                disp, "AlarmReceived", partial(_is_alarm, ref))
            t_event = time.monotonic()
            rec = await request(disp, {"type": "recommend",
                                       "callout_id": msg["event"]["callout_id"]}, f"r{i}")
            t_rec = time.monotonic()
            t_ack = await ack
            assert len(rec["options"]) == len(self.bases), rec
            cancel = {"type": "cancel", "callout_id": msg["event"]["callout_id"]}
            await request(disp, cancel, f"c{i}")  # handled: open callouts stay few
            if i >= 10:
                out["ack"].append(t_ack - t0)
                out["event"].append(t_event - t0)
                out["rec"].append(t_rec - t0)
        await agency.close()
        await disp.close()
        return out

    def subscriber_url(self) -> str:
        return self.url("/ws/dispatch?batch=1", "dispatcher")  # as the pages ask

    def workloads(self, rng: random.Random, alarm_senders: int) -> dict[str, tuple[int, Sender]]:
        towns = [q for q in load_bundled().places if q.kind == "locality"]
        stamp = time.monotonic_ns()

        async def alarms(ws: Any, k: int, i: int) -> None:
            ref = f"T{stamp}-{k}-{i}"
            await request(ws, alarm(ref, rng, towns), ref)

        async def positions(ws: Any, k: int, i: int) -> None:
            await request(ws, {"type": "position", **near(self.bases[k], rng)}, f"p{i}")

        agency = [self.url("/ws/agency", AGENCIES[k % 4]) for k in range(alarm_senders)]
        crew = [self.url("/ws/crew", f"U{k + 1:02d}") for k in range(len(self.bases))]
        return {"alarm": (alarm_senders, closed_loop(agency, alarms)),
                "position": (len(crew), closed_loop(crew, positions))}


class Bare:
    """``_bare_broadcast.py``: publishes the texts ``payloads`` names to every subscriber."""

    def __init__(self, deflate: bool, payloads: dict[str, str], log: Path):
        self.deflate = deflate
        port = free_port()
        argv = [sys.executable, str(ROOT / "benchmarks" / "_bare_broadcast.py"), "--port",
                str(port)] + (["--permessage-deflate"] if deflate else [])
        self.server = start_server(argv, port=port, health="/health", log=log, cwd=ROOT)
        self.payloads = payloads

    def seq(self) -> int:
        return int(self.health()["published"])

    def health(self) -> dict[str, Any]:
        reply: dict[str, Any] = httpx.get(self.server.base + "/health", timeout=10).json()
        return reply

    async def latency(self, n: int, rng: random.Random) -> dict[str, list[float]]:
        sub = await open_socket(self.server.ws + "/ws/sub")
        await ready(sub)
        assert bool(sub.protocol.extensions) is self.deflate, "deflate not as configured"
        pub = await open_socket(self.server.ws + "/ws/pub")
        out: dict[str, list[float]] = {"ack": [], "event": [], "rec": []}
        for i in range(n + 10):
            t0 = time.monotonic()
            await pub.send(self.payloads["alarm"])
            await sub.recv()
            t_event = time.monotonic()
            await pub.recv()
            if i >= 10:
                out["ack"].append(time.monotonic() - t0)
                out["event"].append(t_event - t0)
        await pub.close()
        await sub.close()
        return out

    def subscriber_url(self) -> str:
        return f"{self.server.ws}/ws/sub"

    def workloads(self, rng: random.Random, alarm_senders: int) -> dict[str, tuple[int, Sender]]:
        def publish(kind: str) -> Callable[[Any, int, int], Awaitable[None]]:
            async def one(ws: Any, k: int, i: int) -> None:
                await ws.send(self.payloads[kind])
                await ws.recv()
            return one

        def senders(n: int, kind: str) -> Sender:
            return closed_loop([self.server.ws + "/ws/pub"] * n, publish(kind), wait_ready=False)

        return {"alarm": (alarm_senders, senders(alarm_senders, "alarm")),
                "position": (20, senders(20, "position"))}


def export_tree(ref: str, into: Path) -> Path:
    """The files of git commit ``ref`` in directory ``into``."""
    into.mkdir()
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def run_one(target: Ours | Bare, args: argparse.Namespace, rng: random.Random
            ) -> dict[str, Any]:
    try:
        result: dict[str, Any] = {"latency": asyncio.run(target.latency(args.samples, rng))}
        subs = Subscribers(target.subscriber_url(), args.subscribers, args.processes)
        try:
            for kind, (n, senders) in target.workloads(rng, args.alarm_senders).items():
                result[kind] = throughput(target, subs, args.subscribers, senders,
                                          args.duration)
                result[kind]["senders"] = n
        finally:
            subs.close()
        return result
    finally:
        target.server.stop()


def report(runs: dict[tuple[str, str], list[dict[str, Any]]], args: argparse.Namespace,
           sizes: dict[str, int], floors: list[tuple[float, float]], load: list[float]) -> None:
    tree = f"server from {args.server_ref}; " if args.server_ref else ""
    print(f"{tree}bundled map, 20 units; {args.samples} alarms for latency; {args.subscribers} "
          f"subscribers in {args.processes} processes; {args.duration:.0f} s per throughput "
          f"run; {args.rounds} round(s); event texts: alarm {sizes['alarm']} B, "
          f"position {sizes['position']} B; load average {min(load):.1f}-{max(load):.1f} "
          f"on {os.cpu_count()} cores")
    head = (f"{'deflate':<7} {'server':<6} {'ack p50':>8} {'ack p99':>8} {'event p50':>9} "
            f"{'rec p50':>8} {'rec p99':>8}")
    print(f"\nlatency, ms, {args.samples * args.rounds} samples (bare: publish -> broadcast "
          "copy as 'event', -> publisher ack as 'ack')")
    print(head + "\n" + "-" * len(head))
    for (deflate, name), rs in runs.items():
        def ms(key: str, q: float, rs: list[dict[str, Any]] = rs) -> str:
            pooled = [v for r in rs for v in r["latency"][key]]  # all rounds' samples
            return f"{percentile(pooled, q) * 1000:.2f}" if pooled else "-"
        print(f"{deflate:<7} {name:<6} {ms('ack', 50):>8} {ms('ack', 99):>8} "
              f"{ms('event', 50):>9} {ms('rec', 50):>8} {ms('rec', 99):>8}")
    head = (f"{'deflate':<7} {'workload':<8} {'server':<6} {'senders':>7} {'sent/s':>8} "
            f"{'deliv/s':>8} {'range':>13} {'lag s':>6} {'srv cpu':>7} {'ms/ev':>6} "
            f"{'cli cpu':>7} {'ev/fr':>5} {'x bare':>6} {'ok':>3}")
    print("\nthroughput: events/s delivered to every subscriber, median of rounds (cpu: cores "
          "busy; ms/ev: server CPU ms per event; ev/fr: events per frame, >1 when batched)")
    print(head + "\n" + "-" * len(head))
    med = {(deflate, kind, name): {k: statistics.median(r[kind][k] for r in rs)
                                   for k in rs[0][kind]}
           for kind in ("alarm", "position") for (deflate, name), rs in runs.items()}
    for kind in ("alarm", "position"):
        for (deflate, name), rs in runs.items():
            m, bare = med[(deflate, kind, name)], med.get((deflate, kind, "bare"))
            ratio = f"{m['rate'] / bare['rate']:.2f}" if bare else "-"
            rates = [r[kind]["rate"] for r in rs]
            ok = "yes" if all(r[kind]["complete"] for r in rs) else "NO"
            print(f"{deflate:<7} {kind:<8} {name:<6} {m['senders']:>7.0f} {m['sent_rate']:>8.0f} "
                  f"{m['rate']:>8.0f} {f'{min(rates):.0f}-{max(rates):.0f}':>13} "
                  f"{m['lag']:>6.2f} {m['server_cpu']:>7.2f} {m['cpu_ms']:>6.2f} "
                  f"{m['client_cpu']:>7.2f} {m['per_frame']:>5.1f} "
                  f"{ratio:>6} {ok:>3}")
    opened = [r["alarm"]["open"] for (_, name), rs in runs.items() if name == "ours" for r in rs]
    print(f"ours: {min(opened):.0f}-{max(opened):.0f} open callouts at the end of an alarm run")
    print(f"durable log alone (SqliteEventStore.append, one event per commit): "
          f"{statistics.median(f[0] for f in floors):.0f} appends/s, "
          f"p50 {statistics.median(f[1] for f in floors) * 1000:.2f} ms")
    for kind in ("alarm", "position"):
        for name in ("ours", "bare"):
            off, on = med.get(("off", kind, name)), med.get(("on", kind, name))
            if off and on:
                print(f"deflate cost, {kind:<8} {name}: throughput off/on "
                      f"{off['rate'] / on['rate']:.2f}x, server CPU per event on/off "
                      f"{on['cpu_ms'] / off['cpu_ms']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200,
                        help="alarms timed for latency per round")
    parser.add_argument("--duration", type=float, default=6.0,
                        help="seconds of sending per throughput run")
    parser.add_argument("--subscribers", type=int, default=50, help="dispatcher sockets")
    parser.add_argument("--processes", type=int, default=2,
                        help="processes the subscriber sockets are spread over")
    parser.add_argument("--alarm-senders", type=int, default=4,
                        help="agency sockets pushing alarms at once")
    parser.add_argument("--rounds", type=int, default=4,
                        help="repeat every run; latency pooled, throughput medians")
    parser.add_argument("--deflate", choices=("both", "off", "on"), default="both")
    parser.add_argument("--quick", action="store_true",
                        help="short run: 50 samples, 3 s, one round")
    parser.add_argument("--profile", type=Path, default=None,
                        help="run our server under cProfile, writing DIR/ours-*.prof")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--server-ref", default=None,
                        help="run our server from this git commit's tree (exported with git "
                        "archive), to compare code versions with the same script")
    args = parser.parse_args()
    if args.quick:
        args.samples, args.duration, args.rounds = 50, 3.0, 1
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    bases = spread_places(20)
    modes = ("off", "on") if args.deflate == "both" else (args.deflate,)
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    sizes: dict[str, int] = {}
    floors: list[tuple[float, float]] = []
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="mae-bench-service-") as name:
        tmp = Path(name)
        if args.server_ref:
            global SERVER_TREE
            SERVER_TREE = export_tree(args.server_ref, tmp / "tree")
        for r in range(args.rounds):
            floors.append(log_floor(tmp, 2.0))
            for mode in modes:
                ours = Ours(tmp, mode == "on", bases, args.profile)
                runs.setdefault((mode, "ours"), []).append(run_one(ours, args, rng))
                sizes = {k: len(v.encode()) for k, v in ours.payloads.items()}
                bare = Bare(mode == "on", ours.payloads, tmp / f"bare-{mode}-{r}.log")
                runs.setdefault((mode, "bare"), []).append(run_one(bare, args, rng))
                load.append(os.getloadavg()[0])
                print(f"round {r + 1}/{args.rounds}, deflate {mode}: done", file=sys.stderr)
    report(runs, args, sizes, floors, load)


if __name__ == "__main__":
    main()
