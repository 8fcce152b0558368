"""Errors of the dispatch core; the web shell maps each to an HTTP status or a socket reply."""

from __future__ import annotations

from mae.errors import MaeError

__all__ = [
    "DispatchError",
    "InvalidCommand",
    "InvalidTransition",
    "UnknownAlarm",
    "UnknownCallout",
    "UnknownUnit",
]


class DispatchError(MaeError):
    """Root of the dispatch errors."""


class InvalidCommand(DispatchError, ValueError):
    """A command or alarm has a field with a bad value; ``field`` names it."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


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
