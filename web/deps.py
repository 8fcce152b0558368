"""FastAPI dependencies: the service, the calling principal and its client address."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from web.audit import Audit
from web.auth import Action, Principal, authorize
from web.logins import Gate
from web.service import DispatchService

__all__ = [
    "AuditDep",
    "ClientDep",
    "PrincipalDep",
    "ServiceDep",
    "client_address",
    "get_service",
    "require",
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


def require(action: Action) -> Callable[..., Principal]:
    """A dependency that authenticates the caller and checks it may do ``action``."""

    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        authorize(principal, action)
        return principal

    return check


ServiceDep = Annotated[DispatchService, Depends(get_service)]
AuditDep = Annotated[Audit, Depends(get_audit)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
ClientDep = Annotated[str, Depends(client_address)]
