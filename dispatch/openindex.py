"""The open callouts' ids, filed by place, so the merge check of a new alarm looks only at the
callouts near it instead of every open one (thousands in a surge nobody serves).

:class:`OpenCallouts` is the state's ``open_ids``: a set of ids like before (a ``MutableSet``:
code that reads it as a set is unchanged), which the fold keeps in step with each callout's
place through :meth:`OpenCallouts.put`. Cells are squares of ``CELL_DEG`` degrees;
:meth:`OpenCallouts.near` returns the ids in the cells a search box touches. A copy (a forked
state for a group commit) shares the ids and the cells until one side changes them (copy on
write), so forking costs the recent changes, not the thousands of ids a surge leaves open.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, MutableSet
from typing import Any, Protocol, TypeVar

from dispatch.cowdict import CowDict


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
K = TypeVar("K")
V = TypeVar("V")
_ABSENT: Any = object()


def _cell(lat: float, lon: float) -> Cell:
    return math.floor(lat / CELL_DEG), math.floor(lon / CELL_DEG)


class OpenCallouts(MutableSet[str]):
    """The ids of the open callouts, each also filed under the cell of its place.

    A set of ids to its readers; kept in two :class:`~dispatch.cowdict.CowDict` (id -> its
    cell, or None for an id added without a place; cell -> the ids filed there), so a copy
    costs the recent changes, not the thousands of ids a surge leaves open. The cells' sets
    are shared with copies until one side changes one (copy on write). With ``shared=False``
    the two maps are plain dicts, quicker to read and write, for a state that is never
    forked (a copy of it then copies every id once)."""

    def __init__(self, ids: Iterable[str] = (), *, shared: bool = True) -> None:
        self._cell_of: MutableMapping[str, Cell | None] = CowDict() if shared else {}
        self._cells: MutableMapping[Cell, set[str]] = CowDict() if shared else {}
        self._own: set[Cell] = set()  # cells whose set this copy may change in place
        self._unfiled = 0  # ids without a place: found only by a scan (see near)
        for callout_id in ids:
            self.add(callout_id)

    @classmethod
    def of(cls, ids: Iterable[str], callouts: Mapping[str, Callout]) -> OpenCallouts:
        """The ids ``ids`` filed by the places ``callouts`` give them."""
        out = cls()
        for callout_id in ids:
            out.put(callouts[callout_id])
        return out

    # -- a set of ids --------------------------------------------------------------------

    def __contains__(self, callout_id: object) -> bool:
        return callout_id in self._cell_of

    def __iter__(self) -> Iterator[str]:
        return iter(self._cell_of)

    def __len__(self) -> int:
        return len(self._cell_of)

    def __repr__(self) -> str:
        return f"OpenCallouts({sorted(self)!r})"

    def add(self, callout_id: str) -> None:
        """Keep ``callout_id`` without a place (as a plain set would): :meth:`near` scans
        every id while such an id is here."""
        if callout_id not in self._cell_of:
            self._cell_of[callout_id] = None
            self._unfiled += 1

    def discard(self, callout_id: object) -> None:
        if not isinstance(callout_id, str) or callout_id not in self._cell_of:
            return
        cell = self._cell_of.pop(callout_id)
        if cell is None:
            self._unfiled -= 1
        else:
            self._unfile(cell, callout_id)

    def remove(self, callout_id: object) -> None:
        if callout_id not in self:
            raise KeyError(callout_id)
        self.discard(callout_id)

    # -- filed by place ------------------------------------------------------------------

    def put(self, callout: Callout) -> None:
        """Keep ``callout`` here (filed by its place) if it is open, else drop it."""
        callout_id = callout.callout_id
        if not callout.status.is_open:
            self.discard(callout_id)
            return
        new = _cell(callout.location.lat, callout.location.lon)
        old = self._cell_of.get(callout_id, _ABSENT)
        if new == old:
            return
        if old is None:
            self._unfiled -= 1
        elif old is not _ABSENT:
            self._unfile(old, callout_id)
        self._writable(new).add(callout_id)
        self._cell_of[callout_id] = new

    @property
    def filed(self) -> bool:
        """Whether every id here is filed by place (else :meth:`near` answers with all)."""
        return not self._unfiled

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
        """A copy that shares the ids and cells with this one until either changes them:
        it costs the changes since the maps' last merge, not the number of ids."""
        twin = OpenCallouts.__new__(OpenCallouts)
        twin._cell_of = _forked(self._cell_of)
        twin._cells = _forked(self._cells)
        twin._own = set()
        twin._unfiled = self._unfiled
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


def _forked(m: MutableMapping[K, V]) -> MutableMapping[K, V]:
    """A copy of ``m`` that changes to either side do not reach: a CowDict's fork, else a
    CowDict over a copy of the plain dict (so that copy forks cheaply from then on)."""
    return m.fork() if isinstance(m, CowDict) else CowDict(m)
