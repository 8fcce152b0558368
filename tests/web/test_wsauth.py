"""Finding 8: tokens stay out of URLs. Sockets log in by the ``mae.bearer.<token>``
subprotocol (answered ``mae.v1``), a first ``auth`` frame or a header; ``?token=`` is refused
with a message saying what to use instead."""

from __future__ import annotations

import json
import logging

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.web.conftest import BOTH_STORES, Server, Sock

pytestmark = BOTH_STORES


def close_of(ws: object) -> tuple[list[dict[str, object]], int, str]:
    sock = Sock(ws)  # type: ignore[arg-type]
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            sock.recv(timeout=5)
    assert closed.value.rcvd is not None
    return sock.messages, closed.value.rcvd.code, closed.value.rcvd.reason


def test_the_subprotocol_logs_in_and_the_server_answers_mae_v1(server: Server) -> None:
    sock = server.socket("/ws/dispatch", "dispatcher")
    assert sock.conn.subprotocol == "mae.v1"
    assert sock.ready()["type"] == "ready"
    sock.close()


def test_a_first_auth_frame_logs_in(server: Server) -> None:
    ws = connect(f"{server.ws}/ws/crew", open_timeout=10)
    ws.send(json.dumps({"type": "auth", "token": server.tokens["crew_sun"]}))
    sock = Sock(ws)
    assert sock.until(lambda m: m["type"] == "snapshot")["unit"]["unit_id"] == "MAE-SUNDERBY"
    sock.ready()
    assert sock.request({"type": "ping"})["type"] == "pong"
    sock.close()


def test_an_authorization_header_logs_in(server: Server) -> None:
    ws = connect(f"{server.ws}/ws/dispatch", open_timeout=10,
                 additional_headers={"Authorization": f"Bearer {server.tokens['planner']}"})
    Sock(ws).ready()
    ws.close()


def test_a_token_in_the_url_is_refused_and_the_reply_says_what_to_use(server: Server) -> None:
    ws = connect(f"{server.ws}/ws/dispatch?token={server.tokens['dispatcher']}",
                 open_timeout=10)
    messages, code, reason = close_of(ws)
    assert code == 4400 and "URL" in reason
    assert len(messages) == 1 and messages[0]["field"] == "token"
    text = str(messages[0]["message"])
    assert "mae.bearer.<token>" in text and '"auth"' in text
    assert not any(m.get("type") in ("snapshot", "ready") for m in messages)


def test_a_first_frame_that_is_not_auth_is_refused(server: Server) -> None:
    ws = connect(f"{server.ws}/ws/dispatch", open_timeout=10)
    ws.send(json.dumps({"type": "ping"}))
    messages, code, _ = close_of(ws)
    assert code == 4401 and messages[0]["error"] == "unauthorized"
    assert "mae.bearer" in str(messages[0]["message"])


def test_a_client_gone_before_its_first_frame_leaves_the_service_well(
        server: Server, caplog: pytest.LogCaptureFixture) -> None:
    """No error is logged when there is nobody left to tell why."""
    with caplog.at_level(logging.ERROR):
        ws = connect(f"{server.ws}/ws/dispatch", open_timeout=10)
        ws.close()
        sock = server.socket("/ws/dispatch", "dispatcher")  # the service still answers
        assert sock.ready()["type"] == "ready"
        sock.close()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
