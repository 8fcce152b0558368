"""What an agency sees of follow-up visits on its socket: a bare notice when a visit it booked
changes or a day plan moves it (never the place, the patient reference, other agencies' visits
or other units' routes), so the agency page re-reads its own visits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dispatch.commands import (
    BookVisit,
    CancelVisit,
    Command,
    RecordDayPlan,
    RegisterUnit,
    StartShift,
    decide,
)
from dispatch.events import Envelope
from dispatch.model import Agency, Location
from dispatch.state import DispatchState
from dispatch.visits import PlannedRoute, PlannedStop, VisitSource
from web.auth import Role
from web.visibility import Audience, Viewer, audience_of

T0 = datetime(2026, 1, 15, 7, 0, tzinfo=UTC)
PSYCHIATRY = Viewer(Role.AGENCY, Agency.PSYCHIATRY.value)
POLICE = Viewer(Role.AGENCY, Agency.POLICE.value)


def apply(state: DispatchState, command: Command) -> list[tuple[Envelope, Audience]]:
    """Decide and apply like the service, each event's audience judged just before it."""
    out = []
    for event in decide(state, command, now=T0, actor="tester").events:
        env = Envelope(state.last_seq + 1, event)
        out.append((env, audience_of(state, event)))
        state.apply(env)
    return out


def book(ref: str, agency: str) -> BookVisit:
    return BookVisit(patient_ref=ref, location=Location(65.58, 22.15, label="Storgatan 1"),
                     earliest_start=T0 + timedelta(hours=2), latest_start=T0 + timedelta(hours=5),
                     duration_s=2700, source=VisitSource.AGENCY if agency else
                     VisitSource.DISPATCHER, agency=agency)


def seen(viewer: Viewer, items: list[tuple[Envelope, Audience]]) -> list[dict[str, Any]]:
    return [m["event"] for env, aud in items if (m := viewer.render(env, aud)) is not None]


def test_an_agency_is_told_only_that_its_own_visits_changed() -> None:
    state = DispatchState()
    apply(state, RegisterUnit("U1", "U1", "lulea", Location(65.58, 22.15), ("nurse",)))
    apply(state, StartShift("U1", ("a", "b"), T0 + timedelta(hours=10)))
    ours = apply(state, book("P-1", Agency.PSYCHIATRY.value))
    theirs = apply(state, book("P-2", ""))  # the dispatcher's booking
    assert seen(PSYCHIATRY, ours) == [{"type": "VisitBooked", "visit_id": "V000001"}]
    assert seen(PSYCHIATRY, theirs) == [] and seen(POLICE, ours) == []
    stops = tuple(PlannedStop(v, T0 + timedelta(hours=h), T0 + timedelta(hours=h),
                              T0 + timedelta(hours=h, minutes=45))
                  for v, h in (("V000001", 2), ("V000002", 4)))
    route = PlannedRoute("U1", T0 + timedelta(hours=1), stops, T0 + timedelta(hours=6), 1800)
    plan = apply(state, RecordDayPlan(day="2026-01-15", routes=(route,), cause="day start"))
    assert seen(PSYCHIATRY, plan) == [{"type": "DayPlanned", "day": "2026-01-15"}]
    assert seen(POLICE, plan) == []
    cancelled = apply(state, CancelVisit("V000001", "nobody wanted it"))
    assert seen(PSYCHIATRY, cancelled) == [{"type": "VisitCancelled", "visit_id": "V000001"}]
    assert seen(PSYCHIATRY, apply(state, CancelVisit("V000002", "x"))) == []
    # a plan without any of its visits (the cancelled one was on the day before) still tells
    # it, once; after that a plan of only others' visits does not
    empty = apply(state, RecordDayPlan(day="2026-01-15", routes=(), cause="visits changed"))
    assert seen(PSYCHIATRY, empty) == [{"type": "DayPlanned", "day": "2026-01-15"}]
    again = apply(state, RecordDayPlan(day="2026-01-15", routes=(), cause="visits changed"))
    assert seen(PSYCHIATRY, again) == []
