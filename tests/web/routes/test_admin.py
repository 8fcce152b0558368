"""``/api/admin/tokens``: admins list, create and revoke tokens; each is audited; a token is
shown once and stored only as a hash; crew tokens only for registered, not retired units."""

from __future__ import annotations

import json

import httpx

from tests.web.conftest import Server


def test_admin_creates_lists_and_revokes_with_audit(server: Server) -> None:
    with server.http("admin") as admin:
        made = admin.post("/api/admin/tokens", json={"role": "crew", "name": "Pitea phone",
                                                     "unit_id": "MAE-PITEA"})
        assert made.status_code == 201, made.text
        body = made.json()
        token, pid = body["token"], body["principal_id"]
        assert body["role"] == "crew" and body["unit_id"] == "MAE-PITEA"
        assert body["revoked"] is False and body["open_sockets"] == 0
        assert token.split("_", 2)[2].encode() not in server.db.read_bytes()

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
