"""End to end over real sockets with the service in a subprocess that is killed and restarted.

Police and ambulance raise alarms about one incident, the dispatcher merges them, asks for a
recommendation and assigns; the crew gets the job, acknowledges, drives, records an outcome;
the police follow status and ETA. Half-way the server process is SIGKILLed and restarted on the
same database, and every client resumes with ``since=`` and misses nothing and repeats nothing.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.web.conftest import BOTH_STORES, Server, Sock, free_port, make_tokens, process_server

PATIENT_NOTE = "Patienten Kalle hotar att skada sig, kniv i köket"
DISPATCH_NOTE = "Anhörig Lisa 070-1234567 väntar i trapphuset"


def history(server: Server, path: str, who: str, since: int) -> list[int]:
    """The event seqs a fresh client resuming from ``since`` receives before going live."""
    sock = server.socket(path, who, since=since)
    sock.ready()
    sock.close()
    return sock.seqs


@BOTH_STORES
def test_incident_end_to_end_survives_a_server_kill(tmp_path: Path) -> None:
    db = tmp_path / "e2e.sqlite3"
    tokens = make_tokens(db)
    port = free_port()
    server, proc = process_server(db, tokens, port)
    logs: list[bytes] = []
    try:
        police = server.socket("/ws/agency", "police")
        ambulance = server.socket("/ws/agency", "ambulance")
        dispatcher = server.socket("/ws/dispatch", "dispatcher")
        crew = server.socket("/ws/crew", "crew_sun")
        start = {}
        for name, sock in (("police", police), ("ambulance", ambulance),
                           ("dispatcher", dispatcher), ("crew", crew)):
            snap = sock.recv()
            assert snap["type"] == "snapshot"
            start[name] = sock.ready()["seq"]
        assert start["dispatcher"] == 6  # three demo units registered and on shift

        # Two agencies, one incident, 1 km apart: two callouts the dispatcher merges.
        ack_p = police.request({"type": "alarm", "reference": "POL-77", "priority": 1,
                                "category": "suicide_risk", "location": {"place": "Boden"},
                                "note": PATIENT_NOTE})
        assert ack_p["type"] == "alarm_ack" and not ack_p["duplicate"]
        assert ack_p["location"]["label"] == "Boden"
        assert ack_p["location"]["resolved_from"] == "Boden"
        ack_a = ambulance.request({"type": "alarm", "reference": "AMB-3", "priority": 2,
                                   "category": "psychosis",
                                   "location": {"lat": 65.8342, "lon": 21.6886}})
        assert ack_a["callout_id"] != ack_p["callout_id"]
        retry = police.request({"type": "alarm", "reference": "POL-77", "priority": 1,
                                "category": "suicide_risk", "location": {"place": "Boden"},
                                "note": PATIENT_NOTE})  # a retry repeats the alarm
        assert retry["duplicate"] and retry["callout_id"] == ack_p["callout_id"]

        cid = ack_p["callout_id"]
        merged = dispatcher.request({"type": "merge", "target_id": cid,
                                     "source_id": ack_a["callout_id"]})
        assert merged["type"] == "ok" and merged["callout_id"] == cid

        rec = dispatcher.request({"type": "recommend", "callout_id": cid})
        assert rec["type"] == "recommendation"
        best = rec["options"][0]
        assert best["unit_id"] == "MAE-SUNDERBY" and best["assignable"]
        assert best["eta_s"] > 0 and best["uncovered_population"] >= 0
        assert [o["eta_s"] for o in rec["options"]] == sorted(o["eta_s"] for o in rec["options"])

        assigned = dispatcher.request({"type": "assign", "callout_id": cid,
                                       "unit_id": best["unit_id"]})
        assert assigned["type"] == "ok"
        job = crew.until(lambda m: m.get("type") == "event"
                         and m["event"]["type"] == "UnitAssigned")
        assert job["job"]["callout_id"] == cid
        assert {a["alarm_id"] for a in job["job"]["alarms"]} == {"police/POL-77",
                                                                   "ambulance/AMB-3"}
        assert PATIENT_NOTE in {a["note"] for a in job["job"]["alarms"]}
        assert crew.request({"type": "ack", "callout_id": cid})["type"] == "ok"

        status = police.until(lambda m: m.get("type") == "alarm_status"
                              and m["alarms"][0]["status"] == "acknowledged")
        seen = status["alarms"][0]
        assert seen["alarm_id"] == "police/POL-77" and seen["unit_id"] == "MAE-SUNDERBY"
        assert abs(seen["eta_s"] - best["eta_s"]) < 1.0 and seen["eta_at"] is not None
        note = dispatcher.request({"type": "note", "callout_id": cid, "text": DISPATCH_NOTE})
        assert note["type"] == "ok"
        crew.until(lambda m: m.get("type") == "event" and m["event"]["type"] == "NoteAdded")

        # -- the server dies mid-incident -------------------------------------------------
        server.stop()
        logs.append(_drain(proc))
        for sock in (police, ambulance, dispatcher, crew):
            sock.close()
        server, proc = process_server(db, tokens, port)

        dispatcher = _resume(server, "/ws/dispatch", "dispatcher", dispatcher)
        crew = _resume(server, "/ws/crew", "crew_sun", crew)
        for status_name in ("en_route", "on_scene"):
            assert crew.request({"type": "status", "status": status_name})["type"] == "ok"
        police = _resume(server, "/ws/agency", "police", police)  # missed the statuses
        assert [m["event"]["status"] for m in police.messages
                if m.get("type") == "event" and m["event"]["type"] == "UnitStatusChanged"][-2:] \
            == ["en_route", "on_scene"]
        out = crew.request({"type": "outcome", "callout_id": cid, "kind": "stayed_home"})
        assert out["type"] == "ok"
        for status_name in ("returning", "available"):
            assert crew.request({"type": "status", "status": status_name})["type"] == "ok"
        closed = police.until(lambda m: m.get("type") == "alarm_status"
                              and m["alarms"][0]["status"] == "closed")
        assert closed["alarms"][0]["callout_id"] == cid
        ambulance = _resume(server, "/ws/agency", "ambulance", ambulance)
        dispatcher.request({"type": "ping"})
        with server.http("dispatcher") as rest:
            end = rest.get("/api/health").json()["seq"]
        if dispatcher.last_seq < end:
            dispatcher.until(lambda m: m.get("type") == "event" and m["seq"] == end)

        # -- nothing lost, nothing twice ----------------------------------------------------
        assert dispatcher.seqs == list(range(start["dispatcher"] + 1, end + 1))
        for path, who, sock, begin in (("/ws/agency", "police", police, start["police"]),
                                       ("/ws/agency", "ambulance", ambulance,
                                        start["ambulance"]),
                                       ("/ws/crew", "crew_sun", crew, start["crew"])):
            assert sock.seqs == history(server, path, who, begin), who
        police_types = {m["event"]["type"] for m in police.messages if m.get("type") == "event"}
        assert "NoteAdded" not in police_types and "UnitPositionReported" not in police_types
        assert all(m["event"].get("alarm", {}).get("note", "") == "" for m in police.messages
                   if m.get("type") == "event")
        assert {"UnitAssigned", "AssignmentAcknowledged", "UnitStatusChanged",
                "OutcomeRecorded"} <= police_types
        for sock in (police, ambulance, dispatcher, crew):
            sock.close()
    finally:
        server.stop()
        logs.append(_drain(proc))

    # The audit log and the server's own log hold ids, never patient text or tokens.
    audit = server.audit()
    rows = [(e.action, e.target, e.client, e.result) for e in audit.entries(limit=100_000)]
    audit.close()
    actions = [r[0] for r in rows]
    for action in ("alarm", "merge", "recommend", "assign", "ack", "note", "status", "outcome"):
        assert action in actions, action
    assert all(r[2].startswith("127.0.0.1:") for r in rows)
    dump = repr(rows) + b"".join(logs).decode(errors="replace")
    for secret in (PATIENT_NOTE, DISPATCH_NOTE, "Kalle", "Lisa", *tokens.values()):
        assert secret not in dump


def _drain(proc: subprocess.Popen[bytes]) -> bytes:
    """The stderr of a finished server process."""
    if proc.stderr is None or proc.stderr.closed:
        return b""
    data = proc.stderr.read()
    proc.stderr.close()
    return data


def _resume(server: Server, path: str, who: str, old: Sock) -> Sock:
    """Reconnect with since=<last event seen> and carry the history over."""
    sock = server.socket(path, who, since=old.last_seq)
    sock.seqs = list(old.seqs)
    sock.messages = list(old.messages)
    sock.ready()
    return sock
