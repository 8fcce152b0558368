"""Errors raised by travel-time queries and the optimisation facade."""

from __future__ import annotations

from mae.errors import MaeError

__all__ = [
    "InfeasibleProblem",
    "InvalidPlan",
    "InvalidProblem",
    "InvalidQuery",
    "NoRoute",
    "NotInPlan",
    "RoutingError",
    "SnapError",
    "SolverFailed",
    "SolverUnavailable",
    "is_internal",
]


class RoutingError(MaeError):
    """Root of the routing errors."""


class SnapError(RoutingError, ValueError):
    """A coordinate is too far from any road (or not a valid coordinate). A point too far
    carries how far it is from the nearest road and the limit (``distance_m``, ``limit_m``),
    so a caller can word its own message."""

    def __init__(self, message: str, *, distance_m: float | None = None,
                 limit_m: float | None = None) -> None:
        super().__init__(message)
        self.distance_m = distance_m
        self.limit_m = limit_m


class NoRoute(RoutingError, ValueError):
    """No path connects the two points on the loaded graph."""


class InvalidQuery(RoutingError, ValueError):
    """Input a travel-time query cannot use: edge times of the wrong shape or not finite and
    >= 0, a time scale that is not positive, seed arrays that disagree in length."""


class NotInPlan(RoutingError, KeyError):
    """A plan has no route for the unit id asked for."""


class SolverUnavailable(RoutingError, ImportError):
    """Assignment or planning was asked for where OR-Tools is not installed."""


class SolverFailed(RoutingError, RuntimeError):
    """A solver stopped without an answer on a problem it should always solve (a bug)."""


#: Errors that no client input can cause: a caller's bug or a missing solver. The web shell
#: answers them as internal errors, not as a rejected request.
_INTERNAL = (InvalidQuery, NotInPlan, SolverUnavailable, SolverFailed)


def is_internal(exc: BaseException) -> bool:
    """Whether ``exc`` is a routing error that only the server itself can cause."""
    return isinstance(exc, _INTERNAL)


class InvalidProblem(RoutingError, ValueError):
    """An assignment or planning problem is malformed; the message names the field."""


class InfeasibleProblem(RoutingError, ValueError):
    """A problem has input that no plan can satisfy (e.g. a visit window outside every shift)."""


class InvalidPlan(RoutingError, ValueError):
    """A returned plan breaks a rule; the validator lists every violation."""

    def __init__(self, violations: list[str]) -> None:
        self.violations = violations
        super().__init__("; ".join(violations) if violations else "invalid plan")
