"""Helpers for the web tests: a real server (thread or subprocess) on a free port, tokens in its
real store, and a socket client that checks sequence numbers as it reads.

The store is SQLite (the test's file) unless a module runs on both with
``pytestmark = BOTH_STORES``: each of its tests then runs once more with every store in a real
redis-server (the ``redis_url`` fixture), and every helper here (``make_tokens``,
``thread_server``, ``serve_app``, ``process_server``) follows the ``service_store`` fixture."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.sync.client import ClientConnection, connect

from dispatch.events import Envelope
from web.app import create_app
from web.audit import Audit, AuditLog
from web.auth import Principals, PrincipalStore
from web.eventstore import EventStore, SqliteEventStore
from web.positions import PositionStorage, PositionStore
from web.replay import Pace, WallPace
from web.settings import Settings

T0 = datetime(2026, 1, 15, 14, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ManualClock:
    """A clock the test moves by hand (shared with the server thread)."""

    def __init__(self, start: datetime = T0) -> None:
        self.t = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self.t

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.t += timedelta(seconds=seconds)


#: The shared store of the running test: None (SQLite, the test's file) or a Redis URL. Set by
#: the autouse ``service_store`` fixture; the helpers below default to it.
_store: str | None = None

#: Run a module's tests on both stores: ``pytestmark = BOTH_STORES``.
BOTH_STORES = pytest.mark.parametrize("service_store", ["sqlite", "redis"], indirect=True)


@pytest.fixture(autouse=True)
def service_store(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The store the test's service uses: SQLite by default, Redis (an empty database of the
    run's redis-server) where the module asks for both stores."""
    global _store
    kind = getattr(request, "param", "sqlite")
    _store = request.getfixturevalue("redis_url") if kind == "redis" else None
    try:
        yield _store
    finally:
        _store = None


def current_store() -> str | None:
    """The running test's store: None (SQLite) or the Redis URL."""
    return _store


def open_principals(db: Path, store: str | None = None) -> Principals:
    """The principals of the test's service: in ``store`` (Redis) or the SQLite file ``db``."""
    store = store if store is not None else _store
    if store is None:
        return PrincipalStore(db)
    from web.redis_auth import RedisPrincipalStore

    return RedisPrincipalStore(store)


def make_tokens(db: Path) -> dict[str, str]:
    """One token per role binding used by the tests, created in the service's store."""
    store = open_principals(db)
    specs = {
        "dispatcher": {"role": "dispatcher"},
        "admin": {"role": "admin"},
        "planner": {"role": "planner"},
        "manager": {"role": "manager"},
        "police": {"role": "agency", "agency": "police"},
        "ambulance": {"role": "agency", "agency": "ambulance"},
        "psychiatry": {"role": "agency", "agency": "psychiatry"},
        "crew_sun": {"role": "crew", "unit_id": "MAE-SUNDERBY"},
        "crew_pit": {"role": "crew", "unit_id": "MAE-PITEA"},
        "crew_sun2": {"role": "crew", "unit_id": "MAE-SUNDERBY"},  # the unit's second phone
    }
    tokens = {}
    for name, spec in specs.items():
        _, tokens[name] = store.create(name=name, **spec)
    store.close()
    return tokens


@dataclass
class Server:
    """A dispatch service reachable over real TCP sockets."""

    base: str
    db: Path
    tokens: dict[str, str]
    stop: Callable[[], None] = field(repr=False)
    store: str | None = None

    def principals(self) -> Principals:
        """The server's principals store (close it after use)."""
        return open_principals(self.db, self.store)

    def audit(self) -> Audit:
        """The server's audit log (close it after use)."""
        if self.store is None:
            return AuditLog(self.db)
        from web.redis_audit import RedisAuditLog

        return RedisAuditLog(self.store)

    def events(self) -> list[Envelope]:
        """Every event in the server's log (read through the store's own interface)."""
        log: EventStore
        if self.store is None:
            log = SqliteEventStore(self.db)
        else:
            from web.redislog import RedisEventStore

            log = RedisEventStore(self.store)
        try:
            return list(log.read(0))
        finally:
            log.close()

    def positions(self) -> PositionStorage:
        """The server's positions store (close it after use)."""
        if self.store is None:
            return PositionStore(self.db)
        from web.redis_positions import RedisPositions

        return RedisPositions(self.store)

    def store_args(self) -> list[str]:
        """The ``mae`` options naming this server's store."""
        return ["--database", str(self.db)] + (["--store", self.store] if self.store else [])

    def stored_text(self) -> str:
        """Everything the server's store holds, as text (to check what never is in it)."""
        if self.store is None:
            conn = sqlite3.connect(self.db)
            try:
                return "\n".join(conn.iterdump())
            finally:
                conn.close()
        return redis_text(self.store)

    @property
    def ws(self) -> str:
        return self.base.replace("http://", "ws://")

    def http(self, who: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=10.0)

    def socket(self, path: str, who: str, since: int | None = None) -> Sock:
        """A socket logged in as ``who`` by the ``mae.bearer.<token>`` subprotocol."""
        url = f"{self.ws}{path}" + (f"?since={since}" if since is not None else "")
        return Sock(connect(url, subprotocols=bearer(self.tokens[who]), open_timeout=10,
                            close_timeout=2))


def redis_text(url: str) -> str:
    """Every key and value of a Redis database, as text."""
    import redis

    r = redis.Redis.from_url(url)
    out = []
    read: dict[str, Callable[[bytes], Any]] = {
        "string": r.get, "hash": r.hgetall, "stream": r.xrange, "set": r.smembers,
        "zset": lambda k: r.zrange(k, 0, -1), "list": lambda k: r.lrange(k, 0, -1)}
    for key in r.scan_iter():
        raw = r.type(key)
        kind = raw.decode() if isinstance(raw, bytes) else str(raw)
        out.append(f"{key!r} {read[kind](key) if kind in read else None!r}")
    r.close()
    return "\n".join(out)


def bearer(token: str) -> list[Any]:
    """The subprotocols a client offers to log in with ``token`` (the server answers mae.v1)."""
    return ["mae.v1", f"mae.bearer.{token}"]


def wait_healthy(base: str, *, timeout_s: float = 60.0, proc: subprocess.Popen[bytes] | None = None
                 ) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/api/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not become healthy")


def serve_app(app: Any, port: int, db: Path, tokens: dict[str, str], *,
              join_timeout_s: float = 30.0) -> Server:
    """Run ``app`` with uvicorn in a daemon thread on ``port`` until it answers /api/health.
    Stopping it must finish within ``join_timeout_s`` (generous: a stop writes a snapshot and
    waits for the planner and the writer, and CI machines are shared)."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            ws_per_message_deflate=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=join_timeout_s)
        assert not thread.is_alive(), "the server thread did not stop"

    return Server(base, db, tokens, stop, _store)


def thread_server(db: Path, tokens: dict[str, str], *, clock: ManualClock | None = None,
                  port: int | None = None, replay_pace: Callable[[], Pace] = WallPace,
                  **settings: Any) -> Server:
    """The dispatch service on ``port`` (a free one by default) in a thread."""
    port = port if port is not None else free_port()
    settings.setdefault("store", _store)
    app = create_app(Settings(database=db, port=port, **settings), clock=clock,
                     replay_pace=replay_pace)
    return serve_app(app, port, db, tokens)


def process_server(
    db: Path, tokens: dict[str, str], port: int
) -> tuple[Server, subprocess.Popen[bytes]]:
    env = {**os.environ, "MAE_TICK_INTERVAL_S": "0.2"}
    store = ["--store", _store] if _store is not None else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "mae.cli", "serve", "--database", str(db), "--port", str(port),
         "--demo-units", "--ack-timeout", "600", *store],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc=proc)
    except BaseException:
        proc.kill()
        proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()
        raise

    def stop() -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    return Server(base, db, tokens, stop, _store), proc


class Sock:
    """A socket client that records every event seq it receives and checks order."""

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.seqs: list[int] = []
        self.messages: list[dict[str, Any]] = []
        self._next_id = 0

    def recv(self, timeout: float = 10.0) -> dict[str, Any]:
        msg: dict[str, Any] = json.loads(self.conn.recv(timeout=timeout))
        self.messages.append(msg)
        if msg.get("type") == "event":
            assert not self.seqs or msg["seq"] > self.seqs[-1], "event out of order or repeated"
            self.seqs.append(msg["seq"])
        return msg

    def until(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 10.0
              ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            msg = self.recv(timeout=max(0.05, deadline - time.monotonic()))
            if pred(msg):
                return msg

    def request(self, msg: dict[str, Any], timeout: float = 20.0) -> dict[str, Any]:
        """Send ``msg`` with a fresh id and return the reply carrying that id."""
        self._next_id += 1
        rid = f"r{self._next_id}"
        self.conn.send(json.dumps({**msg, "id": rid}))
        return self.until(lambda m: m.get("id") == rid, timeout)

    def ready(self) -> dict[str, Any]:
        return self.until(lambda m: m.get("type") == "ready")

    @property
    def last_seq(self) -> int:
        return self.seqs[-1] if self.seqs else 0

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "dispatch.sqlite3"


@pytest.fixture
def tokens(db: Path) -> dict[str, str]:
    return make_tokens(db)


@pytest.fixture
def server(request: pytest.FixtureRequest, db: Path, tokens: dict[str, str]) -> Iterator[Server]:
    """A service with the demo units in a thread; a test module may set ``SERVER_OPTIONS``
    (more :func:`thread_server` keywords, e.g. ``{"ack_timeout_s": 3600}``) for all its tests."""
    options = {"demo_units": True, **getattr(request.module, "SERVER_OPTIONS", {})}
    srv = thread_server(db, tokens, **options)
    yield srv
    srv.stop()


@pytest.fixture
def dispatcher(server: Server) -> Iterator[Sock]:
    """A dispatcher's socket to ``server``, ready."""
    sock = server.socket("/ws/dispatch", "dispatcher")
    sock.ready()
    yield sock
    sock.close()


#: The Chromium to drive: ``dev.py test`` sets MAE_CHROMIUM (Debian's, or Playwright's download).
CHROMIUM = Path(os.environ.get("MAE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
SCREENSHOTS = ROOT / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A real Chromium, headless, driven by Playwright: the one ``dev.py test`` set up. One per
    test module: Playwright's sync API keeps an event loop running in the main thread while it
    is open, and tests that call ``asyncio.run`` after a browser module need it closed."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: 'python3 dev.py test' installs a Chromium")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot to ``screenshots/NAME.png`` for people to look at."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def clock() -> ManualClock:
    """A service clock the test moves by hand."""
    return ManualClock()


@pytest.fixture
def timed(tmp_path: Path, clock: ManualClock) -> Iterator[Server]:
    """Demo units, a manual clock and a 60 s acknowledgement limit checked every 50 ms."""
    db = tmp_path / "timed.sqlite3"
    srv = thread_server(db, make_tokens(db), clock=clock, demo_units=True, ack_timeout_s=60,
                        tick_interval_s=0.05)
    yield srv
    srv.stop()
