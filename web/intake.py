"""Alarm intake shared by REST, CAP and the agency socket: convert, resolve, decide, ack.

The reply is built only after :meth:`DispatchService.run` returned, i.e. after the alarm's event
is durable in the log; a retry with the same (agency, reference) returns the same callout with
``duplicate`` set and logs nothing new.
"""

from __future__ import annotations

from typing import Any

from dispatch.commands import ReceiveAlarm
from dispatch.errors import InvalidCommand
from dispatch.model import Alarm, Patient
from web.auth import Action, Principal, authorize
from web.errors import Forbidden
from web.schemas import AlarmIn
from web.service import DispatchService
from web.views import location_view

__all__ = ["submit_alarm"]


async def submit_alarm(
    service: DispatchService, principal: Principal, payload: AlarmIn, *, client: str,
    action: str = "alarm",
) -> dict[str, Any]:
    """Receive ``payload`` from ``principal``'s agency; returns the acknowledgement."""
    authorize(principal, Action.ALARM_CREATE)
    if principal.agency is None:  # pragma: no cover - Principal forbids it
        raise Forbidden("this principal is bound to no agency")
    target = {"agency": principal.agency.value, "reference": payload.reference}
    alarm_id = f"{principal.agency.value}/{payload.reference}"
    if payload.link_to is not None and payload.link_to not in service.state.callouts:
        raise InvalidCommand("link_to", f"there is no callout {payload.link_to!r}")
    known = service.state.alarms.get(alarm_id)
    if known is not None:
        location = known.location  # a retry: do not resolve (or fail on) the location again
    else:
        loc = payload.location
        await service.map_ready()
        location = service.resolve(lat=loc.lat, lon=loc.lon, place=loc.place, label=True)
    alarm = Alarm(
        agency=principal.agency,
        reference=payload.reference,
        received_at=service.clock.now(),
        location=location,
        priority=payload.priority,
        category=payload.category,
        patient=Patient(payload.patient.age_band, payload.patient.sex, payload.patient.children),
        note=payload.note,
        police_on_scene=payload.police_on_scene,
        ambulance_on_scene=payload.ambulance_on_scene,
        link_to=payload.link_to,
        callback=payload.callback,
    )
    done = await service.run(ReceiveAlarm(alarm), principal=principal, client=client,
                             action=action, target={**target, "alarm_id": alarm_id})
    stored = service.state.alarms[alarm_id]
    return {
        "alarm_id": alarm_id,
        "callout_id": done.decision.callout_id,
        "duplicate": done.decision.duplicate,
        "seq": done.last_seq if done.last_seq is not None else service.state.last_seq,
        "location": location_view(stored.location),
    }
