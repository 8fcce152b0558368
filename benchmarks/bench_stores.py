"""The service's other stores on SQLite and on Redis, side by side in one run.

What a request costs in each store besides the event log (``bench_store.py``): checking a
bearer token (every REST request and socket login), recording an audit row (every command),
storing one flush of positions (a second's batch of ``--units`` units, with the track), and
reading the principals list. Peers: ``sqlite`` (the classes ``mae serve`` uses by default, on one
file) and ``redis`` (``web.redis_*`` on a redis-server started with ``deploy/redis.conf``: AOF,
``appendfsync always``). Columns: p50 and p99 ms per operation, operations/s and ``x sqlite``,
the p50 as a ratio of SQLite's.

    .venv/bin/python benchmarks/bench_stores.py [--ops 500] [--units 200] [--dir DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_store import percentile, start_redis

from dispatch.model import Location
from web.audit import Audit, AuditLog
from web.auth import Principal, Principals, PrincipalStore, Role
from web.positions import PositionReport, PositionStorage, PositionStore
from web.redis_audit import RedisAuditLog
from web.redis_auth import RedisPrincipalStore
from web.redis_positions import RedisPositions

T0 = datetime(2026, 1, 15, 14, 0, tzinfo=UTC)


def timed(op: Callable[[int], object], count: int) -> list[float]:
    times = []
    for i in range(count):
        start = time.perf_counter()
        op(i)
        times.append(time.perf_counter() - start)
    return times


def run(kind: str, principals: Principals, audit: Audit, positions: PositionStorage,
        ops: int, units: int) -> list[tuple[str, str, list[float]]]:
    made = [principals.create(role="crew", name=f"phone {i}", unit_id=f"U{i}")
            for i in range(50)]
    tokens = [token for _, token in made]
    who = Principal("a" * 16, "Anna", Role.DISPATCHER)

    def position_batch(i: int) -> None:
        at = T0 + timedelta(seconds=i)
        batch = [PositionReport(f"U{u}", Location(65.0 + u / 1000, 22.0 + i / 10_000), at)
                 for u in range(units)]
        positions.save(batch, batch if i % 30 == 0 else [], now=at)

    return [
        (kind, "authenticate", timed(lambda i: principals.authenticate(tokens[i % 50]), ops)),
        (kind, "audit record", timed(lambda i: audit.record(
            at=T0, principal=who, action="assign", target={"callout_id": f"C{i}"},
            client="127.0.0.1:1"), ops)),
        (kind, f"positions x{units}", timed(position_batch, max(10, ops // 10))),
        (kind, "list principals", timed(lambda i: principals.principals(), max(10, ops // 10))),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=500)
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(dir=args.dir, prefix="bench-stores-"))
    rows = []
    proc = None
    try:
        db = folder / "bench.sqlite3"
        sqlite_stores = (PrincipalStore(db), AuditLog(db), PositionStore(db))
        rows += run("sqlite", *sqlite_stores, args.ops, args.units)
        for store in sqlite_stores:
            store.close()
        proc, url = start_redis(folder / "redis", "always")
        redis_stores = (RedisPrincipalStore(url), RedisAuditLog(url), RedisPositions(url))
        rows += run("redis", *redis_stores, args.ops, args.units)
        for store in redis_stores:
            store.close()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
    base = {op: percentile(times, 0.5) for kind, op, times in rows if kind == "sqlite"}
    print(f"{'store':<8} {'operation':<16} {'p50 ms':>8} {'p99 ms':>8} {'ops/s':>9} "
          f"{'x sqlite':>9}")
    for kind, op, times in rows:
        p50 = percentile(times, 0.5)
        print(f"{kind:<8} {op:<16} {p50 * 1e3:8.3f} {percentile(times, 0.99) * 1e3:8.3f} "
              f"{len(times) / sum(times):9.0f} {p50 / base[op]:9.2f}")


if __name__ == "__main__":
    main()
