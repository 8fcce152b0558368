"""The web shell's own errors and the one mapping from any :class:`MaeError` to a reply.

:func:`describe` turns an exception into an :class:`ErrorInfo`: the HTTP status, the WebSocket
close code (for errors that end a connection), a short machine code, the field at fault and a
message a person can act on. REST handlers and socket loops both use it, so a bad value gets the
same answer whichever door it came through.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from dispatch.errors import (
    DispatchError,
    InvalidCommand,
    InvalidTransition,
    UnknownAlarm,
    UnknownCallout,
    UnknownUnit,
)
from mae.errors import MaeError
from web.eventstore import DatabaseLocked, StorageUnavailable, StoreConflict

__all__ = [
    "BadMessage",
    "Busy",
    "ErrorInfo",
    "Forbidden",
    "TooManyLogins",
    "TooManyRequests",
    "Unauthorized",
    "UnknownPrincipal",
    "WebError",
    "describe",
]


class WebError(MaeError):
    """Root of the web shell's errors."""


class Unauthorized(WebError, PermissionError):
    """No token, or a token no principal holds."""


class Forbidden(WebError, PermissionError):
    """The principal's role may not do this."""


class TooManyLogins(WebError, PermissionError):
    """This client failed to log in too often in the last minute (see :mod:`web.logins`)."""

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = max(1.0, retry_after_s)
        super().__init__(f"too many failed logins from this address: try again in "
                         f"{int(self.retry_after_s + 0.999)} s")


class TooManyRequests(WebError, PermissionError):
    """This caller asked a rate-limited route too often in the last minute (see
    :mod:`web.ratelimit`)."""

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = max(1.0, retry_after_s)
        super().__init__(f"too many requests: try again in {int(self.retry_after_s + 0.999)} s")


class UnknownPrincipal(WebError, LookupError):
    """No principal has this id."""

    def __init__(self, principal_id: str) -> None:
        super().__init__(f"no principal {principal_id!r}")


class BadMessage(WebError, ValueError):
    """A request or socket message is malformed; ``field`` names where."""

    def __init__(self, field: str, problem: str, *, errors: list[dict[str, Any]] | None = None):
        self.field = field
        self.problem = problem
        self.errors = errors or []
        super().__init__(f"{field}: {problem}" if field else problem)


class Busy(WebError, RuntimeError):
    """The service cannot take this now (its write queue is full): retry after
    ``retry_after_s`` seconds; nothing was done."""

    def __init__(self, message: str, *, retry_after_s: int = 1) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """How an error is answered over HTTP and over a socket."""

    status: int
    code: str
    message: str
    field: str | None = None
    close_code: int = 4400
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    retry_after_s: int | None = None

    def reply(self) -> dict[str, Any]:
        """The JSON body of the answer (REST) or the ``error`` message (socket); a retry hint
        travels as ``retry_after_s`` in the body too, for socket clients."""
        body: dict[str, Any] = {"error": self.code, "field": self.field, "message": self.message}
        if self.retry_after_s is not None:
            body["retry_after_s"] = self.retry_after_s
        body.update(self.extra)
        return body

    def headers(self) -> dict[str, str] | None:
        """HTTP headers of the answer: ``Retry-After`` when the client should try again."""
        if self.retry_after_s is None:
            return None
        return {"Retry-After": str(self.retry_after_s)}


def describe(exc: BaseException) -> ErrorInfo:
    """The answer to ``exc``; anything not a :class:`MaeError` is an internal error (500)."""
    # imported here: ``routing`` pulls in the solvers, which the token CLI must not pay for
    from maps.errors import UnknownPlace
    from routing.errors import RoutingError, is_internal

    if isinstance(exc, Unauthorized):
        return ErrorInfo(401, "unauthorized", str(exc), close_code=4401)
    if isinstance(exc, TooManyLogins):
        return ErrorInfo(429, "too_many_failed_logins", str(exc), close_code=4429,
                         retry_after_s=int(exc.retry_after_s + 0.999))
    if isinstance(exc, TooManyRequests):
        return ErrorInfo(429, "too_many_requests", str(exc), close_code=4429,
                         retry_after_s=int(exc.retry_after_s + 0.999))
    if isinstance(exc, UnknownPrincipal):
        return ErrorInfo(404, "unknown_principal", str(exc), "principal_id")
    if isinstance(exc, Forbidden):
        return ErrorInfo(403, "forbidden", str(exc), close_code=4403)
    if isinstance(exc, StorageUnavailable):
        return ErrorInfo(503, "storage_unavailable", str(exc), close_code=1013,
                         extra={"store": exc.store}, retry_after_s=exc.retry_after_s)
    if isinstance(exc, Busy):
        return ErrorInfo(503, "busy", str(exc), close_code=1013,
                         retry_after_s=exc.retry_after_s)
    if isinstance(exc, StoreConflict):  # the log moved under us: never the client's mistake
        return ErrorInfo(409, "store_conflict", f"{exc}; the request changed nothing, retry it",
                         close_code=1013, retry_after_s=1)
    if isinstance(exc, DatabaseLocked):
        return ErrorInfo(503, "database_locked", str(exc), close_code=1013, retry_after_s=5)
    if isinstance(exc, BadMessage):
        extra = {"errors": exc.errors} if exc.errors else {}
        return ErrorInfo(422, "invalid_message", str(exc), exc.field, extra=extra)
    if isinstance(exc, UnknownPlace):
        return ErrorInfo(400, "unknown_place", str(exc), "location.place",
                         extra={"suggestions": list(exc.suggestions)})
    if isinstance(exc, InvalidCommand):  # its reason code, for a page to say it in its words
        reason: dict[str, Any] = {"reason": exc.reason} if exc.reason else {}
        return ErrorInfo(400, "invalid_command", str(exc), exc.field, extra=reason)
    if isinstance(exc, InvalidTransition):
        return ErrorInfo(409, "invalid_transition", str(exc))
    if isinstance(exc, UnknownUnit):
        return ErrorInfo(404, "unknown_unit", str(exc), "unit_id")
    if isinstance(exc, UnknownCallout):
        return ErrorInfo(404, "unknown_callout", str(exc), "callout_id")
    if isinstance(exc, UnknownAlarm):
        return ErrorInfo(404, "unknown_alarm", str(exc), "alarm_id")
    if is_internal(exc):  # a server bug or a missing solver, never the client's mistake
        return ErrorInfo(500, "internal", "internal error; the request changed nothing",
                         close_code=1011)
    if isinstance(exc, DispatchError | RoutingError | MaeError):
        return ErrorInfo(400, "rejected", str(exc))
    return ErrorInfo(500, "internal", "internal error; the request changed nothing",
                     close_code=1011)
