"""Synthetic demand follows population and the time profiles, and is fixed by the seed."""

from __future__ import annotations

import dataclasses
from collections import Counter

from dispatch.model import AgeBand
from simulations.demand import build_demand, run_start
from simulations.scenario import scenario_from_dict
from simulations.spec import DEFAULT_AGE_MIX, SyntheticDemand
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


def test_patient_ages_follow_the_age_mix_in_the_current_bands_only() -> None:
    """The default mix draws 18-25 and 26-44 (never a legacy band), in its shares; the ages
    come from a stream of their own, so without them every other draw is the same."""
    g = tiny_graph()
    sc = scenario_from_dict(tiny_scenario(days=365, demand={"alarms_per_year": 3000}), graph=g)
    assert isinstance(sc.demand, SyntheticDemand) and sc.demand.age_mix == DEFAULT_AGE_MIX
    alarms = build_demand(sc, g, seed=2)
    ages = Counter(a.age_band for a in alarms)
    assert set(ages) <= set(AgeBand.current()) and not any(b.legacy for b in ages)
    for band, share in DEFAULT_AGE_MIX:
        assert abs(ages[band] / len(alarms) - share) < 0.03, band
    ageless = dataclasses.replace(sc, demand=dataclasses.replace(sc.demand, age_mix=()))
    plain = build_demand(ageless, g, seed=2)
    assert {a.age_band for a in plain} == {AgeBand.UNKNOWN}
    assert plain == [dataclasses.replace(a, age_band=AgeBand.UNKNOWN) for a in alarms]
