"""Means with 95 % intervals and paired differences over seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulations.compare import difference, estimate
from simulations.kpi import Kpis


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
