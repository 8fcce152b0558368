"""The single writer: every command is decided, logged durably, applied and published here.

Under one lock the core decides, the events are appended durably to the
:class:`~web.eventstore.EventStore` (in a worker thread, so the event loop keeps serving sockets
while SQLite fsyncs), applied to the in-memory state and handed to the fan-out. The step runs in
a shielded task, so a client that disconnects mid-command cannot leave the log ahead of the
state. A restart replays the log.

Exactly-once for client operations: a command may carry an op id (a crew tablet's outbox makes
one per queued item). Under the writer lock the store is asked whether that op was accepted
before; if so the original result (its seq and callout) is returned as a duplicate and nothing
is appended, otherwise the op is stored in the same transaction as its events. A refused op
changed nothing and is not remembered, so a retry of it is judged afresh.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dispatch.clock import Clock
from dispatch.commands import Command, Decision, DispatchConfig, decide
from dispatch.events import Envelope
from dispatch.state import DispatchState
from mae.errors import MaeError
from web.audit import AuditLog
from web.auth import Principal
from web.errors import BadMessage, describe
from web.eventstore import EventStore, OpRecord
from web.logindex import LogIndex
from web.views import track_eta
from web.visibility import Audience, audience_of

__all__ = ["Executed", "Guard", "LogIndex", "Publish", "Writer"]

logger = logging.getLogger(__name__)


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
Publish = Callable[[list[Envelope], list[Audience]], None]


class Writer:
    """The one writer of ``state``: decides, logs, applies, then calls ``publish``."""

    def __init__(self, store: EventStore, state: DispatchState, index: LogIndex, *,
                 clock: Clock, config: DispatchConfig, publish: Publish,
                 audit: AuditLog | None = None) -> None:
        self.store = store
        self.state = state
        self.index = index
        self.clock = clock
        self.config = config
        self.audit = audit
        self._publish = publish
        self._lock = asyncio.Lock()
        self._inflight: set[asyncio.Task[Executed]] = set()

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
                      guard: Guard | None = None) -> Executed:
        """Decide, log durably, apply and publish ``command``; raises the core's error if it
        breaks a rule (and then nothing changed). ``op`` = (scope, op id) makes it exactly-once:
        a repeat returns the first result marked duplicate. ``guard(state)`` runs under the
        writer lock before deciding and may raise to refuse a command the world moved past."""
        task = asyncio.ensure_future(self._execute(command, actor, op, guard))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        return await asyncio.shield(task)

    async def drain(self) -> None:
        """Wait for commands still being written (a shielded step outlives a cancelled
        caller), so the stores are closed only after them; their errors went to the callers."""
        while self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)

    async def _execute(self, command: Command, actor: str, op: tuple[str, str] | None,
                       guard: Guard | None) -> Executed:
        async with self._lock:
            record: OpRecord | None = None
            digest = ""
            if op is not None:
                digest = hashlib.sha256(repr(command).encode()).hexdigest()
                seen = self.store.find_op(*op)
                if seen is not None:
                    if seen.digest != digest:
                        raise BadMessage("op", "this op id was already used for a different "
                                         "message; make a new one per message")
                    return Executed(Decision([], callout_id=seen.callout_id, duplicate=True),
                                    [], original_seq=seen.seq)
            if guard is not None:
                guard(self.state)
            decision = decide(self.state, command, now=self.clock.now(), actor=actor,
                              config=self.config)
            if not decision.events:
                return Executed(decision, [])
            if op is not None:
                record = OpRecord(op[0], op[1], digest, decision.callout_id)
            envelopes = await asyncio.to_thread(
                self.store.append, decision.events, expected_last_seq=self.state.last_seq,
                op=record,
            )
            audiences = [self.apply(env) for env in envelopes]
            self._publish(envelopes, audiences)
            return Executed(decision, envelopes)

    async def run(
        self, command: Command, *, principal: Principal, client: str, action: str,
        target: Mapping[str, object] | None = None, op: str | None = None,
        guard: Guard | None = None,
    ) -> Executed:
        """:meth:`execute` on behalf of ``principal``, recorded in the audit log either way;
        an ``op`` id is scoped to the principal's unit (or to the principal)."""
        target = dict(target or {})
        key = None
        if op is not None:
            scope = f"unit:{principal.unit_id}" if principal.unit_id else \
                f"principal:{principal.principal_id}"
            key = (scope, op)
        try:
            done = await self.execute(command, actor=principal.actor, op=key, guard=guard)
        except MaeError as exc:
            info = describe(exc)
            await self.record(principal, action, target, client,
                              f"refused {info.code}" + (f" ({info.field})" if info.field else ""))
            raise
        target.setdefault("callout_id", done.decision.callout_id)
        target["seq"] = done.last_seq
        await self.record(principal, action, target, client,
                          "duplicate" if done.decision.duplicate else "ok")
        return done

    async def record(self, principal: Principal, action: str, target: Mapping[str, object],
                     client: str, result: str) -> None:
        """Add an audit row from a worker thread: the insert may wait for SQLite's write lock
        while an event commit holds it, and must not stop the event loop meanwhile."""
        if self.audit is not None:
            await asyncio.to_thread(self.audit.record, at=self.clock.now(),
                                    principal=principal, action=action, target=target,
                                    client=client, result=result)
