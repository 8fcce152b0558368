"""The node-level routing model that both searches solve, in plain Python.

:mod:`routing.plan` builds a :class:`RoutingSpec` from a planning problem; OR-Tools
(:mod:`routing._ortools`) finds a first solution on it and our ruin-and-recreate search
(:mod:`routing._lns`) improves it. Kept apart from both so that neither imports the other for it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RoutingSpec"]


@dataclass(frozen=True, slots=True)
class RoutingSpec:
    """A routing model over nodes; each vehicle starts and ends at given nodes.

    ``cost[i][j]`` is the arc cost, ``transit[i][j]`` the time from starting service at ``i`` to
    arriving at ``j`` (service at ``i`` plus travel). ``penalty[n]`` is None for nodes that are
    not visits (starts and ends), else the cost of leaving visit ``n`` out. ``allowed[n]`` lists
    the vehicles that may serve ``n`` (None: all).
    """

    cost: list[list[int]]
    transit: list[list[int]]
    service: list[int]
    starts: list[int]
    ends: list[int]
    vehicle_start_window: list[tuple[int, int]]
    vehicle_end_max: list[int]
    node_window: list[tuple[int, int]]
    penalty: list[int | None]
    allowed: list[list[int] | None]
    breaks: list[tuple[int, int, int] | None]
    demand: list[int] | None
    capacity: list[int] | None
    horizon: int
