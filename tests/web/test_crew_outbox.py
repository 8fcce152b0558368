"""Exactly-once crew messages over a real socket: a repeated op id returns the first reply
marked duplicate and appends nothing, also after a restart on the same database; a bad op is
refused naming ``op``; a status made for a callout the unit has left is refused clearly."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import BOTH_STORES, Server, Sock, thread_server

pytestmark = BOTH_STORES

ALARM = {"type": "alarm", "reference": "OB-1", "priority": 1, "category": "psychosis",
         "location": {"place": "Boden"}}


def events(server: Server) -> list[tuple[int, str]]:
    """(seq, type) of every stored event, read through the server's store."""
    return [(e.seq, type(e.event).__name__) for e in server.events()]


def op() -> str:
    return str(uuid.uuid4())


def job_for_sunderby(server: Server, reference: str = "OB-1") -> str:
    """Raise an alarm and assign it to MAE-SUNDERBY; returns the callout id."""
    police = server.socket("/ws/agency", "police")
    police.ready()
    cid = str(police.request({**ALARM, "reference": reference})["callout_id"])
    police.close()
    disp = server.socket("/ws/dispatch", "dispatcher")
    disp.ready()
    assert disp.request({"type": "assign", "callout_id": cid,
                         "unit_id": "MAE-SUNDERBY"})["type"] == "ok"
    disp.close()
    return cid


@pytest.fixture
def crew(server: Server) -> Iterator[Sock]:
    sock = server.socket("/ws/crew", "crew_sun")
    sock.ready()
    yield sock
    sock.close()


def test_a_repeated_op_is_stored_once_and_answered_as_a_duplicate(
    server: Server, crew: Sock
) -> None:
    cid = job_for_sunderby(server)
    sent: list[tuple[dict[str, Any], str]] = [
        ({"type": "ack", "callout_id": cid}, "AssignmentAcknowledged"),
        ({"type": "status", "status": "en_route", "callout_id": cid}, "UnitStatusChanged"),
    ]
    for msg, kind in sent:
        key = op()
        before = events(server)
        first = crew.request({**msg, "op": key})
        assert first["type"] == "ok" and first["op"] == key and first["duplicate"] is False
        stored = events(server)
        assert stored[len(before):] == [(first["seq"], kind)]
        again = crew.request({**msg, "op": key})
        assert again["type"] == "ok" and again["duplicate"] is True
        assert again["seq"] == first["seq"] and again["callout_id"] == first["callout_id"]
        assert events(server) == stored
    # Without an op the same message is simply run again (and a new op id is a new message).
    assert crew.request({"type": "status", "status": "on_scene"})["type"] == "ok"
    assert "duplicate" not in crew.messages[-1]


def test_a_position_with_an_op_is_answered_and_logs_nothing(server: Server, crew: Sock) -> None:
    """Positions are kept out of the event log (web/positions.py): the op is echoed, nothing
    is appended, and the unit is where the report says."""
    before = events(server)
    key = op()
    reply = crew.request({"type": "position", "lat": 65.83, "lon": 21.69, "op": key})
    assert reply["type"] == "ok" and reply["op"] == key and reply["kept"] is True
    assert events(server) == before
    with server.http("dispatcher") as http:
        unit = http.get("/api/units/MAE-SUNDERBY").json()
    assert (unit["position"]["lat"], unit["position"]["lon"]) == (65.83, 21.69)


def test_ops_are_remembered_across_a_restart(db: Path, tokens: dict[str, str]) -> None:
    server = thread_server(db, tokens, demo_units=True)
    try:
        cid = job_for_sunderby(server)
        crew = server.socket("/ws/crew", "crew_sun")
        crew.ready()
        key = op()
        first = crew.request({"type": "ack", "callout_id": cid, "op": key})
        assert first["type"] == "ok" and not first["duplicate"]
        crew.close()
    finally:
        server.stop()
    stored = events(server)  # a stopped server's store is still readable
    server = thread_server(db, tokens, demo_units=True)
    try:
        crew = server.socket("/ws/crew", "crew_sun")
        crew.ready()
        again = crew.request({"type": "ack", "callout_id": cid, "op": key})
        assert again["type"] == "ok" and again["duplicate"] is True
        assert again["seq"] == first["seq"] and again["callout_id"] == cid
        assert events(server) == stored
        crew.close()
    finally:
        server.stop()


def test_ops_are_per_unit(server: Server, crew: Sock) -> None:
    """Another unit's tablet may happen to use the same op id: it is its own message."""
    key = op()
    assert not crew.request({"type": "status", "status": "unavailable", "op": key})["duplicate"]
    other = server.socket("/ws/crew", "crew_pit")
    other.ready()
    reply = other.request({"type": "status", "status": "unavailable", "op": key})
    assert reply["type"] == "ok" and reply["duplicate"] is False
    other.close()


@pytest.mark.parametrize("bad", ["x" * 65, 12345, "", "has space", ["a"], None])
def test_a_bad_op_names_the_field_and_keeps_the_socket_open(
    server: Server, crew: Sock, bad: object
) -> None:
    before = events(server)
    msg = {"type": "position", "lat": 65.83, "lon": 21.69, "op": bad}
    reply = crew.request(msg)
    if bad is None:  # null is the same as leaving the op out
        assert reply["type"] == "ok"
        return
    assert reply["type"] == "error" and reply["field"] == "op", reply
    assert reply["status"] == 422
    assert events(server) == before
    assert crew.request({"type": "ping"})["type"] == "pong"


def test_an_op_id_reused_for_another_message_is_refused(server: Server, crew: Sock) -> None:
    key = op()
    assert crew.request({"type": "status", "status": "unavailable", "op": key})["type"] == "ok"
    before = events(server)
    reply = crew.request({"type": "status", "status": "available", "op": key})
    assert reply["type"] == "error" and reply["field"] == "op"
    assert events(server) == before


def test_a_status_for_a_cancelled_callout_is_refused_and_not_remembered(
    server: Server, crew: Sock
) -> None:
    cid = job_for_sunderby(server)
    disp = server.socket("/ws/dispatch", "dispatcher")
    disp.ready()
    assert disp.request({"type": "cancel", "callout_id": cid,
                         "code": "wrong_alarm"})["type"] == "ok"
    before = events(server)
    key = op()
    # What an offline tablet queued before it heard of the cancellation.
    reply = crew.request({"type": "status", "status": "en_route", "callout_id": cid, "op": key})
    assert reply["type"] == "error" and reply["field"] == "callout_id"
    assert cid in reply["message"] and "no longer" in reply["message"]
    plain = crew.request({"type": "status", "status": "en_route", "op": op()})
    assert plain["type"] == "error" and plain["status"] == 409  # available -> en_route
    assert events(server) == before
    # A second job: the queued status for the first must not move the unit on the second.
    second = job_for_sunderby(server, reference="OB-2")
    reply = crew.request({"type": "status", "status": "en_route", "callout_id": cid, "op": key})
    assert reply["type"] == "error" and second in reply["message"]
    ok = crew.request({"type": "status", "status": "en_route", "callout_id": second,
                       "op": op()})
    assert ok["type"] == "ok" and ok["callout_id"] == second
    disp.close()
