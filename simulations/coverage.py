"""Population coverage: who lives within 30/60/90 minutes of a staffed base, hour by hour.

A base is staffed in an hour of the week when one of its units is on shift at the middle of
that hour. Travel times come from :mod:`routing` on the scenario's map, in winter whenever the
scenario's season can be winter (the conservative reading for a county where winter lasts half
the year).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from maps.graph import Place, RoadGraph
from maps.traveltime import TravelTimeModel
from routing.engine import TravelTimes
from simulations.scenario import Scenario

__all__ = ["THRESHOLDS_MIN", "Coverage", "population_coverage", "staffed_bases"]

THRESHOLDS_MIN = (30, 60, 90)


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


def population_coverage(scenario: Scenario, graph: RoadGraph) -> Coverage:
    """Coverage of the scenario's staffing over the week (independent of the seed)."""
    places = tuple(p for p in graph.places if p.population > 0)
    winter = scenario.roads.season != "summer"
    tt = TravelTimes(graph, TravelTimeModel(winter_factor=scenario.roads.winter_factor),
                     winter=winter, emergency=scenario.roads.emergency,
                     offroad_speed_kmh=scenario.roads.offroad_speed_kmh)
    base_ids = [b.id for b in scenario.bases]
    minutes = tt.matrix([(b.lat, b.lon) for b in scenario.bases],
                        [tt.at_node(p.node) for p in places]).durations_s / 60.0
    pop = np.array([p.population for p in places], dtype=np.float64)
    total = pop.sum() if len(pop) else 1.0
    staffed = staffed_bases(scenario)
    shares = np.zeros((7, 24, len(THRESHOLDS_MIN)))
    for d in range(7):
        for h in range(24):
            rows = [base_ids.index(b) for b in sorted(staffed[d][h])]
            if not rows:
                continue
            best = minutes[rows].min(axis=0)
            for k, limit in enumerate(THRESHOLDS_MIN):
                shares[d, h, k] = pop[best <= limit].sum() / total
    used = sorted({u.base for u in scenario.units})
    nearest = minutes[[base_ids.index(b) for b in used]].min(axis=0) if used else np.full(
        len(places), np.inf)
    return Coverage(shares=shares, places=places, minutes=nearest, bases=tuple(used))
