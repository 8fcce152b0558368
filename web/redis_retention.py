"""``mae retention run --store redis://…``: erase old patient details in a log kept in Redis.

The same erasure as on SQLite (:mod:`web.retention`, :mod:`dispatch.erasure`): free text and
address detail of events older than the period, in the log and in every snapshot, one audit row
for the run. A Redis Stream cannot change an entry in place (and an id once used cannot be added
again), so the run writes the whole log, erased, to a new stream beside it and then swaps it in
with one ``RENAME`` inside a transaction that ``WATCH``es the log: should any instance append
meanwhile, the swap is not made and the run stops (run it again with the service stopped). The
old stream's memory is freed by the swap; the append-only file holds the old text until Redis
rewrites it (``BGREWRITEAOF``, started at the end of a run that erased something).

It refuses while an instance is running: every ``mae serve`` writes the storage heartbeat every
few seconds (``MAE_STORAGE_PROBE_INTERVAL_S``), so a heartbeat younger than :data:`BUSY_S` means
a live service, and a key ``maintenance`` (expiring) keeps two runs apart.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import redis

from dispatch.erasure import ERASABLE_EVENTS, erase_event, erase_state
from dispatch.events import event_from_dict, event_to_dict
from dispatch.snapshot import SnapshotError, encode_snapshot
from web.auth import Principal, Role
from web.redis_audit import RedisAuditLog
from web.redis_client import connect, redis_errors
from web.redis_snapshots import RedisSnapshots, log_digest
from web.redislog import PAGE, RedisEventStore
from web.retention import DatabaseBusy, RetentionReport
from web.snapshots import check_snapshot

__all__ = ["BUSY_S", "run_redis_retention"]

logger = logging.getLogger(__name__)

#: A heartbeat younger than this many seconds means an instance is running.
BUSY_S = 60.0
#: How long a run waits for an append-only file rewrite already running to end before its own.
AOF_WAIT_S = 60.0
#: How long the maintenance key holds off a second run, should this one die.
_HOLD_S = 3600
_PRINCIPAL = Principal("cli:retention", "mae retention run", Role.ADMIN)
STORE = "events"


def _erased(fields: dict[bytes, bytes], cutoff: datetime) -> bytes | None:
    """The entry's event JSON with old details erased, or None when nothing changes."""
    data = json.loads(fields[b"d"])
    if data.get("type") not in ERASABLE_EVENTS:
        return None
    event = event_from_dict(data)
    kept = erase_event(event, cutoff)
    if kept is event:
        return None
    return json.dumps(event_to_dict(kept), ensure_ascii=False).encode()


def run_redis_retention(url: str, *, days: int, now: datetime, dry_run: bool = False,
                        prefix: str = "mae:") -> RetentionReport:
    """Erase patient details older than ``days`` days before ``now`` from the log in Redis
    at ``url`` (keys under ``prefix``) and its snapshots; ``dry_run`` only counts. Raises
    :class:`DatabaseBusy` while an instance runs (or another run does, or one appended)."""
    if days < 1:
        raise ValueError("days must be at least 1")
    cutoff = now - timedelta(days=days)
    r: redis.Redis = connect(url, socket_timeout_s=60.0)
    hold = f"{prefix}maintenance"
    try:
        with redis_errors(STORE):
            beat: Any = r.get(f"{prefix}heartbeat")
            if beat is not None and time.time() - float(beat) < BUSY_S:
                raise DatabaseBusy(f"an instance of mae serve uses {prefix}* on this Redis (its "
                                   "heartbeat is fresh): stop every instance, then run "
                                   "retention again")
            if not r.set(hold, "retention", nx=True, ex=_HOLD_S):
                raise DatabaseBusy(f"another maintenance run holds {hold}")
        try:
            return _run(r, url, prefix, cutoff, days=days, now=now, dry_run=dry_run)
        finally:
            with redis_errors(STORE):
                r.delete(hold)
    finally:
        r.close()


def _run(r: redis.Redis, url: str, prefix: str, cutoff: datetime, *, days: int,
         now: datetime, dry_run: bool) -> RetentionReport:
    log = RedisEventStore(url, prefix=prefix)
    shelf = RedisSnapshots(url, log, prefix=prefix)
    try:
        usable, dropped = [], []
        for seq in shelf.seqs():  # checked against the log as it is before the run
            name = f"snapshot-{seq:012d}"
            with redis_errors(STORE):
                blob: Any = r.get(shelf.blob_key(seq))
            try:
                if blob is None:
                    raise SnapshotError("its blob is missing")
                usable.append(check_snapshot(Path(name), blob,
                                             lambda s: log_digest(log, s)))
            except (SnapshotError, ValueError, KeyError, TypeError) as exc:
                logger.warning("retention: dropping unusable snapshot %s: %s", name, exc)
                dropped.append(seq)
        scanned, erased = _erase_log(r, log, cutoff, dry_run=dry_run)
        rewritten = 0
        if not dry_run:
            for seq in dropped:
                shelf.drop(seq)
            for restored in usable:
                state = restored.state
                digest = log_digest(log, state.last_seq) if state.last_seq else None
                if erase_state(state, cutoff) == 0 and digest == restored.digest:
                    continue
                shelf.replace(state.last_seq, encode_snapshot(
                    state, {"index": restored.index, "event_digest": digest}))
                rewritten += 1
            audit = RedisAuditLog(url, prefix=prefix)
            try:
                audit.record(at=now, principal=_PRINCIPAL, action="retention.run",
                             target={"seq": None}, client="cli",
                             result=f"ok days={days} events={erased} snapshots={rewritten} "
                             f"dropped={len(dropped)}")
            finally:
                audit.close()
            if erased or rewritten:
                with redis_errors(STORE):
                    _rewrite_aof(r)  # the append-only file still holds the old text
        report = RetentionReport(cutoff, scanned, erased, rewritten, len(dropped), dry_run)
    finally:
        shelf.close()
        log.close()
    logger.info("retention: %s", report.summary())
    return report


def _rewrite_aof(r: redis.Redis, *, wait_s: float = AOF_WAIT_S) -> None:
    """Start an append-only file rewrite. One already running may have begun before the
    erase (and keep the old text): wait for it to end, then start ours."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            r.bgrewriteaof()
            return
        except redis.ResponseError as exc:
            if "already in progress" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def _erase_log(r: redis.Redis, log: RedisEventStore, cutoff: datetime, *, dry_run: bool
               ) -> tuple[int, int]:
    """Copy the log to a new stream with old details erased, in pages, and swap it in if
    nobody appended meanwhile; returns (erasable events scanned, erased). Nothing is written
    on a dry run or when nothing is to be erased."""
    stream, fresh = log.stream_key, f"{log.stream_key}:retention"
    scanned = erased = 0
    with redis_errors(STORE), r.pipeline(transaction=True) as pipe:
        pipe.watch(stream)  # type: ignore[no-untyped-call]
        pipe.delete(fresh)  # what an interrupted run left
        after = "-"
        while True:
            page: Any = pipe.xrange(stream, after, "+", count=PAGE)
            if not page:
                break
            writes = r.pipeline(transaction=False)
            for entry_id, fields in page:
                if json.loads(fields[b"d"]).get("type") in ERASABLE_EVENTS:
                    scanned += 1
                new = _erased(fields, cutoff)
                if new is not None:
                    erased += 1
                    fields = {**fields, b"d": new}
                writes.xadd(fresh, fields, id=entry_id)
            if not dry_run:
                writes.execute()
            after = "(" + page[-1][0].decode()
        if dry_run or not erased:
            pipe.unwatch()
            pipe.reset()
            r.delete(fresh)
            return scanned, erased
        pipe.multi()
        pipe.rename(fresh, stream)
        try:
            pipe.execute()
        except redis.WatchError:
            r.delete(fresh)
            raise DatabaseBusy("the log grew during the run (an instance started?): nothing "
                               "was changed; stop every instance and run retention again"
                               ) from None
    return scanned, erased
