"""``/api/visits``: follow-up visits booked, moved, pinned, cancelled, started, done, not met,
and each day's plan.

Who may do what: psychiatry (an agency token) books visits and reads the ones it booked; a
dispatcher (or admin) does everything; a crew reads its unit's day and reports its own visits
started, done or not met (with an ``op`` id, exactly-once, which is how the crew page's offline
outbox sends them; the crew socket takes the same as ``{"type": "visit"}``); a planner reads.
Every change goes through the single writer and reaches the pages as events; the planning
worker (:mod:`web.planning`) re-plans the day on it.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.responses import JSONResponse

from dispatch.commands import (
    BookVisit,
    CancelVisit,
    Command,
    FinishVisit,
    MarkVisitNotMet,
    MoveVisit,
    PinVisit,
    StartVisit,
)
from dispatch.errors import InvalidCommand
from dispatch.model import Agency
from dispatch.visit_plan import day_of, visits_pushed
from dispatch.visits import Visit, VisitSource
from routing.errors import NoRoute, SnapError
from web.auth import Action, Principal, Role
from web.deps import ClientDep, RoleFirstRoute, ServiceDep, require
from web.errors import Forbidden
from web.routes._common import errors, local_day
from web.schemas import (
    VisitAckOut,
    VisitCancelIn,
    VisitIn,
    VisitMoveIn,
    VisitOut,
    VisitPinIn,
    VisitPlanOut,
    VisitReportIn,
)
from web.service import DispatchService
from web.visit_views import plan_view, visit_view

__all__ = ["report_visit", "router"]

router = APIRouter(prefix="/api/visits", tags=["visits"], route_class=RoleFirstRoute)
Reader = Annotated[Principal, Depends(require(Action.VISITS_READ))]
Booker = Annotated[Principal, Depends(require(Action.VISITS_BOOK))]
Changer = Annotated[Principal, Depends(require(Action.VISITS_CHANGE))]
Reporter = Annotated[Principal, Depends(require(Action.VISITS_REPORT))]
VisitId = Annotated[str, Path(min_length=1, max_length=16, pattern=r"^V\d+$")]
Day = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$",
                                  description="local day YYYY-MM-DD (default today)")]


def _visible(service: DispatchService, principal: Principal, visit: Visit) -> bool:
    """Whether ``principal`` may see ``visit``: its agency's bookings, its unit's visits."""
    if principal.role is Role.AGENCY:
        return principal.agency is not None and visit.agency == principal.agency.value
    if principal.role is Role.CREW:
        unit = principal.unit_id
        return unit in (visit.unit_id, visit.pinned_unit,
                        service.state.planned_unit(visit.visit_id))
    return True


def _visit(service: DispatchService, principal: Principal, visit_id: str) -> Visit:
    visit = service.state.visits.get(visit_id)
    if visit is None or not _visible(service, principal, visit):
        raise InvalidCommand("visit_id", f"unknown visit {visit_id!r}")
    return visit


def _ack(done: Any, visit_id: str) -> dict[str, Any]:
    return {"visit_id": visit_id, "seq": done.last_seq, "duplicate": done.decision.duplicate}


@router.get("", response_model=list[VisitOut], responses=errors())
def list_visits(
    service: ServiceDep, principal: Reader,
    open_only: Annotated[bool, Query(description="only visits still booked or under way")]
    = True,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
) -> list[dict[str, Any]]:
    """The visits the caller may see, by window start."""
    now = service.clock.now()
    chosen = sorted((v for v in service.state.visits.values()
                     if (v.status.is_open or not open_only) and _visible(service, principal, v)),
                    key=lambda v: (v.earliest_start, v.visit_id))
    return [visit_view(service.state, v, now) for v in chosen[:limit]]


@router.get("/plan", response_model=VisitPlanOut, responses=errors())
def read_plan(service: ServiceDep, principal: Reader, day: Day = None) -> dict[str, Any]:
    """A day's plan: every route for dispatchers and planners, the crew's own route for a
    crew (agencies: their visits' planned times are in ``GET /api/visits``)."""
    if principal.role is Role.AGENCY:
        raise Forbidden("an agency reads its visits at GET /api/visits")
    now = service.clock.now()
    _, tz = service.rota_in_force()
    today, _ = day_of(now, tz)
    unit = principal.unit_id if principal.role is Role.CREW else None
    return plan_view(service.state, _day(day) or today, now, unit_id=unit)


def _day(value: str | None) -> str | None:
    """``value`` if it is a calendar day (the pattern lets 2026-13-45 through), else a 422
    naming ``day``, as the pattern's own refusals."""
    if value is not None:
        local_day(value, "day")
    return value


@router.get("/can-book", responses=errors())
def can_book(principal: Reader) -> dict[str, bool]:
    """Whether the caller may book visits (psychiatry and dispatchers): pages offer the form."""
    ok = principal.role in (Role.DISPATCHER, Role.ADMIN) or (
        principal.role is Role.AGENCY and principal.agency is Agency.PSYCHIATRY)
    return {"can_book": ok}


@router.get("/pushed", responses=errors(404))
def pushed_by(
    service: ServiceDep, principal: Changer,
    unit_id: Annotated[str, Query(min_length=1, max_length=64)],
) -> dict[str, Any]:
    """The visits an acute callout taking ``unit_id`` now would push to another unit, a later
    time or another day (those its plan has it do from now on)."""
    service.state.unit(unit_id)
    ids = visits_pushed(service.state, unit_id, service.clock.now())
    return {"unit_id": unit_id, "visits": ids}


@router.get("/{visit_id}/route", responses=errors(400, 404, 409))
async def visit_route(service: ServiceDep, principal: Reader, visit_id: VisitId,
                      unit_id: Annotated[str | None, Query(max_length=64)] = None,
                      ) -> Any:
    """The road route from a unit (a crew: its own) to a visit: duration, distance and the
    steps to read out (the geometry is left out: the crew page lists the steps)."""
    if principal.role is Role.AGENCY:
        raise Forbidden("an agency has no route to a visit")
    visit = _visit(service, principal, visit_id)
    unit_id = principal.unit_id if principal.role is Role.CREW else unit_id
    if unit_id is None:
        raise InvalidCommand("unit_id", "name the unit")
    unit = service.state.unit(unit_id)
    await service.map_ready()
    travel = service.travel()
    a = (unit.position.lat, unit.position.lon)
    b = (visit.location.lat, visit.location.lon)

    def find() -> Any:
        return travel.route(travel.snap(*a), travel.snap(*b))

    try:
        found = await asyncio.to_thread(find)  # plain search on a big map takes a while
    except (SnapError, NoRoute) as exc:
        return JSONResponse({"error": "no_route", "field": "visit_id",
                             "message": f"no road route from {unit_id} to {visit_id} ({exc})"},
                            status_code=409)
    return {"unit_id": unit_id, "visit_id": visit_id,
            "duration_s": round(found.duration_s, 1), "distance_m": round(found.distance_m, 1),
            "steps": [{"kind": s.kind.value, "road": s.road, "text": s.describe(),
                       "distance_m": round(s.distance_m, 1),
                       "duration_s": round(s.duration_s, 1)} for s in found.steps]}


@router.get("/{visit_id}", response_model=VisitOut, responses=errors(400))
def read_visit(service: ServiceDep, principal: Reader, visit_id: VisitId) -> dict[str, Any]:
    return visit_view(service.state, _visit(service, principal, visit_id),
                      service.clock.now())


@router.post("", response_model=VisitAckOut, status_code=201, responses=errors(400, 404, 409, 503))
async def book_visit(payload: VisitIn, service: ServiceDep, principal: Booker,
                     client: ClientDep) -> dict[str, Any]:
    """Book a visit (psychiatry or a dispatcher). The reply comes once it is durable."""
    if principal.role is Role.AGENCY and principal.agency is not Agency.PSYCHIATRY:
        raise Forbidden("only psychiatry books follow-up visits")
    loc = payload.location
    await service.map_ready()
    location = service.resolve(lat=loc.lat, lon=loc.lon, place=loc.place, label=True)
    by_agency = principal.role is Role.AGENCY
    command = BookVisit(
        patient_ref=payload.patient_ref, location=location,
        earliest_start=payload.earliest_start, latest_start=payload.latest_start,
        duration_s=payload.duration_min * 60, competences=tuple(payload.competences),
        staff=payload.staff,
        postpone_cost=payload.postpone_cost_min * 60 if payload.postponable else None,
        source=VisitSource.AGENCY if by_agency else VisitSource.DISPATCHER,
        agency=principal.agency.value if by_agency and principal.agency else "")
    done = await service.run(command, principal=principal, client=client, action="visit.book",
                             target={"visit_id": service.state.next_visit_id()})
    visit_id = next(e.visit_id for e in done.decision.events if hasattr(e, "visit_id"))
    return _ack(done, visit_id)


async def _change(service: DispatchService, principal: Principal, client: str,
                  command: Command, visit_id: str, action: str,
                  op: str | None = None) -> dict[str, Any]:
    done = await service.run(command, principal=principal, client=client, action=action,
                             target={"visit_id": visit_id}, op=op)
    return _ack(done, visit_id)


@router.post("/{visit_id}/move", response_model=VisitAckOut, responses=errors(400, 404, 409, 503))
async def move_visit(visit_id: VisitId, payload: VisitMoveIn, service: ServiceDep,
                     principal: Changer, client: ClientDep) -> dict[str, Any]:
    _visit(service, principal, visit_id)
    duration = payload.duration_min * 60 if payload.duration_min is not None else None
    return await _change(service, principal, client, MoveVisit(
        visit_id, payload.earliest_start, payload.latest_start, duration), visit_id,
        "visit.move")


@router.post("/{visit_id}/pin", response_model=VisitAckOut, responses=errors(400, 404, 409, 503))
async def pin_visit(visit_id: VisitId, payload: VisitPinIn, service: ServiceDep,
                    principal: Changer, client: ClientDep) -> dict[str, Any]:
    _visit(service, principal, visit_id)
    return await _change(service, principal, client,
                         PinVisit(visit_id, payload.unit_id, payload.start), visit_id,
                         "visit.pin")


@router.post("/{visit_id}/cancel", response_model=VisitAckOut, responses=errors(400, 404, 409, 503))
async def cancel_visit(visit_id: VisitId, payload: VisitCancelIn, service: ServiceDep,
                       principal: Changer, client: ClientDep) -> dict[str, Any]:
    _visit(service, principal, visit_id)
    return await _change(service, principal, client, CancelVisit(visit_id, payload.reason),
                         visit_id, "visit.cancel")


async def report_visit(service: DispatchService, principal: Principal, client: str,
                       visit_id: str, action: Literal["start", "done", "not_met"], *,
                       unit_id: str | None, reason: str = "",
                       op: str | None = None) -> dict[str, Any]:
    """A visit started, done or not met, by a crew (its own unit's visits; it may start any
    booked visit, taking over one planned for another unit) or a dispatcher (naming the unit).
    Shared by REST and the crew socket."""
    if principal.role is Role.CREW:
        if unit_id not in (None, principal.unit_id):
            raise Forbidden("a crew reports its own unit's visits")
        unit_id = principal.unit_id
        known = service.state.visits.get(visit_id)
        if known is None or (not _visible(service, principal, known) and action != "start"):
            raise InvalidCommand("visit_id", f"unknown visit {visit_id!r}")
    elif unit_id is None and action != "not_met":
        raise InvalidCommand("unit_id", "name the unit")
    command: Command
    if action == "start":
        assert unit_id is not None
        command = StartVisit(visit_id, unit_id)
    elif action == "done":
        assert unit_id is not None
        command = FinishVisit(visit_id, unit_id)
    else:
        command = MarkVisitNotMet(visit_id, unit_id, reason)
    return await _change(service, principal, client, command, visit_id, f"visit.{action}",
                         op=op)


def _reported(action: Literal["start", "done", "not_met"]) -> Any:
    async def report(visit_id: VisitId, payload: VisitReportIn, service: ServiceDep,
                     principal: Reporter, client: ClientDep,
                     response: Response) -> dict[str, Any]:
        reply = await report_visit(service, principal, client, visit_id, action,
                                   unit_id=payload.unit_id, reason=payload.reason,
                                   op=payload.op)
        if reply["duplicate"]:
            response.status_code = 200
        return reply

    report.__doc__ = {"start": "A unit's crew starts the visit.",
                      "done": "The unit that started the visit has done it.",
                      "not_met": "The visit could not be held (nobody home)."}[action]
    return report


for _action, _path in (("start", "start"), ("done", "done"), ("not_met", "not-met")):
    router.add_api_route(f"/{{visit_id}}/{_path}", _reported(_action),  # type: ignore[arg-type]
                         methods=["POST"], response_model=VisitAckOut,
                         responses=errors(400, 404, 409, 503), name=f"visit_{_action}")

