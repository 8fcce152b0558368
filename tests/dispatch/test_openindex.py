"""dispatch/openindex.py: the open callouts' ids filed by place. It stays a set of exactly the
open ids, ``near`` finds every open callout inside a box, and copies (forked states) are
independent although they share cells until one changes."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Set as AbstractSet
from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.model import Location, Priority
from dispatch.openindex import CELL_DEG, OpenCallouts
from dispatch.state import Callout, DispatchState
from dispatch.status import CalloutStatus

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def callout(i: int, lat: float, lon: float, status: CalloutStatus) -> Callout:
    return Callout(f"C{i}", T0, Location(lat, lon), Priority.URGENT, (f"a/{i}",), status=status)


# (which callout, where on a 0.005-degree lattice, open or closed)
Steps = list[tuple[int, int, int, CalloutStatus]]
steps = st.lists(st.tuples(st.integers(0, 15), st.integers(-8, 8), st.integers(-8, 8),
                           st.sampled_from([CalloutStatus.WAITING, CalloutStatus.ASSIGNED,
                                            CalloutStatus.CLOSED, CalloutStatus.CANCELLED])),
                 max_size=60)


def play(index: OpenCallouts, model: dict[str, Callout], todo: Steps) -> None:
    for i, y, x, status in todo:
        c = callout(i, 65.0 + y * 0.005, 22.0 + x * 0.005, status)
        index.put(c)
        model[c.callout_id] = c


def open_in(model: dict[str, Callout]) -> AbstractSet[str]:
    """The open ids of ``model``, typed as the abstract set the index is too (mypy's strict
    equality takes an ``OpenCallouts`` and a plain ``set`` for types that never compare equal,
    which ``Set.__eq__`` makes them)."""
    return {k for k, c in model.items() if c.status.is_open}


def inside(model: dict[str, Callout], lat: float, lon: float, d: float) -> set[str]:
    return {k for k, c in model.items() if c.status.is_open
            and abs(c.location.lat - lat) <= d and abs(c.location.lon - lon) <= d}


@settings(max_examples=200, deadline=None)
@given(steps, steps, steps, st.integers(-8, 8), st.integers(-8, 8),
       st.sampled_from([0.001, 0.004, 0.02]), st.booleans())
def test_near_finds_every_open_callout_in_a_box_and_copies_are_independent(
        first: Steps, then: Steps, after: Steps, y: int, x: int, d: float,
        shared: bool) -> None:
    """Both kinds: the forked state's (CowDict maps) and the unshared one's (plain dicts)."""
    index = OpenCallouts(shared=shared)
    model: dict[str, Callout] = {}
    play(index, model, first)
    assert index == open_in(model)
    twin, twin_model = index.copy(), dict(model)
    play(twin, twin_model, then)  # the copy changes; the original must not
    third, third_model = twin.copy(), dict(twin_model)
    play(index, model, after)  # nor a copy when its original changes
    play(twin, twin_model, after)
    for ids, m in ((index, model), (twin, twin_model), (third, third_model)):
        assert len(ids) == len(set(ids)) == sum(c.status.is_open for c in m.values())
        assert ids == open_in(m)
        assert ids.filed
        lat, lon = 65.0 + y * 0.005, 22.0 + x * 0.005
        found = set(ids.near(lat, lon, d, d))
        assert inside(m, lat, lon, d) <= found <= ids
        for cy in range(-8, 9, 2):  # and every cell of the lattice holds exactly its own ids
            for cx in range(-8, 9, 2):
                lat, lon = 65.0 + cy * 0.005, 22.0 + cx * 0.005
                found = set(ids.near(lat, lon, 0.004, 0.004))
                assert inside(m, lat, lon, 0.004) <= found <= ids


def test_a_wide_box_or_unfiled_ids_fall_back_to_every_id() -> None:
    index = OpenCallouts()
    index.put(callout(1, 65.0, 22.0, CalloutStatus.WAITING))
    index.put(callout(2, 66.0, 23.0, CalloutStatus.WAITING))
    assert set(index.near(65.0, 22.0, 0.001, 0.001)) == {"C1"}
    assert index.near(65.0, 22.0, 100 * CELL_DEG, 100 * CELL_DEG) is index
    index.add("C3")  # a plain set add has no place: the index says so and scans
    assert not index.filed and index.near(65.0, 22.0, 0.001, 0.001) is index
    index.discard("C3")
    index.remove("C2")
    assert index.filed and index == {"C1"} and set(index.near(66.0, 23.0, 0.01, 0.01)) == set()


def test_states_built_from_snapshots_copies_and_pickles_are_filed_again() -> None:
    state = DispatchState()
    for i in range(5):
        state._store(callout(i, 65.0 + i * 0.03, 22.0, CalloutStatus.WAITING))
    state._store(replace(state.callouts["C2"], status=CalloutStatus.CLOSED))
    expected: AbstractSet[str] = {"C0", "C1", "C3", "C4"}  # as in open_in
    # plain dicts and sets on purpose: what a snapshot's load passes, which the state converts
    # (its fields are annotated as the converted types)
    for other in (DispatchState(callouts=dict(state.callouts),  # type: ignore[arg-type]
                                open_ids=set(state.open_ids)),
                  pickle.loads(pickle.dumps(state)), copy.deepcopy(state), state.fork(),
                  DispatchState(callouts=dict(state.callouts),  # type: ignore[arg-type]
                                open_ids=copy.copy(state.open_ids))):
        ids = other.open_ids
        assert isinstance(ids, OpenCallouts) and ids.filed, type(other)
        assert ids == expected
        assert set(ids.near(65.09, 22.0, 0.001, 0.001)) == {"C3"}
