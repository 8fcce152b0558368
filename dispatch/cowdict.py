"""A dict whose copies cost what changed, not what it holds: a shared base plus its own changes.

The dispatch state keeps its units, callouts and alarms in :class:`CowDict` so that
:meth:`~dispatch.state.DispatchState.fork` (a scratch copy for every group commit, a copy for
advice in a worker thread or a snapshot while the live state moves on) does not copy every
callout and alarm ever logged. A ``CowDict`` reads its own recent changes (``delta``) first,
then a ``base`` dict that no ``CowDict`` ever changes once another may share it: a fork shares
the base and copies only the delta, and each side goes on changing its own delta. When the
delta outgrows about twice the square root of the base, it is merged into a *new* base (the
old one may be shared), so reads stay two dict lookups, a fork copies at most that many
entries and merging costs O(1) per change on average.

A key of the base deleted is marked deleted in the delta (a tombstone) until the next merge,
so a delete costs what a set does (the open-callout index deletes an id whenever a callout
closes). It behaves as a plain dict, iteration order included (insertion order; a changed
value keeps its key's place; a key deleted and set again goes to the end), so code and tests
that read the state do not see the difference.
"""

from __future__ import annotations

import math
from collections.abc import (
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    MutableMapping,
    ValuesView,
)
from itertools import chain
from typing import Any, TypeVar, overload

__all__ = ["CowDict"]

K = TypeVar("K")
V = TypeVar("V")
D = TypeVar("D")

_MIN_DELTA = 64  # changes kept apart before a merge, however small the base
_ABSENT: Any = object()
_DELETED: Any = object()  # in the delta: the base's key is deleted here


class CowDict(MutableMapping[K, V]):
    """A mutable mapping with an O(changes) :meth:`fork` (see the module's docstring)."""

    __slots__ = ("_added", "_base", "_delta", "_limit", "_removed")

    def __init__(self, items: Mapping[K, V] | Iterable[tuple[K, V]] = ()) -> None:
        self._adopt(dict(items))

    @classmethod
    def adopt(cls, base: dict[K, V]) -> CowDict[K, V]:
        """A ``CowDict`` over ``base`` itself, not a copy (for a dict nothing else will
        change, e.g. one just decoded): the caller hands it over."""
        made: CowDict[K, V] = cls.__new__(cls)
        made._adopt(base)
        return made

    def _adopt(self, base: dict[K, V]) -> None:
        self._base = base
        self._delta: dict[K, V] = {}
        self._added = 0  # keys of the delta the base does not have
        self._removed = 0  # keys of the base deleted here (_DELETED in the delta)
        self._limit = max(_MIN_DELTA, 2 * math.isqrt(len(base)))

    def fork(self) -> CowDict[K, V]:
        """A copy that later changes to this one do not reach, and the other way round; it
        costs the changes since the last merge, not the size."""
        made: CowDict[K, V] = CowDict.__new__(CowDict)
        made._base = self._base
        made._delta = self._delta.copy()
        made._added = self._added
        made._removed = self._removed
        made._limit = self._limit
        return made

    __copy__ = fork

    def __reduce__(self) -> tuple[Any, ...]:
        return (CowDict, (dict(self.items()),))

    def _merge(self) -> None:
        """Fold the delta into a new base (never into the old one: a fork may share it)."""
        base = self._base.copy()
        if self._removed:
            for key, value in self._delta.items():
                if value is _DELETED:
                    del base[key]
                else:
                    base[key] = value
        else:
            base.update(self._delta)
        self._adopt(base)

    # -- reading ------------------------------------------------------------------------

    def __getitem__(self, key: K) -> V:
        value = self._delta.get(key, _ABSENT)
        if value is _ABSENT:
            return self._base[key]
        if value is _DELETED:
            raise KeyError(key)
        return value  # type: ignore[no-any-return]

    @overload
    def get(self, key: K, /) -> V | None: ...

    @overload
    def get(self, key: K, default: V | D, /) -> V | D: ...

    def get(self, key: K, default: Any = None, /) -> Any:
        value = self._delta.get(key, _ABSENT)
        if value is _ABSENT:
            return self._base.get(key, default)
        return default if value is _DELETED else value

    def __contains__(self, key: object) -> bool:
        value = self._delta.get(key, _ABSENT)  # type: ignore[arg-type]
        if value is _ABSENT:
            return key in self._base
        return value is not _DELETED

    def __len__(self) -> int:
        return len(self._base) + self._added - self._removed

    def __iter__(self) -> Iterator[K]:
        if not self._added and not self._removed:
            return iter(self._base)
        return self._keys()

    def _keys(self) -> Iterator[K]:
        base, delta = self._base, self._delta
        if self._removed:
            for key in base:
                if delta.get(key) is not _DELETED:
                    yield key
        else:
            yield from base
        for key in delta:
            if key not in base:
                yield key

    def _values(self) -> Iterator[V]:
        base, delta = self._base, self._delta
        if not delta:
            return iter(base.values())
        if self._removed:
            return self._values_with_deleted()
        if not base:  # a small map never merged (the units): all of it is the delta
            return iter(delta.values())
        # each base key's value from the delta where changed, at C speed (a walk over the
        # units reads every unit on every alarm), then the keys the base does not have
        changed: Iterator[V] = map(delta.get, base, base.values())
        if not self._added:
            return changed
        return chain(changed, (value for key, value in delta.items() if key not in base))

    def _values_with_deleted(self) -> Iterator[V]:
        base, delta = self._base, self._delta
        for key, value in base.items():
            value = delta.get(key, value)
            if value is not _DELETED:
                yield value
        for key, value in delta.items():
            if key not in base:
                yield value

    def _items(self) -> Iterator[tuple[K, V]]:
        base, delta = self._base, self._delta
        if not delta:
            return iter(base.items())
        if self._removed:
            return self._items_with_deleted()
        if not base:
            return iter(delta.items())
        changed: Iterator[tuple[K, V]] = zip(base, map(delta.get, base, base.values()),
                                             strict=True)
        if not self._added:
            return changed
        return chain(changed, ((key, value) for key, value in delta.items() if key not in base))

    def _items_with_deleted(self) -> Iterator[tuple[K, V]]:
        base, delta = self._base, self._delta
        for key, value in base.items():
            value = delta.get(key, value)
            if value is not _DELETED:
                yield key, value
        for key, value in delta.items():
            if key not in base:
                yield key, value

    def keys(self) -> KeysView[K]:
        return KeysView(self)

    def values(self) -> ValuesView[V]:
        return _Values(self)

    def items(self) -> ItemsView[K, V]:
        return _Items(self)

    def __repr__(self) -> str:
        return f"CowDict({dict(self.items())!r})"

    # -- changing -----------------------------------------------------------------------

    def __setitem__(self, key: K, value: V) -> None:
        delta = self._delta
        old = delta.get(key, _ABSENT)
        if old is _ABSENT:
            if key not in self._base:
                self._added += 1
        elif old is _DELETED:  # set again after a delete: a dict puts it last, so merge first
            self._merge()
            self._added += 1
            delta = self._delta
        delta[key] = value
        if len(delta) > self._limit:
            self._merge()

    @overload
    def pop(self, key: K, /) -> V: ...

    @overload
    def pop(self, key: K, default: V | D, /) -> V | D: ...

    def pop(self, key: K, default: Any = _ABSENT, /) -> Any:
        """A dict's ``pop`` in one step (``__delitem__``'s own, reading the value on the way)
        instead of the generic mapping's ``self[key]`` then ``del self[key]``."""
        delta = self._delta
        old = delta.get(key, _ABSENT)
        if key in self._base:
            if old is not _DELETED:
                value = self._base[key] if old is _ABSENT else old
                delta[key] = _DELETED
                self._removed += 1
                if len(delta) > self._limit:
                    self._merge()
                return value
        elif old is not _ABSENT:
            del delta[key]
            self._added -= 1
            return old
        if default is _ABSENT:
            raise KeyError(key)
        return default

    def __delitem__(self, key: K) -> None:
        self.pop(key)


class _Values(ValuesView[V]):
    """A values view that walks the base and the delta at C speed where it can."""

    _mapping: CowDict[Any, V]

    def __iter__(self) -> Iterator[V]:
        return self._mapping._values()


class _Items(ItemsView[K, V]):
    _mapping: CowDict[K, V]

    def __iter__(self) -> Iterator[tuple[K, V]]:
        return self._mapping._items()
