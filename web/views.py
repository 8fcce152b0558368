"""Plain-data views of the dispatch state for replies, snapshots and REST bodies.

Each function reads the state and returns JSON-ready dicts; ``with_text=False`` leaves out the
patient free text (alarm notes, callout notes) for principals who must not see it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Any

from dispatch.events import (
    AssignmentCancelled,
    AssignmentTimedOut,
    CalloutCancelled,
    CalloutsMerged,
    Event,
    OutcomeRecorded,
    UnitAssigned,
)
from dispatch.model import CARE_QUESTIONS, Alarm, Location
from dispatch.recommend import UnitOption
from dispatch.rota import (
    RotaShift,
    ShiftPattern,
    current_shift,
    due_not_signed_on,
    next_shift,
    sign_on_shift,
)
from dispatch.state import Callout, DispatchState, Unit
from dispatch.status import ON_THE_WAY

__all__ = [
    "alarm_status",
    "alarm_view",
    "board_snapshot",
    "callout_view",
    "crew_view",
    "dumps",
    "eta_arrival",
    "live_callout_id",
    "location_view",
    "option_view",
    "rota_view",
    "track_eta",
    "unit_view",
]



def dumps(data: Mapping[str, Any]) -> str:
    """``data`` as the compact JSON text every socket and replay message is sent as."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def location_view(loc: Location) -> dict[str, Any]:
    return {"lat": loc.lat, "lon": loc.lon, "label": loc.label, "resolved_from": loc.resolved_from}


def crew_view(unit: Unit) -> list[dict[str, str]]:
    """Who is on board (staff names and roles, never patient data)."""
    return [{"name": m.name, "role": m.role.value} for m in unit.crew]


def _shift(shift: RotaShift | None) -> dict[str, str] | None:
    return None if shift is None else {"starts_at": shift.starts_at.isoformat(),
                                       "ends_at": shift.ends_at.isoformat()}


def rota_view(state: DispatchState, rota: tuple[ShiftPattern, ...], tz: tzinfo,
              now: datetime) -> dict[str, Any]:
    """Every registered unit's rota shift now and next, the shift a sign-on now would be for,
    and whether its rota shift has started with no crew signed on."""
    due = {s.unit_id for s in due_not_signed_on(state, rota, tz, now)}
    units = []
    for unit_id in sorted(state.units):
        units.append({
            "unit_id": unit_id,
            "current": _shift(current_shift(rota, unit_id, tz, now)),
            "next": _shift(next_shift(rota, unit_id, tz, now)),
            "sign_on": _shift(sign_on_shift(rota, unit_id, tz, now)),
            "due_not_signed_on": unit_id in due,
        })
    return {"type": "rota", "at": now.isoformat(), "timezone": str(tz), "units": units}


def unit_view(unit: Unit) -> dict[str, Any]:
    return {
        "unit_id": unit.unit_id,
        "name": unit.name,
        "base": unit.base,
        "status": unit.status.value,
        "status_since": _iso(unit.status_since),
        "position": location_view(unit.position),
        "position_at": _iso(unit.position_at),
        "callout_id": unit.callout_id,
        "shift_ends_at": _iso(unit.shift_ends_at),
        "crew_size": len(unit.crew),
        "crew": crew_view(unit),
        "competences": list(unit.competences),
        "registered_competences": list(unit.registered_competences),
        "seats": unit.seats,
        "retired": unit.retired,
        "missed_ack": unit.missed_ack,
    }


def alarm_view(alarm: Alarm, *, with_text: bool) -> dict[str, Any]:
    return {
        "alarm_id": alarm.alarm_id,
        "agency": alarm.agency.value,
        "reference": alarm.reference,
        "received_at": alarm.received_at.isoformat(),
        "location": location_view(alarm.location),
        "priority": int(alarm.priority),
        "category": alarm.category.value,
        "patient": {"age_band": alarm.patient.age_band.value, "sex": alarm.patient.sex.value,
                    "children": alarm.patient.children.value},
        "note": alarm.note if with_text else "",
        "callback": alarm.callback if with_text else "",
        "police_on_scene": alarm.police_on_scene,
        "ambulance_on_scene": alarm.ambulance_on_scene,
    }


def callout_view(
    state: DispatchState, callout: Callout, *, with_text: bool,
    eta_at: datetime | None = None,
) -> dict[str, Any]:
    outcome = callout.outcome
    return {
        "callout_id": callout.callout_id,
        "status": callout.status.value,
        "priority": int(callout.priority),
        "created_at": callout.created_at.isoformat(),
        "location": location_view(callout.location),
        "alarm_ids": list(callout.alarm_ids),
        "alarms": [alarm_view(state.alarms[a], with_text=with_text) for a in callout.alarm_ids],
        "unit_id": callout.unit_id,
        "eta_s": callout.eta_s,
        "eta_at": _iso(eta_at),
        "ack_deadline": _iso(callout.ack_deadline),
        "ack_overdue": callout.ack_overdue,
        "merged_into": callout.merged_into,
        "on_scene_at": _iso(callout.on_scene_at),
        "cancelled_at": _iso(callout.cancelled_at),
        "outcome": None if outcome is None else {
            "kind": outcome.kind.value, "facility": outcome.facility,
            "follow_up_at": _iso(outcome.follow_up_at),
            **{q: getattr(outcome, q).value for q in CARE_QUESTIONS}},
        "notes": [{"at": n.at.isoformat(), "actor": n.actor, "text": n.text}
                  for n in callout.notes] if with_text else [],
    }


def live_callout_id(state: DispatchState, callout_id: str) -> str:
    """Follow merges to the callout that now holds what ``callout_id`` held."""
    seen: set[str] = set()
    while callout_id not in seen:
        seen.add(callout_id)
        merged = state.callouts[callout_id].merged_into
        if merged is None:
            break
        callout_id = merged
    return callout_id


def alarm_status(
    state: DispatchState, alarm_id: str, *, eta_at: dict[str, datetime],
    now: datetime | None = None,
) -> dict[str, Any]:
    """What an agency may know about its alarm: the callout, its status, unit and ETA."""
    alarm = state.alarms[alarm_id]
    callout = state.callouts[live_callout_id(state, state.alarm_callout[alarm_id])]
    coming = callout.status in ON_THE_WAY  # once on scene (or done) there is no ETA to show
    arrival = eta_at.get(callout.callout_id) if coming else None
    remaining = None
    if arrival is not None and now is not None:
        remaining = max(0.0, (arrival - now).total_seconds())
    return {
        "alarm_id": alarm_id,
        "agency": alarm.agency.value,
        "reference": alarm.reference,
        "received_at": alarm.received_at.isoformat(),
        "location": location_view(alarm.location),
        "callout_id": callout.callout_id,
        "status": callout.status.value,
        "priority": int(callout.priority),
        "unit_id": callout.unit_id,
        "eta_s": callout.eta_s if coming else None,
        "eta_at": _iso(arrival),
        "eta_remaining_s": remaining,
    }


def option_view(option: UnitOption) -> dict[str, Any]:
    reachable = math.isfinite(option.eta_s) and math.isfinite(option.distance_m)
    return {
        "unit_id": option.unit_id,
        "name": option.name,
        "status": option.status.value,
        "eta_s": option.eta_s if reachable else None,
        "eta_min": round(option.eta_s / 60.0, 1) if reachable else None,
        "distance_km": round(option.distance_m / 1000.0, 1) if reachable else None,
        "assignable": option.assignable,
        "uncovered_population": option.uncovered_population,
        "note": option.note,
    }


def eta_arrival(at: datetime, eta_s: float | None) -> datetime | None:
    return None if eta_s is None else at + timedelta(seconds=eta_s)


def track_eta(eta_at: dict[str, datetime], event: Event) -> None:
    """Keep ``eta_at`` (callout id -> expected arrival) up to date with one applied event."""
    if isinstance(event, UnitAssigned):
        arrival = eta_arrival(event.at, event.eta_s)
        if arrival is None:
            eta_at.pop(event.callout_id, None)
        else:
            eta_at[event.callout_id] = arrival
    elif isinstance(event, AssignmentTimedOut | AssignmentCancelled | CalloutCancelled
                    | OutcomeRecorded):
        eta_at.pop(event.callout_id, None)
    elif isinstance(event, CalloutsMerged):
        eta_at.pop(event.source_id, None)


def board_snapshot(state: DispatchState, *, with_text: bool,
                   eta_at: Mapping[str, datetime]) -> dict[str, Any]:
    """The dispatch board as a snapshot message: every unit not retired, the open callouts and
    the callout statuses whose unit is still on its way (the live /ws/dispatch snapshot and the
    replay's)."""
    return {
        "type": "snapshot",
        "seq": state.last_seq,
        "units": [unit_view(u) for u in state.active_units()],
        # the statuses whose unit may still be swapped (the core's rule, for the page)
        "on_the_way": sorted(ON_THE_WAY),
        "callouts": [callout_view(state, c, with_text=with_text,
                                  eta_at=eta_at.get(c.callout_id))
                     for c in state.open_callouts()],
    }
