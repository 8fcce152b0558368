"""The closed history of a restored snapshot, decoded after the service's port opens.

A snapshot stores the closed history (callouts no longer open, their alarms) apart from the
board (:func:`dispatch.snapshot.decode_snapshot_deferred`). :class:`PendingHistory` decodes
it in a worker thread; meanwhile the state's dicts of those entries are :class:`PartialDict`,
which answer every key they hold and make a lookup of a key the history holds, or a walk over
them all, wait for it: a reader gets the log's state or waits, never a part of it.
:meth:`PendingHistory.complete` then puts plain, whole dicts back, in the replay's order.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from dispatch.snapshot import Deferred, Inflate, SnapshotError, merge_deferred
from dispatch.state import DispatchState

__all__ = ["PartialDict", "PendingHistory"]


class PendingHistory:
    """The closed history of a restored snapshot, decoded in a worker thread once the port is
    open (:meth:`start`), or right away in the thread that needs it first."""

    def __init__(self, deferred: Deferred, *, inflate: Inflate | None = None) -> None:
        self._deferred = deferred
        self._inflate = inflate
        self.fields = tuple(deferred.keys)
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._parts: dict[str, tuple[list[str], dict[str, Any]]] = {}
        self._error: SnapshotError | None = None

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def start(self) -> None:
        """Decode in a worker thread (once)."""
        with self._lock:
            if self._thread is None and not self._done.is_set():
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="mae-snapshot-history")
                self._thread.start()

    def _run(self) -> None:
        try:
            self._parts = self._deferred.load(self._inflate)
        except SnapshotError as exc:
            self._error = exc
        except Exception as exc:  # a bug: readers must not wait for ever
            self._error = SnapshotError(f"snapshot history failed: {type(exc).__name__}")
        finally:
            self._done.set()

    def load_now(self) -> None:
        """Decode here, unless a worker thread is at it: then wait for it."""
        with self._lock:
            run_here = self._thread is None and not self._done.is_set()
            if run_here:
                self._thread = threading.current_thread()
        if run_here:
            self._run()
        self._done.wait()
        if self._error is not None:
            raise self._error

    def part(self, name: str) -> dict[str, Any]:
        """The deferred entries of field ``name`` (waits for them)."""
        self.load_now()
        return self._parts[name][1]

    def whole(self, name: str, now: dict[str, Any]) -> dict[str, Any]:
        """Field ``name`` whole, given its entries decoded at once as they are ``now``."""
        self.load_now()
        order, rest = self._parts[name]
        return merge_deferred(order, rest, now)

    def wrap(self, state: DispatchState) -> None:
        """Make the state's deferred fields :class:`PartialDict` over this history."""
        for name in self.fields:
            setattr(state, name, PartialDict(getattr(state, name), name, self,
                                             self._deferred.keys[name]))

    def complete(self, state: DispatchState) -> None:
        """Make the state's deferred fields plain, whole dicts again (waits for the history;
        on the event loop: nothing changes the state meanwhile)."""
        for name in self.fields:
            value = getattr(state, name)
            now = dict(dict.items(value)) if isinstance(value, PartialDict) else value
            setattr(state, name, self.whole(name, now))


class PartialDict(dict[str, Any]):
    """A state dict whose closed history is still being decoded (:class:`PendingHistory`).

    Its own entries are those decoded at once (and whatever events set since); ``elsewhere``
    are the keys the history holds. Reading one of those, or walking the whole dict, waits for
    the history; any other key missing is truly missing. Writes go to the dict's own entries,
    which win over the history's when it is joined (:meth:`PendingHistory.complete`)."""

    __slots__ = ("_elsewhere", "_history", "_name")

    def __init__(self, now: dict[str, Any], name: str, history: PendingHistory,
                 elsewhere: frozenset[str]) -> None:
        super().__init__(now)
        self._name = name
        self._history = history
        self._elsewhere = elsewhere

    def _whole(self) -> dict[str, Any]:
        return self._history.whole(self._name, dict(dict.items(self)))

    def __getitem__(self, key: str) -> Any:
        try:
            return dict.__getitem__(self, key)
        except KeyError:
            if key in self._elsewhere:
                return self._history.part(self._name)[key]
            raise

    def get(self, key: str, default: Any = None) -> Any:
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        if key in self._elsewhere:
            return self._history.part(self._name)[key]
        return default

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or key in self._elsewhere

    def __iter__(self) -> Iterator[str]:
        return iter(self._whole())

    def __reversed__(self) -> Iterator[str]:
        return reversed(self._whole())

    def __len__(self) -> int:
        return len(self._whole())

    def keys(self) -> Any:
        return self._whole().keys()

    def values(self) -> Any:
        return self._whole().values()

    def items(self) -> Any:
        return self._whole().items()

    def copy(self) -> dict[str, Any]:
        return self._whole()

    def __eq__(self, other: object) -> bool:
        return self._whole() == other

    def __ne__(self, other: object) -> bool:
        return self._whole() != other

    __hash__ = None

    def __repr__(self) -> str:
        return f"PartialDict({dict.__len__(self)} decoded, {len(self._elsewhere)} pending)"

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key: str, *default: Any) -> Any:
        raise TypeError("entries are never removed from the dispatch state")

    def popitem(self) -> tuple[str, Any]:
        raise TypeError("entries are never removed from the dispatch state")
