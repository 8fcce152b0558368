"""Errors of the dispatch core; the web shell maps each to an HTTP status or a socket reply."""

from __future__ import annotations

from mae.errors import MaeError

__all__ = [
    "REASONS",
    "DispatchError",
    "EventOutOfSequence",
    "EventVersionError",
    "InvalidCommand",
    "InvalidTransition",
    "UnknownAlarm",
    "UnknownCallout",
    "UnknownCommand",
    "UnknownEvent",
    "UnknownUnit",
]


class DispatchError(MaeError):
    """Root of the dispatch errors."""


#: The reason codes an :class:`InvalidCommand` may carry: each has words on the pages
#: (``web/static/lib/errors.js``, ``reason.<code>``), so a new one is added in both places.
REASONS = frozenset({
    "personal_number", "personal_number_ref", "unit_on_callout", "shift_ended", "off_duty",
    "outcome_first", "no_callout", "before_earliest", "passed",
})


class InvalidCommand(DispatchError, ValueError):
    """A command or alarm has a field with a bad value; ``field`` names it. ``reason``, when
    given, is a stable code for the problem (``personal_number``, ``unit_on_callout``...), so
    a page can say it in its reader's language; ``problem`` is the English wording."""

    def __init__(self, field: str, problem: str, *, reason: str = "") -> None:
        if reason and reason not in REASONS:
            raise ValueError(f"unknown reason code {reason!r}: add it to REASONS and its words")
        self.field = field
        self.problem = problem
        self.reason = reason
        super().__init__(f"{field}: {problem}")


class UnknownCommand(InvalidCommand):
    """A command type with no handler in :data:`dispatch.commands.HANDLERS`."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__("command", f"unknown command {name}: no handler is registered for it")


class InvalidTransition(DispatchError, ValueError):
    """A unit or callout was asked to move to a status its current status does not allow."""

    def __init__(self, what: str, current: str, wanted: str, allowed: tuple[str, ...]) -> None:
        self.what = what
        self.current = current
        self.wanted = wanted
        self.allowed = allowed
        options = ", ".join(allowed) if allowed else "nothing"
        super().__init__(f"{what} cannot go from {current} to {wanted} (allowed: {options})")


class UnknownUnit(DispatchError, KeyError):
    """No unit has that id."""

    def __str__(self) -> str:
        return f"unknown unit {self.args[0]!r}"


class UnknownCallout(DispatchError, KeyError):
    """No callout has that id."""

    def __str__(self) -> str:
        return f"unknown callout {self.args[0]!r}"


class UnknownAlarm(DispatchError, KeyError):
    """No alarm has that id."""

    def __str__(self) -> str:
        return f"unknown alarm {self.args[0]!r}"


class UnknownEvent(DispatchError, TypeError):
    """The fold was given something that is not one of the core's event types."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"{name} is not a dispatch event the state can apply")


class EventOutOfSequence(DispatchError, ValueError):
    """An event was applied out of order: its sequence number is not the state's next one."""

    def __init__(self, seq: int, last_seq: int) -> None:
        self.seq = seq
        self.last_seq = last_seq
        super().__init__(f"event {seq} applied after {last_seq}: gap or repeat")


class EventVersionError(DispatchError, ValueError):
    """A stored event's schema version cannot be brought to the current one: it is newer than
    this code knows, or no upcaster covers one of the steps."""
