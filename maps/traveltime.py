"""How long a road edge takes to drive: speed by road class, winter, emergency driving, hour.

Graphs store a *base* time per edge (summer, normal driving, free flow). A
:class:`TravelTimeModel` turns that into the time for a given situation. The factors are plain
numbers in one frozen dataclass so a deployment or a simulation scenario can tune them; the
defaults and the reasoning behind them are documented here and in ``maps/data/README.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from maps.errors import MapFormatError
from maps.graph import RoadClass, RoadGraph

__all__ = [
    "DEFAULT_CLASS_SPEED_KMH",
    "DEFAULT_TIMEZONE",
    "TravelTimeModel",
    "free_flow_speed_kmh",
]

#: Free-flow speed (km/h) assumed for a road class when no speed limit is known (OSM ways without
#: ``maxspeed``). Swedish default limits are 70 km/h outside built-up areas and 50 km/h inside
#: (Trafikförordningen 3 kap. 17 §); faster classes are usually signed 90-120 km/h.
DEFAULT_CLASS_SPEED_KMH: Mapping[RoadClass, float] = MappingProxyType(
    {
        RoadClass.MOTORWAY: 103.0,
        RoadClass.TRUNK: 83.0,
        RoadClass.PRIMARY: 73.0,
        RoadClass.SECONDARY: 62.0,
        RoadClass.TERTIARY: 55.0,
        RoadClass.UNCLASSIFIED: 45.0,
        RoadClass.RESIDENTIAL: 30.0,
        RoadClass.SERVICE: 18.0,
        RoadClass.TRACK: 12.0,
    }
)

# Mean driving speed observed for a posted limit: drivers keep close to the limit on open rural
# road, but curves, junctions, villages and the approach to a town centre cost time. Our own
# calibration against the stated town-to-town driving times cited in maps/data/README.md.
_LIMIT_TO_FREE_FLOW = ((20, 14.0), (30, 20.0), (40, 27.0), (50, 35.0), (60, 48.0), (70, 62.0),
                       (80, 73.0), (90, 83.0), (100, 93.0), (110, 103.0), (120, 112.0))


def free_flow_speed_kmh(limit_kmh: float) -> float:
    """Expected mean free-flow speed (km/h) on a road signed ``limit_kmh``."""
    if not math.isfinite(limit_kmh) or limit_kmh <= 0:
        raise MapFormatError(f"speed limit must be a positive number, got {limit_kmh!r}")
    xs = [x for x, _ in _LIMIT_TO_FREE_FLOW]
    ys = [y for _, y in _LIMIT_TO_FREE_FLOW]
    return float(np.interp(limit_kmh, xs, ys))


#: The clock rush hours, weekdays and winter months are read on unless a model is given another.
DEFAULT_TIMEZONE = "Europe/Stockholm"


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _default_peak_hours() -> tuple[tuple[int, int], ...]:
    return ((7, 9), (15, 17))


@dataclass(frozen=True, slots=True)
class TravelTimeModel:
    """Scales base edge times for season, emergency driving and time of day.

    - ``winter_factor`` (default 0.88): speeds on snow and ice. Norrbotten's roads carry winter
      conditions from October to April; many 90-100 km/h roads get lower winter limits and
      drivers slow down by around 10 km/h on packed snow at 80-90 km/h. 0.88 is that reasoning
      made a number, not a measurement: tune it per deployment.
    - ``winter_months``: months counted as winter when the caller passes a time but no season.
    - ``emergency_factor`` (default 1.15): speed gain when driving with blue lights and siren.
      Field studies of Swedish ambulances report time savings of the order of 10-20 % on
      longer trips (Petzäll, Tabo, Petzäll & Bergman, Accident Analysis & Prevention, 2011).
      An MAE car normally drives without them, so callers ask for it explicitly.
    - ``peak_factor`` (default 0.85) applies on weekdays in ``peak_hours`` to the slow urban
      classes (tertiary and below), where Luleå's and Piteå's rush hours are felt; open rural
      roads are not slowed.
    - ``timezone`` (default ``Europe/Stockholm``): the clock the rush hours, weekdays and winter
      months are read on. A timezone-aware time (the service's and the simulator's clocks run
      in UTC) is converted to it first; a naive one is taken as that local time already.
    """

    winter_factor: float = 0.88
    winter_months: frozenset[int] = frozenset({11, 12, 1, 2, 3})
    emergency_factor: float = 1.15
    peak_factor: float = 0.85
    peak_hours: tuple[tuple[int, int], ...] = field(default_factory=_default_peak_hours)
    timezone: str = DEFAULT_TIMEZONE

    def __post_init__(self) -> None:
        try:
            _zone(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise MapFormatError(f"timezone must be an IANA name such as Europe/Stockholm, got "
                                 f"{self.timezone!r}") from None
        for name in ("winter_factor", "emergency_factor", "peak_factor"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0.2 <= value <= 3.0):
                raise MapFormatError(f"{name} must be a number between 0.2 and 3.0, got {value!r}")
        if not self.winter_months <= set(range(1, 13)):
            raise MapFormatError("winter_months must be month numbers 1..12")

    def is_winter(self, at: datetime | None, winter: bool | None) -> bool:
        """The season to use: ``winter`` when given, else from the month of ``at``."""
        if winter is not None:
            return winter
        return at is not None and self._local(at).month in self.winter_months

    def is_peak(self, at: datetime | None) -> bool:
        """Whether ``at`` falls in a weekday rush hour (on the model's local clock)."""
        if at is None:
            return False
        at = self._local(at)
        if at.weekday() >= 5:
            return False
        hour = at.hour
        # a loop, not any() over a generator (half the time): the simulator asks per instant
        for lo, hi in self.peak_hours:  # noqa: SIM110
            if lo <= hour < hi:
                return True
        return False

    def _local(self, at: datetime) -> datetime:
        """``at`` on the model's local clock (a naive time is taken as local already)."""
        return at if at.tzinfo is None else at.astimezone(_zone(self.timezone))

    def speed_factor(
        self, *, winter: bool = False, emergency: bool = False
    ) -> float:
        """The factor every edge speed is multiplied by, before time-of-day effects."""
        factor = 1.0
        if winter:
            factor *= self.winter_factor
        if emergency:
            factor *= self.emergency_factor
        return factor

    def edge_times(
        self,
        graph: RoadGraph,
        *,
        at: datetime | None = None,
        winter: bool | None = None,
        emergency: bool = False,
    ) -> npt.NDArray[np.float64]:
        """Travel time in seconds of every edge of ``graph`` for the given situation."""
        factor = self.speed_factor(winter=self.is_winter(at, winter), emergency=emergency)
        times = graph.edge_time_s.astype(np.float64) / factor
        if self.is_peak(at):
            urban = graph.edge_class >= RoadClass.TERTIARY
            times[urban] /= self.peak_factor
        return times
