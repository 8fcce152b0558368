"""Commands and the pure decision function that turns a command into events.

``decide(state, command, now=…, actor=…)`` reads the state, checks the command against the rules
(transition tables, shifts, who may act on what) and returns the events to log; it changes
nothing. The shell appends those events durably and then applies them to the state, so a command
that raises leaves both the log and the state exactly as they were.

Each command type has one handler, found through :data:`HANDLERS`; the handlers live by concern
in :mod:`dispatch.rules_units`, :mod:`dispatch.rules_incidents` and
:mod:`dispatch.rules_assignment`. A new command needs a record here, a handler there and a row
in the table (a test checks every command has one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeVar

from dispatch.decision import Context, Decision, DispatchConfig
from dispatch.errors import InvalidCommand, UnknownCommand
from dispatch.model import Alarm, Location, Outcome
from dispatch.rules_assignment import acknowledge, assign, reassign, record_outcome, tick
from dispatch.rules_incidents import (
    add_note,
    cancel_callout,
    merge_callouts,
    receive_alarm,
    split_callout,
)
from dispatch.rules_units import (
    end_shift,
    register_unit,
    report_position,
    report_status,
    start_shift,
)
from dispatch.state import DispatchState
from dispatch.status import UnitStatus

__all__ = [
    "DEFAULT_CONFIG",
    "HANDLERS",
    "Acknowledge",
    "AddNote",
    "Assign",
    "CancelCallout",
    "Command",
    "Decision",
    "DispatchConfig",
    "EndShift",
    "Handler",
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
    "handler_for",
]


class Command:
    """Base of the commands; each subclass is a frozen dataclass."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class RegisterUnit(Command):
    """Add a unit (off duty) with its base and position."""

    unit_id: str
    name: str
    base: str
    position: Location


@dataclass(frozen=True, slots=True)
class StartShift(Command):
    """Put an off-duty unit on shift with its crew until ``ends_at``."""

    unit_id: str
    crew: tuple[str, ...]
    ends_at: datetime
    competences: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EndShift(Command):
    """Take a unit with no callout off duty."""

    unit_id: str


@dataclass(frozen=True, slots=True)
class ReceiveAlarm(Command):
    """An agency's alarm: it opens a callout or joins one about the same incident."""

    alarm: Alarm


@dataclass(frozen=True, slots=True)
class Assign(Command):
    """Give a waiting callout to a free unit."""

    callout_id: str
    unit_id: str
    eta_s: float | None = None


@dataclass(frozen=True, slots=True)
class Reassign(Command):
    """Move a callout from its unit to another one."""

    callout_id: str
    unit_id: str
    eta_s: float | None = None


@dataclass(frozen=True, slots=True)
class Acknowledge(Command):
    """The assigned unit's crew confirms it has the job."""

    unit_id: str
    callout_id: str


@dataclass(frozen=True, slots=True)
class ReportStatus(Command):
    """A crew reports its unit's status (``facility`` names where it is when at one)."""

    unit_id: str
    status: UnitStatus
    facility: str = ""


@dataclass(frozen=True, slots=True)
class ReportPosition(Command):
    """A unit's position now."""

    unit_id: str
    position: Location


@dataclass(frozen=True, slots=True)
class RecordOutcome(Command):
    """The unit on a callout closes it with how it ended."""

    unit_id: str
    callout_id: str
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class CancelCallout(Command):
    """An open callout no longer needs a unit."""

    callout_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class MergeCallouts(Command):
    """The dispatcher merges ``source_id`` into ``target_id`` (one incident, two callouts)."""

    target_id: str
    source_id: str


@dataclass(frozen=True, slots=True)
class SplitCallout(Command):
    """The dispatcher takes ``alarm_id`` out of a callout into one of its own."""

    callout_id: str
    alarm_id: str


@dataclass(frozen=True, slots=True)
class AddNote(Command):
    """A dispatcher's or crew's note on a callout."""

    callout_id: str
    text: str


@dataclass(frozen=True, slots=True)
class Tick(Command):
    """Time has passed: time out unacknowledged assignments and end finished shifts."""


# -- the handler table ------------------------------------------------------------------------

#: A command handler: the context and the command in, the decision out (``Any`` because each
#: handler takes its own command type; :func:`_row` checks that they match).
Handler = Callable[[Context, Any], Decision]

C = TypeVar("C", bound=Command)


def _row(kind: type[C], handler: Callable[[Context, C], Decision]) -> tuple[type[Command], Handler]:
    """One row of :data:`HANDLERS`, typed so that the handler takes exactly ``kind``."""
    return kind, handler


_TABLE: dict[type[Command], Handler] = dict([
    _row(RegisterUnit, register_unit),
    _row(StartShift, start_shift),
    _row(EndShift, end_shift),
    _row(ReportPosition, report_position),
    _row(ReportStatus, report_status),
    _row(ReceiveAlarm, receive_alarm),
    _row(MergeCallouts, merge_callouts),
    _row(SplitCallout, split_callout),
    _row(CancelCallout, cancel_callout),
    _row(AddNote, add_note),
    _row(Assign, assign),
    _row(Reassign, reassign),
    _row(Acknowledge, acknowledge),
    _row(RecordOutcome, record_outcome),
    _row(Tick, tick),
])

#: The handler of each command type.
HANDLERS: Mapping[type[Command], Handler] = MappingProxyType(_TABLE)


def handler_for(kind: type[Command]) -> Handler:
    """The handler of command type ``kind`` (or of its nearest command base class), else
    :class:`UnknownCommand`."""
    handler = _TABLE.get(kind)
    if handler is not None:
        return handler
    for base in kind.__mro__[1:]:
        handler = _TABLE.get(base)
        if handler is not None:
            return handler
    raise UnknownCommand(kind.__name__)


#: The rules' tuning when the shell gives none.
DEFAULT_CONFIG = DispatchConfig()


def decide(
    state: DispatchState,
    command: Command,
    *,
    now: datetime,
    actor: str = "system",
    config: DispatchConfig = DEFAULT_CONFIG,
) -> Decision:
    """The events ``command`` causes at time ``now``; raises a :class:`DispatchError` if the
    command breaks a rule, in which case nothing is to be logged."""
    if now.tzinfo is None:
        raise InvalidCommand("now", "must be timezone-aware")
    handler = handler_for(type(command))
    return handler(Context(state, now, actor, config, {"at": now, "actor": actor}), command)
