"""The merge check of ``dispatch/rules_incidents.py``: which open callout a new alarm joins.

The rule no longer sorts every open callout for each alarm (a cost that grew with a surge);
a property test holds it to the rule it replaced, written out here as the reference."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.decision import DispatchConfig
from dispatch.erasure import erase_state
from dispatch.events import AlarmReceived, CalloutCancelled, Envelope
from dispatch.model import Agency, Alarm, Category, Location, Priority
from dispatch.rules_incidents import _merge_target, compatible
from dispatch.state import Callout, DispatchState
from maps.graph import haversine_m

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LAT, LON = 65.58, 22.15


def reference_merge_target(state: DispatchState, alarm: Alarm, config: DispatchConfig
                           ) -> Callout | None:
    """The rule before issue 12: every open callout, most urgent then oldest first, the first
    strictly nearest within the radius and window wins."""
    best: tuple[float, Callout] | None = None
    window = timedelta(seconds=config.merge_window_s)
    for callout in state.open_callouts():
        last = callout.last_alarm_at or callout.created_at
        if abs(alarm.received_at - last) > window:
            continue
        if not compatible(state.alarms[callout.alarm_ids[0]].category, alarm.category):
            continue
        d = float(haversine_m(alarm.location.lat, alarm.location.lon,
                              callout.location.lat, callout.location.lon))
        if d <= config.merge_radius_m and (best is None or d < best[0]):
            best = (d, callout)
    return best[1] if best else None


def alarm(ref: str, lat: float, lon: float, *, minutes: float, priority: int,
          category: Category) -> Alarm:
    return Alarm(Agency.POLICE, ref, T0 + timedelta(minutes=minutes), Location(lat, lon),
                 Priority(priority), category)


# Points on a small lattice (about 110 m apart) so that equal distances, ties and the edge
# of the radius come up often.
point = st.tuples(st.integers(-6, 6), st.integers(-6, 6)).map(
    lambda p: (LAT + p[0] * 0.001, LON + p[1] * 0.001 / math.cos(math.radians(LAT))))
alarms = st.lists(st.tuples(point, st.integers(0, 40), st.integers(1, 3),
                            st.sampled_from([Category.PSYCHOSIS, Category.SUICIDE_RISK,
                                             Category.FOLLOW_UP]), st.booleans()),
                  min_size=1, max_size=25)


def build(items: list[tuple[tuple[float, float], int, int, Category, bool]]) -> DispatchState:
    """A state holding one callout per item (each opened by its own alarm; a True flag
    cancels it), built by the fold from logged events."""
    state = DispatchState()
    seq = 0
    for i, ((lat, lon), minutes, priority, category, cancel) in enumerate(items):
        a = alarm(f"A{i}", lat, lon, minutes=minutes, priority=priority, category=category)
        seq += 1
        state.apply(Envelope(seq, AlarmReceived(at=a.received_at, actor="t", alarm=a,
                                                callout_id=f"C{i:06d}")))
        if cancel:
            seq += 1
            state.apply(Envelope(seq, CalloutCancelled(at=a.received_at, actor="t",
                                                       callout_id=f"C{i:06d}", reason="x")))
    return state


@settings(max_examples=300, deadline=None)
@given(alarms, point, st.integers(0, 60), st.sampled_from(list(Category)),
       st.sampled_from([150.0, 300.0, 800.0]))
def test_merge_target_is_the_rule_it_replaced(
        items: list[tuple[tuple[float, float], int, int, Category, bool]],
        where: tuple[float, float], minutes: int, category: Category, radius: float) -> None:
    """Same callout as the sorted scan for any open callouts, place, time and radius: the
    nearest within radius and window, on equal distance the most urgent, then the oldest."""
    state = build(items)
    config = DispatchConfig(merge_radius_m=radius)
    new = alarm("NEW", *where, minutes=minutes, priority=2, category=category)
    found, reason = _merge_target(state, new, config)
    expected = reference_merge_target(state, new, config)
    assert found == expected
    assert (reason == "") is (expected is None)
    assert _merge_target(state.fork(), new, config)[0] == expected  # a group commit's fork
    erase_state(state, T0 + timedelta(minutes=20))  # places coarsened: callouts move cells
    assert _merge_target(state, new, config)[0] == reference_merge_target(state, new, config)


def test_equal_distance_goes_to_the_most_urgent_then_the_oldest() -> None:
    lat, lon, d = 65.5, 22.0, 1 / 512  # exact in binary: both sides are equally far
    state = build([((lat, lon + d), 0, 3, Category.PSYCHOSIS, False),
                   ((lat, lon - d), 1, 1, Category.PSYCHOSIS, False),
                   ((lat, lon - d), 2, 1, Category.PSYCHOSIS, False)])
    new = alarm("NEW", lat, lon, minutes=3, priority=2, category=Category.PSYCHOSIS)
    found, reason = _merge_target(state, new, DispatchConfig())
    assert found is not None and found.callout_id == "C000001"
    assert reason.startswith("within 90 m")


def test_no_merge_beyond_radius_window_or_across_follow_up() -> None:
    state = build([((LAT, LON), 0, 1, Category.PSYCHOSIS, False)])
    config = DispatchConfig()
    far = alarm("F", LAT + 0.004, LON, minutes=1, priority=1, category=Category.PSYCHOSIS)
    late = alarm("L", LAT, LON, minutes=16, priority=1, category=Category.PSYCHOSIS)
    planned = alarm("P", LAT, LON, minutes=1, priority=1, category=Category.FOLLOW_UP)
    near = alarm("N", LAT, LON, minutes=14, priority=1, category=Category.PSYCHOSIS)
    assert [_merge_target(state, a, config)[0] is not None for a in (far, late, planned, near)] \
        == [False, False, False, True]


def test_a_zero_merge_window_turns_automatic_merging_off() -> None:
    """Issue 16: a study that never merges alarms (same place, same minute) can say so."""
    state = build([((LAT, LON), 0, 1, Category.PSYCHOSIS, False)])
    same = alarm("S", LAT, LON, minutes=0, priority=1, category=Category.PSYCHOSIS)
    assert _merge_target(state, same, DispatchConfig())[0] is not None
    assert _merge_target(state, same, DispatchConfig(merge_window_s=0))[0] is None


def test_a_negative_merge_window_is_refused() -> None:
    import pytest

    from dispatch.errors import InvalidCommand

    with pytest.raises(InvalidCommand):
        DispatchConfig(merge_window_s=-1)
