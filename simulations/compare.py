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
from simulations.spec import ReplayDemand, Scenario

__all__ = ["Estimate", "difference", "estimate", "kpi_estimate", "pairing_problems"]


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


def pairing_problems(base: Scenario, other: Scenario) -> list[str]:
    """Why runs of ``other`` do not meet the same alarms as runs of ``base`` with the same
    seed (empty: they do, and their differences can be paired seed by seed).

    Pairing needs the same first day, number of days and time zone (the alarms' times), the
    same map or matrix (their places) and the same kind of demand: both synthetic, or both
    replaying the same logs. Other differences (bases, hours, volumes, policy) are what a
    comparison is for.
    """
    problems = []
    if base.start != other.start:
        problems.append(f"start {other.start} (baseline {base.start})")
    if base.days != other.days:
        problems.append(f"days {other.days} (baseline {base.days})")
    if base.timezone != other.timezone:
        problems.append(f"timezone {other.timezone} (baseline {base.timezone})")
    if (base.map_path, base.matrix) != (other.map_path, other.matrix):
        problems.append(f"another map ({_map_name(other)}; baseline {_map_name(base)})")
    b, o = base.demand, other.demand
    if isinstance(b, ReplayDemand) != isinstance(o, ReplayDemand):
        kind = "replayed" if isinstance(o, ReplayDemand) else "synthetic"
        problems.append(f"{kind} demand (the baseline's is not)")
    elif isinstance(b, ReplayDemand) and isinstance(o, ReplayDemand) and b.paths != o.paths:
        problems.append("other alarm logs (" + ", ".join(o.paths) + ")")
    return problems


def _map_name(scenario: Scenario) -> str:
    if scenario.matrix is not None:
        return f"matrix {scenario.matrix.matrix}"
    return scenario.map_path or "the bundled county map"


def difference(base: Sequence[Kpis], other: Sequence[Kpis], key: str) -> Estimate:
    """``other - base`` for KPI ``key``, paired seed by seed."""
    by_seed = {k.seed: k.scalars[key] for k in base}
    diffs = [k.scalars[key] - by_seed[k.seed] for k in other if k.seed in by_seed]
    return estimate(diffs)

