"""Socket messages: bad input names the field and changes nothing, retries never duplicate, the
ack timer alerts the dispatcher with the next-best unit, resuming from a bad since is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.web.conftest import BOTH_STORES, ManualClock, Server, Sock, make_tokens, thread_server

pytestmark = BOTH_STORES

ALARM = {"type": "alarm", "reference": "R-9", "priority": 1, "category": "psychosis",
         "location": {"place": "Boden"}}


def seq(server: Server) -> int:
    with server.http("dispatcher") as c:
        return int(c.get("/api/health").json()["seq"])


def refused(server: Server, path: str, who: str, msg: dict[str, object]) -> dict[str, Any]:
    """The error ``msg`` gets on a new socket of ``who``: nothing is logged and the socket
    stays open."""
    before = seq(server)
    sock = server.socket(path, who)
    sock.ready()
    reply = sock.request(msg)
    assert reply["type"] == "error", reply
    assert sock.request({"type": "ping"})["type"] == "pong"  # still open
    assert seq(server) == before
    sock.close()
    return reply


@pytest.mark.parametrize(("msg", "field"), [
    ({"type": "assign", "callout_id": "C000001"}, "unit_id"),
    ({"type": "assign", "callout_id": "C000001", "unit_id": "MAE-PITEA", "eta_s": -5},
     "eta_s"),
    ({"type": "assign", "callout_id": "C000001", "unit_id": "NOPE"}, "unit_id"),
    ({"type": "assign", "callout_id": "C999999", "unit_id": "MAE-PITEA"}, "callout_id"),
    ({"type": "merge", "target_id": "C000001", "source_id": "C000001"}, "source_id"),
    ({"type": "split", "callout_id": "C000001", "alarm_id": "police/R-9"}, "alarm_id"),
    ({"type": "note", "callout_id": "C000001", "text": ""}, "text"),
    ({"type": "cancel", "callout_id": "C000001", "reason": "x" * 500}, "reason"),
    ({"type": "recommend"}, "callout_id"),
    ({"type": "teleport"}, "type"),
    ({"type": "assign", "callout_id": "C000001", "unit_id": "MAE-PITEA", "extra": 1}, "extra"),
])
def test_bad_dispatch_messages_name_the_field_and_change_nothing(
    server: Server, msg: dict[str, object], field: str
) -> None:
    agency = server.socket("/ws/agency", "police")
    agency.ready()
    agency.request(ALARM)
    agency.close()
    reply = refused(server, "/ws/dispatch", "dispatcher", msg)
    assert reply["field"] == field and reply["status"] in (400, 404, 409, 422), reply


@pytest.mark.parametrize(("msg", "field"), [
    ({**ALARM, "priority": 9}, "priority"),
    ({**ALARM, "location": {"lat": 65.8}}, "location"),
    ({**ALARM, "location": {"place": "Bodn"}}, "location.place"),
    ({**ALARM, "location": {"lat": 59.33, "lon": 18.07}}, "location"),  # Stockholm: off the map
    ({**ALARM, "reference": ""}, "reference"),
    ({**ALARM, "note": "x" * 2001}, "note"),
    ({**ALARM, "patient": {"sex": "robot"}}, "patient.sex"),
    ({**ALARM, "link_to": "C424242"}, "link_to"),
])
def test_bad_alarms_name_the_field_and_store_nothing(
    server: Server, msg: dict[str, object], field: str
) -> None:
    assert refused(server, "/ws/agency", "police", msg)["field"] == field


def test_garbage_frames_get_an_error_and_the_socket_stays_open(server: Server) -> None:
    sock = server.socket("/ws/crew", "crew_sun")
    sock.ready()
    for frame in ("not json", "[1, 2]", '{"no": "type"}', "{" * 5, "[" * 60_000):
        sock.conn.send(frame)
        assert sock.until(lambda m: m.get("type") == "error")["status"] == 422
    sock.conn.send(b"\xff\xfe")
    assert sock.until(lambda m: m.get("type") == "error")["status"] == 422
    assert sock.request({"type": "ping"})["type"] == "pong"
    assert sock.request({"type": "status", "status": "teleporting"})["field"] == "status"
    assert sock.request({"type": "ack", "callout_id": "C000404"})["status"] == 404
    sock.close()


def test_alarm_retries_return_the_same_callout_and_log_nothing(server: Server) -> None:
    sock = server.socket("/ws/agency", "police")
    sock.ready()
    first = sock.request(ALARM)
    after_first = seq(server)
    for _ in range(3):
        again = sock.request(ALARM)
        assert again["duplicate"] and again["callout_id"] == first["callout_id"]
    with server.http("police") as rest:
        r = rest.post("/api/alarms", json={k: v for k, v in ALARM.items() if k != "type"})
        assert r.status_code == 200 and r.json()["duplicate"]
    assert seq(server) == after_first
    sock.close()


@pytest.mark.parametrize("since", [10_000, "\u00b2", "-1", "1e3"])
def test_resuming_from_beyond_the_log_or_a_bad_since_is_refused(server: Server,
                                                                 since: object) -> None:
    """An error naming ``since`` and a clean close (``"²".isdigit()`` is true in Python)."""
    sock = server.socket("/ws/dispatch", "dispatcher", since=since)  # type: ignore[arg-type]
    reply = sock.recv()
    assert reply["type"] == "error" and reply["field"] == "since"
    with pytest.raises(ConnectionClosed):
        sock.recv()
    sock.close()


def test_unacknowledged_job_alerts_the_dispatcher_with_the_next_best_unit(tmp_path: Path) -> None:
    db = tmp_path / "timer.sqlite3"
    clock = ManualClock()
    srv = thread_server(db, make_tokens(db), clock=clock, demo_units=True, ack_timeout_s=60,
                        tick_interval_s=0.05)
    try:
        agency = srv.socket("/ws/agency", "police")
        agency.ready()
        cid = agency.request(ALARM)["callout_id"]
        disp = srv.socket("/ws/dispatch", "dispatcher")
        disp.ready()
        assert disp.request({"type": "assign", "callout_id": cid,
                             "unit_id": "MAE-SUNDERBY"})["type"] == "ok"
        clock.advance(61)
        alert = disp.until(lambda m: m.get("type") == "alert")
        assert alert["kind"] == "ack_timeout" and alert["callout_id"] == cid
        assert alert["unit_id"] == "MAE-SUNDERBY"
        assert alert["next_best"]["unit_id"] != "MAE-SUNDERBY"
        assert alert["next_best"]["eta_s"] > 0
        timed_out = [m for m in disp.messages if m.get("type") == "event"
                     and m["event"]["type"] == "AssignmentTimedOut"]
        assert len(timed_out) == 1
        snap = srv.socket("/ws/dispatch", "dispatcher")
        callout = next(c for c in snap.recv()["callouts"] if c["callout_id"] == cid)
        assert callout["ack_overdue"] and callout["status"] == "waiting"
        for s in (agency, disp, snap):
            s.close()
    finally:
        srv.stop()


def test_a_token_revoked_while_its_socket_is_open_is_cut_off(server: Server) -> None:
    """Revoking (as `mae tokens revoke` does, from another process) ends the open socket at
    its next message: an error saying so, close code 4401, nothing stored."""
    sock = server.socket("/ws/crew", "crew_sun")
    sock.ready()
    assert sock.request({"type": "ping"})["type"] == "pong"
    principal_id = server.tokens["crew_sun"].split("_")[1]
    store = server.principals()
    assert store.revoke(principal_id)
    store.close()
    before = seq(server)
    sock.conn.send(json.dumps({"type": "status", "status": "unavailable", "id": "x"}))
    reply = sock.until(lambda m: m.get("type") == "error")
    assert reply["status"] == 401 and "revoked" in reply["message"]
    with pytest.raises(ConnectionClosed) as closed:
        sock.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    assert seq(server) == before
    sock.close()


def test_a_typed_cancel_reason_reaches_only_those_who_see_patient_text(server: Server) -> None:
    """The reason a dispatcher types may say anything about the patient: agencies and planners
    get the cancellation without it."""
    police, planner = server.socket("/ws/agency", "police"), server.socket("/ws/dispatch",
                                                                           "planner")
    disp = server.socket("/ws/dispatch", "dispatcher")
    for s in (police, planner, disp):
        s.ready()
    cid = police.request(ALARM)["callout_id"]
    reason = "han har en kniv, mamma Anna ringde"
    assert disp.request({"type": "cancel", "callout_id": cid, "reason": reason})["type"] == "ok"

    def cancelled(m: dict[str, object]) -> bool:
        event = m.get("event")
        return isinstance(event, dict) and event.get("type") == "CalloutCancelled"

    def seen(sock: Sock) -> dict[str, Any]:  # it may have come before the command's reply
        return next((m for m in sock.messages if cancelled(m)), None) or sock.until(cancelled)

    assert seen(disp)["event"]["reason"] == reason
    for s in (police, planner):
        assert seen(s)["event"]["reason"] == "" and reason not in json.dumps(s.messages)
    for s in (police, planner, disp):
        s.close()


@pytest.mark.parametrize(("msg", "field"), [
    ({"type": "status", "status": "en_route", "pressed_at": "0001-01-01T00:00:00+23:59"},
     "pressed_at"),
    ({"type": "status", "status": "en_route", "pressed_at": "9999-12-31T23:59:59-23:59"},
     "pressed_at"),
    ({"type": "status", "status": "en_route", "pressed_at": "1999-06-01T12:00:00+00:00"},
     "pressed_at"),
])
def test_a_crew_time_outside_the_years_commands_take_names_its_field(
    server: Server, msg: dict[str, object], field: str
) -> None:
    """At datetime's ends an offset has no UTC time: converting it was a 500 "internal"."""
    reply = refused(server, "/ws/crew", "crew_pit", msg)
    assert reply["field"] == field and reply["status"] in (400, 422), reply
    assert "2000-2099" in reply["message"], reply
