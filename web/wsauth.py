"""How a WebSocket logs in, with the token kept out of the URL (proxies log URLs).

A client offers the subprotocols ``mae.v1`` and ``mae.bearer.<token>`` (the
``Sec-WebSocket-Protocol`` header; the server answers ``mae.v1``), or sends
``{"type": "auth", "token": "…"}`` as its first frame within :data:`AUTH_TIMEOUT_S`; programs
may also send an ``Authorization: Bearer`` header. A ``?token=`` in the URL is refused (close
4400, naming what to use instead): it would already sit in some log. Every attempt goes through
:class:`web.logins.Gate` (failed-login limit, 4429; audit of refused tokens).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect

from mae.errors import MaeError
from web.auth import Action, Principal, authorize
from web.errors import BadMessage, Unauthorized, describe
from web.logins import Gate, client_ip

__all__ = ["AUTH_TIMEOUT_S", "BEARER_PREFIX", "SUBPROTOCOL", "accept_authenticated",
           "offered_token"]

SUBPROTOCOL = "mae.v1"
BEARER_PREFIX = "mae.bearer."
AUTH_TIMEOUT_S = 10.0
_NO_URL_TOKEN = ("a token in the URL is not accepted (proxies log URLs): offer the "
                 "subprotocols mae.v1 and mae.bearer.<token>, or send {\"type\": \"auth\", "
                 "\"token\": …} as the first frame")


def offered_token(ws: WebSocket) -> str | None:
    """The token of a ``mae.bearer.<token>`` subprotocol, else of an ``Authorization:
    Bearer`` header, else None."""
    for proto in ws.scope.get("subprotocols") or ():
        if proto.startswith(BEARER_PREFIX):
            return str(proto[len(BEARER_PREFIX):])
    scheme, _, value = ws.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


async def _refuse(ws: WebSocket, exc: MaeError) -> None:
    """One error message and the close code; nothing if the client has already gone."""
    info = describe(exc)
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await ws.send_text(json.dumps({"type": "error", "status": info.status, **info.reply()}))
        await ws.close(info.close_code, info.message[:120])


async def _first_frame_token(ws: WebSocket) -> str | None:
    """The token of a first frame ``{"type": "auth", "token": …}`` (None if it is not one)."""
    try:
        async with asyncio.timeout(AUTH_TIMEOUT_S):  # wait_for could swallow a cancel (3.11)
            message: Mapping[str, Any] = await ws.receive()
    except TimeoutError:
        return None
    text = message.get("text")
    if message.get("type") != "websocket.receive" or not isinstance(text, str) \
            or len(text) > 1000:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if isinstance(data, dict) and data.get("type") == "auth" \
            and isinstance(data.get("token"), str):
        return str(data["token"])
    return None


async def accept_authenticated(ws: WebSocket, action: Action) -> Principal | None:
    """Accept the socket and log its client in for ``action``; on any refusal the client
    gets one error message and the matching close code, and None is returned."""
    offered = ws.scope.get("subprotocols") or ()
    await ws.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
    gate: Gate = ws.app.state.gate
    client = f"{ws.client.host}:{ws.client.port}" if ws.client else "unknown"
    try:
        if "token" in ws.query_params:
            raise BadMessage("token", _NO_URL_TOKEN)
        token = offered_token(ws)
        if token is None:
            gate.limiter.check_address(client_ip(client))
            token = await _first_frame_token(ws)
            if token is None:
                raise Unauthorized(f"no token: {_NO_URL_TOKEN.split(': ', 1)[1]}")
        principal = await asyncio.to_thread(gate.login, token, client=client,
                                            action=f"login {ws.url.path}")
        authorize(principal, action)
    except MaeError as exc:
        await _refuse(ws, exc)
        return None
    return principal
