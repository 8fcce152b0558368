"""The rules for a crew calling for help and for short messages between dispatch and a crew.

An assist (panic) request is never refused for a unit that is on shift: it is logged with the
unit's position and callout so the dispatchers get it loudly even when nothing else fits. A
message is short text to or from one unit's crew; like a note it may be about a patient, so it
is stored and shown but never logged. Each function handles one command for the table in
:mod:`dispatch.commands`.
"""

from __future__ import annotations

from dispatch.command_types import RequestAssist, SendMessage
from dispatch.decision import Context, Decision, checked_text, no_identity
from dispatch.errors import InvalidCommand
from dispatch.events import AssistRequested, MessageSent
from dispatch.status import UnitStatus

__all__ = ["MAX_MESSAGE_CHARS", "request_assist", "send_message"]

#: A message is a line or two, typed on a phone.
MAX_MESSAGE_CHARS = 280


def request_assist(ctx: Context, command: RequestAssist) -> Decision:
    """A crew on shift asks for help now, with where it is (if the phone knows)."""
    unit = ctx.state.unit(command.unit_id)
    if unit.retired or unit.status is UnitStatus.OFF_DUTY:
        raise InvalidCommand("unit_id", f"unit {unit.unit_id} is not on shift: call 112")
    return ctx.decision(
        AssistRequested.make(ctx.stamp, unit_id=unit.unit_id, callout_id=unit.callout_id,
                        position=command.position),
        callout_id=unit.callout_id,
    )


def send_message(ctx: Context, command: SendMessage) -> Decision:
    """A non-empty message of at most :data:`MAX_MESSAGE_CHARS` to or from a unit's crew."""
    unit = ctx.state.unit(command.unit_id)
    if unit.retired:
        raise InvalidCommand("unit_id", f"unit {unit.unit_id} is retired")
    text = checked_text("text", command.text, MAX_MESSAGE_CHARS).strip()
    if not text:
        raise InvalidCommand("text", "a message must not be empty")
    no_identity("text", text)
    return ctx.decision(MessageSent.make(ctx.stamp, unit_id=unit.unit_id, text=text,
                                    from_crew=command.from_crew))
