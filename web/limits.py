"""Request bodies: authenticated before they are read, and never read past a limit.

:class:`BodyLimits` is a plain ASGI middleware in front of every route. A request that carries
a body (a ``Content-Length`` above zero, or chunked) must hold a valid bearer token in its
headers, else it gets 401 before a byte of the body is read; a token whose role may not use
the route then gets 403 from :class:`web.deps.RoleFirstRoute`, also before the body is read.
A declared ``Content-Length`` above the route's limit gets 413 at once; a chunked body is
counted while it streams and the 413 goes out as soon as the count passes the limit, so the
rest is never read (uvicorn then stops reading that socket and closes it). JSON routes allow
``max_json_body_bytes``, the CAP XML route ``max_body_bytes``. Both answers are JSON naming the
limit and close the connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

from mae.errors import MaeError
from web.auth import Principal
from web.errors import Unauthorized, describe

__all__ = ["BODY_PRINCIPAL", "BodyLimits", "BodyTooLarge"]

#: The key in a request's ``scope["state"]`` of the principal whose token let a body in; the
#: routes' :class:`web.deps.RoleFirstRoute` checks its role before FastAPI reads the body.
BODY_PRINCIPAL = "mae_body_principal"

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(HTTPException):
    """The body passed its limit while streaming (raised from ``receive``; answered 413)."""

    def __init__(self, limit: int, setting: str) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit} bytes "
                              f"({setting})", headers={"Connection": "close"})
        self.limit = limit
        self.setting = setting


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


async def _reply(send: Send, status: int, body: dict[str, Any],
                 extra: Iterable[tuple[bytes, bytes]] = ()) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
        (b"connection", b"close"), *extra]})
    await send({"type": "http.response.body", "body": data})


class BodyLimits:
    """ASGI middleware: 401 before any body is read, 413 before reading past the limit.

    ``limits`` maps a path to its own ``(bytes, setting name)``; other paths get
    ``default``. ``open_paths`` take a body without a token (none today)."""

    def __init__(self, app: ASGIApp, *, default: tuple[int, str],
                 limits: dict[str, tuple[int, str]] | None = None,
                 open_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.default = default
        self.limits = dict(limits or {})
        self.open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length_header = _header(scope, b"content-length")
        chunked = b"chunked" in (_header(scope, b"transfer-encoding") or b"").lower()
        try:
            declared = int(length_header) if length_header is not None else None
        except ValueError:
            await _reply(send, 400, {"error": "http_400", "field": "content-length",
                                     "message": "content-length: is not a whole number"})
            return
        has_body = chunked or (declared is not None and declared > 0)
        path: str = scope.get("path", "")
        if has_body and path not in self.open_paths:
            try:
                principal = await self._authenticate(scope)
            except MaeError as exc:  # 401, or 429 from a login limit
                info = describe(exc)
                extra = [(b"www-authenticate", b"Bearer")] if info.status == 401 else []
                retry = getattr(info, "retry_after_s", None) or info.extra.get("retry_after_s")
                if retry:
                    extra.append((b"retry-after", str(int(retry)).encode()))
                await _reply(send, info.status, info.reply(), extra)
                return
            if principal is not None:
                scope.setdefault("state", {})[BODY_PRINCIPAL] = principal
        limit, setting = self.limits.get(path, self.default)
        if declared is not None and declared > limit:
            too_large = BodyTooLarge(limit, setting)
            await _reply(send, 413, {"error": "http_413", "field": "body",
                                     "message": too_large.detail, "limit_bytes": limit})
            return
        if not has_body:
            await self.app(scope, receive, send)
            return
        await self._counted(scope, receive, send, limit, setting)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int,
                       setting: str) -> None:
        """Run the app with a ``receive`` that counts body bytes and stops at ``limit``."""
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit, setting)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge as exc:  # a route that read its body outside FastAPI's handlers
            if started:
                raise
            await _reply(send, 413, {"error": "http_413", "field": "body",
                                     "message": exc.detail, "limit_bytes": exc.limit})

    @staticmethod
    async def _authenticate(scope: Scope) -> Principal | None:
        """Check the bearer token from the headers alone, in a worker thread (SQLite); through
        the app's login gate when it has one (failed-login limit and audit), else the store.
        Returns the principal (None when the app is not started yet); raises
        :class:`Unauthorized` (or the gate's error)."""
        auth = (_header(scope, b"authorization") or b"").decode("latin-1")
        scheme, _, token = auth.partition(" ")
        given = token.strip() if scheme.lower() == "bearer" else ""
        state = scope["app"].state
        gate = getattr(state, "gate", None)
        if gate is not None:
            client = scope.get("client")
            where = f"{client[0]}:{client[1]}" if client else "unknown"
            principal: Principal = await asyncio.to_thread(
                gate.login, given or None, client=where, action=f"login {scope.get('path', '')}")
            return principal
        principals = getattr(state, "principals", None)
        if principals is None:  # not started yet: the routes' own check answers
            return None
        if not given:
            raise Unauthorized("a valid bearer token is required before a request body is read")
        found: Principal = await asyncio.to_thread(principals.authenticate, given)
        return found

