"""``mae store copy SRC DST``: move an event log between SQLite and Redis, either way.

Each side is a SQLite file path or a ``redis://HOST:PORT/DB`` URL. The copy keeps every event's
seq and every exactly-once client operation (so crews' retried operations are still recognised
after the move), refuses a destination that already holds events or operations, and works in
pages: a log of millions of events is never held in memory. Each event's stored JSON is copied
byte for byte (its schema version included: an old event is upcast when read, as it was in the
source), never decoded and encoded again. ``--src-prefix`` and ``--dst-prefix`` name the keys of
a log in Redis on each side (two logs may share one Redis database).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

from mae.errors import MaeError
from web.eventstore import (
    EventStore,
    OpRecord,
    SqliteEventStore,
    connect_sqlite,
    lock_database,
)

__all__ = ["StoreCopyError", "copy_store", "register"]

# Redis modules are imported only when a copy runs: ``register`` is called for every ``mae``
# command, including the quick ``mae tokens``.

#: Events (and operations) moved per write: bounds memory, keeps each write one transaction.
DEFAULT_PAGE = 2000


class StoreCopyError(MaeError, ValueError):
    """The copy cannot start or go on (a missing source, a non-empty destination, a gap)."""


def register(subparsers: Any) -> None:
    """Add ``store`` (with ``copy``) to the ``mae`` parser."""
    store = subparsers.add_parser(
        "store", help="move the event log between SQLite and Redis",
        description="Tools for the event store: SQLite (one file, the default of mae serve) or "
        "Redis (redis://HOST:PORT/DB, shared by several instances).")
    sub = store.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    copy = sub.add_parser(
        "copy", help="copy an event log with its seqs and operations into an empty store",
        description="Copy every event (same seqs) and every client operation from SRC to DST. "
        "Each is a SQLite file path or a redis://HOST:PORT/DB URL. DST must be empty; stop "
        "mae serve on both first (a SQLite file in use is refused).")
    copy.add_argument("src", metavar="SRC", help="the log to copy: SQLite path or redis:// URL")
    copy.add_argument("dst", metavar="DST", help="an empty store: SQLite path (created if "
                      "missing) or redis:// URL")
    copy.add_argument("--src-prefix", default="mae:",
                      help="key prefix of the log when SRC is Redis (default: mae:)")
    copy.add_argument("--dst-prefix", default="mae:",
                      help="key prefix of the log when DST is Redis (default: mae:)")
    copy.add_argument("--page", type=int, default=DEFAULT_PAGE,
                      help=f"events per write (default: {DEFAULT_PAGE})")
    copy.set_defaults(func=_copy)


def _copy(args: argparse.Namespace) -> int:
    if not 1 <= args.page <= 100_000:
        raise StoreCopyError("--page must be a whole number from 1 to 100000")
    events, ops = copy_store(args.src, args.dst, src_prefix=args.src_prefix,
                             dst_prefix=args.dst_prefix, page=args.page, progress=sys.stderr)
    print(f"copied {events} events and {ops} operations from {_shown(args.src)} to "
          f"{_shown(args.dst)}")
    return 0


def _is_redis(spec: str) -> bool:
    from web.redis_client import is_redis_url

    return is_redis_url(spec)


def _shown(spec: str) -> str:
    """``spec`` for printing, without a password a Redis URL may carry."""
    if not _is_redis(spec):
        return spec
    parts = urlsplit(spec)
    if parts.password is None:
        return spec
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + netloc))


def _open(spec: str, *, prefix: str, source: bool, stack: ExitStack) -> EventStore:
    """The store ``spec`` names; a SQLite file is locked like ``mae serve`` locks it."""
    if _is_redis(spec):
        from web.redislog import RedisEventStore

        redis_store = RedisEventStore(spec, prefix=prefix)
        stack.callback(redis_store.close)
        return redis_store
    path = Path(spec)
    if source and not path.is_file():
        raise StoreCopyError(f"SRC: no SQLite database at {path} (nor a redis:// URL)")
    stack.callback(lock_database(path).close)
    sqlite_store = SqliteEventStore(path)
    stack.callback(sqlite_store.close)
    return sqlite_store


def _ops(store: EventStore) -> Iterator[OpRecord]:
    """Every stored operation of ``store``, streamed."""
    from web.redislog import RedisEventStore

    if isinstance(store, RedisEventStore):
        yield from store.iter_ops()
        return
    assert isinstance(store, SqliteEventStore)
    conn = connect_sqlite(store.path)
    try:
        for scope, op, digest, callout_id, seq in conn.execute(
                "SELECT scope, op, digest, callout_id, seq FROM ops"):
            yield OpRecord(scope, op, digest, callout_id, int(seq))
    finally:
        conn.close()


def _put_ops(store: EventStore, records: list[OpRecord]) -> None:
    """Store operations as they are (their events are copied already)."""
    from web.redislog import RedisEventStore

    if isinstance(store, RedisEventStore):
        store.put_ops(records)
        return
    assert isinstance(store, SqliteEventStore)
    conn = connect_sqlite(store.path)
    try:
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT INTO ops (scope, op, digest, callout_id, seq) "
                             "VALUES (?,?,?,?,?)",
                             [(o.scope, o.op, o.digest, o.callout_id, o.seq) for o in records])
    finally:
        conn.close()


def copy_store(src: str, dst: str, *, src_prefix: str = "mae:", dst_prefix: str = "mae:",
               page: int = DEFAULT_PAGE, progress: IO[str] | None = None) -> tuple[int, int]:
    """Copy the log ``src`` into the empty store ``dst``; return (events, operations) copied.
    Progress lines go to ``progress`` about every tenth of the log."""
    if src == dst and src_prefix == dst_prefix:
        raise StoreCopyError("SRC and DST are the same log")
    with ExitStack() as stack:
        source = _open(src, prefix=src_prefix, source=True, stack=stack)
        target = _open(dst, prefix=dst_prefix, source=False, stack=stack)
        held = target.last_seq
        if held or next(_ops(target), None) is not None:
            raise StoreCopyError(f"DST {_shown(dst)} is not empty (its log ends at seq {held}): "
                                 "copy only into an empty store")
        total = source.refresh()
        step = max(page, total // 10)
        shown = 0
        while chunk := _read_raw(source, target.last_seq, page):
            _write(target, chunk)
            if progress is not None and target.last_seq - shown >= step:
                shown = target.last_seq
                print(f"events: {shown} of {total}", file=progress, flush=True)
        copied_ops = 0
        records: list[OpRecord] = []
        for record in _ops(source):
            records.append(record)
            if len(records) == page:
                _put_ops(target, records)
                copied_ops += len(records)
                records = []
        if records:
            _put_ops(target, records)
            copied_ops += len(records)
        if progress is not None:
            print(f"events: {target.last_seq} of {total}; operations: {copied_ops}",
                  file=progress, flush=True)
        return target.last_seq, copied_ops


def _read_raw(store: EventStore, since: int, count: int) -> list[tuple[int, str]]:
    """Up to ``count`` events above ``since`` as (seq, their stored JSON, unchanged)."""
    from web.redislog import RedisEventStore

    if isinstance(store, RedisEventStore):
        return store.read_raw(since, count)
    assert isinstance(store, SqliteEventStore)
    conn = connect_sqlite(store.path)
    try:
        return [(int(seq), str(data)) for seq, data in conn.execute(
            "SELECT seq, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (since, count))]
    finally:
        conn.close()


def _write(target: EventStore, chunk: list[tuple[int, str]]) -> None:
    """Append ``chunk`` so each event keeps its seq and its stored JSON; a gap in the source
    cannot be kept."""
    from web.redislog import RedisEventStore

    expected = target.last_seq
    for offset, (seq, _) in enumerate(chunk, start=1):
        if seq != expected + offset:
            raise StoreCopyError(f"SRC has a gap before seq {seq} (expected "
                                 f"{expected + offset}): its seqs cannot be kept")
    payloads = [data for _, data in chunk]
    if isinstance(target, RedisEventStore):
        target.append_raw(payloads, expected_last_seq=expected)
        return
    assert isinstance(target, SqliteEventStore)
    rows = []
    for seq, data in chunk:
        head = json.loads(data)  # read for the table's type and at columns only
        rows.append((seq, str(head["type"]), str(head["at"]), data))
    conn = connect_sqlite(target.path)
    try:
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            (last,) = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
            if last != expected:
                raise StoreCopyError(f"DST changed during the copy (its log ends at {last})")
            conn.executemany("INSERT INTO events (seq, type, at, data) VALUES (?,?,?,?)", rows)
    finally:
        conn.close()
    target.refresh()
