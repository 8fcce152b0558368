"""Service startup on long logs: full replay vs the newest snapshot plus the log's tail.

Builds (once, cached under ``--cache``) service databases of 50k, 200k and 1M realistic events
(``_startup_log.py``: callouts through the real workflow, with notes, positions, transports
and follow-ups), and for each two snapshots made by the service's code: ``--tail`` events
before the end, and at the end. Then starts
``mae serve`` in a subprocess and times *port answers*: from the process start to the first
``200`` of ``GET /api/health`` (Python start, imports, map, the log; the port opens only after
the log is loaded), with the process's peak RSS (``VmHWM``) at that moment. Rows:

- ``empty``: a database with no events, the fixed cost of a start;
- ``full-replay``: snapshots off (``MAE_SNAPSHOT_EVERY=0``), every event replayed;
- ``snapshot+tail``: a snapshot ``--tail`` events before the end restored, then the tail
  replayed (a restart after a crash: at most ``snapshot_every`` events);
- ``snapshot``: a snapshot at the end (a restart after a clean shutdown, which writes one).

The server is killed after each measurement (SIGKILL, so no shutdown snapshot changes the
cached input). Times are medians of ``--runs`` starts (full replays of the 1M log: one).

    .venv/bin/python benchmarks/bench_startup.py [--sizes 50000,200000,1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _startup_log import build_log

from dispatch.snapshot import decode_snapshot
from maps.bundled import load_bundled
from web.eventstore import SqliteEventStore
from web.service import DispatchService
from web.snapshots import SnapshotFiles, Snapshotter

ROOT = Path(__file__).resolve().parent.parent


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


def snapshot_at(db: Path, seq: int, cache: Path) -> Path:
    """The cached snapshot of ``db`` at ``seq`` (kept in ``cache``, not beside the database),
    made by the service's own code on a copy of the log cut there (so its event digest
    matches the full log's)."""
    kept = cache / f"{db.stem}-at-{seq}.snap"
    if kept.exists():
        return kept
    cut = db.with_name(db.stem + f"-cut{seq}.sqlite3")
    shutil.copyfile(db, cut)
    conn = sqlite3.connect(cut)
    conn.execute("DELETE FROM events WHERE seq > ?", (seq,))
    conn.commit()
    conn.close()
    t = time.perf_counter()
    store = SqliteEventStore(cut)
    snaps = Snapshotter(cut, every=10_000)
    service = DispatchService(store, graph=load_bundled(), snapshots=snaps)
    service.load()
    asyncio.run(service.save_snapshot())
    store.close()
    made = SnapshotFiles(cut).paths()[0][1]
    shutil.copyfile(made, kept)
    shutil.rmtree(SnapshotFiles(cut).directory)
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(f"{cut}{suffix}").unlink(missing_ok=True)
    print(f"snapshot of {db.name} at {seq}: {kept.stat().st_size / 1e6:.1f} MB, "
          f"made in {time.perf_counter() - t:.1f} s", flush=True)
    return kept


def use_snapshot(db: Path, snap: Path | None) -> None:
    """Leave only ``snap`` (or nothing) in the database's snapshot directory."""
    files = SnapshotFiles(db)
    shutil.rmtree(files.directory, ignore_errors=True)
    if snap is not None:
        files.directory.mkdir()
        seq = int(snap.stem.rsplit("-", 1)[1])
        shutil.copyfile(snap, files.directory / f"snapshot-{seq:012d}.snap")


def port_answers(db: Path, *, snapshot_every: int, timeout_s: float = 900.0
                 ) -> tuple[float, float]:
    """Seconds from starting ``mae serve`` on ``db`` until /api/health answers 200, and the
    server's peak RSS in MB by then."""
    port = free_port()
    env = {**os.environ, "MAE_SNAPSHOT_EVERY": str(snapshot_every), "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mae", "serve", "--database", str(db), "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"mae serve exited with {proc.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health",
                             timeout=2.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() - t0 > timeout_s:
                raise RuntimeError("mae serve did not answer")
            time.sleep(0.02)
        elapsed = time.perf_counter() - t0
        status = Path(f"/proc/{proc.pid}/status").read_text()
        hwm = next(int(line.split()[1]) for line in status.splitlines()
                   if line.startswith("VmHWM:"))
        return elapsed, hwm / 1024
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="50000,200000,1000000",
                        help="log lengths in events, comma-separated")
    parser.add_argument("--tail", type=int, default=5_000,
                        help="events after the snapshot (default 5000)")
    parser.add_argument("--runs", type=int, default=3, help="starts per row (median)")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/mae-bench-startup"))
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]

    rows: list[tuple[str, str, float, float, float, str]] = []
    empty = database(args.cache, 0)
    times, peaks = zip(*(port_answers(empty, snapshot_every=0) for _ in range(args.runs)),
                       strict=True)
    rows.append(("0", "empty", statistics.median(times), max(peaks), float("nan"), ""))
    for n in sizes:
        db = database(args.cache, n)
        tail_snap = snapshot_at(db, max(n - args.tail, 0), args.cache)
        end_snap = snapshot_at(db, n, args.cache)
        t = time.perf_counter()
        decode_snapshot(end_snap.read_bytes())
        decode_s = time.perf_counter() - t
        full_runs = 1 if n >= 500_000 else args.runs
        use_snapshot(db, None)
        full = [port_answers(db, snapshot_every=0) for _ in range(full_runs)]
        use_snapshot(db, tail_snap)
        tailed = [port_answers(db, snapshot_every=10_000) for _ in range(args.runs)]
        use_snapshot(db, end_snap)
        clean = [port_answers(db, snapshot_every=10_000) for _ in range(args.runs)]
        use_snapshot(db, None)
        full_s = statistics.median(x for x, _ in full)
        rows.append((str(n), "full-replay", full_s, max(m for _, m in full), 1.0,
                     f"{full_runs} run(s)"))
        for mode, runs, note in (
                ("snapshot+tail", tailed, f"tail {min(args.tail, n)} events (after a crash)"),
                ("snapshot", clean, f"tail 0 (after a shutdown); "
                 f"{end_snap.stat().st_size / 1e6:.1f} MB, decoded in-process in "
                 f"{decode_s:.2f} s")):
            secs = statistics.median(x for x, _ in runs)
            rows.append((str(n), mode, secs, max(m for _, m in runs), secs / full_s, note))
        print(f"done {n}", flush=True)

    print()
    print(f"{'events':>9} {'mode':<14} {'answers s':>9} {'peak MB':>8} {'x full':>7}  notes")
    print("-" * 78)
    for n_s, mode, secs, peak, ratio, note in rows:
        ratio_s = "" if ratio != ratio else f"{ratio:.3f}"
        print(f"{n_s:>9} {mode:<14} {secs:>9.2f} {peak:>8.0f} {ratio_s:>7}  {note}")


if __name__ == "__main__":
    main()
