"""Fan-out: each subscriber gets the logged events it may see, rendered once per kind of viewer.

Subscribers (:class:`Subscription`) get rendered JSON text on a bounded queue; one that falls
too far behind is dropped and told to reconnect with ``since=``. Live events are rendered once
per :class:`~web.visibility.Viewer` (every dispatcher socket shares one viewer, each crew unit
one) and the same text is queued to every subscriber of that viewer; a subscriber that asked for
batches gets everything queued for it in one frame, ``{"type":"batch","messages":[...]}``,
at most one live frame per BATCH_GAP_S while busy, so fuller frames under load.

A reconnect is gap-free and never stalls the event loop: :meth:`Fanout.subscribe` registers the
subscriber and fixes the backlog's end at the state's ``last_seq`` in one step, with no await
between, so every later event reaches the queue and every earlier one the backlog. The backlog
(:meth:`Fanout.backlog`) is then read from the log and rendered in pages (500 rows) by one
reader thread shared by all backlogs, from a copy of the range's audiences taken on the loop,
while live events wait on the queue behind it. A ``since`` older than the retained window
(setting ``backlog_window``: the events the index keeps audiences for) gets a snapshot of the
current state instead.
Reads of the log for one viewer (a callout's history) are paged off the loop the same way and
rendered here too, so what a viewer may see is decided in one place.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from dispatch.clock import Clock
from dispatch.events import Envelope, UnitAssigned
from dispatch.state import DispatchState
from web.auth import Principal, Role
from web.errors import BadMessage
from web.eventstore import EventStore
from web.views import (
    alarm_status,
    board_snapshot,
    callout_view,
    dumps,
    live_callout_id,
    unit_view,
)
from web.visibility import Audience, Viewer
from web.writer import LogIndex

__all__ = ["BATCH_GAP_S", "BATCH_MAX", "POSITION_ROLES", "Backlog", "Fanout", "History",
           "Outbox", "Subscription", "batch_frame"]

T = TypeVar("T")

BATCH_MAX = 500  # messages in one batch frame at most
BATCH_GAP_S = 0.02  # a batching client gets at most one live frame per this many seconds

#: Who is sent units' positions as they move.
POSITION_ROLES = frozenset({Role.DISPATCHER, Role.ADMIN, Role.PLANNER})


class Outbox:
    """A bounded FIFO of rendered texts (None: stop) for one sender task: the part of
    :class:`asyncio.Queue` a subscription uses, at a fraction of its cost per message, since
    every event is put on every subscriber's outbox (a deque, and one waiter at most, woken
    only when it waits; no task accounting)."""

    __slots__ = ("_items", "_waiter", "maxsize")

    def __init__(self, maxsize: int = 0) -> None:
        self.maxsize = maxsize
        self._items: collections.deque[str | None] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def full(self) -> bool:
        return 0 < self.maxsize <= len(self._items)

    def put_nowait(self, item: str | None) -> None:
        """Add ``item``; :class:`asyncio.QueueFull` when ``maxsize`` items wait already."""
        if 0 < self.maxsize <= len(self._items):
            raise asyncio.QueueFull
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def put_many_nowait(self, items: list[str]) -> None:
        """Add ``items`` in order, or none of them (:class:`asyncio.QueueFull`) when they do
        not all fit: as many :meth:`put_nowait` calls would, up to the first that fails."""
        queued = self._items
        if 0 < self.maxsize < len(queued) + len(items):
            raise asyncio.QueueFull
        queued.extend(items)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def get_nowait(self) -> str | None:
        """The oldest item; :class:`asyncio.QueueEmpty` when there is none."""
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.popleft()

    async def get(self) -> str | None:
        """The oldest item, waiting for one (one reader: the subscription's sender)."""
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()


class Subscription:
    """One connected client's outbox of rendered messages."""

    def __init__(self, viewer: Viewer, *, maxsize: int, batch: bool = False) -> None:
        self.viewer = viewer
        self.queue = Outbox(maxsize)
        self.dropped = False
        self.batch = batch
        self._sent_at = -BATCH_GAP_S  # loop time of the last batching frame

    def push(self, text: str) -> None:
        """Queue ``text``; a full queue drops the subscriber (it must reconnect with since=)."""
        if self.dropped:
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self._drop()

    def push_many(self, texts: list[str]) -> None:
        """Queue ``texts`` in order, as one :meth:`push` each would (a publish of several
        events, at the cost of one push per subscriber instead of one per event)."""
        if self.dropped or not texts:
            return
        try:
            self.queue.put_many_nowait(texts)
        except asyncio.QueueFull:  # one of them would not fit: dropped, as by that push
            self._drop()

    def _drop(self) -> None:
        """Too far behind: nothing more is queued, and the sender is told to close."""
        self.dropped = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)

    def frames(self, texts: list[str]) -> list[str]:
        """``texts`` as the frames to send this client: batches of BATCH_MAX, or one each."""
        if not self.batch:
            return texts
        return [batch_frame(texts[i:i + BATCH_MAX]) for i in range(0, len(texts), BATCH_MAX)]

    async def next_frame(self) -> str | None:
        """The next frame to send, or None once dropped: one message, or for a batching client
        everything queued (up to BATCH_MAX) joined into one batch frame without re-encoding.
        A batching client's frames are at least BATCH_GAP_S apart: when events come faster, the
        same bytes go out in fewer, fuller frames (the first after a pause leaves at once)."""
        first = await self.queue.get()
        if first is None or not self.batch:
            return first
        loop = asyncio.get_running_loop()
        wait = self._sent_at + BATCH_GAP_S - loop.time()
        if wait > 0:  # busy: let what comes in the next few ms share this frame
            await asyncio.sleep(wait)
        self._sent_at = loop.time()
        if self.queue.empty():
            return first
        texts = [first]
        while len(texts) < BATCH_MAX and not self.queue.empty():
            item = self.queue.get_nowait()
            if item is None:  # dropped meanwhile: the close comes next
                self.queue.put_nowait(None)
                break
            texts.append(item)
        return batch_frame(texts)


def batch_frame(texts: list[str]) -> str:
    """Rendered messages as one batch frame (a single message stays as it is)."""
    if len(texts) == 1:
        return texts[0]
    return '{"type":"batch","messages":[' + ",".join(texts) + "]}"


@dataclass(frozen=True, slots=True)
class History:
    """The logged events about a callout that one viewer may see, as of log position ``seq``;
    ``truncated``: older ones may exist (the limit was reached, or the callout is older than
    the audience window, ``backlog_window``, which a history covers)."""

    seq: int
    events: list[dict[str, Any]]
    truncated: bool


@dataclass(frozen=True, slots=True)
class Span:
    """The audiences of the seqs from ``first`` on: a copy taken on the loop, so a worker
    thread reads it while the loop goes on changing the index."""

    first: int
    items: list[Audience]

    def __getitem__(self, seq: int) -> Audience:
        return self.items[seq - self.first]

    def seqs(self) -> range:
        return range(self.first, self.first + len(self.items))


@dataclass(slots=True)
class Backlog:
    """What a new subscriber is sent before live messages: ``head`` (a snapshot, if any), then
    the events in (``since``, ``upto``] it may see (none when ``since`` is None; ``span`` holds
    their audiences), then ``tail`` (e.g. the units' positions) and ready."""

    viewer: Viewer
    since: int | None
    upto: int
    head: list[str] = field(default_factory=list)
    span: Span = field(default_factory=lambda: Span(1, []))
    tail: list[str] = field(default_factory=list)  # after the events, before ready
    #: The state to send as a snapshot (``since`` None), frozen when the subscriber came and
    #: rendered in a worker thread: a board of thousands of alarms, times a room of pages
    #: reconnecting at once, stalled every other client on the loop for seconds.
    frozen: Frozen | None = None


@dataclass(frozen=True)
class Frozen:
    """The state as of one instant, for reading in a worker thread while the live state moves
    on: a fork of it (copy on write), the expected arrivals and the service's time."""

    state: DispatchState
    eta_at: dict[str, datetime]
    now: datetime


class Fanout:
    """The live subscribers of the state and what each is sent."""

    def __init__(self, store: EventStore, state: DispatchState, index: LogIndex, *,
                 clock: Clock, queue_size: int, page_size: int = 500) -> None:
        self.store = store
        self.state = state
        self.index = index
        self.clock = clock
        self.queue_size = queue_size
        self.page_size = page_size
        self.renders = 0  # events rendered for a viewer on the loop (live): a cost counter
        self._groups: dict[Viewer, set[Subscription]] = {}
        # One reader thread for every backlog and history page: requests take turns page by
        # page, and the loop contends for the GIL with one busy thread, not one per client.
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mae-backlog")

    async def _off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._reader, fn, *args)

    def _render(self, viewer: Viewer, env: Envelope, audience: Audience) -> str | None:
        self.renders += 1
        message = viewer.render(env, audience)
        if message is None:
            return None
        event = env.event
        if viewer.role is Role.CREW and isinstance(event, UnitAssigned):
            callout = self.state.callouts.get(event.callout_id)
            if callout is not None:
                message["job"] = callout_view(self.state, callout, with_text=True,
                                              eta_at=self.index.eta_at.get(callout.callout_id))
        return dumps(message)

    def agency_statuses(self, agency: str, callout_ids: Iterable[str], *,
                        at: Frozen | None = None) -> list[dict[str, Any]]:
        """The status of ``agency``'s alarms on ``callout_ids`` (each alarm once), in the live
        state or in the frozen one ``at``."""
        return self._statuses(callout_ids, agency, at=at).get(agency, [])

    def _statuses(self, callout_ids: Iterable[str], agency: str | None = None, *,
                  at: Frozen | None = None) -> dict[str, list[dict[str, Any]]]:
        """The status of the alarms on ``callout_ids`` (each once) by their agency, only
        ``agency``'s if given: one pass serves every agency's viewer of a publish."""
        at = at or self.live()
        now, state, eta_at = at.now, at.state, at.eta_at
        seen: set[str] = set()
        out: dict[str, list[dict[str, Any]]] = {}
        for cid in callout_ids:
            if cid not in state.callouts:
                continue
            callout = state.callouts[live_callout_id(state, cid)]
            for alarm_id in callout.alarm_ids:
                if alarm_id in seen:
                    continue
                seen.add(alarm_id)
                owner = state.alarms[alarm_id].agency.value
                if agency is None or owner == agency:
                    out.setdefault(owner, []).append(
                        alarm_status(state, alarm_id, eta_at=eta_at, now=now))
        return out

    def live(self) -> Frozen:
        """The live state, not copied: for reading on the event loop only."""
        return Frozen(self.state, self.index.eta_at, self.clock.now())

    def freeze(self) -> Frozen:
        """A copy of the state as it is now that a worker thread may read (see :class:`Frozen`);
        costs the state's recent changes, not its size."""
        return Frozen(self.state.fork(), dict(self.index.eta_at), self.clock.now())

    def publish(self, envelopes: list[Envelope], audiences: list[Audience]) -> None:
        """Queue newly logged ``envelopes`` to every subscriber that may see them: each event is
        rendered once per viewer and the same text queued to all of that viewer's sockets."""
        if not self._groups:
            return
        statuses: dict[str, list[dict[str, Any]]] | None = None
        for viewer, subs in list(self._groups.items()):
            texts = []
            for env, audience in zip(envelopes, audiences, strict=True):
                if _may_see(viewer, audience):
                    text = self._render(viewer, env, audience)
                    if text is not None:
                        texts.append(text)
            if viewer.role is Role.AGENCY and viewer.agency is not None:
                if statuses is None:
                    statuses = self._statuses(frozenset().union(*(a.callouts for a in audiences)))
                alarms = statuses.get(viewer.agency)
                if alarms:
                    texts.append(dumps({"type": "alarm_status", "as_of": envelopes[-1].seq,
                                        "alarms": alarms}))
            if texts:
                for sub in list(subs):
                    sub.push_many(texts)

    def send_positions(self, positions: list[dict[str, Any]]) -> None:
        """Units' new positions (not logged events: see :mod:`web.positions`) as one
        ``unit_positions`` message, rendered once and sent to everyone who sees the board's
        units (dispatchers, admins, planners)."""
        text = dumps({"type": "unit_positions", "positions": positions})
        self.broadcast_text(text, roles=POSITION_ROLES)

    def broadcast(self, message: Mapping[str, Any], *, roles: frozenset[Role]) -> None:
        """Send a message that is not an event (an alert) to every subscriber of ``roles``."""
        self.broadcast_text(dumps(message), roles=roles)

    def broadcast_text(self, text: str, *, roles: frozenset[Role]) -> None:
        """Queue one rendered text to every subscriber of ``roles``."""
        for viewer, subs in list(self._groups.items()):
            if viewer.role in roles:
                for sub in list(subs):
                    sub.push(text)

    def subscribe(self, principal: Principal, since: int | None, *,
                  batch: bool = False) -> tuple[Subscription, Backlog]:
        """Register a subscriber; returns it with its :class:`Backlog`: the events after
        ``since`` it may see, or a snapshot when ``since`` is None or older than the retained
        window (then the live tail). Nothing is read here: :meth:`backlog` pages it."""
        upto = self.state.last_seq
        if since is not None and not 0 <= since <= upto:
            raise BadMessage("since", f"must be between 0 and {upto}, the end of the log")
        if since is not None and since < self.index.audiences.first_seq - 1:
            since = None  # older than the kept window: the current state, then live events
        viewer = Viewer.of(principal)
        sub = Subscription(viewer, maxsize=self.queue_size, batch=batch)
        self._groups.setdefault(viewer, set()).add(sub)
        if since is None:
            return sub, Backlog(viewer, None, upto, frozen=self.freeze())
        return sub, Backlog(viewer, since, upto, span=self._span(since, upto))

    def _span(self, after: int, upto: int) -> Span:
        """The audiences of (``after``, ``upto``] the index holds, copied on the loop in one
        slice (:meth:`~web.logindex.AudienceWindow.span`)."""
        first, items = self.index.audiences.span(after + 1, upto)
        return Span(first, items)

    async def backlog(self, plan: Backlog) -> AsyncIterator[list[str]]:
        """The messages to send before live ones, page by page: each page is read from the log
        and rendered in a worker thread, so the event loop serves others in between."""
        viewer = plan.viewer
        if plan.frozen is not None:
            frozen = plan.frozen
            yield [await self._off_loop(lambda: dumps(self.snapshot(viewer, at=frozen)))]
        if plan.head:
            yield plan.head
        if plan.since is not None and plan.since < plan.upto:
            span = plan.span
            seqs = await self._off_loop(self._visible_seqs, viewer, span)
            start = 0
            while start < len(seqs):
                items, start = await self._off_loop(self._read_page, viewer, span, seqs, start)
                texts = [self._finish(viewer, item, span) for item in items]
                page = [t for t in texts if t is not None]
                if page:
                    yield page
            if viewer.role is Role.AGENCY and viewer.agency is not None:
                touched = await self._off_loop(self._touched, span)
                yield [dumps({"type": "alarm_status", "as_of": plan.upto,
                              "alarms": self.agency_statuses(viewer.agency, touched)})]
        yield [*plan.tail, dumps({"type": "ready", "seq": plan.upto})]

    def _finish(self, viewer: Viewer, item: str | Envelope, span: Span) -> str | None:
        """A page item as text: a crew's assignment gets the job from the state, on the loop."""
        if isinstance(item, str):
            return item
        return self._render(viewer, item, span[item.seq])

    @staticmethod
    def _visible_seqs(viewer: Viewer, span: Span) -> list[int]:
        """(Worker thread.) The seqs of ``span`` that ``viewer`` may be sent."""
        return [s for s, a in zip(span.seqs(), span.items, strict=True) if _may_see(viewer, a)]

    @staticmethod
    def _touched(span: Span) -> set[str]:
        touched: set[str] = set()
        for audience in span.items:
            touched |= audience.callouts
        return touched

    def _page_rows(self, seqs: list[int], start: int) -> tuple[list[Envelope], int]:
        """(Worker thread.) The logged rows of ``seqs`` from ``seqs[start]`` on, reading at most
        ``page_size`` rows of the log; returns them and the next start."""
        wanted = set(seqs[start:start + self.page_size])
        rows: list[Envelope] = []
        last = max(wanted)
        reader = self.store.read(seqs[start] - 1)
        try:
            for n, env in enumerate(reader):
                if env.seq > last or n >= self.page_size:
                    break
                if env.seq in wanted:
                    rows.append(env)
        finally:
            close = getattr(reader, "close", None)
            if close is not None:
                close()
        return rows, start + len(rows)

    def _read_page(self, viewer: Viewer, span: Span, seqs: list[int], start: int
                   ) -> tuple[list[str | Envelope], int]:
        """(Worker thread.) One page of ``seqs`` rendered for ``viewer`` (see
        :meth:`_page_rows`). A crew's assignment is returned unrendered (its job is read from
        the state on the loop)."""
        rows, start = self._page_rows(seqs, start)
        items: list[str | Envelope] = []
        for env in rows:
            if viewer.role is Role.CREW and isinstance(env.event, UnitAssigned):
                items.append(env)
                continue
            message = viewer.render(env, span[env.seq])
            if message is not None:
                items.append(dumps(message))
        return items, start

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._groups.get(sub.viewer)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._groups[sub.viewer]

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._groups.values())

    def subscribers_by_role(self) -> dict[str, int]:
        """How many live subscribers each role has (for ``/metrics``)."""
        counts: dict[str, int] = {}
        for viewer, subs in list(self._groups.items()):
            counts[viewer.role.value] = counts.get(viewer.role.value, 0) + len(subs)
        return counts

    def snapshot(self, viewer: Viewer, *, at: Frozen | None = None) -> dict[str, Any]:
        """The state as ``viewer`` may see it: the live one (on the loop), or ``at``, a frozen
        one (in a worker thread)."""
        at = at or self.live()
        state, seq, eta_at = at.state, at.state.last_seq, at.eta_at
        if viewer.role is Role.CREW:
            unit = state.units.get(viewer.unit_id or "")
            job = None
            if unit is not None and unit.callout_id is not None:
                callout = state.callouts[unit.callout_id]
                job = callout_view(state, callout, with_text=True,
                                   eta_at=eta_at.get(callout.callout_id))
            return {"type": "snapshot", "seq": seq,
                    "unit": unit_view(unit) if unit else None, "job": job}
        if viewer.role is Role.AGENCY:
            since = at.now - timedelta(hours=24)
            mine = [cid for a, cid in state.alarm_callout.items()
                    if state.alarms[a].agency.value == viewer.agency
                    and (state.alarms[a].received_at >= since
                         or state.callouts[live_callout_id(state, cid)].status.is_open)]
            return {"type": "snapshot", "seq": seq,
                    "alarms": self.agency_statuses(viewer.agency or "", mine, at=at)}
        return board_snapshot(state, with_text=viewer.sees_text, eta_at=eta_at)

    async def history(self, viewer: Viewer, callout_id: str, *, limit: int) -> History:
        """The last ``limit`` logged events about ``callout_id`` and the callouts merged into
        it (transitively) that ``viewer`` may see; raises the core's UnknownCallout. The log is
        searched and read in pages in a worker thread."""
        state = self.state
        state.callout(callout_id)
        family, grew = {callout_id}, True
        while grew:
            more = {c.callout_id for c in state.callouts.values() if c.merged_into in family}
            grew = not more <= family
            family |= more
        upto = state.last_seq
        span = self._span(0, upto)
        seqs = await self._off_loop(self._family_seqs, frozenset(family), span, limit)
        events: list[dict[str, Any]] = []
        start = 0
        while start < len(seqs):
            items, start = await self._off_loop(self._read_history_page, viewer, span, seqs,
                                                start)
            events.extend(items)
        truncated = len(seqs) == limit
        if not truncated and span.first > 1:
            # Older events lie beyond the audience window: the history is whole only if the
            # family was opened after the window's first event (a tie counts as cut)
            opened = min(state.callouts[c].created_at for c in family)
            first_at = await self._off_loop(self._event_at, span.first)
            truncated = first_at is None or opened <= first_at
        return History(upto, events, truncated)

    def _event_at(self, seq: int) -> datetime | None:
        """(Worker thread.) When the event ``seq`` was logged (None if it cannot be read)."""
        rows, _ = self._page_rows([seq], 0)
        return rows[0].event.at if rows else None

    @staticmethod
    def _family_seqs(family: frozenset[str], span: Span, limit: int) -> list[int]:
        """(Worker thread.) The last ``limit`` seqs of ``span`` concerning ``family``."""
        found: list[int] = []
        for s in reversed(span.seqs()):
            if span[s].callouts & family:
                found.append(s)
                if len(found) == limit:
                    break
        return found[::-1]

    def _read_history_page(self, viewer: Viewer, span: Span, seqs: list[int], start: int
                           ) -> tuple[list[dict[str, Any]], int]:
        """(Worker thread.) One page of a history: see :meth:`_page_rows`."""
        rows, start = self._page_rows(seqs, start)
        out: list[dict[str, Any]] = []
        for env in rows:
            rendered = viewer.render(env, span[env.seq])
            if rendered is not None:
                out.append({"seq": env.seq, "event": rendered["event"]})
        return out, start

    def close(self) -> None:
        """Tell every subscriber to stop (a None on its queue) and forget them."""
        for subs in list(self._groups.values()):
            for sub in subs:
                with contextlib.suppress(asyncio.QueueFull):
                    sub.queue.put_nowait(None)
        self._groups.clear()
        self._reader.shutdown(wait=False, cancel_futures=True)


def _may_see(viewer: Viewer, audience: Audience) -> bool:
    """A cheap first filter (the viewer's render decides): crews see their unit's events and
    agencies their alarms'; the others everything."""
    if viewer.role is Role.CREW:
        return viewer.unit_id in audience.units
    if viewer.role is Role.AGENCY:
        return viewer.agency in audience.agencies
    return True
