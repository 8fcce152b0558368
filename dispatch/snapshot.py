"""Snapshots of the whole dispatch state: compact bytes a restart starts from instead of
replaying the log from its first event.

The codec is generic: it walks every field of :class:`~dispatch.state.DispatchState` and of the
values inside it by their type hints, so a field the state gains is snapshotted with no change
here (a type the codec does not know fails loudly when the module is imported). Values are
stored in columns of plain data (one list per dataclass field; see ``_encode_col``), in frames
of at most :data:`CHUNK` entries of a field, each ``marshal`` data compressed with zlib (marshal
reads plain data about five times faster than JSON; its format is tied to the Python version,
which is part of the fingerprint below, so a Python upgrade means one full replay), behind a
magic tag and a SHA-256 of all frames, checked before anything is read: decoding holds one
frame's raw data at a time. Each snapshot carries a *schema
fingerprint* built from the same type hints (class names, field names and types, enum values):
a snapshot written by code with a different
state shape is refused with :class:`SnapshotError`, and the caller replays the log instead, so a
snapshot can never produce a wrong state. Pure: bytes in, bytes out, no files.

The closed history (callouts no longer open, their alarms) is stored apart, after the rest:
:func:`decode_snapshot_deferred` builds the state without it, with the keys it holds
(so "not decoded yet" is never mistaken for "not there"), and a :class:`Deferred` that decodes
it later; a shell can then answer with the board while the history is built.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import gc
import hashlib
import itertools
import marshal
import sys
import types
import typing
import zlib
from collections.abc import Callable, Iterator, Mapping, MutableSet
from datetime import datetime
from typing import Any, Union

from dispatch.cowdict import CowDict
from dispatch.errors import DispatchError
from dispatch.state import DispatchState

__all__ = [
    "DEFERRABLE",
    "SCHEMA_FINGERPRINT",
    "Deferred",
    "Inflate",
    "SnapshotError",
    "decode_snapshot",
    "decode_snapshot_deferred",
    "encode_snapshot",
    "inflate_frame",
    "merge_deferred",
    "state_from_data",
    "state_to_data",
]

_MAGIC = b"MAESNAP\x01"
_FORMAT = 3
_Codec = Callable[[Any], Any]


class SnapshotError(DispatchError, ValueError):
    """These bytes are not a snapshot this code can use (corrupt, truncated, or written for a
    different state shape); replay the log instead."""


@functools.cache
def _dataclass_hints(cls: type) -> tuple[tuple[str, Any], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls))


_PLAIN = (str, int, float, bool)


def _describe(hint: Any, seen: set[type]) -> str:
    """A stable text of ``hint``'s shape, for the schema fingerprint."""
    origin = typing.get_origin(hint)
    if origin is not None:
        args = ",".join(_describe(a, seen) if a is not Ellipsis else "..."
                        for a in typing.get_args(hint))
        # a CowDict is stored as a dict, a MutableSet (the open-callout index) as a set
        name = "Union" if origin in (Union, types.UnionType) else "dict" if origin is CowDict \
            else "set" if origin is MutableSet else getattr(origin, "__name__", str(origin))
        return f"{name}[{args}]"
    if hint is type(None):
        return "None"
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return f"{hint.__qualname__}<{','.join(repr(m.value) for m in hint)}>"
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if hint in seen:
            return hint.__qualname__
        seen.add(hint)
        inner = ";".join(f"{n}:{_describe(h, seen)}" for n, h in _dataclass_hints(hint))
        return f"{hint.__module__}.{hint.__qualname__}({inner})"
    if isinstance(hint, type):
        return hint.__qualname__
    raise TypeError(f"snapshot: cannot describe type {hint!r}")


def _scalar_decoder(hint: Any) -> _Codec | None:
    """How one stored scalar of type ``hint`` becomes the value (None: stored as it is)."""
    if hint is datetime:
        return datetime.fromisoformat
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return {m.value: m for m in hint}.__getitem__
    if hint in _PLAIN:
        return None
    return _NOT_SCALAR


def _not_scalar(value: Any) -> Any:  # a marker, never called
    raise AssertionError


_NOT_SCALAR: _Codec = _not_scalar


def _is_optional(hint: Any) -> Any:
    """``X`` if ``hint`` is ``X | None``, else None."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        rest = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(rest) != 1:
            raise TypeError(f"snapshot: only X | None unions are supported, not {hint!r}")
        return rest[0]
    return None


# Columns. A sequence of values of one type is stored as a column: scalars as a list, a
# dataclass as one column per field, a sequence of containers as their lengths plus one column
# of all their items. Decoding then builds each class with one ``map`` over its columns instead
# of one generic call per object per field, which is what makes a million-event state load in
# a fraction of a second.

def _encode_col(hint: Any, values: list[Any]) -> Any:
    """``values`` (all of type ``hint``) as one column of JSON-ready data."""
    inner = _is_optional(hint)
    if inner is not None:
        if _scalar_decoder(inner) is not _NOT_SCALAR:
            return _encode_scalars(inner, values)
        present = [v for v in values if v is not None]
        return [[0 if v is None else 1 for v in values], _encode_col(inner, present)]
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (tuple, list, set, frozenset, MutableSet):
        items = [sorted(v) if origin in (set, frozenset, MutableSet) else v for v in values]
        return [[len(v) for v in items], _encode_col(args[0], [x for v in items for x in v])]
    if origin in (dict, CowDict):
        if args[0] is not str:
            raise TypeError(f"snapshot: dict keys must be str, not {args[0]!r}")
        return [[len(v) for v in values], [k for v in values for k in v],
                _encode_col(args[1], [x for v in values for x in v.values()])]
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return [_encode_col(h, [getattr(v, name) for v in values])
                for name, h in _dataclass_hints(hint)]
    return _encode_scalars(hint, values)


def _encode_scalars(hint: Any, values: list[Any]) -> list[Any]:
    """A column of scalars (None kept as null)."""
    if hint is datetime:
        return [None if v is None else v.isoformat() for v in values]
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return [None if v is None else v.value for v in values]
    if hint in _PLAIN:
        return list(values)
    raise TypeError(f"snapshot: no encoding for type {hint!r}")


_MAKERS: dict[type, Callable[..., Any]] = {}


def _maker(cls: type) -> Callable[..., Any]:
    """A function building a ``cls`` from its field values in order. Slotted classes get
    their slots set directly: the values were checked when the snapshot's objects were first
    built, and the snapshot's checksum guarantees these are the same values."""
    made = _MAKERS.get(cls)
    if made is not None:
        return made
    names = [f.name for f in dataclasses.fields(cls)]
    if "__slots__" not in cls.__dict__ or any(f.kw_only for f in dataclasses.fields(cls)):
        made = (lambda *a: cls(**dict(zip(names, a, strict=True)))) if any(
            f.kw_only for f in dataclasses.fields(cls)) else cls
    else:
        env: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
        lines = []
        for i, name in enumerate(names):
            env[f"_s{i}"] = cls.__dict__[name].__set__
            lines.append(f"    _s{i}(o, a{i})")
        args = ", ".join(f"a{i}" for i in range(len(names)))
        src = f"def make({args}):\n    o = _new(_cls)\n" + "\n".join(lines) + "\n    return o\n"
        exec(src, env)  # the same technique dataclasses use to build __init__
        made = env["make"]
    _MAKERS[cls] = made
    return made


def _decode_col(hint: Any, col: Any, n: int) -> list[Any]:
    """The ``n`` values of :func:`_encode_col`'s column ``col``."""
    inner = _is_optional(hint)
    if inner is not None:
        scalar = _scalar_decoder(inner)
        if scalar is _NOT_SCALAR:
            flags, sub = col
            present = iter(_decode_col(inner, sub, sum(flags)))
            return [next(present) if f else None for f in flags]
        if scalar is None:
            return _checked(col, n)
        return [None if v is None else scalar(v) for v in _checked(col, n)]
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (tuple, list, set, frozenset, MutableSet):  # a MutableSet is read as a set
        lengths, sub = col
        items = _decode_col(args[0], sub, sum(_checked(lengths, n)))
        pieces = map(items.__getitem__, _slices(lengths))  # C loops: a million values
        return list(pieces) if origin is list else list(map(
            set if origin is MutableSet else origin, pieces))
    if origin in (dict, CowDict):  # a CowDict field takes the dict over (DispatchState)
        lengths, keys, sub = col
        vals = _decode_col(args[1], sub, len(keys))
        if len(vals) != len(keys):
            raise SnapshotError("snapshot dict column has the wrong length")
        spans = _slices(_checked(lengths, n))
        return [dict(zip(keys[span], vals[span], strict=True)) for span in spans]
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = _dataclass_hints(hint)
        if len(col) != len(hints):
            raise SnapshotError(f"snapshot columns of {hint.__qualname__} do not match")
        cols = []
        for i, (_, h) in enumerate(hints):
            cols.append(_decode_col(h, col[i], n))
            col[i] = None  # the raw column is done with: free it while the rest is built
        return list(map(_maker(hint), *cols))
    scalar = _scalar_decoder(hint)
    if scalar is _NOT_SCALAR:
        raise TypeError(f"snapshot: no decoding for type {hint!r}")
    if scalar is None:
        return _checked(col, n)
    return list(map(scalar, _checked(col, n)))


def _slices(lengths: list[int]) -> list[slice]:
    """Consecutive slices of the given lengths (0:2, 2:3, 3:3...)."""
    ends = list(itertools.accumulate(lengths))
    return list(map(slice, [0, *ends[:-1]], ends))


def _checked(col: Any, n: int) -> list[Any]:
    if not isinstance(col, list) or len(col) != n:
        raise SnapshotError("snapshot column has the wrong length")
    return col


_FORMAT_TAG = f"{_FORMAT}|columns|frames|deferred|marshal{marshal.version}|py{sys.version_info[:2]}"
_STATE_FIELDS = _dataclass_hints(DispatchState)

#: A digest of the state's shape (every class, field, type and enum value in it): a snapshot
#: made by code with another shape is refused rather than misread.
SCHEMA_FINGERPRINT = hashlib.sha256(
    f"{_FORMAT_TAG}|{_describe(DispatchState, set())}".encode()
).hexdigest()[:16]


def state_to_data(state: DispatchState) -> list[Any]:
    """Every field of ``state`` as JSON-ready data (one column of one state)."""
    data: list[Any] = _encode_col(DispatchState, [state])
    return data


def state_from_data(data: Any) -> DispatchState:
    """The state :func:`state_to_data` was given (``data`` is used up: its columns are freed
    as they are decoded); :class:`SnapshotError` if it does not have the shape of this code's
    state."""
    try:
        (state,) = _decode_col(DispatchState, data, 1)
    except SnapshotError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, StopIteration,
            DispatchError) as exc:
        raise SnapshotError(f"snapshot state is malformed: {type(exc).__name__}") from exc
    if not isinstance(state, DispatchState):
        raise SnapshotError("snapshot state is malformed")
    return state


#: Entries of a dict, list or set field stored per frame: decoding holds one frame's raw data
#: at a time beside the state being built, not the whole state's.
CHUNK = 20_000
_LEN = 4


def _chunks(value: Any) -> list[Any]:
    """``value`` (one state field) in pieces of at most :data:`CHUNK` entries."""
    if isinstance(value, dict | CowDict) and len(value) > CHUNK:
        items = list(value.items())
        return [dict(items[i:i + CHUNK]) for i in range(0, len(items), CHUNK)]
    if isinstance(value, list | set) and len(value) > CHUNK:
        items = sorted(value) if isinstance(value, set) else value
        kind = type(value)
        return [kind(items[i:i + CHUNK]) for i in range(0, len(items), CHUNK)]
    return [value]


def _merge(pieces: list[Any]) -> Any:
    first = pieces[0]
    for piece in pieces[1:]:
        if isinstance(first, dict):
            first.update(piece)
        elif isinstance(first, list):
            first.extend(piece)
        elif isinstance(first, set):
            first.update(piece)
        else:
            raise SnapshotError("snapshot field in pieces is not a container")
    return first


def _frame(doc: Any) -> bytes:
    body = zlib.compress(marshal.dumps(doc), 1)
    return len(body).to_bytes(_LEN, "big") + body


def _split_frames(payload: bytes) -> list[bytes]:
    """The compressed frames of a payload (for tests and tools that inspect snapshots)."""
    frames, at = [], 0
    while at < len(payload):
        size = int.from_bytes(payload[at:at + _LEN], "big")
        frames.append(payload[at + _LEN:at + _LEN + size])
        at += _LEN + size
    return frames


def _seal(frames: list[bytes]) -> bytes:
    """Frames (each already length-prefixed) behind the magic tag and their SHA-256."""
    payload = b"".join(frames)
    return _MAGIC + hashlib.sha256(payload).digest() + payload


#: The state fields (dicts) whose entries about the closed history are stored apart.
DEFERRABLE = ("callouts", "alarms", "alarm_callout")


def _board_keys(state: DispatchState) -> dict[str, set[str]] | None:
    """The keys of each :data:`DEFERRABLE` field a board needs at once: the open callouts
    (and any a unit is on), their alarms and the alarms filed under them; None when a field
    is not a plain dict or the state's :class:`CowDict` (then nothing is deferred)."""
    fields = {name: getattr(state, name) for name in DEFERRABLE}
    if any(type(value) not in (dict, CowDict) for value in fields.values()):
        return None
    callouts = {cid for cid in state.open_ids if cid in state.callouts}
    callouts |= {u.callout_id for u in state.units.values()
                 if u.callout_id is not None and u.callout_id in state.callouts}
    alarms = {a for cid in callouts for a in state.callouts[cid].alarm_ids}
    alarms |= {a for a, cid in state.alarm_callout.items() if cid in callouts}
    return {"callouts": callouts, "alarms": alarms, "alarm_callout": alarms}


def encode_snapshot(state: DispatchState, extra: Mapping[str, Any] | None = None) -> bytes:
    """``state`` (and the caller's JSON-ready ``extra``) as compact, checksummed bytes: a
    header frame, then each field of the state in frames of at most :data:`CHUNK` entries,
    the entries of the closed history last (each deferred field: its keys in order, then
    its entries)."""
    body: list[bytes] = []
    layout: list[list[Any]] = []
    deferred: list[list[Any]] = []
    later: list[bytes] = []
    board = _board_keys(state)
    hints = dict(_STATE_FIELDS)
    for name, hint in _STATE_FIELDS:
        value = getattr(state, name)
        if board is not None and name in board:
            keep = board[name]
            now = {k: v for k, v in value.items() if k in keep}
            rest = {k: v for k, v in value.items() if k not in keep}
            pieces = _chunks(rest)
            deferred.append([name, list(rest), len(pieces) + 1])
            later.append(_frame(list(value)))
            later.extend(_frame(_encode_col(hints[name], [piece])) for piece in pieces)
            value = now
        pieces = _chunks(value)
        layout.append([name, len(pieces)])
        body.extend(_frame(_encode_col(hint, [piece])) for piece in pieces)
    header = {"format": _FORMAT, "schema": SCHEMA_FINGERPRINT, "seq": state.last_seq,
              "fields": layout, "deferred": deferred, "extra": dict(extra or {})}
    return _seal([_frame(header), *body, *later])


#: Turns the compressed frames into their marshal bytes, in order (:func:`inflate_frame` on
#: each). The default does it in line; a shell may pass one that inflates the next frame in a
#: worker thread while this one is built (zlib releases the GIL), as ``web.snapshots`` does.
Inflate = Callable[[list[bytes]], Iterator[bytes]]


def inflate_frame(frame: bytes) -> bytes:
    """One frame's marshal bytes (only after the checksum matched)."""
    return zlib.decompress(frame)


def _inflate_inline(frames: list[bytes]) -> Iterator[bytes]:
    for i, frame in enumerate(frames):
        frames[i] = b""  # free the compressed frame as soon as it is inflated
        yield inflate_frame(frame)


def decode_snapshot(blob: bytes, *, inflate: Inflate | None = None
                    ) -> tuple[DispatchState, dict[str, Any]]:
    """The state and ``extra`` of :func:`encode_snapshot`'s bytes, whole; :class:`SnapshotError`
    if they are corrupt or were written for a different state shape. ``inflate`` decompresses
    the frames of state fields (see :data:`Inflate`)."""
    collecting = gc.isenabled()
    gc.disable()  # millions of new objects: the cycle collector would double the time
    try:
        state, extra, later = decode_snapshot_deferred(blob, inflate=inflate)
        if later is not None:
            for name, (order, rest) in later.load(inflate).items():
                setattr(state, name, merge_deferred(order, rest, getattr(state, name)))
        return state, extra
    finally:
        if collecting:
            gc.enable()


class Deferred:
    """The closed history of a snapshot, not decoded yet. ``keys`` names, per deferred field,
    the keys it holds (a lookup of one of them must wait for :meth:`load`; any other key
    missing from the state is truly not there)."""

    def __init__(self, keys: dict[str, frozenset[str]], frames: list[bytes],
                 counts: list[tuple[str, int]], decoded: dict[str, int]) -> None:
        self.keys = keys
        self._frames = frames
        self._counts = counts
        self._decoded = decoded  # entries each field had decoded at once

    def load(self, inflate: Inflate | None = None) -> dict[str, tuple[list[str], dict[str, Any]]]:
        """Per deferred field: every key it had in the snapshot, in order, and the deferred
        entries (pure; safe in a worker thread: it touches no state). Once only."""
        frames, self._frames = self._frames, []
        raw = (inflate or _inflate_inline)(frames)
        hints = dict(_STATE_FIELDS)
        out: dict[str, tuple[list[str], dict[str, Any]]] = {}
        try:
            for name, count in self._counts:
                order = marshal.loads(next(raw))
                pieces = [_decode_col(hints[name], marshal.loads(next(raw)), 1)[0]
                          for _ in range(count - 1)]
                rest = _merge(pieces)
                if not isinstance(order, list) or not isinstance(rest, dict) or \
                        set(rest) != self.keys[name] or \
                        len(order) != len(rest) + self._decoded[name]:
                    raise SnapshotError(f"snapshot history of {name} does not match its keys")
                out[name] = (order, rest)
        except (zlib.error, ValueError, TypeError, KeyError, IndexError, EOFError,
                StopIteration) as exc:
            if isinstance(exc, SnapshotError):
                raise
            raise SnapshotError(f"snapshot history does not decode ({type(exc).__name__})"
                                ) from exc
        return out


def merge_deferred(order: list[str], rest: Mapping[str, Any], now: Mapping[str, Any]
                   ) -> dict[str, Any]:
    """One deferred field whole again, in the order a replay builds it: the snapshot's keys in
    their order with the deferred entries and the entries ``now`` (the part decoded first,
    as later events left it), then the keys those events added."""
    whole: dict[str, Any] = dict.fromkeys(order)
    whole.update(rest)
    whole.update(now)
    return whole


def decode_snapshot_deferred(blob: bytes, *, inflate: Inflate | None = None
                             ) -> tuple[DispatchState, dict[str, Any], Deferred | None]:
    """:func:`decode_snapshot` without the closed history: the state as the board needs it
    (the deferred fields hold only their open entries) and the :class:`Deferred` that decodes
    the rest (None if the snapshot has none). The checksum covers both: it is checked here."""
    head = len(_MAGIC) + 32
    if len(blob) < head or blob[:len(_MAGIC)] != _MAGIC:
        raise SnapshotError("not a snapshot (bad magic)")
    payload = blob[head:]
    if hashlib.sha256(payload).digest() != blob[len(_MAGIC):head]:
        raise SnapshotError("snapshot checksum does not match (corrupt or truncated)")
    collecting = gc.isenabled()
    gc.disable()  # millions of new objects: the cycle collector would double the time
    try:
        return _decode(_split_frames(payload), inflate or _inflate_inline)
    except (zlib.error, ValueError, TypeError, KeyError, IndexError, EOFError) as exc:
        if isinstance(exc, SnapshotError):
            raise
        raise SnapshotError(f"snapshot does not decode ({type(exc).__name__})") from exc
    finally:
        if collecting:
            gc.enable()


def _load(frame: bytes) -> Any:
    return marshal.loads(inflate_frame(frame))  # only after the checksum matched


def _decode(frames: list[bytes], inflate: Inflate
            ) -> tuple[DispatchState, dict[str, Any], Deferred | None]:
    if not frames:
        raise SnapshotError("snapshot has no header")
    header = _load(frames[0])
    if not isinstance(header, dict) or header.get("format") != _FORMAT:
        raise SnapshotError("snapshot format is not one this code reads")
    if header.get("schema") != SCHEMA_FINGERPRINT:
        raise SnapshotError("snapshot was written for a different state shape")
    layout = header.get("fields")
    if not isinstance(layout, list) or [f[0] for f in layout] != [n for n, _ in _STATE_FIELDS]:
        raise SnapshotError("snapshot fields do not match this code's state")
    deferred = header.get("deferred")
    if not isinstance(deferred, list) or \
            not {d[0] for d in deferred} <= set(DEFERRABLE) & dict(_STATE_FIELDS).keys():
        raise SnapshotError("snapshot deferred fields do not match this code's state")
    n_now = sum(int(count) for _, count in layout)
    if n_now + sum(int(d[2]) for d in deferred) != len(frames) - 1:
        raise SnapshotError("snapshot frames are missing or extra")
    values: dict[str, Any] = {}
    raw = inflate(frames[1:1 + n_now])
    for (name, hint), (_, count) in zip(_STATE_FIELDS, layout, strict=True):
        pieces = []
        for _ in range(int(count)):
            pieces.append(_decode_col(hint, marshal.loads(next(raw)), 1)[0])
        values[name] = _merge(pieces)
    try:
        state = DispatchState(**values)
    except (TypeError, ValueError, DispatchError) as exc:
        raise SnapshotError(f"snapshot state is malformed: {type(exc).__name__}") from exc
    if state.last_seq != header.get("seq"):
        raise SnapshotError("snapshot seq does not match its state")
    extra = header.get("extra")
    later = None
    if deferred:
        later = Deferred({str(d[0]): frozenset(d[1]) for d in deferred},
                         frames[1 + n_now:], [(str(d[0]), int(d[2])) for d in deferred],
                         {str(d[0]): len(values[str(d[0])]) for d in deferred})
    return state, extra if isinstance(extra, dict) else {}, later
