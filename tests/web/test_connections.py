"""Finding 7: revoking a token closes that principal's open sockets at once, and no event
logged after the revocation reaches them (a real server; revocation by the CLI in another
process, as an operator would do it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.web.conftest import BOTH_STORES, ROOT, ManualClock, Server, Sock, thread_server

pytestmark = BOTH_STORES

CLOSE_WITHIN_S = 2.0


def revoke_by_cli(server: Server, who: str) -> None:
    principal_id = server.tokens[who].split("_")[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "mae", "tokens", "revoke", principal_id,
                    *server.store_args()], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=60)


def closed_after(sock: Sock) -> tuple[list[dict[str, Any]], int]:
    """The messages a socket gets until it is closed, and the close code (it must close
    within CLOSE_WITHIN_S of being asked)."""
    got: list[dict[str, Any]] = []  # as Sock.recv gives them
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            got.append(sock.recv(timeout=CLOSE_WITHIN_S))
    assert closed.value.rcvd is not None
    return got, closed.value.rcvd.code


def test_an_idle_socket_is_closed_when_the_cli_revokes_its_token(server: Server) -> None:
    """Nothing is sent on the socket: the watcher notices the revocation by itself."""
    crew = server.socket("/ws/crew", "crew_sun")
    crew.ready()
    revoke_by_cli(server, "crew_sun")
    got, code = closed_after(crew)
    assert code == 4401
    assert [m["type"] for m in got] == ["error"] and "revoked" in str(got[0]["message"])


def test_no_event_reaches_a_socket_after_its_token_is_revoked(server: Server) -> None:
    """The unit's other phone reports statuses right after the revocation: the revoked phone
    gets no event, only the error and the close."""
    crew, other = server.socket("/ws/crew", "crew_sun"), server.socket("/ws/crew", "crew_sun2")
    crew.ready()
    other.ready()
    assert other.request({"type": "status", "status": "unavailable"})["type"] == "ok"
    crew.until(lambda m: m.get("type") == "event")  # it does get the unit's events
    revoke_by_cli(server, "crew_sun")
    for status in ("available", "unavailable", "available"):
        assert other.request({"type": "status", "status": status})["type"] == "ok"
    got, code = closed_after(crew)
    assert code == 4401
    assert [m["type"] for m in got] == ["error"], got
    # the unit's other phone, not revoked, carries on
    assert other.request({"type": "ping"})["type"] == "pong"
    other.close()


def test_the_admin_api_revocation_closes_every_socket_of_the_principal(server: Server) -> None:
    first, second = server.socket("/ws/dispatch", "planner"), server.socket("/ws/dispatch",
                                                                             "planner")
    first.ready()
    second.ready()
    principal_id = server.tokens["planner"].split("_")[1]
    with server.http("admin") as admin:
        listed = {p["principal_id"]: p for p in admin.get("/api/admin/tokens").json()}
        assert listed[principal_id]["open_sockets"] == 2
        r = admin.delete(f"/api/admin/tokens/{principal_id}")
        assert r.status_code == 200 and r.json()["revoked"] is True
    for sock in (first, second):
        got, code = closed_after(sock)
        assert code == 4401 and [m["type"] for m in got] == ["error"]


def test_no_unit_positions_reach_a_dispatcher_after_its_token_is_revoked(
        db: Path, tokens: dict[str, str]) -> None:
    """Positions are not events: the service checks for revocations before each
    ``unit_positions`` message too, so a dispatcher revoked from another connection (as by
    ``mae tokens revoke``) gets none of the positions reported after it, without waiting for
    the revocation watcher's next poll."""
    server = thread_server(db, tokens, clock=ManualClock(), demo_units=True,
                           position_broadcast_s=0.05)
    try:
        disp, watcher = server.socket("/ws/dispatch", "dispatcher"), server.socket(
            "/ws/dispatch", "planner")
        crew = server.socket("/ws/crew", "crew_sun")
        for sock in (disp, watcher, crew):
            sock.ready()
        store = server.principals()  # another connection to the store, like the CLI's
        try:
            assert store.revoke(server.tokens["dispatcher"].split("_")[1])
        finally:
            store.close()
        assert crew.request({"type": "position", "lat": 65.83, "lon": 21.69})["kept"] is True
        watcher.until(lambda m: m.get("type") == "unit_positions")  # it was sent
        got, code = closed_after(disp)
        assert code == 4401
        assert [m["type"] for m in got] == ["error"], got
        for sock in (watcher, crew):
            sock.close()
    finally:
        server.stop()
