"""Commands and the pure decision function that turns a command into events.

``decide(state, command, now=…, actor=…)`` reads the state, checks the command against the rules
(transition tables, shifts, who may act on what) and returns the events to log; it changes
nothing. The shell appends those events durably and then applies them to the state, so a command
that raises leaves both the log and the state exactly as they were.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dispatch.errors import InvalidCommand, InvalidTransition, UnknownAlarm
from dispatch.events import (
    AlarmReceived,
    AssignmentAcknowledged,
    AssignmentCancelled,
    AssignmentTimedOut,
    CalloutCancelled,
    CalloutsMerged,
    CalloutSplit,
    Event,
    NoteAdded,
    OutcomeRecorded,
    ShiftEnded,
    ShiftStarted,
    UnitAssigned,
    UnitPositionReported,
    UnitRegistered,
    UnitStatusChanged,
)
from dispatch.model import Alarm, Category, Location, Outcome, parse_enum
from dispatch.state import Callout, DispatchState
from dispatch.status import (
    CalloutStatus,
    UnitStatus,
    check_callout_transition,
    check_unit_transition,
)
from maps.graph import haversine_m

__all__ = [
    "Acknowledge",
    "AddNote",
    "Assign",
    "CancelCallout",
    "Command",
    "Decision",
    "DispatchConfig",
    "EndShift",
    "MergeCallouts",
    "Reassign",
    "ReceiveAlarm",
    "RecordOutcome",
    "RegisterUnit",
    "ReportPosition",
    "ReportStatus",
    "SplitCallout",
    "StartShift",
    "Tick",
    "decide",
]

MAX_NOTE_CHARS = 2000


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    """Tuning of the core's rules."""

    ack_timeout_s: float = 60.0
    merge_radius_m: float = 300.0
    merge_window_s: float = 15 * 60.0

    def __post_init__(self) -> None:
        for name in ("ack_timeout_s", "merge_radius_m", "merge_window_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise InvalidCommand(name, "must be a positive number")


class Command:
    """Base of the commands; each subclass is a frozen dataclass."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class RegisterUnit(Command):
    unit_id: str
    name: str
    base: str
    position: Location


@dataclass(frozen=True, slots=True)
class StartShift(Command):
    unit_id: str
    crew: tuple[str, ...]
    ends_at: datetime
    competences: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EndShift(Command):
    unit_id: str


@dataclass(frozen=True, slots=True)
class ReceiveAlarm(Command):
    alarm: Alarm


@dataclass(frozen=True, slots=True)
class Assign(Command):
    callout_id: str
    unit_id: str
    eta_s: float | None = None


@dataclass(frozen=True, slots=True)
class Reassign(Command):
    callout_id: str
    unit_id: str
    eta_s: float | None = None


@dataclass(frozen=True, slots=True)
class Acknowledge(Command):
    unit_id: str
    callout_id: str


@dataclass(frozen=True, slots=True)
class ReportStatus(Command):
    unit_id: str
    status: UnitStatus
    facility: str = ""


@dataclass(frozen=True, slots=True)
class ReportPosition(Command):
    unit_id: str
    position: Location


@dataclass(frozen=True, slots=True)
class RecordOutcome(Command):
    unit_id: str
    callout_id: str
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class CancelCallout(Command):
    callout_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class MergeCallouts(Command):
    target_id: str
    source_id: str


@dataclass(frozen=True, slots=True)
class SplitCallout(Command):
    callout_id: str
    alarm_id: str


@dataclass(frozen=True, slots=True)
class AddNote(Command):
    callout_id: str
    text: str


@dataclass(frozen=True, slots=True)
class Tick(Command):
    """Time has passed: time out unacknowledged assignments and end finished shifts."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What a command decided: the events to log, and the callout it concerns (if any)."""

    events: list[Event] = field(default_factory=list)
    callout_id: str | None = None
    duplicate: bool = False


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
    best: tuple[float, Callout] | None = None
    window = timedelta(seconds=config.merge_window_s)
    lat, lon = alarm.location.lat, alarm.location.lon
    # A box a little larger than the merge radius, in degrees: most callouts fail this plain
    # float test, so an alarm's cost stays flat as open callouts pile up in a surge.
    dlat = 1.01 * config.merge_radius_m / 111_000.0
    dlon = dlat / max(math.cos(math.radians(min(abs(lat) + dlat, 89.0))), 1e-6)
    for callout in state.open_callouts():  # on equal distance the most urgent wins
        if abs(callout.location.lat - lat) > dlat or abs(callout.location.lon - lon) > dlon:
            continue
        last = callout.last_alarm_at or callout.created_at
        if abs(alarm.received_at - last) > window:
            continue
        first = state.alarms[callout.alarm_ids[0]]
        if not compatible(first.category, alarm.category):
            continue
        d = float(haversine_m(lat, lon, callout.location.lat, callout.location.lon))
        if d <= config.merge_radius_m and (best is None or d < best[0]):
            best = (d, callout)
    if best is None:
        return None, ""
    return best[1], f"within {best[0]:.0f} m and {config.merge_window_s / 60:.0f} min"


def _text(field_name: str, value: str, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidCommand(field_name, f"must be text of at most {limit} characters")
    return value


def decide(
    state: DispatchState,
    command: Command,
    *,
    now: datetime,
    actor: str = "system",
    config: DispatchConfig = DispatchConfig(),
) -> Decision:
    """The events ``command`` causes at time ``now``; raises a :class:`DispatchError` if the
    command breaks a rule, in which case nothing is to be logged."""
    if now.tzinfo is None:
        raise InvalidCommand("now", "must be timezone-aware")

    if isinstance(command, RegisterUnit):
        if not command.unit_id or command.unit_id in state.units:
            raise InvalidCommand("unit_id", f"{command.unit_id!r} is empty or already registered")
        return Decision(
            [
                UnitRegistered(
                    at=now,
                    actor=actor,
                    unit_id=command.unit_id,
                    name=command.name,
                    base=command.base,
                    position=command.position,
                )
            ]
        )

    if isinstance(command, StartShift):
        unit = state.unit(command.unit_id)
        check_unit_transition(unit.unit_id, unit.status, UnitStatus.AVAILABLE)
        if unit.status is not UnitStatus.OFF_DUTY:
            raise InvalidTransition(
                f"unit {unit.unit_id}", unit.status.value, "shift start", ("off_duty",)
            )
        if command.ends_at <= now:
            raise InvalidCommand("ends_at", "the shift must end after it starts")
        if not command.crew:
            raise InvalidCommand("crew", "a shift needs at least one crew member")
        return Decision(
            [
                ShiftStarted(
                    at=now,
                    actor=actor,
                    unit_id=unit.unit_id,
                    crew=tuple(command.crew),
                    ends_at=command.ends_at,
                    competences=tuple(command.competences),
                )
            ]
        )

    if isinstance(command, EndShift):
        unit = state.unit(command.unit_id)
        if unit.callout_id is not None:
            raise InvalidCommand("unit_id", f"unit {unit.unit_id} is on callout {unit.callout_id}")
        check_unit_transition(unit.unit_id, unit.status, UnitStatus.OFF_DUTY)
        return Decision([ShiftEnded(at=now, actor=actor, unit_id=unit.unit_id)])

    if isinstance(command, ReceiveAlarm):
        alarm = command.alarm
        known = state.alarm_callout.get(alarm.alarm_id)
        if known is not None:  # a retry of an alarm we have: idempotent
            return Decision([], callout_id=_live_callout(state, known), duplicate=True)
        target, reason = _merge_target(state, alarm, config)
        callout_id = target.callout_id if target else state.next_callout_id()
        return Decision(
            [
                AlarmReceived(
                    at=now, actor=actor, alarm=alarm, callout_id=callout_id, merged_reason=reason
                )
            ],
            callout_id=callout_id,
        )

    if isinstance(command, Assign | Reassign):
        callout = state.callout(command.callout_id)
        unit = state.unit(command.unit_id)
        events: list[Event] = []
        if isinstance(command, Reassign):
            if callout.unit_id is None:
                raise InvalidCommand(
                    "callout_id",
                    f"callout {callout.callout_id} has no unit to reassign; use assign",
                )
            if callout.unit_id == unit.unit_id:
                raise InvalidCommand("unit_id", f"unit {unit.unit_id} already has this callout")
            check_callout_transition(callout.callout_id, callout.status, CalloutStatus.WAITING)
            events.append(
                AssignmentCancelled(
                    at=now,
                    actor=actor,
                    callout_id=callout.callout_id,
                    unit_id=callout.unit_id,
                    reason="reassigned",
                )
            )
        else:
            check_callout_transition(callout.callout_id, callout.status, CalloutStatus.ASSIGNED)
        _check_can_take(unit_id=unit.unit_id, state=state, now=now)
        if command.eta_s is not None and not (math.isfinite(command.eta_s) and command.eta_s >= 0):
            raise InvalidCommand("eta_s", "must be a number of seconds >= 0")
        events.append(
            UnitAssigned(
                at=now,
                actor=actor,
                callout_id=callout.callout_id,
                unit_id=unit.unit_id,
                eta_s=command.eta_s,
                ack_deadline=now + timedelta(seconds=config.ack_timeout_s),
            )
        )
        return Decision(events, callout_id=callout.callout_id)

    if isinstance(command, Acknowledge):
        callout = state.callout(command.callout_id)
        if callout.unit_id != command.unit_id:
            raise InvalidCommand(
                "callout_id",
                f"callout {callout.callout_id} is not assigned to unit {command.unit_id}",
            )
        check_callout_transition(callout.callout_id, callout.status, CalloutStatus.ACKNOWLEDGED)
        return Decision(
            [
                AssignmentAcknowledged(
                    at=now, actor=actor, callout_id=callout.callout_id, unit_id=command.unit_id
                )
            ],
            callout_id=callout.callout_id,
        )

    if isinstance(command, ReportStatus):
        return _report_status(state, command, now=now, actor=actor)

    if isinstance(command, ReportPosition):
        state.unit(command.unit_id)
        return Decision(
            [
                UnitPositionReported(
                    at=now, actor=actor, unit_id=command.unit_id, position=command.position
                )
            ]
        )

    if isinstance(command, RecordOutcome):
        unit = state.unit(command.unit_id)
        callout = state.callout(command.callout_id)
        if unit.callout_id != callout.callout_id:
            raise InvalidCommand(
                "callout_id", f"unit {unit.unit_id} is not on callout {callout.callout_id}"
            )
        check_callout_transition(callout.callout_id, callout.status, CalloutStatus.CLOSED)
        return Decision(
            [
                OutcomeRecorded(
                    at=now,
                    actor=actor,
                    callout_id=callout.callout_id,
                    unit_id=unit.unit_id,
                    outcome=command.outcome,
                )
            ],
            callout_id=callout.callout_id,
        )

    if isinstance(command, CancelCallout):
        callout = state.callout(command.callout_id)
        check_callout_transition(callout.callout_id, callout.status, CalloutStatus.CANCELLED)
        return Decision(
            [
                CalloutCancelled(
                    at=now,
                    actor=actor,
                    callout_id=callout.callout_id,
                    reason=_text("reason", command.reason, 200),
                )
            ],
            callout_id=callout.callout_id,
        )

    if isinstance(command, MergeCallouts):
        if command.target_id == command.source_id:
            raise InvalidCommand("source_id", "a callout cannot be merged into itself")
        target = state.callout(command.target_id)
        source = state.callout(command.source_id)
        if not target.status.is_open:
            raise InvalidCommand(
                "target_id", f"callout {target.callout_id} is {target.status.value}"
            )
        check_callout_transition(source.callout_id, source.status, CalloutStatus.MERGED)
        events = []
        if source.unit_id is not None:
            events.append(
                AssignmentCancelled(
                    at=now,
                    actor=actor,
                    callout_id=source.callout_id,
                    unit_id=source.unit_id,
                    reason="merged",
                )
            )
        events.append(
            CalloutsMerged(
                at=now, actor=actor, target_id=target.callout_id, source_id=source.callout_id
            )
        )
        return Decision(events, callout_id=target.callout_id)

    if isinstance(command, SplitCallout):
        callout = state.callout(command.callout_id)
        if command.alarm_id not in callout.alarm_ids:
            if command.alarm_id not in state.alarms:
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
        new_id = state.next_callout_id()
        return Decision(
            [
                CalloutSplit(
                    at=now,
                    actor=actor,
                    callout_id=callout.callout_id,
                    alarm_id=command.alarm_id,
                    new_callout_id=new_id,
                )
            ],
            callout_id=new_id,
        )

    if isinstance(command, AddNote):
        callout = state.callout(command.callout_id)
        text = _text("text", command.text, MAX_NOTE_CHARS)
        if not text.strip():
            raise InvalidCommand("text", "a note must not be empty")
        return Decision(
            [NoteAdded(at=now, actor=actor, callout_id=callout.callout_id, text=text)],
            callout_id=callout.callout_id,
        )

    if isinstance(command, Tick):
        events = []
        for callout in state.open_callouts():
            if (
                callout.status is CalloutStatus.ASSIGNED
                and callout.ack_deadline is not None
                and callout.unit_id is not None
                and callout.ack_deadline <= now
            ):
                events.append(
                    AssignmentTimedOut(
                        at=now, actor=actor, callout_id=callout.callout_id, unit_id=callout.unit_id
                    )
                )
        for unit in state.units.values():
            if (
                unit.shift_ends_at is not None
                and unit.shift_ends_at <= now
                and unit.callout_id is None
                and unit.status.is_free
            ):
                events.append(ShiftEnded(at=now, actor=actor, unit_id=unit.unit_id))
        return Decision(events)

    raise InvalidCommand("command", f"unknown command {type(command).__name__}")


def _live_callout(state: DispatchState, callout_id: str) -> str:
    """Follow merges to the callout that now holds an alarm."""
    seen = set()
    while True:
        callout = state.callouts[callout_id]
        if callout.merged_into is None or callout_id in seen:
            return callout_id
        seen.add(callout_id)
        callout_id = callout.merged_into


def _check_can_take(*, unit_id: str, state: DispatchState, now: datetime) -> None:
    unit = state.unit(unit_id)
    if unit.callout_id is not None:
        raise InvalidCommand("unit_id", f"unit {unit_id} is already on callout {unit.callout_id}")
    check_unit_transition(unit_id, unit.status, UnitStatus.DISPATCHED)
    if unit.shift_ends_at is not None and unit.shift_ends_at <= now:
        raise InvalidCommand("unit_id", f"unit {unit_id}'s shift has ended")


def _report_status(
    state: DispatchState, command: ReportStatus, *, now: datetime, actor: str
) -> Decision:
    unit = state.unit(command.unit_id)
    wanted = parse_enum(UnitStatus, command.status, "status")
    if wanted is UnitStatus.DISPATCHED:
        raise InvalidCommand("status", "a unit is dispatched by assigning it, not by a report")
    if wanted is UnitStatus.OFF_DUTY:
        raise InvalidCommand("status", "end the shift to go off duty")
    check_unit_transition(unit.unit_id, unit.status, wanted)
    events: list[Event] = []
    callout = state.callouts[unit.callout_id] if unit.callout_id else None
    if callout is not None:
        if wanted in (UnitStatus.AVAILABLE, UnitStatus.RETURNING, UnitStatus.UNAVAILABLE):
            raise InvalidCommand(
                "status",
                f"unit {unit.unit_id} is on callout {callout.callout_id}: record its outcome first",
            )
        follow = {
            UnitStatus.EN_ROUTE: CalloutStatus.EN_ROUTE,
            UnitStatus.ON_SCENE: CalloutStatus.ON_SCENE,
            UnitStatus.TRANSPORTING: CalloutStatus.TRANSPORTING,
        }
        if wanted is UnitStatus.EN_ROUTE and callout.status is CalloutStatus.ASSIGNED:
            # Driving off is an acknowledgement in itself.
            events.append(
                AssignmentAcknowledged(
                    at=now, actor=actor, callout_id=callout.callout_id, unit_id=unit.unit_id
                )
            )
        elif wanted in follow:
            check_callout_transition(callout.callout_id, callout.status, follow[wanted])
    elif wanted in (UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE, UnitStatus.TRANSPORTING):
        raise InvalidCommand("status", f"unit {unit.unit_id} has no callout")
    if wanted is UnitStatus.AT_FACILITY and not command.facility.strip():
        raise InvalidCommand("facility", "name the facility the unit is at")
    events.append(
        UnitStatusChanged(
            at=now, actor=actor, unit_id=unit.unit_id, status=wanted, facility=command.facility
        )
    )
    return Decision(events, callout_id=callout.callout_id if callout else None)
