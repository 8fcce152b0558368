"""The rules for assignments: giving a callout to a unit, acknowledging, timing out, closing.

A unit takes one callout at a time, only while free and on shift; an assignment not
acknowledged within the configured time goes back to the queue on the next tick. Each function
handles one command for the table in :mod:`dispatch.commands`.
"""

from __future__ import annotations

import math
from datetime import timedelta

from dispatch.command_types import Acknowledge, Assign, Reassign, RecordOutcome, Tick
from dispatch.decision import Context, Decision
from dispatch.errors import InvalidCommand
from dispatch.events import (
    AssignmentAcknowledged,
    AssignmentCancelled,
    AssignmentTimedOut,
    Event,
    OutcomeRecorded,
    ShiftEnded,
    UnitAssigned,
)
from dispatch.rota import shifts_to_end
from dispatch.rules_visits import follow_up_visit
from dispatch.state import Callout, Unit
from dispatch.status import (
    CalloutStatus,
    UnitStatus,
    check_callout_transition,
    check_unit_transition,
)

__all__ = ["acknowledge", "assign", "reassign", "record_outcome", "tick"]


def _assignment(ctx: Context, callout: Callout, unit: Unit, eta_s: float | None) -> UnitAssigned:
    """The event giving ``callout`` to ``unit``, once the unit is checked free and on shift."""
    if unit.retired:
        raise InvalidCommand("unit_id", f"unit {unit.unit_id} is retired")
    if unit.callout_id is not None:
        raise InvalidCommand(
            "unit_id", f"unit {unit.unit_id} is already on callout {unit.callout_id}",
            reason="unit_on_callout",
        )
    check_unit_transition(unit.unit_id, unit.status, UnitStatus.DISPATCHED)
    if unit.shift_ends_at is not None and unit.shift_ends_at <= ctx.now:
        raise InvalidCommand("unit_id", f"unit {unit.unit_id}'s shift has ended",
                             reason="shift_ended")
    if eta_s is not None and not (math.isfinite(eta_s) and eta_s >= 0):
        raise InvalidCommand("eta_s", "must be a number of seconds >= 0")
    return UnitAssigned.make(
        ctx.stamp,
        callout_id=callout.callout_id,
        unit_id=unit.unit_id,
        eta_s=eta_s,
        ack_deadline=ctx.now + timedelta(seconds=ctx.config.ack_timeout_s),
    )


def assign(ctx: Context, command: Assign) -> Decision:
    """A waiting callout goes to a free unit on shift, to be acknowledged in time."""
    callout = ctx.state.callout(command.callout_id)
    unit = ctx.state.unit(command.unit_id)
    check_callout_transition(callout.callout_id, callout.status, CalloutStatus.ASSIGNED)
    return ctx.decision(
        _assignment(ctx, callout, unit, command.eta_s), callout_id=callout.callout_id
    )


def reassign(ctx: Context, command: Reassign) -> Decision:
    """A callout's unit is released and another unit takes the callout, in one decision."""
    callout = ctx.state.callout(command.callout_id)
    unit = ctx.state.unit(command.unit_id)
    if callout.unit_id is None:
        raise InvalidCommand(
            "callout_id", f"callout {callout.callout_id} has no unit to reassign; use assign"
        )
    if callout.unit_id == unit.unit_id:
        raise InvalidCommand("unit_id", f"unit {unit.unit_id} already has this callout")
    check_callout_transition(callout.callout_id, callout.status, CalloutStatus.WAITING)
    released = AssignmentCancelled.make(
        ctx.stamp, callout_id=callout.callout_id, unit_id=callout.unit_id, reason="reassigned"
    )
    return ctx.decision(
        released, _assignment(ctx, callout, unit, command.eta_s), callout_id=callout.callout_id
    )


def acknowledge(ctx: Context, command: Acknowledge) -> Decision:
    """The crew of the assigned unit confirms it has the job."""
    callout = ctx.state.callout(command.callout_id)
    if callout.unit_id != command.unit_id:
        raise InvalidCommand(
            "callout_id", f"callout {callout.callout_id} is not assigned to unit {command.unit_id}"
        )
    check_callout_transition(callout.callout_id, callout.status, CalloutStatus.ACKNOWLEDGED)
    return ctx.decision(
        AssignmentAcknowledged.make(ctx.stamp, callout_id=callout.callout_id,
                                    unit_id=command.unit_id),
        callout_id=callout.callout_id,
    )


def record_outcome(ctx: Context, command: RecordOutcome) -> Decision:
    """The unit on a callout closes it with how it ended (the unit stays busy until it reports
    a free status)."""
    unit = ctx.state.unit(command.unit_id)
    callout = ctx.state.callout(command.callout_id)
    if unit.callout_id != callout.callout_id:
        raise InvalidCommand(
            "callout_id", f"unit {unit.unit_id} is not on callout {callout.callout_id}"
        )
    check_callout_transition(callout.callout_id, callout.status, CalloutStatus.CLOSED)
    kind = command.outcome.kind
    if kind.after_transporting and callout.status is not CalloutStatus.TRANSPORTING:
        raise InvalidCommand(
            "outcome.kind", f"{kind.value}: report transporting (and at facility) first, "
            "so the drive to the facility is in the callout's record")
    recorded = OutcomeRecorded.make(
        ctx.stamp,
        callout_id=callout.callout_id,
        unit_id=unit.unit_id,
        outcome=command.outcome,
    )
    visit = follow_up_visit(ctx, callout.callout_id, command.outcome)  # a follow-up asked for
    return ctx.decision(recorded, *([visit] if visit else []), callout_id=callout.callout_id)


def tick(ctx: Context, command: Tick) -> Decision:
    """Time has passed: assignments past their acknowledge deadline time out, and units whose
    shift is over go off duty (:func:`dispatch.rota.shifts_to_end` says which)."""
    events: list[Event] = []
    now = ctx.now

    def overdue(c: Callout) -> bool:
        return (c.status is CalloutStatus.ASSIGNED and c.ack_deadline is not None
                and c.unit_id is not None and c.ack_deadline <= now)

    for callout in ctx.state.open_callouts(overdue):
        assert callout.unit_id is not None  # as overdue checked
        events.append(AssignmentTimedOut.make(
            ctx.stamp, callout_id=callout.callout_id, unit_id=callout.unit_id
        ))
    for unit_id in shifts_to_end(ctx.state, ctx.now):
        events.append(ShiftEnded.make(ctx.stamp, unit_id=unit_id))
    return ctx.decision(*events)
