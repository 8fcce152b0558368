"""The clock tick: time passing is a command too, so timeouts are logged like any other event.

Every tick runs :class:`~dispatch.commands.Tick` through the single writer; when it times out an
unacknowledged assignment the dispatchers get an ``ack_timeout`` alert with the next-best unit,
so nobody has to notice the silence themselves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable, Mapping
from typing import Any, Protocol

from dispatch.commands import Command, Tick
from dispatch.events import AssignmentTimedOut
from dispatch.recommend import UnitOption
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
    def __call__(self, callout_id: str, *, exclude: Iterable[str] = ()) -> list[UnitOption]: ...


class _Broadcast(Protocol):
    def __call__(self, message: Mapping[str, Any], *, roles: frozenset[Role]) -> None: ...


class Ticker:
    """Runs the tick through ``execute`` and alerts through ``broadcast``."""

    def __init__(
        self,
        execute: _Execute,
        recommend: _Recommend,
        broadcast: _Broadcast,
    ) -> None:
        self._execute = execute
        self._recommend = recommend
        self._broadcast = broadcast

    async def tick(self) -> Executed:
        """One clock tick: time out unacknowledged assignments and alert the dispatchers with
        the next-best unit."""
        done = await self._execute(Tick(), actor="system")
        for env in done.envelopes:
            event = env.event
            if not isinstance(event, AssignmentTimedOut):
                continue
            try:
                options = self._recommend(event.callout_id, exclude=[event.unit_id])
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
        return done

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
