"""``/api/rota``: each unit's rota shift now and next, and which units are due by the rota with
no crew signed on (dispatchers, planners, admins: whoever may read the units)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from web.auth import Action, Principal
from web.deps import RoleFirstRoute, ServiceDep, require
from web.routes._common import errors
from web.schemas import RotaOut

__all__ = ["router"]

router = APIRouter(prefix="/api/rota", tags=["units"], route_class=RoleFirstRoute)
Reader = Annotated[Principal, Depends(require(Action.UNITS_READ))]


@router.get("", response_model=RotaOut, responses=errors())
def read_rota(service: ServiceDep, _: Reader) -> dict[str, Any]:
    """Every registered unit's rota shift now (``current``), the next one, the one a crew
    signing on now would sign on for (``sign_on``; null means an extra shift), and whether its
    rota shift has started with nobody signed on. Times are UTC; the rota's are local to
    ``timezone``."""
    return service.rota_status()
