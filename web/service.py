"""The asyncio shell around the dispatch core: one writer, a durable log, live subscribers.

Every command goes through :meth:`DispatchService.execute`: under one lock the core decides,
the events are appended durably to the :class:`~web.eventstore.EventStore` (in a worker thread,
so the event loop keeps serving sockets while SQLite fsyncs), applied to the in-memory state and
fanned out to subscribers. The step runs in a shielded task, so a client that disconnects
mid-command cannot leave the log ahead of the state. A restart replays the log.

Subscribers (:class:`Subscription`) get rendered JSON text on a bounded queue; one that falls
too far behind is dropped and told to reconnect with ``since=``. A reconnect is gap-free: the
subscription is registered and the backlog read up to the state's ``last_seq`` in one step with
no await between, so every later event reaches the queue and every earlier one the backlog.

Exactly-once for client operations: a command may carry an op id (a crew tablet's outbox makes
one per queued item). Under the writer lock the store is asked whether that op was accepted
before; if so the original result (its seq and callout) is returned as a duplicate and nothing
is appended, otherwise the op is stored in the same transaction as its events. A refused op
changed nothing and is not remembered, so a retry of it is judged afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dispatch.clock import Clock
from dispatch.commands import (
    Command,
    Decision,
    DispatchConfig,
    RegisterUnit,
    StartShift,
    Tick,
    decide,
)
from dispatch.errors import InvalidCommand
from dispatch.events import (
    AssignmentTimedOut,
    Envelope,
    UnitAssigned,
)
from dispatch.model import Location
from dispatch.recommend import Proposal, RecommendConfig, UnitOption, propose, recommend
from dispatch.state import DispatchState
from mae.errors import MaeError
from maps.gazetteer import Gazetteer
from maps.graph import RoadGraph, haversine_m
from routing.engine import TravelTimes
from routing.errors import SnapError
from web.audit import AuditLog
from web.auth import Principal, Role
from web.errors import BadMessage, describe
from web.eventstore import EventStore, OpRecord
from web.views import (
    alarm_status,
    board_snapshot,
    callout_view,
    live_callout_id,
    option_view,
    track_eta,
    unit_view,
)
from web.visibility import Audience, Viewer, audience_of

__all__ = ["Clock", "DispatchService", "Executed", "Guard", "Subscription", "WallClock"]

NEARBY_LABEL_KM = 30.0  # farther from every place, coordinates get no label

logger = logging.getLogger(__name__)


class WallClock:
    """The real time, timezone-aware (UTC)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Executed:
    """A command that went through: the core's decision and the envelopes logged for it."""

    decision: Decision
    envelopes: list[Envelope]
    original_seq: int | None = None  # a repeated op: the seq its first run was stored at

    @property
    def last_seq(self) -> int | None:
        return self.envelopes[-1].seq if self.envelopes else self.original_seq


class Subscription:
    """One connected client's outbox of rendered messages."""

    def __init__(self, viewer: Viewer, *, maxsize: int) -> None:
        self.viewer = viewer
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize)
        self.dropped = False

    def push(self, text: str) -> None:
        """Queue ``text``; a full queue drops the subscriber (it must reconnect with since=)."""
        if self.dropped:
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.dropped = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)


Guard = Callable[[DispatchState], None]


def _dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@dataclass
class _Index:
    """What the service keeps beside the core's state: audiences per seq and arrival times."""

    audiences: list[Audience] = field(default_factory=lambda: [Audience()])
    eta_at: dict[str, datetime] = field(default_factory=dict)


class DispatchService:
    """The single writer of the dispatch state and the hub of its subscribers."""

    def __init__(
        self,
        store: EventStore,
        *,
        graph: RoadGraph,
        clock: Clock | None = None,
        audit: AuditLog | None = None,
        config: DispatchConfig | None = None,
        recommend_config: RecommendConfig | None = None,
        queue_size: int = 10_000,
    ) -> None:
        self.store = store
        self.graph = graph
        self.clock: Clock = clock or WallClock()
        self.audit = audit
        self.config = config or DispatchConfig()
        self.recommend_config = recommend_config or RecommendConfig()
        self.queue_size = queue_size
        self.gazetteer = Gazetteer.of(graph)
        self.state = DispatchState()
        self.index = _Index()
        self._travel = TravelTimes(graph, at=self.clock.now())
        self._lock = asyncio.Lock()
        self._inflight: set[asyncio.Task[Executed]] = set()
        self._subs: set[Subscription] = set()

    # -- loading ---------------------------------------------------------------------------

    def load(self) -> int:
        """Replay the stored log into the state; returns the number of events replayed."""
        n = 0
        for env in self.store.read(self.state.last_seq):
            self._apply(env)
            n += 1
        self._travel.prepare()
        logger.info("replayed %d events; log ends at %d", n, self.state.last_seq)
        return n

    def _apply(self, env: Envelope) -> Audience:
        audience = audience_of(self.state, env.event)
        self.state.apply(env)
        self.index.audiences.append(audience)
        track_eta(self.index.eta_at, env.event)
        return audience

    # -- the one writer --------------------------------------------------------------------

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
            audiences = [self._apply(env) for env in envelopes]
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

    # -- fan-out -----------------------------------------------------------------------------

    def _render(self, viewer: Viewer, env: Envelope, audience: Audience) -> str | None:
        message = viewer.render(env, audience)
        if message is None:
            return None
        event = env.event
        if viewer.role is Role.CREW and isinstance(event, UnitAssigned):
            callout = self.state.callouts.get(event.callout_id)
            if callout is not None:
                message["job"] = callout_view(self.state, callout, with_text=True,
                                              eta_at=self.index.eta_at.get(callout.callout_id))
        return _dumps(message)

    def _agency_statuses(self, agency: str, callout_ids: Iterable[str]) -> list[dict[str, Any]]:
        now = self.clock.now()
        seen: set[str] = set()
        out = []
        for cid in callout_ids:
            if cid not in self.state.callouts:
                continue
            callout = self.state.callouts[live_callout_id(self.state, cid)]
            for alarm_id in callout.alarm_ids:
                if alarm_id in seen or self.state.alarms[alarm_id].agency.value != agency:
                    continue
                seen.add(alarm_id)
                out.append(alarm_status(self.state, alarm_id, eta_at=self.index.eta_at, now=now))
        return out

    def _publish(self, envelopes: list[Envelope], audiences: list[Audience]) -> None:
        if not self._subs:
            return
        rendered: dict[tuple[Viewer, int], str | None] = {}
        statuses: dict[Viewer, str | None] = {}
        touched = frozenset().union(*(a.callouts for a in audiences))
        for sub in list(self._subs):
            viewer = sub.viewer
            for env, audience in zip(envelopes, audiences, strict=True):
                key = (viewer, env.seq)
                if key not in rendered:
                    rendered[key] = self._render(viewer, env, audience)
                text = rendered[key]
                if text is not None:
                    sub.push(text)
            if viewer.role is Role.AGENCY and viewer.agency is not None:
                if viewer not in statuses:
                    alarms = self._agency_statuses(viewer.agency, touched)
                    statuses[viewer] = _dumps(
                        {"type": "alarm_status", "as_of": envelopes[-1].seq, "alarms": alarms}
                    ) if alarms else None
                text = statuses[viewer]
                if text is not None:
                    sub.push(text)

    def broadcast(self, message: Mapping[str, Any], *, roles: frozenset[Role]) -> None:
        """Send a message that is not an event (an alert) to every subscriber of ``roles``."""
        text = _dumps(message)
        for sub in list(self._subs):
            if sub.viewer.role in roles:
                sub.push(text)

    def subscribe(self, principal: Principal, since: int | None) -> tuple[Subscription, list[str]]:
        """Register a subscriber; returns it with the messages to send before live ones:
        the events after ``since`` it may see (or a snapshot when ``since`` is None), then
        ``ready``."""
        upto = self.state.last_seq
        if since is not None and not 0 <= since <= upto:
            raise BadMessage("since", f"must be between 0 and {upto}, the end of the log")
        viewer = Viewer.of(principal)
        sub = Subscription(viewer, maxsize=self.queue_size)
        self._subs.add(sub)
        initial: list[str] = []
        if since is None:
            initial.append(_dumps(self.snapshot(viewer)))
        else:
            touched: set[str] = set()
            for env in self.store.read(since):
                if env.seq > upto:
                    break
                audience = self.index.audiences[env.seq]
                touched |= audience.callouts
                text = self._render(viewer, env, audience)
                if text is not None:
                    initial.append(text)
            if viewer.role is Role.AGENCY and viewer.agency is not None:
                initial.append(_dumps({"type": "alarm_status", "as_of": upto,
                                       "alarms": self._agency_statuses(viewer.agency, touched)}))
        initial.append(_dumps({"type": "ready", "seq": upto}))
        return sub, initial

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    def snapshot(self, viewer: Viewer) -> dict[str, Any]:
        """The current state as ``viewer`` may see it."""
        state, seq = self.state, self.state.last_seq
        if viewer.role is Role.CREW:
            unit = state.units.get(viewer.unit_id or "")
            job = None
            if unit is not None and unit.callout_id is not None:
                callout = state.callouts[unit.callout_id]
                job = callout_view(state, callout, with_text=True,
                                   eta_at=self.index.eta_at.get(callout.callout_id))
            return {"type": "snapshot", "seq": seq,
                    "unit": unit_view(unit) if unit else None, "job": job}
        if viewer.role is Role.AGENCY:
            since = self.clock.now() - timedelta(hours=24)
            mine = [cid for a, cid in state.alarm_callout.items()
                    if state.alarms[a].agency.value == viewer.agency
                    and (state.alarms[a].received_at >= since
                         or state.callouts[live_callout_id(state, cid)].status.is_open)]
            return {"type": "snapshot", "seq": seq,
                    "alarms": self._agency_statuses(viewer.agency or "", mine)}
        return board_snapshot(state, with_text=viewer.sees_text, eta_at=self.index.eta_at)

    # -- advice -----------------------------------------------------------------------------

    def travel(self) -> TravelTimes:
        """The travel-time engine for the current time of day and season."""
        return self._travel.situation(at=self.clock.now())

    def recommend(self, callout_id: str, *, exclude: Iterable[str] = ()) -> list[UnitOption]:
        """Units ranked for ``callout_id`` (assignable first, then by ETA)."""
        skip = set(exclude)
        options = recommend(self.state, callout_id, self.travel(), now=self.clock.now(),
                            places=self.graph.places, config=self.recommend_config)
        return [o for o in options if o.unit_id not in skip]

    def propose(self) -> Proposal:
        return propose(self.state, self.travel(), now=self.clock.now(),
                       config=self.recommend_config)

    def eta_s(self, unit_id: str, callout_id: str) -> float | None:
        """Road ETA of a unit to a callout, or None if either is unknown or unreachable."""
        unit = self.state.units.get(unit_id)
        callout = self.state.callouts.get(callout_id)
        if unit is None or callout is None:
            return None
        try:
            eta = self.travel().eta((unit.position.lat, unit.position.lon),
                                    (callout.location.lat, callout.location.lon))
        except SnapError:
            return None
        return eta.duration_s if eta.reachable else None

    # -- locations ----------------------------------------------------------------------------

    def resolve(self, *, lat: float | None, lon: float | None, place: str | None,
                field: str = "location", label: bool = False) -> Location:
        """A location from coordinates or a place name of the loaded map, checked to lie
        within reach of its roads; ``label`` names bare coordinates by the nearest place."""
        if place is not None and place.strip():
            found = self.gazetteer.find(place)
            return Location(found.lat, found.lon, label=found.name, resolved_from=place)
        if lat is None or lon is None:
            raise InvalidCommand(field, "give lat and lon, or a place name")
        try:
            self._travel.snap(lat, lon)
        except SnapError as exc:
            raise InvalidCommand(field, f"not on the loaded map ({exc})") from None
        return Location(lat, lon, label=self.nearby_label(lat, lon) if label else "")

    def nearby_label(self, lat: float, lon: float) -> str:
        """The nearest place of the map as a label for bare coordinates ("Piteå" within a
        kilometre, "Piteå (3 km)" up to 30 km, "" beyond), so a dispatcher sees where it is."""
        places = self.graph.places
        if not places:
            return ""
        km, name = min((float(haversine_m(lat, lon, p.lat, p.lon)) / 1000.0, p.name)
                       for p in places)
        if km <= 1.0:
            return name
        return f"{name} ({km:.0f} km)" if km <= NEARBY_LABEL_KM else ""

    # -- background work ----------------------------------------------------------------------

    async def tick(self) -> Executed:
        """One clock tick: time out unacknowledged assignments and alert the dispatchers with
        the next-best unit."""
        done = await self.execute(Tick(), actor="system")
        for env in done.envelopes:
            event = env.event
            if not isinstance(event, AssignmentTimedOut):
                continue
            try:
                options = self.recommend(event.callout_id, exclude=[event.unit_id])
            except MaeError:
                logger.exception("no recommendation after the timeout of %s", event.callout_id)
                options = []
            logger.warning("unit %s did not acknowledge callout %s in time",
                           event.unit_id, event.callout_id)
            self.broadcast(
                {"type": "alert", "kind": "ack_timeout", "as_of": env.seq,
                 "callout_id": event.callout_id, "unit_id": event.unit_id,
                 "next_best": option_view(options[0]) if options else None},
                roles=frozenset({Role.DISPATCHER, Role.ADMIN, Role.PLANNER}),
            )
        return done

    async def run_ticks(self, interval_s: float) -> None:
        """Tick every ``interval_s`` seconds until cancelled; a failing tick is logged."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("tick failed")

    async def ensure_demo_units(self, *, shift_hours: float = 12.0) -> int:
        """Register one unit at each MAE base of the map (and start its shift) if the log has
        no units; returns how many were registered."""
        if self.state.units:
            return 0
        bases = [f for f in self.graph.facilities if "mae_base" in (f.kind, *f.kinds)]
        for fac in bases:
            unit_id = "MAE-" + self.gazetteer_key(fac.name)
            await self.execute(
                RegisterUnit(unit_id, f"MAE {fac.place or fac.name}", fac.name,
                             Location(fac.lat, fac.lon, label=fac.name)), actor="system")
            await self.execute(
                StartShift(unit_id, ("demo crew",),
                           self.clock.now() + timedelta(hours=shift_hours)), actor="system")
        return len(bases)

    @staticmethod
    def gazetteer_key(name: str) -> str:
        from maps.gazetteer import normalise_name

        return normalise_name(name).split(" ")[0].upper()

    def close(self) -> None:
        for sub in list(self._subs):
            with contextlib.suppress(asyncio.QueueFull):
                sub.queue.put_nowait(None)
        self._subs.clear()
