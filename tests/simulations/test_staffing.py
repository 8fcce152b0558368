"""Units as a scenario writes them (issue 16): count = N identical cars, shifts = "24/7"."""

from __future__ import annotations

import pytest

from simulations.engine import shift_intervals
from simulations.errors import ScenarioError
from simulations.scenario import scenario_from_dict
from tests.simulations._tiny import tiny_graph, tiny_scenario


def test_count_makes_numbered_identical_units() -> None:
    sc = scenario_from_dict(tiny_scenario(units=[
        {"id": "AMB", "base": "alpha", "count": 3, "shifts": "24/7", "crew": ["emt"]},
        {"id": "MAE", "base": "alpha", "shifts": "24/7"}]), graph=tiny_graph())
    assert [u.id for u in sc.units] == ["AMB-1", "AMB-2", "AMB-3", "MAE"]
    assert {u.shifts for u in sc.units[:3]} == {sc.units[0].shifts}
    assert sc.units[2].crew == ("emt",)


def test_round_the_clock_is_one_working_period_for_the_whole_run() -> None:
    sc = scenario_from_dict(tiny_scenario(units=[{"id": "U", "base": "alpha", "shifts": "24/7"}]),
                            graph=tiny_graph())
    assert shift_intervals(sc, sc.units[0]) == [(0.0, sc.days * 86_400.0)]


@pytest.mark.parametrize(("unit", "key"), [
    ({"count": 0, "shifts": "24/7"}, "units[0].count"),
    ({"count": 1.5, "shifts": "24/7"}, "units[0].count"),
    ({"shifts": "always"}, "units[0].shifts"),
    ({"shifts": "24/7", "colour": "red"}, "units[0].colour"),
])
def test_bad_units_name_their_dotted_key(unit: dict[str, object], key: str) -> None:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(tiny_scenario(units=[{"id": "U", "base": "alpha", **unit}]),
                           graph=tiny_graph())
    assert info.value.key == key


def test_counted_ids_may_not_clash() -> None:
    with pytest.raises(ScenarioError, match="AMB-1") as info:
        scenario_from_dict(tiny_scenario(units=[
            {"id": "AMB", "base": "alpha", "count": 2, "shifts": "24/7"},
            {"id": "AMB-1", "base": "alpha", "shifts": "24/7"}]), graph=tiny_graph())
    assert info.value.key == "units[1].id"
