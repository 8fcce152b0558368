"""What a rule reads and what it returns: the context of a command and the decision it makes.

Every command handler (:mod:`dispatch.rules_units`, :mod:`dispatch.rules_incidents`,
:mod:`dispatch.rules_assignment`) takes a :class:`Context` and its command and returns a
:class:`Decision` built by :meth:`Context.decision`. Events take their time and actor from
:attr:`Context.stamp`, so no handler can log an event at another time or for another actor than
the command's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, TypedDict

from dispatch.errors import InvalidCommand
from dispatch.events import Event
from dispatch.model import has_personal_number
from dispatch.state import DispatchState

__all__ = ["Context", "Decision", "DispatchConfig", "checked_text", "no_identity"]


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    """Tuning of the core's rules; ``merge_window_s`` 0 turns automatic merging off (alarms
    then join a callout only when the agency links them or a dispatcher merges them)."""

    ack_timeout_s: float = 60.0
    merge_radius_m: float = 300.0
    merge_window_s: float = 15 * 60.0
    #: How far ahead of the service a phone's press time may be (:mod:`dispatch.presstime`).
    clock_skew_s: float = 120.0
    #: How long after a cancel the callout may still be reopened.
    reopen_window_s: float = 5 * 60.0

    def __post_init__(self) -> None:
        for name in ("ack_timeout_s", "merge_radius_m", "clock_skew_s", "reopen_window_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise InvalidCommand(name, "must be a positive number")
        if not (math.isfinite(self.merge_window_s) and self.merge_window_s >= 0):
            raise InvalidCommand("merge_window_s", "must be 0 (off) or a positive number")


@dataclass(frozen=True, slots=True)
class Decision:
    """What a command decided: the events to log, and the callout it concerns (if any)."""

    events: list[Event] = field(default_factory=list)
    callout_id: str | None = None
    duplicate: bool = False


class Stamp(TypedDict):
    """The fields every event of one command shares: ``SomeEvent.make(ctx.stamp, ...)``; never
    changed once made."""

    at: datetime
    actor: str


class Context(NamedTuple):
    """Everything a handler reads besides its command: the state (never changed), the time,
    the rules' tuning, and ``stamp``: ``{"at": now, "actor": actor}``, the time and the actor
    every event of this command carries (the actor is only there, so it cannot disagree).

    A named tuple rather than a frozen dataclass: one is made for every command, and a named
    tuple costs about a third less to make."""

    state: DispatchState
    now: datetime
    config: DispatchConfig
    stamp: Stamp

    def decision(
        self, *events: Event, callout_id: str | None = None, duplicate: bool = False
    ) -> Decision:
        """The decision to log ``events`` (in order), concerning ``callout_id`` if given.

        Every command makes one, from values of the core's own rules, so its slots are filled
        directly (what ``Decision(list(events), ...)`` makes, at about half the cost)."""
        made = _new_decision(Decision)
        _set_events(made, list(events))
        _set_callout_id(made, callout_id)
        _set_duplicate(made, duplicate)
        return made


_new_decision = object.__new__
_set_events = vars(Decision)["events"].__set__  # the slots' own descriptors
_set_callout_id = vars(Decision)["callout_id"].__set__
_set_duplicate = vars(Decision)["duplicate"].__set__


def no_identity(field_name: str, text: str) -> None:
    """Refuse a text that names someone by personal number: the log keeps the minimum about a
    patient (checked when a text is given, never when a stored one is read back). Machine
    intake, which cannot be asked again, redacts instead (``web.cap``)."""
    if has_personal_number(text):
        raise InvalidCommand(field_name, "holds a personal number: the log keeps no "
                             "patient's identity; give it by phone", reason="personal_number")


def checked_text(field_name: str, value: str, limit: int) -> str:
    """``value`` if it is text of at most ``limit`` characters, else :class:`InvalidCommand`."""
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidCommand(field_name, f"must be text of at most {limit} characters")
    return value
