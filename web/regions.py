"""The region file in the service: read it, put its bases and facilities on the map, and bring
the event log's units to the file's through the service's single writer.

The rules live in :mod:`dispatch.region`; this is the I/O around them (the file, the map, the
writer). ``mae serve --region FILE`` (or ``MAE_REGION``) loads a region at start, after the log
is replayed; the demo loads the bundled :data:`BUNDLED_REGION`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dispatch.commands import RegisterUnit, RetireUnit, UpdateUnit
from dispatch.errors import DispatchError
from dispatch.region import (
    Bounds,
    Region,
    RegionError,
    UnitCommand,
    parse_region,
    region_commands,
)
from dispatch.state import DispatchState
from mae.errors import MaeError
from maps.graph import Facility, RoadGraph, haversine_m
from web.auth import Principals
from web.service import DispatchService

__all__ = [
    "BUNDLED_REGION",
    "MAP_MARGIN_DEG",
    "RegionLoad",
    "load_region",
    "map_bounds",
    "read_region",
    "with_region_facilities",
]

logger = logging.getLogger(__name__)

#: The Norrbotten region file shipped with the project (``regions/`` beside the packages, in a
#: clone and when installed alike).
BUNDLED_REGION = Path(__file__).resolve().parents[1] / "regions" / "norrbotten.toml"

#: How far (degrees) around the map's roads a base or facility may lie.
MAP_MARGIN_DEG = 0.05

#: The largest region file read (a region has tens of units, not megabytes of them).
MAX_REGION_BYTES = 1_000_000


def map_bounds(graph: RoadGraph) -> Bounds | None:
    """The box around the map's nodes with a small margin (None for an empty map)."""
    if not graph.n_nodes:
        return None
    return Bounds(*graph.bounds()).widened(MAP_MARGIN_DEG)


def read_region(path: Path, *, graph: RoadGraph | None = None) -> Region:
    """The region in the TOML file ``path``, checked whole (and on ``graph``'s map if given);
    :class:`RegionError` lists every problem, a file that cannot be read is one of them."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_REGION_BYTES + 1)
    except OSError as exc:
        raise RegionError([("file", f"cannot read {path}: {exc.strerror or exc}")]) from None
    if len(raw) > MAX_REGION_BYTES:
        raise RegionError([("file", f"{path} is larger than {MAX_REGION_BYTES} bytes")])
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise RegionError([("file", f"{path} is not UTF-8 text")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise RegionError([("file", f"{path} is not valid TOML: {exc}")]) from None
    return parse_region(data, bounds=map_bounds(graph) if graph is not None else None)


def _nearest_node(graph: RoadGraph, lat: float, lon: float) -> int:
    return int(np.argmin(haversine_m(graph.node_lat, graph.node_lon, lat, lon)))


def with_region_facilities(graph: RoadGraph, region: Region) -> RoadGraph:
    """``graph`` with the region's facilities (replacing the map's of the same name) and its
    bases as MAE bases (a map facility of the base's name becomes one too), each attached to
    its nearest road node. The graph itself is left as it was."""
    by_name = {f.name.casefold(): f for f in graph.facilities}
    order = [f.name.casefold() for f in graph.facilities]
    for fac in region.facilities:
        key = fac.name.casefold()
        if key not in by_name:
            order.append(key)
        by_name[key] = Facility(fac.name, fac.kind, fac.lat, fac.lon,
                                node=_nearest_node(graph, fac.lat, fac.lon), place=fac.place,
                                kinds=fac.kinds)
    for base in region.bases:
        key = base.name.casefold()
        known = by_name.get(key)
        if known is None:
            order.append(key)
            by_name[key] = Facility(base.name, "mae_base", base.lat, base.lon,
                                    node=_nearest_node(graph, base.lat, base.lon))
        elif not known.is_a("mae_base"):
            by_name[key] = dataclasses.replace(known, kinds=(*known.kinds, "mae_base"))
    facilities = tuple(by_name[k] for k in order)
    if facilities == graph.facilities:
        return graph
    return dataclasses.replace(graph, facilities=facilities)


class _AlreadyApplied(MaeError):
    """A region command another instance applied first (instances starting together)."""


def _still_needed(region: Region, command: UnitCommand) -> Callable[[DispatchState], None]:
    """A writer guard: refuse ``command`` when the state it is decided on (caught up with
    other instances' appends) no longer needs it for ``region``."""

    def guard(state: DispatchState) -> None:
        if command not in region_commands(region, state):
            raise _AlreadyApplied(f"{type(command).__name__} {command.unit_id}")

    return guard


@dataclass(slots=True)
class RegionLoad:
    """What loading a region did: unit ids registered, updated and retired, the commands
    refused (``unit_id: why``; a unit on a callout is not retired) and the crew tokens of
    retired units revoked."""

    registered: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)  # principal ids of retired units' crews

    def summary(self) -> str:
        parts = [f"{len(self.registered)} registered", f"{len(self.updated)} updated",
                 f"{len(self.retired)} retired"]
        if self.revoked:
            parts.append(f"{len(self.revoked)} crew tokens revoked")
        if self.refused:
            parts.append(f"{len(self.refused)} refused ({'; '.join(self.refused)})")
        return ", ".join(parts)


async def load_region(service: DispatchService, region: Region, *,
                      principals: Principals | None = None) -> RegionLoad:
    """Make the service's units match ``region``, through the service's writer (each change a
    logged event), and keep the region as ``service.region``. Nothing is logged when they
    already match. A command the rules refuse (retiring a unit on a callout) is reported, not
    raised: the service starts, and the next load retires the unit. With ``principals``, the
    crew tokens of every retired unit (now or before) are revoked: a retired unit's phone
    cannot sign in."""
    service.region = region
    done = RegionLoad()
    for command in region_commands(region, service.state):
        try:
            await service.execute(command, actor="system", guard=_still_needed(region, command))
        except _AlreadyApplied:  # another instance loading the same file got there first
            logger.debug("region %s: %s of unit %s applied by another instance", region.name,
                         type(command).__name__, command.unit_id)
            continue
        except DispatchError as exc:
            done.refused.append(f"{command.unit_id}: {exc}")
            logger.warning("region %s: %s not applied to unit %s: %s", region.name,
                           type(command).__name__, command.unit_id,
                           exc)
            continue
        if isinstance(command, RegisterUnit):
            done.registered.append(command.unit_id)
        elif isinstance(command, UpdateUnit):
            done.updated.append(command.unit_id)
        elif isinstance(command, RetireUnit):
            done.retired.append(command.unit_id)
    if principals is not None:
        for unit in [u for u in service.state.units.values() if u.retired]:
            ids = await asyncio.to_thread(principals.revoke_unit, unit.unit_id)
            done.revoked.extend(ids)
            if ids:
                logger.info("revoked %d crew token(s) of retired unit %s", len(ids),
                            unit.unit_id)
    logger.info("region %s loaded: %s", region.name, done.summary())
    return done
