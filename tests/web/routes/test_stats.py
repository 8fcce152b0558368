"""The read-only manager: statistics and callout histories with ids, times, statuses, outcomes
and patient facts, never free text or places, and never a write (REST or socket)."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from dispatch.commands import CancelCallout, ReceiveAlarm, decide
from dispatch.events import Envelope
from dispatch.model import Agency, Alarm, Category, Location, Priority
from dispatch.state import DispatchState
from tests.web.conftest import ManualClock, Server, free_port, serve_app, thread_server
from web.app import create_app
from web.eventstore import SqliteEventStore
from web.settings import Settings
from web.visibility import MANAGER_KEYS

NOTE = "ringde själv, bor med sin mamma Kerstin på Storgatan 5"
DISPATCH_NOTE = "grannen säger att han har en kniv"
REASON = "pappan ringde tillbaka, allt lugnt"
ALARM = {"reference": "ST-1", "priority": 1, "category": "suicide_risk", "note": NOTE,
         "location": {"place": "Boden"},
         "patient": {"age_band": "26-44", "sex": "female", "children": "yes"}}
OTHER = {"reference": "ST-2", "priority": 2, "category": "psychosis", "note": REASON,
         "location": {"place": "Kalix"}, "patient": {"age_band": "65+", "sex": "male"}}
OLD = 30_000  # a minute apart: all in March 2025
FREE_TEXT = (NOTE, DISPATCH_NOTE, REASON, "Storgatan", "Boden", "Kalix")


def _closed_callout(server: Server) -> tuple[str, str]:
    """One callout worked through to an outcome (with notes), one cancelled with a reason."""
    with server.http("police") as police:
        cid = police.post("/api/alarms", json=ALARM).json()["callout_id"]
        other = police.post("/api/alarms", json=OTHER).json()["callout_id"]
    disp, crew = server.socket("/ws/dispatch", "dispatcher"), server.socket("/ws/crew",
                                                                            "crew_sun")
    disp.ready()
    crew.ready()
    assert disp.request({"type": "assign", "callout_id": cid,
                         "unit_id": "MAE-SUNDERBY"})["type"] == "ok"
    assert crew.request({"type": "ack", "callout_id": cid})["type"] == "ok"
    assert disp.request({"type": "note", "callout_id": cid, "text": DISPATCH_NOTE})["type"] \
        == "ok"
    for status in ("en_route", "on_scene"):
        assert crew.request({"type": "status", "status": status})["type"] == "ok"
    assert crew.request({"type": "outcome", "callout_id": cid,
                         "kind": "referred_primary_care"})["type"] == "ok"
    assert disp.request({"type": "cancel", "callout_id": other, "reason": REASON})["type"] \
        == "ok"
    disp.close()
    crew.close()
    return cid, other


def _no_free_text(body: Any) -> None:
    text = json.dumps(body, ensure_ascii=False)
    for secret in FREE_TEXT:
        assert secret not in text, secret


def test_monthly_statistics_and_a_months_callouts(server: Server) -> None:
    cid, other = _closed_callout(server)
    with server.http("manager") as manager:
        stats = manager.get("/api/stats").json()
        month = stats["months"][-1]
        assert month["callouts"] == 2
        assert month["outcome"] == {"referred_primary_care": 1, "cancelled": 1}
        assert month["sex"] == {"female": 1, "male": 1}
        assert month["age_band"] == {"26-44": 1, "65+": 1}
        assert month["children"] == {"yes": 1, "unknown": 1}
        assert manager.get("/api/stats", params={"since": "2099-01"}).json()["months"] == []
        bad = manager.get("/api/stats", params={"since": "2026-13"})
        assert bad.status_code == 422 and bad.json()["field"] == "since"

        listed = manager.get("/api/stats/callouts", params={"month": month["month"]}).json()
        assert [c["callout_id"] for c in listed] == [cid, other]
        assert listed[0]["outcome"] == "referred_primary_care"
        assert listed[0]["patient"] == {"age_band": "26-44", "sex": "female", "children": "yes"}
        assert listed[1]["status"] == "cancelled"
        _no_free_text(stats)
        _no_free_text(listed)


def test_a_managers_history_has_the_timeline_without_free_text(server: Server) -> None:
    cid, other = _closed_callout(server)
    with server.http("manager") as manager, server.http("dispatcher") as dispatcher:
        mine = manager.get(f"/api/callouts/{cid}/history").json()
        full = dispatcher.get(f"/api/callouts/{cid}/history").json()
        cancelled = manager.get(f"/api/callouts/{other}/history").json()
        assert manager.get("/api/callouts/C999999/history").status_code == 404
    kinds = [e["event"]["type"] for e in mine["events"]]
    assert kinds == [e["event"]["type"] for e in full["events"]]
    assert {"AlarmReceived", "UnitAssigned", "AssignmentAcknowledged", "NoteAdded",
            "UnitStatusChanged", "OutcomeRecorded"} <= set(kinds)
    received = mine["events"][0]["event"]
    assert received["alarm"]["patient"] == {"age_band": "26-44", "sex": "female",
                                            "children": "yes"}
    assert received["at"] and received["callout_id"] == cid
    outcome = next(e["event"] for e in mine["events"]
                   if e["event"]["type"] == "OutcomeRecorded")
    assert outcome["outcome"]["kind"] == "referred_primary_care"
    for entry in mine["events"] + cancelled["events"]:
        assert set(entry["event"]) <= set(MANAGER_KEYS)
    _no_free_text(mine)
    _no_free_text(cancelled)
    assert DISPATCH_NOTE in json.dumps(full, ensure_ascii=False)  # the dispatcher does see it


def test_a_manager_writes_nothing_and_opens_no_socket(server: Server) -> None:
    """Every write route of the app answers 403 to a manager; every socket closes 4403."""
    app = server_app_routes(server)
    with server.http("manager") as manager:
        for method, path in app:
            r = manager.request(method, path.replace("{agency}", "police")
                                .replace("{reference}", "R").replace("{principal_id}",
                                                                     "0123456789abcdef"),
                                json={})
            assert r.status_code == 403, (method, path, r.status_code)
        for path in ("/api/units", "/api/callouts", "/api/coverage", "/api/audit"):
            assert manager.get(path).status_code == 403, path
    for path in ("/ws/dispatch", "/ws/crew", "/ws/agency", "/ws/replay?name=x"):
        sock = server.socket(path, "manager")
        assert sock.recv()["status"] == 403
        with pytest.raises(ConnectionClosed) as closed:
            sock.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


def server_app_routes(server: Server) -> list[tuple[str, str]]:
    """(method, path) of every write route the service documents."""
    spec = httpx.get(server.base + "/openapi.json").json()
    found = [(method.upper(), path) for path, ops in spec["paths"].items()
             for method in ops if method in ("post", "put", "patch", "delete")]
    assert ("POST", "/api/alarms") in found and ("DELETE", "/api/admin/tokens/{principal_id}") \
        in found
    return found


def _old_log(db: Path, n: int) -> None:
    """``n`` cancelled callouts of March 2025 (a minute apart; cancelled, so none merge), each
    with its own alarm, stored in the log before the service starts: a long-running service."""
    state = DispatchState()
    where = Location(65.58, 22.15)
    events = []
    for i in range(n):
        at = datetime(2025, 3, 1, tzinfo=UTC) + timedelta(minutes=i)
        alarm = Alarm(agency=Agency.POLICE, reference=f"OLD-{i}", received_at=at,
                      location=where, priority=Priority(2), category=Category.PSYCHOSIS)
        for command in (ReceiveAlarm(alarm), CancelCallout(f"C{i + 1:06d}", code="duplicate")):
            for event in decide(state, command, now=at, actor="police").events:
                state.apply(Envelope(state.last_seq + 1, event))
                events.append(event)
    store = SqliteEventStore(db)
    try:
        store.append(events, expected_last_seq=0)
    finally:
        store.close()


def test_statistics_of_a_big_state_are_read_off_the_loop_while_alarms_are_taken(
        db: Path, tokens: dict[str, str]) -> None:
    """A manager asking for statistics over a long log again and again never holds up a
    police system's alarms: the log is folded off the loop, alarms are answered while a
    statistics request is in flight, and each answer holds what was logged by then."""
    _old_log(db, OLD)
    port = free_port()
    app = create_app(Settings(database=db, port=port, demo_units=True))
    server = serve_app(app, port, db, tokens)
    try:
        log: list[tuple[str, int]] = []  # ("ask"|"answer", n), ("send"|"ack", i), in order
        lock = threading.Lock()
        alarms_done = threading.Event()
        answers: list[dict[str, Any]] = []

        def manager() -> None:
            with server.http("manager") as client:
                n = 0
                while not alarms_done.is_set() or n < 2:
                    with lock:
                        log.append(("ask", n))
                    r = client.get("/api/stats", timeout=120)
                    assert r.status_code == 200, r.text
                    with lock:
                        log.append(("answer", n))
                    answers.append(r.json())
                    n += 1

        asking = threading.Thread(target=manager)
        asking.start()
        try:
            while not log:
                time.sleep(0.001)
            with server.http("police") as police:
                for i, place in enumerate(("Boden", "Kalix", "Piteå", "Jokkmokk", "Arjeplog")):
                    with lock:
                        log.append(("send", i))
                    ack = police.post("/api/alarms", json={
                        **ALARM, "reference": f"BIG-{i}", "location": {"place": place}})
                    assert ack.status_code == 201, ack.text
                    with lock:
                        log.append(("ack", i))
        finally:
            alarms_done.set()
            asking.join(timeout=300)
        assert not asking.is_alive()
        # an alarm sent after a statistics request and answered before it: served meanwhile
        at = {entry: k for k, entry in enumerate(log)}
        asks = [n for kind, n in log if kind == "ask"]
        served = [(n, i) for n in asks for i in range(5)
                  if at[("ask", n)] < at[("send", i)] < at[("ack", i)] < at[("answer", n)]]
        assert served, log
        months = [{m["month"]: m["callouts"] for m in a["months"]} for a in answers]
        assert all(m["2025-03"] == OLD for m in months)
        new = [sum(v for k, v in m.items() if k != "2025-03") for m in months]
        assert new == sorted(new) and new[-1] == 5  # each answer holds what was logged by then
    finally:
        server.stop()


def test_a_callout_late_on_the_last_day_is_in_that_month_in_every_statistic(
        db: Path, tokens: dict[str, str]) -> None:
    """23:30 Stockholm time on 31 January (22:30 UTC) and 00:30 on 1 February (23:30 UTC on
    31 January): ``/api/stats``, ``/api/stats/callouts`` and the report agree on the month."""
    clock = ManualClock(datetime(2026, 1, 31, 22, 30, tzinfo=UTC))
    server = thread_server(db, tokens, clock=clock, demo_units=True)
    try:
        with server.http("police") as police, server.http("manager") as manager:
            late = police.post("/api/alarms", json=ALARM).json()["callout_id"]
            clock.advance(3600)
            early = police.post("/api/alarms", json=OTHER).json()["callout_id"]
            months = manager.get("/api/stats").json()["months"]
            assert [(m["month"], m["callouts"]) for m in months] == [("2026-01", 1),
                                                                    ("2026-02", 1)]
            assert months[0]["age_band"] == {"26-44": 1}
            for month, cid in (("2026-01", late), ("2026-02", early)):
                listed = manager.get("/api/stats/callouts", params={"month": month}).json()
                assert [c["callout_id"] for c in listed] == [cid]
                report = manager.get("/api/stats/report", params={"month": month}).json()
                assert report["callouts"] == 1, month
    finally:
        server.stop()
