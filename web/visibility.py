"""Who may see which event, and what of it.

When an event is applied the service works out its :class:`Audience` from the state just before
it: the agencies whose alarms the event concerns and the units it concerns. The audience is kept
per sequence number, so a client reconnecting with ``since=`` is filtered exactly as it would have
been live. A :class:`Viewer` (one per role binding) renders an event for its principal or returns
None: crews see their unit's events, agencies their alarms' progress (never notes, positions or
outcomes' details) and, for the visits they booked, a bare notice that one changed (its id;
a day plan: the day), so the agency page re-reads them at ``GET /api/visits``, planners
everything but patient free text, dispatchers everything, and
managers only the whitelisted ids, times, statuses, outcomes and patient facts of
:data:`MANAGER_KEYS` (never text, names, crews or places).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dispatch.events import (
    AlarmReceived,
    AssignmentAcknowledged,
    AssignmentCancelled,
    AssignmentTimedOut,
    CalloutCancelled,
    CalloutReopened,
    CalloutsMerged,
    CalloutSplit,
    DayPlanned,
    Envelope,
    Event,
    NoteAdded,
    OutcomeRecorded,
    ShiftEnded,
    ShiftStarted,
    UnitAssigned,
    UnitPositionReported,
    UnitRegistered,
    UnitStatusChanged,
    VisitBooked,
    event_to_dict,
)
from dispatch.model import CARE_QUESTIONS
from dispatch.state import DispatchState
from web.auth import Principal, Role

__all__ = ["MANAGER_KEYS", "Audience", "Viewer", "audience_of"]

_AGENCY_EVENTS = (
    AlarmReceived, UnitAssigned, AssignmentAcknowledged, AssignmentTimedOut, AssignmentCancelled,
    UnitStatusChanged, OutcomeRecorded, CalloutCancelled, CalloutsMerged, CalloutSplit,
    CalloutReopened,
)


#: What a manager sees of an event: a whitelist, so a field added later stays hidden until
#: someone decides it is not patient free text. Nested dicts list their own kept keys.
MANAGER_KEYS: dict[str, Any] = {
    "type": True, "v": True, "at": True, "actor": True, "callout_id": True, "unit_id": True,
    "alarm_id": True, "new_callout_id": True, "target_id": True, "source_id": True,
    "status": True, "facility": True, "eta_s": True, "ack_deadline": True, "ends_at": True,
    "merged_reason": True, "pressed_at": True, "code": True,
    "outcome": {"kind": True, "facility": True, "follow_up_at": True,
                **dict.fromkeys(CARE_QUESTIONS, True)},
    "alarm": {"alarm_id": True, "agency": True, "reference": True, "received_at": True,
              "priority": True, "category": True, "police_on_scene": True,
              "ambulance_on_scene": True,
              "patient": {"age_band": True, "sex": True, "children": True}},
}


def _keep(data: Any, keys: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(data, dict):
        return {}
    out: dict[str, Any] = {}
    for key, rule in keys.items():
        if key in data:
            value = data[key]
            out[key] = _keep(value, rule) if isinstance(rule, dict) and value is not None \
                else value
    return out


@dataclass(frozen=True, slots=True)
class Audience:
    """The agencies, units and callouts an event concerns."""

    agencies: frozenset[str] = frozenset()
    units: frozenset[str] = frozenset()
    callouts: frozenset[str] = frozenset()


def _callout_parties(state: DispatchState, callout_id: str) -> tuple[set[str], set[str]]:
    callout = state.callouts.get(callout_id)
    if callout is None:
        return set(), set()
    agencies = {state.alarms[a].agency.value for a in callout.alarm_ids}
    units = {callout.unit_id} if callout.unit_id else set()
    return agencies, units


def audience_of(state: DispatchState, event: Event) -> Audience:
    """Who ``event`` concerns, judged on ``state`` as it was just before the event."""
    agencies: set[str] = set()
    units: set[str] = set()
    callouts: set[str] = set()
    if isinstance(event, UnitRegistered | ShiftStarted | ShiftEnded | UnitPositionReported):
        units.add(event.unit_id)
    elif isinstance(event, DayPlanned):  # the units planned before and now: their day changed
        before = state.day_plans.get(event.day)
        units |= {r.unit_id for r in event.routes}
        units |= {r.unit_id for r in before.routes} if before is not None else set()
        planned = {s.visit_id for r in event.routes for s in r.stops}
        planned |= {*event.postponed, *event.unplaced}
        if before is not None:
            planned |= {s.visit_id for r in before.routes for s in r.stops}
            planned |= {*before.postponed, *before.unplaced}
        agencies |= {v.agency for v in map(state.visits.get, planned) if v and v.agency}
    elif isinstance(getattr(event, "visit_id", None), str):  # the units a visit concerns
        visit_id: str = getattr(event, "visit_id")  # noqa: B009
        visit = state.visits.get(visit_id)
        units |= {u for u in (getattr(event, "unit_id", None), state.planned_unit(visit_id),
                              visit.unit_id if visit else None,
                              visit.pinned_unit if visit else None) if isinstance(u, str)}
        booker = event.agency if isinstance(event, VisitBooked) else \
            visit.agency if visit is not None else ""
        agencies |= {booker} if booker else set()
    elif isinstance(event, UnitStatusChanged):
        units.add(event.unit_id)
        unit = state.units.get(event.unit_id)
        if unit is not None and unit.callout_id is not None:
            agencies, _ = _callout_parties(state, unit.callout_id)
            callouts.add(unit.callout_id)
    elif isinstance(event, AlarmReceived):
        agencies.add(event.alarm.agency.value)
        _, units = _callout_parties(state, event.callout_id)
        callouts.add(event.callout_id)
    elif isinstance(event, CalloutsMerged):
        for cid in (event.target_id, event.source_id):
            a, u = _callout_parties(state, cid)
            agencies |= a
            units |= u
            callouts.add(cid)
    else:
        callout_id: object = getattr(event, "callout_id", None)
        if isinstance(callout_id, str):
            agencies, units = _callout_parties(state, callout_id)
            callouts.add(callout_id)
        unit_id: object = getattr(event, "unit_id", None)
        if isinstance(unit_id, str):
            units.add(unit_id)
    return Audience(frozenset(agencies), frozenset(units), frozenset(callouts))


@dataclass(frozen=True, slots=True)
class Viewer:
    """How one kind of principal sees events; equal viewers see exactly the same thing."""

    role: Role
    agency: str | None = None
    unit_id: str | None = None

    @classmethod
    def of(cls, principal: Principal) -> Viewer:
        return cls(principal.role, principal.agency.value if principal.agency else None,
                   principal.unit_id)

    @property
    def sees_text(self) -> bool:
        """Whether patient free text (notes) is shown to this viewer."""
        return self.role in (Role.DISPATCHER, Role.ADMIN, Role.CREW)

    def render(self, envelope: Envelope, audience: Audience) -> dict[str, Any] | None:
        """The event as this viewer may see it, or None if it may not see it at all."""
        event = envelope.event
        if self.role in (Role.DISPATCHER, Role.ADMIN):
            data = event_to_dict(event)
        elif self.role is Role.PLANNER:
            data = event_to_dict(event)
            _strip_text(data)
        elif self.role is Role.MANAGER:
            data = _keep(event_to_dict(event), MANAGER_KEYS)
        elif self.role is Role.CREW:
            if self.unit_id not in audience.units:
                return None
            data = event_to_dict(event)
            if isinstance(event, DayPlanned):  # a crew sees its own route of the day
                data["routes"] = [r for r in data["routes"] if r["unit_id"] == self.unit_id]
                data["postponed"], data["unplaced"] = [], []
        else:
            if self.agency not in audience.agencies:
                return None
            if isinstance(event, DayPlanned):  # one of its visits was (re)planned that day
                return {"type": "event", "seq": envelope.seq,
                        "event": {"type": "DayPlanned", "day": event.day}}
            visit_id = getattr(event, "visit_id", None)
            if isinstance(visit_id, str):  # one of the visits it booked changed
                return {"type": "event", "seq": envelope.seq,
                        "event": {"type": type(event).__name__, "visit_id": visit_id}}
            if not isinstance(event, _AGENCY_EVENTS):
                return None
            data = event_to_dict(event)
            _strip_text(data)
            data.pop("outcome", None)
            data.pop("actor", None)
        return {"type": "event", "seq": envelope.seq, "event": data}


def _strip_text(data: dict[str, Any]) -> None:
    """Blank the free text a person typed: notes and cancellation reasons (they may say
    anything about the patient); system-made reasons such as ``merged_reason`` stay."""
    if "text" in data:
        data["text"] = ""
    if "reason" in data:
        data["reason"] = ""
    alarm = data.get("alarm")
    if isinstance(alarm, dict) and "note" in alarm:
        alarm["note"] = ""
    if data.get("type") == NoteAdded.__name__:
        data["text"] = ""
