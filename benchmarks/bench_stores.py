"""The service's other stores on SQLite and on Redis, side by side in one run.

What a request costs in each store besides the event log (``bench_store.py``): checking a
bearer token (every REST request and socket login), recording an audit row (every command),
storing one flush of positions (a second's batch of ``--units`` units, with the track), and
reading the principals list; and what one command costs in writes: its event, its op and its
audit row (``command``: on SQLite an append and an audit insert; on Redis, ``2 trips`` the
append then the audit row's transaction, as before issue 13's follow-up, and ``1 script`` both
in the append's script, as the service does now).
Peers: ``sqlite`` (the classes ``mae serve`` uses by default, on one
file) and ``redis`` (``web.redis_*`` on a redis-server started with ``deploy/redis.conf``: AOF,
``appendfsync always``). Columns: p50 and p99 ms per operation, operations/s and ``x sqlite``,
the p50 as a ratio of SQLite's; ``cpu us`` the CPU time of this process (the instance's side)
and ``redis us`` redis-server's (``INFO cpu``) per operation.

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
from typing import Any

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_store import alarm_event, percentile, start_redis

from dispatch.model import Location
from web.audit import Audit, AuditLog, AuditRow
from web.auth import Principal, Principals, PrincipalStore, Role
from web.eventstore import EventStore, OpRecord, SqliteEventStore
from web.positions import PositionReport, PositionStorage, PositionStore
from web.redis_audit import RedisAuditLog
from web.redis_auth import RedisPrincipalStore
from web.redis_positions import RedisPositions
from web.redislog import RedisEventStore

T0 = datetime(2026, 1, 15, 14, 0, tzinfo=UTC)


Row = tuple[str, str, list[float], float, float]


def redis_cpu(url: str | None) -> float:
    """redis-server's CPU seconds so far (0 without one)."""
    if url is None:
        return 0.0
    client = redis.Redis.from_url(url)
    try:
        info: Any = client.info("cpu")
    finally:
        client.close()
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def timed(op: Callable[[int], object], count: int, url: str | None = None
          ) -> tuple[list[float], float, float]:
    """Each call's wall time, and this process's and Redis's CPU seconds per call."""
    times = []
    cpu0, server0 = time.process_time(), redis_cpu(url)
    for i in range(count):
        start = time.perf_counter()
        op(i)
        times.append(time.perf_counter() - start)
    return (times, (time.process_time() - cpu0) / count,
            (redis_cpu(url) - server0) / count)


def commands(kind: str, log: EventStore, audit: Audit, ops: int, url: str | None
             ) -> list[Row]:
    """One command's writes: an alarm event with a crew op, and its audit row."""
    who = Principal("b" * 16, "crew", Role.CREW, unit_id="U1")

    def row(i: int) -> AuditRow:
        return AuditRow(T0, who, "status", {"callout_id": f"C{i:06d}", "seq": i + 1}, "c")

    def op(i: int) -> OpRecord:
        return OpRecord("unit:U1", f"op-{kind}-{i}", "d", f"C{i:06d}")

    def two(i: int) -> None:
        log.append([alarm_event(i)], expected_last_seq=log.last_seq, op=op(i))
        audit.record_many([row(i)])

    def one(i: int) -> None:
        assert isinstance(log, RedisEventStore)
        log.append_audited([alarm_event(i)], expected_last_seq=log.last_seq, op=op(i),
                           audit=[row(i)])

    if kind == "sqlite":
        return [(kind, "command", *timed(two, ops))]
    return [(kind, "command, 2 trips", *timed(two, ops, url)),
            (kind, "command, 1 script", *timed(lambda i: one(ops + i), ops, url))]


def run(kind: str, principals: Principals, audit: Audit, positions: PositionStorage,
        ops: int, units: int, url: str | None = None) -> list[Row]:
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
        (kind, "authenticate", *timed(lambda i: principals.authenticate(tokens[i % 50]), ops,
                                      url)),
        (kind, "audit record", *timed(lambda i: audit.record(
            at=T0, principal=who, action="assign", target={"callout_id": f"C{i}"},
            client="127.0.0.1:1"), ops, url)),
        (kind, f"positions x{units}", *timed(position_batch, max(10, ops // 10), url)),
        (kind, "list principals", *timed(lambda i: principals.principals(),
                                         max(10, ops // 10), url)),
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
        sqlite_log = SqliteEventStore(db)
        rows += commands("sqlite", sqlite_log, sqlite_stores[1], args.ops, None)
        sqlite_log.close()
        for store in sqlite_stores:
            store.close()
        proc, url = start_redis(folder / "redis", "always")
        redis_stores = (RedisPrincipalStore(url), RedisAuditLog(url), RedisPositions(url))
        rows += run("redis", *redis_stores, args.ops, args.units, url)
        redis_log = RedisEventStore(url)
        rows += commands("redis", redis_log, redis_stores[1], args.ops, url)
        redis_log.close()
        for redis_store in redis_stores:
            redis_store.close()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
    base = {op: percentile(times, 0.5) for kind, op, times, _, _ in rows if kind == "sqlite"}
    base.update({op: base["command"] for _, op, _, _, _ in rows if op.startswith("command")})
    print(f"{'store':<8} {'operation':<18} {'p50 ms':>8} {'p99 ms':>8} {'ops/s':>9} "
          f"{'x sqlite':>9} {'cpu us':>8} {'redis us':>9}")
    for kind, op, times, cpu, server in rows:
        p50 = percentile(times, 0.5)
        print(f"{kind:<8} {op:<18} {p50 * 1e3:8.3f} {percentile(times, 0.99) * 1e3:8.3f} "
              f"{len(times) / sum(times):9.0f} {p50 / base[op]:9.2f} {cpu * 1e6:8.0f} "
              f"{server * 1e6:9.0f}")


if __name__ == "__main__":
    main()
