"""``/api/callouts``: incidents with their alarms, unit, ETA and outcome."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from web.auth import Action, Principal
from web.deps import RoleFirstRoute, ServiceDep, require
from web.routes._common import errors
from web.schemas import CalloutOut
from web.views import callout_view
from web.visibility import Viewer

__all__ = ["router"]

router = APIRouter(prefix="/api/callouts", tags=["callouts"], route_class=RoleFirstRoute)
Reader = Annotated[Principal, Depends(require(Action.CALLOUTS_READ))]


@router.get("", response_model=list[CalloutOut], responses=errors())
def list_callouts(
    service: ServiceDep, principal: Reader,
    open_only: Annotated[bool, Query(description="only callouts not yet closed")] = True,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    """Callouts, most urgent and oldest first (open ones), or newest first (all)."""
    state = service.state
    if open_only:
        chosen = state.open_callouts()
    else:
        chosen = sorted(state.callouts.values(), key=lambda c: c.created_at, reverse=True)
    text = Viewer.of(principal).sees_text
    return [callout_view(state, c, with_text=text, eta_at=service.eta_at(c.callout_id))
            for c in chosen[:limit]]


@router.get("/{callout_id}", response_model=CalloutOut, responses=errors(404))
def read_callout(
    service: ServiceDep, principal: Reader, callout_id: Annotated[str, Path(max_length=64)]
) -> dict[str, Any]:
    state = service.state
    callout = state.callout(callout_id)
    return callout_view(state, callout, with_text=Viewer.of(principal).sees_text,
                        eta_at=service.eta_at(callout_id))
