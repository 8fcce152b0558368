"""End-to-end re-plan latency through the running service (issue 14), beside its parts.

Starts the real service (``create_app`` under uvicorn in a thread, a fresh SQLite file, the
bundled map and region with its demo units on shift, the wall clock) and books ``--visits``
follow-up visits over REST around Luleå, Boden, Piteå, Kalix and Älvsbyn with windows in the
rest of today. Once the day plan is made, each round raises a police alarm, assigns the unit
with the most visits left over the dispatcher socket and measures until the ``DayPlanned``
event of cause "unit taken" reaches that socket; then cancels the callout and waits for the
next plan (untimed). Side by side, in the same run:

- end to end: the assign request sent -> the re-planned day received by the dispatcher;
- in the service: the planning worker's own solve (state copy, problem, ``routing.replan``),
  as :attr:`web.planning.DayPlanner.runs` records it;
- solver alone: ``routing.replan`` on the same day's problem in this process (the peer: what
  the service adds is the rest);
- event loop: ``GET /api/health`` every 20 ms during the rounds (p99 and max), against the same
  probe while idle: a re-plan in the loop would stall it for the whole solve.

    .venv/bin/python benchmarks/bench_visit_replan.py [--visits 30] [--rounds 15] \
        [--replan-limit 0.3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import uvicorn
from websockets.sync.client import connect
from websockets.typing import Subprotocol

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import routing
from dispatch.visit_plan import day_input
from web.app import create_app
from web.auth import PrincipalStore
from web.planning import travel_fn
from web.settings import Settings

TOWNS = {"Luleå": (65.584, 22.154, 0.4), "Boden": (65.825, 21.689, 0.2),
         "Piteå": (65.317, 21.480, 0.2), "Kalix": (65.854, 23.156, 0.1),
         "Älvsbyn": (65.677, 21.004, 0.1)}
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class Service:
    """The service in a thread, its tokens, a dispatcher socket."""

    def __init__(self, tmp: Path, replan_limit: float) -> None:
        db = tmp / "bench.sqlite3"
        store = PrincipalStore(db)
        self.tokens = {
            "dispatcher": store.create(role="dispatcher", name="bench")[1],
            "psychiatry": store.create(role="agency", agency="psychiatry", name="bench")[1],
            "police": store.create(role="agency", agency="police", name="bench")[1]}
        store.close()
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        self.app = create_app(Settings(database=db, port=port, demo_units=True,
                                       ack_timeout_s=3600, plan_time_limit_s=1.0,
                                       replan_time_limit_s=replan_limit))
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=port,
                                                    log_level="warning", lifespan="on",
                                                    ws_per_message_deflate=False))
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()),
                                       daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if httpx.get(self.base + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)

    def http(self, who: str) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=30,
                            headers={"Authorization": f"Bearer {self.tokens[who]}"})

    def socket(self) -> Any:
        ws = connect(self.base.replace("http", "ws") + "/ws/dispatch",
                     subprotocols=[Subprotocol("mae.v1"),
                                   Subprotocol(f"mae.bearer.{self.tokens['dispatcher']}")])
        while json.loads(ws.recv(timeout=30)).get("type") != "ready":
            pass
        return ws

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


def until(ws: Any, pred: Any, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        msg: dict[str, Any] = json.loads(ws.recv(timeout=max(0.05, deadline - time.monotonic())))
        if pred(msg):
            return msg


def planned(msg: dict[str, Any], cause: str | None = None) -> bool:
    return msg.get("type") == "event" and msg["event"]["type"] == "DayPlanned" and (
        cause is None or msg["event"]["cause"] == cause)


class Probe:
    """GET /api/health every 20 ms in a thread; the latencies while running."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.samples: list[tuple[float, float]] = []  # (sent at, seconds)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=10) as c:
            while not self.stop.is_set():
                t = time.perf_counter()
                c.get("/api/health")
                self.samples.append((t, time.perf_counter() - t))
                time.sleep(0.02)

    def __enter__(self) -> Probe:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def book(svc: Service, n: int, rng: random.Random) -> None:
    now = datetime.now(UTC)
    local_end = datetime.combine(now.astimezone(STOCKHOLM).date(), datetime.min.time(),
                                 STOCKHOLM) + timedelta(hours=20)
    span_h = max(1.0, (local_end - now).total_seconds() / 3600 - 3)
    names = list(TOWNS)
    with svc.http("psychiatry") as c:
        for i in range(n):
            lat, lon, _ = TOWNS[rng.choices(names, [TOWNS[t][2] for t in names])[0]]
            start = now + timedelta(hours=0.5 + rng.random() * span_h)
            reply = c.post("/api/visits", json={
                "patient_ref": f"B-{i}", "location": {"lat": lat + rng.gauss(0, 0.01),
                                                      "lon": lon + rng.gauss(0, 0.02)},
                "earliest_start": start.isoformat(),
                "latest_start": (start + timedelta(hours=rng.choice([2, 3]))).isoformat(),
                "duration_min": rng.choice([20, 30, 45]),
                "postponable": rng.random() < 0.5})
            reply.raise_for_status()


def busiest(svc: Service) -> str | None:
    with svc.http("dispatcher") as c:
        plan = c.get("/api/visits/plan").json()
    routes = sorted(plan["routes"], key=lambda r: -len(r["stops"]))
    return routes[0]["unit_id"] if routes and routes[0]["stops"] else None


def outside(samples: list[tuple[float, float]], spans: list[tuple[float, float]]
            ) -> list[float]:
    """The probe latencies (ms) of samples that overlap none of ``spans`` (the bench's own
    in-process solves, which share this process's interpreter with the service)."""
    return [d * 1000 for t, d in samples
            if not any(t < b and t + d > a for a, b in spans)]


def solver_alone(svc: Service, limit: float, previous: Any) -> float:
    """``routing.replan`` on the service's current day, in this process."""
    service = svc.app.state.service
    state = service.state.fork()
    rota, tz = service.rota_in_force()
    day = day_input(state, rota, tz, datetime.now(UTC), travel_fn(service.travel()))
    assert day is not None
    t = time.perf_counter()
    routing.replan(day.problem, previous, day.states, now_s=day.now_s, time_limit_s=limit)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--visits", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--replan-limit", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        svc = Service(Path(tmp), args.replan_limit)
        try:
            ws = svc.socket()
            with Probe(svc.base) as idle:
                time.sleep(2.0)
            book(svc, args.visits, rng)
            until(ws, planned, timeout=120)
            time.sleep(3.0)  # let the last booking's plan land
            planner = svc.app.state.service.planner
            e2e: list[float] = []
            solves: list[float] = []
            alone: list[float] = []
            spans: list[tuple[float, float]] = []
            with Probe(svc.base) as busy:
                for k in range(args.rounds):
                    unit = busiest(svc)
                    if unit is None:
                        break
                    with svc.http("police") as c:
                        cid = c.post("/api/alarms", json={
                            "reference": f"BENCH-{k}", "priority": 1, "category": "psychosis",
                            "location": {"place": rng.choice(list(TOWNS))}}).json()["callout_id"]
                    before = len(planner.runs)
                    t = time.perf_counter()
                    ws.send(json.dumps({"type": "assign", "callout_id": cid, "unit_id": unit,
                                        "id": f"a{k}"}))
                    until(ws, lambda m: planned(m, "unit taken"))
                    e2e.append(time.perf_counter() - t)
                    time.sleep(0.2)  # the run is noted just after its event is published
                    runs = [r for r in planner.runs[before:] if r.cause == "unit taken"]
                    solves += [r.solve_s for r in runs]
                    previous = planner._previous[1] if planner._previous else None
                    if previous is not None:
                        began = time.perf_counter()
                        alone.append(solver_alone(svc, args.replan_limit, previous))
                        spans.append((began, time.perf_counter()))
                    ws.send(json.dumps({"type": "cancel", "callout_id": cid, "reason": "bench",
                                        "id": f"c{k}"}))
                    # the next round's unit: book one more visit so the day is planned again
                    book(svc, 1, rng)
                    until(ws, lambda m: planned(m, "visits changed"))
            ws.close()
        finally:
            svc.stop()
    rows = [("end to end (assign -> DayPlanned at the dispatcher)", e2e),
            ("planning worker's solve (in the service)", solves),
            ("routing.replan alone (same day, this process)", alone)]
    base = statistics.median(alone) if alone else float("nan")
    print(f"\n{args.visits} visits, {len(e2e)} rounds, replan limit {args.replan_limit} s\n")
    print("| measured | n | p50 s | p95 s | max s | p50 ratio to solver alone |")
    print("|---|---|---|---|---|---|")
    for name, values in rows:
        med = statistics.median(values) if values else float("nan")
        print(f"| {name} | {len(values)} | {med:.3f} | {pct(values, 95):.3f} | "
              f"{max(values, default=float('nan')):.3f} | {med / base:.2f}x |")
    print("\n| event loop probe (GET /api/health) | n | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|")
    for name, s in (("idle", outside(idle.samples, [])),
                    ("during the rounds (not during the bench's own solves)",
                     outside(busy.samples, spans))):
        print(f"| {name} | {len(s)} | {statistics.median(s):.1f} | {pct(s, 99):.1f} | "
              f"{max(s):.1f} |")


if __name__ == "__main__":
    main()
