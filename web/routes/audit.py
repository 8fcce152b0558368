"""``GET /api/audit``: the latest audit rows (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from web.auth import Action, Principal
from web.deps import AuditDep, RoleFirstRoute, require
from web.routes._common import errors
from web.schemas import AuditOut

__all__ = ["router"]

router = APIRouter(prefix="/api/audit", tags=["audit"], route_class=RoleFirstRoute)


@router.get("", response_model=list[AuditOut], responses=errors())
def list_audit(
    audit: AuditDep, _: Annotated[Principal, Depends(require(Action.AUDIT_READ))],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    principal_id: Annotated[str | None, Query(max_length=64)] = None,
) -> list[AuditOut]:
    """Who did what, when and from where; newest first. Holds ids, never patient text."""
    return [AuditOut(at=e.at, principal_id=e.principal_id, role=e.role, action=e.action,
                     target=e.target, client=e.client, result=e.result)
            for e in audit.entries(limit=limit, principal_id=principal_id)]
