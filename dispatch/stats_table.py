"""A statistics table as plain values, small-number suppression, and the percentile method.

A :class:`Table` is a title, typed columns and rows whose first cell is the row's label. Column
kinds say what suppression does to a cell: a ``count`` of 1-4 becomes ``"<5"`` (0 stays: it
singles nobody out); a ``share`` or ``minutes`` cell is blanked (``"<5"``) when its row's first
count is 1-4, since a share or a median of so few people would show them. Exports are
suppressed by default (:func:`suppress`); the manager may ask for the raw numbers.

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

__all__ = ["SUPPRESSED", "Cell", "Column", "Table", "median", "nearest_rank", "suppress"]

SUPPRESSED = "<5"
SMALL = 5  # counts below this (and above 0) are suppressed

Cell = int | float | str | None
Kind = Literal["label", "count", "share", "minutes"]


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its header and what kind of value it holds."""

    name: str
    kind: Kind = "count"


@dataclass(frozen=True, slots=True)
class Table:
    """One table of the report: ``key`` names its CSV file and sheet; each row starts with its
    label; ``note`` says how it was counted."""

    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str = ""

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
    """``table`` with every count of 1-4 shown as ``"<5"``, and the shares and times of a row
    whose first count is 1-4 too."""
    counts = [i for i, c in enumerate(table.columns) if c.kind == "count"]
    rows = []
    for row in table.rows:
        few = bool(counts) and _small(row[counts[0]])
        cells: list[Cell] = []
        for cell, column in zip(row, table.columns, strict=True):
            hidden = (_small(cell) if column.kind == "count" else
                      few and cell is not None and column.kind in ("share", "minutes"))
            cells.append(SUPPRESSED if hidden else cell)
        rows.append(tuple(cells))
    return replace(table, rows=tuple(rows))


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
