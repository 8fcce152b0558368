"""``/api/admin``: principals' tokens and the fleet's units (admins only, audited).

``/tokens`` lists, creates and revokes tokens with the same rules as ``mae tokens``: a token is
shown once and stored as a hash; a crew token only for a registered unit that is not retired.
Revoking closes the principal's open sockets at once. ``/units/{id}`` updates a unit (name, base,
competences, seats) and ``/units/{id}/retire`` retires one, through the same commands a region
file load gives (:class:`UpdateUnit`, :class:`RetireUnit`), so one rule decides; retiring also
revokes the unit's crew tokens and closes their sockets. A unit changed here is changed back by
the next ``mae serve --region`` whose file says otherwise: the file stays the source of truth.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ValidationError

from dispatch.commands import RetireUnit, UpdateUnit
from dispatch.errors import InvalidCommand, UnknownUnit
from dispatch.state import DispatchState, Unit
from mae.errors import MaeError
from web.auth import Action, Principal, Principals
from web.connections import Connections
from web.deps import ClientDep, RoleFirstRoute, ServiceDep, require
from web.errors import BadMessage, UnknownPrincipal, describe
from web.routes._common import errors
from web.schemas import (
    PrincipalOut,
    TokenCreatedOut,
    TokenIn,
    UnitOut,
    UnitRetiredOut,
    UnitRetireIn,
    UnitUpdateIn,
)
from web.service import DispatchService
from web.tokens import create_token
from web.views import unit_view

__all__ = ["router"]

router = APIRouter(prefix="/api/admin", tags=["admin"], route_class=RoleFirstRoute)
Admin = Annotated[Principal, Depends(require(Action.TOKENS_ADMIN))]
MAX_BODY = 4_000
PrincipalId = Annotated[str, Path(min_length=16, max_length=16, pattern=r"^[0-9a-f]{16}$")]
UnitId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:/-]+$")]
M = TypeVar("M", bound=BaseModel)


async def _body(request: Request, model: type[M]) -> M:
    """The JSON body as ``model``, read (at most :data:`MAX_BODY` bytes of it) only after the
    caller is known to be an admin; a bad one is a :class:`BadMessage` naming the field."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise BadMessage("body", f"is larger than {MAX_BODY} bytes")
    try:
        return model.model_validate_json(body or b"{}")
    except ValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
        field = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise BadMessage(field, str(first.get("msg", "invalid"))) from None


def _out(request: Request, principal: Principal, revoked: bool) -> dict[str, Any]:
    connections: Connections = request.app.state.connections
    return {"principal_id": principal.principal_id, "name": principal.name,
            "role": principal.role.value,
            "agency": principal.agency.value if principal.agency else None,
            "unit_id": principal.unit_id, "revoked": revoked,
            "open_sockets": connections.count(principal.principal_id)}


@router.get("/tokens", response_model=list[PrincipalOut], responses=errors())
async def list_tokens(request: Request, _: Admin) -> list[dict[str, Any]]:
    """Every principal (never a token or its hash), oldest first, with its open sockets."""
    store: Principals = request.app.state.principals
    found = await asyncio.to_thread(store.principals)
    return [_out(request, p, revoked) for p, revoked in found]


@router.post("/tokens", response_model=TokenCreatedOut, status_code=201, responses=errors(422))
async def create(request: Request, service: ServiceDep, admin: Admin,
                 client: ClientDep) -> dict[str, Any]:
    """Create a principal and return its token (only this once). The body is read only after
    the caller is known to be an admin, and at most 4 kB of it."""
    spec = await _body(request, TokenIn)
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


@router.delete("/tokens/{principal_id}", response_model=PrincipalOut, responses=errors(404))
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


def _unit_update(service: DispatchService, unit_id: str, spec: UnitUpdateIn) -> UpdateUnit:
    """The :class:`UpdateUnit` that gives ``unit_id`` the values in ``spec`` and keeps the
    others; a base is one of the loaded region's (where it is comes from the file)."""
    unit = service.state.units.get(unit_id)
    if unit is None:
        raise UnknownUnit(unit_id)
    given = spec.model_fields_set
    base, where = unit.base, unit.base_position or unit.position
    if spec.base is not None:
        region = service.region
        if region is None:
            raise BadMessage("base", "no region file is loaded: bases come from one "
                             "(mae serve --region FILE)")
        try:
            found = region.base(spec.base)
        except KeyError:
            known = ", ".join(b.base_id for b in region.bases) or "none"
            raise BadMessage("base", f"unknown base {spec.base!r} (the region's bases: "
                             f"{known})") from None
        base, where = found.name, found.location
    elif "base" in given:
        raise BadMessage("base", "a unit always has a base: give a base id or leave it out")
    if "name" in given and spec.name is None:
        raise BadMessage("name", "a unit always has a name: give one or leave it out")
    if "competences" in given and spec.competences is None:
        raise BadMessage("competences", "give a list ([] for none) or leave it out")
    return UpdateUnit(
        unit_id, spec.name if spec.name is not None else unit.name, base, where,
        competences=tuple(spec.competences) if spec.competences is not None
        else unit.registered_competences,
        seats=spec.seats if "seats" in given else unit.seats)


@router.patch("/units/{unit_id}", response_model=UnitOut, responses=errors(404, 422))
async def update_unit(request: Request, service: ServiceDep, admin: Admin, client: ClientDep,
                      unit_id: UnitId) -> dict[str, Any]:
    """Change a unit's display name, base (a region base id), competences or seats; fields
    left out keep their values. Logged as ``UnitUpdated`` and audited as ``unit.update``."""
    spec = await _body(request, UnitUpdateIn)
    target: dict[str, object] = {"unit_id": unit_id,
                                 "fields": ",".join(sorted(spec.model_fields_set))}
    try:
        command = _unit_update(service, unit_id, spec)
    except MaeError as exc:
        info = describe(exc)
        await service.record(admin, "unit.update", target, client, f"refused {info.code}"
                             + (f" ({info.field})" if info.field else ""))
        raise
    await service.run(command, principal=admin, client=client, action="unit.update",
                      target=target, guard=_unchanged(service.state.unit(unit_id)))
    return unit_view(service.state.unit(unit_id))


def _registration(unit: Unit) -> tuple[object, ...]:
    return (unit.name, unit.base, unit.base_position, unit.registered_competences, unit.seats,
            unit.retired)


def _unchanged(read: Unit) -> Callable[[DispatchState], None]:
    """A writer guard: the unit is still as the update read it (two admins patching different
    fields at once must not undo each other's change)."""
    def guard(state: DispatchState) -> None:
        now = state.units.get(read.unit_id)
        if now is not None and _registration(now) != _registration(read):
            raise InvalidCommand("unit_id", f"unit {read.unit_id} changed while this update "
                                 "waited: read it again and retry")
    return guard


@router.post("/units/{unit_id}/retire", response_model=UnitRetiredOut,
             responses=errors(404, 422))
async def retire_unit(request: Request, service: ServiceDep, admin: Admin, client: ClientDep,
                      unit_id: UnitId) -> dict[str, Any]:
    """Retire a unit (kept in the history; refused while it is on a callout), revoke its crew
    tokens and close their sockets now. Audited as ``unit.retire``, each token as
    ``token.revoke``."""
    spec = await _body(request, UnitRetireIn)
    try:
        await service.run(RetireUnit(unit_id, reason=spec.reason), principal=admin,
                          client=client, action="unit.retire", target={"unit_id": unit_id})
    except MaeError:
        unit = service.state.units.get(unit_id)
        if unit is not None and unit.retired:  # retired before: no token of it stays live
            await revoke_unit_tokens(request, unit_id)
        raise
    revoked = await revoke_unit_tokens(request, unit_id)
    for principal_id in revoked:
        await service.record(admin, "token.revoke", {"target_id": principal_id,
                                                     "unit_id": unit_id}, client,
                             "ok (unit retired)")
    return {"unit": unit_view(service.state.unit(unit_id)), "revoked_principals": revoked}


async def revoke_unit_tokens(request: Request, unit_id: str) -> list[str]:
    """Revoke every token bound to ``unit_id`` and close those principals' sockets at once."""
    store: Principals = request.app.state.principals
    revoked = await asyncio.to_thread(store.revoke_unit, unit_id)
    connections: Connections = request.app.state.connections
    for principal_id in revoked:
        connections.revoke(principal_id)
    return revoked
