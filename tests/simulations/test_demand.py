"""Synthetic demand follows population and the time profiles, and is fixed by the seed."""

from __future__ import annotations

from collections import Counter

from simulations.demand import build_demand, run_start
from simulations.scenario import scenario_from_dict
from tests.simulations._tiny import tiny_graph, tiny_scenario


def test_volume_places_and_hours_follow_the_scenario() -> None:
    hours = [0.0] * 24
    hours[10] = hours[11] = 1.0
    data = tiny_scenario(days=60, demand={"alarms_per_year": 3650, "hour_profile": hours,
                                          "jitter_m": 0})
    sc = scenario_from_dict(data, graph=tiny_graph())
    alarms = build_demand(sc, tiny_graph(), seed=1)
    assert 480 < len(alarms) < 720  # 600 expected (10 a day)
    assert {a.received_at.hour for a in alarms} == {10, 11}
    t0 = run_start(sc)
    assert all(0 <= (a.received_at - t0).total_seconds() < 60 * 86400 for a in alarms)
    by_place = Counter(a.place for a in alarms)
    assert by_place["Alpha"] > by_place["Beta"] > by_place["Gamma"] > by_place["Delta"]
    assert all(a.outcome is not None and a.on_scene_s == 3600 for a in alarms)
    assert alarms == sorted(alarms, key=lambda a: a.received_at)


def test_seed_fixes_the_demand_and_other_seeds_differ() -> None:
    sc = scenario_from_dict(tiny_scenario(days=30, demand={"alarms_per_year": 1000}),
                            graph=tiny_graph())
    a = build_demand(sc, tiny_graph(), seed=3)
    assert a == build_demand(sc, tiny_graph(), seed=3)
    assert a != build_demand(sc, tiny_graph(), seed=4)


def test_same_seed_gives_other_scenarios_the_same_alarms() -> None:
    g = tiny_graph()
    one = scenario_from_dict(tiny_scenario(days=30), graph=g)
    other = scenario_from_dict(tiny_scenario(days=30, policy={"max_response_min": 20}), graph=g)
    assert build_demand(one, g, seed=5) == build_demand(other, g, seed=5)
