"""``GET /api/health``: is the service up, and where does its log end (no token needed)."""

from __future__ import annotations

from fastapi import APIRouter

from web.deps import ServiceDep
from web.schemas import HealthOut

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", response_model=HealthOut)
def health(service: ServiceDep) -> HealthOut:
    state = service.state
    return HealthOut(status="ok", seq=state.last_seq, units=len(state.units),
                     open_callouts=len(state.open_callouts()))
