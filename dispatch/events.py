"""Events: every change to the dispatch state, as plain immutable records.

The state is a fold of these events (:mod:`dispatch.state`); the event log stores them as JSON
through :func:`event_to_dict` / :func:`event_from_dict`. Decisions (which callout an alarm
joins, which unit is assigned) are made before an event is written and recorded in it, so
replaying the log never has to decide anything again.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Union

from dispatch.errors import InvalidCommand
from dispatch.model import Alarm, Location, Outcome, Patient
from dispatch.status import UnitStatus

__all__ = [
    "AlarmReceived",
    "AssignmentAcknowledged",
    "AssignmentCancelled",
    "AssignmentTimedOut",
    "CalloutCancelled",
    "CalloutSplit",
    "CalloutsMerged",
    "Envelope",
    "Event",
    "NoteAdded",
    "OutcomeRecorded",
    "ShiftEnded",
    "ShiftStarted",
    "UnitAssigned",
    "UnitPositionReported",
    "UnitRegistered",
    "UnitStatusChanged",
    "event_from_dict",
    "event_to_dict",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every event: when it happened and who caused it (a principal id or 'system')."""

    at: datetime
    actor: str = "system"


@dataclass(frozen=True, slots=True)
class Envelope:
    """An event with the global sequence number the log gave it."""

    seq: int
    event: Event


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitRegistered(Event):
    unit_id: str
    name: str
    base: str
    position: Location


@dataclass(frozen=True, slots=True, kw_only=True)
class ShiftStarted(Event):
    unit_id: str
    crew: tuple[str, ...]
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
    unit_id: str
    status: UnitStatus
    facility: str = ""


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
    callout_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class NoteAdded(Event):
    """A note on a callout. Its text may be about a patient: it is stored, never logged."""

    callout_id: str
    text: str


# -- JSON form --------------------------------------------------------------------------------

_NESTED = (Alarm, Location, Outcome, Patient)
_EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        UnitRegistered,
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
        NoteAdded,
    )
}


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    return value


def event_to_dict(event: Event) -> dict[str, Any]:
    """The event as JSON-ready data with its type name under ``"type"``."""
    data: dict[str, Any] = {"type": type(event).__name__}
    for f in dataclasses.fields(event):
        data[f.name] = _encode(getattr(event, f.name))
    return data


def _decode(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        if value is None:
            return None
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _decode(inner[0], value)
    if origin is tuple:
        (item, *_) = typing.get_args(hint)
        return tuple(_decode(item, v) for v in value)
    if hint is datetime:
        return datetime.fromisoformat(value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if hint in _NESTED:
        hints = _hints(hint)
        return hint(**{k: _decode(hints[k], v) for k, v in value.items()})
    return value


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """Resolved field types of ``cls``, once per class (resolving them dominated log replay)."""
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from :func:`event_to_dict`'s output."""
    name = data.get("type")
    cls = _EVENT_TYPES.get(str(name))
    if cls is None:
        raise InvalidCommand("type", f"unknown event type {name!r}")
    hints = _hints(cls)
    kwargs = {k: _decode(hints[k], v) for k, v in data.items() if k != "type"}
    return cls(**kwargs)
