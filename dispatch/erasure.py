"""Erasing patient details older than the retention period, from events and from a state.

What goes: free text (an alarm's note, notes on callouts, cancellation reasons, a visit's
cancel or not-met reason), a follow-up visit's pseudonymous patient reference, and address
detail (a location's label and typed address; its coordinates rounded to
:data:`COARSE_DEGREES`, about a kilometre, which still places a callout in its municipality for
statistics; unit positions reported then, which show where patients live, the same way). What
stays: every id, time, status, priority, category and outcome, and the patient's age band, sex
and children in the household, which the monthly statistics need.

An alarm is judged by when it was received, a note or a position report by when it was made.
:func:`erase_state` applies the same rules to a state, so erasing a log and replaying it gives
the same state as erasing the replayed state (a property test checks this): snapshots are
erased without replaying the log.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from dispatch.events import (
    AlarmReceived,
    AssignmentCancelled,
    AssistRequested,
    CalloutCancelled,
    Event,
    MessageSent,
    NoteAdded,
    UnitPositionReported,
    UnitUpdated,
    VisitBooked,
    VisitCancelled,
    VisitNotMet,
)
from dispatch.model import Alarm, Location
from dispatch.openindex import OpenCallouts
from dispatch.state import DispatchState, Note

__all__ = ["COARSE_DEGREES", "ERASABLE_EVENTS", "coarsen", "erase_event", "erase_state"]

#: Coordinates older than the retention period keep this precision (0.01° ≈ 1.1 km north-south).
COARSE_DEGREES = 0.01
_DIGITS = 2

#: The event types that can carry patient details.
ERASABLE_EVENTS = frozenset({"AlarmReceived", "NoteAdded", "MessageSent", "AssistRequested",
                             "CalloutCancelled", "AssignmentCancelled", "UnitPositionReported",
                             "UnitUpdated", "VisitBooked", "VisitCancelled", "VisitNotMet"})


def coarsen(location: Location) -> Location:
    """``location`` without its address: rounded coordinates, no label or typed text."""
    coarse = Location(round(location.lat, _DIGITS), round(location.lon, _DIGITS))
    return location if coarse == location else coarse


def _erase_alarm(alarm: Alarm) -> Alarm:
    location = coarsen(alarm.location)
    if alarm.note == "" and location is alarm.location:
        return alarm
    return replace(alarm, note="", location=location)


def erase_event(event: Event, before: datetime) -> Event:
    """``event`` with its patient details erased if they date from before ``before``; the same
    object when there is nothing to erase."""
    if isinstance(event, AlarmReceived):
        if event.alarm.received_at >= before:
            return event
        alarm = _erase_alarm(event.alarm)
        return event if alarm is event.alarm else replace(event, alarm=alarm)
    if event.at >= before:
        return event
    if isinstance(event, NoteAdded | MessageSent) and event.text:
        return replace(event, text="")
    if isinstance(event, AssistRequested) and event.position is not None:
        position = coarsen(event.position)
        return event if position is event.position else replace(event, position=position)
    if isinstance(event, CalloutCancelled | AssignmentCancelled) and event.reason:
        return replace(event, reason="")
    if isinstance(event, UnitPositionReported):
        position = coarsen(event.position)
        return event if position is event.position else replace(event, position=position)
    if isinstance(event, VisitBooked):  # a follow-up visit: the home's address, the pseudonym
        place = coarsen(event.location)
        if place is event.location and not event.patient_ref:
            return event
        return replace(event, location=place, patient_ref="")
    if isinstance(event, VisitCancelled | VisitNotMet) and event.reason:
        return replace(event, reason="")
    if isinstance(event, UnitUpdated) and event.position is not None:
        # where the unit was put (its base's place): coarsened like any unit position, so a
        # replay of the erased log equals the erased state
        moved = coarsen(event.position)
        return event if moved is event.position else replace(event, position=moved)
    return event


def erase_state(state: DispatchState, before: datetime) -> int:
    """Erase, in place, the patient details in ``state`` that date from before ``before``, as
    if its log had been erased with :func:`erase_event` and replayed; returns how many values
    changed."""
    changed = 0
    for alarm_id, alarm in list(state.alarms.items()):
        if alarm.received_at < before:
            erased = _erase_alarm(alarm)
            if erased is not alarm:
                state.alarms[alarm_id] = erased
                changed += 1
    for callout_id, callout in list(state.callouts.items()):
        location = coarsen(callout.location) if callout.created_at < before \
            else callout.location
        notes = tuple(Note(n.at, n.actor, "") if n.at < before and n.text else n
                      for n in callout.notes)
        if location is not callout.location or notes != callout.notes:
            state.callouts[callout_id] = replace(callout, location=location, notes=notes)
            changed += 1
    for i, follow in enumerate(state.follow_ups):
        origin = state.callouts.get(follow.callout_id)
        if origin is not None and origin.created_at < before:
            location = coarsen(follow.location)
            if location is not follow.location:
                state.follow_ups[i] = replace(follow, location=location)
                changed += 1
    for visit_id, visit in list(state.visits.items()):
        place = coarsen(visit.location) if visit.booked_at < before else visit.location
        ref = "" if visit.booked_at < before else visit.patient_ref
        reason = "" if visit.changed_at is not None and visit.changed_at < before \
            else visit.reason
        if (place, ref, reason) != (visit.location, visit.patient_ref, visit.reason):
            state.visits[visit_id] = replace(visit, location=place, patient_ref=ref,
                                             reason=reason)
            changed += 1
    for unit_id, unit in list(state.units.items()):
        if unit.position_at is not None and unit.position_at < before:
            position = coarsen(unit.position)
            if position is not unit.position:
                state.units[unit_id] = replace(unit, position=position)
                changed += 1
    if changed:  # coarsened places move callouts between the cells the merge check reads
        state.open_ids = OpenCallouts.of(state.open_ids, state.callouts)
    return changed
