"""Load generation for ``bench_service.py``: servers, subscriber processes, closed-loop senders.

Subscribers run in their own processes (``multiprocessing``, spawn) so that counting what 50
sockets receive does not compete with the senders for one interpreter. Each process holds
several sockets and counts the events it receives (one per frame, or several in a batch frame)
into shared memory without decoding them; the parent reads
the counters and the processes' CPU time from ``/proc``. Senders run in the parent, each
sending its next message as soon as the reply to the last one is back. ``log_floor`` times the
durable log alone, the rate no command path can beat.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from dispatch.events import UnitPositionReported
from dispatch.model import Location
from web.eventstore import SqliteEventStore

__all__ = ["Sender", "Server", "Subscribers", "Target", "bearer_url", "closed_loop", "cpu_seconds",
           "free_port", "log_floor", "open_socket", "percentile", "ready", "request",
           "start_server", "throughput"]

COUNT, LAST, READY, CLOSED, FRAMES = range(5)
EVENT = b'{"type":"event"'  # how each event message begins, alone or inside a batch frame
POSITION = b'{"type":"unit_position"'  # a unit's position (not a logged event since issue 12)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def bearer_url(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without its ``token=`` parameter, and that token as an ``Authorization: Bearer``
    header for the handshake, so no token is sent in a URL (a proxy would log it)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    tokens = [v for k, v in query if k == "token"]
    if not tokens:
        return url, {}
    rest = urlencode([(k, v) for k, v in query if k != "token"])
    return urlunsplit(parts._replace(query=rest)), {"Authorization": f"Bearer {tokens[0]}"}


async def open_socket(url: str) -> ClientConnection:
    """A client socket that offers permessage-deflate, as browsers do; the server decides.
    A token given as a ``#bearer=<token>`` fragment or a ``token=`` query parameter is taken
    out of the URL and sent as the ``mae.bearer.<token>`` subprotocol, as the pages do (the
    service refuses tokens in URLs)."""
    url, _, fragment = url.partition("#bearer=")
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    token = fragment or next((v for k, v in query if k == "token"), "")
    url = urlunsplit(parts._replace(query=urlencode([(k, v) for k, v in query if k != "token"])))
    protocols: Any = ["mae.v1", f"mae.bearer.{token}"] if token else None
    return await connect(url, max_size=None, open_timeout=60, ping_interval=None,
                         compression="deflate", subprotocols=protocols)


async def request(ws: ClientConnection, message: dict[str, Any], rid: str,
                  seen: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Send ``message`` with id ``rid`` and return the reply with that id; ``seen`` gets the
    messages that arrive before it."""
    await ws.send(json.dumps({**message, "id": rid}))
    while True:
        reply: dict[str, Any] = json.loads(await ws.recv())
        if reply.get("id") == rid:
            return reply
        if seen is not None:
            seen(reply)


Sender = Callable[[float], Coroutine[Any, Any, tuple[int, float, float]]]


async def ready(ws: Any) -> None:
    while '"type":"ready"' not in await ws.recv():
        pass


@dataclass
class Server:
    """A server subprocess: its base URL, process and log file."""

    base: str
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def ws(self) -> str:
        return self.base.replace("http://", "ws://")

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_server(argv: list[str], *, port: int, health: str, log: Path, cwd: Path,
                 env: dict[str, str] | None = None, timeout_s: float = 120.0) -> Server:
    """Start ``argv`` (with ``env`` added to the environment) and wait until ``GET health``
    answers 200."""
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, **(env or {})})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{argv[:3]} exited with {proc.returncode}; see {log}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(base + health, timeout=1.0).status_code == 200:
                return Server(base, proc, log)
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{argv[:3]} did not become healthy; see {log}")


def _subscriber_main(url: str, n: int, stats: Any, stop: Any) -> None:
    asyncio.run(_subscribe(url, n, stats, stop))


async def _subscribe(url: str, n: int, stats: Any, stop: Any) -> None:
    sockets = []
    for _ in range(n):
        ws = await open_socket(url)
        while b'"type":"ready"' not in await ws.recv(decode=False):  # ours: snapshot first
            pass
        sockets.append(ws)
        stats[READY] += 1
    tasks = [asyncio.create_task(_count(ws, stats)) for ws in sockets]
    while not stop.is_set():
        await asyncio.sleep(0.05)
    for task in tasks:
        task.cancel()
    for ws in sockets:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), 2)


async def _count(ws: ClientConnection, stats: Any) -> None:
    """Count the events and positions received (a batch frame holds several) without decoding
    them."""
    monotonic = time.monotonic
    try:
        while True:
            data = await ws.recv(decode=False)
            stats[COUNT] += data.count(EVENT) + data.count(POSITION)
            stats[FRAMES] += 1
            stats[LAST] = monotonic()
    except ConnectionClosed:
        stats[CLOSED] += 1


@dataclass
class Subscribers:
    """``total`` subscriber sockets to ``url`` spread over ``processes`` processes."""

    url: str
    total: int
    processes: int
    _stats: list[Any] = field(default_factory=list)
    _procs: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        ctx = mp.get_context("spawn")
        self._stop = ctx.Event()
        share, extra = divmod(self.total, self.processes)
        for i in range(self.processes):
            stats = ctx.Array("d", 5, lock=False)
            proc = ctx.Process(target=_subscriber_main, daemon=True,
                               args=(self.url, share + (i < extra), stats, self._stop))
            proc.start()
            self._stats.append(stats)
            self._procs.append(proc)
        deadline = time.monotonic() + 120
        while self.ready < self.total:
            if time.monotonic() > deadline or not all(p.is_alive() for p in self._procs):
                self.close()
                raise RuntimeError(f"only {self.ready} of {self.total} subscribers connected")
            time.sleep(0.05)

    @property
    def ready(self) -> int:
        return int(sum(s[READY] for s in self._stats))

    @property
    def received(self) -> int:
        return int(sum(s[COUNT] for s in self._stats))

    @property
    def frames(self) -> int:
        return int(sum(s[FRAMES] for s in self._stats))

    @property
    def closed(self) -> int:
        return int(sum(s[CLOSED] for s in self._stats))

    @property
    def last_at(self) -> float:
        return float(max(s[LAST] for s in self._stats))

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self._procs if p.pid is not None)

    def wait_for(self, count: int, *, idle_s: float = 5.0) -> bool:
        """Wait until ``count`` messages were received in all; False if none came for
        ``idle_s`` seconds before that."""
        last, since = self.received, time.monotonic()
        while self.received < count:
            time.sleep(0.01)
            now = self.received
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since > idle_s:
                return False
        return True

    def close(self) -> None:
        self._stop.set()
        for proc in self._procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()


class Target(Protocol):
    """A server under test: its process, and where its log (or count of published) ends."""

    server: Server

    def seq(self) -> int: ...

    def health(self) -> dict[str, Any]: ...


def closed_loop(urls: list[str], step: Callable[[Any, int, int], Awaitable[None]], *,
                wait_ready: bool = True) -> Sender:
    """Senders on ``urls``, each doing ``step`` back to back until the deadline; returns
    (steps done, first send, last reply) on the monotonic clock."""

    async def run(duration: float) -> tuple[int, float, float]:
        sockets = [await open_socket(u) for u in urls]
        for ws in sockets:
            if wait_ready:
                await ready(ws)
        t0 = time.monotonic()
        deadline = t0 + duration
        done = [0] * len(sockets)
        last = [t0]

        async def loop(k: int, ws: Any) -> None:
            while time.monotonic() < deadline:
                await step(ws, k, done[k])
                done[k] += 1
                last[0] = max(last[0], time.monotonic())

        await asyncio.gather(*(loop(k, ws) for k, ws in enumerate(sockets)))
        for ws in sockets:
            await ws.close()
        return sum(done), t0, last[0]

    return run


def throughput(target: Target, subs: Subscribers, n_subs: int, senders: Sender,
               duration: float) -> dict[str, float]:
    """Run ``senders`` for ``duration`` s and wait until every subscriber has every event."""
    seq0, got0, frames0 = target.seq(), subs.received, subs.frames
    cpu_s0, cpu_c0 = target.server.cpu(), subs.cpu() + cpu_seconds(os.getpid())
    sent, t0, t_last = asyncio.run(senders(duration))
    health = target.health()
    events = target.seq() - seq0  # ours: events logged, all of which dispatchers see
    complete = subs.wait_for(got0 + events * n_subs)
    span = max(subs.last_at, t_last) - t0
    return {"sent": sent, "events": events, "sent_rate": sent / (t_last - t0),
            "open": float(health.get("open_callouts", 0)),
            "rate": (subs.received - got0) / n_subs / span, "lag": max(0.0, subs.last_at - t_last),
            "server_cpu": (target.server.cpu() - cpu_s0) / span,
            "cpu_ms": (target.server.cpu() - cpu_s0) * 1000 / max(events, 1),
            "client_cpu": (subs.cpu() + cpu_seconds(os.getpid()) - cpu_c0) / span,
            "per_frame": (subs.received - got0) / max(1, subs.frames - frames0),
            "complete": float(complete and not subs.closed)}


def log_floor(tmp: Path, seconds: float) -> tuple[float, float]:
    """Appends/s and p50 s of the durable log alone (``SqliteEventStore``, one position event
    per commit, as the service commits one command at a time)."""
    store = SqliteEventStore(tmp / f"floor-{time.monotonic_ns()}.sqlite3")
    event = UnitPositionReported(at=datetime.now(UTC), actor="bench", unit_id="U01",
                                 position=Location(65.58, 22.19))
    times: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.monotonic()
        store.append([event], expected_last_seq=store.last_seq)
        times.append(time.monotonic() - t)
    store.close()
    return len(times) / sum(times), percentile(times, 50)
