"""The percentile method (nearest rank), the median, and what suppression hides."""

from __future__ import annotations

import pytest

from dispatch.stats_table import SUPPRESSED, Column, Table, median, nearest_rank, suppress


def test_p90_is_the_value_at_rank_ceil_of_0_9_n() -> None:
    assert nearest_rank(list(range(1, 11)), 90) == 9
    assert nearest_rank(list(range(1, 21)), 90) == 18
    assert nearest_rank([7.0], 90) == 7.0
    assert nearest_rank([30, 10, 20], 90) == 30  # ceil(2.7) = 3: the largest of three
    assert nearest_rank([], 90) is None
    with pytest.raises(ValueError):
        nearest_rank([1], 0)


def test_the_median_averages_the_middle_two() -> None:
    assert median([4, 1, 3, 2]) == 2.5
    assert median([5, 1, 3]) == 3
    assert median([]) is None


def test_suppression_hides_small_counts_and_the_shares_and_times_of_their_row() -> None:
    table = Table("t", "T", (Column("x", "label"), Column("n"), Column("share", "share"),
                             Column("median", "minutes"), Column("other")),
                  (("a", 4, 0.1, 12.5, 9), ("b", 5, 0.2, 13.0, 1), ("c", 0, 0.0, None, 0)))
    hidden = suppress(table)
    assert hidden.rows == (("a", SUPPRESSED, SUPPRESSED, SUPPRESSED, 9),
                           ("b", 5, 0.2, 13.0, SUPPRESSED), ("c", 0, 0.0, None, 0))
    assert table.rows[0][1] == 4  # the table itself is unchanged


def test_a_row_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="row 'a'"):
        Table("t", "T", (Column("x", "label"), Column("n")), (("a", 1, 2),))
