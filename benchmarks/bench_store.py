"""The event log's own costs on SQLite and on Redis, side by side in one run.

Peers, each on the same disk (a folder under ``--dir``), written through the store classes the
service uses (``web.eventstore.SqliteEventStore``, ``web.redislog.RedisEventStore``):

- ``sqlite``: WAL, ``synchronous=FULL`` (the default ``mae serve`` store);
- ``redis-always``: redis-server with ``deploy/redis.conf`` (AOF, ``appendfsync always``);
- ``redis-everysec``: the same with ``--appendfsync everysec`` (what it would save in time).

Rows: one alarm event per append (a lone command), a batch of 20 per append (a group commit),
and reading the whole log back (events/s, through ``read``, paged on Redis). Columns: p50 and
p99 ms per append, appends/s, events/s, and ``x sqlite``: the p50 as a ratio of SQLite's for
appends, the events/s as a ratio of SQLite's for the read.

    .venv/bin/python benchmarks/bench_store.py [--appends 300] [--batches 100] [--dir DIR]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dispatch.events import AlarmReceived, Event
from dispatch.model import Agency, Alarm, Category, Location, Priority
from web.eventstore import EventStore, SqliteEventStore
from web.redislog import RedisEventStore

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 1, 15, 14, 0, tzinfo=UTC)


def alarm_event(i: int) -> Event:
    alarm = Alarm(agency=Agency.POLICE, reference=f"L-{i}", received_at=T0,
                  location=Location(65.584, 22.154), priority=Priority.URGENT,
                  category=Category.PSYCHOSIS)
    return AlarmReceived(at=T0, alarm=alarm, callout_id=f"C{i:06d}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis(folder: Path, appendfsync: str) -> tuple[subprocess.Popen[bytes], str]:
    """redis-server with the shipped ``deploy/redis.conf`` on a free port in ``folder``."""
    exe = shutil.which("redis-server")
    if exe is None:
        sys.exit("redis-server is not installed (apt-get install redis-server)")
    folder.mkdir(parents=True)
    port = free_port()
    proc = subprocess.Popen([exe, str(ROOT / "deploy" / "redis.conf"), "--port", str(port),
                             "--dir", str(folder), "--appendfsync", appendfsync,
                             "--logfile", str(folder / "redis.log"), "--daemonize", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port, socket_connect_timeout=0.5)
    for _ in range(500):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.02)
    client.close()
    return proc, f"redis://127.0.0.1:{port}/0"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def time_appends(store: EventStore, count: int, size: int, first: int) -> list[float]:
    """Seconds per append of ``size`` alarm events, ``count`` times."""
    times = []
    n = first
    for _ in range(count):
        batch = [alarm_event(n + k) for k in range(size)]
        n += size
        start = time.perf_counter()
        store.append(batch, expected_last_seq=store.last_seq)
        times.append(time.perf_counter() - start)
    return times


@dataclass
class Result:
    single: list[float]
    batch: list[float]
    read_rate: float
    events: int


def measure(open_store: Callable[[], EventStore], appends: int, batches: int) -> Result:
    store = open_store()
    time_appends(store, 20, 1, 1)  # warm-up: connections, script load, page cache
    single = time_appends(store, appends, 1, 100)
    batch = time_appends(store, batches, 20, 100 + appends)
    total = store.last_seq
    start = time.perf_counter()
    read = sum(1 for _ in store.read(0))
    elapsed = time.perf_counter() - start
    assert read == total
    store.close()
    return Result(single, batch, read / elapsed, total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--appends", type=int, default=300, help="single-event appends")
    parser.add_argument("--batches", type=int, default=100, help="appends of 20 events")
    parser.add_argument("--dir", type=Path, default=None,
                        help="folder for the databases (default: a temporary one; keep it on "
                        "the disk you want measured, not a tmpfs)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="mae-bench-store-", dir=args.dir))
    procs: list[subprocess.Popen[bytes]] = []
    results: dict[str, Result] = {}
    try:
        results["sqlite"] = measure(lambda: SqliteEventStore(base / "log.sqlite3"),
                                    args.appends, args.batches)
        for mode in ("always", "everysec"):
            proc, url = start_redis(base / f"redis-{mode}", mode)
            procs.append(proc)
            results[f"redis-{mode}"] = measure(partial(RedisEventStore, url),
                                               args.appends, args.batches)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
        shutil.rmtree(base, ignore_errors=True)

    ref = results["sqlite"]
    print(f"{args.appends} single-event appends, {args.batches} appends of 20 events, then a "
          f"read of the whole log ({ref.events} events); folder {base.parent}")
    print(f"{'store':<16}{'row':<13}{'p50 ms':>8}{'p99 ms':>8}{'appends/s':>10}"
          f"{'events/s':>10}{'x sqlite':>10}")
    for row, size in (("1 event", 1), ("batch of 20", 20)):
        base_p50 = percentile(ref.single if size == 1 else ref.batch, 0.5)
        for name, res in results.items():
            times = res.single if size == 1 else res.batch
            p50 = percentile(times, 0.5)
            rate = len(times) / sum(times)
            print(f"{name:<16}{row:<13}{p50 * 1e3:>8.2f}{percentile(times, 0.99) * 1e3:>8.2f}"
                  f"{rate:>10.0f}{rate * size:>10.0f}{p50 / base_p50:>10.2f}")
    for name, res in results.items():  # for reads the ratio is of the rate, not a time
        print(f"{name:<16}{'read all':<13}{'':>8}{'':>8}{'':>10}{res.read_rate:>10.0f}"
              f"{res.read_rate / ref.read_rate:>10.2f}")


if __name__ == "__main__":
    main()
