"""``/api/alarms``: agencies raise alarms (JSON or CAP 1.2 XML) and follow their status."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from dispatch.model import Agency
from web.auth import Action, Principal, Role
from web.cap import parse_cap
from web.deps import ClientDep, RoleFirstRoute, ServiceDep, require
from web.errors import BadMessage, Forbidden
from web.intake import submit_alarm
from web.routes._common import errors
from web.schemas import AlarmAckOut, AlarmIn, AlarmStatusOut

__all__ = ["router"]

router = APIRouter(prefix="/api/alarms", tags=["alarms"], route_class=RoleFirstRoute)
Creator = Annotated[Principal, Depends(require(Action.ALARM_CREATE))]
Reader = Annotated[Principal, Depends(require(Action.ALARM_READ))]

_CREATED: dict[int | str, dict[str, Any]] = {
    200: {"description": "a retry of an alarm already received (nothing new stored)"},
    201: {"description": "the alarm is stored durably and joined this callout"}}


def _charset(content_type: str) -> str | None:
    """The ``charset`` parameter of a Content-Type header, if any."""
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"') or None
    return None


@router.post("", response_model=AlarmAckOut, status_code=201,
             responses={**_CREATED, **errors(400, 404, 409, 503)})
async def create_alarm(
    payload: AlarmIn, service: ServiceDep, principal: Creator, client: ClientDep,
    response: Response,
) -> dict[str, Any]:
    """Raise an alarm for the token's agency. The reply comes once the alarm is durable; a
    retry with the same reference returns the same callout (200, ``duplicate``)."""
    ack = await submit_alarm(service, principal, payload, client=client, action="alarm")
    if ack["duplicate"]:
        response.status_code = 200
    return ack


@router.post(
    "/cap", response_model=AlarmAckOut, status_code=201,
    responses={**_CREATED, **errors(400, 404, 409, 422, 503)},
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/xml": {"schema": {"type": "string"}},
        "application/cap+xml": {"schema": {"type": "string"}}}}},
)
async def create_alarm_cap(
    request: Request, service: ServiceDep, principal: Creator, client: ClientDep,
    response: Response,
) -> dict[str, Any]:
    """Raise an alarm from an OASIS CAP 1.2 ``<alert>`` (see web/cap.py for the mapping)."""
    limit: int = request.app.state.settings.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BadMessage("body", f"is larger than {limit} bytes")
    body = await request.body()
    if len(body) > limit:
        raise BadMessage("body", f"is larger than {limit} bytes")
    charset = _charset(request.headers.get("content-type", ""))
    # XML and polygon work in a worker thread: ten large CAP posts at once stalled every other
    # client for 300-450 ms when parsed on the event loop
    payload = await asyncio.to_thread(parse_cap, body, charset=charset)
    ack = await submit_alarm(service, principal, payload, client=client, action="alarm.cap")
    if ack["duplicate"]:
        response.status_code = 200
    return ack


@router.get("/{agency}/{reference}", response_model=AlarmStatusOut, responses=errors(404))
def read_alarm(
    service: ServiceDep, principal: Reader, agency: Agency,
    reference: Annotated[str, Path(min_length=1, max_length=64)],
) -> dict[str, Any]:
    """An alarm's callout, status, assigned unit and ETA. Agencies read only their own."""
    if principal.role is Role.AGENCY and principal.agency is not agency:
        raise Forbidden(f"a {principal.agency} principal may read only its own alarms")
    return service.alarm_status(f"{agency.value}/{reference}")
