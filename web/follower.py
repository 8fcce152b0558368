"""Following a shared event log: the events other instances append reach this one's state.

When several ``mae serve`` instances share one store (Redis), each writes its own commands and
must also see everyone else's. :class:`Follower` waits in a worker thread of its own for the log
to grow past the state (:meth:`EventStore.wait_beyond`: a blocking read on Redis, a poll on
SQLite) and then asks the writer to apply and publish the new events (:meth:`Writer.follow`;
on Redis the blocking read brings them, so a wake-up is one round trip),
which it does under the same lock as its own commits: each event is applied once, in seq order,
and this instance's own appends (already applied by the commit) are not read back. A store that
cannot be read is reported like any storage fault and retried; the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, runtime_checkable

from dispatch.events import Envelope
from web.eventstore import EventStore, StorageUnavailable
from web.writer import Writer

__all__ = ["Follower", "TailingStore"]

logger = logging.getLogger(__name__)


@runtime_checkable
class TailingStore(Protocol):
    """A store whose blocking read returns the new events too (:mod:`web.redislog`): the
    follower then applies them without reading the log again."""

    def wait_events(self, after_seq: int, timeout_s: float) -> tuple[int, list[Envelope]]: ...

    def stop_waiting(self) -> None:
        """End the :meth:`wait_events` under way now (the follower stops)."""


class Follower:
    """Applies to ``writer``'s state what other writers append to ``store``, until cancelled.

    ``wait_s`` bounds each blocking wait (so a stop takes at most that long); ``retry_s`` is the
    pause after the store failed. ``applied`` counts the events taken from other writers."""

    def __init__(self, store: EventStore, writer: Writer, *, wait_s: float = 1.0,
                 retry_s: float = 1.0) -> None:
        self.store = store
        self.writer = writer
        self.wait_s = wait_s
        self.retry_s = retry_s
        self.applied = 0
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mae-follow")

    async def run(self) -> None:
        """Follow the log until cancelled; on cancel, wake the blocked read (a store that can:
        Redis) and wait for it to return (at most ``wait_s``) so the store can be closed
        safely afterwards."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                wait = loop.run_in_executor(self._thread, self._wait,
                                            self.writer.state.last_seq)
                try:
                    last, events = await asyncio.shield(wait)
                except asyncio.CancelledError:
                    with contextlib.suppress(Exception):
                        async with asyncio.timeout(self.wait_s + 5):
                            if isinstance(self.store, TailingStore):  # a round trip: off the loop
                                await asyncio.to_thread(self.store.stop_waiting)
                            await wait
                    raise
                except StorageUnavailable as exc:
                    await self._failed(exc)
                    continue
                if last <= self.writer.state.last_seq:
                    continue  # a timeout, or this instance's own append
                try:
                    self.applied += await self.writer.follow(last, events)
                except StorageUnavailable as exc:
                    await self._failed(exc)
        finally:
            self._thread.shutdown(wait=False)

    def _wait(self, after: int) -> tuple[int, list[Envelope]]:
        """Where the log ends once it grew past ``after`` (or the wait timed out), and the new
        events when the store's blocking read brought them (Redis: XREAD)."""
        if isinstance(self.store, TailingStore):
            return self.store.wait_events(after, self.wait_s)
        return self.store.wait_beyond(after, self.wait_s), []

    async def _failed(self, exc: StorageUnavailable) -> None:
        """Report the store's fault (health, metrics; the heartbeat clears it) and pause."""
        self.writer.storage_failed(exc.store, exc.detail)
        await asyncio.sleep(self.retry_s)
