"""web.routes._live: a report reads the live state in a worker thread, and after walks an
event keeps disturbing, reads a fork the loop took."""

from __future__ import annotations

import asyncio
import threading

from dispatch.state import DispatchState
from web.routes._live import TRIES, read_live


def test_a_walk_that_keeps_being_disturbed_reads_a_fork_taken_on_the_loop() -> None:
    state = DispatchState()
    seen: list[tuple[DispatchState, str]] = []

    def read(s: DispatchState) -> int:
        seen.append((s, threading.current_thread().name))
        if s is state:
            raise RuntimeError("dictionary changed size during iteration")
        return len(s.callouts)

    async def main() -> tuple[int, str]:
        return await read_live(read, state), threading.current_thread().name

    result, loop_thread = asyncio.run(main())
    assert result == 0
    assert [s is state for s, _ in seen] == [True] * TRIES + [False]  # then one fork
    assert all(name != loop_thread for _, name in seen)  # every walk off the loop


def test_an_undisturbed_walk_reads_the_live_state_once() -> None:
    state = DispatchState()
    calls: list[DispatchState] = []

    def walk(s: DispatchState) -> int:
        calls.append(s)
        return 7

    async def main() -> int:
        return await read_live(walk, state)

    assert asyncio.run(main()) == 7 and calls == [state]
