"""Population coverage: who lives within 30/60/90 minutes of a staffed base, hour by hour.

A base is staffed in an hour of the week when one of its units is on shift at the middle of
that hour. Travel times come from :mod:`routing` on the scenario's map, in winter whenever the
scenario's season can be winter (the conservative reading for a county where winter lasts half
the year); the counting is :func:`dispatch.coverage.coverage` with its default thresholds, the
same as the dispatcher's coverage map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dispatch.coverage import DEFAULT_THRESHOLDS, CoverageResult, coverage, populated
from maps.graph import Place
from maps.traveltime import TravelTimeModel
from routing.engine import TravelTimes
from simulations.matrix import MatrixMap
from simulations.scenario import Scenario
from simulations.terrain import Terrain

__all__ = ["THRESHOLDS_MIN", "Coverage", "population_coverage", "staffed_bases"]

#: The coverage thresholds of the simulation's KPIs and report, in minutes.
THRESHOLDS_MIN = DEFAULT_THRESHOLDS.minutes


@dataclass(frozen=True, slots=True, eq=False)
class Coverage:
    """``shares[d, h, k]``: share of the population within ``THRESHOLDS_MIN[k]`` minutes of a
    staffed base on weekday ``d`` (0 = Monday) at hour ``h``; ``minutes[i]``: minutes from
    place ``places[i]`` to the nearest base of the scenario (any hour)."""

    shares: npt.NDArray[np.float64]
    places: tuple[Place, ...]
    minutes: npt.NDArray[np.float64]
    bases: tuple[str, ...]

    def mean_share(self, k: int) -> float:
        """Share within ``THRESHOLDS_MIN[k]`` averaged over every hour of the week."""
        return float(self.shares[:, :, k].mean())


def staffed_bases(scenario: Scenario) -> list[list[set[str]]]:
    """For each weekday and hour, the ids of the bases with a unit on shift at half past."""
    out: list[list[set[str]]] = [[set() for _ in range(24)] for _ in range(7)]
    week = 7 * 1440
    for unit in scenario.units:
        for s in unit.shifts:
            for d in s.days:
                for m in range(d * 1440 + s.start_min, d * 1440 + s.end_min):
                    if m % 60 == 30:
                        wd, rest = divmod(m % week, 1440)
                        out[wd][rest // 60].add(unit.base)
    return out


def _matrix_reach(scenario: Scenario, region: MatrixMap,
                  places: tuple[Place, ...]) -> CoverageResult:
    rows = region.nearest([b.lat for b in scenario.bases], [b.lon for b in scenario.bases])
    cols = np.array([p.node for p in places], dtype=np.intp)
    return CoverageResult(places, DEFAULT_THRESHOLDS, region.seconds[np.ix_(rows, cols)])


def population_coverage(scenario: Scenario, graph: Terrain) -> Coverage:
    """Coverage of the scenario's staffing over the week (independent of the seed); on a
    matrix map the times are the matrix's from each base's node."""
    places = populated(graph.places)
    if isinstance(graph, MatrixMap):
        reach = _matrix_reach(scenario, graph, places)
    else:
        winter = scenario.roads.season != "summer"
        tt = TravelTimes(graph, TravelTimeModel(winter_factor=scenario.roads.winter_factor),
                         winter=winter, emergency=scenario.roads.emergency,
                         offroad_speed_kmh=scenario.roads.offroad_speed_kmh)
        reach = coverage(tt, [(b.lat, b.lon) for b in scenario.bases], places,
                         thresholds=DEFAULT_THRESHOLDS)
    base_ids = [b.id for b in scenario.bases]
    staffed = staffed_bases(scenario)
    shares = np.zeros((7, 24, len(THRESHOLDS_MIN)))
    by_staff: dict[tuple[int, ...], CoverageResult] = {}
    for d in range(7):
        for h in range(24):
            rows = tuple(base_ids.index(b) for b in sorted(staffed[d][h]))
            if not rows:
                continue
            if rows not in by_staff:
                by_staff[rows] = reach.among(rows)
            shares[d, h] = by_staff[rows].shares
    used = sorted({u.base for u in scenario.units})
    nearest = reach.among(base_ids.index(b) for b in used).seconds / 60.0
    return Coverage(shares=shares, places=places, minutes=nearest, bases=tuple(used))
