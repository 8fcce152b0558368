"""FastAPI dependencies: the service, the calling principal and its client address."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from web.audit import Audit
from web.auth import Action, Principal, authorize
from web.limits import BODY_PRINCIPAL
from web.logins import Gate
from web.service import DispatchService

__all__ = [
    "AuditDep",
    "ClientDep",
    "PrincipalDep",
    "Require",
    "RoleFirstRoute",
    "ServiceDep",
    "client_address",
    "get_service",
    "require",
    "required_action",
]

_bearer = HTTPBearer(auto_error=False, description="a token from `mae tokens create`")


def get_service(request: Request) -> DispatchService:
    service: DispatchService = request.app.state.service
    return service


def get_audit(request: Request) -> Audit:
    audit: Audit = request.app.state.audit
    return audit


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, through the login gate (failed-login limit, audit of refused tokens); a
    plain ``def``, so FastAPI runs its SQLite reads in a worker thread."""
    gate: Gate = request.app.state.gate
    return gate.login(credentials.credentials if credentials else None,
                      client=client_address(request), action=f"login {request.url.path}")


def client_address(request: Request) -> str:
    client = request.client
    return f"{client.host}:{client.port}" if client else "unknown"


class Require:
    """A dependency that authenticates the caller and checks it may do ``action``. A class,
    not a closure, so :class:`RoleFirstRoute` can read a route's action."""

    def __init__(self, action: Action) -> None:
        self.action = action

    def __call__(self, principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        authorize(principal, self.action)
        return principal


def require(action: Action) -> Callable[..., Principal]:
    """A dependency that authenticates the caller and checks it may do ``action``."""
    return Require(action)


class RoleFirstRoute(APIRoute):
    """A route that refuses a caller of the wrong role before its body is read and decoded:
    FastAPI decodes a JSON body before it runs the dependencies, so a valid token of another
    role would otherwise learn of its malformed body (422) before it learns it may not post
    (403). The principal is the one :class:`web.limits.BodyLimits` let the body in for."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        action = required_action(self.dependant)
        if action is None:
            return handler

        async def role_first(request: Request) -> Response:
            principal = request.scope.get("state", {}).get(BODY_PRINCIPAL)
            if principal is not None:
                authorize(principal, action)
            return await handler(request)

        return role_first


def required_action(dependant: Any) -> Action | None:
    """The action of the first :class:`Require` among a route's dependencies."""
    todo = [dependant]
    while todo:
        dep = todo.pop()
        if isinstance(dep.call, Require):
            action: Action = dep.call.action
            return action
        todo.extend(dep.dependencies)
    return None


ServiceDep = Annotated[DispatchService, Depends(get_service)]
AuditDep = Annotated[Audit, Depends(get_audit)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
ClientDep = Annotated[str, Depends(client_address)]
