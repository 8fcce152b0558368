"""The single writer: every command is decided, logged durably, applied and published here.

Commands wait in a bounded queue (:class:`~web.errors.Busy`, a 503 with ``Retry-After``, when it
is full). One worker takes every command waiting at that moment as a *group commit*: it decides
each in order against the state as the earlier ones left it (a command the rules refuse is
answered alone and changes nothing), appends all their events in one SQLite transaction (one
fsync, in a worker thread, so the event loop keeps serving sockets), applies them to the
in-memory state, publishes them and only then answers each caller. A commit that fails fails
that whole batch: the store says whether the events landed after all (then they count), else
the writer re-reads the log's end and applies whatever is stored; if even that read fails it
stops taking writes (503) until the heartbeat probe finds the store working and catches up.
Commands run in a shielded future, so a client that disconnects mid-command cannot leave the
log ahead of the state. A restart replays the log.

On a store shared by several instances (:mod:`web.follower` applies what the others append) a
batch can lose the race for the log's end: the store refuses it (:class:`StoreConflict`), the
writer applies the winner's events and decides the batch again on that state, so a command
the winner made invalid (the unit it wanted is taken now) gets the core's own refusal, never a
double assignment. ``_applying`` keeps a commit and a follower's catch-up from interleaving.

Exactly-once for client operations: a command may carry an op id (a crew tablet's outbox makes
one per queued item). The store is asked whether that op was accepted before (and the batch
whether it holds it already); if so the original result (its seq and callout) is returned as a
duplicate and nothing is appended, otherwise the op is stored in the same transaction as its
events. A refused op changed nothing and is not remembered, so a retry of it is judged afresh.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
import random
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TypeVar

from dispatch.clock import Clock
from dispatch.commands import Command, Decision, DispatchConfig, decide
from dispatch.events import Envelope, Event, event_to_dict
from dispatch.state import DispatchState
from mae.errors import MaeError
from web.audit import Audit, AuditRow
from web.auth import Principal
from web.errors import BadMessage, Busy, describe
from web.eventstore import (
    EventStore,
    OpRecord,
    OutcomeUnknown,
    StorageUnavailable,
    StoreConflict,
)
from web.logindex import LogIndex
from web.metrics import Metrics
from web.views import track_eta
from web.visibility import Audience, audience_of

__all__ = ["Executed", "Guard", "LogIndex", "Publish", "StorageErrorHook", "Writer"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: How often a batch that lost a race for the shared log is decided again before its callers
#: are told to retry (each retry means another instance appended meanwhile).
REDECIDE_LIMIT = 32
#: Up to this many seconds per attempt, at random, before the third and later attempts.
REDECIDE_BACKOFF_S = 0.002
#: Events read from the store at a time when applying what other writers appended.
TAIL_PAGE = 1_000


@dataclass(frozen=True, slots=True)
class Executed:
    """A command that went through: the core's decision and the envelopes logged for it."""

    decision: Decision
    envelopes: list[Envelope]
    original_seq: int | None = None  # a repeated op: the seq its first run was stored at

    @property
    def last_seq(self) -> int | None:
        return self.envelopes[-1].seq if self.envelopes else self.original_seq


Guard = Callable[[DispatchState], None]


def _reused_op() -> BadMessage:
    return BadMessage("op", "this op id was already used for a different message; make a new "
                      "one per message")

Publish = Callable[[list[Envelope], list[Audience]], None]
_AuditBatch = list[tuple[AuditRow, "asyncio.Future[None]"]]


@dataclass(eq=False)
class _AuditDraft:
    """A command's audit row before its result is known; ``written`` once it went to the
    audit log in the same trip to the storage thread as its batch's events (with them, on a
    store that takes audit rows with its events: Redis; right after them on SQLite); ``error``
    is what the audit log raised then, for the caller (SQLite's and the disk's are reported,
    not raised, as :meth:`Writer.record` does)."""

    principal: Principal
    action: str
    target: dict[str, object]
    client: str
    written: bool = False
    error: Exception | None = None

    def row(self, at: datetime, result: str, callout_id: str | None, seq: int | None
            ) -> AuditRow:
        target = dict(self.target)
        target.setdefault("callout_id", callout_id)
        target["seq"] = seq
        return AuditRow(at, self.principal, self.action, target, self.client, result)


def _refusal(exc: BaseException) -> str:
    """The audit result of a command the rules (or the store) refused."""
    info = describe(exc)
    return f"refused {info.code}" + (f" ({info.field})" if info.field else "")


@dataclass(eq=False)
class _Job:
    """One command waiting for the writer, and the future its caller awaits."""

    command: Command
    actor: str
    op: tuple[str, str] | None
    guard: Guard | None
    future: asyncio.Future[Executed]
    audit: _AuditDraft | None = None


@dataclass(eq=False)
class _Planned:
    """A job the rules accepted, with its events' place in the batch."""

    job: _Job
    decision: Decision
    start: int
    count: int
    first: _Planned | None = None  # for a repeat of an op earlier in the batch: that one
    place: int = 0  # its place in the batch


@dataclass(eq=False)
class _Answer:
    """A job answered without events of its own (refused, no-op or a stored repeat)."""

    place: int
    job: _Job
    outcome: Executed | BaseException


def _settle(answers: list[_Answer]) -> None:
    for a in answers:
        if a.job.future.done():
            continue
        if isinstance(a.outcome, BaseException):
            a.job.future.set_exception(a.outcome)
        else:
            a.job.future.set_result(a.outcome)


StorageErrorHook = Callable[[str], None]


class Writer:
    """The one writer of ``state``: decides, logs, applies, then calls ``publish``.

    ``queue_size`` bounds the commands waiting; ``group_commit=False`` commits each command on
    its own (the old behaviour, kept for the benchmark's comparison); ``on_storage_error(store)``
    is called whenever a store fails (for metrics)."""

    def __init__(self, store: EventStore, state: DispatchState, index: LogIndex, *,
                 clock: Clock, config: DispatchConfig, publish: Publish,
                 audit: Audit | None = None, queue_size: int = 1_000,
                 group_commit: bool = True, max_batch: int = 500,
                 on_storage_error: StorageErrorHook | None = None,
                 metrics: Metrics | None = None) -> None:
        self.store = store
        self.state = state
        self.index = index
        self.clock = clock
        self.config = config
        self.audit = audit
        self.queue_size = queue_size
        self.max_batch = max_batch if group_commit else 1
        self.on_storage_error = on_storage_error
        #: Stores that failed and what they said; emptied as each works again.
        self.storage_errors: dict[str, str] = {}
        #: Transactions committed (a group commit counts once): for tests and metrics.
        self.commits = 0
        self._publish = publish
        self.metrics = metrics if metrics is not None else Metrics()
        self._pending: deque[_Job] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._halted: StorageUnavailable | None = None
        self._audit_rows: _AuditBatch = []
        # One thread for every write to the database (events, then audit rows): they take
        # turns instead of meeting on SQLite's write lock, whose busy handler sleeps.
        self._io_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mae-writer")
        self._audit_worker: asyncio.Task[None] | None = None
        #: Held while a batch is appended and applied, and while a follower applies others'
        #: events: the state only ever grows by one of them at a time, in the log's order.
        self._applying = asyncio.Lock()
        #: Batches re-decided because another writer appended first (a shared store).
        self.conflicts = 0
        #: Called on the loop with each page of events other writers stored, once applied and
        #: published (the service alerts its dispatchers of timeouts another instance logged).
        self.on_followed: Callable[[list[Envelope]], None] | None = None
        #: Cleared while the state is not whole (a snapshot's closed history still being
        #: decoded after a start): commands and followed events wait for it.
        self._whole = asyncio.Event()
        self._whole.set()
        #: The store's append that writes the batch's audit rows too (Redis, when the audit
        #: log is on it): a command then costs one round trip, not two.
        folds = getattr(audit, "folds_into", None)
        self._append_audited: Callable[..., list[Envelope]] | None = \
            getattr(store, "append_audited", None) if callable(folds) and folds(store) else None
        #: The store refuses an append whose op it holds (Redis): a batch whose every op
        #: command makes events skips the op look-up, one round trip fewer.
        self._ops_checked_on_append = bool(getattr(store, "checks_ops_on_append", False))

    def _io(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        """Run ``fn`` in the writer's storage thread."""
        return asyncio.get_running_loop().run_in_executor(self._io_thread, fn)

    def close(self) -> None:
        """Let the storage thread end (after :meth:`drain`)."""
        self._io_thread.shutdown(wait=False)

    @property
    def queue_depth(self) -> int:
        """Commands waiting for the writer (the batch being committed not included)."""
        return len(self._pending)

    def hold(self) -> None:
        """Make commands wait until :meth:`release` (the state is not whole yet)."""
        self._whole.clear()

    def release(self) -> None:
        """Let the commands held since :meth:`hold` in, in the order they came."""
        self._whole.set()

    @property
    def held(self) -> bool:
        """True while commands wait for the state to be whole."""
        return not self._whole.is_set()

    @property
    def halted(self) -> bool:
        """True while the writer takes no writes: the log's end could not be read."""
        return self._halted is not None

    def load(self) -> int:
        """Replay the stored log after the state's ``last_seq`` into the state (all of it on a
        fresh state, the tail after a restored snapshot); streamed, never held whole in
        memory. Returns the number of events replayed."""
        n = 0
        for env in self.store.read(self.state.last_seq):
            self.apply(env)
            n += 1
        logger.info("replayed %d events; log ends at %d", n, self.state.last_seq)
        return n

    def apply(self, env: Envelope) -> Audience:
        """Fold one logged envelope into the state and the index; returns who may see it."""
        audience = audience_of(self.state, env.event)
        self.state.apply(env)
        self.index.audiences.append(audience)
        track_eta(self.index.eta_at, env.event)
        return audience

    async def execute(self, command: Command, *, actor: str, op: tuple[str, str] | None = None,
                      guard: Guard | None = None, bounded: bool = False,
                      audit: _AuditDraft | None = None) -> Executed:
        """Decide, log durably, apply and publish ``command``; raises the core's error if it
        breaks a rule (and then nothing changed). ``op`` = (scope, op id) makes it exactly-once:
        a repeat returns the first result marked duplicate. ``guard(state)`` runs in the writer
        before deciding and may raise to refuse a command the world moved past. Raises
        :class:`StorageUnavailable` while halted and, for a ``bounded`` command (a client's;
        the service's own ticks are not refused), :class:`Busy` when the queue is full."""
        if not self._whole.is_set():
            await self._whole.wait()
        if self._halted is not None:
            raise StorageUnavailable(self._halted.store, self._halted.detail)
        if bounded and len(self._pending) >= self.queue_size:
            self.metrics.write_rejected()
            raise Busy(f"the service has {len(self._pending)} commands waiting to be written; "
                       "nothing was done: try again in a moment", retry_after_s=1)
        future: asyncio.Future[Executed] = asyncio.get_running_loop().create_future()
        future.add_done_callback(self._observer(type(command).__name__, time.perf_counter()))
        self._pending.append(_Job(command, actor, op, guard, future, audit))
        self.metrics.set_write_queue_depth(len(self._pending))
        if self._worker is None:
            self._worker = asyncio.ensure_future(self._work())
        return await asyncio.shield(future)

    def _observer(self, kind: str, start: float) -> Callable[[asyncio.Future[Executed]], None]:
        """A done-callback counting the command's result and latency (a cancelled caller
        still gets its command counted: the step is shielded)."""

        def observe(task: asyncio.Future[Executed]) -> None:
            if task.cancelled():
                result = "cancelled"
            elif (exc := task.exception()) is not None:
                result = describe(exc).code
            else:
                done = task.result()
                result = "duplicate" if done.decision.duplicate else (
                    "ok" if done.envelopes else "noop")
            self.metrics.command(kind, result, time.perf_counter() - start)

        return observe

    async def drain(self) -> None:
        """Wait for commands still being written (a shielded step outlives a cancelled
        caller), so the stores are closed only after them; their errors went to the callers."""
        while self._worker is not None or self._audit_worker is not None:
            await asyncio.gather(*(t for t in (self._worker, self._audit_worker)
                                   if t is not None), return_exceptions=True)

    async def _work(self) -> None:
        try:
            while self._pending:
                if self._halted is not None:
                    self._refuse_pending(self._halted)
                    break
                n = min(len(self._pending), self.max_batch)
                batch = [self._pending.popleft() for _ in range(n)]
                self.metrics.set_write_queue_depth(len(self._pending))
                try:
                    async with self._applying:
                        await self._commit(batch)
                except BaseException as exc:  # a bug: fail the batch, keep serving
                    logger.exception("the writer failed a batch of %d", len(batch))
                    for job in batch:
                        if not job.future.done():
                            job.future.set_exception(exc)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
        finally:
            self._worker = None

    def _refuse_pending(self, halted: StorageUnavailable) -> None:
        """Refuse every command still waiting, unsent: the log's end cannot be read, so each
        would only wait out the store's timeouts (twice: its append and the catch-up) before
        the same 503, behind the ones queued before it (an audit saw writes held for tens of
        seconds during a Redis stall). Nothing of theirs reached the store."""
        while self._pending:
            job = self._pending.popleft()
            if not job.future.done():
                job.future.set_exception(StorageUnavailable(halted.store, halted.detail))
        self.metrics.set_write_queue_depth(0)

    async def _stored_ops(self, batch: list[_Job]) -> dict[tuple[str, str], OpRecord | None]:
        """The batch's op ids as the store knows them, read in the storage thread: on Redis
        this is a network round trip, which must not hold up the event loop."""
        wanted = {job.op for job in batch if job.op is not None}
        if not wanted:
            return {}
        return await self._io(lambda: {op: self.store.find_op(*op) for op in wanted})

    def _decide(self, batch: list[_Job], stored_ops: dict[tuple[str, str], OpRecord | None]
                ) -> tuple[list[_Planned], list[Event], list[OpRecord], list[_Answer]]:
        """Decide each job in order against the state the earlier ones leave (a scratch copy
        when the batch has more than one). Refusals, no-ops and repeats are answered only after
        the commit, in order (see :meth:`_commit`): they were judged on that state."""
        work = self.state.fork() if len(batch) > 1 else self.state
        planned: list[_Planned] = []
        events: list[Event] = []
        ops: list[OpRecord] = []
        answers: list[_Answer] = []
        in_batch: dict[tuple[str, str], tuple[str, _Planned]] = {}
        base = self.state.last_seq
        for place, job in enumerate(batch):
            try:
                digest = ""
                if job.op is not None:
                    digest = hashlib.sha256(repr(job.command).encode()).hexdigest()
                    earlier = in_batch.get(job.op)
                    if earlier is not None:
                        if earlier[0] != digest:
                            raise _reused_op()
                        planned.append(_Planned(job, earlier[1].decision, 0, 0, earlier[1],
                                                place=place))
                        continue
                    seen = stored_ops.get(job.op)
                    if seen is not None:
                        if seen.digest != digest:
                            raise _reused_op()
                        answers.append(_Answer(place, job, Executed(
                            Decision([], callout_id=seen.callout_id, duplicate=True), [],
                            original_seq=seen.seq)))
                        continue
                if job.guard is not None:
                    job.guard(work)
                decision = decide(work, job.command, now=self.clock.now(), actor=job.actor,
                                  config=self.config)
            except Exception as exc:
                answers.append(_Answer(place, job, exc))
                continue
            if not decision.events:
                answers.append(_Answer(place, job, Executed(decision, [])))
                continue
            item = _Planned(job, decision, len(events), len(decision.events), place=place)
            planned.append(item)
            events.extend(decision.events)
            if job.op is not None:
                in_batch[job.op] = (digest, item)
                ops.append(OpRecord(job.op[0], job.op[1], digest, decision.callout_id,
                                    base + len(events)))
            if work is not self.state:
                for i, event in enumerate(decision.events, start=base + item.start + 1):
                    work.apply(Envelope(i, event))
        return planned, events, ops, answers

    async def _commit(self, batch: list[_Job], attempt: int = 0, *,
                      read_ops: bool = False) -> None:
        """Decide ``batch`` and append its events. The ops are looked up first unless the
        store checks them in its append; then a refusal or no-op of an op command (it may be
        a repeat's) and an append refused for a stored op decide again with them read."""
        unread = not read_ops and self._ops_checked_on_append
        try:
            stored_ops = {} if unread else await self._stored_ops(batch)
        except StorageUnavailable as exc:
            self.storage_failed(exc.store, exc.detail)
            for job in batch:
                if not job.future.done():
                    job.future.set_exception(exc)
            return
        planned, events, ops, answers = self._decide(batch, stored_ops)
        if unread and any(a.job.op is not None for a in answers):
            await self._commit(batch, attempt, read_ops=True)
            return
        if attempt < REDECIDE_LIMIT and any(isinstance(a.outcome, Exception) for a in answers) \
                and await self._log_moved():
            # a refusal judged on a state behind a shared log may be wrong (the unit it did
            # not know was registered elsewhere): catch up and judge again
            self.conflicts += 1
            await self._catch_up()
            if self._halted is None:
                await self._commit(batch, attempt + 1, read_ops=True)
                return
            planned, events, ops, answers = self._decide(batch, stored_ops)
        if not events:
            _settle(answers)
            return
        expected = self.state.last_seq
        rows = self._audit_rows_of(planned, answers, expected)
        try:
            envelopes, audit_failure = await self._io(partial(
                self._append, events, expected, ops, [row for _, row in rows]))
        except (StorageUnavailable, StoreConflict) as exc:
            if isinstance(exc, StorageUnavailable):
                self.storage_failed(exc.store, exc.detail)
            if isinstance(exc, StorageUnavailable) and exc.stalled:
                # the store did not answer in time: reading its end now would wait as long
                # again, so stop taking writes at once; the probe catches up once it answers
                self._halt(exc.detail)
            elif not (isinstance(exc, StoreConflict) and exc.end is not None and
                      self._apply_known(exc.missed) and self.state.last_seq >= exc.end):
                await self._catch_up()  # (the refusal did not bring every missed event)
            if isinstance(exc, StoreConflict) and self._halted is not None:
                # the log could not be read to judge the batch again: a storage fault (503),
                # not a lost race the client should be told to retry at once (409)
                exc = StorageUnavailable(self._halted.store, self._halted.detail)
            if isinstance(exc, StoreConflict) and self._halted is None and \
                    attempt < REDECIDE_LIMIT:
                # another instance appended first: decide the whole batch again on the state
                # its events made (a command no longer valid now gets the core's own refusal)
                self.conflicts += 1
                if attempt >= 2:  # lost again and again: step aside a random moment, so the
                    # instances racing for the log's end do not collide in lockstep, then learn
                    # where it ends now (a refusal's events are stale after the pause)
                    await asyncio.sleep(random.uniform(0, REDECIDE_BACKOFF_S * attempt))
                    await self._catch_up()
                # the winner may have stored one of this batch's ops (OpsSeen, or a repeat
                # sent to two instances): read them this time
                await self._commit(batch, attempt + 1, read_ops=True)
                return
            stored = None
            if isinstance(exc, StorageUnavailable) and self.state.last_seq > expected:
                # the log grew: with this batch's events, or (a shared log) another writer's,
                # whose entries this batch's script, stamped with the old end, can never pass
                stored = await self._stored_here(expected, events)
            if stored:  # the store could not say so, but the events are there
                self._answer(planned, answers, expected)
                return
            if stored is False and isinstance(exc, OutcomeUnknown):
                exc = StorageUnavailable(exc.store, exc.detail)  # known now: not stored
            # Answers judged before the first command with events stand (they saw the real
            # state); those after it were judged on events that were not stored: they fail too
            first = planned[0].place
            _settle([a for a in answers if a.place < first])
            failed: list[_Planned | _Answer] = [*(a for a in answers if a.place > first),
                                                *planned]
            for item in sorted(failed, key=lambda x: x.place):
                if not item.job.future.done():
                    item.job.future.set_exception(exc)
            return
        self.commits += 1
        self.storage_ok("events")
        self._audit_written(rows, audit_failure)
        audiences = [self.apply(env) for env in envelopes]
        self._publish(envelopes, audiences)
        self._answer(planned, answers, expected)

    async def _stored_here(self, expected: int, events: list[Event]) -> bool | None:
        """Whether the log's entries after ``expected`` are ``events`` (this batch, stored
        though the store could not say so), False if they are other events, None if the
        store cannot be read. A log that merely grew proves nothing on a shared store: another
        instance's events took those seqs (an audit saw such writes answered as stored)."""
        def read() -> list[Envelope]:
            out: list[Envelope] = []
            for env in self.store.read(expected):
                out.append(env)
                if len(out) == len(events):
                    break
            return out

        try:
            found = await self._io(read)
        except StorageUnavailable:
            return None
        return len(found) == len(events) and all(
            _same(env.event, event) for env, event in zip(found, events, strict=True))

    def _append(self, events: list[Event], expected: int, ops: list[OpRecord],
                rows: list[AuditRow]) -> tuple[list[Envelope], Exception | None]:
        """(Storage thread.) Append ``events`` and write the batch's audit ``rows`` in one
        trip: with the events where the store takes them (Redis), else right after them. An
        audit failure after the events were stored does not undo them: it is returned."""
        if rows and self._append_audited is not None:
            return self._append_audited(events, expected_last_seq=expected, ops=ops,
                                        audit=rows), None
        envelopes = self.store.append(events, expected_last_seq=expected, ops=ops)
        if rows and self.audit is not None:
            try:
                self.audit.record_many(rows)
            except Exception as exc:
                return envelopes, exc
        return envelopes, None

    def _audit_written(self, rows: list[tuple[_AuditDraft, AuditRow]],
                       failure: Exception | None) -> None:
        """Mark the batch's drafts written; a SQLite or disk failure of their rows is reported
        (health, metrics) and logged as :meth:`record` does, another goes to the callers."""
        if isinstance(failure, sqlite3.Error | OSError):
            self.storage_failed("audit", str(failure))
            for _, row in rows:
                logger.error("audit row for %s by %s lost: %s", row.action,
                             row.principal.principal_id, failure)
            failure = None
        for draft, _ in rows:
            draft.written = True
            draft.error = failure

    def _audit_rows_of(self, planned: list[_Planned], answers: list[_Answer], base: int
                       ) -> list[tuple[_AuditDraft, AuditRow]]:
        """The audit rows of a batch about to be appended at ``base + 1 …``, written in the
        same trip to the storage thread: each job's result as :meth:`run` would record it."""
        if self.audit is None:
            return []
        now = self.clock.now()
        rows: list[tuple[_AuditDraft, AuditRow]] = []
        items: list[_Planned | _Answer] = [*planned, *answers]
        for item in sorted(items, key=lambda x: x.place):
            draft = item.job.audit
            if draft is None:
                continue
            if isinstance(item, _Planned):
                first = item.first or item
                rows.append((draft, draft.row(now, "ok" if item.first is None else "duplicate",
                                              first.decision.callout_id,
                                              base + first.start + first.count)))
            elif isinstance(item.outcome, MaeError):
                rows.append((draft, draft.row(now, _refusal(item.outcome), None, None)))
            elif isinstance(item.outcome, Executed):
                done = item.outcome
                rows.append((draft, draft.row(
                    now, "duplicate" if done.decision.duplicate else "ok",
                    done.decision.callout_id, done.last_seq)))
        return rows

    def _answer(self, planned: list[_Planned], answers: list[_Answer], base: int) -> None:
        """Answer a committed batch's jobs in their order (which is the log's)."""
        order: list[_Planned | _Answer] = sorted([*planned, *answers], key=lambda x: x.place)
        for item in order:
            if isinstance(item, _Answer):
                _settle([item])
            else:
                self._resolve(item, base)

    def _resolve(self, item: _Planned, base: int) -> None:
        """Answer a planned job once its events are stored at ``base + 1 …``."""
        if item.job.future.done():
            return
        if item.first is not None:  # a repeat of an op earlier in the same batch
            first = item.first
            item.job.future.set_result(Executed(
                Decision([], callout_id=first.decision.callout_id, duplicate=True), [],
                original_seq=base + first.start + first.count))
            return
        envelopes = [Envelope(base + item.start + 1 + i, e)
                     for i, e in enumerate(item.decision.events)]
        item.job.future.set_result(Executed(item.decision, envelopes))

    async def _catch_up(self) -> None:
        """Re-read the log's end and apply (and publish) whatever is stored beyond the state;
        if the log cannot be read, stop taking writes until :meth:`probe` succeeds."""
        try:
            last = await self._io(self.store.refresh)
            n = await self._apply_tail() if last > self.state.last_seq else 0
        except (StorageUnavailable, sqlite3.Error, OSError) as exc:
            self._halt(exc.detail if isinstance(exc, StorageUnavailable) else str(exc))
            return
        if n:
            logger.info("applied %d events another writer stored", n)
        self._halted = None

    def _halt(self, detail: str) -> None:
        """Stop taking writes: the log's end is not known (:meth:`probe` catches up)."""
        self._halted = StorageUnavailable("events", detail)
        self.storage_failed("events", detail)
        logger.error("the event log cannot be read (%s): writes stop until it can", detail)

    async def _apply_tail(self) -> int:
        """Read the stored events beyond the state (in pages, off the loop), apply and publish
        them in order; the caller holds ``_applying``. Returns how many were applied."""
        n = 0
        while True:
            since = self.state.last_seq
            page = await asyncio.to_thread(self._read_page, since)
            if not page:
                return n
            audiences = [self.apply(env) for env in page]
            self._publish(page, audiences)
            if self.on_followed is not None:
                self.on_followed(page)
            n += len(page)
            if len(page) < TAIL_PAGE:
                return n

    async def _log_moved(self) -> bool:
        """Whether the stored log ends past the state (another writer appended); False when
        that cannot be read (the commit then finds out)."""
        try:
            return await asyncio.to_thread(self.store.refresh) > self.state.last_seq
        except (StorageUnavailable, sqlite3.Error, OSError):
            return False

    def _read_page(self, since: int) -> list[Envelope]:
        return list(itertools.islice(self.store.read(since), TAIL_PAGE))

    async def follow(self, upto: int | None = None, events: Sequence[Envelope] = ()) -> int:
        """Apply and publish the events other instances appended to a shared store since the
        state's end, exactly once and in order (never while this writer's own batch is being
        appended: its events are applied by the commit). ``upto``: where the log was seen to
        end; when the state has reached it meanwhile (this writer's own commit) nothing is
        read. ``events``: those the follower's read brought already (applied without reading
        them again when they continue the state). Returns how many were applied; raises
        :class:`StorageUnavailable` if the log cannot be read."""
        if not self._whole.is_set():
            await self._whole.wait()
        async with self._applying:
            if upto is not None and self.state.last_seq >= upto:
                return 0
            n = self._apply_known(events)
            if upto is not None and self.state.last_seq >= upto:
                return n
            try:
                return n + await self._apply_tail()
            except sqlite3.Error as exc:
                raise StorageUnavailable("events", str(exc)) from exc

    def _apply_known(self, events: Sequence[Envelope]) -> int:
        """Apply and publish those of ``events`` (read already) that continue the state
        without a gap; the caller holds ``_applying``. Returns how many were applied."""
        page = [env for env in events if env.seq > self.state.last_seq]
        if not page or any(env.seq != self.state.last_seq + 1 + i for i, env in enumerate(page)):
            return 0
        audiences = [self.apply(env) for env in page]
        self._publish(page, audiences)
        if self.on_followed is not None:
            self.on_followed(page)
        return len(page)

    async def probe(self) -> bool:
        """The storage heartbeat: a small durable write; when it works, a halted writer catches
        up with the log and takes writes again, and the failures on record are cleared.
        Returns whether the store works."""
        try:
            await self._io(self.store.probe)
        except StorageUnavailable as exc:
            self.storage_failed(exc.store, exc.detail)
            return False
        if self._halted is not None:
            async with self._applying:
                await self._catch_up()
            if self._halted is not None:
                return False
        self.storage_errors.clear()  # events and audit share the one file
        return True

    def storage_failed(self, store: str, detail: str) -> None:
        """Record that ``store`` failed (for /health) and tell ``on_storage_error``."""
        if store not in self.storage_errors:
            logger.error("the %s store failed: %s", store, detail)
        self.storage_errors[store] = detail
        self.metrics.storage_error(_storage_kind(detail))
        if self.on_storage_error is not None:
            self.on_storage_error(store)

    def storage_ok(self, store: str) -> None:
        """Record that ``store`` took a write again."""
        if self.storage_errors.pop(store, None) is not None:
            logger.warning("the %s store works again", store)

    async def run(
        self, command: Command, *, principal: Principal, client: str, action: str,
        target: Mapping[str, object] | None = None, op: str | None = None,
        guard: Guard | None = None,
    ) -> Executed:
        """:meth:`execute` on behalf of ``principal``, recorded in the audit log whether done or
        refused (except when the queue is full: see :class:`Busy`); an ``op`` id is scoped to
        the principal's unit (or to the principal). The row of a command in a batch that
        stored events goes in the same trip to the storage thread as the events (one hop per
        batch, not two); that of a batch that stored nothing is written here."""
        target = dict(target or {})
        key = None
        if op is not None:
            scope = f"unit:{principal.unit_id}" if principal.unit_id else \
                f"principal:{principal.principal_id}"
            key = (scope, op)
        draft = _AuditDraft(principal, action, dict(target), client)
        try:
            done = await self.execute(command, actor=principal.actor, op=key, guard=guard,
                                      bounded=True, audit=draft)
        except Busy:
            raise  # not audited: a row per refusal would add writes to an overloaded store
        except StorageUnavailable as exc:
            # the store is failing: its refusal's audit row would wait out the same fault (a
            # locked SQLite file's busy timeout, once more, before the client's 503)
            if not draft.written:
                logger.warning("%s by %s refused: %s store unavailable; no audit row", action,
                               principal.principal_id, exc.store)
            raise
        except MaeError as exc:
            if not draft.written:
                await self.record(principal, action, target, client, _refusal(exc))
            elif draft.error is not None:
                raise draft.error from exc
            raise
        if draft.written:  # with its batch's events
            if draft.error is not None:
                raise draft.error
            return done
        target.setdefault("callout_id", done.decision.callout_id)
        target["seq"] = done.last_seq
        await self.record(principal, action, target, client,
                          "duplicate" if done.decision.duplicate else "ok")
        return done

    async def record(self, principal: Principal, action: str, target: Mapping[str, object],
                     client: str, result: str) -> None:
        """Add an audit row and wait until it is written. Rows that arrive together are
        written in one transaction from a worker thread (the insert may wait for SQLite's
        write lock while an event commit holds it, and must not stop the event loop
        meanwhile). A failing audit store is reported (health, metrics) but does not undo or
        fail the command."""
        if self.audit is None:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._audit_rows.append((AuditRow(self.clock.now(), principal, action, target, client,
                                          result), future))
        if self._audit_worker is None:  # the write starts now, not on the task's first step
            self._audit_worker = asyncio.ensure_future(self._write_audit(self._audit_job()))
        await future

    def _audit_job(self) -> tuple[_AuditBatch, asyncio.Future[None]]:
        """Start writing every waiting audit row in one transaction in the storage thread."""
        audit = self.audit
        assert audit is not None
        batch, self._audit_rows = self._audit_rows, []
        return batch, self._io(partial(audit.record_many, [row for row, _ in batch]))

    async def _write_audit(self, job: tuple[_AuditBatch, asyncio.Future[None]]) -> None:
        """Wait for ``job``, answer its rows' callers, then write the rows that came meanwhile
        (all of them in one transaction), until none wait."""
        try:
            while True:
                batch, written = job
                failure: BaseException | None = None
                try:
                    await written
                except (sqlite3.Error, OSError) as exc:
                    self.storage_failed("audit", str(exc))
                    for row, _ in batch:
                        logger.error("audit row for %s by %s lost: %s", row.action,
                                     row.principal.principal_id, exc)
                except Exception as exc:  # e.g. the Redis store unavailable: the callers get it
                    failure = exc
                finally:
                    for _, future in batch:
                        if not future.done():
                            if failure is not None:
                                future.set_exception(failure)
                            else:
                                future.set_result(None)
                if not self._audit_rows:
                    return
                job = self._audit_job()
        finally:
            self._audit_worker = None


def _storage_kind(detail: str) -> str:
    """A storage failure's kind for the metrics, from what the store said."""
    text = detail.lower()
    for needle, kind in (("disk is full", "ENOSPC"), ("no space", "ENOSPC"),
                         ("too large", "EFBIG"), ("locked", "locked"), ("readonly", "readonly"),
                         ("read-only", "readonly"), ("i/o", "EIO")):
        if needle in text:
            return kind
    return "other"


def _same(a: Event, b: Event) -> bool:
    """Whether two events are the same as the log writes them (one read back from it)."""
    return json.dumps(event_to_dict(a), sort_keys=True) == json.dumps(event_to_dict(b),
                                                                       sort_keys=True)
