"""The optimiser's inputs from a scenario: candidates, demand by hour, response times, patterns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulations.errors import ScenarioError
from simulations.optimise_model import (
    HOURS,
    candidate_sites,
    daily_patterns,
    demand_by_hour,
    night_periods,
    periods_of,
    response_seconds,
    scenario_pattern,
    shift_table,
)
from simulations.scenario import scenario_from_dict
from tests.simulations._tiny import POPULATION, tiny_graph, tiny_scenario


def test_synthetic_demand_per_week_follows_population_and_profiles() -> None:
    profile = [1.0] * 24
    profile[20] = 5.0
    weekdays = [1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0]
    sc = scenario_from_dict(
        tiny_scenario(
            demand={
                "alarms_per_year": 1461,
                "hour_profile": profile,
                "weekday_profile": weekdays,
            }
        ),
        graph=tiny_graph(),
    )
    places, demand = demand_by_hour(sc, tiny_graph())
    assert [p.name for p in places] == list(POPULATION)
    assert demand.shape == (4, HOURS)
    assert demand.sum() == pytest.approx(1461 * 7 / 365.25)
    by_place = demand.sum(axis=1) / demand.sum()
    total = sum(POPULATION.values())
    assert by_place == pytest.approx([POPULATION[p.name] / total for p in places])
    # hour 20 carries five times the weight of hour 19, every day
    assert demand[:, 20] == pytest.approx(5 * demand[:, 19])
    assert demand[:, 24 + 20] == pytest.approx(demand[:, 20])
    assert demand[:, 5 * 24 + 20] == pytest.approx(2 * demand[:, 20])  # Saturday


def test_replayed_demand_counts_alarms_at_the_nearest_place_by_local_hour(
    tmp_path: Path,
) -> None:
    log = tmp_path / "log.csv"
    log.write_text(
        "reference,received_at,agency,priority,category,lat,lon,place\n"
        "A,2026-01-05T10:15:00+00:00,police,1,suicide_risk,65.01,20.59,\n"  # by Beta, Mon 10
        "B,2026-01-06T23:59:00+00:00,police,1,suicide_risk,,,Delta\n"  # Tue 23
        "C,2026-01-06T23:10:00+00:00,police,1,suicide_risk,,,Delta\n",
        encoding="utf-8",
    )
    data = tiny_scenario(days=14)
    data["demand"] = {"kind": "replay", "csv": str(log)}
    sc = scenario_from_dict(data, graph=tiny_graph())
    places, demand = demand_by_hour(sc, tiny_graph())
    names = [p.name for p in places]
    assert demand[names.index("Beta"), 10] == pytest.approx(0.5)  # one alarm in two weeks
    assert demand[names.index("Delta"), 24 + 23] == pytest.approx(1.0)
    assert demand.sum() == pytest.approx(1.5)


def test_response_seconds_add_acknowledge_and_turnout_to_the_drive() -> None:
    g = tiny_graph()
    sc = scenario_from_dict(tiny_scenario(), graph=g)
    sites = candidate_sites(sc, g, "all-localities")
    places, _ = demand_by_hour(sc, g)
    times = response_seconds(sc, g, sites, places)
    extra = 30 + 5 * 60
    alpha = [s.id for s in sites].index("alpha")
    assert times[alpha] == pytest.approx([extra, extra + 1800, extra + 3000, extra + 9000])


def test_candidates_are_the_scenario_bases_then_the_kind_asked_for(tmp_path: Path) -> None:
    g = tiny_graph()
    sc = scenario_from_dict(tiny_scenario(), graph=g)
    places = candidate_sites(sc, g, "places")
    assert [c.id for c in places] == ["alpha"]  # the only facility is the base itself
    everywhere = candidate_sites(sc, g, "all-localities")
    assert [c.id for c in everywhere] == ["alpha", "beta", "gamma", "delta"]
    assert everywhere[0].existing and not everywhere[1].existing
    listed = tmp_path / "sites.toml"
    listed.write_text(
        '[[candidates]]\nid = "mid"\nlat = 65.0\nlon = 20.3\n\n'
        '[[candidates]]\nid = "g"\nplace = "Gamma"\n',
        encoding="utf-8",
    )
    from_file = candidate_sites(sc, g, listed)
    assert [(c.id, c.by_name) for c in from_file] == [("alpha", False), ("mid", False), ("g", True)]
    listed.write_text('[[candidates]]\nid = "x"\nplace = "Nowhere"\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"candidates\[0\]\.place"):
        candidate_sites(sc, g, listed)
    listed.write_text('[[candidates]]\nid = "alpha"\nplace = "Beta"\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"candidates\[0\]\.id"):
        candidate_sites(sc, g, listed)


def test_daily_patterns_cover_their_hours_of_the_week() -> None:
    patterns = {p.id: p for p in daily_patterns([14, 22], [8, 12], ["all", "weekends"])}
    assert len(patterns) == 8
    evening = patterns["d14-12h-all"]
    assert evening.hours_per_week == 84
    assert evening.periods == frozenset(
        (d * 24 + h) % HOURS for d in range(7) for h in range(14, 26)
    )
    night = patterns["d22-8h-weekends"]
    assert night.hours_per_week == 16
    assert night.periods == frozenset(
        {*range(5 * 24 + 22, 6 * 24 + 6), *range(6 * 24 + 22, 7 * 24), *range(0, 6)}
    )
    assert shift_table(evening.shifts[0]) == {"start": "14:00", "end": "02:00", "days": "all"}
    with pytest.raises(ScenarioError, match="start 24"):
        daily_patterns([24], [8])


def test_the_scenario_pattern_is_its_first_units_hours() -> None:
    sc = scenario_from_dict(
        tiny_scenario(
            units=[
                {
                    "id": "U1",
                    "base": "alpha",
                    "shifts": [{"start": "14:00", "end": "02:00", "days": "all"}],
                }
            ]
        ),
        graph=tiny_graph(),
    )
    pattern = scenario_pattern(sc)
    assert pattern.hours_per_week == 84
    assert pattern.periods == periods_of(sc.units[0].shifts)
    assert 14 in pattern.periods and 1 in pattern.periods and 2 not in pattern.periods


def test_night_periods_run_past_midnight() -> None:
    night = night_periods(22, 6)
    assert len(night) == 56
    assert {22, 23, 0, 5} <= set(night) and 6 not in night
    assert len(night_periods(0, 0)) == HOURS
    assert np.array_equal(
        sorted(night_periods(1, 3)), sorted(d * 24 + h for d in range(7) for h in (1, 2))
    )


def test_a_candidate_far_from_every_road_is_named_when_read(tmp_path: Path) -> None:
    g = tiny_graph()
    sc = scenario_from_dict(tiny_scenario(), graph=g)
    listed = tmp_path / "sites.toml"
    listed.write_text('[[candidates]]\nid = "far"\nlat = 65.6\nlon = 21.0\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"sites\.toml: candidates\[0\]\.lat: .* from the "
                                            r"nearest road") as info:
        candidate_sites(sc, g, listed)
    assert "max_snap_m" not in str(info.value)
    listed.write_text('[[candidates]]\nid = "far"\nlat = 40.0\nlon = 22.0\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"candidates\[0\]\.lat: .* outside the map"):
        candidate_sites(sc, g, listed)
