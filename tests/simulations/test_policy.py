"""Dispatch policies on the tiny map: coverage-aware keeps the busy side of the map covered."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dispatch.model import Agency, Category, OutcomeKind, Priority
from simulations.demand import DemandAlarm
from simulations.engine import simulate
from simulations.scenario import scenario_from_dict
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
