"""What the service keeps beside the core's state as events are applied: who may see each of
the most recent events, and when assigned units are expected.

The audience of an event is judged on the state just before it, so it cannot be worked out
again later; it is kept for a bounded window of recent events (setting ``backlog_events``),
not for the whole log, so memory does not grow with the log and a restart from a snapshot
needs no old events. A client resuming with a ``since=`` older than the window gets the current
state instead of a backlog (:attr:`AudienceWindow.first_seq` says where the window starts);
a callout's history covers the window. Both parts are saved in snapshots
(:meth:`LogIndex.to_data`), so the window survives a restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, overload

from web.visibility import Audience

__all__ = ["DEFAULT_WINDOW", "AudienceWindow", "LogIndex"]

DEFAULT_WINDOW = 200_000


class AudienceWindow:
    """The audience of each seq from :attr:`first_seq` to the last applied one, at least the
    last ``size`` of them. Indexed by seq like the list it replaces; equal audiences share one
    object (most events concern one unit or one callout)."""

    def __init__(self, size: int = DEFAULT_WINDOW, *, first_seq: int = 1) -> None:
        if size < 1:
            raise ValueError("the audience window must hold at least one event")
        self.size = size
        self._first = first_seq
        self._items: list[Audience] = []
        self._shared: dict[Audience, Audience] = {}

    @property
    def first_seq(self) -> int:
        """The oldest seq whose audience is known (the next seq when none is)."""
        return self._first

    @property
    def last_seq(self) -> int:
        return self._first + len(self._items) - 1

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, seq: object) -> bool:
        return isinstance(seq, int) and self._first <= seq <= self.last_seq

    @overload
    def __getitem__(self, seq: int) -> Audience: ...

    @overload
    def __getitem__(self, seq: slice) -> list[Audience]: ...

    def __getitem__(self, seq: int | slice) -> Audience | list[Audience]:
        """The audience of one seq (KeyError outside the window), or for ``[a:b]`` those of
        the seqs from ``a`` up to ``b`` that are in the window (so ``[a:b]`` starts at
        ``max(a, first_seq)``: callers that need seq ``a`` check :attr:`first_seq`)."""
        if isinstance(seq, slice):
            if seq.step not in (None, 1):
                raise ValueError("the audience window slices by seq, without a step")
            start = max(seq.start if seq.start is not None else self._first, self._first)
            stop = seq.stop if seq.stop is not None else self.last_seq + 1
            return self._items[start - self._first:max(stop - self._first, 0)]
        if not self._first <= seq <= self.last_seq:
            raise KeyError(f"seq {seq} is outside the kept window "
                           f"{self._first}..{self.last_seq}")
        return self._items[seq - self._first]

    def append(self, audience: Audience) -> None:
        """The audience of the next seq; the oldest fall out once the window is a quarter
        over its size (trimmed in batches, so appending stays O(1) amortised)."""
        self._items.append(self._shared.setdefault(audience, audience))
        if len(self._items) > self.size + self.size // 4:
            drop = len(self._items) - self.size
            del self._items[:drop]
            self._first += drop
            self._shared = {a: a for a in self._items}

    def copy(self) -> AudienceWindow:
        other = AudienceWindow(self.size, first_seq=self._first)
        other._items = list(self._items)
        other._shared = dict(self._shared)
        return other

    def to_data(self) -> dict[str, Any]:
        """JSON-ready: each distinct audience once, then one number per seq."""
        table: dict[Audience, int] = {}
        seqs = [table.setdefault(a, len(table)) for a in self._items]
        return {"first": self._first, "seqs": seqs,
                "table": [[sorted(a.agencies), sorted(a.units), sorted(a.callouts)]
                          for a in table]}

    @classmethod
    def from_data(cls, data: dict[str, Any], *, size: int) -> AudienceWindow:
        table = [Audience(frozenset(a), frozenset(u), frozenset(c)) for a, u, c in data["table"]]
        window = cls(size, first_seq=int(data["first"]))
        window._items = list(map(table.__getitem__, data["seqs"]))  # 200,000: a C loop
        window._shared = {a: a for a in table}
        if len(window._items) > size:  # the window setting shrank since the snapshot
            drop = len(window._items) - size
            del window._items[:drop]
            window._first += drop
        return window


@dataclass
class LogIndex:
    """The audience of each recent seq (so a backlog is filtered without re-deriving it) and
    the expected arrival of each assigned unit, by callout."""

    audiences: AudienceWindow = field(default_factory=AudienceWindow)
    eta_at: dict[str, datetime] = field(default_factory=dict)

    def copy(self) -> LogIndex:
        """A copy later events do not change (for a snapshot written off the event loop)."""
        return LogIndex(self.audiences.copy(), dict(self.eta_at))

    def to_data(self) -> dict[str, Any]:
        return {"audiences": self.audiences.to_data(),
                "eta_at": {k: v.isoformat() for k, v in sorted(self.eta_at.items())}}

    def restore(self, data: dict[str, Any]) -> None:
        """Take the contents :meth:`to_data` saved (in place: the service's parts share this
        object); raises KeyError, TypeError or ValueError if ``data`` is malformed."""
        audiences = AudienceWindow.from_data(data["audiences"], size=self.audiences.size)
        eta_at = {str(k): datetime.fromisoformat(v) for k, v in data["eta_at"].items()}
        self.audiences = audiences
        self.eta_at.clear()
        self.eta_at.update(eta_at)
