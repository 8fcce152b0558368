"""Unit and callout statuses, each with one transition table.

A move the table does not allow raises :class:`InvalidTransition` naming what is allowed; the
core never ignores or silently corrects a status report.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from dispatch.errors import InvalidTransition

__all__ = [
    "CALLOUT_TRANSITIONS",
    "ON_THE_WAY",
    "UNIT_TRANSITIONS",
    "CalloutStatus",
    "UnitStatus",
    "check_callout_transition",
    "check_unit_transition",
]


class UnitStatus(enum.StrEnum):
    """Where a unit is in its working day."""

    OFF_DUTY = "off_duty"
    AVAILABLE = "available"
    DISPATCHED = "dispatched"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    TRANSPORTING = "transporting"
    AT_FACILITY = "at_facility"
    RETURNING = "returning"
    UNAVAILABLE = "unavailable"

    @property
    def is_free(self) -> bool:
        """Whether the unit can take a new callout now (a returning unit can)."""
        return self in _FREE

    @property
    def is_busy(self) -> bool:
        """Whether the unit is working a callout."""
        return self in _BUSY


_FREE = frozenset({UnitStatus.AVAILABLE, UnitStatus.RETURNING})
_BUSY = frozenset(
    {
        UnitStatus.DISPATCHED,
        UnitStatus.EN_ROUTE,
        UnitStatus.ON_SCENE,
        UnitStatus.TRANSPORTING,
        UnitStatus.AT_FACILITY,
    }
)

_U = UnitStatus
UNIT_TRANSITIONS: Mapping[UnitStatus, frozenset[UnitStatus]] = MappingProxyType(
    {
        _U.OFF_DUTY: frozenset({_U.AVAILABLE}),
        _U.AVAILABLE: frozenset({_U.DISPATCHED, _U.UNAVAILABLE, _U.OFF_DUTY, _U.RETURNING}),
        _U.DISPATCHED: frozenset({_U.EN_ROUTE, _U.AVAILABLE, _U.RETURNING}),
        _U.EN_ROUTE: frozenset({_U.ON_SCENE, _U.AVAILABLE, _U.RETURNING}),
        _U.ON_SCENE: frozenset({_U.TRANSPORTING, _U.AVAILABLE, _U.RETURNING}),
        _U.TRANSPORTING: frozenset({_U.AT_FACILITY}),
        _U.AT_FACILITY: frozenset({_U.AVAILABLE, _U.RETURNING}),
        _U.RETURNING: frozenset({_U.AVAILABLE, _U.DISPATCHED, _U.UNAVAILABLE, _U.OFF_DUTY}),
        _U.UNAVAILABLE: frozenset({_U.AVAILABLE, _U.OFF_DUTY}),
    }
)


class CalloutStatus(enum.StrEnum):
    """Where an incident is, from the first alarm to its outcome."""

    WAITING = "waiting"
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    TRANSPORTING = "transporting"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    MERGED = "merged"

    @property
    def is_open(self) -> bool:
        return self not in _ENDED


_ENDED = frozenset({CalloutStatus.CLOSED, CalloutStatus.CANCELLED, CalloutStatus.MERGED})


_C = CalloutStatus
CALLOUT_TRANSITIONS: Mapping[CalloutStatus, frozenset[CalloutStatus]] = MappingProxyType(
    {
        _C.WAITING: frozenset({_C.ASSIGNED, _C.CANCELLED, _C.MERGED}),
        _C.ASSIGNED: frozenset({_C.ACKNOWLEDGED, _C.WAITING, _C.CANCELLED, _C.MERGED}),
        _C.ACKNOWLEDGED: frozenset({_C.EN_ROUTE, _C.WAITING, _C.CANCELLED, _C.MERGED}),
        _C.EN_ROUTE: frozenset({_C.ON_SCENE, _C.WAITING, _C.CANCELLED}),
        _C.ON_SCENE: frozenset({_C.TRANSPORTING, _C.CLOSED}),
        _C.TRANSPORTING: frozenset({_C.CLOSED}),
        _C.CLOSED: frozenset(),
        _C.CANCELLED: frozenset(),
        _C.MERGED: frozenset(),
    }
)


#: Callouts whose unit is still on its way: the ones a unit has that may go back to waiting
#: (a reassignment); read off the table, so the rule lives there alone. Once on scene a
#: callout stays with its unit.
ON_THE_WAY: frozenset[CalloutStatus] = frozenset(
    status for status, then in CALLOUT_TRANSITIONS.items()
    if status is not _C.WAITING and _C.WAITING in then
)


def check_unit_transition(unit_id: str, current: UnitStatus, wanted: UnitStatus) -> None:
    """Raise :class:`InvalidTransition` unless a unit may go from ``current`` to ``wanted``."""
    allowed = UNIT_TRANSITIONS[current]
    if wanted not in allowed:
        raise InvalidTransition(
            f"unit {unit_id}", current.value, wanted.value, tuple(sorted(s.value for s in allowed))
        )


def check_callout_transition(
    callout_id: str, current: CalloutStatus, wanted: CalloutStatus
) -> None:
    """Raise :class:`InvalidTransition` unless a callout may go from ``current`` to ``wanted``."""
    allowed = CALLOUT_TRANSITIONS[current]
    if wanted not in allowed:
        raise InvalidTransition(
            f"callout {callout_id}",
            current.value,
            wanted.value,
            tuple(sorted(s.value for s in allowed)),
        )
