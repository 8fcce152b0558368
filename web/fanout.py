"""Fan-out: each subscriber gets the logged events it may see, rendered once per kind of viewer.

Subscribers (:class:`Subscription`) get rendered JSON text on a bounded queue; one that falls
too far behind is dropped and told to reconnect with ``since=``. A reconnect is gap-free: the
subscription is registered and the backlog read up to the state's ``last_seq`` in one step with
no await between, so every later event reaches the queue and every earlier one the backlog.
Reads of the log for one viewer (a callout's history) are rendered here too, so what a viewer
may see is decided in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

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

__all__ = ["POSITION_ROLES", "Fanout", "History", "Subscription"]

#: Who is sent units' positions as they move.
POSITION_ROLES = frozenset({Role.DISPATCHER, Role.ADMIN, Role.PLANNER})


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


@dataclass(frozen=True, slots=True)
class History:
    """The logged events about a callout that one viewer may see, as of log position ``seq``."""

    seq: int
    events: list[dict[str, Any]]
    truncated: bool


class Fanout:
    """The live subscribers of the state and what each is sent."""

    def __init__(self, store: EventStore, state: DispatchState, index: LogIndex, *,
                 clock: Clock, queue_size: int) -> None:
        self.store = store
        self.state = state
        self.index = index
        self.clock = clock
        self.queue_size = queue_size
        self._subs: set[Subscription] = set()

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
        return dumps(message)

    def agency_statuses(self, agency: str, callout_ids: Iterable[str]) -> list[dict[str, Any]]:
        """The status of ``agency``'s alarms on ``callout_ids`` (each alarm once)."""
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

    def publish(self, envelopes: list[Envelope], audiences: list[Audience]) -> None:
        """Queue newly logged ``envelopes`` to every subscriber that may see them."""
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
                    alarms = self.agency_statuses(viewer.agency, touched)
                    statuses[viewer] = dumps(
                        {"type": "alarm_status", "as_of": envelopes[-1].seq, "alarms": alarms}
                    ) if alarms else None
                text = statuses[viewer]
                if text is not None:
                    sub.push(text)

    def send_position(self, unit_id: str, position: dict[str, Any], at: str) -> None:
        """A unit's new position (not a logged event: see :mod:`web.positions`), rendered once
        and sent to everyone who sees the board's units (dispatchers, admins, planners)."""
        text = dumps({"type": "unit_position", "unit_id": unit_id, "position": position,
                      "at": at})
        for sub in list(self._subs):
            if sub.viewer.role in POSITION_ROLES:
                sub.push(text)

    def broadcast(self, message: Mapping[str, Any], *, roles: frozenset[Role]) -> None:
        """Send a message that is not an event (an alert) to every subscriber of ``roles``."""
        text = dumps(message)
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
        if since is not None and since < self.index.audiences.first_seq - 1:
            since = None  # older than the kept window: the current state, then live events
        viewer = Viewer.of(principal)
        sub = Subscription(viewer, maxsize=self.queue_size)
        self._subs.add(sub)
        initial: list[str] = []
        if since is None:
            initial.append(dumps(self.snapshot(viewer)))
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
                initial.append(dumps({"type": "alarm_status", "as_of": upto,
                                      "alarms": self.agency_statuses(viewer.agency, touched)}))
        initial.append(dumps({"type": "ready", "seq": upto}))
        return sub, initial

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    def subscribers_by_role(self) -> dict[str, int]:
        """How many live subscribers each role has (for ``/metrics``)."""
        counts: dict[str, int] = {}
        for sub in list(self._subs):
            role = sub.viewer.role.value
            counts[role] = counts.get(role, 0) + 1
        return counts

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
                    "alarms": self.agency_statuses(viewer.agency or "", mine)}
        return board_snapshot(state, with_text=viewer.sees_text, eta_at=self.index.eta_at)

    def history(self, viewer: Viewer, callout_id: str, *, limit: int) -> History:
        """The last ``limit`` logged events about ``callout_id`` and the callouts merged into
        it (transitively) that ``viewer`` may see, within the kept window of recent events
        (:class:`web.logindex.AudienceWindow`); raises the core's UnknownCallout."""
        state = self.state
        state.callout(callout_id)
        family, grew = {callout_id}, True
        while grew:
            more = {c.callout_id for c in state.callouts.values() if c.merged_into in family}
            grew = not more <= family
            family |= more
        upto, audiences = state.last_seq, self.index.audiences
        seqs = [s for s in range(max(1, audiences.first_seq), upto + 1)
                if audiences[s].callouts & family][-limit:]
        wanted, events = set(seqs), []
        if seqs:
            for env in self.store.read(seqs[0] - 1):
                if env.seq > seqs[-1]:
                    break
                rendered = viewer.render(env, audiences[env.seq]) if env.seq in wanted else None
                if rendered is not None:
                    events.append({"seq": env.seq, "event": rendered["event"]})
        return History(upto, events, len(seqs) == limit)

    def close(self) -> None:
        """Tell every subscriber to stop (a None on its queue) and forget them."""
        for sub in list(self._subs):
            with contextlib.suppress(asyncio.QueueFull):
                sub.queue.put_nowait(None)
        self._subs.clear()
