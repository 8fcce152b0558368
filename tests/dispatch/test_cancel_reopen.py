"""Cancelling with a reason (a code from a short list, words, or both; "other" needs words) and
reopening a callout cancelled by mistake, only within a few minutes; the reopened callout waits
for a unit again and the merge check finds it again. Old cancels (no code) still replay."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dispatch.commands import Assign, CancelCallout, ReceiveAlarm, ReopenCallout
from dispatch.errors import InvalidCommand
from dispatch.events import CalloutCancelled, CalloutReopened, event_from_dict
from dispatch.model import Agency
from dispatch.status import CalloutStatus, UnitStatus
from tests.dispatch.conftest import T0, Core
from tests.dispatch.test_commands import alarm, on_shift

MIN = timedelta(minutes=1)


def test_a_cancel_carries_its_code_and_words(core: Core) -> None:
    cid = core.do(ReceiveAlarm(alarm())).callout_id or ""
    with pytest.raises(InvalidCommand) as bad:
        core.do(CancelCallout(cid, code="bored"))
    assert bad.value.field == "code"
    with pytest.raises(InvalidCommand) as words:
        core.do(CancelCallout(cid, code="other"))
    assert words.value.field == "reason"
    with pytest.raises(InvalidCommand) as why:  # neither a code nor words: the log says why
        core.do(CancelCallout(cid, "  "))
    assert why.value.field == "code"
    core.do(CancelCallout(cid, "polisen löste det", code="other_agency"))
    event = core.log[-1].event
    assert isinstance(event, CalloutCancelled)
    assert (event.code, event.reason) == ("other_agency", "polisen löste det")
    assert core.state.callout(cid).cancelled_at == T0


def test_a_cancelled_callout_is_reopened_within_the_window_and_waits_again(core: Core) -> None:
    on_shift(core)
    cid = core.do(ReceiveAlarm(alarm())).callout_id or ""
    core.do(Assign(cid, "U1"))
    core.do(CancelCallout(cid, code="wrong_alarm"), now=T0 + MIN)
    assert core.state.unit("U1").status is UnitStatus.AVAILABLE
    core.do(ReopenCallout(cid), now=T0 + 5 * MIN)
    assert isinstance(core.log[-1].event, CalloutReopened)
    callout = core.state.callout(cid)
    assert callout.status is CalloutStatus.WAITING and callout.unit_id is None
    assert cid in {c.callout_id for c in core.state.open_callouts()}
    again = core.do(ReceiveAlarm(alarm(Agency.AMBULANCE, "A-1", minutes=6)), now=T0 + 6 * MIN)
    assert again.callout_id == cid  # the merge check sees it again
    core.do(Assign(cid, "U1"), now=T0 + 7 * MIN)
    assert core.state.unit("U1").callout_id == cid


def test_reopening_is_refused_late_or_for_a_callout_not_cancelled(core: Core) -> None:
    cid = core.do(ReceiveAlarm(alarm())).callout_id or ""
    with pytest.raises(InvalidCommand, match="not cancelled"):
        core.do(ReopenCallout(cid))
    core.do(CancelCallout(cid, code="duplicate"))
    with pytest.raises(InvalidCommand, match="more than 5 minutes ago"):
        core.do(ReopenCallout(cid), now=T0 + 6 * MIN)
    assert core.state.callout(cid).status is CalloutStatus.CANCELLED


def test_a_cancel_stored_before_codes_replays_without_one() -> None:
    old = {"type": "CalloutCancelled", "at": T0.isoformat(), "actor": "d1", "callout_id": "C1",
           "reason": "löst"}
    event = event_from_dict(old)
    assert isinstance(event, CalloutCancelled) and event.code == "" and event.reason == "löst"
