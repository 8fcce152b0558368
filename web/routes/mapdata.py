"""``/api/map``, ``/api/map/reach``, ``/api/places``, ``/api/coverage`` and ``/api/route``:
what the pages draw and ask.

The map reply is the loaded road graph as a few merged polylines (two-way roads once, runs of
the same road class and number joined, coordinates to 5 decimals, about a metre), built once per
app in a worker thread and cached as JSON. Coverage and routes use the service's travel-time
engine for the current time of day. Coverage (:func:`dispatch.coverage.coverage`, one matrix
over every place) takes the free units from the state on the event loop and computes in a
worker thread; a route is one query and stays on the loop like every other read of the state.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from dispatch import coverage as cov
from dispatch.errors import UnknownUnit
from dispatch.state import Unit
from maps.gazetteer import normalise_name
from maps.graph import Facility, Place, RoadClass, RoadGraph
from routing.engine import TravelTimes
from routing.errors import NoRoute, SnapError
from routing.snap import SnappedPoint, edge_twins
from web.auth import Action, Principal, Role, authorize
from web.deps import PrincipalDep, RoleFirstRoute, ServiceDep, require
from web.errors import BadMessage, Forbidden
from web.ratelimit import RateLimit
from web.routes._common import errors
from web.schemas import CoverageOut, MapOut, PlaceMatchOut, ReachOut, RouteOut

__all__ = ["merged_roads", "router"]

router = APIRouter(prefix="/api", tags=["map"], route_class=RoleFirstRoute)
Watcher = Annotated[Principal, Depends(require(Action.UNITS_READ))]

#: Coverage minutes are shown to a tenth, and the bands count what is shown.
_MINUTE_TENTH_S = 6.0


# -- the map ----------------------------------------------------------------------------------


def _r(x: float) -> float:
    return round(float(x), 5)


def _walk(graph: RoadGraph, src: Any, adj: dict[int, list[int]], used: set[int], node: int,
          edge: int) -> list[list[float]]:
    """Follow edges from ``node`` along ``edge`` until a junction; the points, rounded."""
    line: list[list[float]] = []
    while True:
        used.add(edge)
        u, v = int(src[edge]), int(graph.edge_target[edge])
        pts = graph.edge_geometry(edge, u)
        if node != u:
            pts.reverse()
        for lat, lon in pts:
            p = [_r(lat), _r(lon)]
            if not line or line[-1] != p:
                line.append(p)
        node = v if node == u else u
        nxt = [e for e in adj[node] if e != edge]
        if len(adj[node]) != 2 or not nxt or nxt[0] in used:
            return line
        edge = nxt[0]


def merged_roads(graph: RoadGraph) -> list[dict[str, Any]]:
    """The graph's roads as polylines: each two-way road once, and consecutive edges of the
    same class and road number joined until a junction (a node where the run does not simply
    continue)."""
    twins = edge_twins(graph)
    src = graph.edge_source
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for e in range(graph.n_edges):
        t = int(twins[e])
        if 0 <= t < e:
            continue  # drawn with its twin
        groups[(int(graph.edge_class[e]), int(graph.edge_ref[e]))].append(e)
    roads = []
    for (cls, ref), edges in sorted(groups.items()):
        adj: dict[int, list[int]] = defaultdict(list)
        for e in edges:
            adj[int(src[e])].append(e)
            adj[int(graph.edge_target[e])].append(e)
        used: set[int] = set()
        starts = [n for n, es in adj.items() if len(es) != 2]
        runs = [_walk(graph, src, adj, used, n, e) for n in starts for e in adj[n] if e not in used]
        # then closed loops, which have no junction to start from
        runs += [_walk(graph, src, adj, used, int(src[e]), e) for e in edges if e not in used]
        name = RoadClass(cls).name.lower()
        label = graph.strings[ref].strip() if ref >= 0 else ""
        roads += [{"class": name, "ref": label or None, "coords": run}
                  for run in runs if len(run) >= 2]
    return roads


def _place(p: Place) -> dict[str, Any]:
    return {"name": p.name, "lat": p.lat, "lon": p.lon, "population": p.population,
            "kind": p.kind, "municipality": p.municipality}


def _facility(f: Facility) -> dict[str, Any]:
    return {"name": f.name, "kind": f.kind, "kinds": [f.kind, *f.kinds], "lat": f.lat,
            "lon": f.lon, "place": f.place}


def _map_json(graph: RoadGraph, tile_url: str | None) -> bytes:
    s, w, n, e = graph.bounds()
    body = {
        "name": graph.name,
        "bounds": [[s, w], [n, e]],
        "tile_url": tile_url,
        "roads": merged_roads(graph),
        "places": [_place(p) for p in graph.places],
        "bases": [_facility(f) for f in graph.facilities if f.is_a("mae_base")],
        "facilities": [_facility(f) for f in graph.facilities],
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


@router.get("/map", response_model=None, responses={200: {"model": MapOut}, **errors()})
async def read_map(request: Request, service: ServiceDep, _: PrincipalDep) -> Response:
    """The loaded map: bounds, roads as merged polylines coloured by ``class``, places (with
    population), MAE bases and facilities. Any signed-in role may read it."""
    state = request.app.state
    lock = getattr(state, "mapdata_lock", None)
    if lock is None:  # no await since the check: one lock per app
        lock = state.mapdata_lock = asyncio.Lock()
    async with lock:
        cached: bytes | None = getattr(state, "mapdata_json", None)
        if cached is None:
            tile_url = state.settings.tile_url
            cached = await asyncio.to_thread(_map_json, service.graph, tile_url)
            state.mapdata_json = cached
    return Response(cached, media_type="application/json",
                    headers={"Cache-Control": "private, max-age=3600"})


def _reach_limit(request: Request) -> RateLimit:
    state = request.app.state
    limit: RateLimit | None = getattr(state, "reach_limit", None)
    if limit is None:  # no await since the check: one per app
        limit = state.reach_limit = RateLimit(state.settings.map_reach_per_minute)
    return limit


@router.get("/map/reach", response_model=ReachOut, responses=errors(422))
async def reach(
    request: Request, service: ServiceDep, principal: PrincipalDep,
    lat: Annotated[float, Query(ge=-90, le=90, description="latitude, WGS84 degrees")],
    lon: Annotated[float, Query(ge=-180, le=180, description="longitude, WGS84 degrees")],
) -> dict[str, Any]:
    """Whether a road of the loaded map lies within reach of ``(lat, lon)``, the limit an
    alarm's coordinates are held to: a page asks when a map point is clicked, so a point far
    from every road is refused at once. Any signed-in role; ``MAE_MAP_REACH_PER_MINUTE`` calls
    per principal a minute (429 beyond). Checked in a worker thread."""
    _reach_limit(request).hit(principal.principal_id)
    await service.map_ready()
    travel = service.travel()
    try:
        await asyncio.to_thread(travel.check_snap, lat, lon)
        reachable = True
    except SnapError:
        reachable = False
    return {"lat": lat, "lon": lon, "reachable": reachable, "limit_m": travel.max_snap_m}


# -- places -----------------------------------------------------------------------------------


def _names(graph: RoadGraph) -> list[tuple[str, str, dict[str, Any]]]:
    """(normalised alias, alias, place view) for every name the gazetteer resolves."""
    out = [(normalise_name(f.name), f.name, {**_facility(f), "population": 0,
                                              "municipality": ""}) for f in graph.facilities]
    for p in graph.places:
        view = _place(p)
        out += [(normalise_name(alias), alias, view) for alias in p.names]
    return out


@router.get("/places", response_model=list[PlaceMatchOut], responses=errors())
async def find_places(
    request: Request, service: ServiceDep, _: PrincipalDep,
    q: Annotated[str, Query(min_length=1, max_length=120,
                            description="the start of a place name (case and accents ignored)")],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[dict[str, Any]]:
    """Places and facilities whose name (or another name of theirs) matches ``q``: exact
    matches first, then names starting with it, then names containing it; larger first.
    Each ``name`` is accepted as ``location.place`` of an alarm."""
    state = request.app.state
    names = getattr(state, "mapdata_names", None)
    if names is None:
        names = state.mapdata_names = _names(service.graph)
    key = normalise_name(q)
    if not key:
        return []
    best: dict[str, tuple[tuple[int, int, str], dict[str, Any]]] = {}
    for norm, alias, view in names:
        if norm == key:
            tier = 0
        elif norm.startswith(key):
            tier = 1
        elif any(word.startswith(key) for word in norm.split()):
            tier = 2
        elif key in norm:
            tier = 3
        else:
            continue
        rank = (tier, -int(view["population"]), view["name"])
        if view["name"] not in best or rank < best[view["name"]][0]:
            best[view["name"]] = (rank, {**view, "matched": alias})
    ranked = sorted(best.values(), key=lambda item: item[0])
    keys = ("name", "lat", "lon", "population", "kind", "municipality", "matched")
    return [{k: view[k] for k in keys} for _, view in ranked[:limit]]


# -- coverage ---------------------------------------------------------------------------------


def _coverage_body(
    travel: TravelTimes, free: Sequence[Unit], places: Sequence[Place], at: datetime
) -> dict[str, Any]:
    """The ``/api/coverage`` reply from the free units and places taken from the state; the
    bands follow the shared thresholds (each band only places not in the one before), counted
    on the tenths of a minute the reply shows."""
    sources: list[SnappedPoint] = []
    on_map: list[Unit] = []
    for unit in free:
        try:
            sources.append(travel.snap(unit.position.lat, unit.position.lon))
            on_map.append(unit)
        except SnapError:
            continue
    reach = cov.coverage(travel, sources, places, thresholds=cov.DEFAULT_THRESHOLDS,
                         resolution_s=_MINUTE_TENTH_S)
    rows = []
    for j, place in enumerate(places):
        i = int(reach.nearest[j])
        minutes = round(float(reach.seconds[j]) / 60.0, 1) if i >= 0 else None
        rows.append({"name": place.name, "lat": place.lat, "lon": place.lon,
                     "population": place.population, "minutes": minutes,
                     "unit_id": on_map[i].unit_id if i >= 0 else None})
    mapped = {u.unit_id for u in on_map}
    return {
        "at": at.isoformat(),
        "free_units": [{"unit_id": u.unit_id, "name": u.name, "status": u.status.value,
                        "lat": u.position.lat, "lon": u.position.lon,
                        "on_map": u.unit_id in mapped} for u in free],
        "places": rows,
        "bands": dict(zip((*reach.thresholds.labels, "beyond"), reach.bands, strict=True)),
        "population": reach.total,
    }


@router.get("/coverage", response_model=CoverageOut, responses=errors())
async def coverage(service: ServiceDep, _: Watcher) -> dict[str, Any]:
    """Road minutes from the nearest free unit (available, or returning to base) to every
    place of the map now, and the population within 30, 60 and 90 minutes (each band counts
    only places not in the one before) and beyond (``minutes`` null: no free unit reaches it)."""
    await service.map_ready()
    travel = service.travel()
    free = cov.free_units(service.state)
    at = service.clock.now()
    return await asyncio.to_thread(_coverage_body, travel, free, service.graph.places, at)


# -- routes -----------------------------------------------------------------------------------


def _conflict(field: str, message: str) -> JSONResponse:
    return JSONResponse({"error": "no_route", "field": field, "message": message},
                        status_code=409)


@router.get("/route", response_model=RouteOut, responses=errors(404, 409))
async def route(
    service: ServiceDep, principal: PrincipalDep,
    unit_id: Annotated[str, Query(min_length=1, max_length=64)],
    callout_id: Annotated[str, Query(min_length=1, max_length=64)],
    facility: Annotated[str | None, Query(max_length=120, description=(
        "a map facility's name: the route goes there instead of to the callout (a unit "
        "transporting the patient)"))] = None,
) -> Any:
    """The fastest road route of a unit from where it stands to a callout (or, with
    ``facility``, on the callout's behalf to that facility): geometry to draw and steps (road,
    distance, time). Dispatchers and admins may ask for any unit; a crew only for its own unit
    and the callout it is on."""
    if principal.role is Role.CREW:
        if unit_id != principal.unit_id:
            raise Forbidden("a crew may ask only for its own unit's route")
    else:
        authorize(principal, Action.DISPATCH_COMMAND)
    unit = service.state.units.get(unit_id)
    if unit is None:
        raise UnknownUnit(unit_id)
    callout = service.state.callout(callout_id)
    if principal.role is Role.CREW and unit.callout_id != callout_id:
        raise Forbidden("a crew may ask only for the route to the callout it is on")
    await service.map_ready()
    travel = service.travel()
    try:
        start = travel.snap(unit.position.lat, unit.position.lon)
    except SnapError as exc:
        return _conflict("unit_id", f"unit {unit_id} stands off the map's roads ({exc})")
    goal = (callout.location.lat, callout.location.lon)
    if facility:
        named = next((f for f in service.graph.facilities if f.name == facility), None)
        if named is None:
            raise BadMessage("facility", f"no facility named {facility!r} on the map")
        goal = (named.lat, named.lon)
    try:
        end = travel.snap(*goal)
    except SnapError as exc:
        return _conflict("facility" if facility else "callout_id",
                         f"{facility or 'callout ' + callout_id} lies off the map's roads ({exc})")
    try:  # plain search until routing is prepared: a worker thread's, not the loop's
        found = travel.route(start, end) if travel.ready else await asyncio.to_thread(
            travel.route, start, end)
    except NoRoute:
        return _conflict("callout_id", f"no road connects unit {unit_id} to {callout_id}")
    return {
        "unit_id": unit_id,
        "callout_id": callout_id,
        "duration_s": round(found.duration_s, 1),
        "distance_m": round(found.distance_m, 1),
        "geometry": [[_r(lat), _r(lon)] for lat, lon in found.geometry],
        "steps": [{"kind": s.kind.value, "road": s.road, "distance_m": round(s.distance_m, 1),
                   "duration_s": round(s.duration_s, 1), "text": s.describe()}
                  for s in found.steps],
    }
