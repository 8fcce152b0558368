"""``/api/admin``: admins list, create and revoke tokens (each audited; a token is shown once
and stored only as a hash; crew tokens only for registered, not retired units), and update and
retire units through the region's commands (retiring revokes the unit's crew tokens)."""

from __future__ import annotations

import json

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from dispatch.errors import InvalidCommand
from dispatch.events import Envelope, UnitRegistered, UnitUpdated
from dispatch.model import Location
from dispatch.state import DispatchState
from tests.web.conftest import BOTH_STORES, T0, Server
from tests.web.test_connections import closed_after
from web.routes.admin import _unchanged

pytestmark = BOTH_STORES


def test_admin_creates_lists_and_revokes_with_audit(server: Server) -> None:
    with server.http("admin") as admin:
        made = admin.post("/api/admin/tokens", json={"role": "crew", "name": "Pitea phone",
                                                     "unit_id": "MAE-PITEA"})
        assert made.status_code == 201, made.text
        body = made.json()
        token, pid = body["token"], body["principal_id"]
        assert body["role"] == "crew" and body["unit_id"] == "MAE-PITEA"
        assert body["revoked"] is False and body["open_sockets"] == 0
        assert pid in server.stored_text() and token.split("_", 2)[2] not in server.stored_text()

        listed = admin.get("/api/admin/tokens").json()
        mine = next(p for p in listed if p["principal_id"] == pid)
        assert "token" not in mine and token not in json.dumps(listed)
        assert {p["name"] for p in listed} >= {"dispatcher", "manager", "Pitea phone"}

        crew = httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {token}"})
        assert crew.get("/api/route?unit_id=MAE-PITEA&callout_id=C1").status_code == 404
        revoked = admin.delete(f"/api/admin/tokens/{pid}")
        assert revoked.status_code == 200 and revoked.json()["revoked"] is True
        assert crew.get("/api/route?unit_id=MAE-PITEA&callout_id=C1").status_code == 401
        crew.close()
        assert admin.delete("/api/admin/tokens/ffffffffffffffff").status_code == 404
        assert admin.delete("/api/admin/tokens/not-an-id").status_code == 422

        audit = admin.get("/api/audit", params={"limit": 20}).json()
        actions = [(a["action"], a["target"].get("target_id"), a["result"]) for a in audit]
        assert ("token.create", pid, "ok") in actions
        assert ("token.revoke", pid, "ok") in actions
        assert ("token.revoke", "ffffffffffffffff", "refused unknown_principal") in actions
        assert token not in json.dumps(audit)


def test_crew_tokens_only_for_units_of_the_log_and_bad_bodies_name_the_field(
        server: Server) -> None:
    with server.http("admin") as admin:
        r = admin.post("/api/admin/tokens", json={"role": "crew", "name": "x",
                                                  "unit_id": "MAE-ATLANTIS"})
        assert r.status_code == 422 and r.json()["field"] == "unit"
        assert "not registered" in r.json()["message"]
        r = admin.post("/api/admin/tokens", json={"role": "emperor", "name": "x"})
        assert r.status_code == 422 and r.json()["field"] == "role"
        r = admin.post("/api/admin/tokens", json={"role": "planner"})
        assert r.status_code == 422 and r.json()["field"] == "name"
        r = admin.post("/api/admin/tokens", content=b"{" + b" " * 10_000 + b"}")
        assert r.status_code == 422 and r.json()["field"] == "body"
        audit = admin.get("/api/audit", params={"limit": 5}).json()
        assert any(a["action"] == "token.create" and a["result"].startswith("refused")
                   for a in audit)


def test_only_admins_manage_tokens_and_the_body_is_not_read_first(server: Server) -> None:
    for who in ("dispatcher", "manager", "planner", "crew_sun", "police"):
        with server.http(who) as client:
            assert client.get("/api/admin/tokens").status_code == 403
            # a malformed body: the role is refused before the body is looked at
            r = client.post("/api/admin/tokens", content=b"not json")
            assert r.status_code == 403, who
    with server.http(None) as anonymous:
        assert anonymous.post("/api/admin/tokens", content=b"not json").status_code == 401


# -- /api/admin/units: update and retire units through the region's commands ------------------


def event_types(server: Server) -> list[str]:
    return [type(e.event).__name__ for e in server.events()]


def test_admin_updates_a_unit_through_the_update_command_with_audit(server: Server) -> None:
    """Fields given replace the unit's, the others stay; the base is a region base id and
    takes the base's name and place from the region file."""
    logged = len(event_types(server))
    with server.http("admin") as admin:
        r = admin.patch("/api/admin/units/MAE-PITEA",
                        json={"name": "MAE Piteå natt", "competences": ["nurse", "doctor"]})
        assert r.status_code == 200, r.text
        unit = r.json()
        assert unit["name"] == "MAE Piteå natt"
        assert unit["registered_competences"] == ["nurse", "doctor"]
        assert unit["base"] == "Piteå älvdals sjukhus" and unit["seats"] == 3  # kept
        r = admin.patch("/api/admin/units/MAE-PITEA", json={"base": "sunderbyn", "seats": None})
        assert r.status_code == 200, r.text
        unit = r.json()
        assert (unit["base"], unit["seats"], unit["name"]) == ("Sunderby sjukhus", None,
                                                               "MAE Piteå natt")
        assert admin.get("/api/units/MAE-PITEA").json()["base"] == "Sunderby sjukhus"
        audit = admin.get("/api/audit", params={"limit": 10}).json()
    assert event_types(server)[logged:] == ["UnitUpdated", "UnitUpdated"]
    updates = [(a["target"]["unit_id"], a["target"]["fields"], a["result"]) for a in audit
               if a["action"] == "unit.update"]
    assert ("MAE-PITEA", "competences,name", "ok") in updates
    assert ("MAE-PITEA", "base,seats", "ok") in updates


def test_a_bad_unit_update_names_the_field_and_changes_nothing(server: Server) -> None:
    logged = event_types(server)
    with server.http("admin") as admin:
        for body, field in (({"base": "atlantis"}, "base"), ({"base": None}, "base"),
                            ({"seats": 0}, "seats"), ({"seats": True}, "seats"),
                            ({"name": "x" * 81}, "name"), ({"name": None}, "name"),
                            ({"competences": ["doctor", "doctor"]}, "competences"),
                            ({"competences": [""]}, "competences.0"),
                            ({"competences": None}, "competences"),
                            ({"colour": "red"}, "colour"),
                            ({"name": "MAE Piteå"}, "unit_id")):  # already so: the rule says
            r = admin.patch("/api/admin/units/MAE-PITEA", json=body)
            assert r.status_code in (400, 422), (body, r.text)  # schema 422, rule 400
            assert r.json()["field"] == field, (body, r.json())
        r = admin.patch("/api/admin/units/MAE-PITEA", json={"base": "atlantis"})
        assert "sunderbyn" in r.json()["message"]  # the region's bases are listed
        r = admin.patch("/api/admin/units/MAE-PITEA", content=b"{" + b" " * 5_000 + b"}")
        assert r.status_code == 422 and r.json()["field"] == "body"
        r = admin.patch("/api/admin/units/MAE-ATLANTIS", json={"seats": 2})
        assert r.status_code == 404
        assert admin.patch("/api/admin/units/bad%20id", json={}).status_code == 422
        audit = admin.get("/api/audit", params={"limit": 30}).json()
    assert event_types(server) == logged
    refused = [a["result"] for a in audit if a["action"] == "unit.update"]
    assert "refused invalid_command (unit_id)" in refused or any(
        r.startswith("refused") and "(unit_id)" in r for r in refused)
    assert any(r.startswith("refused") and "(base)" in r for r in refused)


def test_only_admins_change_units_and_the_body_is_not_read_first(server: Server) -> None:
    for who in ("dispatcher", "manager", "planner", "crew_sun", "police"):
        with server.http(who) as client:
            r = client.patch("/api/admin/units/MAE-PITEA", content=b"not json")
            assert r.status_code == 403, who
            r = client.post("/api/admin/units/MAE-PITEA/retire", content=b"not json")
            assert r.status_code == 403, who
    with server.http(None) as anonymous:
        assert anonymous.patch("/api/admin/units/MAE-PITEA",
                               content=b"not json").status_code == 401
        assert anonymous.post("/api/admin/units/MAE-PITEA/retire",
                              content=b"not json").status_code == 401
    with server.http("dispatcher") as disp:
        assert not disp.get("/api/units/MAE-PITEA").json()["retired"]


def test_retiring_a_unit_revokes_its_crew_tokens_and_closes_their_sockets(
        server: Server) -> None:
    """Both phones of the unit are closed at once (4401) and their tokens no longer work;
    another unit's phone carries on; a token for the retired unit cannot be made."""
    phone, second = server.socket("/ws/crew", "crew_sun"), server.socket("/ws/crew", "crew_sun2")
    other = server.socket("/ws/crew", "crew_pit")
    for sock in (phone, second, other):
        sock.ready()
    ids = {who: server.tokens[who].split("_")[1] for who in ("crew_sun", "crew_sun2")}
    with server.http("admin") as admin:
        r = admin.post("/api/admin/units/MAE-SUNDERBY/retire", json={"reason": "sold"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["unit"]["retired"] is True
        assert body["revoked_principals"] == sorted(ids.values())
        for sock in (phone, second):  # the retirement's own event, then the close
            got, code = closed_after(sock)
            assert code == 4401 and [m["type"] for m in got][-1] == "error"
            assert {m["event"]["type"] for m in got[:-1]} <= {"UnitRetired"}, got
        listed = {p["principal_id"]: p for p in admin.get("/api/admin/tokens").json()}
        assert all(listed[i]["revoked"] and listed[i]["open_sockets"] == 0
                   for i in ids.values())
        made = admin.post("/api/admin/tokens", json={"role": "crew", "name": "new phone",
                                                     "unit_id": "MAE-SUNDERBY"})
        assert made.status_code == 422 and made.json()["field"] == "unit"
        again = admin.post("/api/admin/units/MAE-SUNDERBY/retire", json={})
        assert again.status_code == 400 and again.json()["field"] == "unit_id"
        assert "retired" in again.json()["message"]
        r = admin.post("/api/admin/units/MAE-PITEA/retire", json={"reason": "x" * 201})
        assert r.status_code == 422 and r.json()["field"] == "reason"
        audit = admin.get("/api/audit", params={"limit": 20}).json()
    for who in ("crew_sun", "crew_sun2"):
        with server.http(who) as crew:
            r = crew.get("/api/route?unit_id=MAE-SUNDERBY&callout_id=C1")
            assert r.status_code == 401
        with pytest.raises(ConnectionClosed) as refused:
            server.socket("/ws/crew", who).ready()
        assert refused.value.rcvd is not None and refused.value.rcvd.code == 4401
    assert other.request({"type": "ping"})["type"] == "pong"
    other.close()
    assert "UnitRetired" in event_types(server)
    rows = [(a["action"], a["target"].get("target_id") or a["target"].get("unit_id"),
             a["result"]) for a in audit]
    assert ("unit.retire", "MAE-SUNDERBY", "ok") in rows
    assert {("token.revoke", i, "ok (unit retired)") for i in ids.values()} <= set(rows)


def test_an_update_built_on_a_unit_that_changed_meanwhile_is_refused() -> None:
    """The writer's guard: an update read from the unit before another change landed would
    undo that change, so it is refused (the admin reads again and retries)."""
    core = DispatchState()
    registered = UnitRegistered(at=T0, actor="t", unit_id="U1", name="MAE U1", base="Base",
                                position=Location(65.6, 22.1), competences=("nurse",))
    core.apply(Envelope(1, registered))
    guard = _unchanged(core.unit("U1"))
    guard(core)  # nothing changed: the update goes ahead
    core.apply(Envelope(2, UnitUpdated(at=T0, actor="t", unit_id="U1", name="MAE U1",
                                       base="Base", base_position=Location(65.6, 22.1),
                                       competences=("nurse", "doctor"), seats=None)))
    with pytest.raises(InvalidCommand) as refused:
        guard(core)
    assert refused.value.field == "unit_id" and "changed" in str(refused.value)
