"""Playing an event log back: reading and checking the log, and a player with no I/O and no clock.

:func:`load_replay` reads a log of envelopes as JSON lines (what ``mae simulate --export-log``
writes) and checks it by folding it once with :meth:`DispatchState.apply`, the live service's
fold; a bad line is an error on ``name`` that says which line and why. Checked logs are
immutable and the last few are kept for the next viewer. A :class:`Player` holds
one client's board as of a simulated time and turns play, pause, speed and seek into the
messages of the /ws/dispatch protocol, rendered with the live views (:mod:`web.views`,
:class:`~web.visibility.Viewer`). The socket shell is :mod:`web.replay`.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import re
import threading
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from dispatch.events import Envelope, event_from_dict
from dispatch.state import DispatchState
from web.errors import BadMessage
from web.views import board_snapshot, dumps, track_eta
from web.visibility import Audience, Viewer, audience_of

__all__ = ["MAX_SPEED", "MIN_SPEED", "Player", "ReplayLog", "list_replays", "load_replay",
           "replay_path"]

MIN_SPEED, MAX_SPEED, DEFAULT_SPEED = 0.5, 3600.0, 60.0
CHECKPOINT_EVERY = 2_000  # events between saved boards (a backwards seek folds from one)
#: A forward seek past more events than this sends a snapshot at the time sought instead of
#: each event: a seek across months of a year's log overflowed the socket's queue, which
#: closed it, and the page's reconnect started the replay again from its beginning.
SEEK_EVENTS_MAX = 1_000
CACHE_SIZE = 4  # checked logs kept for the next viewer (keyed by path, mtime and size)
MAX_LOG_BYTES = 200_000_000
SUFFIX = ".jsonl"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,119}")
_cache: dict[tuple[Path, int, int], ReplayLog] = {}
_cache_lock = threading.Lock()
_FIELDS: dict[str, frozenset[str]] = {
    "play": frozenset(), "pause": frozenset(), "speed": frozenset({"speed"}),
    "seek": frozenset({"at"}), "clock": frozenset(),
}


class _Board:
    """The folded state and the expected arrivals, kept as the live service keeps them."""

    __slots__ = ("eta_at", "state")

    def __init__(self, state: DispatchState | None = None,
                 eta_at: dict[str, datetime] | None = None) -> None:
        self.state = state if state is not None else DispatchState()
        self.eta_at = eta_at if eta_at is not None else {}

    def apply(self, env: Envelope) -> Audience:
        audience = audience_of(self.state, env.event)
        self.state.apply(env)
        track_eta(self.eta_at, env.event)
        return audience

    def copy(self) -> _Board:
        """A board that shares only immutable values with this one."""
        s = self.state
        clone = DispatchState(**{f.name: copy.copy(getattr(s, f.name))
                                 for f in dataclasses.fields(s)})
        return _Board(clone, dict(self.eta_at))


@dataclass(frozen=True, slots=True)
class ReplayLog:
    """A checked event log: its envelopes, when each shows and boards saved along the way."""

    name: str
    envelopes: tuple[Envelope, ...]
    times: tuple[datetime, ...]  # each event's time, never before an earlier event's
    checkpoints: tuple[tuple[int, _Board], ...]  # (n, the board after the first n events)

    @property
    def start(self) -> datetime:
        return self.times[0]

    @property
    def end(self) -> datetime:
        return self.times[-1]

    def count_until(self, at: datetime) -> int:
        """How many events happened at or before ``at``."""
        return bisect_right(self.times, at)

    def board_after(self, n: int) -> _Board:
        """A fresh board with the first ``n`` events applied."""
        i = bisect_right([k for k, _ in self.checkpoints], n) - 1
        k, saved = self.checkpoints[i]
        board = saved.copy()
        for env in self.envelopes[k:n]:
            board.apply(env)
        return board


def replay_path(directory: Path, name: str | None) -> Path:
    """The log file called ``name`` (with or without ``.jsonl``) inside ``directory``."""
    if not name:
        raise BadMessage("name", "give the name of a replay log (GET /api/replays lists them)")
    stem = name[: -len(SUFFIX)] if name.endswith(SUFFIX) else name
    if not _NAME.fullmatch(stem) or ".." in stem:
        raise BadMessage("name", "a replay name is letters, digits, '-', '_' and '.' "
                         "(GET /api/replays lists them)")
    root = directory.resolve()
    path = (root / (stem + SUFFIX)).resolve()
    if path.parent != root or not path.is_file():
        known = ", ".join(_names(directory)[:10]) or "none"
        raise BadMessage("name", f"there is no replay log {stem!r}; the logs are: {known}")
    return path


def _line_problem(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"refers to {exc.args[0]!r}, which no earlier event created"
    if isinstance(exc, UnicodeDecodeError):
        return "is not UTF-8 text"
    return str(exc)[:200] or type(exc).__name__


def _parse_line(raw: bytes) -> Envelope:
    data = json.loads(raw.decode("utf-8"))
    if not isinstance(data, dict):
        raise ValueError("is not a JSON object")
    seq = data.pop("seq", None)
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise ValueError("has no whole-number 'seq'")
    env = Envelope(seq, event_from_dict(data))
    at = env.event.at
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise ValueError("its time 'at' has no UTC offset")
    return env


def load_replay(directory: Path, name: str | None) -> ReplayLog:
    """Read and check the log ``name`` of ``directory`` by folding it once; a bad line is a
    :class:`BadMessage` on ``name`` saying which line and why."""
    path = replay_path(directory, name)
    stem = path.name[: -len(SUFFIX)]
    try:
        st = path.stat()
        key = (path, st.st_mtime_ns, st.st_size)
        with _cache_lock:
            cached = _cache.get(key)
        if cached is not None:
            return cached
        log = _read(path, stem, st.st_size)
    except OSError as exc:  # removed or unreadable since it was found
        raise BadMessage("name", f"{stem}: the log cannot be read ({exc.strerror})") from None
    with _cache_lock:
        _cache[key] = log
        while len(_cache) > CACHE_SIZE:
            del _cache[next(iter(_cache))]
    return log


def _read(path: Path, stem: str, size: int) -> ReplayLog:
    if size > MAX_LOG_BYTES:
        raise BadMessage("name", f"{stem}: the log is larger than {MAX_LOG_BYTES // 10**6} MB")
    board = _Board()
    envelopes: list[Envelope] = []
    times: list[datetime] = []
    checkpoints = [(0, board.copy())]
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                env = _parse_line(raw)
                board.apply(env)
            except Exception as exc:  # whatever a line breaks, it is the log's fault
                raise BadMessage("name", f"{stem}: line {n} is not a valid event: "
                                 f"{_line_problem(exc)}") from None
            envelopes.append(env)
            times.append(max(env.event.at, times[-1]) if times else env.event.at)
            if len(envelopes) % CHECKPOINT_EVERY == 0:
                checkpoints.append((len(envelopes), board.copy()))
    if not envelopes:
        raise BadMessage("name", f"{stem}: the log has no events")
    return ReplayLog(stem, tuple(envelopes), tuple(times), tuple(checkpoints))


def _summary(path: Path) -> dict[str, Any]:
    """Name, event count and first/last event time, read from the first and last lines only
    (the socket checks every line when it loads the log)."""
    count, first, last = 0, b"", b""
    out: dict[str, Any] = {"name": path.stem, "events": 0, "first_at": None,
                           "last_at": None, "problem": None}
    try:
        with path.open("rb") as fh:
            for raw in fh:
                if raw.strip():
                    count += 1
                    first = first or raw
                    last = raw
    except OSError as exc:
        out["problem"] = f"the log cannot be read ({exc.strerror})"
        return out
    out["events"] = count
    if not count:
        out["problem"] = "the log has no events"
        return out
    for key, raw in (("first_at", first), ("last_at", last)):
        try:
            out[key] = _parse_line(raw).event.at
        except Exception as exc:  # a broken line is reported, not raised
            out["problem"] = f"{'first' if key == 'first_at' else 'last'} event is not valid: " \
                             f"{_line_problem(exc)}"
    return out


def _logs(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return [p for p in sorted(directory.glob("*" + SUFFIX))
            if p.is_file() and _NAME.fullmatch(p.stem)]


def _names(directory: Path) -> list[str]:
    return [p.stem for p in _logs(directory)]


def list_replays(directory: Path) -> list[dict[str, Any]]:
    """The replay logs in ``directory``, by name."""
    return [_summary(p) for p in _logs(directory)]


class Player:
    """One client's replay: the board as of simulated time ``at``, how fast it plays and
    whether it plays. Methods return the messages (JSON text) to send, in order."""

    def __init__(self, log: ReplayLog, viewer: Viewer) -> None:
        self.log = log
        self.viewer = viewer
        self.speed = DEFAULT_SPEED
        self.playing = False
        self.at = log.start
        self.pos = 0  # events applied
        self.board = _Board()

    # -- reading --------------------------------------------------------------------------

    def snapshot(self) -> str:
        return dumps(board_snapshot(self.board.state, with_text=self.viewer.sees_text,
                                     eta_at=self.board.eta_at))

    def clock(self) -> dict[str, Any]:
        return {"type": "clock", "at": self.at.isoformat(), "speed": self.speed,
                "playing": self.playing, "start": self.log.start.isoformat(),
                "end": self.log.end.isoformat(), "name": self.log.name}

    # -- moving ---------------------------------------------------------------------------

    def _reset(self, at: datetime) -> None:
        self.pos = self.log.count_until(at)
        self.board = self.log.board_after(self.pos)
        self.at = at

    def _forward(self, at: datetime) -> list[str]:
        """Apply and render the events up to ``at``."""
        out = []
        log = self.log
        while self.pos < len(log.envelopes) and log.times[self.pos] <= at:
            env = log.envelopes[self.pos]
            message = self.viewer.render(env, self.board.apply(env))
            self.pos += 1
            if message is not None:
                out.append(dumps(message))
        self.at = max(self.at, at)
        return out

    def start(self, since: int | None) -> list[str]:
        """The first messages: a snapshot at the log's start, or (resuming) the events after
        ``since`` at that event's time; then ``ready`` and the clock."""
        n = len(self.log.envelopes)
        if since is None:
            self._reset(self.log.start)
            out = [self.snapshot()]
        elif 0 <= since <= n:
            self.pos, self.board = since, self.log.board_after(since)
            self.at = self.log.times[since - 1] if since else self.log.start
            out = self._forward(self.at)
        else:
            raise BadMessage("since", f"must be between 0 and {n}, the end of the log")
        return [*out, dumps({"type": "ready", "seq": self.board.state.last_seq}),
                dumps(self.clock())]

    def advance(self, wall_s: float) -> list[str]:
        """Play ``wall_s`` seconds of wall time at the current speed (nothing when paused);
        reaching the end of the log pauses."""
        if not self.playing:
            return []
        target = min(self.log.end, self.at + timedelta(seconds=self.speed * wall_s))
        out = self._forward(target)
        if target >= self.log.end:
            self.playing = False
        return out

    def seek(self, at: datetime) -> list[str]:
        """Forwards: the events up to ``at`` (a snapshot of the board at ``at`` if there are
        more than ``SEEK_EVENTS_MAX``); backwards: a snapshot of the board at ``at``."""
        if at >= self.at and self.log.count_until(at) - self.pos <= SEEK_EVENTS_MAX:
            return self._forward(at)
        self._reset(at)
        return [self.snapshot()]

    def control(self, data: dict[str, Any]) -> list[str]:
        """Act on a client's message (already a JSON object); returns what to send, the clock
        last. Raises :class:`BadMessage` naming the field of a bad one (and changes nothing)."""
        kind = data.get("type")
        if not isinstance(kind, str) or kind not in _FIELDS:
            raise BadMessage("type", f"{kind!r} is not one of clock, pause, ping, play, seek, "
                             "speed")
        for key in data:
            if key not in _FIELDS[kind] | {"type", "id"}:
                raise BadMessage(key, f"unknown field for {kind}")
        out: list[str] = []
        if kind == "play":
            if self.at >= self.log.end:  # at the end: play from the start again
                out = self.seek(self.log.start)
            self.playing = True
        elif kind == "pause":
            self.playing = False
        elif kind == "speed":
            self.speed = _speed(data.get("speed"))
        elif kind == "seek":
            out = self.seek(_time(data.get("at"), self.log))
        return [*out, dumps(self.clock())]


def _speed(value: Any) -> float:
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not math.isfinite(value) or not MIN_SPEED <= value <= MAX_SPEED):
        raise BadMessage("speed", f"must be a number from {MIN_SPEED:g} to {MAX_SPEED:g} "
                         "(simulated seconds per second)")
    return float(value)


def _time(value: Any, log: ReplayLog) -> datetime:
    if not isinstance(value, str):
        raise BadMessage("at", "give an ISO 8601 time with its UTC offset")
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise BadMessage("at", f"{value[:40]!r} is not an ISO 8601 time") from None
    if at.tzinfo is None:
        raise BadMessage("at", "give the time with its UTC offset (e.g. +00:00)")
    if not log.start <= at <= log.end:
        raise BadMessage("at", f"must be within the log, {log.start.isoformat()} to "
                         f"{log.end.isoformat()}")
    return at
