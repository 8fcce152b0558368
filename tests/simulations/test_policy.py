"""Dispatch policies on the tiny map: coverage-aware keeps the busy side of the map covered."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dispatch.model import Agency, Category, OutcomeKind, Priority
from dispatch.recommend import UnitOption
from dispatch.status import UnitStatus
from simulations.demand import DemandAlarm
from simulations.engine import simulate
from simulations.policy import pick
from simulations.scenario import Policy, scenario_from_dict
from tests.simulations._tiny import NODES, T0, tiny_graph, tiny_scenario

ALL_DAY = [{"start": "00:00", "end": "00:00", "days": "all"}]


def _gamma_alarm() -> DemandAlarm:
    lat, lon = NODES["Gamma"]
    return DemandAlarm(reference="G1", received_at=T0 + timedelta(hours=10),
                       agency=Agency.POLICE, priority=Priority.URGENT,
                       category=Category.PSYCHOSIS, lat=lat, lon=lon, municipality="Gammaby",
                       place="Gamma", outcome=OutcomeKind.STAYED_HOME, on_scene_s=3600,
                       at_facility_s=1200)


def _two_units(kind: str) -> dict[str, object]:
    # U1 at Alpha (Gamma 3000 s away), U2 at Beta (Gamma 1200 s away). If U2 goes, the
    # remaining unit at Alpha leaves Gamma (200) and Delta (100) beyond 40 min; if U1 goes,
    # U2 at Beta leaves only Delta (100) beyond: coverage-aware sends U1, within 30 min slack.
    return tiny_scenario(
        policy={"kind": kind, "coverage_limit_min": 40, "coverage_slack_min": 30},
        bases=[{"id": "alpha", "place": "Alpha sjukhus"}, {"id": "beta", "place": "Beta"}],
        units=[{"id": "U1", "base": "alpha", "shifts": ALL_DAY},
               {"id": "U2", "base": "beta", "shifts": ALL_DAY}],
    )


@pytest.mark.parametrize(("kind", "unit", "travel_s"),
                         [("closest_idle", "U2", 1200.0), ("coverage_aware", "U1", 3000.0)])
def test_policy_picks_the_unit_its_rule_prefers(kind: str, unit: str, travel_s: float) -> None:
    graph = tiny_graph()
    sc = scenario_from_dict(_two_units(kind), graph=graph)
    res = simulate(sc, graph=graph, demand=[_gamma_alarm()])
    (rec,) = res.records
    assert rec.handled_by == "mae"
    assert rec.unit_id == unit
    assert rec.travel_s == pytest.approx(travel_s)


def test_coverage_aware_takes_the_fastest_when_slack_excludes_the_other() -> None:
    graph = tiny_graph()
    data = _two_units("coverage_aware")
    data["policy"] = {**data["policy"], "coverage_slack_min": 10}  # type: ignore[dict-item]
    sc = scenario_from_dict(data, graph=graph)
    (rec,) = simulate(sc, graph=graph, demand=[_gamma_alarm()]).records
    assert rec.unit_id == "U2"


def _option(unit_id: str, eta_min: float, uncovered: int, *,
            assignable: bool = True) -> UnitOption:
    return UnitOption(unit_id, unit_id, UnitStatus.AVAILABLE, eta_min * 60.0, 0.0, assignable,
                      uncovered)


OPTIONS = [_option("U9", 5, 900, assignable=False), _option("U3", 10, 500),
           _option("U1", 10, 700), _option("U2", 18, 100), _option("U4", 40, 0)]


@pytest.mark.parametrize(("kind", "budget_min", "unit"), [
    ("closest_idle", 60, "U1"),  # the fastest assignable; a tie goes to the lower id
    ("coverage_aware", 60, "U2"),  # within 10 min slack of the fastest, the least uncovered
    ("closest_idle", 9, None),  # nobody assignable in time
])
def test_pick_chooses_from_the_live_recommendation(kind: str, budget_min: float,
                                                   unit: str | None) -> None:
    choice = pick(Policy(kind=kind), OPTIONS, budget_s=budget_min * 60.0)  # type: ignore[arg-type]
    assert (choice.unit_id if choice else None) == unit
    if choice is not None:
        assert choice.travel_s == next(o.eta_s for o in OPTIONS if o.unit_id == unit)


def test_pick_keeps_to_the_allowed_units() -> None:
    choice = pick(Policy(), OPTIONS, budget_s=3600.0, allowed={"U2", "U4"})
    assert choice is not None and choice.unit_id == "U2"
