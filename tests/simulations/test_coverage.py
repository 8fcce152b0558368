"""Population coverage by hour of the week, checked by hand on the tiny map."""

from __future__ import annotations

import pytest

from dispatch.coverage import DEFAULT_THRESHOLDS
from simulations.coverage import THRESHOLDS_MIN, population_coverage, staffed_bases
from simulations.scenario import scenario_from_dict
from tests.simulations._tiny import tiny_graph, tiny_scenario


def test_coverage_follows_the_shifts_and_driving_times() -> None:
    data = tiny_scenario()
    data["units"][0]["shifts"] = [{"start": "14:00", "end": "02:00", "days": "weekdays"}]
    sc = scenario_from_dict(data, graph=tiny_graph())
    staffed = staffed_bases(sc)
    assert staffed[0][14] == {"alpha"} and staffed[5][1] == {"alpha"}  # Fri shift into Sat
    assert staffed[0][5] == set() and staffed[5][14] == set()
    cov = population_coverage(sc, tiny_graph())
    total = 1800
    # Alpha 0 min, Beta 30 min, Gamma 50 min, Delta 150 min from the base.
    assert cov.shares[0, 14].tolist() == pytest.approx([1500 / total, 1700 / total,
                                                        1700 / total])
    assert cov.shares[0, 5].tolist() == [0, 0, 0]
    assert sorted(cov.minutes.tolist()) == pytest.approx([0, 30, 50, 150])
    assert cov.mean_share(0) == pytest.approx(1500 / total * 60 / 168)


def test_thresholds_are_the_shared_coverage_thresholds() -> None:
    """The simulation counts with the dispatcher's coverage thresholds, not a copy of its own."""
    assert THRESHOLDS_MIN == DEFAULT_THRESHOLDS.minutes == (30, 60, 90)
    sc = scenario_from_dict(tiny_scenario(), graph=tiny_graph())
    cov = population_coverage(sc, tiny_graph())
    assert cov.shares.shape == (7, 24, len(DEFAULT_THRESHOLDS.minutes))
    # On duty around the clock at Alpha: Alpha 0 and Beta 30 min (exactly at the limit: within),
    # Gamma 50, Delta 150 min.
    assert cov.shares[3, 3].tolist() == pytest.approx([1500 / 1800, 1700 / 1800, 1700 / 1800])
    assert [p.name for p in cov.places] == ["Alpha", "Beta", "Gamma", "Delta"]
