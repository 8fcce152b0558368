"""Plain-data views of follow-up visits and day plans for REST replies and the pages.

A visit's view adds what the latest day plan says of it (unit, planned arrival and start,
postponed) and whether it is *at risk*: still booked, and either left out of the plan (unplaced)
or with its window closing within :data:`RISK_MARGIN` without a planned start. Only the
pseudonymous patient reference is ever shown; a reason a person typed is shown only to those
who see patient text.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from dispatch.state import DispatchState
from dispatch.visits import DayPlan, PlannedRoute, PlannedStop, Visit, VisitStatus
from web.views import location_view

__all__ = ["RISK_MARGIN", "plan_view", "route_view", "visit_view"]

#: A booked visit with no planned start whose window closes within this is at risk.
RISK_MARGIN = timedelta(hours=1)


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def _planned(state: DispatchState, visit_id: str) -> tuple[str | None, PlannedStop | None,
                                                           DayPlan | None]:
    for day in sorted(state.day_plans, reverse=True):
        plan = state.day_plans[day]
        for route in plan.routes:
            for stop in route.stops:
                if stop.visit_id == visit_id:
                    return route.unit_id, stop, plan
    return None, None, None


def visit_view(state: DispatchState, visit: Visit, now: datetime) -> dict[str, Any]:
    """``visit`` as JSON-ready data, with its place in the latest plan and its risk."""
    unit_id, stop, _ = _planned(state, visit.visit_id)
    postponed = any(visit.visit_id in p.postponed for p in state.day_plans.values())
    unplaced = any(visit.visit_id in p.unplaced for p in state.day_plans.values())
    booked = visit.status is VisitStatus.BOOKED
    at_risk = booked and (unplaced or (
        stop is None and not postponed and visit.latest_start - now < RISK_MARGIN))
    return {
        "visit_id": visit.visit_id, "patient_ref": visit.patient_ref,
        "location": location_view(visit.location),
        "earliest_start": visit.earliest_start.isoformat(),
        "latest_start": visit.latest_start.isoformat(), "duration_s": visit.duration_s,
        "competences": list(visit.competences), "staff": visit.staff,
        "postpone_cost": visit.postpone_cost, "source": visit.source.value,
        "agency": visit.agency, "callout_id": visit.callout_id, "status": visit.status.value,
        "booked_at": visit.booked_at.isoformat(), "booked_by": visit.booked_by,
        "changed_at": _iso(visit.changed_at), "changed_by": visit.changed_by,
        "unit_id": visit.unit_id, "pinned_unit": visit.pinned_unit,
        "pinned_start": _iso(visit.pinned_start), "moves": visit.moves,
        "planned_unit": unit_id if visit.status.is_open else None,
        "planned_start": _iso(stop.start) if stop and visit.status.is_open else None,
        "planned_arrival": _iso(stop.arrival) if stop and visit.status.is_open else None,
        "postponed": postponed and booked, "at_risk": at_risk,
    }


def route_view(route: PlannedRoute) -> dict[str, Any]:
    return {
        "unit_id": route.unit_id, "depart": route.depart.isoformat(),
        "back": route.back.isoformat(), "drive_s": route.drive_s,
        "break_start": _iso(route.break_start), "break_end": _iso(route.break_end),
        "stops": [{"visit_id": s.visit_id, "arrival": s.arrival.isoformat(),
                   "start": s.start.isoformat(), "end": s.end.isoformat()}
                  for s in route.stops],
    }


def plan_view(state: DispatchState, day: str, now: datetime, *,
              unit_id: str | None = None) -> dict[str, Any]:
    """The plan of ``day`` (only ``unit_id``'s route and visits when given), with the visits
    it mentions; an empty plan when there is none yet."""
    plan = state.day_plans.get(day)
    routes = [] if plan is None else [r for r in plan.routes
                                      if unit_id is None or r.unit_id == unit_id]
    ids = [s.visit_id for r in routes for s in r.stops]
    if unit_id is None and plan is not None:
        ids += [*plan.postponed, *plan.unplaced]
    visits = [visit_view(state, state.visits[v], now) for v in ids if v in state.visits]
    return {
        "day": day, "revision": plan.revision if plan else 0,
        "planned_at": _iso(plan.planned_at) if plan else None,
        "cause": plan.cause if plan else "", "routes": [route_view(r) for r in routes],
        "postponed": list(plan.postponed) if plan and unit_id is None else [],
        "unplaced": list(plan.unplaced) if plan and unit_id is None else [],
        "visits": visits,
    }
