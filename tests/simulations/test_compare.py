"""Means with 95 % intervals and paired differences over seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulations.compare import difference, estimate, kpi_estimate
from simulations.kpi import Kpis, kpi_bounds


def kpis(seed: int, value: float) -> Kpis:
    return Kpis("s", seed, {"x": value}, (), np.zeros((7, 24)), np.zeros(0))


def test_interval_is_student_t() -> None:
    e = estimate([1.0, 2.0, 3.0])
    assert e.mean == 2.0
    assert e.half_width == pytest.approx(4.302653 * 1.0 / math.sqrt(3), rel=1e-5)
    assert e.format(1) == "2.0 ± 2.5"


def test_one_seed_has_no_interval_and_nan_is_left_out() -> None:
    assert math.isnan(estimate([4.0]).low)
    assert estimate([4.0, float("nan")]).n == 1
    assert estimate([]).format() == "–"


def test_differences_are_paired_by_seed() -> None:
    base = [kpis(0, 10.0), kpis(1, 20.0), kpis(2, 30.0)]
    other = [kpis(2, 31.0), kpis(0, 11.0), kpis(1, 21.0)]
    d = difference(base, other, "x")
    assert d.mean == pytest.approx(1.0) and d.half_width == pytest.approx(0.0)


def test_an_interval_is_cut_where_the_quantity_ends_and_then_shows_both_ends() -> None:
    """Two seeds at 90 % and 100 %: the t interval passes 100 %, a share cannot; the cut
    interval is shown as its two ends, not as a symmetric ± that would still pass 100 %."""
    loose = estimate([0.9, 1.0])
    assert loose.high > 1.0 and loose.symmetric
    cut = estimate([0.9, 1.0], bounds=(0.0, 1.0))
    assert (cut.mean, cut.high, cut.low) == (loose.mean, 1.0, loose.low)
    assert not cut.symmetric
    assert cut.format(1, 100) == f"95.0 ({loose.low * 100:.1f}–100.0)"


@pytest.mark.parametrize(("key", "bounds"), [
    ("unserved_share", (0.0, 1.0)), ("within_8_min", (0.0, 1.0)), ("utilisation", (0.0, 1.0)),
    ("population_within_60_min", (0.0, 1.0)), ("incidents", (0.0, math.inf)),
    ("response_p90_min", (0.0, math.inf)), ("net_msek_per_year", (-math.inf, math.inf)),
])
def test_each_kpi_is_estimated_within_the_values_it_can_take(
        key: str, bounds: tuple[float, float]) -> None:
    assert kpi_bounds(key) == bounds
    runs = [Kpis("s", seed, {key: v}, (), np.zeros((7, 24)), np.zeros(0))
            for seed, v in enumerate([0.0, 0.0, 0.3])]
    e = kpi_estimate(runs, key)
    assert e.low == max(bounds[0], estimate([0.0, 0.0, 0.3]).low)


def test_pairing_needs_the_same_start_days_zone_map_and_demand() -> None:
    """Differences are paired by seed only if both runs meet the same alarms: a scenario of
    another start, length, time zone, map or demand source is named with why it is not."""
    from simulations.compare import pairing_problems
    from simulations.scenario import Scenario, scenario_from_dict
    from tests.simulations._tiny import tiny_graph, tiny_scenario

    def sc(**kw: object) -> Scenario:
        return scenario_from_dict(tiny_scenario(**kw), graph=tiny_graph())

    base = sc()
    assert pairing_problems(base, sc(name="more cars", demand={"alarms_per_year": 300})) == []
    problems = pairing_problems(base, sc(start="2026-07-06", days=5,
                                         timezone="Europe/Stockholm"))
    assert [p.split(" ")[0] for p in problems] == ["start", "days", "timezone"]
    other_map = pairing_problems(base, sc(map={"path": "other.maegraph"}))
    assert other_map[0].startswith("another map")
