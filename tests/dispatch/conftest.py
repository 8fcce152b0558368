"""Shared helpers for the dispatch tests: a clock start and a tiny shell that logs and applies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dispatch.commands import Command, Decision, decide
from dispatch.events import Envelope
from dispatch.state import DispatchState

T0 = datetime(2026, 1, 15, 14, 0, tzinfo=UTC)


class Core:
    """The core as the web shell drives it: decide, log, apply."""

    def __init__(self) -> None:
        self.state = DispatchState()
        self.log: list[Envelope] = []

    def do(self, command: Command, now: datetime = T0, actor: str = "tester") -> Decision:
        decision = decide(self.state, command, now=now, actor=actor)
        for event in decision.events:
            env = Envelope(self.state.last_seq + 1, event)
            self.log.append(env)
            self.state.apply(env)
        return decision


@pytest.fixture
def core() -> Core:
    return Core()
