"""Statistics and histories for managers (and dispatchers, planners, admins): read-only.

``GET /api/stats`` counts callouts per local month by outcome, sex, age band and children in the
home (:func:`dispatch.stats.monthly_counts`, from the report's fold);
``GET /api/stats/report?month=`` is the whole monthly report (:mod:`dispatch.stats_report`;
JSON for the ``/stats`` page, or ``format=html|xlsx|csv`` to download), always with counts
under 5 suppressed; ``GET /api/stats/callouts`` lists one local month's callouts
as ids, times, statuses, outcomes and patient facts; ``GET /api/callouts/{id}/history`` is a
callout's timeline as the caller may see it (for a manager: :data:`web.visibility.MANAGER_KEYS`
only). None of them carries patient free text or places to a manager.

The state is read in a worker thread, never copied on the event loop (:mod:`web.routes._live`).
"""

from __future__ import annotations

import asyncio
import re
import weakref
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import FileResponse, Response

from dispatch.model import Alarm
from dispatch.state import Callout, DispatchState
from dispatch.stats import local_month
from web.auth import Action, Principal
from web.deps import RoleFirstRoute, ServiceDep, require
from web.errors import BadMessage
from web.pages import STATIC_DIR
from web.routes._common import errors
from web.routes._live import read_live
from web.schemas import CalloutHistoryOut, CalloutSummaryOut, StatsOut, StatsReportOut
from web.service import DispatchService
from web.stats_render import rendered, to_html, to_json, to_xlsx, to_zip
from web.stats_source import LiveStats
from web.visibility import Viewer

__all__ = ["router"]

router = APIRouter(tags=["statistics"], route_class=RoleFirstRoute)
Stats = Annotated[Principal, Depends(require(Action.STATS_READ))]
History = Annotated[Principal, Depends(require(Action.HISTORY_READ))]
HISTORY_LIMIT = 500
_MONTH = re.compile(r"20\d{2}-(0[1-9]|1[0-2])")  # the years commands may carry: 2000-2099
Month = Annotated[str | None, Query(max_length=7, description="YYYY-MM (local time)")]


def _month(value: str | None, field: str) -> str | None:
    if value is not None and not _MONTH.fullmatch(value):
        raise BadMessage(field, "must be a month as YYYY-MM in the years 2000-2099, "
                                "e.g. 2026-01")
    return value


@router.get("/api/stats", response_model=StatsOut, responses=errors(422, 503))
async def read_stats(service: ServiceDep, _: Stats, since: Month = None,
                     until: Month = None) -> dict[str, Any]:
    """Callouts per local month (``since``..``until``, both optional) by outcome (``open`` and
    ``cancelled`` when none was recorded), sex, age band and children in the home: the same
    fold and months as ``/api/stats/report``."""
    since, until = _month(since, "since"), _month(until, "until")
    tz = service.rota_in_force()[1]
    seq, months = await asyncio.to_thread(_live(service).counts, tz, since=since, until=until)
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
                     month: Annotated[str, Query(max_length=7,
                                                 description="YYYY-MM (local time)")],
                     ) -> list[dict[str, Any]]:
    """One month's callouts, oldest first (merged ones are counted in the callout they joined):
    the ids to ask ``/api/callouts/{id}/history`` for."""
    _month(month, "month")
    tz = service.rota_in_force()[1]

    def pick(state: DispatchState) -> list[dict[str, Any]]:
        chosen = [c for c in state.callouts.values() if c.merged_into is None
                  and local_month(c.created_at, tz) == month]
        return [_summary(c, state.alarms) for c in sorted(chosen, key=lambda c: c.created_at)]

    return await read_live(pick, service.state)


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


_LIVE: weakref.WeakKeyDictionary[DispatchService, LiveStats] = weakref.WeakKeyDictionary()
_DOWNLOADS = {
    "html": ("text/html; charset=utf-8", "html"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "csv": ("application/zip", "zip"),
}


def _live(service: DispatchService) -> LiveStats:
    live = _LIVE.get(service)
    if live is None:
        live = _LIVE[service] = LiveStats(service.read_log)
    return live


@router.get("/api/stats/report", response_model=StatsReportOut,
            responses={**errors(422, 503), 200: {"content": {
                t: {} for t, _ in _DOWNLOADS.values()}}})
async def read_report(service: ServiceDep, _: Stats,
                      month: Annotated[str, Query(max_length=7,
                                                  description="YYYY-MM (local time)")],
                      format: Annotated[Literal["json", "html", "xlsx", "csv"],
                                        Query(description="json for the page; html, xlsx "
                                              "or csv (a zip of one CSV per table) to "
                                              "download")] = "json") -> Any:
    """The month's report: callouts by agency (joint alarms), category, priority, outcome;
    response times by municipality and base; patients, children and care; hour x weekday;
    follow-ups; the last 12 months. Counts under 5 are shown as ``"<5"``."""
    _month(month, "month")
    tz = service.rota_in_force()[1]
    seq, report = await asyncio.to_thread(_live(service).report, month, tz)
    shown = rendered(report)
    if format == "json":
        return {"seq": seq, **to_json(shown)}
    media, suffix = _DOWNLOADS[format]

    def render() -> bytes:
        if format == "html":
            return to_html(shown, suppressed=True).encode("utf-8")
        return to_xlsx(shown) if format == "xlsx" else to_zip(shown)

    body = await asyncio.to_thread(render)
    name = f"mae-stats-{month}.{suffix}"
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/stats", include_in_schema=False)
def stats_page() -> FileResponse:
    """The monthly statistics page (it logs in with a manager's or dispatcher's token)."""
    return FileResponse(STATIC_DIR / "stats.html", media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})
