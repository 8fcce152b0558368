"""The audience window keeps a bounded run of recent seqs, indexed by seq, and survives a
round trip through a snapshot's data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from web.logindex import AudienceWindow, LogIndex
from web.visibility import Audience


def audience(i: int) -> Audience:
    return Audience(units=frozenset({f"U{i % 3}"}), callouts=frozenset({f"C{i % 5}"}))


def test_the_window_is_indexed_by_seq_and_stays_bounded() -> None:
    window = AudienceWindow(8)
    for i in range(1, 101):
        window.append(audience(i))
        assert len(window) <= 10
        assert window[i] == audience(i)
    assert window.last_seq == 100 and window.first_seq > 80
    assert window.first_seq in window and window.first_seq - 1 not in window
    with pytest.raises(KeyError):
        window[window.first_seq - 1]
    with pytest.raises(KeyError):
        window[101]


def test_equal_audiences_are_one_object() -> None:
    window = AudienceWindow(100)
    for i in range(1, 31):
        window.append(audience(i))
    assert window[1] is window[16]


def test_the_index_round_trips_and_a_smaller_window_keeps_the_newest() -> None:
    index = LogIndex(AudienceWindow(50))
    for i in range(1, 41):
        index.audiences.append(audience(i))
    index.eta_at["C1"] = datetime(2026, 1, 1, 12, tzinfo=UTC)
    data = index.to_data()
    same = LogIndex(AudienceWindow(50))
    same.restore(data)
    assert same.to_data() == data
    small = LogIndex(AudienceWindow(10))
    eta = small.eta_at
    small.restore(data)
    assert small.eta_at is eta and eta == index.eta_at, "restored in place"
    assert small.audiences.first_seq == 31 and small.audiences.last_seq == 40
    assert [small.audiences[s] for s in range(31, 41)] == [audience(i) for i in range(31, 41)]


def test_slices_are_by_seq_and_clipped_to_the_window() -> None:
    window = AudienceWindow(8)
    for i in range(1, 21):
        window.append(audience(i))
    first = window.first_seq
    assert window[first:first + 3] == [audience(i) for i in range(first, first + 3)]
    assert window[0:first + 1] == [audience(first)], "clipped at the window's start"
    assert window[first:] == [audience(i) for i in range(first, 21)]
    assert window[25:30] == []


def test_a_span_is_the_held_part_of_a_seq_range_and_says_where_it_starts() -> None:
    window = AudienceWindow(8)
    for i in range(1, 21):
        window.append(audience(i))
    first = window.first_seq
    assert first > 1
    assert window.span(first + 1, first + 3) == (first + 1, [audience(i) for i in
                                                             range(first + 1, first + 4)])
    lo, items = window.span(1, 20)  # older than the window: starts where the window does
    assert lo == first and items == [audience(i) for i in range(first, 21)]
    assert window.span(18, 40) == (18, [audience(18), audience(19), audience(20)])
    assert window.span(21, 30) == (21, [])
    items.clear()
    assert len(window.span(first, 20)[1]) == 21 - first, "a copy: the window is untouched"
