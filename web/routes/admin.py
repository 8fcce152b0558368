"""``/api/admin/tokens``: list, create and revoke principals' tokens (admins only, audited).

The same rules as ``mae tokens``: a token is shown once and stored as a hash; a crew token only
for a registered unit that is not retired. Revoking closes the principal's open sockets at once.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import ValidationError

from mae.errors import MaeError
from web.auth import Action, Principal, Principals
from web.connections import Connections
from web.deps import ClientDep, ServiceDep, require
from web.errors import BadMessage, UnknownPrincipal, describe
from web.routes._common import errors
from web.schemas import PrincipalOut, TokenCreatedOut, TokenIn
from web.tokens import create_token

__all__ = ["router"]

router = APIRouter(prefix="/api/admin/tokens", tags=["admin"])
Admin = Annotated[Principal, Depends(require(Action.TOKENS_ADMIN))]
MAX_BODY = 4_000
PrincipalId = Annotated[str, Path(min_length=16, max_length=16, pattern=r"^[0-9a-f]{16}$")]


def _out(request: Request, principal: Principal, revoked: bool) -> dict[str, Any]:
    connections: Connections = request.app.state.connections
    return {"principal_id": principal.principal_id, "name": principal.name,
            "role": principal.role.value,
            "agency": principal.agency.value if principal.agency else None,
            "unit_id": principal.unit_id, "revoked": revoked,
            "open_sockets": connections.count(principal.principal_id)}


@router.get("", response_model=list[PrincipalOut], responses=errors())
async def list_tokens(request: Request, _: Admin) -> list[dict[str, Any]]:
    """Every principal (never a token or its hash), oldest first, with its open sockets."""
    store: Principals = request.app.state.principals
    found = await asyncio.to_thread(store.principals)
    return [_out(request, p, revoked) for p, revoked in found]


@router.post("", response_model=TokenCreatedOut, status_code=201, responses=errors(422))
async def create(request: Request, service: ServiceDep, admin: Admin,
                 client: ClientDep) -> dict[str, Any]:
    """Create a principal and return its token (only this once). The body is read only after
    the caller is known to be an admin, and at most 4 kB of it."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise BadMessage("body", f"is larger than {MAX_BODY} bytes")
    try:
        spec = TokenIn.model_validate_json(body or b"{}")
    except ValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
        field = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise BadMessage(field, str(first.get("msg", "invalid"))) from None
    store: Principals = request.app.state.principals
    standing = request.app.state.unit_standing  # the log's unit registrations (any store)
    target = {"kind": spec.role, "unit_id": spec.unit_id, "agency": spec.agency}
    try:
        principal, token = await asyncio.to_thread(
            create_token, store, standing, role=spec.role, name=spec.name,
            agency=spec.agency, unit_id=spec.unit_id)
    except MaeError as exc:
        info = describe(exc)
        await service.record(admin, "token.create", target, client, f"refused {info.code}"
                             + (f" ({info.field})" if info.field else ""))
        raise
    await service.record(admin, "token.create",
                         {**target, "target_id": principal.principal_id}, client, "ok")
    return {**_out(request, principal, False), "token": token}


@router.delete("/{principal_id}", response_model=PrincipalOut, responses=errors(404))
async def revoke(request: Request, service: ServiceDep, admin: Admin, client: ClientDep,
                 principal_id: PrincipalId) -> dict[str, Any]:
    """Revoke a principal's token and close its open sockets now (4401)."""
    store: Principals = request.app.state.principals
    found = await asyncio.to_thread(store.get, principal_id)
    if found is None:
        await service.record(admin, "token.revoke", {"target_id": principal_id}, client,
                             "refused unknown_principal")
        raise UnknownPrincipal(principal_id)
    await asyncio.to_thread(store.revoke, principal_id)
    connections: Connections = request.app.state.connections
    connections.revoke(principal_id)
    await service.record(admin, "token.revoke", {"target_id": principal_id}, client,
                         "ok" if not found[1] else "ok (already revoked)")
    return _out(request, found[0], True)
