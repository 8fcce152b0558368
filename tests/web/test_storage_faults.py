"""Real storage faults: a full disk (a small tmpfs, ENOSPC) and a file-size limit (EFBIG from
``RLIMIT_FSIZE`` in a server process). A failed commit answers JSON 503 with ``Retry-After``
(never a plain-text 500), the service's state stays equal to a fresh replay of the log,
``/api/health`` names the failing store, and writes work again once the store does."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import resource
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dispatch.events import Envelope, event_from_dict
from dispatch.state import DispatchState
from tests.redis_server import RedisServer
from tests.web.conftest import (
    ROOT,
    ManualClock,
    Server,
    free_port,
    make_tokens,
    serve_app,
    wait_healthy,
)
from web.app import create_app
from web.redis_auth import RedisPrincipalStore
from web.redislog import RedisEventStore
from web.settings import Settings


def alarm(ref: str) -> dict[str, Any]:
    return {"reference": ref, "location": {"lat": 65.584, "lon": 22.154},
            "priority": 2, "category": "psychosis"}


def stored_log(db: Path) -> list[Envelope]:
    """The log as a fresh reader sees it (read-only, a connection of its own)."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        rows = conn.execute("SELECT seq, data FROM events ORDER BY seq").fetchall()
    return [Envelope(int(seq), event_from_dict(json.loads(data))) for seq, data in rows]


def replayed(db: Path) -> dict[str, Any]:
    return DispatchState.replay(stored_log(db)).snapshot()


def without_positions(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A state snapshot without the units' positions (they live in their own table, not in
    the log a replay reads)."""
    for unit in snapshot["units"].values():
        unit.pop("position")
        unit.pop("position_at")
    return snapshot


def stored_position(db: Path, unit_id: str) -> tuple[float, float] | None:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        row = conn.execute("SELECT lat, lon FROM unit_positions WHERE unit_id = ?",
                           (unit_id,)).fetchone()
    return (float(row[0]), float(row[1])) if row else None


def fill(directory: Path) -> Path:
    """Write zeros into ``directory`` until its filesystem is full (ENOSPC); returns the file."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        for size in (65_536, 4096, 512):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
        with pytest.raises(OSError) as full:
            os.write(fd, b"\0")
        assert full.value.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def assert_503(reply: httpx.Response, store: str = "events") -> None:
    assert reply.status_code == 503, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    assert int(reply.headers["retry-after"]) > 0
    body = reply.json()
    assert body["error"] == "storage_unavailable" and body["store"] == store
    assert "cannot rollback" not in body["message"]


def wait_for(predicate: Any, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@contextlib.contextmanager
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs: mounting needs root, so the test is skipped (saying why) without it."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root; run as root to test ENOSPC")
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path) as mount:
        yield mount


def test_a_full_disk_answers_503_keeps_state_equal_to_the_log_and_recovers(
        small_fs: Path) -> None:
    db = small_fs / "dispatch.sqlite3"
    tokens = make_tokens(db)
    port = free_port()
    clock = ManualClock()
    app = create_app(Settings(database=db, port=port, demo_units=True,
                              storage_probe_interval_s=0.2), clock=clock, tick=False)
    server = serve_app(app, port, db, tokens)
    service = app.state.service
    crew = server.socket("/ws/crew", "crew_sun")
    try:
        with server.http("police") as police:
            crew.ready()
            assert police.post("/api/alarms", json=alarm("before")).status_code == 201
            filler = fill(small_fs)

            assert_503(police.post("/api/alarms", json=alarm("full-1")))
            reply = crew.request({"type": "shift_end"})
            assert reply["type"] == "error" and reply["status"] == 503
            assert reply["error"] == "storage_unavailable" and reply["retry_after_s"] > 0
            assert_503(police.post("/api/alarms", json=alarm("full-2")))
            clock.advance(5)  # a position is kept in memory and stored once the disk has room
            assert crew.request({"type": "position", "lat": 65.83, "lon": 21.69})["kept"]
            wait_for(lambda: "positions" in {
                s["store"] for s in httpx.get(f"{server.base}/api/health").json()["storage"]})

            assert without_positions(service.state.snapshot()) == \
                without_positions(replayed(db))
            assert "police/full-1" not in service.state.alarms
            health = httpx.get(f"{server.base}/api/health")
            assert health.status_code == 503 and health.headers["retry-after"]
            problem = {s["store"]: s for s in health.json()["storage"]}["events"]
            assert not problem["ok"] and "full" in problem["error"]
            assert health.json()["accepting_writes"] is False  # every write is refused
            # a refused token cannot be audited: 503, not a 500 nor an unrecorded 401
            wrong = "mae_0123456789abcdef_" + "x" * 43
            refused = httpx.get(f"{server.base}/api/units",
                                headers={"Authorization": f"Bearer {wrong}"})
            assert_503(refused, store="audit")

            filler.unlink()
            wait_for(lambda: httpx.get(f"{server.base}/api/health").status_code == 200)
            assert httpx.get(f"{server.base}/api/health").json()["accepting_writes"] is True
            assert police.post("/api/alarms", json=alarm("after")).status_code == 201
            assert crew.request({"type": "shift_end"})["type"] == "ok"
            assert without_positions(service.state.snapshot()) == \
                without_positions(replayed(db))
            wait_for(lambda: stored_position(db, "MAE-SUNDERBY") == (65.83, 21.69))
            assert {"police/before", "police/after"} <= set(service.state.alarms)
    finally:
        crew.close()
        server.stop()


# -- EFBIG: a file-size limit in a real server process ---------------------------------------

_LIMITED = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the process at the limit
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
from mae.cli import main
sys.exit(main(sys.argv[2:]))
"""


def limited_server(db: Path, tokens: dict[str, str], limit: int
                   ) -> tuple[Server, subprocess.Popen[bytes]]:
    port = free_port()
    env = {**os.environ, "MAE_STORAGE_PROBE_INTERVAL_S": "0.3", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _LIMITED, str(limit), "serve", "--database", str(db),
         "--port", str(port), "--demo-units"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base, proc=proc)

    def stop() -> None:
        proc.kill()
        proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()

    return Server(base, db, tokens, stop), proc


def test_a_file_size_limit_answers_503_and_the_state_follows_the_log(tmp_path: Path) -> None:
    db = tmp_path / "dispatch.sqlite3"
    tokens = make_tokens(db)
    # room for the start (units, a few heartbeats) and some alarms, then EFBIG
    server, proc = limited_server(db, tokens, limit=db.stat().st_size + 320_000)
    police = server.http("police")
    try:
        answers: dict[str, int] = {}
        for i in range(400):
            reply = police.post("/api/alarms", json=alarm(f"a{i}"))
            answers[f"police/a{i}"] = reply.status_code
            if reply.status_code != 201:
                assert_503(reply)
                break
        assert 503 in answers.values(), "the file-size limit was never reached"
        health = httpx.get(f"{server.base}/api/health")
        assert health.status_code == 503
        assert "events" in {s["store"] for s in health.json()["storage"]}

        log = stored_log(db)
        fresh = DispatchState.replay(log)
        assert health.json()["seq"] == fresh.last_seq  # the service is not one event behind
        for alarm_id, status in answers.items():
            assert (alarm_id in fresh.alarms) == (status == 201), alarm_id
            read = police.get(f"/api/alarms/{alarm_id}")
            assert read.status_code == (200 if status == 201 else 404), alarm_id

        resource.prlimit(proc.pid, resource.RLIMIT_FSIZE,
                         (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        wait_for(lambda: httpx.get(f"{server.base}/api/health").status_code == 200)
        again = police.post("/api/alarms", json=alarm("after"))
        assert again.status_code == 201
        assert again.json()["seq"] == DispatchState.replay(stored_log(db)).last_seq
    finally:
        police.close()
        server.stop()


def test_redis_unreachable_answers_503_names_the_store_and_recovers_by_itself(
        redis_folder: Path, tmp_path: Path) -> None:
    """The service on a Redis store whose redis-server is killed: writes (and logins, which
    read the principals) answer JSON 503 with Retry-After, never a 500; ``/api/health`` names
    the failing store; once redis-server is back on the same port (its append-only file
    kept every acknowledged write) the service takes writes again without a restart."""
    redis_server = RedisServer(redis_folder, appendonly=True).start()
    url = redis_server.url()
    db = tmp_path / "unused.sqlite3"  # nothing is stored in it on Redis
    principals = RedisPrincipalStore(url)
    tokens = {"police": principals.create(role="agency", name="p", agency="police")[1]}
    principals.close()
    port = free_port()
    app = create_app(Settings(database=db, port=port, store=url, storage_probe_interval_s=0.2,
                              tick_interval_s=60), clock=ManualClock())
    server = serve_app(app, port, db, tokens)
    seen: list[int] = []
    try:
        with server.http("police") as police:
            first = police.post("/api/alarms", json=alarm("before"))
            assert first.status_code == 201, first.text
            redis_server.kill()
            for ref in ("during-1", "during-2"):
                reply = police.post("/api/alarms", json=alarm(ref))
                seen.append(reply.status_code)
                assert reply.status_code == 503, reply.text
                assert reply.json()["error"] == "storage_unavailable"
                assert int(reply.headers["Retry-After"]) >= 1
            deadline = time.monotonic() + 15
            while True:
                health = httpx.get(f"{server.base}/api/health", timeout=10)
                seen.append(health.status_code)
                stores = {s["store"] for s in health.json()["storage"]}
                if health.status_code == 503 and "events" in stores:
                    break
                assert time.monotonic() < deadline, health.text
                time.sleep(0.1)
            assert health.json()["status"] == "degraded"

            redis_server.start()  # same folder and port: the append-only file is read back
            deadline = time.monotonic() + 20
            while httpx.get(f"{server.base}/api/health", timeout=10).status_code != 200:
                assert time.monotonic() < deadline, "the service did not recover"
                time.sleep(0.1)
            after = police.post("/api/alarms", json=alarm("after"))
            assert after.status_code == 201, after.text
            assert police.get("/api/alarms/police/before").status_code == 200
    finally:
        server.stop()
        redis_server.stop()
    assert 500 not in seen
    restarted = RedisServer(redis_folder, port=redis_server.port, appendonly=True).start()
    try:
        store = RedisEventStore(restarted.url())
        refs = [getattr(e.event, "alarm", None) for e in store.read(0)]
        store.close()
        assert [a.reference for a in refs if a is not None] == ["before", "after"]
    finally:
        restarted.stop()


# -- an unreadable log: the writer stops taking writes ----------------------------------------

def scramble(db: Path) -> dict[Path, bytes]:
    """Overwrite the database, its write-ahead log and its shared-memory index with garbage in
    place (the server's open connections see it: real on-disk damage, no mock); returns the
    bytes to put back."""
    saved: dict[Path, bytes] = {}
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        if path.exists():
            saved[path] = path.read_bytes()
            with open(path, "r+b") as f:
                f.write(b"\xa5" * len(saved[path]))
    return saved


def put_back(saved: dict[Path, bytes]) -> None:
    for path, data in saved.items():
        with open(path, "r+b") as f:
            f.write(data)


def test_a_log_that_cannot_be_read_after_a_failed_commit_halts_writes_until_it_can(
        tmp_path: Path) -> None:
    """A commit fails and re-reading the log's end fails too (the file no longer reads as a
    database): the writer stops taking writes (JSON 503 naming the events store, health 503
    with ``accepting_writes`` false; a token check now answers 503 naming the principals),
    its state stays that of the log as last read, and once the file reads again the
    heartbeat catches up and writes are taken again."""
    db = tmp_path / "dispatch.sqlite3"
    tokens = make_tokens(db)
    port = free_port()
    app = create_app(Settings(database=db, port=port, demo_units=True,
                              storage_probe_interval_s=0.2), clock=ManualClock(), tick=False)
    server = serve_app(app, port, db, tokens)
    service = app.state.service
    crew = server.socket("/ws/crew", "crew_sun")  # logged in before the damage
    try:
        with server.http("police") as police:
            crew.ready()
            assert police.post("/api/alarms", json=alarm("before")).status_code == 201
            wait_for(lambda: httpx.get(f"{server.base}/api/health").status_code == 200)
            before = service.state.snapshot()
            saved = scramble(db)
            try:
                reply = crew.request({"type": "shift_end"})
                assert reply["type"] == "error" and reply["status"] == 503, reply
                assert reply["error"] == "storage_unavailable" and reply["retry_after_s"] > 0
                assert service.writer.halted
                health = httpx.get(f"{server.base}/api/health")
                assert health.status_code == 503 and int(health.headers["retry-after"]) > 0
                assert health.json()["accepting_writes"] is False
                problem = {s["store"]: s for s in health.json()["storage"]}["events"]
                assert not problem["ok"] and problem["error"]
                time.sleep(0.6)  # heartbeats fail meanwhile: it stays halted
                assert service.writer.halted
                again = crew.request({"type": "shift_end"})
                assert again["type"] == "error" and again["status"] == 503, again
                assert_503(police.post("/api/alarms", json=alarm("lost")), store="principals")
                assert service.state.snapshot() == before
            finally:
                put_back(saved)
            wait_for(lambda: not service.writer.halted)
            wait_for(lambda: httpx.get(f"{server.base}/api/health").status_code == 200)
            assert httpx.get(f"{server.base}/api/health").json()["accepting_writes"] is True
            after = police.post("/api/alarms", json=alarm("after"))
            assert after.status_code == 201, after.text
            assert crew.request({"type": "shift_end"})["type"] == "ok"
            assert without_positions(service.state.snapshot()) == \
                without_positions(replayed(db))
            assert "police/lost" not in service.state.alarms
            assert {"police/before", "police/after"} <= set(service.state.alarms)
    finally:
        crew.close()
        server.stop()


def test_a_database_locked_by_another_program_answers_503_without_an_audit_row(
        server: Server) -> None:
    """Another program holds the write lock (as ``BEGIN IMMEDIATE`` does): a client's write
    gets a JSON 503 once the service's short busy timeout passes, nothing is stored, and the
    refusal writes no audit row (that write would wait out the lock once more: an audit saw
    30-60 s per request with the earlier 10 s timeouts queued on the one writer thread; the
    client here gives up after 10 s). Once the lock is gone, writes work again."""
    before = stored_log(server.db)
    blocker = sqlite3.connect(server.db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with server.http("police") as police:
            refused = police.post("/api/alarms", json=alarm("LOCK-1"))
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert_503(refused)
    assert "locked" in refused.json()["message"]
    assert stored_log(server.db) == before
    with contextlib.closing(sqlite3.connect(f"file:{server.db}?mode=ro", uri=True)) as conn:
        rows = conn.execute("SELECT target FROM audit WHERE action LIKE 'alarm%'").fetchall()
    assert not any("LOCK-1" in row[0] for row in rows)
    with server.http("police") as police:
        wait_for(lambda: police.post("/api/alarms", json=alarm("LOCK-2")).status_code == 201)
    assert len(stored_log(server.db)) > len(before)
