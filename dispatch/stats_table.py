"""A statistics table as plain values, small-number suppression, and the percentile method.

A :class:`Table` is a title, typed columns and rows whose first cell is the row's label. Column
kinds say what suppression does to a cell: a ``count`` of 1-4 becomes ``"<5"`` (0 stays: it
singles nobody out); a ``share`` or ``minutes`` cell is blanked (``"<5"``) when its row's first
count is 1-4, since a share or a median of so few people would show them. Then, so that no
hidden count can be worked out from a total (the row's, the column's or the month's),
*complementary* suppression hides one more count (the smallest shown, as ``".."``) in every row
or column that would otherwise hide exactly one, and a row's share with its first count. Exports
are suppressed by default (:func:`suppress`); the manager may ask for the raw numbers.

Percentiles use the *nearest-rank* method: the p-th percentile of n sorted values is the value
at rank ``ceil(p / 100 * n)`` (1-based), always one of the observed values. The median is the
ordinary one (the middle value, or the mean of the two middle values when n is even).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

__all__ = ["HIDDEN", "SUPPRESSED", "Cell", "Column", "Table", "median", "nearest_rank",
           "suppress"]

SUPPRESSED = "<5"
HIDDEN = ".."  # a count of 5 or more hidden so that a "<5" beside it cannot be derived
SMALL = 5  # counts below this (and above 0) are suppressed

Cell = int | float | str | None
Kind = Literal["label", "count", "share", "minutes"]
AddsUp = Literal["columns", "rows", "both", "none"]


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its header and what kind of value it holds."""

    name: str
    kind: Kind = "count"


@dataclass(frozen=True, slots=True)
class Table:
    """One table of the report: ``key`` names its CSV file and sheet; each row starts with its
    label; ``note`` says how it was counted. ``adds_up`` says which lines of counts are parts
    of a total a reader can see (a column's rows, a row's columns, both or neither): those
    lines get complementary suppression."""

    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str = ""
    adds_up: AddsUp = "columns"

    def __post_init__(self) -> None:
        if not self.columns or self.columns[0].kind != "label":
            raise ValueError(f"{self.key}: the first column must be the row label")
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"{self.key}: row {row[0]!r} has {len(row)} cells, "
                                 f"not {len(self.columns)}")

    @property
    def header(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def row(self, label: str) -> dict[str, Cell]:
        """The row labelled ``label`` as ``{column name: cell}`` (KeyError if none)."""
        for row in self.rows:
            if row[0] == label:
                return dict(zip(self.header, row, strict=True))
        raise KeyError(label)

    def column(self, name: str) -> dict[str, Cell]:
        """Column ``name`` as ``{row label: cell}``."""
        i = self.header.index(name)
        return {str(row[0]): row[i] for row in self.rows}


def _small(value: Cell) -> bool:
    return isinstance(value, int) and 0 < value < SMALL


def suppress(table: Table) -> Table:
    """``table`` with every count of 1-4 shown as ``"<5"`` and the shares and times of a row
    whose first count is 1-4; then complementary suppression (``".."``) until no row or column
    of counts hides exactly one cell, so no total gives a hidden count away."""
    counts = [i for i, c in enumerate(table.columns) if c.kind == "count"]
    grid = [list(row) for row in table.rows]
    for cells in grid:
        for i in counts:
            if _small(cells[i]):
                cells[i] = SUPPRESSED
    _complement(grid, _lines(len(grid), counts, table.adds_up))
    rows = []
    for original, cells in zip(table.rows, grid, strict=True):
        first = cells[counts[0]] if counts else None
        for i, column in enumerate(table.columns):
            if original[i] is None:
                continue
            if first == SUPPRESSED and column.kind in ("share", "minutes"):
                cells[i] = SUPPRESSED
            elif first == HIDDEN and column.kind == "share":  # count = share x total
                cells[i] = HIDDEN
        rows.append(tuple(cells))
    return replace(table, rows=tuple(rows))


def _lines(rows: int, counts: list[int], adds_up: AddsUp) -> list[list[tuple[int, int]]]:
    """The rows and/or columns of count cells that add up, as (row, column) positions, if
    two or more cells long: lines a reader could sum and compare with a total."""
    lines = []
    if adds_up in ("rows", "both"):
        lines += [[(r, i) for i in counts] for r in range(rows)]
    if adds_up in ("columns", "both"):
        lines += [[(r, i) for r in range(rows)] for i in counts]
    return [line for line in lines if len(line) > 1]


def _complement(grid: list[list[Cell]], lines: list[list[tuple[int, int]]]) -> None:
    """Hide the smallest shown positive count of each line that hides exactly one cell, until
    no line does (a cell hidden for its row may leave its column with exactly one)."""
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(grid[r][i] in (SUPPRESSED, HIDDEN) for r, i in line) != 1:
                continue
            shown = [(v, r, i) for r, i in line
                     if isinstance(v := grid[r][i], int | float) and v > 0]
            if shown:
                _, r, i = min(shown)
                grid[r][i] = HIDDEN
                changed = True


def nearest_rank(values: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile (0 < p <= 100) of ``values`` by the nearest-rank method, or
    None for no values."""
    if not 0 < p <= 100:
        raise ValueError(f"percentile {p} is not in (0, 100]")
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def median(values: Sequence[float]) -> float | None:
    """The median of ``values`` (mean of the middle two for an even count), or None."""
    return statistics.median(values) if values else None
