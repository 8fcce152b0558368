"""One instance on SQLite, one on Redis, three on Redis behind HAProxy: the same load, side by side.

Each configuration is started by :class:`web.cluster.Cluster` (real redis-server with
``deploy/redis.conf``, ``mae serve`` processes, haproxy with ``deploy/haproxy.cfg``) on a region
of 48 units on demo shifts, and driven through its front door (the balancer, or the only
instance) by this process, with the dispatchers who only watch in subscriber processes:

- ``alarm->disp``: alarms posted at a fixed rate (open loop) while 3 probe dispatcher sockets
  (spread over the instances by the balancer) note when each alarm's event arrives: p50/p99
  from the POST to the event, over every probe; ``lost`` counts events the 50 watching
  dispatchers did not get and alarms not acknowledged.
- ``assign``: 4 dispatchers each in a loop (alarm, assign, cancel): send -> ``ok`` p50/p99.
- ``pos/s``: 40 crews sending positions back to back (rate limit off): accepted replies/s.
- ``deliv/s @50`` and ``@150``: 4 dispatchers adding notes back to back; events delivered per
  second to 50 (then 150) watching dispatchers in all, ``ok`` when every one got every event.
- ``ms/cmd``: CPU milliseconds per command (during the ``@50`` phase) of the instances (all of
  them), redis-server and haproxy, from ``/proc/PID/stat``; ``ms/pos`` the same per accepted
  position (the ``pos/s`` phase, 150 dispatchers watching the moves).

    .venv/bin/python benchmarks/bench_cluster.py [--seconds 6] [--alarm-rate 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Protocol

import httpx
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _ws_load import Subscribers, cpu_seconds, open_socket, percentile
from websockets.exceptions import ConnectionClosed

from web.cluster import Cluster
from web.redislog import RedisEventStore

ROOT = Path(__file__).resolve().parents[1]
UNITS = [f"MAE-B{i:02d}" for i in range(48)]
CONFIGS: list[tuple[str, dict[str, Any]]] = [
    ("sqlite x1", {"instances": 1, "redis": False, "balancer": False}),
    ("redis x1", {"instances": 1, "redis": True, "balancer": False}),
    ("redis x3 + haproxy", {"instances": 3, "redis": True, "balancer": True}),
]
_refs = itertools.count()
METRICS_TOKEN = "bench-metrics-token-0123456789"
_BUCKET = re.compile(r'^mae_command_seconds_bucket\{(?=[^}]*type="ReceiveAlarm")[^}]*le="([^"]+)"'
                     r'[^}]*\} (\S+)$')


def alarm_buckets(urls: list[str]) -> dict[str, float]:
    """The writers' ReceiveAlarm latency histogram (cumulative counts by bucket), summed over
    the instances: how long alarms took from reaching the writer to their answer."""
    out: dict[str, float] = {}
    for url in urls:
        text = httpx.get(f"{url}/metrics", timeout=10,
                         headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
        for line in text.splitlines():
            if (m := _BUCKET.match(line)) is not None:
                out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(2))
    return out


def region_file(folder: Path) -> Path:
    text = (ROOT / "regions" / "norrbotten.toml").read_text(encoding="utf-8")
    units = "".join(f'\n[[units]]\nid = "{u}"\nname = "{u}"\nbase = "sunderbyn"\n'
                    for u in UNITS)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "region.toml"
    path.write_text(text.replace("\n[[rota]]", units + "\n[[rota]]", 1), encoding="utf-8")
    return path


class Probe:
    """A dispatcher socket that notes when each event (by seq) arrives and answers requests."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.arrived: dict[int, float] = {}
        self.ready = asyncio.Event()
        self._ids = itertools.count()
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._task = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str) -> Probe:
        probe = cls(await open_socket(url))
        await asyncio.wait_for(probe.ready.wait(), 60)
        return probe

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for text in self.ws:
                now = time.monotonic()
                message = json.loads(text)
                for m in message["messages"] if message["type"] == "batch" else [message]:
                    if m["type"] == "event":
                        self.arrived[m["seq"]] = now
                    elif m["type"] == "ready":
                        self.ready.set()
                    elif m.get("id") in self._waiting:
                        self._waiting.pop(m["id"]).set_result(m)

    async def request(self, message: dict[str, Any]) -> dict[str, Any]:
        rid = f"q{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[rid] = future
        await self.ws.send(json.dumps({**message, "id": rid}))
        return await asyncio.wait_for(future, 60)

    async def close(self) -> None:
        await self.ws.close()
        await self._task


class Bench:
    """One configuration running: its cluster, tokens and measurements."""

    def __init__(self, folder: Path, options: dict[str, Any]) -> None:
        self.cluster = Cluster(folder, serve_args=("--region", str(region_file(folder)),
                                                   "--demo-units"),
                               env={"MAE_MERGE_RADIUS_M": "1", "MAE_ACK_TIMEOUT_S": "3600",
                                    "MAE_METRICS_TOKEN": METRICS_TOKEN,
                                    "MAE_POSITION_MIN_INTERVAL_S": "0",
                                    "MAE_WRITE_QUEUE_SIZE": "100000"}, **options)
        self.cluster.start()
        specs: list[tuple[str, str, str | None, str | None]] = [
            ("bench dispatcher", "dispatcher", None, None), ("bench police", "agency", None,
                                                            "police")]
        specs += [(f"bench crew {u}", "crew", u, None) for u in UNITS]
        made = self.cluster.create_tokens(specs)
        self.dispatcher, self.police = made[0], made[1]
        self.crews = dict(zip(UNITS, made[2:], strict=True))
        self.ws = self.cluster.url.replace("http://", "ws://")
        self.settle()

    def settle(self, timeout_s: float = 300.0) -> None:
        """Wait until every instance has prepared routing (started in the background at
        startup: three instances doing it at once would be measured as latency)."""
        deadline = time.monotonic() + timeout_s
        for member in self.cluster.members:
            while time.monotonic() < deadline:
                health = httpx.get(f"{member.url}/api/health", timeout=10).json()
                if health.get("routing_prepared"):
                    break
                time.sleep(0.5)

    def url(self, path: str, token: str, *, batch: bool = False) -> str:
        return f"{self.ws}{path}{'?batch=1' if batch else ''}#bearer={token}"

    def log_end(self) -> int:
        if self.cluster.redis:
            store = RedisEventStore(self.cluster.redis_url)
            try:
                return store.refresh()
            finally:
                store.close()
        with contextlib.closing(sqlite3.connect(self.cluster.members[0].database)) as conn:
            return int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])

    def redis_calls(self) -> dict[str, int]:
        """Redis's own count of the commands it ran so far, by command (``INFO
        commandstats``; commands a Lua script runs count too), without this benchmark's."""
        if not self.cluster.redis:
            return {}
        client = redis.Redis.from_url(self.cluster.redis_url)
        try:
            stats: Any = client.info("commandstats")
        finally:
            client.close()
        return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()
                if name != "cmdstat_info"}

    def cpu(self) -> dict[str, float]:
        return {part: sum(cpu_seconds(p) for p in pids)
                for part, pids in self.cluster.pids().items()}

    async def alarm(self, http: httpx.AsyncClient) -> dict[str, Any]:
        k = next(_refs)
        body = {"reference": f"bench-{k}", "priority": 2, "category": "psychosis",
                "location": {"lat": 65.575 + (k % 40) * 0.00045,
                             "lon": 22.13 + (k // 40 % 40) * 0.001}}
        reply = await http.post("/api/alarms", json=body,
                                headers={"Authorization": f"Bearer {self.police}"})
        if reply.status_code != 201:
            raise RuntimeError(f"alarm refused: {reply.status_code} {reply.text[:200]}")
        return dict(reply.json())

    async def alarm_latency(self, seconds: float, rate: float, subs: Subscribers
                            ) -> dict[str, float]:
        probes = [await Probe.open(self.url("/ws/dispatch", self.dispatcher)) for _ in range(3)]
        async with httpx.AsyncClient(base_url=self.cluster.url, timeout=30) as http:
            for _ in range(10):  # warm-up: each instance's first alarms
                await self.alarm(http)
        await asyncio.sleep(1.0)
        urls = [m.url for m in self.cluster.members]
        hist0 = await asyncio.to_thread(alarm_buckets, urls)
        seq0, got0 = self.log_end(), subs.received
        sent: list[tuple[float, int]] = []
        replied: list[float] = []  # each POST's own latency (decided, stored, answered)
        failed = 0
        async with httpx.AsyncClient(base_url=self.cluster.url, timeout=30) as http:

            async def one() -> None:
                nonlocal failed
                t0 = time.monotonic()
                try:
                    sent.append((t0, (await self.alarm(http))["seq"]))
                    replied.append(time.monotonic() - t0)
                except (RuntimeError, httpx.HTTPError):
                    failed += 1

            tasks = []
            start = time.monotonic()
            for i in range(int(seconds * rate)):
                await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
                tasks.append(asyncio.create_task(one()))
            await asyncio.gather(*tasks)
        end = self.log_end()
        hist1 = await asyncio.to_thread(alarm_buckets, urls)
        done = hist1.get("+Inf", 0.0) - hist0.get("+Inf", 0.0)
        quick = hist1.get("0.05", 0.0) - hist0.get("0.05", 0.0)
        for _ in range(200):
            if all(all(s in p.arrived for _, s in sent) for p in probes):
                break
            await asyncio.sleep(0.05)
        waits = [p.arrived[s] - t0 for p in probes for t0, s in sent if s in p.arrived]
        missing = sum(1 for p in probes for _, s in sent if s not in p.arrived)
        events = end - seq0
        await asyncio.to_thread(subs.wait_for, got0 + events * subs.total)
        lost = events * subs.total - (subs.received - got0) + missing + failed
        for p in probes:
            await p.close()
        return {"p50": percentile(waits, 50) * 1000, "p99": percentile(waits, 99) * 1000,
                "lost": float(lost), "alarms": float(len(sent)),
                "post50": percentile(replied, 50) * 1000, "post99": percentile(replied, 99) * 1000,
                "max": max(waits) * 1000, "writer_slow": (done - quick) / max(done, 1.0)}

    async def assignments(self, seconds: float) -> dict[str, float]:
        lanes = [await Probe.open(self.url("/ws/dispatch", self.dispatcher)) for _ in range(4)]
        times: list[float] = []
        deadline = time.monotonic() + seconds
        async with httpx.AsyncClient(base_url=self.cluster.url, timeout=30) as http:

            async def lane(probe: Probe, unit: str) -> None:
                while time.monotonic() < deadline:
                    cid = (await self.alarm(http))["callout_id"]
                    t0 = time.monotonic()
                    reply = await probe.request({"type": "assign", "callout_id": cid,
                                                 "unit_id": unit})
                    times.append(time.monotonic() - t0)
                    if reply["type"] != "ok":
                        raise RuntimeError(f"assign refused: {reply}")
                    await probe.request({"type": "cancel", "callout_id": cid})

            await asyncio.gather(*(lane(p, UNITS[i]) for i, p in enumerate(lanes)))
        for p in lanes:
            await p.close()
        return {"p50": percentile(times, 50) * 1000, "p99": percentile(times, 99) * 1000}

    async def positions(self, seconds: float) -> dict[str, float]:
        crews = [await Probe.open(self.url("/ws/crew", self.crews[u])) for u in UNITS[8:48]]
        kept = 0
        cpu0 = self.cpu()
        t0 = time.monotonic()
        deadline = t0 + seconds

        async def loop(k: int, probe: Probe) -> None:
            nonlocal kept
            i = 0
            while time.monotonic() < deadline:
                i += 1
                reply = await probe.request({"type": "position", "lat": 65.58 + k * 1e-3,
                                             "lon": 22.15 + (i % 100) * 1e-4})
                kept += bool(reply.get("kept"))

        await asyncio.gather(*(loop(k, p) for k, p in enumerate(crews)))
        span = time.monotonic() - t0
        cpu1 = self.cpu()
        for p in crews:
            await p.close()
        out = {"rate": kept / span}
        for part in cpu1:
            out[f"ms_{part}"] = (cpu1[part] - cpu0.get(part, 0.0)) * 1000 / max(kept, 1)
        return out

    async def deliveries(self, seconds: float, subs: Counted) -> dict[str, float]:
        senders = [await Probe.open(self.url("/ws/dispatch", self.dispatcher)) for _ in range(4)]
        async with httpx.AsyncClient(base_url=self.cluster.url, timeout=30) as http:
            cid = (await self.alarm(http))["callout_id"]
        await asyncio.sleep(0.5)
        seq0, got0, cpu0 = self.log_end(), subs.received, self.cpu()
        calls0 = self.redis_calls()
        t0 = time.monotonic()
        deadline = t0 + seconds
        commands = 0

        async def loop(probe: Probe) -> None:
            nonlocal commands
            while time.monotonic() < deadline:
                await probe.request({"type": "note", "callout_id": cid, "text": "bench"})
                commands += 1

        await asyncio.gather(*(loop(p) for p in senders))
        events = self.log_end() - seq0
        complete = await asyncio.to_thread(subs.wait_for, got0 + events * subs.total)
        span = max(subs.last_at, time.monotonic()) - t0
        cpu1 = self.cpu()
        calls1 = self.redis_calls()
        for p in senders:
            await p.close()
        out = {"rate": (subs.received - got0) / span, "ok": float(complete),
               "commands": float(commands)}
        if calls1:
            out["calls"] = (sum(calls1.values()) - sum(calls0.values())) / max(commands, 1)
            self.calls_by_name = {k: (v - calls0.get(k, 0)) / max(commands, 1)
                                  for k, v in calls1.items() if v != calls0.get(k, 0)}
        for part in cpu1:
            out[f"ms_{part}"] = (cpu1[part] - cpu0.get(part, 0.0)) * 1000 / max(commands, 1)
        return out

    def stop(self) -> None:
        self.cluster.stop()


def run_config(name: str, options: dict[str, Any], args: argparse.Namespace,
               folder: Path) -> dict[str, Any]:
    bench = Bench(folder, options)
    row: dict[str, Any] = {"config": name}
    watchers = more = None
    try:
        watchers = Subscribers(bench.url("/ws/dispatch", bench.dispatcher, batch=True), 50, 2)
        row["alarm"] = asyncio.run(bench.alarm_latency(args.seconds, args.alarm_rate, watchers))
        row["assign"] = asyncio.run(bench.assignments(args.seconds))
        row["d50"] = asyncio.run(bench.deliveries(args.seconds, watchers))
        row["calls"] = getattr(bench, "calls_by_name", {})
        more = Subscribers(bench.url("/ws/dispatch", bench.dispatcher, batch=True), 100, 2)
        both = _Both(watchers, more)
        row["d150"] = asyncio.run(bench.deliveries(args.seconds, both))
        row["pos"] = asyncio.run(bench.positions(args.seconds))
    finally:
        for subs in (watchers, more):
            if subs is not None:
                subs.close()
        bench.stop()
    return row


class Counted(Protocol):
    """What :meth:`Bench.deliveries` reads of its subscribers: one group or several."""

    @property
    def total(self) -> int: ...

    @property
    def received(self) -> int: ...

    @property
    def last_at(self) -> float: ...

    def wait_for(self, count: int, *, idle_s: float = 5.0) -> bool: ...


class _Both:
    """Two groups of subscribers counted as one."""

    def __init__(self, *groups: Counted) -> None:
        self.groups = groups
        self.total = sum(g.total for g in groups)

    @property
    def received(self) -> int:
        return sum(g.received for g in self.groups)

    @property
    def last_at(self) -> float:
        return max(g.last_at for g in self.groups)

    def wait_for(self, count: int, *, idle_s: float = 5.0) -> bool:
        last, since = self.received, time.monotonic()
        while self.received < count:
            time.sleep(0.01)
            if self.received != last:
                last, since = self.received, time.monotonic()
            elif time.monotonic() - since > idle_s:
                return False
        return True


def table(rows: list[dict[str, Any]]) -> str:
    head = (f"{'config':<19} {'alarm->disp p50/p99 ms':>22} {'lost':>5} {'assign p50/p99 ms':>18}"
            f" {'pos/s':>7} {'deliv/s @50':>12} {'@150':>12} {'x sqlite':>8}"
            f" {'ms/cmd inst':>11} {'redis':>6} {'haproxy':>7} {'ms/pos inst':>11} {'redis':>6}"
            f" {'haproxy':>7} {'redis calls/cmd':>15}")
    lines = [head, "-" * len(head)]
    base = rows[0]["d150"]["rate"] or 1.0
    for r in rows:
        a, s, d50, d150, pos = r["alarm"], r["assign"], r["d50"], r["d150"], r["pos"]
        ok50 = "" if d50["ok"] else "!"
        ok150 = "" if d150["ok"] else "!"
        lines.append(
            f"{r['config']:<19} {a['p50']:>10.1f}/{a['p99']:<11.1f} {a['lost']:>5.0f}"
            f" {s['p50']:>8.1f}/{s['p99']:<9.1f} {pos['rate']:>7.0f} {d50['rate']:>11.0f}{ok50:1}"
            f" {d150['rate']:>11.0f}{ok150:1} {d150['rate'] / base:>8.2f}"
            f" {d50.get('ms_instances', 0):>11.2f} {d50.get('ms_redis', 0):>6.2f}"
            f" {d50.get('ms_haproxy', 0):>7.2f} {pos.get('ms_instances', 0):>11.2f}"
            f" {pos.get('ms_redis', 0):>6.2f} {pos.get('ms_haproxy', 0):>7.2f}"
            f" {d50.get('calls', 0):>15.2f}")
    lines.append("('!' after a delivery rate: some watcher did not get every event)")
    for r in rows:
        a = r["alarm"]
        lines.append(f"alarm phase, {r['config']}: the POST itself p50/p99 {a['post50']:.1f}/"
                     f"{a['post99']:.1f} ms, slowest arrival {a['max']:.1f} ms; alarms over "
                     f"50 ms in the writers (queue, decide, append, apply): "
                     f"{a['writer_slow']:.1%}")
    for r in rows:
        if r.get("calls"):
            calls = sorted(r["calls"].items(), key=lambda kv: -kv[1])
            lines.append(f"redis commands per command, {r['config']}: " + ", ".join(
                f"{name} {n:.2f}" for name, n in calls if n >= 0.01))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each phase")
    parser.add_argument("--alarm-rate", type=float, default=20.0,
                        help="alarms per second in the latency phase (open loop)")
    parser.add_argument("--only", default=None, help="run the configurations whose name "
                        "contains this (e.g. x3)")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="mae-bench-cluster-") as tmp:
        for i, (name, options) in enumerate(CONFIGS):
            if args.only and args.only not in name:
                continue
            print(f"running {name} …", file=sys.stderr, flush=True)
            rows.append(run_config(name, options, args, Path(tmp) / f"c{i}"))
    print(f"cores: {os.cpu_count()}, phases of {args.seconds:g} s, alarms at "
          f"{args.alarm_rate:g}/s")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
