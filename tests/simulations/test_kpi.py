"""KPIs: utilisation by local hour, clipping to shifts, and the economic estimate."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from simulations.engine import RunResult, simulate
from simulations.kpi import clip, hour_of_week, summarize
from simulations.scenario import scenario_from_dict
from simulations.spec import Scenario
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


def _four_calls(tmp_path: Path, **overrides: Any) -> tuple[Scenario, RunResult]:
    """One car at A; responses 10, 30, 12 and (queued 27 min behind the third) 39 minutes."""
    from tests.simulations._tiny import matrix_scenario

    p = tmp_path / "log.csv"
    p.write_text("received_at,node,transport,on_scene_min\n"
                 "2026-01-05T10:00:00Z,B,no,20\n2026-01-05T12:00:00Z,D,no,20\n"
                 "2026-01-05T14:00:00Z,C,no,20\n2026-01-05T14:05:00Z,A,no,20\n",
                 encoding="utf-8")
    sc = scenario_from_dict(matrix_scenario(p, **overrides))
    return sc, simulate(sc)


def test_response_statistics_use_linear_percentiles_and_the_thresholds(tmp_path: Path) -> None:
    sc, res = _four_calls(tmp_path)
    s = summarize(res, sc).scalars
    assert [r.response_s / 60 for r in res.records if r.response_s] == [10, 30, 12, 39]
    assert s["response_mean_min"] == pytest.approx(22.75)
    assert s["response_p50_min"] == pytest.approx(21.0)
    # sorted 10, 12, 30, 39: rank 0.9 * 3 = 2.7 -> 30 + 0.7 * 9; rank 2.85 -> 30 + 0.85 * 9
    assert s["response_p90_min"] == pytest.approx(36.3)
    assert s["response_p95_min"] == pytest.approx(37.65)
    assert [s[f"within_{m}_min"] for m in (8, 12, 15, 30, 60, 90)] == [
        0.0, 0.5, 0.5, 0.75, 1.0, 1.0]
    assert s["queued_share"] == 0.25 and s["queue_wait_mean_min"] == pytest.approx(27.0)


def test_thresholds_and_the_utilisation_window_are_the_scenarios(tmp_path: Path) -> None:
    sc, res = _four_calls(tmp_path, kpi={"thresholds_min": [20, 5],
                                         "utilisation_from_min": 600,
                                         "utilisation_to_min": 720})
    s = summarize(res, sc).scalars
    assert sc.kpi.thresholds_min == (5.0, 20.0)
    assert (s["within_5_min"], s["within_20_min"]) == (0.0, 0.5)
    assert "within_8_min" not in s
    # busy 10:00-10:30 of the window 10:00-12:00
    assert s["utilisation"] == pytest.approx(30 / 120)
    whole = summarize(res, _four_calls(tmp_path)[0]).scalars
    # busy 30 + 50 + 32 + 32 minutes of the day's 1,440
    assert whole["utilisation"] == pytest.approx(144 / 1440)


def test_a_utilisation_window_past_the_run_ends_with_the_run(tmp_path: Path) -> None:
    """A shift 08:00-02:00 spills two hours past a one-day run: a window "to" far past the
    end counts what the default window (to the end) counts, not the spilled hours."""
    units = [{"id": "AMB", "base": "a", "shifts": [{"start": "08:00", "end": "02:00"}]}]
    sc, res = _four_calls(tmp_path, units=units)
    far, _ = _four_calls(tmp_path, units=units, kpi={"utilisation_to_min": 10_000_000})
    assert summarize(res, far).scalars["utilisation"] == pytest.approx(
        summarize(res, sc).scalars["utilisation"])


def test_call_rows_give_one_line_per_call_in_minutes(tmp_path: Path) -> None:
    from simulations.kpi import CALL_COLUMNS, call_rows

    _, res = _four_calls(tmp_path)
    rows = call_rows(res)
    assert len(rows) == 4 and all(list(r) == list(CALL_COLUMNS) for r in rows)
    last = rows[-1]
    assert (last["reference"], last["queued"], last["wait_min"], last["response_min"]) == (
        "row5", 1, "27.0000", "39.0000")
    assert last["alarm_at"] == "2026-01-05T14:05:00+00:00"


def test_a_bad_kpi_key_is_named(tmp_path: Path) -> None:
    from simulations.errors import ScenarioError

    with pytest.raises(ScenarioError) as info:
        _four_calls(tmp_path, kpi={"thresholds_min": [0]})
    assert info.value.key == "kpi.thresholds_min"


def test_staffed_hours_and_team_cost_count_only_the_hours_inside_the_run() -> None:
    """Two days of 22-06 shifts: the first night's 8 h and the second's 2 h before the run
    ends, 10 h, not the 16 h of both whole shifts; the team cost follows."""
    g = tiny_graph()
    data = tiny_scenario(days=2, demand={"alarms_per_year": 0},
                         economics={"team_cost_per_hour_sek": 1000},
                         units=[{"id": "U1", "base": "alpha",
                                 "shifts": [{"start": "22:00", "end": "06:00"}]}])
    sc = scenario_from_dict(data, graph=g)
    s = summarize(simulate(sc, graph=g), sc).scalars
    assert s["staffed_hours"] == pytest.approx(10.0)
    assert s["team_cost_msek_per_year"] == pytest.approx(10 * 1000 / (2 / 365) / 1e6)
    assert s["overtime_hours"] == 0.0
