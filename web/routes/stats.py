"""Statistics and histories for managers (and dispatchers, planners, admins): read-only.

``GET /api/stats`` counts callouts per month by outcome, sex, age band and children in the home
(:func:`dispatch.stats.monthly_counts`); ``GET /api/stats/callouts`` lists one month's callouts
as ids, times, statuses, outcomes and patient facts; ``GET /api/callouts/{id}/history`` is a
callout's timeline as the caller may see it (for a manager: :data:`web.visibility.MANAGER_KEYS`
only). None of them carries patient free text or places to a manager.

The state is read in a worker thread, never copied on the event loop (a year's log holds some
100,000 callouts and alarms: copying them took the loop 5-10 ms a request, folding them far
more). The worker walks the live dictionaries, so the loop goes on applying events meanwhile;
one that adds a callout or an alarm mid-walk makes the walk raise and start again
(:func:`_read_live`), after a few tries the worker takes one atomic copy instead.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Query

from dispatch.model import Alarm
from dispatch.state import Callout, DispatchState
from dispatch.stats import MonthStats, monthly_counts
from web.auth import Action, Principal
from web.deps import ServiceDep, require
from web.errors import BadMessage
from web.routes._common import errors
from web.schemas import CalloutHistoryOut, CalloutSummaryOut, StatsOut
from web.visibility import Viewer

__all__ = ["router"]

router = APIRouter(tags=["statistics"])
Stats = Annotated[Principal, Depends(require(Action.STATS_READ))]
History = Annotated[Principal, Depends(require(Action.HISTORY_READ))]
HISTORY_LIMIT = 500
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
Month = Annotated[str | None, Query(max_length=7, description="YYYY-MM (UTC)")]


_TRIES = 3
T = TypeVar("T")


def _read_live(read: Callable[[DispatchState], T], state: DispatchState) -> T:
    """``read(state)`` on the live state, in a worker thread: a walk that the loop disturbs
    by adding an entry is started again; the last try walks one copy of the containers
    (taken in C, atomically under the GIL)."""
    for _ in range(_TRIES):
        try:
            return read(state)
        except RuntimeError:  # "dictionary changed size during iteration": an event applied
            continue
    return read(state.fork())


def _month(value: str | None, field: str) -> str | None:
    if value is not None and not _MONTH.fullmatch(value):
        raise BadMessage(field, "must be a month as YYYY-MM, e.g. 2026-01")
    return value


@router.get("/api/stats", response_model=StatsOut, responses=errors(422))
async def read_stats(service: ServiceDep, _: Stats, since: Month = None,
                     until: Month = None) -> dict[str, Any]:
    """Callouts per month (``since``..``until``, both optional) by outcome (``open`` and
    ``cancelled`` when none was recorded), sex, age band and children in the home."""
    since, until = _month(since, "since"), _month(until, "until")

    def count(state: DispatchState) -> tuple[int, list[MonthStats]]:
        seq = state.last_seq  # read first: the counts hold at least the events up to it
        return seq, monthly_counts(state.callouts.values(), state.alarms, since=since,
                                   until=until)

    seq, months = await asyncio.to_thread(_read_live, count, service.state)
    return {"seq": seq, "months": [
        {"month": m.month, "callouts": m.callouts, "outcome": dict(m.outcome),
         "sex": dict(m.sex), "age_band": dict(m.age_band), "children": dict(m.children)}
        for m in months]}


def _summary(callout: Callout, alarms: Mapping[str, Alarm]) -> dict[str, Any]:
    alarm = alarms.get(callout.alarm_ids[0]) if callout.alarm_ids else None
    return {
        "callout_id": callout.callout_id, "created_at": callout.created_at,
        "status": callout.status.value, "priority": int(callout.priority),
        "category": alarm.category.value if alarm else None, "unit_id": callout.unit_id,
        "outcome": callout.outcome.kind.value if callout.outcome else None,
        "patient": {"age_band": alarm.patient.age_band.value, "sex": alarm.patient.sex.value,
                    "children": alarm.patient.children.value} if alarm else None,
    }


@router.get("/api/stats/callouts", response_model=list[CalloutSummaryOut],
            responses=errors(422))
async def list_month(service: ServiceDep, _: Stats,
                     month: Annotated[str, Query(max_length=7, description="YYYY-MM (UTC)")],
                     ) -> list[dict[str, Any]]:
    """One month's callouts, oldest first (merged ones are counted in the callout they joined):
    the ids to ask ``/api/callouts/{id}/history`` for."""
    _month(month, "month")

    def pick(state: DispatchState) -> list[dict[str, Any]]:
        chosen = [c for c in state.callouts.values() if c.merged_into is None
                  and c.created_at.strftime("%Y-%m") == month]
        return [_summary(c, state.alarms) for c in sorted(chosen, key=lambda c: c.created_at)]

    return await asyncio.to_thread(_read_live, pick, service.state)


@router.get("/api/callouts/{callout_id}/history", response_model=CalloutHistoryOut,
            responses=errors(404))
async def read_history(service: ServiceDep, principal: History,
                 callout_id: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    """The last 500 logged events about a callout (and those merged into it) as the caller may
    see them: a manager gets ids, times, statuses, outcomes and patient facts only. Read and
    rendered in pages off the loop, like the dispatcher socket's history."""
    found = await service.history(Viewer.of(principal), callout_id, limit=HISTORY_LIMIT)
    return {"callout_id": callout_id, "seq": found.seq, "events": found.events,
            "truncated": found.truncated}
