"""Reading the live dispatch state for a report in a worker thread, never copying it on the loop.

A year's log holds some 100,000 callouts and alarms: copying them took the loop 5-10 ms a
request, folding them far more. The worker walks the live maps while the loop goes on applying
events; a walk that an event disturbs (a map changed size under it) raises and starts again.
After a few tries the worker asks the loop for a fork (copy-on-write: it costs the recent
changes) and walks that: a fork is only taken on the loop, where no event is half applied.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import TypeVar

from dispatch.state import DispatchState

__all__ = ["read_live"]

TRIES = 3
T = TypeVar("T")


async def read_live(read: Callable[[DispatchState], T], state: DispatchState) -> T:
    """``read(state)`` on the live state in a worker thread (see the module's docstring)."""
    loop = asyncio.get_running_loop()

    def work() -> T:
        for _ in range(TRIES):
            try:
                return read(state)
            except RuntimeError:  # "dictionary changed size during iteration": an event applied
                continue
        copy: concurrent.futures.Future[DispatchState] = concurrent.futures.Future()

        def fork() -> None:
            try:
                copy.set_result(state.fork())
            except BaseException as exc:  # handed to the waiting worker
                copy.set_exception(exc)

        loop.call_soon_threadsafe(fork)
        return read(copy.result())

    return await asyncio.to_thread(work)
