"""Retention erasure: patient details older than the cut-off go, ids, times and outcomes stay,
and erasing a log then replaying it equals erasing the replayed state."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.erasure import coarsen, erase_event, erase_state
from dispatch.events import AlarmReceived, Envelope, NoteAdded, event_from_dict, event_to_dict
from dispatch.model import AgeBand, Location, Sex
from dispatch.state import DispatchState
from tests.dispatch.test_snapshot import assert_same, rich_log
from tests.dispatch.test_state import T0, _setup, draw_command, run


def test_old_alarms_and_notes_lose_their_text_and_address_but_keep_the_facts() -> None:
    _, log = rich_log()
    cutoff = T0 + timedelta(days=1)
    erased = [erase_event(e.event, cutoff) for e in log]
    alarms = [e for e in erased if isinstance(e, AlarmReceived)]
    assert alarms and all(a.alarm.note == "" for a in alarms)
    assert all(a.alarm.location.label == "" and a.alarm.location.resolved_from == ""
               for a in alarms)
    first = next(e for e in alarms if e.alarm.reference == "R0")
    assert first.alarm.patient.age_band is AgeBand.ADULT
    assert first.alarm.patient.sex is Sex.FEMALE
    assert first.alarm.location == Location(65.0, 21.0)
    assert all(e.text == "" for e in erased if isinstance(e, NoteAdded))
    for before, after in zip(log, erased, strict=True):
        assert type(before.event) is type(after)
        assert before.event.at == after.at and before.event.actor == after.actor
        if isinstance(after, AlarmReceived):
            assert isinstance(before.event, AlarmReceived)
            assert after.callout_id == before.event.callout_id
            assert after.alarm.alarm_id == before.event.alarm.alarm_id


def test_newer_events_are_left_as_they_are() -> None:
    _, log = rich_log()
    assert all(erase_event(e.event, T0) is e.event for e in log)


def test_coarsening_is_idempotent_and_about_a_kilometre() -> None:
    here = Location(65.58437, 22.15482, label="Storgatan 7", resolved_from="typed")
    once = coarsen(here)
    assert coarsen(once) is once
    assert abs(once.lat - here.lat) < 0.006 and abs(once.lon - here.lon) < 0.006


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_erasing_the_log_then_replaying_equals_erasing_the_state(data: st.DataObject) -> None:
    state, log = _setup()
    now = T0
    for _ in range(data.draw(st.integers(0, 80))):
        now += timedelta(seconds=data.draw(st.integers(0, 300)))
        run(state, log, draw_command(data, state), now)
    cutoff = T0 + timedelta(seconds=data.draw(st.integers(-60, 80 * 300)))
    erased_log = [Envelope(e.seq, event_from_dict(event_to_dict(erase_event(e.event, cutoff))))
                  for e in log]
    from_log = DispatchState.replay(erased_log)
    from_state = state.fork()
    erase_state(from_state, cutoff)
    assert_same(from_state, from_log)
    assert erase_state(from_state, cutoff) == 0, "erasing twice changes nothing more"


def test_a_rich_log_erased_and_replayed_equals_the_erased_state() -> None:
    """Alarms, merges, splits, notes, an outcome with a follow-up visit and positions, all
    before the cut-off."""
    state, log = rich_log()
    cutoff = T0 + timedelta(days=1)
    from_log = DispatchState.replay(Envelope(e.seq, erase_event(e.event, cutoff)) for e in log)
    assert state.follow_ups and from_log.follow_ups[0].location.label == ""
    assert erase_state(state, cutoff) > 0
    assert_same(state, from_log)
