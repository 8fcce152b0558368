"""Backlogs and history on a long log: does another dispatcher's ping stay fast?

Builds (once, cached under ``/tmp``) a SQLite event log of ``--events`` events: five units, an
alarm whose callout stays open, then position reports of the five units in turn, and a note on
the callout at the very end, written with ``executemany`` into the service's own schema. Then,
for each code tree (this one, and with ``--before REF`` the tree of that git commit, exported
with ``git archive``), it starts ``mae serve`` on a copy of the log, connects one dispatcher
that sends ``ping`` every 10 ms, and times its round trips while:

- ``idle``: nothing else happens (2 s);
- ``5 crews since=0``: five crew sockets connect at once with ``since=0`` and read until
  ``ready``;
- ``5 crews in window``: the same with ``since`` = end of log - ``--window`` (a backlog the
  new code still serves event by event, paged off the loop);
- ``history``: a second dispatcher asks for the history of the callout whose events lie at
  both ends of the log.

    .venv/bin/python benchmarks/bench_backlog.py [--events 1000000] [--before e3e087d]

Every row prints the ping p50/p99/max in ms, how many pings were sent, and how long the readers
took; the tree rows are comparable because they run on the same log in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _ws_load import bearer_url, free_port, percentile, request, start_server
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from dispatch.events import (
    AlarmReceived,
    Event,
    NoteAdded,
    UnitPositionReported,
    UnitRegistered,
    event_to_dict,
)
from dispatch.model import Agency, Alarm, Category, Location, Priority
from web.auth import PrincipalStore
from web.eventstore import SqliteEventStore

ROOT = Path(__file__).resolve().parents[1]
UNITS = ("U1", "U2", "U3", "U4", "U5")
CALLOUT = "C1"


def build_log(path: Path, events: int) -> dict[str, str]:
    """The cached log at ``path`` (built if missing) and its tokens (kept beside it)."""
    tokens_file = path.with_suffix(".tokens.json")
    if path.exists() and tokens_file.exists():
        tokens: dict[str, str] = json.loads(tokens_file.read_text())
        return tokens
    path.unlink(missing_ok=True)
    SqliteEventStore(path).close()  # the schema, as the service makes it
    start = datetime.now(UTC) - timedelta(seconds=events * 0.1 + 3600)
    home = Location(65.584, 22.154, label="Luleå")
    head: list[Event] = [UnitRegistered(at=start, actor="bench", unit_id=u, name=f"MAE {u}",
                                        base="Luleå", position=home) for u in UNITS]
    alarm = Alarm(Agency.POLICE, "B-1", start, home, Priority(1), Category("psychosis"))
    head.append(AlarmReceived(at=start, actor="bench", alarm=alarm, callout_id=CALLOUT))
    tail = NoteAdded(at=start + timedelta(seconds=events * 0.1), actor="bench",
                     callout_id=CALLOUT, text="bench note")

    def rows() -> Any:
        for seq, event in enumerate(head, start=1):
            yield _row(seq, event)
        for seq in range(len(head) + 1, events):
            at = start + timedelta(seconds=seq * 0.1)
            where = Location(65.5 + (seq % 1000) * 1e-4, 22.0 + (seq % 777) * 1e-4)
            event = UnitPositionReported(at=at, actor="bench", unit_id=UNITS[seq % 5],
                                         position=where)
            yield _row(seq, event)
        yield _row(events, tail)

    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    with db:
        db.executemany("INSERT INTO events (seq, type, at, data) VALUES (?,?,?,?)", rows())
    db.close()
    store = PrincipalStore(path)
    tokens = {"dispatcher": store.create(role="dispatcher", name="bench dispatcher")[1],
              "dispatcher2": store.create(role="dispatcher", name="bench history")[1]}
    for u in UNITS:
        tokens[u] = store.create(role="crew", unit_id=u, name=f"bench crew {u}")[1]
    store.close()
    tokens_file.write_text(json.dumps(tokens))
    return tokens


def _row(seq: int, event: Event) -> tuple[int, str, str, str]:
    data = event_to_dict(event)
    return seq, data["type"], data["at"], json.dumps(data, ensure_ascii=False)


def _pinger_main(url: str, stop: Any, out: Any) -> None:
    asyncio.run(_pinger(url, stop, out))


async def _pinger(url: str, stop: Any, out: Any) -> None:
    """Ping every 10 ms until ``stop`` is set; sends (sent at, round trip) pairs to ``out``. A
    ping whose socket the server dropped counts until the moment a new socket is ready."""
    ws = await _connect(url)
    out.put(None)  # connected
    n = 0
    while not stop.is_set():
        n += 1
        t = time.monotonic()
        try:
            await request(ws, {"type": "ping"}, f"p{n}")
        except ConnectionClosed:
            ws = await _connect(url)
        out.put((t, time.monotonic() - t))
        await asyncio.sleep(0.01)
    await ws.close()


async def _connect(url: str) -> Any:
    """A socket that has had its ``ready`` (a frozen server may take minutes to answer)."""
    bare, headers = bearer_url(url)
    ws = await connect(bare, max_size=None, open_timeout=3600, ping_interval=None,
                       additional_headers=headers or None)
    while b'"type":"ready"' not in await ws.recv(decode=False):
        pass
    return ws


class Pinger:
    """A dispatcher pinging from its own process, so the readers' work in this process never
    delays a ping's receipt."""

    def __init__(self, url: str) -> None:
        ctx = mp.get_context("spawn")
        self._stop, self._out = ctx.Event(), ctx.Queue()
        self._proc = ctx.Process(target=_pinger_main, args=(url, self._stop, self._out),
                                 daemon=True)
        self._proc.start()
        assert self._out.get(timeout=120) is None
        self.pings: list[tuple[float, float]] = []

    def collect(self) -> list[tuple[float, float]]:
        while not self._out.empty():
            item = self._out.get()
            if isinstance(item, tuple):
                self.pings.append(item)
        return self.pings

    def close(self) -> None:
        self._stop.set()
        self._proc.join(timeout=10)
        self.collect()


async def read_backlog(url: str) -> int | str:
    """Connect and read until ``ready``; returns the events received (or how the server
    closed the socket before ``ready``: after a long freeze its keepalive ping timed out)."""
    bare, headers = bearer_url(url)
    ws = await connect(bare, max_size=None, open_timeout=3600, ping_interval=None,
                       additional_headers=headers or None)
    events = 0
    try:
        while True:
            data = await ws.recv(decode=False)
            events += data.count(b'{"type":"event"')
            if b'"type":"ready"' in data:
                break
    except ConnectionClosed as exc:
        return f"closed {exc.rcvd.code if exc.rcvd else '-'} after {events}"
    await ws.close()
    return events


async def scenario(base: str, tokens: dict[str, str], end: int, window: int
                   ) -> list[dict[str, Any]]:
    pinger = Pinger(f"{base}/ws/dispatch?token={tokens['dispatcher']}")
    rows = []

    async def phase(name: str, work: Any) -> None:
        t0 = time.monotonic()
        detail = await work
        t1 = time.monotonic()
        await asyncio.sleep(0.3)
        rtts = [r for t, r in pinger.collect() if t0 <= t <= t1 + 0.3]
        rtts = rtts or [float("nan")]
        rows.append({"phase": name, "took": t1 - t0, "pings": len(rtts), "detail": detail,
                     "p50": percentile(rtts, 50), "p99": percentile(rtts, 99),
                     "max": max(rtts)})
        print(f"  {name}: {t1 - t0:.1f} s", file=sys.stderr)

    def crews(since: int) -> Any:
        urls = [f"{base}/ws/crew?token={tokens[u]}&since={since}&batch=1" for u in UNITS]
        return asyncio.gather(*(read_backlog(u) for u in urls))

    async def history() -> str:
        ws = await _connect(f"{base}/ws/dispatch?token={tokens['dispatcher2']}")
        reply = await request(ws, {"type": "history", "callout_id": CALLOUT}, "h")
        await ws.close()
        return f"{len(reply.get('events', []))} events"

    await phase("idle", asyncio.sleep(2.0))
    await phase("5 crews since=0", crews(0))
    await phase(f"5 crews since=end-{window}", crews(end - window))
    await phase("history", history())
    pinger.close()
    return rows


def run_tree(name: str, tree: Path, log: Path, tokens: dict[str, str], events: int,
             window: int, tmp: Path) -> list[dict[str, Any]]:
    db = tmp / f"{name}.sqlite3"
    shutil.copyfile(log, db)
    port = free_port()
    argv = [sys.executable, "-m", "mae.cli", "serve", "--database", str(db), "--port", str(port)]
    t0 = time.monotonic()
    server = start_server(argv, port=port, health="/api/health", log=tmp / f"{name}.log",
                          cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)},
                          timeout_s=1800)
    print(f"{name}: the server took {time.monotonic() - t0:.0f} s to open the port",
          file=sys.stderr)
    try:
        rows = asyncio.run(scenario(server.ws, tokens, events, window))
    finally:
        server.stop()
        db.unlink(missing_ok=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--window", type=int, default=50_000,
                        help="the in-window backlog, events (the service's default window)")
    parser.add_argument("--before", default=None,
                        help="a git commit to compare with (its tree is exported with git "
                        "archive), e.g. e3e087d, the commit before backlogs left the loop")
    args = parser.parse_args()
    log = Path(tempfile.gettempdir()) / f"mae-bench-backlog-{args.events}.sqlite3"
    t0 = time.monotonic()
    tokens = build_log(log, args.events)
    print(f"log {log} ({log.stat().st_size / 1e6:.0f} MB) ready in "
          f"{time.monotonic() - t0:.0f} s", file=sys.stderr)
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="mae-bench-backlog-") as name:
        tmp = Path(name)
        trees = {"after": ROOT}
        if args.before:
            before = tmp / "before"
            before.mkdir()
            archive = subprocess.run(["git", "archive", args.before], cwd=ROOT, check=True,
                                     capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
            trees = {"before": before, **trees}
        for label, tree in trees.items():
            results[label] = run_tree(label, tree, log, tokens, args.events, args.window, tmp)
    print(f"{args.events} events in the log; 5 crews of 5 units (each unit 1/5 of the events); "
          f"one dispatcher pinging every 10 ms; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")
    head = (f"{'code':<7} {'phase':<26} {'took s':>7} {'pings':>6} {'p50 ms':>8} "
            f"{'p99 ms':>8} {'max ms':>8}  readers got")
    print(head + "\n" + "-" * len(head))
    for label, rows in results.items():
        for r in rows:
            print(f"{label:<7} {r['phase']:<26} {r['took']:>7.2f} {r['pings']:>6} "
                  f"{r['p50'] * 1000:>8.1f} {r['p99'] * 1000:>8.1f} {r['max'] * 1000:>8.1f}  "
                  f"{r['detail']}")


if __name__ == "__main__":
    main()
