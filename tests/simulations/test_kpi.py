"""KPIs: utilisation by local hour, clipping to shifts, and the economic estimate."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from simulations.engine import simulate
from simulations.kpi import clip, hour_of_week, summarize
from simulations.scenario import scenario_from_dict
from tests.simulations._tiny import tiny_graph, tiny_scenario


def test_hour_of_week_splits_intervals_by_local_hour() -> None:
    start = datetime(2026, 1, 5, tzinfo=UTC)  # Monday 01:00 in Stockholm
    grid = hour_of_week([("U", 1800.0, 5400.0)], start, ZoneInfo("Europe/Stockholm"))
    assert grid[0, 1] == 1800 and grid[0, 2] == 1800 and grid.sum() == 3600


def test_clip_keeps_busy_time_inside_shifts_of_the_same_unit() -> None:
    assert clip([("A", 0.0, 10.0), ("B", 0.0, 10.0)], [("A", 5.0, 20.0)]) == [("A", 5.0, 10.0)]


def test_summary_counts_and_economics() -> None:
    g = tiny_graph()
    data = tiny_scenario(days=20, demand={"alarms_per_year": 2000},
                         economics={"bed_year_cost_sek": 365_000, "avoided_admission_share": 1.0,
                                    "avoided_bed_days": 2, "team_cost_per_hour_sek": 100},
                         outcomes={"stayed_home": 1.0})
    sc = scenario_from_dict(data, graph=g)
    res = simulate(sc, graph=g, seed=2)
    k = summarize(res, sc)
    attended = sum(1 for r in res.records if r.handled_by == "mae")
    assert attended > 50 and k.scalars["stayed_home_share"] == 1.0
    years = 20 / 365
    # every attended patient stays home and saves 2 bed-days at 1,000 SEK a day
    assert k.scalars["care_avoided_msek_per_year"] == pytest.approx(attended * 2 * 1000 / years
                                                                   / 1e6)
    assert k.scalars["team_cost_msek_per_year"] == pytest.approx(20 * 24 * 100 / years / 1e6)
    assert k.scalars["staffed_hours"] == pytest.approx(480)
    assert 0 < k.scalars["utilisation"] < 1
    assert k.scalars["within_90_min"] >= k.scalars["within_60_min"] >= k.scalars["within_30_min"]
    assert k.scalars["response_p50_min"] <= k.scalars["response_p90_min"]
    names = {m.municipality for m in k.by_municipality}
    assert names <= {"Alphaby", "Gammaby", "Deltaby"} and "Alphaby" in names
