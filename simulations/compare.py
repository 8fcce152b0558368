"""Scenario comparison over seeds: means with 95 % intervals, and paired differences.

Runs of two scenarios with the same seed meet the same alarms (common random numbers), so a
difference is taken seed by seed and its interval is that of the paired differences: much
narrower than comparing two independent means.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from simulations.kpi import Kpis, kpi_bounds

__all__ = ["Estimate", "difference", "estimate", "kpi_estimate"]


@dataclass(frozen=True, slots=True)
class Estimate:
    """A mean over seeds and its 95 % confidence interval (Student t; nan for one seed)."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    @property
    def symmetric(self) -> bool:
        """Whether the interval is the mean ± one half-width (not cut at a bound)."""
        below, above = self.mean - self.low, self.high - self.mean
        return math.isclose(below, above, rel_tol=1e-9, abs_tol=1e-12)

    def format(self, digits: int = 2, scale: float = 1.0) -> str:
        if math.isnan(self.mean):
            return "–"
        m = self.mean * scale
        if self.n < 2 or math.isnan(self.low):
            return f"{m:.{digits}f}"
        if not self.symmetric:  # cut at a bound (a share at 100 %): both ends shown
            return f"{m:.{digits}f} ({self.low * scale:.{digits}f}–{self.high * scale:.{digits}f})"
        return f"{m:.{digits}f} ± {self.half_width * scale:.{digits}f}"


def estimate(values: Sequence[float], *,
             bounds: tuple[float, float] = (-math.inf, math.inf)) -> Estimate:
    """Mean of ``values`` with its 95 % interval, cut to ``bounds`` (the values the quantity
    can take: a share's interval does not pass 100 %); nan values (a seed without data) are
    left out."""
    v = np.array([x for x in values if not math.isnan(x)], dtype=np.float64)
    if not len(v):
        return Estimate(math.nan, math.nan, math.nan, 0)
    mean = float(v.mean())
    if len(v) < 2:
        return Estimate(mean, math.nan, math.nan, 1)
    half = float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    lo, hi = bounds
    return Estimate(mean, max(lo, mean - half), min(hi, mean + half), len(v))


def kpi_estimate(kpis: Sequence[Kpis], key: str) -> Estimate:
    """:func:`estimate` of KPI ``key`` over runs ``kpis``, within the values it can take."""
    return estimate([k.scalars[key] for k in kpis], bounds=kpi_bounds(key))


def difference(base: Sequence[Kpis], other: Sequence[Kpis], key: str) -> Estimate:
    """``other - base`` for KPI ``key``, paired seed by seed."""
    by_seed = {k.seed: k.scalars[key] for k in base}
    diffs = [k.scalars[key] - by_seed[k.seed] for k in other if k.seed in by_seed]
    return estimate(diffs)

