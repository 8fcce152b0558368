"""Body limits (web/limits.py) on a real uvicorn server over raw sockets: 401 before any body
is read, 413 for a declared or a chunked body past the limit without reading it all, JSON
routes at ``max_json_body_bytes`` and CAP at ``max_body_bytes``; large socket frames close
(by the app, and by uvicorn's ``ws_max_size`` under ``mae serve``)."""

from __future__ import annotations

import json
import select
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from websockets.exceptions import ConnectionClosed

from tests.web.conftest import Server, free_port, process_server

HUGE = 400 * 1024 * 1024
CHUNK = b"x" * 65_536


def _open(server: Server) -> socket.socket:
    url = urlsplit(server.base)
    sock = socket.create_connection((url.hostname, url.port), timeout=10)
    return sock


def _head(path: str, token: str | None, extra: str) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            f"{auth}{extra}\r\n").encode()


def _read_reply(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    data = b""
    sock.settimeout(10)
    while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
        part = sock.recv(65_536)
        if not part:
            break
        data += part
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body[:_length(data)])


def _length(data: bytes) -> int:
    head = data.split(b"\r\n\r\n", 1)[0].lower()
    for line in head.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 1 << 30


def _declared(server: Server, path: str, token: str | None) -> tuple[int, dict[str, Any]]:
    """Declare a 400 MB body, send only its first 64 KB, and read the answer."""
    with _open(server) as sock:
        sock.sendall(_head(path, token, f"Content-Length: {HUGE}\r\n") + CHUNK)
        return _read_reply(sock)


def _chunked(server: Server, path: str, token: str | None) -> tuple[int, dict[str, Any], int]:
    """Stream a chunked body of up to 400 MB until the server answers; returns the status, the
    body and how many bytes were sent by then."""
    sent = 0
    with _open(server) as sock:
        sock.sendall(_head(path, token, "Transfer-Encoding: chunked\r\n"))
        frame = f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n"
        while sent < HUGE:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.settimeout(2)
                sock.sendall(frame)
            except (TimeoutError, BrokenPipeError, ConnectionResetError):
                break  # the server stopped reading: its answer is waiting
            sent += len(CHUNK)
        status, body = _read_reply(sock)
        return status, body, sent


def test_a_body_without_a_valid_token_is_refused_before_it_is_read(server: Server) -> None:
    for token in (None, "mae_0123456789abcdef_" + "x" * 40):
        status, body = _declared(server, "/api/alarms", token)
        assert status == 401 and body["error"] == "unauthorized"
        status, body, sent = _chunked(server, "/api/alarms", token)
        assert status == 401 and sent < 64 * 1024 * 1024


def test_401_comes_before_422(server: Server) -> None:
    with server.http(None) as anonymous, server.http("police") as police:
        r = anonymous.post("/api/alarms", content=b"{not json",
                           headers={"Content-Type": "application/json"})
        assert r.status_code == 401, r.text
        r = anonymous.post("/api/alarms/cap", content=b"<not xml")
        assert r.status_code == 401, r.text
        r = police.post("/api/alarms", content=b"{not json",
                        headers={"Content-Type": "application/json"})
        assert r.status_code == 422, r.text


def test_a_wrong_role_gets_403_before_its_body_is_read(server: Server) -> None:
    """The role is checked from the headers too: a crew phone posting to an agency's route gets
    403 whether its body is malformed, valid or streams on, and the body is never read."""
    crew = server.tokens["crew_sun"]
    with server.http("crew_sun") as phone, server.http("planner") as planner:
        for raw in (b"{not json", b'{"reference": "x"}'):
            r = phone.post("/api/alarms", content=raw,
                           headers={"Content-Type": "application/json"})
            assert r.status_code == 403 and r.json()["error"] == "forbidden", r.text
        r = phone.post("/api/alarms/cap", content=b"<not xml")
        assert r.status_code == 403, r.text
        r = planner.post("/api/visits", content=b"{not json",
                         headers={"Content-Type": "application/json"})
        assert r.status_code == 403, r.text
    status, body = _declared(server, "/api/alarms", crew)  # too large is refused first
    assert status == 413
    status, body, sent = _chunked(server, "/api/alarms", crew)
    assert status == 403 and "may not" in body["message"] and sent < 64 * 1024 * 1024


def test_a_declared_body_past_the_limit_gets_413_at_once(server: Server) -> None:
    status, body = _declared(server, "/api/alarms", server.tokens["police"])
    assert status == 413 and body["field"] == "body" and body["limit_bytes"] == 65_536
    assert "65536 bytes (max_json_body_bytes)" in body["message"]
    status, body = _declared(server, "/api/alarms/cap", server.tokens["police"])
    assert status == 413 and "256000 bytes (max_body_bytes)" in body["message"]


def test_a_chunked_body_past_the_limit_gets_413_without_reading_it_all(server: Server) -> None:
    for path, setting in (("/api/alarms", "max_json_body_bytes"),
                          ("/api/alarms/cap", "max_body_bytes")):
        status, body, sent = _chunked(server, path, server.tokens["police"])
        assert status == 413, body
        assert setting in body["message"] and body["field"] == "body"
        assert body["limit_bytes"] == (65_536 if path == "/api/alarms" else 256_000)
        assert sent < 64 * 1024 * 1024  # far short of the 400 MB it would have sent
    with server.http("police") as police:  # and the service is fine
        assert police.get("/api/health").json()["status"] == "ok"


def test_json_routes_and_cap_have_their_own_limits(server: Server) -> None:
    big_note = {"reference": "BIG-1", "priority": 1, "category": "psychosis",
                "location": {"place": "Kalix"}, "note": "n" * 100_000}
    with server.http("police") as police:
        r = police.post("/api/alarms", json=big_note)
        assert r.status_code == 413 and "max_json_body_bytes" in r.json()["message"]
        xml = b"<?xml version='1.0'?><!-- " + b"c" * 100_000 + b" --><alert/>"
        r = police.post("/api/alarms/cap", content=xml,
                        headers={"Content-Type": "application/xml"})
        assert r.status_code == 422 and r.json()["field"] == "alert"  # read, then refused

        def stream() -> Any:
            for _ in range(2):
                yield b"x" * 40_000

        r = police.post("/api/alarms", content=stream(),
                        headers={"Content-Type": "application/json"})
        assert r.status_code == 413, r.text  # httpx sends a generator chunked
        assert police.get("/api/health").json()["seq"] == 6


def test_a_socket_message_past_the_limit_closes_with_1009(server: Server) -> None:
    sock = server.socket("/ws/dispatch", "dispatcher")
    sock.ready()
    sock.conn.send("x" * 70_000)
    deadline = time.monotonic() + 10
    with pytest.raises(ConnectionClosed) as closed:
        while time.monotonic() < deadline:
            sock.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert "max_ws_frame_bytes" in closed.value.rcvd.reason


def test_mae_serve_caps_socket_frames_in_uvicorn(db: Path, tokens: dict[str, str]) -> None:
    server, proc = process_server(db, tokens, free_port())
    try:
        sock = server.socket("/ws/dispatch", "dispatcher")
        sock.ready()
        sock.conn.send("x" * 200_000)  # past ws_max_size: the protocol closes, not the app
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                sock.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        with server.http("dispatcher") as disp:
            assert disp.get("/api/health").status_code == 200
    finally:
        server.stop()
        if proc.stderr is not None:
            proc.stderr.close()


def test_every_route_that_requires_a_role_checks_it_before_its_body() -> None:
    """A router made without ``route_class=RoleFirstRoute`` would let a wrong role learn of
    its malformed body (422) before it may not post (403): every route with a ``require``
    dependency, in every router the app includes, must be a RoleFirstRoute."""
    import importlib
    import pkgutil

    import web.routes
    from web.deps import RoleFirstRoute, required_action

    names = ["web.replay", *(f"web.routes.{m.name}"
                             for m in pkgutil.iter_modules(web.routes.__path__))]
    checked = []
    for name in names:
        router = getattr(importlib.import_module(name), "router", None)
        for route in getattr(router, "routes", []):
            if hasattr(route, "dependant") and required_action(route.dependant):
                assert isinstance(route, RoleFirstRoute), (name, route.path)
                checked.append(route.path)
    assert "/api/alarms" in checked and "/api/visits" in checked
