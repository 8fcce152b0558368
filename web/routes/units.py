"""``/api/units``: the units and where they stand (dispatchers, planners, admins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from dispatch.errors import UnknownUnit
from web.auth import Action, Principal
from web.deps import RoleFirstRoute, ServiceDep, require
from web.routes._common import errors
from web.schemas import UnitOut
from web.views import unit_view

__all__ = ["router"]

router = APIRouter(prefix="/api/units", tags=["units"], route_class=RoleFirstRoute)
Reader = Annotated[Principal, Depends(require(Action.UNITS_READ))]


@router.get("", response_model=list[UnitOut], responses=errors())
def list_units(service: ServiceDep, _: Reader) -> list[dict[str, Any]]:
    """Every registered unit, by id (retired ones too, marked ``retired``)."""
    return [unit_view(u) for u in sorted(service.state.units.values(), key=lambda u: u.unit_id)]


@router.get("/{unit_id}", response_model=UnitOut, responses=errors(404))
def read_unit(
    service: ServiceDep, _: Reader, unit_id: Annotated[str, Path(max_length=64)]
) -> dict[str, Any]:
    unit = service.state.units.get(unit_id)
    if unit is None:
        raise UnknownUnit(unit_id)
    return unit_view(unit)
