"""Service startup on a long log: how soon ``mae serve`` answers, quiet and with the other core
busy, this tree against an older one (``--before``) in the same run.

Builds (once, cached under ``--cache``) a service database of ``--events`` realistic events
(``_startup_log.py``: callouts through the real workflow, with notes, positions, transports and
follow-ups) and an empty one, and for each code tree two snapshots made by that tree's own code
(in a subprocess): ``--tail`` events before the end (a restart after a crash) and at the end (a
restart after a clean shutdown, which writes one). Then starts ``mae serve`` in a subprocess
and measures, from the process start:

- *health*: the first ``200`` of ``GET /api/health`` (the port opens once the log is loaded);
- *dispatcher*: a dispatcher's socket has its board (``ready``);
- *alarm*: a police alarm (REST) is answered: the first write (a start that decodes the
  closed history after the port opens holds writes until it is in);
- *first rec*: after that alarm, the dispatcher has the recommendations for its callout: the
  first question that needs the map and routing (the units are placed at
  their bases through the positions table, see :func:`place_units`; the empty database has
  no units, so its recommendation is an empty list after the location check);
- *cpu s*: the server's CPU time (user + system, all threads) when health answered, which
  depends much less on what else the machine does than the wall times;
- *peak MB*: the server's peak RSS when health answered.

Peer rows in the same run: ``bare`` is a FastAPI app with one health route under uvicorn
(``_bare_health.py``: the floor of any FastAPI service's start on this machine), and with
``--full-replay`` a start with snapshots off (the whole log replayed; quiet only, one start).

Each row runs ``quiet`` and ``loaded``: with a busy-loop process started first (one core of
the two kept busy). The server is killed after each start (SIGKILL, so no shutdown snapshot
changes the cached input). Times are medians of ``--runs`` starts; ``x before`` is the
median health time over the ``--before`` tree's on the same input and load.

    .venv/bin/python benchmarks/bench_startup.py [--events 1000000] [--runs 3]
        [--before /work/main] [--full-replay]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _startup_log import build_log

from web.auth import PrincipalStore
from web.snapshots import SnapshotFiles

ROOT = Path(__file__).resolve().parent.parent

#: Made in a subprocess by the tree under test: a snapshot of the database cut at ``seq``.
_MAKE_SNAPSHOT = """
import asyncio, sys
from pathlib import Path
from maps.bundled import load_bundled
from web.eventstore import SqliteEventStore
from web.service import DispatchService
from web.snapshots import Snapshotter
cut = Path(sys.argv[1])
store = SqliteEventStore(cut)
service = DispatchService(store, graph=load_bundled(), snapshots=Snapshotter(cut, every=10_000))
service.load()
asyncio.run(service.save_snapshot())
service.close()
store.close()
"""

#: The files whose content decides a snapshot's format: a change makes new ones.
_SHAPE = ("dispatch/snapshot.py", "dispatch/state.py", "dispatch/events.py",
          "dispatch/model.py", "web/snapshots.py", "web/logindex.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database(cache: Path, n: int) -> Path:
    """The cached database of ``n`` events (built when missing)."""
    db = cache / f"log-{n}.sqlite3"
    done = cache / f"log-{n}.done"
    if not done.exists():
        t = time.perf_counter()
        build_log(db, n)
        done.write_text(str(n))
        print(f"built {db.name}: {n} events in {time.perf_counter() - t:.1f} s", flush=True)
    return db


def tokens(db: Path, cache: Path) -> dict[str, str]:
    """A dispatcher's and a police system's tokens in ``db`` (made once, kept in ``cache``)."""
    kept = cache / f"{db.stem}-tokens.json"
    if kept.exists():
        found: dict[str, str] = json.loads(kept.read_text())
        return found
    store = PrincipalStore(db)
    made = {"dispatcher": store.create(role="dispatcher", name="bench dispatcher")[1],
            "police": store.create(role="agency", agency="police", name="bench police")[1]}
    store.close()
    kept.write_text(json.dumps(made))
    return made


def place_units(db: Path) -> None:
    """Each unit's last reported position (the positions table a start places units from) at
    its registered base, a minute after the log's latest time: the generator's position
    events are random points, some off the bundled map's roads, and a recommendation needs
    every unit on the map."""
    conn = sqlite3.connect(db)
    try:
        conn.executescript("CREATE TABLE IF NOT EXISTS unit_positions (unit_id TEXT PRIMARY "
                           "KEY, lat REAL NOT NULL, lon REAL NOT NULL, label TEXT, at TEXT NOT "
                           "NULL) WITHOUT ROWID;")
        row = conn.execute("SELECT max(json_extract(data, '$.at')) FROM events").fetchone()
        if row is None or row[0] is None:
            return
        at = (datetime.fromisoformat(row[0]) + timedelta(minutes=1)).isoformat()
        units = conn.execute(
            "SELECT json_extract(data, '$.unit_id'), json_extract(data, '$.position.lat'), "
            "json_extract(data, '$.position.lon') FROM events WHERE type = 'UnitRegistered'"
        ).fetchall()
        conn.executemany("INSERT OR REPLACE INTO unit_positions VALUES (?, ?, ?, '', ?)",
                         [(u, lat, lon, at) for u, lat, lon in units])
        conn.commit()
    finally:
        conn.close()


def cut_back(db: Path, n: int) -> None:
    """Drop what a measured start added to the log (its alarm), so every start reads the same."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("DELETE FROM events WHERE seq > ?", (n,))
        conn.commit()
    finally:
        conn.close()


def code_key(tree: Path) -> str:
    digest = hashlib.sha256()
    for name in _SHAPE:
        path = tree / name
        digest.update(path.read_bytes() if path.exists() else b"-")
    return digest.hexdigest()[:10]


def snapshot_at(db: Path, seq: int, cache: Path, tree: Path) -> Path:
    """The cached snapshot of ``db`` at ``seq`` made by the code in ``tree`` (on a copy of
    the log cut there, so its event digest matches the full log's)."""
    kept = cache / f"{db.stem}-at-{seq}-{code_key(tree)}.snap"
    if kept.exists():
        return kept
    cut = db.with_name(db.stem + f"-cut{seq}.sqlite3")
    shutil.copyfile(db, cut)
    conn = sqlite3.connect(cut)
    conn.execute("DELETE FROM events WHERE seq > ?", (seq,))
    conn.commit()
    conn.close()
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", _MAKE_SNAPSHOT, str(cut)], cwd=tree, check=True,
                   env={**os.environ, "PYTHONPATH": str(tree)})
    made = SnapshotFiles(cut).paths()[0][1]
    shutil.copyfile(made, kept)
    shutil.rmtree(SnapshotFiles(cut).directory)
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(f"{cut}{suffix}").unlink(missing_ok=True)
    print(f"snapshot of {db.name} at {seq} by {tree}: {kept.stat().st_size / 1e6:.1f} MB, "
          f"made in {time.perf_counter() - t:.1f} s", flush=True)
    return kept


def use_snapshot(db: Path, snap: Path | None) -> None:
    """Leave only ``snap`` (or nothing) in the database's snapshot directory."""
    files = SnapshotFiles(db)
    shutil.rmtree(files.directory, ignore_errors=True)
    if snap is not None:
        files.directory.mkdir()
        seq = int(snap.stem.split("-at-")[1].split("-")[0])
        shutil.copyfile(snap, files.directory / f"snapshot-{seq:012d}.snap")


@dataclass
class Start:
    health_s: float
    ready_s: float
    alarm_s: float
    rec_s: float
    cpu_s: float
    peak_mb: float


_NAN = float("nan")


def start_bare() -> Start:
    """The bare FastAPI app's start: health, CPU and peak RSS (no board, no writes)."""
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "_bare_health.py"),
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the bare app exited with {proc.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health",
                             timeout=5.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.01)
        health = time.perf_counter() - t0
        return Start(health, _NAN, _NAN, _NAN, _proc_cpu_s(proc.pid), _peak_mb(proc.pid))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)


def _proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines()
                if line.startswith("VmHWM:")) / 1024


def start(db: Path, tree: Path, keys: dict[str, str], *, snapshot_every: int, n: int,
          timeout_s: float = 900.0) -> Start:
    """Start ``mae serve`` of ``tree`` on ``db`` (a log of ``n`` events); time health, a
    dispatcher's board and the first recommendation from the process start."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(MAE_SNAPSHOT_EVERY=str(snapshot_every), PYTHONPATH=str(tree))
    base = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mae", "serve", "--database", str(db), "--port", str(port)],
        cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"mae serve exited with {proc.returncode}")
            try:
                if httpx.get(f"{base}/api/health", timeout=5.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() - t0 > timeout_s:
                raise RuntimeError("mae serve did not answer")
            time.sleep(0.01)
        health = time.perf_counter() - t0
        cpu, peak = _proc_cpu_s(proc.pid), _peak_mb(proc.pid)
        with connect(f"ws://127.0.0.1:{port}/ws/dispatch", open_timeout=60,
                     subprotocols=["mae.v1", f"mae.bearer.{keys['dispatcher']}"],  # type: ignore[list-item]
                     max_size=None) as ws:
            while json.loads(ws.recv(timeout=60)).get("type") != "ready":
                pass
            ready = time.perf_counter() - t0
            alarm = httpx.post(f"{base}/api/alarms", timeout=60, headers={
                "Authorization": f"Bearer {keys['police']}"}, json={
                "reference": f"BENCH-{n}-{time.time_ns()}", "priority": 1,
                "category": "psychosis", "location": {"lat": 65.5848, "lon": 22.1547}})
            if alarm.status_code not in (200, 201):
                raise RuntimeError(f"alarm: {alarm.status_code} {alarm.text}")
            answered = time.perf_counter() - t0
            ws.send(json.dumps({"type": "recommend", "id": "r1",
                                "callout_id": alarm.json()["callout_id"]}))
            while True:
                msg = json.loads(ws.recv(timeout=60))
                if msg.get("id") == "r1":
                    if msg.get("type") != "recommendation":
                        raise RuntimeError(f"recommend: {msg}")
                    break
            rec = time.perf_counter() - t0
        return Start(health, ready, answered, rec, cpu, peak)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        cut_back(db, n)


class Busy:
    """A busy-loop process: one of the machine's cores kept busy while it runs."""

    def __enter__(self) -> Busy:
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.2)
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="log length")
    parser.add_argument("--tail", type=int, default=5_000,
                        help="events after the crash snapshot (default 5000)")
    parser.add_argument("--runs", type=int, default=3, help="starts per row (median)")
    parser.add_argument("--before", type=Path, default=Path("/work/main"),
                        help="an older tree to compare with ('' to skip)")
    parser.add_argument("--full-replay", action="store_true",
                        help="also start with snapshots off (a full replay: slow at 1M)")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/mae-bench-startup"))
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    trees = [("ours", ROOT)]
    if str(args.before) not in ("", ".") and args.before.resolve() != ROOT:
        trees.append(("before", args.before.resolve()))
    n = args.events
    empty, db = database(args.cache, 0), database(args.cache, n)
    keys = {"empty": tokens(empty, args.cache), "log": tokens(db, args.cache)}
    cut_back(empty, 0)
    cut_back(db, n)
    place_units(db)
    cases: list[tuple[str, Path, str, dict[str, str], dict[str, Path | None]]] = [
        ("0", empty, "empty", keys["empty"], {name: None for name, _ in trees})]
    for label, seq in (("snapshot", n), ("snapshot+tail", max(n - args.tail, 0))):
        snaps: dict[str, Path | None] = {name: snapshot_at(db, seq, args.cache, tree)
                                         for name, tree in trees}
        cases.append((str(n), db, label, keys["log"], snaps))
    if args.full_replay:
        cases.append((str(n), db, "full-replay", keys["log"], {name: None for name, _ in trees}))

    rows: list[tuple[str, str, str, str, Start, float | None]] = []
    fields = ("health_s", "ready_s", "alarm_s", "rec_s", "cpu_s", "peak_mb")
    for load in ("quiet", "loaded"):
        with Busy() if load == "loaded" else contextlib.nullcontext():
            bare = [start_bare() for _ in range(args.runs)]
        rows.append((load, "-", "bare", "fastapi",
                     Start(*(statistics.median(getattr(s, f) for s in bare) for f in fields)),
                     None))
        for events, path, mode, key, snaps in cases:
            if mode == "full-replay" and load == "loaded":
                continue
            medians: dict[str, Start] = {}
            for name, tree in trees:
                use_snapshot(path, snaps[name])
                every = 0 if mode == "full-replay" else 10_000
                runs = 1 if mode == "full-replay" else args.runs
                if load == "loaded":
                    with Busy():
                        got = [start(path, tree, key, snapshot_every=every, n=int(events))
                               for _ in range(runs)]
                else:
                    got = [start(path, tree, key, snapshot_every=every, n=int(events))
                           for _ in range(runs)]
                use_snapshot(path, None)
                medians[name] = Start(*(statistics.median(getattr(s, f) for s in got)
                                        for f in fields))
            for name, _ in trees:
                m = medians[name]
                ratio = m.health_s / medians["before"].health_s if "before" in medians else None
                rows.append((load, events, mode, name, m, ratio))
            print(f"done {load} {events} {mode}", flush=True)

    print()
    print(f"{args.runs} start(s) per row (medians); x before = health / before's health")
    head = (f"{'load':<7}{'events':>8} {'mode':<14}{'code':<8}{'health s':>9}"
            f"{'dispatcher s':>13}{'alarm s':>8}{'first rec s':>12}{'cpu s':>7}{'peak MB':>8}"
            f"{'x before':>9}")
    print(head)
    print("-" * len(head))
    for load, events, mode, name, m, ratio in rows:
        r = "" if ratio is None else f"{ratio:.2f}"
        print(f"{load:<7}{events:>8} {mode:<14}{name:<8}{m.health_s:>9.2f}{m.ready_s:>13.2f}"
              f"{m.alarm_s:>8.2f}{m.rec_s:>12.2f}{m.cpu_s:>7.2f}{m.peak_mb:>8.0f}{r:>9}")


if __name__ == "__main__":
    main()
