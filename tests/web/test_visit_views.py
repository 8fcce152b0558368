"""What the pages are told of a visit: its place in the latest plan, postponed, and at risk
(booked, and unplaced or closing within the hour with no planned start); a crew's plan view
holds only its own route."""

from __future__ import annotations

from datetime import timedelta

from dispatch.commands import RecordDayPlan
from dispatch.visits import PlannedRoute, PlannedStop
from tests.dispatch.test_state import run
from tests.dispatch.test_visit_plan import DAY, NOW, setup, visit
from web.visit_views import plan_view, visit_view


def test_planned_postponed_unplaced_and_closing_visits_are_told_apart() -> None:
    state, log = setup()
    for command in (visit(0, 9, 3), visit(1, 10, 3, cost=600), visit(2, 8, 3), visit(3, 8, 0)):
        assert run(state, log, command, NOW)
    at = DAY + timedelta(hours=9, minutes=30)
    stop = PlannedStop("V000001", at - timedelta(minutes=20), at, at + timedelta(minutes=45))
    route = PlannedRoute("U1", NOW, (stop,), NOW + timedelta(hours=10), 1200)
    assert run(state, log, RecordDayPlan("2026-01-15", (route,), postponed=("V000002",),
                                         unplaced=("V000003",)), NOW)
    views = {v: visit_view(state, state.visits[v], NOW) for v in state.visits}
    assert views["V000001"]["planned_unit"] == "U1"
    assert views["V000001"]["planned_start"] == at.isoformat()
    assert not views["V000001"]["at_risk"]
    assert views["V000002"]["postponed"] and not views["V000002"]["at_risk"]
    assert views["V000003"]["at_risk"]  # unplaced
    assert views["V000004"]["at_risk"]  # its window closes now, nothing planned
    mine = plan_view(state, "2026-01-15", NOW, unit_id="U2")
    assert mine["routes"] == [] and mine["postponed"] == [] and mine["visits"] == []
    everything = plan_view(state, "2026-01-15", NOW)
    assert [v["visit_id"] for v in everything["visits"]] == ["V000001", "V000002", "V000003"]
    assert everything["revision"] == 1
