"""Events: every change to the dispatch state, as plain immutable records, and their JSON form.

The state is a fold of these events (:mod:`dispatch.state`); the event log stores them as JSON
through :func:`event_to_dict` / :func:`event_from_dict`. Decisions (which callout an alarm
joins, which unit is assigned) are made before an event is written and recorded in it, so
replaying the log never has to decide anything again.

Schema versions. Each event type's stored form has a version, one number per type (not per log
or per release) in :data:`SCHEMA_VERSIONS`, and every encoded event carries it beside its type:
``{"type": "NoteAdded", "v": 1, "at": …}``. It covers the whole payload, nested values
included (a change to :class:`~dispatch.model.Alarm`'s fields is a new version of
``AlarmReceived``). An event stored without ``"v"`` (every log written before versions existed)
is version 1. Logs are never rewritten; instead, when a type renames, drops or re-means a field:

1. raise its number in :data:`SCHEMA_VERSIONS` and change the dataclass;
2. register an *upcaster* for the old version, a function from the stored dict of version N to
   the dict of version N + 1, with ``@upcaster("NoteAdded", 1)``.

:func:`event_from_dict` applies the upcasters of a type in order, from the stored version up to
the current one, before it builds the dataclass, so the fold and everything else only ever see
current events. An event newer than this code, or a step with no upcaster, is an
:class:`~dispatch.errors.EventVersionError`. Encoding always writes the current version; the
version reaches the event store (inside the stored JSON) and the web clients (as ``"v"``).
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self, Union

from dispatch.errors import EventVersionError, InvalidCommand
from dispatch.model import Alarm, CrewMember, Location, Outcome, Patient
from dispatch.status import UnitStatus
from dispatch.visits import PlannedRoute, PlannedStop, VisitSource

__all__ = [
    "SCHEMA_VERSIONS",
    "UPCASTERS",
    "AlarmReceived",
    "AssignmentAcknowledged",
    "AssignmentCancelled",
    "AssignmentTimedOut",
    "AssistRequested",
    "CalloutCancelled",
    "CalloutReopened",
    "CalloutSplit",
    "CalloutsMerged",
    "DayPlanned",
    "Envelope",
    "Event",
    "MessageSent",
    "NoteAdded",
    "OutcomeRecorded",
    "ShiftEnded",
    "ShiftStarted",
    "UnitAssigned",
    "UnitPositionReported",
    "UnitRegistered",
    "UnitRetired",
    "UnitStatusChanged",
    "UnitUpdated",
    "VisitBooked",
    "VisitCancelled",
    "VisitDone",
    "VisitMoved",
    "VisitNotMet",
    "VisitPinned",
    "VisitStarted",
    "event_from_dict",
    "event_to_dict",
    "upcaster",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every event: when it happened and who caused it (a principal id or 'system')."""

    at: datetime
    actor: str = "system"

    @classmethod
    def make(cls, stamp: Mapping[str, Any], /, **fields: Any) -> Self:
        """The event of a command stamped ``stamp`` (``{"at": …, "actor": …}``, the
        :class:`~dispatch.decision.Context`'s) with ``fields``: what ``cls(**stamp, **fields)``
        makes. Every event type gets its own, generated from its fields
        (:func:`_maker`), which fills the slots directly at about half the cost of the
        dataclass ``__init__``: the core makes an event for every command, from values its
        rules checked (events validate nothing themselves, so nothing is skipped)."""
        return cls(**stamp, **fields)


@dataclass(frozen=True, slots=True)
class Envelope:
    """An event with the global sequence number the log gave it."""

    seq: int
    event: Event

    @staticmethod
    def make(seq: int, event: Event) -> Envelope:
        """``Envelope(seq, event)`` with its two slots filled directly (about half the cost),
        for a shell that numbers the events it logs itself (the simulator)."""
        made = _new_envelope(Envelope)
        _set_seq(made, seq)
        _set_event(made, event)
        return made


_new_envelope = object.__new__
_set_seq = vars(Envelope)["seq"].__set__  # the slots' own descriptors
_set_event = vars(Envelope)["event"].__set__


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitRegistered(Event):
    """A unit joined (or, if it was retired, rejoined) the fleet, off duty at its base.

    ``competences`` and ``seats`` came later; an event stored before them loads with none and
    ``None`` (not recorded), so the schema version did not change."""

    unit_id: str
    name: str
    base: str
    position: Location
    competences: tuple[str, ...] = ()
    seats: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitUpdated(Event):
    """A unit's registration changed (name, base and its position, competences, seats).
    ``position`` is where the unit is moved now (an off-duty unit whose base moved), else None."""

    unit_id: str
    name: str
    base: str
    base_position: Location
    competences: tuple[str, ...]
    seats: int | None
    position: Location | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitRetired(Event):
    """A unit left the fleet: off duty for good, never assignable; its history stays."""

    unit_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ShiftStarted(Event):
    """A crew signed on: who is on board (v2: each a name and a role; v1 stored bare names)."""

    unit_id: str
    crew: tuple[CrewMember, ...]
    ends_at: datetime
    competences: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ShiftEnded(Event):
    unit_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmReceived(Event):
    """An alarm arrived and joined ``callout_id`` (new, or an existing one it merges into)."""

    alarm: Alarm
    callout_id: str
    merged_reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CalloutsMerged(Event):
    """The dispatcher merged ``source_id`` into ``target_id``."""

    target_id: str
    source_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CalloutSplit(Event):
    """The dispatcher took ``alarm_id`` out of ``callout_id`` into a callout of its own."""

    callout_id: str
    alarm_id: str
    new_callout_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitAssigned(Event):
    callout_id: str
    unit_id: str
    eta_s: float | None
    ack_deadline: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class AssignmentAcknowledged(Event):
    callout_id: str
    unit_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AssignmentTimedOut(Event):
    """The crew did not acknowledge in time; the unit is released and the dispatcher alerted."""

    callout_id: str
    unit_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AssignmentCancelled(Event):
    callout_id: str
    unit_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitStatusChanged(Event):
    """A unit's status changed. ``at`` is when the report arrived; ``pressed_at`` when the crew
    pressed it, if earlier (bounded, :mod:`dispatch.presstime`). Events stored before it
    existed load with None (pressed on arrival), so the schema version did not change."""

    unit_id: str
    status: UnitStatus
    facility: str = ""
    pressed_at: datetime | None = None

    @property
    def effective_at(self) -> datetime:
        """When the status took effect: the press time when known, else the arrival."""
        return self.pressed_at or self.at


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitPositionReported(Event):
    unit_id: str
    position: Location


@dataclass(frozen=True, slots=True, kw_only=True)
class OutcomeRecorded(Event):
    callout_id: str
    unit_id: str
    outcome: Outcome


@dataclass(frozen=True, slots=True, kw_only=True)
class CalloutCancelled(Event):
    """A callout was cancelled: ``code`` names why from a short list, ``reason`` in words (free
    text, erased by retention). Events stored before codes load with none (same version)."""

    callout_id: str
    reason: str = ""
    code: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CalloutReopened(Event):
    """A cancelled callout waits for a unit again (the cancel was a mistake)."""

    callout_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AssistRequested(Event):
    """A crew pressed the assist (panic) button: the dispatchers are alerted loudly, with the
    unit's position and the callout it is on (if any)."""

    unit_id: str
    callout_id: str | None = None
    position: Location | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageSent(Event):
    """A short message between the dispatchers and a unit's crew. Its text may be about a
    patient: it is stored and shown, never written to the application log."""

    unit_id: str
    text: str
    from_crew: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class NoteAdded(Event):
    """A note on a callout. Its text may be about a patient: it is stored, never logged."""

    callout_id: str
    text: str


# -- follow-up visits (dispatch/visits.py) ---------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitBooked(Event):
    """A follow-up visit was booked: where, its start window, duration and needs; the patient
    only by a pseudonymous reference. ``agency`` is the booking agency (empty for a
    dispatcher), ``callout_id`` the callout whose outcome asked for it (if any)."""

    visit_id: str
    patient_ref: str
    location: Location
    earliest_start: datetime
    latest_start: datetime
    duration_s: int
    competences: tuple[str, ...] = ()
    staff: int = 1
    postpone_cost: int | None = None
    source: VisitSource = VisitSource.DISPATCHER
    agency: str = ""
    callout_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitMoved(Event):
    """A booked visit got a new start window (and duration)."""

    visit_id: str
    earliest_start: datetime
    latest_start: datetime
    duration_s: int


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitPinned(Event):
    """A dispatcher pinned a booked visit to a unit and/or a start time (None: unpinned)."""

    visit_id: str
    unit_id: str | None = None
    start: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitCancelled(Event):
    visit_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitStarted(Event):
    visit_id: str
    unit_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitDone(Event):
    visit_id: str
    unit_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitNotMet(Event):
    """The crew found nobody home (or the visit could not be held)."""

    visit_id: str
    unit_id: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DayPlanned(Event):
    """The planning worker's plan of one local day: routes per unit, postponed and unplaced
    visits, and why it was made (``"day start"``, ``"visits changed"``, ``"unit taken"``…)."""

    day: str
    routes: tuple[PlannedRoute, ...]
    postponed: tuple[str, ...] = ()
    unplaced: tuple[str, ...] = ()
    cause: str = ""


# -- JSON form --------------------------------------------------------------------------------

_NESTED = (Alarm, CrewMember, Location, Outcome, Patient, PlannedRoute, PlannedStop)
_EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        UnitRegistered,
        UnitUpdated,
        UnitRetired,
        ShiftStarted,
        ShiftEnded,
        AlarmReceived,
        CalloutsMerged,
        CalloutSplit,
        UnitAssigned,
        AssignmentAcknowledged,
        AssignmentTimedOut,
        AssignmentCancelled,
        UnitStatusChanged,
        UnitPositionReported,
        OutcomeRecorded,
        CalloutCancelled,
        CalloutReopened,
        NoteAdded,
        AssistRequested,
        MessageSent,
        VisitBooked,
        VisitMoved,
        VisitPinned,
        VisitCancelled,
        VisitStarted,
        VisitDone,
        VisitNotMet,
        DayPlanned,
    )
}

def _maker(cls: type[Event]) -> Callable[..., Event]:
    """``make(stamp, /, *, field=…, …)`` for event type ``cls`` (see :meth:`Event.make`):
    a new instance whose slots are filled in field order from the stamp and the keywords, with
    the fields' defaults; a missing or unknown keyword is a TypeError, as with ``__init__``.
    Generated from the field names only, as :mod:`dataclasses` generates ``__init__``."""
    scope: dict[str, Any] = {"new": object.__new__, "cls": cls}
    params, body = [], []
    for f in dataclasses.fields(cls):
        scope[f"set_{f.name}"] = getattr(cls, f.name).__set__  # the slot's own descriptor
        if f.name in ("at", "actor"):
            body.append(f"    set_{f.name}(o, stamp[{f.name!r}])\n")
            continue
        if f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: a default factory has no fast make")
        if f.default is dataclasses.MISSING:
            params.append(f.name)
        else:
            scope[f"default_{f.name}"] = f.default
            params.append(f"{f.name}=default_{f.name}")
        body.append(f"    set_{f.name}(o, {f.name})\n")
    star = ", *, " + ", ".join(params) if params else ""
    source = f"def make(stamp, /{star}):\n    o = new(cls)\n{''.join(body)}    return o\n"
    exec(source, scope)
    make: Callable[..., Event] = scope["make"]
    make.__doc__ = f"A {cls.__name__} stamped ``stamp`` (see Event.make)."
    return make


for _cls in _EVENT_TYPES.values():
    _cls.make = staticmethod(_maker(_cls))  # type: ignore[method-assign]
del _cls

#: The current schema version of each event type's stored form (see the module docstring).
SCHEMA_VERSIONS: dict[str, int] = {**dict.fromkeys(_EVENT_TYPES, 1), "ShiftStarted": 2}

#: Turns a stored event's dict of one version into the dict of the next version.
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

#: The upcaster of each ``(event type, from_version)``; filled through :func:`upcaster`.
UPCASTERS: dict[tuple[str, int], Upcaster] = {}

#: Keys of the stored form that are not fields of the event.
_META = ("type", "v")


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register the decorated function as the upcaster of ``event_type`` from
    ``from_version`` to ``from_version + 1``. It gets a dict it may change and returns the
    next version's dict (``"type"`` and ``"v"`` are looked after by the decoder)."""

    def register(fn: Upcaster) -> Upcaster:
        key = (event_type, from_version)
        if key in UPCASTERS:
            raise EventVersionError(f"{event_type} already has an upcaster from v{from_version}")
        UPCASTERS[key] = fn
        return fn

    return register


# Encoding looks at each value's class once: what kind of value it is (and a dataclass's
# field names) is remembered per class, as ``dataclasses.fields`` and the ``isinstance`` chain
# per value dominated the encoding of an alarm (done twice per event: the log, the sockets).
_AS_IS, _DATETIME, _ENUM, _SEQUENCE = range(4)
_KINDS: dict[type, int | tuple[str, ...]] = {
    str: _AS_IS, int: _AS_IS, float: _AS_IS, bool: _AS_IS, type(None): _AS_IS}


def _kind(cls: type) -> int | tuple[str, ...]:
    """What :func:`_encode` does with a value of class ``cls``: a dataclass's field names,
    else one of the kinds above."""
    kind: int | tuple[str, ...]
    if issubclass(cls, datetime):
        kind = _DATETIME
    elif issubclass(cls, enum.Enum):
        kind = _ENUM
    elif dataclasses.is_dataclass(cls):  # ``value`` is an instance: ``cls`` is its class
        kind = tuple(f.name for f in dataclasses.fields(cls))
    elif issubclass(cls, tuple | list):
        kind = _SEQUENCE
    else:
        kind = _AS_IS
    _KINDS[cls] = kind
    return kind


def _encode(value: Any) -> Any:
    cls = type(value)
    kind = _KINDS.get(cls)
    if kind is None:
        kind = _kind(cls)
    if kind == _AS_IS:
        return value
    if type(kind) is tuple:  # a dataclass: its fields, in order
        return {name: _encode(getattr(value, name)) for name in kind}
    if kind == _DATETIME:
        return value.isoformat()
    if kind == _ENUM:
        return value.value
    return [_encode(v) for v in value]


def event_to_dict(event: Event) -> dict[str, Any]:
    """The event as JSON-ready data, with its type name under ``"type"`` and the type's
    current schema version under ``"v"``."""
    cls = type(event)
    name = cls.__name__
    data: dict[str, Any] = {"type": name, "v": SCHEMA_VERSIONS[name]}
    names = _KINDS.get(cls)
    if type(names) is not tuple:
        names = _kind(cls)
        assert type(names) is tuple, f"{name} is not a dataclass"
    for field_name in names:
        data[field_name] = _encode(getattr(event, field_name))
    return data


# Decoding is compiled once per class into one small function per field (resolving type hints
# and testing them for every value dominated log replay).

_Decoder = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def _decoder(hint: Any) -> _Decoder:
    """The function that turns the JSON form of a value of type ``hint`` back into the value."""
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        inner = _decoder(next(a for a in typing.get_args(hint) if a is not type(None)))
        if inner is _identity:
            return _identity
        return lambda value: None if value is None else inner(value)
    if origin is tuple:
        item = _decoder(typing.get_args(hint)[0])
        if item is _identity:
            return tuple
        return lambda value: tuple(item(v) for v in value)
    if hint is datetime:
        return datetime.fromisoformat
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    if hint in _NESTED:
        fields = _field_decoders(hint)
        return lambda value: hint(**{k: fields[k](v) for k, v in value.items()})
    return _identity


_FIELDS: dict[type, dict[str, _Decoder]] = {}


def _field_decoders(cls: type) -> dict[str, _Decoder]:
    """The decoder of each field of ``cls``, built on first use."""
    fields = _FIELDS.get(cls)
    if fields is None:
        hints = typing.get_type_hints(cls)
        fields = _FIELDS[cls] = {f.name: _decoder(hints[f.name]) for f in dataclasses.fields(cls)}
    return fields


def _upcast(name: str, data: dict[str, Any], current: int) -> dict[str, Any]:
    """``data`` (a stored ``name`` event) brought from its version to ``current``."""
    version = data.get("v", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise EventVersionError(f"{name}: schema version {version!r} is not a whole number >= 1")
    if version > current:
        raise EventVersionError(
            f"{name} v{version} was written by newer code; this code reads up to v{current}"
        )
    data = dict(data)
    for step in range(version, current):
        up = UPCASTERS.get((name, step))
        if up is None:
            raise EventVersionError(f"{name} has no upcaster from v{step} to v{step + 1}")
        data = up(data)
    return data


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from :func:`event_to_dict`'s output, of this or any earlier schema
    version (upcast to the current one first)."""
    name = data.get("type")
    cls = _EVENT_TYPES.get(str(name))
    if cls is None:
        raise InvalidCommand("type", f"unknown event type {name!r}")
    current = SCHEMA_VERSIONS[cls.__name__]
    if data.get("v", 1) != current:
        data = _upcast(cls.__name__, data, current)
    fields = _field_decoders(cls)
    return cls(**{k: fields[k](v) for k, v in data.items() if k not in _META})


# -- upcasters (one per type and old version; see the module docstring) -----------------------


@upcaster("ShiftStarted", 1)
def _crew_names_became_members(data: dict[str, Any]) -> dict[str, Any]:
    """v1 stored the crew as bare names; v2 as members with a role, unknown for old shifts."""
    data["crew"] = [{"name": name, "role": "unknown"} for name in data.get("crew", [])]
    return data
