"""Commands and the pure decision function that turns a command into events.

``decide(state, command, now=…, actor=…)`` reads the state, checks the command against the rules
(transition tables, shifts, who may act on what) and returns the events to log; it changes
nothing. The shell appends those events durably and then applies them to the state, so a command
that raises leaves both the log and the state exactly as they were.

The command records are defined in :mod:`dispatch.command_types` and re-exported here. Each
command type has one handler, found through :data:`HANDLERS`; the handlers live by concern in
:mod:`dispatch.rules_units`, :mod:`dispatch.rules_incidents` and
:mod:`dispatch.rules_assignment`. A new command needs a record, a handler and a row in the table
(a test checks every command has one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeVar

from dispatch.command_types import (
    Acknowledge,
    AddNote,
    Assign,
    BookVisit,
    CancelCallout,
    CancelVisit,
    Command,
    EndShift,
    FinishVisit,
    MarkVisitNotMet,
    MergeCallouts,
    MoveVisit,
    PinVisit,
    Reassign,
    ReceiveAlarm,
    RecordDayPlan,
    RecordOutcome,
    RegisterUnit,
    ReopenCallout,
    ReportPosition,
    ReportStatus,
    RequestAssist,
    RetireUnit,
    SendMessage,
    SplitCallout,
    StartShift,
    StartVisit,
    Tick,
    UpdateUnit,
)
from dispatch.decision import Context, Decision, DispatchConfig
from dispatch.errors import InvalidCommand, UnknownCommand
from dispatch.rules_assignment import acknowledge, assign, reassign, record_outcome, tick
from dispatch.rules_crew import request_assist, send_message
from dispatch.rules_incidents import (
    add_note,
    cancel_callout,
    merge_callouts,
    receive_alarm,
    reopen_callout,
    split_callout,
)
from dispatch.rules_units import (
    end_shift,
    register_unit,
    report_position,
    report_status,
    retire_unit,
    start_shift,
    update_unit,
)
from dispatch.rules_visits import (
    book_visit,
    cancel_visit,
    finish_visit,
    mark_visit_not_met,
    move_visit,
    pin_visit,
    record_day_plan,
    start_visit,
)
from dispatch.state import DispatchState

__all__ = [
    "HANDLERS",
    "Acknowledge",
    "AddNote",
    "Assign",
    "BookVisit",
    "CancelCallout",
    "CancelVisit",
    "Command",
    "Decision",
    "DispatchConfig",
    "EndShift",
    "FinishVisit",
    "MarkVisitNotMet",
    "MergeCallouts",
    "MoveVisit",
    "PinVisit",
    "Reassign",
    "ReceiveAlarm",
    "RecordDayPlan",
    "RecordOutcome",
    "RegisterUnit",
    "ReopenCallout",
    "ReportPosition",
    "ReportStatus",
    "RequestAssist",
    "RetireUnit",
    "SendMessage",
    "SplitCallout",
    "StartShift",
    "StartVisit",
    "Tick",
    "UpdateUnit",
    "decide",
    "handler_for",
]


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
    _row(UpdateUnit, update_unit),
    _row(RetireUnit, retire_unit),
    _row(StartShift, start_shift),
    _row(EndShift, end_shift),
    _row(ReportPosition, report_position),
    _row(ReportStatus, report_status),
    _row(ReceiveAlarm, receive_alarm),
    _row(MergeCallouts, merge_callouts),
    _row(SplitCallout, split_callout),
    _row(CancelCallout, cancel_callout),
    _row(ReopenCallout, reopen_callout),
    _row(RequestAssist, request_assist),
    _row(SendMessage, send_message),
    _row(AddNote, add_note),
    _row(Assign, assign),
    _row(Reassign, reassign),
    _row(Acknowledge, acknowledge),
    _row(RecordOutcome, record_outcome),
    _row(Tick, tick),
    _row(BookVisit, book_visit),
    _row(MoveVisit, move_visit),
    _row(PinVisit, pin_visit),
    _row(CancelVisit, cancel_visit),
    _row(StartVisit, start_visit),
    _row(FinishVisit, finish_visit),
    _row(MarkVisitNotMet, mark_visit_not_met),
    _row(RecordDayPlan, record_day_plan),
])

#: The handler of each command type.
HANDLERS: Mapping[type[Command], Handler] = MappingProxyType(_TABLE)


def handler_for(kind: type[Command]) -> Handler:
    """The handler of command type ``kind`` (or of its nearest command base class), else
    :class:`UnknownCommand`."""
    for base in kind.__mro__:
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
    handler = _TABLE.get(type(command)) or handler_for(type(command))
    return handler(Context(state, now, config, {"at": now, "actor": actor}), command)
