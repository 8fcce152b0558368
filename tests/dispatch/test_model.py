"""The core's value records (dispatch/model.py): what they accept and how they refuse."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dispatch.errors import InvalidCommand
from dispatch.model import Agency, Alarm, Answer, Category, Location, Outcome, OutcomeKind, Priority


def test_outcome_answers_given_as_text_become_members_and_a_wrong_one_names_its_field() -> None:
    made = Outcome("stayed_home", children_present="yes", sip_requested=Answer.NO)  # type: ignore[arg-type]
    assert made.kind is OutcomeKind.STAYED_HOME
    assert made.children_present is Answer.YES and made.sip_requested is Answer.NO
    assert made.concern_report is Answer.UNKNOWN
    with pytest.raises(InvalidCommand) as err:
        Outcome(OutcomeKind.STAYED_HOME, concern_report="maybe")  # type: ignore[arg-type]
    assert err.value.field == "outcome.concern_report"


@pytest.mark.parametrize("callback", ["", "+46 70-123 45 67", "112"])
def test_an_alarm_takes_no_callback_or_a_phone_number(callback: str) -> None:
    alarm = Alarm(agency=Agency.POLICE, reference="P-1",
                  received_at=datetime(2026, 1, 1, tzinfo=UTC), location=Location(65.6, 22.1),
                  priority=Priority.URGENT, category=Category.SUICIDE_RISK, callback=callback)
    assert alarm.callback == callback


@pytest.mark.parametrize("callback", ["call me", "1", 46701234567, None])
def test_an_alarm_refuses_a_callback_that_is_not_a_phone_number(callback: object) -> None:
    with pytest.raises(InvalidCommand) as err:
        Alarm(agency=Agency.POLICE, reference="P-1",
              received_at=datetime(2026, 1, 1, tzinfo=UTC), location=Location(65.6, 22.1),
              priority=Priority.URGENT, category=Category.SUICIDE_RISK, callback=callback)  # type: ignore[arg-type]
    assert err.value.field == "callback"
