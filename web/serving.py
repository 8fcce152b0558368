"""Run uvicorn so that Ctrl-C and SIGTERM end ``mae serve`` the same way every time."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Protocol


class _Runnable(Protocol):
    def run(self) -> None: ...


def run_server(server: _Runnable) -> None:
    """Run ``server`` (a ``uvicorn.Server``); after its graceful shutdown a Ctrl-C surfaces as
    ``KeyboardInterrupt`` and a SIGTERM as ``SystemExit(143)``, so callers exit 130 or 143."""
    with _signals_exit():
        server.run()


@contextlib.contextmanager
def _signals_exit() -> Iterator[None]:
    """Own handlers for SIGINT and SIGTERM while uvicorn runs.

    uvicorn captures both, shuts down, then re-raises the signal under the handler it found.
    With Python's default SIGINT handler in place, ``asyncio.run`` swaps in its own, which turns
    the re-raised signal into a cancellation that is lost when the server task has already
    finished: Ctrl-C then exited 0 or 130 by timing. A handler of our own is left alone.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    def terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous_int = signal.signal(signal.SIGINT, interrupt)
    previous_term = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
