"""The open callouts' ids, filed by place, so the merge check of a new alarm looks only at the
callouts near it instead of every open one (thousands in a surge nobody serves).

:class:`OpenCallouts` is the state's ``open_ids``: a set of ids like before (code that reads it
as a set is unchanged), which the fold keeps in step with each callout's place through
:meth:`OpenCallouts.put`. Cells are squares of ``CELL_DEG`` degrees; :meth:`OpenCallouts.near`
returns the ids in the cells a search box touches. A copy (a forked state for a group commit)
shares the cells until one side changes one (copy on write), so forking stays cheap.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Protocol


class _Place(Protocol):
    @property
    def lat(self) -> float: ...

    @property
    def lon(self) -> float: ...


class _Status(Protocol):
    @property
    def is_open(self) -> bool: ...


class Callout(Protocol):
    """What the index reads of a callout (the state's ``Callout``, which imports this
    module, so it is described here rather than imported)."""

    @property
    def callout_id(self) -> str: ...

    @property
    def status(self) -> _Status: ...

    @property
    def location(self) -> _Place: ...

__all__ = ["CELL_DEG", "MAX_CELLS", "OpenCallouts"]

CELL_DEG = 0.01  # about 1.1 km north-south; less east-west away from the equator
MAX_CELLS = 64  # a search box over more cells than this is answered with a plain scan

Cell = tuple[int, int]


def _cell(lat: float, lon: float) -> Cell:
    return math.floor(lat / CELL_DEG), math.floor(lon / CELL_DEG)


class OpenCallouts(set[str]):
    """The ids of the open callouts, each also filed under the cell of its place."""

    def __init__(self, ids: Iterable[str] = ()) -> None:
        super().__init__()
        self._cell_of: dict[str, Cell] = {}
        self._cells: dict[Cell, set[str]] = {}
        self._own: set[Cell] = set()  # cells whose set this copy may change in place
        for callout_id in ids:  # ids without a place: found only by a scan (see near)
            super().add(callout_id)

    @classmethod
    def of(cls, ids: Iterable[str], callouts: Mapping[str, Callout]) -> OpenCallouts:
        """The ids ``ids`` filed by the places ``callouts`` give them."""
        out = cls()
        for callout_id in ids:
            out.put(callouts[callout_id])
        return out

    def put(self, callout: Callout) -> None:
        """Keep ``callout`` here (filed by its place) if it is open, else drop it."""
        callout_id = callout.callout_id
        if not callout.status.is_open:
            self.discard(callout_id)
            return
        old = self._cell_of.get(callout_id)
        super().add(callout_id)
        new = _cell(callout.location.lat, callout.location.lon)
        if new == old:
            return
        if old is not None:
            self._unfile(old, callout_id)
        self._writable(new).add(callout_id)
        self._cell_of[callout_id] = new

    @property
    def filed(self) -> bool:
        """Whether every id here is filed by place (else :meth:`near` answers with all)."""
        return len(self._cell_of) == len(self)

    def discard(self, callout_id: object) -> None:
        super().discard(callout_id)
        cell = self._cell_of.pop(callout_id, None) if isinstance(callout_id, str) else None
        if cell is not None:
            self._unfile(cell, str(callout_id))

    def remove(self, callout_id: object) -> None:
        if callout_id not in self:
            raise KeyError(callout_id)
        self.discard(callout_id)

    def near(self, lat: float, lon: float, dlat: float, dlon: float) -> Iterable[str]:
        """The ids of the open callouts filed in the cells that the box ``lat`` ± ``dlat``,
        ``lon`` ± ``dlon`` touches (a superset of those inside it), or all of them when the
        box spans more than MAX_CELLS cells or some id was added without a place."""
        i0, j0 = _cell(lat - dlat, lon - dlon)
        i1, j1 = _cell(lat + dlat, lon + dlon)
        if (i1 - i0 + 1) * (j1 - j0 + 1) > MAX_CELLS or not self.filed:
            return self
        found: list[str] = []
        cells = self._cells
        for i in range(i0, i1 + 1):
            for j in range(j0, j1 + 1):
                ids = cells.get((i, j))
                if ids:
                    found.extend(ids)
        return found

    def copy(self) -> OpenCallouts:
        """A copy that shares the cells with this one until either changes one."""
        twin = OpenCallouts()
        set.update(twin, self)
        twin._cell_of = dict(self._cell_of)
        twin._cells = dict(self._cells)
        self._own = set()
        return twin

    __copy__ = copy

    def __deepcopy__(self, memo: object) -> OpenCallouts:
        return self.copy()

    def _writable(self, cell: Cell) -> set[str]:
        if cell not in self._own:
            self._cells[cell] = set(self._cells.get(cell, ()))
            self._own.add(cell)
        return self._cells[cell]

    def _unfile(self, cell: Cell, callout_id: str) -> None:
        ids = self._writable(cell)
        ids.discard(callout_id)
        if not ids:
            del self._cells[cell]
            self._own.discard(cell)
