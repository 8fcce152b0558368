"""The rules for units: registering, updating and retiring them, their shifts, positions and
status reports.

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
    RetireUnit,
    StartShift,
    UpdateUnit,
)
from dispatch.decision import Context, Decision, checked_text
from dispatch.errors import InvalidCommand, InvalidTransition
from dispatch.events import (
    AssignmentAcknowledged,
    Event,
    ShiftEnded,
    ShiftStarted,
    UnitPositionReported,
    UnitRegistered,
    UnitRetired,
    UnitStatusChanged,
    UnitUpdated,
)
from dispatch.model import CrewRole, check_time, crew_members, parse_enum
from dispatch.presstime import bounded_press
from dispatch.state import Unit
from dispatch.status import (
    CalloutStatus,
    UnitStatus,
    check_callout_transition,
    check_unit_transition,
)

__all__ = [
    "MAX_COMPETENCES",
    "MAX_COMPETENCE_CHARS",
    "MAX_SEATS",
    "MAX_UNIT_NAME_CHARS",
    "ROLE_COMPETENCES",
    "end_shift",
    "register_unit",
    "report_position",
    "report_status",
    "retire_unit",
    "start_shift",
    "update_unit",
]

MAX_UNIT_NAME_CHARS = 80
MAX_COMPETENCE_CHARS = 40
MAX_COMPETENCES = 20
MAX_SEATS = 20

#: The callout status a unit's status report moves its callout to.
CALLOUT_FOLLOWS: Mapping[UnitStatus, CalloutStatus] = MappingProxyType({
    UnitStatus.EN_ROUTE: CalloutStatus.EN_ROUTE,
    UnitStatus.ON_SCENE: CalloutStatus.ON_SCENE,
    UnitStatus.TRANSPORTING: CalloutStatus.TRANSPORTING,
})
_OFF_CALLOUT = (UnitStatus.AVAILABLE, UnitStatus.RETURNING, UnitStatus.UNAVAILABLE)
#: The competence a crew member's role brings to the unit's shift.
ROLE_COMPETENCES: Mapping[CrewRole, str] = MappingProxyType({CrewRole.DOCTOR: "doctor"})


def _registration(name: str, competences: tuple[str, ...], seats: int | None) -> None:
    """Check the fields a registration and an update share."""
    if not checked_text("name", name, MAX_UNIT_NAME_CHARS).strip():
        raise InvalidCommand("name", "must not be empty")
    if not isinstance(competences, tuple | list) or len(competences) > MAX_COMPETENCES:
        raise InvalidCommand("competences", f"a list of at most {MAX_COMPETENCES} names")
    for c in competences:
        if not checked_text("competences", c, MAX_COMPETENCE_CHARS).strip():
            raise InvalidCommand("competences", "a competence must not be empty")
    if len(set(competences)) != len(competences):
        raise InvalidCommand("competences", "each competence is named once")
    if seats is not None and (isinstance(seats, bool) or not isinstance(seats, int)
                              or not 1 <= seats <= MAX_SEATS):
        raise InvalidCommand("seats", f"must be a whole number from 1 to {MAX_SEATS}")


def _active(ctx: Context, unit_id: str) -> Unit:
    """The unit, unless it is retired (then nothing may be done with it but registering it
    again)."""
    unit = ctx.state.unit(unit_id)
    if unit.retired:
        raise InvalidCommand("unit_id", f"unit {unit_id} is retired")
    return unit


def register_unit(ctx: Context, command: RegisterUnit) -> Decision:
    """A new unit, off duty at its base. Ids are never reused for another unit, but a retired
    unit registered again comes back (off duty, at its base) with its old history."""
    existing = ctx.state.units.get(command.unit_id)
    if not command.unit_id or (existing is not None and not existing.retired):
        raise InvalidCommand("unit_id", f"{command.unit_id!r} is empty or already registered")
    _registration(command.name, command.competences, command.seats)
    return ctx.decision(UnitRegistered.make(
        ctx.stamp,
        unit_id=command.unit_id,
        name=command.name,
        base=command.base,
        position=command.position,
        competences=tuple(command.competences),
        seats=command.seats,
    ))


def update_unit(ctx: Context, command: UpdateUnit) -> Decision:
    """A registered unit's new name, base, competences or seats. An off-duty unit whose base
    moved is moved there too; a unit on shift keeps the position its crew reports."""
    unit = _active(ctx, command.unit_id)
    _registration(command.name, command.competences, command.seats)
    if not command.base.strip():
        raise InvalidCommand("base", "must not be empty")
    new = (command.name, command.base, command.base_position, tuple(command.competences),
           command.seats)
    old = (unit.name, unit.base, unit.base_position, unit.registered_competences, unit.seats)
    if new == old:
        raise InvalidCommand("unit_id", f"unit {unit.unit_id} already has these values")
    move = (unit.status is UnitStatus.OFF_DUTY and unit.base_position != command.base_position)
    return ctx.decision(UnitUpdated.make(
        ctx.stamp,
        unit_id=unit.unit_id,
        name=command.name,
        base=command.base,
        base_position=command.base_position,
        competences=tuple(command.competences),
        seats=command.seats,
        position=command.base_position if move else None,
    ))


def retire_unit(ctx: Context, command: RetireUnit) -> Decision:
    """A unit leaves the fleet (its shift, if any, ends with it); not while on a callout."""
    unit = _active(ctx, command.unit_id)
    if unit.callout_id is not None:
        raise InvalidCommand(
            "unit_id",
            f"unit {unit.unit_id} is on callout {unit.callout_id}: record its outcome or "
            "reassign the callout before retiring it",
        )
    reason = checked_text("reason", command.reason, 200)
    return ctx.decision(UnitRetired.make(ctx.stamp, unit_id=unit.unit_id, reason=reason))


def start_shift(ctx: Context, command: StartShift) -> Decision:
    """An off-duty unit goes on shift with a crew, until a time after now; the shift has the
    competences given and those its crew's roles bring (a doctor on board: ``doctor``)."""
    unit = _active(ctx, command.unit_id)
    check_unit_transition(unit.unit_id, unit.status, UnitStatus.AVAILABLE)
    if unit.status is not UnitStatus.OFF_DUTY:
        raise InvalidTransition(
            f"unit {unit.unit_id}", unit.status.value, "shift start", ("off_duty",)
        )
    check_time("ends_at", command.ends_at)
    if command.ends_at <= ctx.now:
        raise InvalidCommand("ends_at", "the shift must end after it starts")
    crew = crew_members(command.crew)
    competences = list(dict.fromkeys(command.competences))  # each once, in the order given
    for member in crew:  # a doctor on board is the doctor competence (for this shift)
        gives = ROLE_COMPETENCES.get(member.role)
        if gives is not None and gives not in competences:
            competences.append(gives)
    return ctx.decision(ShiftStarted.make(
        ctx.stamp,
        unit_id=unit.unit_id,
        crew=crew,
        ends_at=command.ends_at,
        competences=tuple(competences),
    ))


def end_shift(ctx: Context, command: EndShift) -> Decision:
    """A unit with no callout goes off duty."""
    unit = ctx.state.unit(command.unit_id)
    if unit.callout_id is not None:
        raise InvalidCommand("unit_id", f"unit {unit.unit_id} is on callout {unit.callout_id}",
                             reason="unit_on_callout")
    check_unit_transition(unit.unit_id, unit.status, UnitStatus.OFF_DUTY)
    return ctx.decision(ShiftEnded.make(ctx.stamp, unit_id=unit.unit_id))


def report_position(ctx: Context, command: ReportPosition) -> Decision:
    """Where a known unit is now."""
    _active(ctx, command.unit_id)
    return ctx.decision(
        UnitPositionReported.make(ctx.stamp, unit_id=command.unit_id, position=command.position)
    )


def report_status(ctx: Context, command: ReportStatus) -> Decision:
    """A crew's status report; on a callout it moves the callout along (driving off also
    acknowledges an assignment), and a unit leaves its callout only by recording the outcome."""
    unit = _active(ctx, command.unit_id)
    wanted = parse_enum(UnitStatus, command.status, "status")
    if wanted is UnitStatus.DISPATCHED:
        raise InvalidCommand("status", "a unit is dispatched by assigning it, not by a report")
    if wanted is UnitStatus.OFF_DUTY:
        raise InvalidCommand("status", "end the shift to go off duty")
    if unit.status is UnitStatus.OFF_DUTY:
        raise InvalidCommand("status", f"unit {unit.unit_id} is off duty: sign on (start the "
                             "shift with its crew) first", reason="off_duty")
    check_unit_transition(unit.unit_id, unit.status, wanted)
    events: list[Event] = []
    callout = ctx.state.callouts[unit.callout_id] if unit.callout_id else None
    if callout is not None:
        if wanted in _OFF_CALLOUT:
            raise InvalidCommand(
                "status",
                f"unit {unit.unit_id} is on callout {callout.callout_id}: record its outcome first",
                reason="outcome_first",
            )
        if wanted is UnitStatus.EN_ROUTE and callout.status is CalloutStatus.ASSIGNED:
            # Driving off is an acknowledgement in itself.
            events.append(AssignmentAcknowledged.make(
                ctx.stamp, callout_id=callout.callout_id, unit_id=unit.unit_id
            ))
        elif wanted in CALLOUT_FOLLOWS:
            check_callout_transition(callout.callout_id, callout.status, CALLOUT_FOLLOWS[wanted])
    elif wanted in CALLOUT_FOLLOWS:
        raise InvalidCommand("status", f"unit {unit.unit_id} has no callout", reason="no_callout")
    if wanted is UnitStatus.AT_FACILITY and not command.facility.strip():
        raise InvalidCommand("facility", "name the facility the unit is at")
    pressed = bounded_press(command.pressed_at, now=ctx.now, floor=unit.status_since,
                            skew_s=ctx.config.clock_skew_s)
    events.append(UnitStatusChanged.make(
        ctx.stamp, unit_id=unit.unit_id, status=wanted, facility=command.facility,
        pressed_at=pressed,
    ))
    return ctx.decision(*events, callout_id=callout.callout_id if callout else None)
