"""The closed history decoded after a start: a state whose history is pending reads as the
log's state (or waits), never as a part of it, and joins to exactly the replayed state."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.snapshot import DEFERRABLE, decode_snapshot_deferred, encode_snapshot
from dispatch.state import DispatchState
from tests.dispatch.test_state import T0, _setup, draw_command, run
from web.pending_history import PartialDict, PendingHistory
from web.views import board_snapshot


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_state_whose_history_is_pending_reads_as_the_log_and_joins_to_the_replay(
        data: st.DataObject) -> None:
    """Random logs: a snapshot restored with its closed history pending serves the board
    without decoding it, answers every lookup as the whole state does (waiting for the
    history when the key is in it), takes the rest of the log (whatever it touches) and,
    joined, equals the whole log replayed, key order included."""
    state, log = _setup()
    now = T0
    for _ in range(data.draw(st.integers(0, 80))):
        now += timedelta(seconds=data.draw(st.integers(0, 120)))
        run(state, log, draw_command(data, state), now)
    cut = data.draw(st.integers(0, len(log)))
    midway = DispatchState.replay(log[:cut])
    restored, _, later = decode_snapshot_deferred(encode_snapshot(midway))
    assert later is not None
    history = PendingHistory(later)
    history.wrap(restored)
    assert all(isinstance(getattr(restored, n), PartialDict) for n in DEFERRABLE)
    board = board_snapshot(restored, with_text=True, eta_at={})
    assert board == board_snapshot(midway, with_text=True, eta_at={})
    assert not history.done, "the board needs no history"
    if data.draw(st.booleans()):
        history.start()  # in a worker thread, as the app does; else decoded on first need
    for cid in data.draw(st.lists(st.sampled_from([*midway.callouts, "C999999"]), max_size=3)):
        assert restored.callouts.get(cid) == midway.callouts.get(cid)
        assert (cid in restored.callouts) == (cid in midway.callouts)
    for env in log[cut:]:
        restored.apply(env)
    history.complete(restored)
    assert not any(isinstance(getattr(restored, n), PartialDict) for n in DEFERRABLE)
    assert restored.snapshot() == state.snapshot()
    assert set(restored.open_ids) == set(state.open_ids)
    for name in DEFERRABLE:
        assert list(getattr(restored, name)) == list(getattr(state, name)), name
