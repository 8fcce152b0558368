"""The rules for follow-up visits: booking, moving, pinning, cancelling, starting, finishing,
not met, and recording a day plan.

A visit moves by the table in :mod:`dispatch.visits` (an illegal move raises
:class:`~dispatch.errors.InvalidTransition`); only a booked visit is moved, pinned or cancelled,
only the unit that started a visit finishes it. A day plan is refused unless every visit on it
is open and appears once, and every unit on it is registered. Each function handles one command
for the table in :mod:`dispatch.commands`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from dispatch.command_types import (
    BookVisit,
    CancelVisit,
    FinishVisit,
    MarkVisitNotMet,
    MoveVisit,
    PinVisit,
    RecordDayPlan,
    StartVisit,
)
from dispatch.decision import Context, Decision, checked_text, no_identity
from dispatch.errors import InvalidCommand, UnknownUnit
from dispatch.events import (
    DayPlanned,
    VisitBooked,
    VisitCancelled,
    VisitDone,
    VisitMoved,
    VisitNotMet,
    VisitPinned,
    VisitStarted,
)
from dispatch.model import MAX_REASON_CHARS, Outcome, check_time
from dispatch.rules_units import MAX_COMPETENCE_CHARS, MAX_COMPETENCES
from dispatch.state import Unit
from dispatch.visits import (
    MAX_AHEAD_DAYS,
    MAX_POSTPONE_COST,
    MAX_STAFF,
    MAX_VISIT_S,
    MAX_WINDOW_DAYS,
    MIN_VISIT_S,
    Visit,
    VisitSource,
    VisitStatus,
    check_patient_ref,
    check_visit_transition,
)

__all__ = [
    "FOLLOW_UP_DURATION_S",
    "FOLLOW_UP_POSTPONE_COST",
    "FOLLOW_UP_WINDOW",
    "book_visit",
    "cancel_visit",
    "finish_visit",
    "follow_up_visit",
    "mark_visit_not_met",
    "move_visit",
    "pin_visit",
    "record_day_plan",
    "start_visit",
]

#: A visit an outcome's follow-up request books: its window from the time asked for, how long
#: it takes and what postponing it costs (the crew can move it later like any visit).
FOLLOW_UP_WINDOW = timedelta(hours=2)
FOLLOW_UP_DURATION_S = 45 * 60
FOLLOW_UP_POSTPONE_COST = 3600
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_MAX_PLAN_ROUTES = 200


def _visit(ctx: Context, visit_id: str) -> Visit:
    visit = ctx.state.visits.get(visit_id) if isinstance(visit_id, str) else None
    if visit is None:
        raise InvalidCommand("visit_id", f"unknown visit {visit_id!r}")
    return visit


def _window(ctx: Context, earliest: datetime, latest: datetime, duration_s: int) -> None:
    for name, t in (("earliest_start", earliest), ("latest_start", latest)):
        check_time(name, t)
    if earliest > ctx.now + timedelta(days=MAX_AHEAD_DAYS):
        raise InvalidCommand("earliest_start", f"is more than {MAX_AHEAD_DAYS} days ahead")
    if latest < earliest:
        raise InvalidCommand("latest_start", "is before earliest_start",
                             reason="before_earliest")
    if latest - earliest > timedelta(days=MAX_WINDOW_DAYS):
        raise InvalidCommand("latest_start", f"the window spans more than {MAX_WINDOW_DAYS} days")
    if latest < ctx.now:
        raise InvalidCommand("latest_start", "has passed", reason="passed")
    if isinstance(duration_s, bool) or not isinstance(duration_s, int) or not (
            MIN_VISIT_S <= duration_s <= MAX_VISIT_S):
        raise InvalidCommand("duration_s", f"must be {MIN_VISIT_S}-{MAX_VISIT_S} seconds")


def _competences(value: tuple[str, ...]) -> tuple[str, ...]:
    if not isinstance(value, tuple | list) or len(value) > MAX_COMPETENCES:
        raise InvalidCommand("competences", f"a list of at most {MAX_COMPETENCES} names")
    for c in value:
        if not checked_text("competences", c, MAX_COMPETENCE_CHARS).strip():
            raise InvalidCommand("competences", "a competence must not be empty")
    return tuple(sorted(set(value)))


def book_visit(ctx: Context, command: BookVisit) -> Decision:
    """A new visit, booked with a pseudonymous patient reference and checked needs."""
    check_patient_ref(command.patient_ref)
    _window(ctx, command.earliest_start, command.latest_start, command.duration_s)
    staff = command.staff
    if isinstance(staff, bool) or not isinstance(staff, int) or not 1 <= staff <= MAX_STAFF:
        raise InvalidCommand("staff", f"must be 1-{MAX_STAFF}")
    cost = command.postpone_cost
    if cost is not None and (isinstance(cost, bool) or not isinstance(cost, int)
                             or not 0 <= cost <= MAX_POSTPONE_COST):
        raise InvalidCommand("postpone_cost", f"must be 0-{MAX_POSTPONE_COST} or null")
    if command.callout_id is not None:
        ctx.state.callout(command.callout_id)
    agency = checked_text("agency", command.agency, 20)
    return ctx.decision(VisitBooked.make(
        ctx.stamp, visit_id=ctx.state.next_visit_id(), patient_ref=command.patient_ref,
        location=command.location, earliest_start=command.earliest_start,
        latest_start=command.latest_start, duration_s=command.duration_s,
        competences=_competences(command.competences), staff=staff, postpone_cost=cost,
        source=VisitSource(command.source), agency=agency, callout_id=command.callout_id))


def follow_up_visit(ctx: Context, callout_id: str, outcome: Outcome) -> VisitBooked | None:
    """The visit an outcome's follow-up request books (None if it asks for none): at the
    callout's place, from the time asked for, postponable; the patient is referred to by the
    callout's id only."""
    at = outcome.follow_up_at
    if at is None:
        return None
    check_time("outcome.follow_up_at", at)
    if at > ctx.now + timedelta(days=MAX_AHEAD_DAYS):
        raise InvalidCommand("outcome.follow_up_at", f"is more than {MAX_AHEAD_DAYS} days ahead")
    callout = ctx.state.callout(callout_id)
    if at < callout.created_at:  # a slip of the year or month (a late, offline outcome's
        # follow-up may have passed since: it is booked, and the plan shows it missed)
        raise InvalidCommand("outcome.follow_up_at", "is before the callout began")
    return VisitBooked.make(
        ctx.stamp, visit_id=ctx.state.next_visit_id(), patient_ref=f"F-{callout_id}",
        location=callout.location, earliest_start=at, latest_start=at + FOLLOW_UP_WINDOW,
        duration_s=FOLLOW_UP_DURATION_S, postpone_cost=FOLLOW_UP_POSTPONE_COST,
        source=VisitSource.FOLLOW_UP, callout_id=callout_id)


def move_visit(ctx: Context, command: MoveVisit) -> Decision:
    """A booked visit gets a new window (a started or closed one cannot move)."""
    visit = _visit(ctx, command.visit_id)
    check_visit_transition(visit.visit_id, visit.status, VisitStatus.BOOKED)
    duration = visit.duration_s if command.duration_s is None else command.duration_s
    _window(ctx, command.earliest_start, command.latest_start, duration)
    return ctx.decision(VisitMoved.make(
        ctx.stamp, visit_id=visit.visit_id, earliest_start=command.earliest_start,
        latest_start=command.latest_start, duration_s=duration))


def _unit(ctx: Context, unit_id: str) -> Unit:
    unit = ctx.state.units.get(unit_id) if isinstance(unit_id, str) else None
    if unit is None:
        raise UnknownUnit(unit_id)
    if unit.retired:
        raise InvalidCommand("unit_id", f"unit {unit_id} is retired")
    return unit


def pin_visit(ctx: Context, command: PinVisit) -> Decision:
    """A dispatcher pins a booked visit to a unit and/or a start time within its window."""
    visit = _visit(ctx, command.visit_id)
    check_visit_transition(visit.visit_id, visit.status, VisitStatus.BOOKED)
    if command.unit_id is not None:
        _unit(ctx, command.unit_id)
    start = command.start
    if start is not None:
        check_time("start", start)
        if not visit.earliest_start <= start <= visit.latest_start:
            raise InvalidCommand("start", "is outside the visit's window")
    return ctx.decision(VisitPinned.make(ctx.stamp, visit_id=visit.visit_id,
                                    unit_id=command.unit_id, start=start))


def cancel_visit(ctx: Context, command: CancelVisit) -> Decision:
    """A booked visit is cancelled (a started one is done or not met instead)."""
    visit = _visit(ctx, command.visit_id)
    check_visit_transition(visit.visit_id, visit.status, VisitStatus.CANCELLED)
    reason = checked_text("reason", command.reason, MAX_REASON_CHARS)
    if reason:
        no_identity("reason", reason)
    return ctx.decision(VisitCancelled.make(ctx.stamp, visit_id=visit.visit_id, reason=reason))


def start_visit(ctx: Context, command: StartVisit) -> Decision:
    """A unit on shift with no callout and no other visit under way starts a booked visit."""
    visit = _visit(ctx, command.visit_id)
    unit = _unit(ctx, command.unit_id)
    check_visit_transition(visit.visit_id, visit.status, VisitStatus.STARTED)
    if not unit.status.is_free:
        raise InvalidCommand("unit_id", f"unit {unit.unit_id} is {unit.status.value}")
    if unit.callout_id is not None:
        raise InvalidCommand("unit_id", f"unit {unit.unit_id} is on callout {unit.callout_id}",
                             reason="unit_on_callout")
    for other in ctx.state.visits.values():
        if other.status is VisitStatus.STARTED and other.unit_id == unit.unit_id:
            raise InvalidCommand("unit_id",
                                 f"unit {unit.unit_id} is already on visit {other.visit_id}")
    return ctx.decision(VisitStarted.make(ctx.stamp, visit_id=visit.visit_id, unit_id=unit.unit_id))


def finish_visit(ctx: Context, command: FinishVisit) -> Decision:
    """The unit that started a visit has done it."""
    visit = _visit(ctx, command.visit_id)
    check_visit_transition(visit.visit_id, visit.status, VisitStatus.DONE)
    if visit.unit_id != command.unit_id:
        raise InvalidCommand("unit_id", f"visit {visit.visit_id} was started by {visit.unit_id}")
    return ctx.decision(VisitDone.make(ctx.stamp, visit_id=visit.visit_id, unit_id=command.unit_id))


def mark_visit_not_met(ctx: Context, command: MarkVisitNotMet) -> Decision:
    """A booked or started visit could not be held; a started one only by its own unit."""
    visit = _visit(ctx, command.visit_id)
    check_visit_transition(visit.visit_id, visit.status, VisitStatus.NOT_MET)
    if command.unit_id is not None:
        _unit(ctx, command.unit_id)
        if visit.status is VisitStatus.STARTED and visit.unit_id != command.unit_id:
            raise InvalidCommand("unit_id",
                                 f"visit {visit.visit_id} was started by {visit.unit_id}")
    reason = checked_text("reason", command.reason, MAX_REASON_CHARS)
    if reason:
        no_identity("reason", reason)
    return ctx.decision(VisitNotMet.make(ctx.stamp, visit_id=visit.visit_id,
                                    unit_id=command.unit_id, reason=reason))


def record_day_plan(ctx: Context, command: RecordDayPlan) -> Decision:
    """A day plan in which every visit is open and appears once, on registered units."""
    if not isinstance(command.day, str) or not _DAY.fullmatch(command.day):
        raise InvalidCommand("day", "must be a date YYYY-MM-DD")
    if len(command.routes) > _MAX_PLAN_ROUTES:
        raise InvalidCommand("routes", f"at most {_MAX_PLAN_ROUTES} routes")
    seen: set[str] = set()
    units: set[str] = set()
    ids: list[str] = [s.visit_id for r in command.routes for s in r.stops]
    for route in command.routes:
        if route.unit_id in units:
            raise InvalidCommand("routes", f"unit {route.unit_id} has two routes")
        units.add(route.unit_id)
        ctx.state.unit(route.unit_id)
        last = route.depart
        for stop in route.stops:
            if not last <= stop.arrival <= stop.start <= stop.end:
                raise InvalidCommand("routes", f"visit {stop.visit_id}: times out of order")
            last = stop.end
    for visit_id in (*ids, *command.postponed, *command.unplaced):
        visit = _visit(ctx, visit_id)
        if not visit.status.is_open:
            raise InvalidCommand("routes", f"visit {visit_id} is {visit.status.value}")
        if visit_id in seen:
            raise InvalidCommand("routes", f"visit {visit_id} is planned twice")
        seen.add(visit_id)
    cause = checked_text("cause", command.cause, 80)
    return ctx.decision(DayPlanned.make(
        ctx.stamp, day=command.day, routes=tuple(command.routes),
        postponed=tuple(command.postponed), unplaced=tuple(command.unplaced), cause=cause))
