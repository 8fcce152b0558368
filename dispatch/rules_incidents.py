"""The rules for incidents: alarms joining callouts, merges, splits, cancellations and notes.

An alarm close in place and time to an open callout of a compatible category joins it (or the
callout its agency links it to); the dispatcher can merge and split by hand. Each function
handles one command for the table in :mod:`dispatch.commands`.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from dispatch.command_types import (
    AddNote,
    CancelCallout,
    MergeCallouts,
    ReceiveAlarm,
    ReopenCallout,
    SplitCallout,
)
from dispatch.decision import Context, Decision, DispatchConfig, checked_text, no_identity
from dispatch.errors import InvalidCommand, UnknownAlarm
from dispatch.events import (
    AlarmReceived,
    AssignmentCancelled,
    CalloutCancelled,
    CalloutReopened,
    CalloutsMerged,
    CalloutSplit,
    Event,
    NoteAdded,
)
from dispatch.model import (
    MAX_NOTE_CHARS,
    MAX_REASON_CHARS,
    Alarm,
    Category,
)
from dispatch.openindex import OpenCallouts
from dispatch.state import Callout, DispatchState
from dispatch.status import CalloutStatus, check_callout_transition
from maps.graph import haversine_m_float

__all__ = [
    "CANCEL_CODES",
    "add_note",
    "cancel_callout",
    "merge_callouts",
    "receive_alarm",
    "reopen_callout",
    "split_callout",
]

#: Why a callout is cancelled, from a short list the pages offer (words may be added).
CANCEL_CODES = ("not_needed", "duplicate", "other_agency", "patient_not_found", "wrong_alarm",
                "other")

def compatible(a: Category, b: Category) -> bool:
    """Whether two alarms' categories can describe the same incident.

    A planned follow-up request is never the same incident as an acute alarm; every acute
    category can be (agencies judge the same person differently).
    """
    return (a is Category.FOLLOW_UP) == (b is Category.FOLLOW_UP)


def _merge_target(
    state: DispatchState,
    alarm: Alarm,
    config: DispatchConfig,
) -> tuple[Callout | None, str]:
    """The open callout an alarm joins, and why; ``(None, "")`` for a new incident."""
    if alarm.link_to is not None:
        target = state.callout(alarm.link_to)
        if not target.status.is_open:
            raise InvalidCommand("link_to", f"callout {alarm.link_to} is {target.status.value}")
        return target, "linked by the agency"
    if config.merge_window_s <= 0:
        return None, ""  # automatic merging is off
    best: tuple[tuple[float, int, datetime, str], Callout] | None = None
    window = timedelta(seconds=config.merge_window_s)
    radius = config.merge_radius_m
    lat, lon = alarm.location.lat, alarm.location.lon
    # A box a little larger than the merge radius, in degrees; only the open callouts filed
    # near it are looked at (dispatch.openindex), so an alarm's cost stays flat as open
    # callouts pile up in a surge. They are not sorted: the nearest wins, on equal distance
    # the most urgent, then the oldest (the order of ``open_callouts()``).
    dlat = 1.01 * radius / 111_000.0
    dlon = dlat / max(math.cos(math.radians(min(abs(lat) + dlat, 89.0))), 1e-6)
    callouts = state.callouts
    ids = state.open_ids
    for callout_id in ids.near(lat, lon, dlat, dlon) if isinstance(ids, OpenCallouts) else ids:
        callout = callouts[callout_id]
        if not callout.status.is_open:
            continue
        where = callout.location
        if abs(where.lat - lat) > dlat or abs(where.lon - lon) > dlon:
            continue
        last = callout.last_alarm_at or callout.created_at
        if abs(alarm.received_at - last) > window:
            continue
        first = state.alarms[callout.alarm_ids[0]]
        if not compatible(first.category, alarm.category):
            continue
        d = haversine_m_float(lat, lon, where.lat, where.lon)
        if d > radius:
            continue
        key = (d, int(callout.priority), callout.created_at, callout_id)
        if best is None or key < best[0]:
            best = (key, callout)
    if best is None:
        return None, ""
    return best[1], f"within {best[0][0]:.0f} m and {config.merge_window_s / 60:.0f} min"


def _live_callout(state: DispatchState, callout_id: str) -> str:
    """Follow merges to the callout that now holds an alarm."""
    seen = set()
    while True:
        callout = state.callouts[callout_id]
        if callout.merged_into is None or callout_id in seen:
            return callout_id
        seen.add(callout_id)
        callout_id = callout.merged_into


#: What an agency says in an alarm: a retry repeats all of it (the time is the service's).
_ALARM_CONTENT = ("priority", "category", "patient", "note", "police_on_scene",
                  "ambulance_on_scene", "link_to", "callback")


def _changed(stored: Alarm, again: Alarm) -> list[str]:
    """The fields of ``again`` that differ from the alarm ``stored`` under its reference."""
    out = [f for f in _ALARM_CONTENT if getattr(stored, f) != getattr(again, f)]
    if (stored.location.lat, stored.location.lon) != (again.location.lat, again.location.lon):
        out.insert(0, "location")
    return out


def receive_alarm(ctx: Context, command: ReceiveAlarm) -> Decision:
    """An alarm joins an open callout about the same incident or opens a new one; a retry of
    an alarm already received changes nothing and names the callout that holds it."""
    alarm = command.alarm
    known = ctx.state.alarm_callout.get(alarm.alarm_id)
    if known is not None:
        stored = ctx.state.alarms.get(alarm.alarm_id)
        changed = _changed(stored, alarm) if stored is not None else []
        if changed:  # not a retry: a different alarm under a used reference, never dropped
            raise InvalidCommand(
                "reference", f"{alarm.reference!r} of {alarm.agency.value} was received "
                f"already with another {', '.join(changed)}: send a change as a note to the "
                "callout, or a new alarm with a new reference")
        return ctx.decision(callout_id=_live_callout(ctx.state, known), duplicate=True)
    for name, text in (("note", alarm.note), ("callback", alarm.callback)):
        if text:
            no_identity(name, text)
    target, reason = _merge_target(ctx.state, alarm, ctx.config)
    callout_id = target.callout_id if target else ctx.state.next_callout_id()
    return ctx.decision(
        AlarmReceived.make(ctx.stamp, alarm=alarm, callout_id=callout_id, merged_reason=reason),
        callout_id=callout_id,
    )


def merge_callouts(ctx: Context, command: MergeCallouts) -> Decision:
    """The dispatcher merges ``source_id`` into the open ``target_id``; a unit on the source
    is released."""
    if command.target_id == command.source_id:
        raise InvalidCommand("source_id", "a callout cannot be merged into itself")
    target = ctx.state.callout(command.target_id)
    source = ctx.state.callout(command.source_id)
    if not target.status.is_open:
        raise InvalidCommand("target_id", f"callout {target.callout_id} is {target.status.value}")
    check_callout_transition(source.callout_id, source.status, CalloutStatus.MERGED)
    events: list[Event] = []
    if source.unit_id is not None:
        events.append(AssignmentCancelled.make(
            ctx.stamp, callout_id=source.callout_id, unit_id=source.unit_id, reason="merged"
        ))
    events.append(
        CalloutsMerged.make(ctx.stamp, target_id=target.callout_id, source_id=source.callout_id)
    )
    return ctx.decision(*events, callout_id=target.callout_id)


def split_callout(ctx: Context, command: SplitCallout) -> Decision:
    """The dispatcher takes one alarm out of an open callout of several into a new callout."""
    callout = ctx.state.callout(command.callout_id)
    if command.alarm_id not in callout.alarm_ids:
        if command.alarm_id not in ctx.state.alarms:
            raise UnknownAlarm(command.alarm_id)
        raise InvalidCommand(
            "alarm_id", f"alarm {command.alarm_id} is not in callout {callout.callout_id}"
        )
    if len(callout.alarm_ids) < 2:
        raise InvalidCommand("alarm_id", "a callout with one alarm cannot be split")
    if not callout.status.is_open:
        raise InvalidCommand(
            "callout_id", f"callout {callout.callout_id} is {callout.status.value}"
        )
    new_id = ctx.state.next_callout_id()
    return ctx.decision(
        CalloutSplit.make(
            ctx.stamp,
            callout_id=callout.callout_id,
            alarm_id=command.alarm_id,
            new_callout_id=new_id,
        ),
        callout_id=new_id,
    )


def cancel_callout(ctx: Context, command: CancelCallout) -> Decision:
    """A callout no longer needs a unit (why: a code of :data:`CANCEL_CODES`, words, or both;
    ``other`` needs the words); a unit on it is released by the fold."""
    callout = ctx.state.callout(command.callout_id)
    check_callout_transition(callout.callout_id, callout.status, CalloutStatus.CANCELLED)
    reason = checked_text("reason", command.reason, MAX_REASON_CHARS)
    if command.code and command.code not in CANCEL_CODES:
        raise InvalidCommand("code", f"must be one of {', '.join(CANCEL_CODES)}")
    if command.code == "other" and not reason.strip():
        raise InvalidCommand("reason", "say why in words when the reason is 'other'")
    if reason:
        no_identity("reason", reason)
    if not command.code and not reason.strip():  # the timeline and the crew are told why
        raise InvalidCommand("code", f"say why: one of {', '.join(CANCEL_CODES)}, or words")
    return ctx.decision(
        CalloutCancelled.make(ctx.stamp, callout_id=callout.callout_id, reason=reason,
                         code=command.code),
        callout_id=callout.callout_id,
    )


def reopen_callout(ctx: Context, command: ReopenCallout) -> Decision:
    """A callout cancelled less than ``reopen_window_s`` ago waits for a unit again (its unit
    was released by the cancel and is assigned anew, if it is still free)."""
    callout = ctx.state.callout(command.callout_id)
    if callout.status is not CalloutStatus.CANCELLED or callout.merged_into is not None:
        raise InvalidCommand("callout_id", f"callout {callout.callout_id} is not cancelled "
                             f"(it is {callout.status.value}): only a cancelled one is reopened")
    window = timedelta(seconds=ctx.config.reopen_window_s)
    if callout.cancelled_at is None or ctx.now - callout.cancelled_at > window:
        minutes = round(ctx.config.reopen_window_s / 60)
        raise InvalidCommand("callout_id", f"callout {callout.callout_id} was cancelled more "
                             f"than {minutes} minutes ago: raise a new alarm instead")
    return ctx.decision(
        CalloutReopened.make(ctx.stamp, callout_id=callout.callout_id),
        callout_id=callout.callout_id,
    )


def add_note(ctx: Context, command: AddNote) -> Decision:
    """A non-empty note on a callout (kept with it, never written to the application log)."""
    callout = ctx.state.callout(command.callout_id)
    text = checked_text("text", command.text, MAX_NOTE_CHARS)
    if not text.strip():
        raise InvalidCommand("text", "a note must not be empty")
    no_identity("text", text)
    return ctx.decision(
        NoteAdded.make(ctx.stamp, callout_id=callout.callout_id, text=text),
        callout_id=callout.callout_id,
    )
