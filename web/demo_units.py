"""The demo's units: the units of a region file (the bundled Norrbotten one by default), put on
a demo shift.

The units themselves come from the region file, loaded like ``mae serve --region`` loads it
(:mod:`web.regions`), so the demo and a real region have one source of truth. This module only
starts a shift for each off-duty unit of the region, through the service's public
:meth:`~web.service.DispatchService.execute` with the command a crew's sign-on sends, so the
production service holds no demo code. Used by the live demo and by ``mae serve --demo-units``
(a service with cars on shift to try the pages); it imports nothing of the simulator.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from dispatch.commands import StartShift
from dispatch.errors import DispatchError
from dispatch.model import CrewMember, CrewRole
from dispatch.region import Region
from dispatch.status import UnitStatus
from maps.graph import RoadGraph
from web.regions import BUNDLED_REGION, load_region, read_region
from web.service import DispatchService

__all__ = [
    "DEMO_CREW",
    "SHIFT_HOURS",
    "demo_region",
    "demo_unit_ids",
    "register_demo_units",
    "start_demo_shifts",
]

#: Who a demo unit's shift names as its crew: a nurse-led team of two, as MAE cars are
#: (fictional people; the dispatcher sees their names and roles).
DEMO_CREW = (CrewMember("Anna Demo", CrewRole.NURSE), CrewMember("Erik Demo", CrewRole.DRIVER))
SHIFT_HOURS = 12.0  # a demo shift; a fresh crew takes over when it ends


def demo_region(graph: RoadGraph, path: Path | None = None) -> Region:
    """The region the demo runs (``path``, else the bundled Norrbotten file), checked on
    ``graph``'s map."""
    return read_region(path if path is not None else BUNDLED_REGION, graph=graph)


def demo_unit_ids(region: Region) -> list[str]:
    """The ids of the region's units, as the file lists them."""
    return [u.unit_id for u in region.units]


async def start_demo_shifts(service: DispatchService, *,
                            shift_hours: float = SHIFT_HOURS) -> int:
    """Start a demo shift for every off-duty unit of the service's region; returns how many
    started."""
    if service.region is None:
        return 0
    started = 0
    for unit_id in demo_unit_ids(service.region):
        unit = service.state.units.get(unit_id)
        if unit is None or unit.retired or unit.status is not UnitStatus.OFF_DUTY:
            continue
        try:
            await service.execute(StartShift(
                unit_id, DEMO_CREW, service.clock.now() + timedelta(hours=shift_hours)),
                actor="system")
        except DispatchError:
            if service.state.units[unit_id].status is UnitStatus.OFF_DUTY:
                raise
            continue  # another instance on the same store started it first
        started += 1
    return started


async def register_demo_units(service: DispatchService, region: Region | None = None, *,
                              shift_hours: float = SHIFT_HOURS) -> int:
    """Load ``region`` (the service's, else the bundled one) into the service and start a demo
    shift for each of its off-duty units; returns how many shifts started."""
    if region is None:
        region = service.region or demo_region(service.graph)
    if service.region is not region:
        await load_region(service, region)
    return await start_demo_shifts(service, shift_hours=shift_hours)
