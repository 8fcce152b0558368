"""The demo's units: one MAE car at each MAE base of the map, registered and put on shift.

Done through the service's public :meth:`~web.service.DispatchService.execute` with the same
commands an administrator's client would send, so the production service holds no demo code.
Used by the live demo and by ``mae serve --demo-units`` (a service with cars to try the pages);
it imports nothing of the simulator, so the production app loads none of it.
"""

from __future__ import annotations

from datetime import timedelta

from dispatch.commands import RegisterUnit, StartShift
from dispatch.model import Location
from maps.gazetteer import normalise_name
from maps.graph import Facility, RoadGraph
from web.service import DispatchService

__all__ = ["DEMO_CREW", "SHIFT_HOURS", "demo_unit_ids", "register_demo_units"]

DEMO_CREW = ("demo crew",)  # who a demo unit's shift names as its crew
SHIFT_HOURS = 12.0  # a demo shift; a fresh crew takes over when it ends


def _bases(graph: RoadGraph) -> list[Facility]:
    return [f for f in graph.facilities if "mae_base" in (f.kind, *f.kinds)]


def _unit_id(base: Facility) -> str:
    return "MAE-" + normalise_name(base.name).split(" ")[0].upper()


def demo_unit_ids(graph: RoadGraph) -> list[str]:
    """The ids :func:`register_demo_units` gives the units at the map's MAE bases."""
    return [_unit_id(f) for f in _bases(graph)]


async def register_demo_units(service: DispatchService, *,
                              shift_hours: float = SHIFT_HOURS) -> int:
    """Register one unit at each MAE base of the map (and start its shift) if the log has no
    units; returns how many were registered."""
    if service.state.units:
        return 0
    bases = _bases(service.graph)
    for fac in bases:
        unit_id = _unit_id(fac)
        await service.execute(
            RegisterUnit(unit_id, f"MAE {fac.place or fac.name}", fac.name,
                         Location(fac.lat, fac.lon, label=fac.name)), actor="system")
        await service.execute(
            StartShift(unit_id, DEMO_CREW, service.clock.now() + timedelta(hours=shift_hours)),
            actor="system")
    return len(bases)
