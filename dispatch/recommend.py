"""Which unit should go: ranked options for one callout, and a joint proposal for many.

For one callout every unit that is free (available or returning to base) or soon free (at a
facility, handing over) is ranked by road ETA from :mod:`routing`. Each option also shows the
coverage it leaves behind (:mod:`dispatch.coverage`): the population of the map's places that
would be farther than ``coverage_limit_s`` from every other free unit if this one went. When
several callouts wait, :func:`propose` asks the OR-Tools assignment in :mod:`routing` for the
pairing that minimises priority-weighted ETAs. Pure computation: the caller passes the state,
the travel-time engine and the time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from dispatch.coverage import Thresholds, coverage, free_units, populated
from dispatch.state import Callout, DispatchState, Unit
from dispatch.status import ON_THE_WAY, CalloutStatus, UnitStatus
from maps.graph import Place
from routing.engine import TravelTimes
from routing.problems import AssignmentProblem, AssignUnit
from routing.problems import Callout as RoutingCallout

__all__ = [
    "Proposal",
    "RecommendConfig",
    "UnitOption",
    "on_the_way",
    "propose",
    "recommend",
]


@dataclass(frozen=True, slots=True)
class RecommendConfig:
    """Tuning of the recommendation."""

    coverage_limit_s: float = 3600.0
    soon_free_after_s: float = 900.0
    on_scene_s: int = 3600


@dataclass(frozen=True, slots=True)
class UnitOption:
    """One unit's case for a callout."""

    unit_id: str
    name: str
    status: UnitStatus
    eta_s: float
    distance_m: float
    assignable: bool
    uncovered_population: int
    note: str = ""


@dataclass(frozen=True, slots=True)
class Proposal:
    """A joint assignment proposal for the waiting callouts."""

    pairs: tuple[tuple[str, str, float], ...]  # (callout_id, unit_id, eta_s)
    waiting: tuple[str, ...]


def _candidates(state: DispatchState) -> list[Unit]:
    return [u for u in state.units.values()
            if u.callout_id is None and not u.retired
            and (u.status.is_free or u.status is UnitStatus.AT_FACILITY)]


def _shift_left_s(unit: Unit, now: datetime) -> float:
    return (unit.shift_ends_at - now).total_seconds() if unit.shift_ends_at else math.inf


def _coverage_gaps(
    units: Sequence[Unit], free: Sequence[Unit], places: Sequence[Place], travel: TravelTimes,
    limit_s: float,
) -> list[int]:
    """For each of ``units``, the population left beyond ``limit_s`` of every *other* free
    unit (all of ``free`` for a unit not among them)."""
    people = populated(places)
    if not people:
        return [0] * len(units)
    reach = coverage(travel, [(u.position.lat, u.position.lon) for u in free], people,
                     thresholds=Thresholds.of_seconds(limit_s))
    without = reach.beyond_without_each()
    row = {u.unit_id: i for i, u in enumerate(free)}
    return [int(without[row[u.unit_id]]) if u.unit_id in row else reach.beyond for u in units]


def recommend(
    state: DispatchState,
    callout_id: str,
    travel: TravelTimes,
    *,
    now: datetime,
    places: Sequence[Place] = (),
    config: RecommendConfig = RecommendConfig(),
) -> list[UnitOption]:
    """Units ranked for ``callout_id``: assignable first, then by ETA."""
    callout: Callout = state.callout(callout_id)
    units = _candidates(state)
    if not units:
        return []
    target = (callout.location.lat, callout.location.lon)
    etas = travel.etas_to(target, [(u.position.lat, u.position.lon) for u in units])
    gaps = _coverage_gaps(units, free_units(state), places, travel, config.coverage_limit_s)
    options = []
    for unit, eta, gap in zip(units, etas, gaps, strict=True):
        eta_s = eta.duration_s
        note = ""
        assignable = unit.status.is_free and callout.status is CalloutStatus.WAITING
        if unit.status is UnitStatus.AT_FACILITY:
            eta_s += config.soon_free_after_s
            note = "soon free (at a facility)"
        if eta_s + config.on_scene_s > _shift_left_s(unit, now):
            assignable = False
            note = "shift ends before the job would"
        if not eta.reachable:
            assignable = False
            note = "no road connects"
        options.append(UnitOption(unit_id=unit.unit_id, name=unit.name, status=unit.status,
                                  eta_s=eta_s, distance_m=eta.distance_m,
                                  assignable=assignable, uncovered_population=gap, note=note))
    options.sort(key=lambda o: (not o.assignable, o.eta_s, o.unit_id))
    return options


def on_the_way(state: DispatchState, callout_id: str, travel: TravelTimes) -> UnitOption | None:
    """The unit that has ``callout_id`` while it is still on its way, with its road ETA from
    where it last reported (what a dispatcher weighs before taking the callout from it);
    None when no unit has it or it has arrived."""
    callout = state.callout(callout_id)
    unit = state.units.get(callout.unit_id) if callout.unit_id else None
    if unit is None or callout.status not in ON_THE_WAY:
        return None
    eta = travel.etas_to((callout.location.lat, callout.location.lon),
                         [(unit.position.lat, unit.position.lon)])[0]
    return UnitOption(unit_id=unit.unit_id, name=unit.name, status=unit.status,
                      eta_s=eta.duration_s if eta.reachable else math.inf,
                      distance_m=eta.distance_m if eta.reachable else math.inf,
                      assignable=False, uncovered_population=0, note="has this callout")


def propose(
    state: DispatchState,
    travel: TravelTimes,
    *,
    now: datetime,
    config: RecommendConfig = RecommendConfig(),
) -> Proposal:
    """Who should take which waiting callout, minimising priority-weighted ETAs (OR-Tools)."""
    callouts = state.waiting_callouts()
    units = state.free_units()
    if not callouts or not units:
        return Proposal(pairs=(), waiting=tuple(c.callout_id for c in callouts))
    times = travel.matrix([(u.position.lat, u.position.lon) for u in units],
                          [(c.location.lat, c.location.lon) for c in callouts]).durations_s
    big = 10 * 86_400
    travel_s = tuple(tuple(int(min(t, big)) for t in row) for row in times)
    problem = AssignmentProblem(
        now_s=0,
        units=tuple(AssignUnit(id=u.unit_id, available_at_s=0,
                               shift_end_s=int(min(_shift_left_s(u, now), 30 * 86_400)),
                               competences=frozenset((*u.competences, *u.registered_competences)))
                    for u in units),
        callouts=tuple(RoutingCallout(id=c.callout_id, priority=int(c.priority),
                                      on_scene_s=config.on_scene_s) for c in callouts),
        travel_s=travel_s,
    )
    from routing.assign import assign  # OR-Tools and numba load on the first proposal

    result = assign(problem)
    pairs = tuple(
        (a.callout_id, a.unit_id, float(a.response_s))
        for a in result.assignments
        if a.response_s < big
    )
    taken = {p[0] for p in pairs}
    return Proposal(pairs=pairs, waiting=tuple(c.callout_id for c in callouts
                                               if c.callout_id not in taken))
