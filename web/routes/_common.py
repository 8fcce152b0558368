"""What every route documents: the error replies, with their schema."""

from __future__ import annotations

from datetime import date
from typing import Any

from web.errors import BadMessage
from web.schemas import ErrorOut

__all__ = ["errors", "local_day"]

_TEXT = {
    400: "the request breaks a dispatch rule; `field` names the value",
    401: "no token, or an unknown or revoked one",
    403: "the principal's role may not do this",
    404: "no such alarm, unit or callout",
    409: "the callout or unit is in a status that does not allow this",
    422: "the body is malformed; `field` names where (see `errors` for all problems)",
    429: "too many wrong tokens from this address in the last minute (or, on a rate-limited "
         "route, too many calls by this principal); wait `Retry-After` seconds",
    503: "nothing was done: the write queue is full or a store fails (`error` says which); "
         "retry after the `Retry-After` seconds",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for ``codes`` (401, 403 and 429, the failed-login limit, are
    always included: every route logs its caller in)."""
    return {c: {"model": ErrorOut, "description": _TEXT[c]}
            for c in sorted({401, 403, 429, *codes})}


def local_day(value: str, field: str) -> date:
    """The calendar day ``value`` (YYYY-MM-DD) in the years 2000-2099 (the times commands may
    carry), else :class:`BadMessage` naming ``field``: a query's day, whatever route asks."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadMessage(field, "must be a day as YYYY-MM-DD, e.g. 2026-01-15") from None
    if not 2000 <= day.year <= 2099:
        raise BadMessage(field, "must be a day in the years 2000-2099")
    return day
