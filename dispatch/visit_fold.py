"""The fold of the visit events: how each one changes the visits and day plans of a state.

:class:`~dispatch.state.DispatchState` hands every visit event here (:data:`VISIT_EVENTS`);
like the rest of the fold it decides nothing: everything it needs is in the event. It sees the
state through :class:`VisitBook`, so this module need not import the state (no import circle).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from dispatch.events import (
    DayPlanned,
    Event,
    VisitBooked,
    VisitCancelled,
    VisitDone,
    VisitMoved,
    VisitNotMet,
    VisitPinned,
    VisitStarted,
)
from dispatch.visits import DayPlan, Visit, VisitStatus

__all__ = ["VISIT_EVENTS", "VisitBook", "apply_visit_event"]

#: The event types this fold handles.
VISIT_EVENTS = (VisitBooked, VisitMoved, VisitPinned, VisitCancelled, VisitStarted, VisitDone,
                VisitNotMet, DayPlanned)


class VisitBook(Protocol):
    """The part of the state the visit fold changes."""

    visits: dict[str, Visit]
    visit_counter: int
    day_plans: dict[str, DayPlan]


def _set(book: VisitBook, e: Event, visit_id: str, **changes: object) -> None:
    book.visits[visit_id] = replace(book.visits[visit_id], changed_at=e.at, changed_by=e.actor,
                                    **changes)  # type: ignore[arg-type]


def apply_visit_event(book: VisitBook, e: Event) -> None:
    """Apply one visit event (one of :data:`VISIT_EVENTS`) to ``book``."""
    if isinstance(e, VisitBooked):
        book.visit_counter += 1
        book.visits[e.visit_id] = Visit(
            visit_id=e.visit_id, patient_ref=e.patient_ref, location=e.location,
            earliest_start=e.earliest_start, latest_start=e.latest_start,
            duration_s=e.duration_s, competences=e.competences, staff=e.staff,
            postpone_cost=e.postpone_cost, source=e.source, booked_at=e.at, booked_by=e.actor,
            agency=e.agency, callout_id=e.callout_id, changed_at=e.at, changed_by=e.actor)
    elif isinstance(e, VisitMoved):
        visit = book.visits[e.visit_id]
        pinned = visit.pinned_start
        if pinned is not None and not e.earliest_start <= pinned <= e.latest_start:
            pinned = None  # a pinned time outside the new window no longer holds
        _set(book, e, e.visit_id, earliest_start=e.earliest_start, latest_start=e.latest_start,
             duration_s=e.duration_s, moves=visit.moves + 1, pinned_start=pinned)
    elif isinstance(e, VisitPinned):
        _set(book, e, e.visit_id, pinned_unit=e.unit_id, pinned_start=e.start)
    elif isinstance(e, VisitCancelled):
        _set(book, e, e.visit_id, status=VisitStatus.CANCELLED, reason=e.reason)
    elif isinstance(e, VisitStarted):
        _set(book, e, e.visit_id, status=VisitStatus.STARTED, unit_id=e.unit_id)
    elif isinstance(e, VisitDone):
        _set(book, e, e.visit_id, status=VisitStatus.DONE, unit_id=e.unit_id)
    elif isinstance(e, VisitNotMet):
        unit_id = e.unit_id or book.visits[e.visit_id].unit_id
        _set(book, e, e.visit_id, status=VisitStatus.NOT_MET, unit_id=unit_id, reason=e.reason)
    elif isinstance(e, DayPlanned):
        previous = book.day_plans.get(e.day)
        book.day_plans[e.day] = DayPlan(
            day=e.day, revision=1 if previous is None else previous.revision + 1,
            planned_at=e.at, routes=e.routes, postponed=e.postponed, unplaced=e.unplaced,
            cause=e.cause)
    else:  # pragma: no cover - the state only hands over VISIT_EVENTS
        raise TypeError(type(e).__name__)
