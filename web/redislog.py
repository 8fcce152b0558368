"""The event log on a Redis Stream, shared by every instance of the service.

:class:`RedisEventStore` implements :class:`web.eventstore.EventStore`. Each event is one entry
of the stream ``<prefix>events`` with the explicit id ``<seq>-0`` and its JSON (the same
:func:`dispatch.events.event_to_dict` form SQLite stores, schema version included) in field
``d``. The exactly-once client operations live in the hash ``<prefix>ops``.

An append is one Lua script (:data:`_APPEND`), so Redis runs it without interleaving another
client: it compares where the stream ends with the writer's ``expected_last_seq`` and only then
adds the whole batch and its ops, or adds nothing and answers where the log ends. Two instances
therefore never both extend the log from the same point (no double assignment).

The last entry of a batch also carries a random token of that append (field ``w``). If the
reply is lost (the connection drops after the script ran, or the client library retries a
script that already ran) the store reads the entry at the batch's last seq and compares the
token: present means "stored after all", exactly, never a guess from equal-looking events.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import redis

from dispatch.events import Envelope, Event, event_from_dict, event_to_dict
from web.audit import AuditRow
from web.eventstore import OpRecord, OpsSeen, OutcomeUnknown, StorageUnavailable, StoreConflict
from web.redis_audit import FIELDS as AUDIT_FIELDS
from web.redis_audit import row_fields
from web.redis_client import SOCKET_TIMEOUT_S, connect, redis_errors

__all__ = ["RedisEventStore"]

logger = logging.getLogger(__name__)

#: Entries fetched per XRANGE page: bounds the memory of a read, whatever the log's length.
PAGE = 500

#: Longest single blocking XREAD, kept below the socket timeout so a quiet log is not an error.
_BLOCK_S = max(0.1, SOCKET_TIMEOUT_S - 1.0)

#: At most this many entries come back with a refused append (the events the writer missed),
#: so it catches up without reading them again.
CONFLICT_TAIL = 64

# KEYS: stream, ops hash, audit stream, then each audit row's principal stream.
# ARGV: expected_last_seq, n events, n ops, n audit rows, F audit fields, the append's token,
# max entries to return on a conflict; then the F field names, the n event JSONs, the (op
# field, op value) pairs, and per audit row its principal stream's index in KEYS and F values.
# Replies {1, new_last}, {0, actual_last, the last entry's append token (or ''), event JSON
# after expected_last_seq, ...} (the missed events only when they all fit), or {2, last} when
# one of the ops is stored already (then nothing is written).
_APPEND = """
local last = 0
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #top > 0 then last = tonumber(string.match(top[1][1], '^(%d+)')) end
local expected = tonumber(ARGV[1])
if last ~= expected then
  local mark = ''
  if #top > 0 then
    local f = top[1][2]
    for k = 1, #f, 2 do
      if f[k] == 'w' then mark = f[k + 1] end
    end
  end
  local reply = {0, last, mark}
  local missed = last - expected
  if missed > 0 and missed <= tonumber(ARGV[7]) then
    for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '(' .. expected .. '-0', '+',
                                      'COUNT', missed)) do
      local f = entry[2]
      for k = 1, #f, 2 do
        if f[k] == 'd' then table.insert(reply, f[k + 1]) end
      end
    end
  end
  return reply
end
local n, nops, naudit, nf = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]),
  tonumber(ARGV[5])
local token = ARGV[6]
local names = 7
local at = names + nf
for j = 1, nops do
  if redis.call('HEXISTS', KEYS[2], ARGV[at + n + 2 * j - 1]) == 1 then
    return {2, last}
  end
end
for i = 1, n do
  local id = string.format('%d-0', expected + i)
  if i == n then
    redis.call('XADD', KEYS[1], id, 'd', ARGV[at + i], 'w', token)
  else
    redis.call('XADD', KEYS[1], id, 'd', ARGV[at + i])
  end
end
at = at + n
for j = 1, nops do
  redis.call('HSET', KEYS[2], ARGV[at + 2 * j - 1], ARGV[at + 2 * j])
end
at = at + 2 * nops
for r = 1, naudit do
  local row = {}
  for k = 1, nf do
    row[2 * k - 1] = ARGV[names + k]
    row[2 * k] = ARGV[at + k + 1]
  end
  redis.call('XADD', KEYS[3], '*', unpack(row))
  redis.call('XADD', KEYS[tonumber(ARGV[at + 1])], '*', unpack(row))
  at = at + nf + 1
end
return {1, expected + n}
"""

def _seq_of(entry_id: bytes) -> int:
    return int(entry_id.split(b"-", 1)[0])


Entry = tuple[int, dict[bytes, bytes]]


def _entries(raw: Any) -> list[Entry]:
    """XRANGE / XREVRANGE entries as (seq, fields) (redis-py types them loosely)."""
    return [(_seq_of(entry_id), fields) for entry_id, fields in raw or ()]


def _op_field(scope: str, op: str) -> str:
    """The hash field of an operation: JSON of the pair, so no scope/op text can collide."""
    return json.dumps([scope, op], ensure_ascii=False)


def _op_value(record: OpRecord) -> str:
    return json.dumps([record.digest, record.callout_id, record.seq], ensure_ascii=False)


class RedisEventStore:
    """:class:`web.eventstore.EventStore` on a Redis Stream at ``url`` (``redis://HOST:PORT/DB``),
    its keys under ``prefix``. Failures of Redis raise
    :class:`web.eventstore.StorageUnavailable` (the app's JSON 503)."""

    name = "events"
    #: The append script refuses a batch whose op is stored (:class:`OpsSeen`), so the writer
    #: need not look the ops up first: a crew's command is one round trip, not two.
    checks_ops_on_append = True

    def __init__(self, url: str, *, prefix: str = "mae:") -> None:
        self.url = url
        self.prefix = prefix
        self.stream_key = f"{prefix}events"
        self.ops_key = f"{prefix}ops"
        self.heartbeat_key = f"{prefix}heartbeat"
        # Named per store, so stop_waiting can find the connection blocked in XREAD.
        self._client_name = f"mae-log-{secrets.token_hex(6)}"
        self._redis = connect(url, client_name=self._client_name)
        self._stops = 0  # bumped by stop_waiting: the waits begun before it end
        # (connect's retry, one on a dropped connection only, mends a pooled connection a
        # Redis restart dropped; more would only delay the 503 of a Redis that is down)
        self._sha: str | None = None
        self._lock = threading.Lock()
        self._last_seq = self._stored_end()
        #: The end of this store's own latest append (its entries are not decoded again).
        self._appended = 0

    # -- reading ------------------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        return self._last_seq

    def _range(self, start: str, end: str, count: int) -> list[Entry]:
        """XRANGE of the stream (ids or ``(``-exclusive ids), at most ``count`` entries."""
        with redis_errors(self.name):
            return _entries(self._redis.xrange(self.stream_key, start, end, count=count))

    def _stored_end(self) -> int:
        """Where the stream ends, read from Redis now."""
        with redis_errors(self.name):
            top = _entries(self._redis.xrevrange(self.stream_key, "+", "-", count=1))
        return top[0][0] if top else 0

    def refresh(self) -> int:
        """Re-read where the stream ends and return it (:class:`StorageUnavailable` if Redis
        cannot be reached)."""
        last = self._stored_end()
        with self._lock:
            self._last_seq = last
        return last

    def read(self, since: int = 0) -> Iterator[Envelope]:
        """Events above ``since`` in pages of :data:`PAGE` entries (XRANGE with COUNT), so a
        long log is never held in memory; events appended while reading are included."""
        after = since
        while True:
            page = self._range(f"({after}-0", "+", PAGE)
            for seq, fields in page:
                yield Envelope(seq, event_from_dict(json.loads(fields[b"d"])))
            if len(page) < PAGE:
                return
            after = page[-1][0]

    def wait_beyond(self, after_seq: int, timeout_s: float) -> int:
        """Block on XREAD until an entry past ``after_seq`` exists or ``timeout_s`` has
        passed; return where the log ends. Run it in a worker thread: it holds the thread."""
        return self.wait_events(after_seq, timeout_s)[0]

    def wait_events(self, after_seq: int, timeout_s: float) -> tuple[int, list[Envelope]]:
        """:meth:`wait_beyond`, also returning the events the blocking read brought (up to
        :data:`PAGE`; none of this store's own appends), so a follower applies them without
        reading them again: one round trip per wake-up."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        stops = self._stops
        while True:
            left = 0.0 if self._stops != stops else deadline - time.monotonic()
            block_ms = int(min(left, _BLOCK_S) * 1000)
            if block_ms <= 0:  # BLOCK 0 would wait for ever: look once instead
                found = self._range(f"({after_seq}-0", "+", PAGE)
            else:
                with redis_errors(self.name):
                    raw: Any = self._redis.xread({self.stream_key: f"{after_seq}-0"},
                                                 count=PAGE, block=block_ms)
                found = _entries(raw[0][1]) if raw else []
            if found:
                own = self._appended  # what this store appended itself is not decoded again
                return found[-1][0], [Envelope(seq, event_from_dict(json.loads(f[b"d"])))
                                      for seq, f in found if seq > own]
            if block_ms <= 0:
                return self._stored_end(), []

    def stop_waiting(self) -> None:
        """End the :meth:`wait_events` under way in other threads after one more look, at once
        for one blocked in XREAD: ``CLIENT UNBLOCK`` of this store's own (named) connections,
        so a stopping follower need not wait out its read. Where Redis refuses CLIENT LIST or
        UNBLOCK (an ACL without them), or a read is not yet blocked, that wait ends at its next
        block's end instead (at most ``timeout_s``, 4 s); later waits are not affected."""
        self._stops += 1
        with contextlib.suppress(redis.RedisError, OSError):
            clients: Any = self._redis.client_list()
            for client in clients:  # only those blocked now ('b'): one UNBLOCK each
                if client.get("name") == self._client_name and "b" in client.get("flags", ""):
                    self._redis.client_unblock(int(client["id"]))

    def find_op(self, scope: str, op: str) -> OpRecord | None:
        with redis_errors(self.name):
            raw = self._redis.hget(self.ops_key, _op_field(scope, op))
        if raw is None:
            return None
        digest, callout_id, seq = json.loads(raw)
        return OpRecord(scope, op, str(digest), callout_id, int(seq))

    def iter_ops(self) -> Iterator[OpRecord]:
        """Every stored operation, fetched in pages (HSCAN), in no particular order."""
        cursor = 0
        while True:
            with redis_errors(self.name):
                reply: Any = self._redis.hscan(self.ops_key, cursor, count=PAGE)
            cursor, chunk = int(reply[0]), dict(reply[1])
            for field, value in chunk.items():
                scope, op = json.loads(field)
                digest, callout_id, seq = json.loads(value)
                yield OpRecord(scope, op, str(digest), callout_id, int(seq))
            if cursor == 0:
                return

    # -- writing ------------------------------------------------------------------------

    def put_ops(self, records: Sequence[OpRecord]) -> None:
        """Store operations as they are, with the seqs they carry (``mae store copy``, after
        their events): not for the service, whose ops go in with their events."""
        if not records:
            return
        mapping: dict[Any, Any] = {_op_field(r.scope, r.op): _op_value(r) for r in records}
        with redis_errors(self.name):
            self._redis.hset(self.ops_key, mapping=mapping)

    def read_raw(self, since: int, count: int) -> list[tuple[int, str]]:
        """Up to ``count`` stored entries above ``since`` as (seq, the event's JSON exactly as
        stored), for ``mae store copy``."""
        return [(seq, fields[b"d"].decode()) for seq, fields in
                self._range(f"({since}-0", "+", count)]

    def append_raw(self, payloads: Sequence[str], *, expected_last_seq: int) -> None:
        """Append events given as their stored JSON, unchanged (``mae store copy``: the
        payload's own schema version stays, and is upcast when read), through the same
        conditional script as :meth:`append`."""
        if not payloads:
            return
        argv: list[Any] = [expected_last_seq, len(payloads), 0, 0, len(AUDIT_FIELDS),
                           secrets.token_hex(8), 0, *AUDIT_FIELDS, *payloads]
        with self._lock, redis_errors(self.name):
            reply = self._run_append([self.stream_key, self.ops_key, f"{self.prefix}audit"],
                                     argv)
        if not int(reply[0]):
            self._last_seq = int(reply[1])
            raise StoreConflict(f"the event log ends at {reply[1]}, not {expected_last_seq}",
                                end=int(reply[1]))
        self._last_seq = expected_last_seq + len(payloads)

    def append(self, events: Sequence[Event], *, expected_last_seq: int,
               op: OpRecord | None = None, ops: Sequence[OpRecord] = ()) -> list[Envelope]:
        return self.append_audited(events, expected_last_seq=expected_last_seq, op=op,
                                   ops=ops)

    def append_audited(self, events: Sequence[Event], *, expected_last_seq: int,
                       op: OpRecord | None = None, ops: Sequence[OpRecord] = (),
                       audit: Sequence[AuditRow] = ()) -> list[Envelope]:
        """:meth:`append`, also writing the audit rows ``audit`` (the audit log
        :class:`web.redis_audit.RedisAuditLog` on this prefix) in the same script: a command's
        events, its op and its audit row in one round trip, all or none. A refused append
        (:class:`StoreConflict`) carries the events the writer missed when they are few."""
        if not events:
            return []
        envelopes = [Envelope(seq, event)
                     for seq, event in enumerate(events, start=expected_last_seq + 1)]
        last = envelopes[-1].seq
        records = [*ops, *([] if op is None else
                           [OpRecord(op.scope, op.op, op.digest, op.callout_id, last)])]
        token = secrets.token_hex(8)
        keys = [self.stream_key, self.ops_key, f"{self.prefix}audit"]
        place: dict[str, int] = {}
        rows: list[Any] = []
        for row in audit:
            fields = row_fields(row)
            key = f"{self.prefix}audit:{fields['principal_id']}"
            if key not in place:
                keys.append(key)
                place[key] = len(keys)  # Lua's KEYS count from 1
            rows += [place[key], *(fields[name] for name in AUDIT_FIELDS)]
        argv: list[Any] = [expected_last_seq, len(events), len(records), len(audit),
                           len(AUDIT_FIELDS), token, CONFLICT_TAIL, *AUDIT_FIELDS]
        argv += [json.dumps(event_to_dict(e), ensure_ascii=False) for e in events]
        for rec in records:
            argv += [_op_field(rec.scope, rec.op), _op_value(rec)]
        argv += rows
        with self._lock:
            try:
                with redis_errors(self.name):
                    reply = self._run_append(keys, argv)
            except StorageUnavailable as exc:
                if exc.stalled:  # no answer in time: asking who holds the seq now would wait
                    # as long again in a stall, so the caller hears at once that the script
                    # may still run
                    raise OutcomeUnknown(exc.store, exc.detail, stalled=True) from exc
                try:  # the batch's last entry carries its token
                    mark = self._holder(last)
                    if mark is None:  # another batch may have ended before ours would
                        taken = self._holder(expected_last_seq + 1) is not None
                    else:
                        taken = mark != token
                except StorageUnavailable:  # Redis cannot be asked either: ask once only
                    mark, taken = None, False
                if mark != token:
                    if not taken and _may_have_reached(exc):  # it may still run
                        raise OutcomeUnknown(exc.store, exc.detail) from exc
                    raise  # another writer's entries hold the seqs: this script cannot land
                logger.warning("append of seq %d reported %s but is stored", last, exc.detail)
                reply = [1, last]
            ok, end = int(reply[0]), int(reply[1])
            if ok == 2:
                self._last_seq = end
                raise OpsSeen(f"an operation of this append is stored already (log at {end})",
                              end=end)
            if not ok:
                # a retried script met its own batch: the log's last entry carries our token
                if end == last and reply[2] == token.encode():
                    ok, end = 1, last
                else:
                    self._last_seq = end
                    missed = [Envelope(seq, event_from_dict(json.loads(raw)))
                              for seq, raw in enumerate(reply[3:], start=expected_last_seq + 1)]
                    raise StoreConflict(
                        f"the event log ends at {end}, not {expected_last_seq}: another "
                        "writer appended first", end=end,
                        missed=missed if len(missed) == end - expected_last_seq else ())
            self._last_seq = self._appended = last
        return envelopes

    def _run_append(self, keys: list[str], argv: list[Any]) -> list[Any]:
        """EVALSHA of the append script, loading it the first time and again if Redis lost
        it (NOSCRIPT after a restart)."""
        if self._sha is None:
            self._sha = str(self._redis.script_load(_APPEND))
        try:
            reply: Any = self._redis.evalsha(self._sha, len(keys), *keys, *argv)
        except redis.exceptions.NoScriptError:
            self._sha = str(self._redis.script_load(_APPEND))
            reply = self._redis.evalsha(self._sha, len(keys), *keys, *argv)
        return list(reply)

    def _holder(self, seq: int) -> str | None:
        """The token of the append whose last entry is ``seq``, ``""`` for another entry, None
        when there is no such entry; :class:`StorageUnavailable` if Redis cannot be asked."""
        found = self._range(f"{seq}-0", f"{seq}-0", 1)
        if not found:
            return None
        mark = found[0][1].get(b"w")
        return mark.decode() if isinstance(mark, bytes) else ""

    def probe(self) -> None:
        """A small write (the heartbeat key), to learn whether Redis takes writes again."""
        with redis_errors(self.name):
            self._redis.set(self.heartbeat_key, time.time())

    def close(self) -> None:
        self._redis.close()
        self._redis.connection_pool.disconnect()


def _may_have_reached(exc: StorageUnavailable) -> bool:
    """Whether a failed call may have reached Redis (a timeout, a connection lost while
    waiting for the answer), unlike a connection refused before anything was sent."""
    cause = exc.__cause__
    return not (isinstance(cause, redis.ConnectionError) and "connecting to" in str(cause))
