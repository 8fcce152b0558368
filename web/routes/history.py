"""``/api/history``: the finished callouts a dispatcher looks back on, and a day as CSV.

``GET /api/history`` lists closed and cancelled callouts, newest first, found by callout id,
agency reference or place (``q``) and filtered by priority, agency, status and local day;
``GET /api/history/export.csv?date=`` is every callout of one local day (the region's
timezone) as CSV: ids, times, priority, status, agencies and references, place, unit, response
time, outcome and cancel reason code; never patient free text (notes, typed reasons). Both read
the state in a worker thread (the statistics routes' live-state reader), never on the event loop.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime, time, timedelta, tzinfo
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from dispatch.state import Callout, DispatchState
from maps.gazetteer import normalise_name
from web.auth import Action, Principal
from web.deps import RoleFirstRoute, ServiceDep, require
from web.routes._common import errors, local_day
from web.routes._live import read_live

__all__ = ["router"]

router = APIRouter(prefix="/api/history", tags=["history"], route_class=RoleFirstRoute)
Reader = Annotated[Principal, Depends(require(Action.CALLOUTS_READ))]
FINISHED = ("closed", "cancelled")
#: The ``date`` query of both routes (the dispatcher page's export sends ``?date=``).
Day = Annotated[str | None, Query(alias="date", max_length=10,
                                  description="a local day, YYYY-MM-DD")]


def _day(value: str | None, zone: tzinfo) -> tuple[datetime, datetime] | None:
    """The UTC-aware start and end of a local day, or None when not given."""
    if value is None or value == "":
        return None
    day = local_day(value, "date")
    start = datetime.combine(day, time(0), zone)
    return start, datetime.combine(day + timedelta(days=1), time(0), zone)


def _row(state: DispatchState, c: Callout, zone: tzinfo) -> dict[str, Any]:
    alarms = [state.alarms[a] for a in c.alarm_ids if a in state.alarms]
    return {
        "callout_id": c.callout_id,
        "created_at": c.created_at.astimezone(zone).isoformat(),
        "status": c.status.value,
        "priority": int(c.priority),
        "agencies": sorted({a.agency.value for a in alarms}),
        "references": [a.reference for a in alarms],
        "place": c.location.label or c.location.resolved_from
        or f"{c.location.lat:.4f}, {c.location.lon:.4f}",
        "unit_id": c.unit_id,
        "response_min": None if c.response_s is None else round(c.response_s / 60, 1),
        "outcome": c.outcome.kind.value if c.outcome else None,
        "facility": c.outcome.facility if c.outcome else "",
        "cancel_code": c.cancel_code,
    }


def _matches(row: dict[str, Any], words: list[str]) -> bool:
    text = normalise_name(" ".join([row["callout_id"], *row["references"], row["place"]]))
    return all(w in text for w in words)


@router.get("", responses=errors(422))
async def search_history(
    service: ServiceDep, _: Reader,
    q: Annotated[str, Query(max_length=120, description="callout id, agency reference or "
                            "place (all words must match; case and accents ignored)")] = "",
    priority: Annotated[int | None, Query(ge=1, le=3)] = None,
    agency: Annotated[str | None, Query(max_length=20)] = None,
    status: Annotated[Literal["closed", "cancelled"] | None, Query()] = None,
    day: Day = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Closed and cancelled callouts, newest first, that match every filter given."""
    zone = service.timezone
    span = _day(day, zone)
    words = [w for w in normalise_name(q).split() if w]

    def find(state: DispatchState) -> tuple[int, list[dict[str, Any]]]:
        seq = state.last_seq
        rows = []
        for c in _finished(state.callouts.values(), span):
            if (status and c.status.value != status) or (priority and int(c.priority) != priority):
                continue
            row = _row(state, c, zone)
            if (agency and agency not in row["agencies"]) or (words and not _matches(row, words)):
                continue
            rows.append(row)
        rows.sort(key=lambda r: r["created_at"], reverse=True)
        return seq, rows

    seq, rows = await read_live(find, service.state)
    return {"seq": seq, "total": len(rows), "callouts": rows[:limit]}


def _finished(callouts: Iterable[Callout], span: tuple[datetime, datetime] | None
              ) -> Iterable[Callout]:
    for c in callouts:
        if c.status.value in FINISHED and c.merged_into is None and (
                span is None or span[0] <= c.created_at < span[1]):
            yield c


CSV_COLUMNS = ("callout_id", "created_at", "priority", "status", "agencies", "references",
               "place", "unit_id", "response_min", "outcome", "facility", "cancel_code")


@router.get("/export.csv", response_class=Response, responses=errors(422))
async def export_day(
    service: ServiceDep, _: Reader, day: Day = None,
) -> Response:
    """Every callout of one local day (merged ones counted in the callout they joined) as
    CSV, oldest first, for the shift report. ``date`` defaults to today."""
    zone = service.timezone
    today = service.clock.now().astimezone(zone).date().isoformat()
    span = _day(day or today, zone)
    assert span is not None

    def rows(state: DispatchState) -> list[dict[str, Any]]:
        chosen = [c for c in state.callouts.values()
                  if c.merged_into is None and span[0] <= c.created_at < span[1]]
        return [_row(state, c, zone) for c in sorted(chosen, key=lambda c: c.created_at)]

    found = await read_live(rows, service.state)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in found:
        writer.writerow([" ".join(v) if isinstance(v, list) else ("" if v is None else v)
                         for v in (r[k] for k in CSV_COLUMNS)])
    name = f"mae-{day or today}.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
