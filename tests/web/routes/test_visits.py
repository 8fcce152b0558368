"""``/api/visits`` and the planning worker over a real server: psychiatry books, the day plan
reaches the crew over its socket, the crew reports its visits exactly-once, an acute callout
taking the unit re-plans the rest of the day, and each role may do only its part."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import ManualClock, Server, Sock, free_port, make_tokens, serve_app
from web.app import create_app
from web.settings import Settings

#: 08:00 in Stockholm on Thursday 15 January 2026: the bundled rota's day shifts have begun.
MORNING = datetime(2026, 1, 15, 7, 0, tzinfo=UTC)


@pytest.fixture
def planned(tmp_path: Path) -> Iterator[tuple[Server, Any, ManualClock]]:
    db = tmp_path / "visits.sqlite3"
    port = free_port()
    clock = ManualClock(MORNING)
    app = create_app(Settings(database=db, port=port, demo_units=True, tick_interval_s=0.2,
                              ack_timeout_s=600, plan_time_limit_s=0.3,
                              replan_time_limit_s=0.2), clock=clock)
    srv = serve_app(app, port, db, make_tokens(db))
    try:
        yield srv, app, clock
    finally:
        srv.stop()


def booking(place: str, hours: float, span: float = 3.0, **extra: Any) -> dict[str, Any]:
    start = MORNING + timedelta(hours=hours)
    return {"patient_ref": f"P-{place[:3]}-{int(hours)}", "location": {"place": place},
            "earliest_start": start.isoformat(),
            "latest_start": (start + timedelta(hours=span)).isoformat(),
            "duration_min": 45, **extra}


def day_plan(sock: Sock, cause: str | None = None, timeout: float = 30.0) -> dict[str, Any]:
    msg = sock.until(lambda m: m.get("type") == "event"
                     and m["event"]["type"] == "DayPlanned"
                     and (cause is None or m["event"]["cause"] == cause), timeout)
    event: dict[str, Any] = msg["event"]
    return event


def test_booking_planning_reporting_and_a_re_plan_when_a_callout_takes_the_unit(
        planned: tuple[Server, Any, ManualClock]) -> None:
    srv, _, _ = planned
    dispatcher = srv.socket("/ws/dispatch", "dispatcher")
    dispatcher.ready()
    crew = srv.socket("/ws/crew", "crew_sun")
    crew.ready()
    ids = []
    with srv.http("psychiatry") as c:
        for place, hours in (("Luleå", 1), ("Boden", 2), ("Luleå", 3)):
            reply = c.post("/api/visits", json=booking(place, hours))
            assert reply.status_code == 201, reply.text
            ids.append(reply.json()["visit_id"])
        mine = c.get("/api/visits").json()
    assert [v["visit_id"] for v in mine] == ids and all(v["agency"] == "psychiatry"
                                                        for v in mine)
    plan = day_plan(dispatcher)
    while {s["visit_id"] for r in plan["routes"] for s in r["stops"]} | set(
            plan["postponed"]) | set(plan["unplaced"]) != set(ids):
        plan = day_plan(dispatcher)  # the first plan may predate the last booking
    with srv.http("crew_sun") as c:
        own = c.get("/api/visits/plan").json()
    assert all(r["unit_id"] == "MAE-SUNDERBY" for r in own["routes"])
    sun_stops = [s["visit_id"] for r in own["routes"] for s in r["stops"]]
    if not sun_stops:  # the planner gave Sunderby nothing: pin one there and wait for it
        with srv.http("dispatcher") as c:
            assert c.post(f"/api/visits/{ids[0]}/pin",
                          json={"unit_id": "MAE-SUNDERBY"}).status_code == 200
        day_plan(crew)
        with srv.http("crew_sun") as c:
            own = c.get("/api/visits/plan").json()
        sun_stops = [s["visit_id"] for r in own["routes"] for s in r["stops"]]
    first = sun_stops[0]
    with srv.http("crew_sun") as c:  # directions from where the car stands to the visit
        route = c.get(f"/api/visits/{first}/route")
    assert route.status_code == 200, route.text
    assert route.json()["steps"] and route.json()["unit_id"] == "MAE-SUNDERBY"
    with srv.http("crew_pit") as c:  # another unit's visit is not the Piteå crew's to see
        assert c.get(f"/api/visits/{first}/route").status_code == 400
    started = crew.request({"type": "visit", "action": "start", "visit_id": first,
                            "op": "op-start-1"})
    assert started["type"] == "ok" and started["duplicate"] is False, started
    again = crew.request({"type": "visit", "action": "start", "visit_id": first,
                          "op": "op-start-1"})
    assert again["duplicate"] is True and again["seq"] == started["seq"]
    done = crew.request({"type": "visit", "action": "done", "visit_id": first, "op": "op-d"})
    assert done["type"] == "ok", done
    # an acute alarm takes Sunderby, which has visits left: the rest of the day is re-planned
    with srv.http("police") as c:
        alarm = c.post("/api/alarms", json={
            "reference": "P-1", "location": {"place": "Luleå"}, "priority": 1,
            "category": "psychosis"}).json()
    with srv.http("dispatcher") as c:
        pushed = c.get("/api/visits/pushed", params={"unit_id": "MAE-SUNDERBY"}).json()
    assigned = dispatcher.request({"type": "assign", "callout_id": alarm["callout_id"],
                                   "unit_id": "MAE-SUNDERBY"})
    assert assigned["type"] == "ok", assigned
    assert pushed["visits"] or len(sun_stops) == 1  # Sunderby had visits left after the first
    if pushed["visits"]:
        replanned = day_plan(dispatcher, "unit taken")
        routes = {r["unit_id"]: [s["visit_id"] for s in r["stops"]]
                  for r in replanned["routes"]}
        assert first not in routes.get("MAE-SUNDERBY", [])
        left = set(ids) - {first}
        placed = [v for r in routes.values() for v in r]
        assert len(placed) == len(set(placed))
        assert left == set(placed) | set(replanned["postponed"]) | set(replanned["unplaced"])
    with srv.http("dispatcher") as c:
        visits = {v["visit_id"]: v for v in c.get("/api/visits",
                                                  params={"open_only": False}).json()}
    assert visits[first]["status"] == "done" and visits[first]["unit_id"] == "MAE-SUNDERBY"
    dispatcher.close()
    crew.close()


@pytest.mark.parametrize(("who", "status"), [
    ("police", 403), ("planner", 403), ("crew_sun", 403), ("manager", 403), (None, 401)])
def test_only_psychiatry_and_dispatchers_book(planned: tuple[Server, Any, ManualClock],
                                              who: str | None, status: int) -> None:
    srv, _, _ = planned
    with srv.http(who) as c:
        assert c.post("/api/visits", json=booking("Luleå", 1)).status_code == status


@pytest.mark.parametrize(("change", "field"), [
    ({"patient_ref": "19850101-1234"}, "patient_ref"),
    ({"patient_ref": "Anna Berg"}, "patient_ref"),
    ({"duration_min": 2}, "duration_min"),
    ({"latest_start": "2026-01-14T07:00:00+00:00"}, "latest_start"),
    ({"earliest_start": "9999-12-31T23:59:59+00:00",
      "latest_start": "9999-12-31T23:59:59+00:00"}, "earliest_start"),
    ({"earliest_start": "2027-03-01T07:00:00+00:00",
      "latest_start": "2027-03-01T09:00:00+00:00"}, "earliest_start"),
    ({"staff": 9}, "staff"),
])
def test_a_bad_booking_names_its_field(planned: tuple[Server, Any, ManualClock],
                                       change: dict[str, Any], field: str) -> None:
    srv, _, _ = planned
    with srv.http("dispatcher") as c:
        reply = c.post("/api/visits", json={**booking("Luleå", 1), **change})
    assert reply.status_code in (400, 422), reply.text
    assert reply.json()["field"] == field


def test_dates_at_the_ends_of_the_calendar_are_refused_and_the_report_still_answers(
        planned: tuple[Server, Any, ManualClock]) -> None:
    """An audit booked a visit in the year 9999; from then on every monthly report answered
    500. Such times are refused, naming the field, and so are days and months outside the
    years 2000-2099 in the queries; the month's report answers."""
    srv, _, _ = planned
    far = "9999-12-31T23:59:59+00:00"
    with srv.http("dispatcher") as c:
        booked = c.post("/api/visits", json=booking("Luleå", 1))
        assert booked.status_code == 201
        visit_id = booked.json()["visit_id"]
        moved = c.post(f"/api/visits/{visit_id}/move",
                       json={"earliest_start": far, "latest_start": far})
        assert moved.status_code in (400, 422) and moved.json()["field"] == "earliest_start"
        pinned = c.post(f"/api/visits/{visit_id}/pin", json={"start": far})
        assert pinned.status_code in (400, 422) and pinned.json()["field"] == "start"
        for path, params, field in (("/api/history", {"date": "9999-12-31"}, "date"),
                                    ("/api/history/export.csv", {"date": "9999-12-31"},
                                     "date"),
                                    ("/api/visits/plan", {"day": "2026-13-45"}, "day"),
                                    ("/api/visits/plan", {"day": "9999-12-31"}, "day")):
            reply = c.get(path, params=params)
            assert reply.status_code in (400, 422), (path, reply.text)
            assert reply.json()["field"] == field
    with srv.http("manager") as c:
        for month in ("9999-12", "0001-01"):
            reply = c.get("/api/stats/report", params={"month": month})
            assert reply.status_code in (400, 422) and reply.json()["field"] == "month"
        assert c.get("/api/stats/report", params={"month": "2026-01"}).status_code == 200


def test_agencies_and_crews_see_only_their_own_and_illegal_moves_conflict(
        planned: tuple[Server, Any, ManualClock]) -> None:
    srv, _, _ = planned
    with srv.http("dispatcher") as c:
        visit_id = c.post("/api/visits", json=booking("Piteå", 2)).json()["visit_id"]
        assert c.post(f"/api/visits/{visit_id}/cancel", json={"reason": "admitted"}
                      ).status_code == 200
        again = c.post(f"/api/visits/{visit_id}/cancel", json={})
        assert again.status_code == 409 and "cancelled" in again.json()["message"]
        moved = c.post(f"/api/visits/{visit_id}/move", json={
            "earliest_start": MORNING.isoformat(),
            "latest_start": (MORNING + timedelta(hours=1)).isoformat()})
        assert moved.status_code == 409
    with srv.http("psychiatry") as c:
        assert c.get("/api/visits", params={"open_only": False}).json() == []
        assert c.get(f"/api/visits/{visit_id}").status_code == 400
        assert c.post(f"/api/visits/{visit_id}/cancel", json={}).status_code == 403
    with srv.http("crew_pit") as c:
        assert c.get("/api/visits", params={"open_only": False}).json() == []
        assert c.post(f"/api/visits/{visit_id}/done", json={}).status_code == 400


def test_a_crew_takes_over_another_unit_s_visit_by_starting_it(
        planned: tuple[Server, Any, ManualClock]) -> None:
    """Documented: a crew may start any booked visit, also one pinned to another unit (that
    unit is held up); the visit is its unit's from then on, so the other crew can no longer
    finish it, while a visit the crew cannot see stays unknown for done and not met."""
    srv, _, _ = planned
    with srv.http("dispatcher") as c:
        visit_id = c.post("/api/visits", json=booking("Luleå", 1)).json()["visit_id"]
        other = c.post("/api/visits", json=booking("Boden", 2)).json()["visit_id"]
        assert c.post(f"/api/visits/{visit_id}/pin",
                      json={"unit_id": "MAE-SUNDERBY"}).status_code == 200
    with srv.http("crew_pit") as c:
        assert c.post(f"/api/visits/{other}/done", json={}).status_code == 400
        started = c.post(f"/api/visits/{visit_id}/start", json={})
        assert started.status_code == 200, started.text
    with srv.http("crew_sun") as c:
        refused = c.post(f"/api/visits/{visit_id}/done", json={})
        assert refused.status_code in (400, 409) and "MAE-PITEA" in refused.json()["message"]
    with srv.http("crew_pit") as c:
        assert c.post(f"/api/visits/{visit_id}/done", json={}).status_code == 200
    with srv.http("dispatcher") as c:
        seen = c.get(f"/api/visits/{visit_id}").json()
    assert seen["status"] == "done" and seen["unit_id"] == "MAE-PITEA"
