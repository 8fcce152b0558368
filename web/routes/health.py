"""``GET /api/health``: is the service up, do its stores take writes, and where does its log
end (no token needed). A failing store answers 503 with ``storage`` naming it and its error,
so a load balancer or an operator notices a full disk; the storage heartbeat
(:meth:`web.service.DispatchService.run_storage_probe`) clears it when the store works again."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from web.deps import ServiceDep
from web.schemas import HealthOut, StorageOut

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", response_model=HealthOut,
            responses={503: {"model": HealthOut,
                             "description": "a store fails: `storage` names it and its error"}})
def health(service: ServiceDep) -> HealthOut | JSONResponse:
    state = service.state
    problems = service.storage_problems()
    storage = [StorageOut(store=name, ok=False, error=detail)
               for name, detail in sorted(problems.items())]
    body = HealthOut(status="degraded" if problems else "ok", seq=state.last_seq,
                     units=len(state.units), open_callouts=len(state.open_ids),
                     write_queue=service.writer.queue_depth,
                     # the writer halted, or the event log failing its writes (a full disk,
                     # a stopped Redis) until the heartbeat finds it works again
                     accepting_writes=not service.writer.halted and "events" not in problems,
                     storage=storage,
                     routing_prepared=service.routing_prepared,
                     history_loaded=not service.history_pending,
                     planning=service.planner.status)
    if problems:
        return JSONResponse(body.model_dump(mode="json"), status_code=503,
                            headers={"Retry-After": "5"})
    return body
