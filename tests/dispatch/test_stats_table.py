"""The percentile method (nearest rank), the median, and what suppression hides."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.stats_table import (
    HIDDEN,
    SUPPRESSED,
    Cell,
    Column,
    Table,
    median,
    nearest_rank,
    suppress,
)


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
                             Column("median", "minutes")),
                  (("a", 4, 0.1, 12.5), ("b", 5, 0.2, 13.0), ("c", 0, 0.0, None),
                   ("d", 2, 0.05, 20.0), ("total", 11, None, None)))
    hidden = suppress(table)
    assert hidden.rows == (("a", SUPPRESSED, SUPPRESSED, SUPPRESSED),
                           ("b", 5, 0.2, 13.0), ("c", 0, 0.0, None),
                           ("d", SUPPRESSED, SUPPRESSED, SUPPRESSED), ("total", 11, None, None))
    assert table.rows[0][1] == 4  # the table itself is unchanged


def test_a_lone_small_count_beside_a_total_takes_the_smallest_other_count_with_it() -> None:
    # 4 + 5 + 30 = 39: with only the 4 hidden, 39 - 5 - 30 would give it away
    table = Table("t", "T", (Column("x", "label"), Column("n"), Column("share", "share"),
                             Column("median", "minutes")),
                  (("a", 4, 0.1, 12.5), ("b", 5, 0.13, 13.0), ("c", 30, 0.77, 9.0),
                   ("total", 39, None, None)))
    assert suppress(table).rows == (
        ("a", SUPPRESSED, SUPPRESSED, SUPPRESSED),
        ("b", HIDDEN, HIDDEN, 13.0),  # its share would give the count back; its median not
        ("c", 30, 0.77, 9.0), ("total", 39, None, None))


def test_lines_that_do_not_add_up_keep_their_counts() -> None:
    table = Table("t", "T", (Column("x", "label"), Column("n"), Column("m")),
                  (("a", 4, 9), ("b", 50, 60)), adds_up="none")
    assert suppress(table).rows == (("a", SUPPRESSED, 9), ("b", 50, 60))
    by_row = Table("t", "T", (Column("x", "label"), Column("yes"), Column("no")),
                   (("q1", 3, 40), ("q2", 20, 30)), adds_up="rows")
    assert suppress(by_row).rows == (("q1", SUPPRESSED, HIDDEN), ("q2", 20, 30))


def _solvable(shown: list[list[Cell]],
              lines: list[list[tuple[int, int]]]) -> set[tuple[int, int]]:
    """Hidden cells a reader can work out: a line (parts and their total) with one unknown
    gives it, and each solved cell may leave another line with one."""
    known = {(r, c) for r, row in enumerate(shown) for c, v in enumerate(row)
             if v not in (SUPPRESSED, HIDDEN)}
    solved: set[tuple[int, int]] = set()
    changed = True
    while changed:
        changed = False
        for line in lines:
            unknown = [p for p in line if p not in known]
            if len(unknown) == 1:
                known.add(unknown[0])
                solved.add(unknown[0])
                changed = True
    return solved


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.sampled_from(["columns", "rows", "both"]),
       st.data())
def test_no_hidden_count_can_be_worked_out_from_the_totals(
        n_rows: int, n_cols: int, adds_up: str, data: st.DataObject) -> None:
    parts = [[data.draw(st.sampled_from([0, 1, 2, 3, 4, 5, 7, 12, 40])) for _ in range(n_cols)]
             for _ in range(n_rows)]
    # the table carries its totals: a total row under columns that add up, a total column
    # beside rows that add up (both: both, and the grand total)
    grid = [list(row) for row in parts]
    if adds_up in ("rows", "both"):
        grid = [[*row, sum(row)] for row in grid]
    if adds_up in ("columns", "both"):
        grid.append([sum(col) for col in zip(*grid, strict=True)])
    width = len(grid[0])
    table = Table("t", "T", (Column("x", "label"), *(Column(f"c{i}") for i in range(width))),
                  tuple((f"r{r}", *row) for r, row in enumerate(grid)),
                  adds_up=adds_up)  # type: ignore[arg-type]
    shown = [list(row[1:]) for row in suppress(table).rows]
    for r, row in enumerate(grid):  # every small count is hidden, a shown count is the truth
        for c, v in enumerate(row):
            assert shown[r][c] in (SUPPRESSED if 0 < v < 5 else v, HIDDEN)
    lines = []
    if adds_up in ("rows", "both"):
        lines += [[(r, c) for c in range(width)] for r in range(len(grid))]
    if adds_up in ("columns", "both"):
        lines += [[(r, c) for r in range(len(grid))] for c in range(width)]
    leaks = {(r, c) for r, c in _solvable(shown, lines) if 0 < grid[r][c] < 5}
    assert not leaks, (grid, shown)


def test_a_row_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="row 'a'"):
        Table("t", "T", (Column("x", "label"), Column("n")), (("a", 1, 2),))
