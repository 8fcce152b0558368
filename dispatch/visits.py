"""Follow-up home visits: their values, their status table and the day plans made of them.

A visit is booked (by psychiatry, by a dispatcher, or from an outcome's follow-up request) with
a place, a start window that may span days, a duration, what it needs (competences, how many
staff), whether it may be postponed and at what cost, and a pseudonymous patient reference:
never a name or a personal number. It moves through :class:`VisitStatus` by one transition
table (an illegal move raises :class:`~dispatch.errors.InvalidTransition`). A :class:`DayPlan`
is one day's routes over the units as the planning worker last decided them; both are values
of the state, built by :mod:`dispatch.visit_fold` from the events alone.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

from dispatch.errors import InvalidCommand, InvalidTransition
from dispatch.model import Location, looks_like_personal_number

__all__ = [
    "MAX_AHEAD_DAYS",
    "MAX_STAFF",
    "MAX_VISIT_S",
    "MAX_WINDOW_DAYS",
    "DayPlan",
    "PlannedRoute",
    "PlannedStop",
    "Visit",
    "VisitSource",
    "VisitStatus",
    "check_patient_ref",
    "check_visit_transition",
]

MAX_STAFF = 6
MAX_VISIT_S = 8 * 3600
MIN_VISIT_S = 5 * 60
MAX_WINDOW_DAYS = 14
MAX_AHEAD_DAYS = 366  # how far ahead a visit can be booked (or asked for on an outcome)
MAX_POSTPONE_COST = 7 * 86_400

#: A pseudonymous reference: letters, digits, ``-`` and ``_``; at most 32 characters.
_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")


def check_patient_ref(value: object) -> str:
    """``value`` if it is a pseudonymous patient reference (never a personal number)."""
    if not isinstance(value, str) or not _REF.fullmatch(value):
        raise InvalidCommand("patient_ref", "must be 1-32 letters, digits, '-' or '_'")
    if looks_like_personal_number(value):
        raise InvalidCommand("patient_ref", "looks like a personal number; use a pseudonym",
                             reason="personal_number_ref")
    return value


class VisitStatus(enum.StrEnum):
    """Where a visit stands."""

    BOOKED = "booked"
    STARTED = "started"
    DONE = "done"
    NOT_MET = "not_met"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        """Whether the visit is still to be done (booked or under way)."""
        return self in (VisitStatus.BOOKED, VisitStatus.STARTED)


_TRANSITIONS: dict[VisitStatus, frozenset[VisitStatus]] = {
    VisitStatus.BOOKED: frozenset(
        {VisitStatus.BOOKED, VisitStatus.STARTED, VisitStatus.NOT_MET, VisitStatus.CANCELLED}),
    VisitStatus.STARTED: frozenset({VisitStatus.DONE, VisitStatus.NOT_MET}),
    VisitStatus.DONE: frozenset(),
    VisitStatus.NOT_MET: frozenset(),
    VisitStatus.CANCELLED: frozenset(),
}
"""The statuses each status may go to; BOOKED to BOOKED is a move or a pin."""


def check_visit_transition(visit_id: str, current: VisitStatus, wanted: VisitStatus) -> None:
    """Raise :class:`InvalidTransition` unless ``current`` may go to ``wanted``."""
    allowed = _TRANSITIONS[current]
    if wanted not in allowed:
        raise InvalidTransition(f"visit {visit_id}", current.value, wanted.value,
                                tuple(sorted(s.value for s in allowed)))


class VisitSource(enum.StrEnum):
    """Who asked for the visit."""

    AGENCY = "agency"
    DISPATCHER = "dispatcher"
    FOLLOW_UP = "follow_up"


@dataclass(frozen=True, slots=True)
class Visit:
    """A follow-up visit as of its last event. ``postpone_cost`` None: it may not be postponed
    (a mandatory visit); else seconds of driving one postponement is worth avoiding.
    ``pinned_unit`` / ``pinned_start`` are a dispatcher's pins for the planner; ``unit_id`` is
    the unit that started (or did, or did not meet) it. ``changed_at`` / ``changed_by`` are the
    last event's time and actor; ``moves`` counts how often the window was moved."""

    visit_id: str
    patient_ref: str
    location: Location
    earliest_start: datetime
    latest_start: datetime
    duration_s: int
    competences: tuple[str, ...]
    staff: int
    postpone_cost: int | None
    source: VisitSource
    booked_at: datetime
    booked_by: str
    agency: str = ""
    callout_id: str | None = None
    status: VisitStatus = VisitStatus.BOOKED
    changed_at: datetime | None = None
    changed_by: str = ""
    unit_id: str | None = None
    pinned_unit: str | None = None
    pinned_start: datetime | None = None
    moves: int = 0
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PlannedStop:
    """One visit on a unit's day: planned arrival and start (end = start + duration)."""

    visit_id: str
    arrival: datetime
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class PlannedRoute:
    """One unit's day: when it leaves, its visits in order, its break, when it is back."""

    unit_id: str
    depart: datetime
    stops: tuple[PlannedStop, ...]
    back: datetime
    drive_s: int
    break_start: datetime | None = None
    break_end: datetime | None = None


@dataclass(frozen=True, slots=True)
class DayPlan:
    """A day's plan (``day`` is its local date, ``YYYY-MM-DD``): routes, postponed visits
    (moved to a later day at their cost) and unplaced ones (mandatory but not fitting).
    ``revision`` counts the plans of that day; ``cause`` says why it was made."""

    day: str
    revision: int
    planned_at: datetime
    routes: tuple[PlannedRoute, ...]
    postponed: tuple[str, ...]
    unplaced: tuple[str, ...]
    cause: str

    def unit_of(self, visit_id: str) -> str | None:
        """The unit planned to do ``visit_id`` that day, if any."""
        for route in self.routes:
            for stop in route.stops:
                if stop.visit_id == visit_id:
                    return route.unit_id
        return None

    def planned_ids(self) -> list[str]:
        """Every visit id on a route, in route order (a visit appears once)."""
        return [s.visit_id for r in self.routes for s in r.stops]
