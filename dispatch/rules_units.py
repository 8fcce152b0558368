"""The rules for units: registering them, their shifts, positions and status reports.

Each function handles one command (the table in :mod:`dispatch.commands` picks it): it reads the
state through its :class:`~dispatch.decision.Context`, raises a :class:`DispatchError` if the
command breaks a rule and otherwise returns the events to log.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from dispatch.command_types import (
    EndShift,
    RegisterUnit,
    ReportPosition,
    ReportStatus,
    StartShift,
)
from dispatch.decision import Context, Decision
from dispatch.errors import InvalidCommand, InvalidTransition
from dispatch.events import (
    AssignmentAcknowledged,
    Event,
    ShiftEnded,
    ShiftStarted,
    UnitPositionReported,
    UnitRegistered,
    UnitStatusChanged,
)
from dispatch.model import CrewRole, crew_members, parse_enum
from dispatch.status import (
    CalloutStatus,
    UnitStatus,
    check_callout_transition,
    check_unit_transition,
)

__all__ = ["ROLE_COMPETENCES", "end_shift", "register_unit", "report_position", "report_status",
           "start_shift"]

#: The callout status a unit's status report moves its callout to.
CALLOUT_FOLLOWS: Mapping[UnitStatus, CalloutStatus] = MappingProxyType({
    UnitStatus.EN_ROUTE: CalloutStatus.EN_ROUTE,
    UnitStatus.ON_SCENE: CalloutStatus.ON_SCENE,
    UnitStatus.TRANSPORTING: CalloutStatus.TRANSPORTING,
})
_OFF_CALLOUT = (UnitStatus.AVAILABLE, UnitStatus.RETURNING, UnitStatus.UNAVAILABLE)
#: The competence a crew member's role brings to the unit's shift.
ROLE_COMPETENCES: Mapping[CrewRole, str] = MappingProxyType({CrewRole.DOCTOR: "doctor"})


def register_unit(ctx: Context, command: RegisterUnit) -> Decision:
    """A new unit, off duty at its base; ids are never reused."""
    if not command.unit_id or command.unit_id in ctx.state.units:
        raise InvalidCommand("unit_id", f"{command.unit_id!r} is empty or already registered")
    return ctx.decision(UnitRegistered(
        **ctx.stamp,
        unit_id=command.unit_id,
        name=command.name,
        base=command.base,
        position=command.position,
    ))


def start_shift(ctx: Context, command: StartShift) -> Decision:
    """An off-duty unit goes on shift with a crew, until a time after now; the shift has the
    competences given and those its crew's roles bring (a doctor on board: ``doctor``)."""
    unit = ctx.state.unit(command.unit_id)
    check_unit_transition(unit.unit_id, unit.status, UnitStatus.AVAILABLE)
    if unit.status is not UnitStatus.OFF_DUTY:
        raise InvalidTransition(
            f"unit {unit.unit_id}", unit.status.value, "shift start", ("off_duty",)
        )
    if command.ends_at <= ctx.now:
        raise InvalidCommand("ends_at", "the shift must end after it starts")
    crew = crew_members(command.crew)
    competences = list(command.competences)
    for member in crew:  # a doctor on board is the doctor competence (for this shift)
        gives = ROLE_COMPETENCES.get(member.role)
        if gives is not None and gives not in competences:
            competences.append(gives)
    return ctx.decision(ShiftStarted(
        **ctx.stamp,
        unit_id=unit.unit_id,
        crew=crew,
        ends_at=command.ends_at,
        competences=tuple(competences),
    ))


def end_shift(ctx: Context, command: EndShift) -> Decision:
    """A unit with no callout goes off duty."""
    unit = ctx.state.unit(command.unit_id)
    if unit.callout_id is not None:
        raise InvalidCommand("unit_id", f"unit {unit.unit_id} is on callout {unit.callout_id}")
    check_unit_transition(unit.unit_id, unit.status, UnitStatus.OFF_DUTY)
    return ctx.decision(ShiftEnded(**ctx.stamp, unit_id=unit.unit_id))


def report_position(ctx: Context, command: ReportPosition) -> Decision:
    """Where a known unit is now."""
    ctx.state.unit(command.unit_id)
    return ctx.decision(
        UnitPositionReported(**ctx.stamp, unit_id=command.unit_id, position=command.position)
    )


def report_status(ctx: Context, command: ReportStatus) -> Decision:
    """A crew's status report; on a callout it moves the callout along (driving off also
    acknowledges an assignment), and a unit leaves its callout only by recording the outcome."""
    unit = ctx.state.unit(command.unit_id)
    wanted = parse_enum(UnitStatus, command.status, "status")
    if wanted is UnitStatus.DISPATCHED:
        raise InvalidCommand("status", "a unit is dispatched by assigning it, not by a report")
    if wanted is UnitStatus.OFF_DUTY:
        raise InvalidCommand("status", "end the shift to go off duty")
    if unit.status is UnitStatus.OFF_DUTY:
        raise InvalidCommand("status", f"unit {unit.unit_id} is off duty: sign on (start the "
                             "shift with its crew) first")
    check_unit_transition(unit.unit_id, unit.status, wanted)
    events: list[Event] = []
    callout = ctx.state.callouts[unit.callout_id] if unit.callout_id else None
    if callout is not None:
        if wanted in _OFF_CALLOUT:
            raise InvalidCommand(
                "status",
                f"unit {unit.unit_id} is on callout {callout.callout_id}: record its outcome first",
            )
        if wanted is UnitStatus.EN_ROUTE and callout.status is CalloutStatus.ASSIGNED:
            # Driving off is an acknowledgement in itself.
            events.append(AssignmentAcknowledged(
                **ctx.stamp, callout_id=callout.callout_id, unit_id=unit.unit_id
            ))
        elif wanted in CALLOUT_FOLLOWS:
            check_callout_transition(callout.callout_id, callout.status, CALLOUT_FOLLOWS[wanted])
    elif wanted in CALLOUT_FOLLOWS:
        raise InvalidCommand("status", f"unit {unit.unit_id} has no callout")
    if wanted is UnitStatus.AT_FACILITY and not command.facility.strip():
        raise InvalidCommand("facility", "name the facility the unit is at")
    events.append(UnitStatusChanged(
        **ctx.stamp, unit_id=unit.unit_id, status=wanted, facility=command.facility
    ))
    return ctx.decision(*events, callout_id=callout.callout_id if callout else None)
