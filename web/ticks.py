"""The clock tick: time passing is a command too, so timeouts are logged like any other event.

Every tick runs :class:`~dispatch.commands.Tick` through the single writer; when it times out an
unacknowledged assignment the dispatchers get an ``ack_timeout`` alert with the next-best unit,
so nobody has to notice the silence themselves. The same tick ends the shifts that are over
(:func:`dispatch.rota.shifts_to_end`: at the shift's end, or once a busy unit's callout is done),
and when the set of units due by the rota but not signed on changes, the dispatchers get a
``rota_due`` message listing them (a unit newly due is flagged, one that signed on unflagged).
After each tick ``after`` runs on the loop: the service's day planner checks there whether a
started visit has run past its duration, so a visit running long is noticed within a tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol

from dispatch.commands import Command, Tick
from dispatch.events import AssignmentTimedOut, Envelope
from dispatch.recommend import UnitOption
from dispatch.rota import RotaShift
from mae.errors import MaeError
from web.auth import Role
from web.views import option_view
from web.writer import Executed

__all__ = ["ALERTED", "Ticker"]

logger = logging.getLogger(__name__)

ALERTED = frozenset({Role.DISPATCHER, Role.ADMIN, Role.PLANNER})  # who hears of a timeout


class _Execute(Protocol):
    def __call__(self, command: Command, *, actor: str) -> Awaitable[Executed]: ...


class _Recommend(Protocol):
    def __call__(self, callout_id: str, *, exclude: Iterable[str] = ()
                 ) -> Awaitable[list[UnitOption]]: ...


class _Broadcast(Protocol):
    def __call__(self, message: Mapping[str, Any], *, roles: frozenset[Role]) -> None: ...


class Ticker:
    """Runs the tick through ``execute`` and alerts through ``broadcast``."""

    def __init__(
        self,
        execute: _Execute,
        recommend: _Recommend,
        broadcast: _Broadcast,
        *,
        due: Callable[[], list[RotaShift]] | None = None,
        after: Callable[[], None] | None = None,
    ) -> None:
        self._execute = execute
        self._recommend = recommend
        self._broadcast = broadcast
        self._due = due
        self._after = after
        self._last_due: list[RotaShift] = []

    async def tick(self) -> Executed:
        """One clock tick: time out unacknowledged assignments and alert the dispatchers with
        the next-best unit."""
        done = await self._execute(Tick(), actor="system")
        await self.alert_timeouts(done.envelopes)
        self._announce_due()
        if self._after is not None:
            self._after()
        return done

    async def alert_timeouts(self, envelopes: Iterable[Envelope]) -> None:
        """Alert the dispatchers of every assignment timed out in ``envelopes`` with the
        next-best unit: this instance's tick's, or another instance's (followed from a shared
        log), so dispatchers on every instance hear of each timeout once."""
        for env in envelopes:
            event = env.event
            if not isinstance(event, AssignmentTimedOut):
                continue
            try:
                options = await self._recommend(event.callout_id, exclude=[event.unit_id])
            except MaeError:
                logger.exception("no recommendation after the timeout of %s", event.callout_id)
                options = []
            logger.warning("unit %s did not acknowledge callout %s in time",
                           event.unit_id, event.callout_id)
            self._broadcast(
                {"type": "alert", "kind": "ack_timeout", "as_of": env.seq,
                 "callout_id": event.callout_id, "unit_id": event.unit_id,
                 "next_best": option_view(options[0]) if options else None},
                roles=ALERTED,
            )

    def _announce_due(self) -> None:
        """Tell the dispatchers which units are due by the rota but not signed on, when that
        changed since the last tick."""
        if self._due is None:
            return
        due = self._due()
        if due == self._last_due:
            return
        self._last_due = due
        for shift in due:
            logger.warning("unit %s is due by the rota since %s and not signed on",
                           shift.unit_id, shift.starts_at.isoformat())
        self._broadcast(
            {"type": "rota_due",
             "units": [{"unit_id": s.unit_id, "starts_at": s.starts_at.isoformat(),
                        "ends_at": s.ends_at.isoformat()} for s in due]},
            roles=ALERTED,
        )

    async def run(self, interval_s: float) -> None:
        """Tick every ``interval_s`` seconds until cancelled; a failing tick is logged."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except MaeError as exc:  # a failing store: /health reports it, the next tick retries
                logger.warning("tick failed: %s", exc)
            except Exception:
                logger.exception("tick failed")
