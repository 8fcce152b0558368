"""The dispatch service: one object the routes, sockets and demo talk to, composed of its parts.

Each concern lives in its own module and this facade wires them to one shared state:
:mod:`web.writer` is the single writer (decide, log durably, apply; exactly-once ops; audit),
:mod:`web.fanout` sends each subscriber what it may see, :mod:`web.advice` answers questions
(recommendations, ETAs, locations) and :mod:`web.ticks` turns passing time into commands.
Callers use these methods and read ``state``, ``graph`` and ``clock``; never the parts.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from dispatch.clock import Clock
from dispatch.commands import Command, DispatchConfig, ReportPosition
from dispatch.errors import UnknownAlarm
from dispatch.events import AssignmentTimedOut, Envelope
from dispatch.model import Location
from dispatch.recommend import Proposal, RecommendConfig, UnitOption
from dispatch.region import DEFAULT_TIMEZONE as REGION_TIMEZONE
from dispatch.region import Region
from dispatch.rota import RotaShift, ShiftPattern, due_not_signed_on, sign_on_shift
from dispatch.snapshot import SnapshotError
from dispatch.state import DispatchState
from maps.graph import RoadGraph
from routing.engine import TravelTimes
from web.advice import Advisor
from web.audit import Audit
from web.auth import Principal, Role
from web.eventstore import EventStore
from web.fanout import POSITION_ROLES, Backlog, Fanout, History, Subscription
from web.follower import Follower
from web.logindex import DEFAULT_WINDOW, AudienceWindow, LogIndex
from web.metrics import Metrics
from web.planning import DayPlanner, travel_fn
from web.positions import PositionReport, PositionStorage, PositionTracker
from web.snapshots import Snapshotter, restore_into
from web.ticks import Ticker
from web.views import alarm_status, dumps, location_view, rota_view
from web.visibility import Audience, Viewer
from web.writer import Executed, Guard, Writer

T = TypeVar("T")

__all__ = ["DEFAULT_TIMEZONE", "Backlog", "DispatchService", "Guard", "Subscription", "WallClock"]

logger = logging.getLogger(__name__)

#: The region's timezone when none is given (the rota's times are local to it).
DEFAULT_TIMEZONE = ZoneInfo(REGION_TIMEZONE)


def _position_view(unit_id: str, location: Location, at: datetime | None) -> dict[str, Any]:
    return {"unit_id": unit_id, "position": location_view(location),
            "at": at.isoformat() if at else None}


class WallClock:
    """The real time, timezone-aware (UTC): the service's clock unless one is given."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class DispatchService:
    """The single writer of the dispatch state and the hub of its subscribers."""

    def __init__(
        self,
        store: EventStore,
        *,
        graph: RoadGraph,
        clock: Clock | None = None,
        audit: Audit | None = None,
        config: DispatchConfig | None = None,
        recommend_config: RecommendConfig | None = None,
        queue_size: int = 10_000,
        backlog_window: int = DEFAULT_WINDOW,
        backlog_page: int = 500,
        metrics: Metrics | None = None,
        write_queue_size: int = 1_000,
        group_commit: bool = True,
        positions: PositionStorage | None = None,
        position_min_interval_s: float = 2.0,
        position_track_every_s: float = 30.0,
        snapshots: Snapshotter | None = None,
        rota: Iterable[ShiftPattern] = (),
        timezone: tzinfo = DEFAULT_TIMEZONE,
        position_broadcast_s: float = 1.0,
    ) -> None:
        self.graph = graph
        #: The shift patterns and their timezone, used while no region (``self.region``, with
        #: ``.rota`` and ``.timezone``) is loaded; a loaded region's rota wins.
        self.rota: tuple[ShiftPattern, ...] = tuple(rota)
        self.timezone: tzinfo = timezone
        self.clock: Clock = clock or WallClock()
        #: The region loaded at start (``mae serve --region``; :func:`web.regions.load_region`),
        #: whose ``rota`` and ``tzinfo`` the shifts follow; None when the service runs without.
        self.region: Region | None = None
        self.state = DispatchState()
        index = LogIndex(AudienceWindow(backlog_window))  # who may see each recent event
        self._index = index
        self._store = store
        self._snapshots = snapshots
        self._fanout = Fanout(store, self.state, index, clock=self.clock, queue_size=queue_size,
                              page_size=backlog_page)
        #: Called on the loop before each batch of new events and each ``unit_positions``
        #: message is sent (the app closes revoked principals' sockets there, so nothing sent
        #: later reaches them).
        self.before_publish: Callable[[], None] | None = None
        self._writer = Writer(store, self.state, index, clock=self.clock,
                              config=config or DispatchConfig(), publish=self._published,
                              audit=audit, queue_size=write_queue_size,
                              group_commit=group_commit, metrics=metrics)
        self.metrics = self._writer.metrics
        self.metrics.watch_subscribers(self._fanout.subscribers_by_role)
        self._advisor = Advisor(self.state, graph, clock=self.clock,
                                config=recommend_config or RecommendConfig(),
                                timezone=getattr(timezone, "key", None) or str(timezone))
        self._broadcast_s = position_broadcast_s
        self._moved: dict[str, PositionReport] = {}
        self._moved_timer: asyncio.TimerHandle | None = None
        self._positions = PositionTracker(
            positions, self.state, min_interval_s=position_min_interval_s,
            track_every_s=position_track_every_s, publish=self._show_position,
            on_storage_error=self._writer.storage_failed,
            on_storage_ok=self._writer.storage_ok) if positions is not None else None
        if self._positions is not None:
            tracker = self._positions
            self.metrics.watch_positions(
                lambda: (tracker.kept, tracker.dropped, tracker.pending))
        self._alerting: set[asyncio.Task[None]] = set()
        self._writer.on_followed = self._followed
        #: The day planner of follow-up visits (:mod:`web.planning`); runs in :meth:`run_planning`.
        self.planner = DayPlanner(self.state, self.execute, clock=self.clock,
                                  rota=self.rota_in_force, travel=lambda: travel_fn(self.travel()))
        self._ticker = Ticker(self._writer.execute, self._recommend_soon,
                              self._fanout.broadcast, due=self.due_not_signed_on,
                              after=self.planner.check_clock)

    # -- writing (web.writer) ------------------------------------------------------------------

    def _publish(self, envelopes: list[Envelope], audiences: list[Audience]) -> None:
        if self.before_publish is not None:
            self.before_publish()
        self._fanout.publish(envelopes, audiences)

    def load(self, *, prepare: bool = True, defer_history: bool = False) -> int:
        """Restore the newest usable snapshot (if snapshots are on), replay the log after it and
        (unless ``prepare`` is false: the app does it once it serves, see
        :meth:`prepare_routing`) start preparing routing in the background; returns the number
        of events replayed. ``defer_history``: leave the snapshot's closed history to
        :meth:`complete_history` (the app calls it once the port is open); until then readers
        of it wait and commands are held.

        The cycle collector is paused meanwhile (the state is built of acyclic frozen values,
        freed by reference counting; each full collection would rescan the millions already
        loaded), and what was loaded is then frozen out of its scans for good."""
        collecting = gc.isenabled()
        gc.disable()
        try:
            if self._snapshots is not None:
                self._snapshots.restore(self.state, self._index, defer=defer_history)
                if self._snapshots.history is not None:
                    self._writer.hold()
            n = self._writer.load()
        finally:
            gc.freeze()
            if collecting:
                gc.enable()
        if self._positions is not None:
            placed = self._positions.restore()
            logger.info("restored the last position of %d units", placed)
        if prepare:
            self.prepare_routing()
        return n

    @property
    def history_pending(self) -> bool:
        """Whether the restored snapshot's closed history is still to be decoded (commands
        are held meanwhile)."""
        return self._snapshots is not None and self._snapshots.history is not None

    async def complete_history(self) -> None:
        """Decode the restored snapshot's closed history in a worker thread, make the state
        whole on the loop and let the held commands in; then the cycle collector runs again.
        Should the history not decode (never expected: its checksum matched), the state is
        rebuilt from the log instead, commands still held."""
        snapshots = self._snapshots
        history = snapshots.history if snapshots is not None else None
        try:
            if snapshots is None or history is None:
                return
            history.start()
            try:
                await asyncio.to_thread(history.load_now)
                snapshots.complete(self.state)
            except SnapshotError as exc:
                snapshots.history = None
                logger.error("the snapshot's closed history does not decode (%s): replaying "
                             "the log", exc)
                fresh = await asyncio.to_thread(DispatchState.replay, self._store.read(0))
                restore_into(self.state, fresh)
                if self._positions is not None:
                    self._positions.restore()
            logger.info("the closed history is loaded; taking writes")
        finally:
            gc.freeze()
            gc.enable()
            self._writer.release()
        self.snapshot_if_due()

    async def whole(self) -> None:
        """Wait, off the loop, until the restored snapshot's closed history is decoded (at
        once if it is): call before a walk over every callout or alarm on the loop, which
        would otherwise wait for it there and stall every socket."""
        history = self._snapshots.history if self._snapshots is not None else None
        if history is not None and not history.done:
            await asyncio.to_thread(history.load_now)

    async def ready_for(self, principal: Principal) -> None:
        """Wait until the state holds what ``principal``'s first snapshot reads: an agency's
        lists its alarms of the last day, closed ones too (see :meth:`whole`)."""
        if principal.role is Role.AGENCY:
            await self.whole()

    def _followed(self, envelopes: list[Envelope]) -> None:
        """Events another instance logged: its tick's timeouts are alerted here too (the alert
        is not an event, and each instance tells only its own dispatchers)."""
        if any(isinstance(env.event, AssignmentTimedOut) for env in envelopes):
            task = asyncio.ensure_future(self._ticker.alert_timeouts(envelopes))
            self._alerting.add(task)
            task.add_done_callback(self._alerting.discard)

    def prepare_routing(self) -> None:
        """Start building the map's snap index, loading the solver and preparing every driving
        situation in a background thread (once); questions meanwhile are answered by plain
        search off the loop, and locations wait for the index in a worker thread."""
        self._advisor.prepare_in_background()

    def _published(self, envelopes: list[Envelope], audiences: list[Audience]) -> None:
        """After events were logged and applied: fan them out, and snapshot now and then."""
        self._publish(envelopes, audiences)
        self.planner.notice(envelopes)
        if self._snapshots is not None:
            self._snapshots.note(self.state, self._index)

    def snapshot_if_due(self) -> None:
        """On the event loop: start writing a snapshot in the background if ``every`` events
        passed since the last one (after a long replay, so the next start is quick)."""
        if self._snapshots is not None:
            self._snapshots.note(self.state, self._index)

    async def save_snapshot(self) -> None:
        """At shutdown: wait for a snapshot being written and write the final one."""
        if self._snapshots is not None:
            await self._snapshots.close(self.state, self._index)

    async def execute(self, command: Command, *, actor: str, op: tuple[str, str] | None = None,
                      guard: Guard | None = None) -> Executed:
        """Decide, log durably, apply and publish ``command`` (see :meth:`Writer.execute`)."""
        return await self._writer.execute(command, actor=actor, op=op, guard=guard)

    async def drain(self) -> None:
        """Wait for commands still being written, so the stores close only after them."""
        await self._writer.drain()

    async def run(
        self, command: Command, *, principal: Principal, client: str, action: str,
        target: Mapping[str, object] | None = None, op: str | None = None,
        guard: Guard | None = None,
    ) -> Executed:
        """:meth:`execute` on behalf of ``principal``, recorded in the audit log either way;
        an ``op`` id is scoped to the principal's unit (or to the principal)."""
        return await self._writer.run(command, principal=principal, client=client,
                                      action=action, target=target, op=op, guard=guard)

    async def record(self, principal: Principal, action: str, target: Mapping[str, object],
                     client: str, result: str) -> None:
        """Add an audit row (from a worker thread, so SQLite's write lock never stalls the loop)."""
        await self._writer.record(principal, action, target, client, result)

    # -- positions (web.positions) ------------------------------------------------------------

    @property
    def positions(self) -> PositionTracker | None:
        """The position tracker, or None when positions are logged as events (the old way)."""
        return self._positions

    async def report_position(self, unit_id: str, location: Location, *,
                              principal: Principal, client: str,
                              op: str | None = None) -> dict[str, Any]:
        """A crew's position report, answered as the socket replies: ``kept`` is false when it
        came too soon after the last one (rate limit) and nothing changed. Without a position
        table the report is a logged command, as before."""
        if self._positions is None:
            done = await self.run(ReportPosition(unit_id, location), principal=principal,
                                  client=client, action="position", target={"unit_id": unit_id},
                                  op=op)
            return {"kept": True, "callout_id": done.decision.callout_id, "seq": done.last_seq,
                    "duplicate": done.decision.duplicate}
        kept = self._positions.report(unit_id, location, self.clock.now())
        return {"kept": kept, "callout_id": None, "seq": self.state.last_seq,
                "duplicate": False}

    def _show_position(self, report: PositionReport) -> None:
        """Collect a kept position for the next ``unit_positions`` message: at most one a
        ``position_broadcast_s`` to each dispatcher, however many crews report, with the
        newest position of each unit that moved (a map needs no more)."""
        self._moved[report.unit_id] = report
        if self._moved_timer is None:
            self._moved_timer = asyncio.get_running_loop().call_later(
                self._broadcast_s, self._send_moved)

    def _send_moved(self) -> None:
        self._moved_timer = None
        moved, self._moved = self._moved, {}
        if moved:
            if self.before_publish is not None:  # a principal revoked since: closed first
                self.before_publish()
            self._fanout.send_positions([_position_view(r.unit_id, r.location, r.at)
                                         for r in moved.values()])

    async def run_position_flush(self, interval_s: float) -> None:
        """Store kept positions every ``interval_s`` seconds until cancelled."""
        if self._positions is None:
            return
        while True:
            await asyncio.sleep(interval_s)
            await self._positions.flush(self.clock.now())

    async def flush_positions(self) -> None:
        """Store the kept positions now (at shutdown)."""
        if self._positions is not None:
            await self._positions.flush(self.clock.now())

    @property
    def writer(self) -> Writer:
        """The writer, for its hooks and gauges: ``on_storage_error``, ``queue_depth``,
        ``commits``, ``storage_errors``."""
        return self._writer

    def storage_problems(self) -> dict[str, str]:
        """The stores failing now and what they said (empty when every store works)."""
        return dict(self._writer.storage_errors)

    async def follow(self, *, wait_s: float = 1.0) -> None:
        """Until cancelled, apply and fan out the events other instances append to a shared
        store (:class:`web.follower.Follower`); a service alone on its store need not."""
        await Follower(self._store, self._writer, wait_s=wait_s).run()

    async def catch_up(self) -> None:
        """Apply now whatever the store holds beyond the state: a client resuming from a seq
        it saw on another instance of a shared log must not find this one behind it."""
        await self._writer.follow()

    async def run_storage_probe(self, interval_s: float) -> None:
        """The storage heartbeat until cancelled: every ``interval_s`` seconds a small durable
        write tells whether the database takes writes (so /health notices a full disk before a
        command does, and recovers when it is freed)."""
        while True:
            await self._writer.probe()
            await asyncio.sleep(interval_s)

    # -- reading ----------------------------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        """Where the applied log ends: the seq of the newest event in the state."""
        return self.state.last_seq

    def eta_at(self, callout_id: str) -> datetime | None:
        """When the unit assigned to ``callout_id`` is expected there, if one is on its way."""
        return self._index.eta_at.get(callout_id)

    def alarm_status(self, alarm_id: str) -> dict[str, Any]:
        """An alarm's callout, status, unit and ETA now; raises UnknownAlarm if there is none."""
        if alarm_id not in self.state.alarms:
            raise UnknownAlarm(alarm_id)
        return alarm_status(self.state, alarm_id, eta_at=self._index.eta_at,
                            now=self.clock.now())

    def rota_in_force(self) -> tuple[tuple[ShiftPattern, ...], tzinfo]:
        """The rota and its timezone: the loaded region's if there is one, else ``rota``."""
        region = getattr(self, "region", None)
        if region is not None:
            tz = region.timezone
            return tuple(region.rota), ZoneInfo(tz) if isinstance(tz, str) else tz
        return self.rota, self.timezone

    def sign_on_shift(self, unit_id: str) -> RotaShift | None:
        """The rota shift a crew of ``unit_id`` signing on now signs on for (None: an extra
        shift, whose end the crew must give)."""
        rota, tz = self.rota_in_force()
        return sign_on_shift(rota, unit_id, tz, self.clock.now())

    def due_not_signed_on(self) -> list[RotaShift]:
        """The rota shifts running now whose unit's crew has not signed on."""
        rota, tz = self.rota_in_force()
        return due_not_signed_on(self.state, rota, tz, self.clock.now())

    def rota_status(self) -> dict[str, Any]:
        """Each unit's rota shift now and next, and whether it is due but not signed on."""
        rota, tz = self.rota_in_force()
        return rota_view(self.state, rota, tz, self.clock.now())

    def read_log(self, since: int = 0) -> Iterator[Envelope]:
        """The stored events after ``since``, oldest first, from the event store (blocking:
        call it from a worker thread; the monthly statistics fold the log with it)."""
        return self._store.read(since)

    async def history(self, viewer: Viewer, callout_id: str, *, limit: int) -> History:
        """The last ``limit`` logged events about a callout (and those merged into it) that
        ``viewer`` may see, read in pages off the event loop."""
        await self.whole()
        return await self._fanout.history(viewer, callout_id, limit=limit)

    # -- fan-out (web.fanout) -----------------------------------------------------------------

    def broadcast(self, message: Mapping[str, Any], *, roles: frozenset[Role]) -> None:
        """Send a message that is not an event (an alert) to every subscriber of ``roles``."""
        self._fanout.broadcast(message, roles=roles)

    def subscribe(self, principal: Principal, since: int | None, *,
                  batch: bool = False) -> tuple[Subscription, Backlog]:
        """Register a subscriber; returns it with its backlog plan (the events after ``since``,
        or a snapshot when ``since`` is None or older than the retained window). A resumed
        subscriber who sees positions also gets every unit's current one before ``ready``:
        positions are not in the backlog."""
        sub, plan = self._fanout.subscribe(principal, since, batch=batch)
        if plan.since is not None and self._positions is not None and \
                principal.role in POSITION_ROLES:
            positions = [_position_view(u.unit_id, u.position, u.position_at)
                         for u in sorted(self.state.units.values(), key=lambda u: u.unit_id)]
            plan.tail.append(dumps({"type": "unit_positions", "positions": positions}))
        return sub, plan

    def backlog(self, plan: Backlog) -> AsyncIterator[list[str]]:
        """The pages of messages to send before live ones, each read and rendered in a worker
        thread, ending with ``ready``."""
        return self._fanout.backlog(plan)

    def unsubscribe(self, sub: Subscription) -> None:
        self._fanout.unsubscribe(sub)

    # -- advice (web.advice) ------------------------------------------------------------------

    def travel(self) -> TravelTimes:
        """The travel-time engine for the current time of day and season (plain search until
        its situation is prepared in the background)."""
        return self._advisor.travel()

    async def _recommend_soon(self, callout_id: str, *, exclude: Iterable[str] = ()
                              ) -> list[UnitOption]:
        return await self.advise(lambda a: a.recommend(callout_id, exclude=exclude))

    async def advise(self, ask: Callable[[Advisor], T]) -> T:
        """``ask(advisor)`` (``lambda a: a.recommend(cid)``) in the advice thread on a fork of
        the state (:meth:`Advisor.ask`): a recommendation over many units, or plain search on
        a big map before routing is prepared, would otherwise stall every socket."""
        await self.map_ready()  # a second at most after a start
        return await self._advisor.ask(ask)

    @property
    def routing_prepared(self) -> bool:
        """Whether routing is prepared for every driving situation."""
        return self._advisor.prepared

    def recommend(self, callout_id: str, *, exclude: Iterable[str] = ()) -> list[UnitOption]:
        """Units ranked for ``callout_id`` (assignable first, then by ETA)."""
        return self._advisor.recommend(callout_id, exclude=exclude)

    def propose(self) -> Proposal:
        """Which free unit should take which waiting callout, all at once."""
        return self._advisor.propose()

    def eta_s(self, unit_id: str, callout_id: str) -> float | None:
        """Road ETA of a unit to a callout, or None if either is unknown or unreachable."""
        return self._advisor.eta_s(unit_id, callout_id)

    async def map_ready(self) -> None:
        """Wait (in a worker thread) until the map's snap index is built, which happens in the
        background right after start: call before :meth:`resolve` or :meth:`travel` queries on
        the loop, so the first ones after a start never build it there."""
        if not self._advisor.map_ready:
            await asyncio.to_thread(self._advisor.wait_for_map)

    def resolve(self, *, lat: float | None, lon: float | None, place: str | None,
                field: str = "location", label: bool = False) -> Location:
        """A location from coordinates or a place name, checked to lie within reach of the
        map's roads; ``label`` names bare coordinates by the nearest place."""
        return self._advisor.resolve(lat=lat, lon=lon, place=place, field=field, label=label)

    # -- background work (web.ticks) ----------------------------------------------------------

    async def run_ticks(self, interval_s: float) -> None:
        """Tick every ``interval_s`` seconds until cancelled; a failing tick is logged."""
        await self._ticker.run(interval_s)

    async def run_planning(self) -> None:
        """Plan and re-plan the day's visits (:class:`web.planning.DayPlanner`) until cancelled."""
        await self.planner.run()

    def close(self) -> None:
        """Tell every subscriber to stop and routing preparation to end; the stores are the
        caller's to close."""
        self._advisor.stop()
        self._fanout.close()
        self._writer.close()
