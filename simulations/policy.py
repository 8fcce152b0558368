"""Dispatch policies of the simulated dispatcher: which free unit takes a callout.

``closest_idle`` sends the free unit that reaches the scene first. ``coverage_aware`` asks the
live recommendation (:func:`dispatch.recommend.recommend`) and, among the units that reach the
scene within ``coverage_slack_min`` of the fastest, sends the one that leaves the fewest people
beyond ``coverage_limit_min`` of every other free unit. Both refuse units that cannot be on
scene within what is left of ``max_response_min``. The simulator calls :func:`choose_unit`; the
live demo's dispatcher bot calls :func:`pick` on the service's own recommendation.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from dispatch.fastinit import fast_init
from dispatch.recommend import RecommendConfig, UnitOption, recommend
from dispatch.state import DispatchState, Unit
from maps.graph import Place
from simulations.spec import Policy
from simulations.travel import TravelSource

__all__ = ["Choice", "choose_unit", "pick"]


@fast_init
@dataclass(frozen=True, slots=True)
class Choice:
    """The unit to send and its driving time to the scene (seconds)."""

    unit_id: str
    travel_s: float


def choose_unit(
    policy: Policy,
    state: DispatchState,
    callout_id: str,
    candidates: Sequence[Unit],
    roads: TravelSource,
    *,
    now: datetime,
    budget_s: float,
    places: Sequence[Place],
    on_scene_s: float,
) -> Choice | None:
    """The unit ``policy`` sends to ``callout_id``, or None if none can drive there within
    ``budget_s`` seconds."""
    if not candidates:
        return None
    callout = state.callout(callout_id)
    scene = (callout.location.lat, callout.location.lon)
    if policy.kind == "closest_idle":
        etas = roads.etas(scene, [(u.position.lat, u.position.lon) for u in candidates], now)
        return _fastest(zip(etas, (u.unit_id for u in candidates), strict=True), budget_s)
    options = recommend(
        state, callout_id, roads.at(now), now=now, places=places,
        config=RecommendConfig(coverage_limit_s=policy.coverage_limit_min * 60.0,
                               on_scene_s=int(on_scene_s)),
    )
    return pick(policy, options, budget_s=budget_s, allowed={u.unit_id for u in candidates})


def pick(policy: Policy, options: Sequence[UnitOption], *, budget_s: float,
         allowed: Container[str] | None = None) -> Choice | None:
    """The unit ``policy`` sends among recommendation ``options`` (assignable, in ``allowed``
    when given, with an ETA within ``budget_s``), or None."""
    fit = [o for o in options if o.assignable and o.eta_s <= budget_s
           and (allowed is None or o.unit_id in allowed)]
    if policy.kind == "closest_idle":
        return _fastest(((o.eta_s, o.unit_id) for o in fit), budget_s)
    if not fit:
        return None
    fastest = min(o.eta_s for o in fit)
    near = [o for o in fit if o.eta_s <= fastest + policy.coverage_slack_min * 60.0]
    best = min(near, key=lambda o: (o.uncovered_population, o.eta_s, o.unit_id))
    return Choice(best.unit_id, best.eta_s)


def _fastest(etas: Iterable[tuple[float, str]], budget_s: float) -> Choice | None:
    """The unit that reaches the scene first within ``budget_s`` (ties: the lower unit id)."""
    best = min(((t, uid) for t, uid in etas if t <= budget_s), default=None)
    return None if best is None else Choice(best[1], best[0])
