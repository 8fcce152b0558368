"""The assist (panic) button and crew messages: logged with the unit's position and callout,
never refused for a unit on shift; messages are short, non-empty, and erased by retention."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dispatch.commands import Assign, EndShift, ReceiveAlarm, RequestAssist, SendMessage
from dispatch.erasure import erase_event
from dispatch.errors import InvalidCommand
from dispatch.events import AssistRequested, MessageSent, event_from_dict, event_to_dict
from dispatch.model import Location
from tests.dispatch.conftest import T0, Core
from tests.dispatch.test_commands import alarm, on_shift

HERE = Location(65.83, 21.69)


def test_an_assist_request_carries_the_units_callout_and_position(core: Core) -> None:
    on_shift(core)
    cid = core.do(ReceiveAlarm(alarm())).callout_id or ""
    core.do(Assign(cid, "U1"))
    decision = core.do(RequestAssist("U1", HERE), now=T0 + timedelta(minutes=3))
    event = core.log[-1].event
    assert isinstance(event, AssistRequested) and decision.callout_id == cid
    assert (event.unit_id, event.callout_id, event.position) == ("U1", cid, HERE)
    assert core.state.unit("U1").position == HERE  # the latest place known
    assert event_from_dict(event_to_dict(event)) == event
    core.do(RequestAssist("U1"))  # no GPS fix: still alerted
    assert core.log[-1].event.position is None  # type: ignore[attr-defined]


def test_an_assist_request_from_a_unit_off_shift_is_refused(core: Core) -> None:
    on_shift(core)
    core.do(EndShift("U1"))
    with pytest.raises(InvalidCommand, match="not on shift"):
        core.do(RequestAssist("U1", HERE))


def test_messages_are_short_and_not_empty_and_erased_by_retention(core: Core) -> None:
    on_shift(core)
    core.do(SendMessage("U1", "  Ring ledningen  "))
    core.do(SendMessage("U1", "Framme om 5", from_crew=True))
    sent = [e.event for e in core.log if isinstance(e.event, MessageSent)]
    assert [(m.text, m.from_crew) for m in sent] == [("Ring ledningen", False),
                                                     ("Framme om 5", True)]
    with pytest.raises(InvalidCommand) as empty:
        core.do(SendMessage("U1", "   "))
    assert empty.value.field == "text"
    with pytest.raises(InvalidCommand):
        core.do(SendMessage("U1", "x" * 281))
    assert [event_from_dict(event_to_dict(m)) for m in sent] == sent  # stored and read back
    erased = erase_event(sent[0], T0 + timedelta(days=1))
    assert isinstance(erased, MessageSent) and erased.text == ""
