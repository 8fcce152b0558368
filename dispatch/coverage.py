"""Coverage: how far each place lies from the nearest of some origins, and how many people live
within each time threshold of one.

One function, :func:`coverage`, answers it for every caller — the coverage a recommendation
leaves behind, the dispatcher's coverage overlay, the simulation's hour-by-hour population
coverage and the table of ``mae demo`` — so they agree on what "within 60 minutes" means: at most
60 x 60 road seconds from the origin to the node that serves the place. The origins are free units
or staffed bases; :func:`free_units` picks the free units of a dispatch state the same way for
everyone. Pure computation on :mod:`routing` travel times.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from dispatch.errors import DispatchError
from dispatch.state import DispatchState, Unit
from maps.graph import Place
from routing.engine import Location, TravelTimes

__all__ = [
    "DEFAULT_THRESHOLDS",
    "DEFAULT_THRESHOLDS_MIN",
    "CoverageError",
    "CoverageResult",
    "Thresholds",
    "coverage",
    "free_units",
    "populated",
]

#: The coverage thresholds every caller uses unless configured otherwise: 30, 60 and 90 minutes.
DEFAULT_THRESHOLDS_MIN: Final = (30, 60, 90)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class CoverageError(DispatchError, ValueError):
    """Coverage was asked with thresholds, a resolution or a table of times it cannot use."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Time limits, in minutes and strictly increasing, to count the population within."""

    minutes: tuple[float, ...] = DEFAULT_THRESHOLDS_MIN

    def __post_init__(self) -> None:
        if not self.minutes:
            raise CoverageError("coverage needs at least one threshold")
        if not all(math.isfinite(m) and m > 0 for m in self.minutes):
            raise CoverageError(f"thresholds must be positive minutes, got {self.minutes!r}")
        if any(b <= a for a, b in itertools.pairwise(self.minutes)):
            raise CoverageError(f"thresholds must increase, got {self.minutes!r}")

    @classmethod
    def of_seconds(cls, *seconds: float) -> Thresholds:
        """Thresholds given in seconds (``Thresholds.of_seconds(3600)`` is one hour)."""
        return cls(tuple(s / 60.0 for s in seconds))

    @property
    def seconds(self) -> tuple[float, ...]:
        """The thresholds in seconds, as road times are compared against them."""
        return tuple(m * 60.0 for m in self.minutes)

    @property
    def labels(self) -> tuple[str, ...]:
        """Short names of the thresholds, ``"30"`` for 30 minutes, ``"7.5"`` for 7.5."""
        return tuple(f"{m:g}" for m in self.minutes)


DEFAULT_THRESHOLDS: Final = Thresholds()


@dataclass(frozen=True, slots=True, eq=False)
class CoverageResult:
    """Road time from the nearest origin to each of ``places`` and the population within each
    threshold.

    ``times_s[i, j]``: seconds from origin ``i`` to place ``j`` (infinite where no road leads);
    ``seconds[j]``: from the nearest origin, ``nearest[j]`` (-1 and infinite when none reaches
    it; the first origin in order wins a tie), rounded to a multiple of ``resolution_s`` if
    that is positive; ``within[k]``: population within ``thresholds.minutes[k]`` of an origin
    (each count includes the ones before), counted on ``seconds``."""

    places: tuple[Place, ...]
    thresholds: Thresholds
    times_s: FloatArray
    resolution_s: float = 0.0
    seconds: FloatArray = field(init=False)
    nearest: npt.NDArray[np.intp] = field(init=False)
    population: IntArray = field(init=False)
    within: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.places)
        if not (math.isfinite(self.resolution_s) and self.resolution_s >= 0):
            raise CoverageError(f"resolution_s must be >= 0 seconds, got {self.resolution_s!r}")
        if self.times_s.ndim != 2 or self.times_s.shape[1] != n:
            raise CoverageError(f"times_s has shape {self.times_s.shape}, not (origins, {n})")
        pop = np.fromiter((p.population for p in self.places), dtype=np.int64, count=n)
        if self.times_s.shape[0]:
            nearest = self.times_s.argmin(axis=0)
            seconds = self._rounded(self.times_s[nearest, np.arange(n)])
            nearest[~np.isfinite(seconds)] = -1
        else:
            nearest = np.full(n, -1, dtype=np.intp)
            seconds = np.full(n, math.inf)
        within = tuple(int(pop[seconds <= limit].sum()) for limit in self.thresholds.seconds)
        object.__setattr__(self, "seconds", seconds)
        object.__setattr__(self, "nearest", nearest)
        object.__setattr__(self, "population", pop)
        object.__setattr__(self, "within", within)

    def _rounded(self, times: FloatArray) -> FloatArray:
        if not self.resolution_s:
            return times
        rounded: FloatArray = np.round(times / self.resolution_s) * self.resolution_s
        return rounded

    @property
    def total(self) -> int:
        """The population of all ``places``."""
        return int(self.population.sum())

    @property
    def shares(self) -> tuple[float, ...]:
        """``within`` as shares of ``total`` (0 when no one lives on the places)."""
        total = self.total
        return tuple(w / total if total else 0.0 for w in self.within)

    @property
    def beyond(self) -> int:
        """Population beyond the last threshold of every origin (or reached by none)."""
        return self.total - self.within[-1]

    @property
    def bands(self) -> tuple[int, ...]:
        """Population within each threshold but not the one before, then ``beyond``."""
        edges = (0, *self.within)
        return (*(b - a for a, b in itertools.pairwise(edges)), self.beyond)

    def among(self, origins: Iterable[int]) -> CoverageResult:
        """The same places and thresholds with only these origins (by index), no new routing."""
        rows = list(origins)
        return CoverageResult(self.places, self.thresholds, self.times_s[rows], self.resolution_s)

    def beyond_without_each(self) -> IntArray:
        """For each origin, the population beyond the last threshold of every *other* origin:
        what would be left uncovered if that one went (one pass, not one result per origin)."""
        covered = self._rounded(self.times_s) <= self.thresholds.seconds[-1]
        count = covered.sum(axis=0)
        uncovered = int(self.population[count == 0].sum())
        alone = covered & (count == 1)
        gaps: IntArray = uncovered + alone.astype(np.int64) @ self.population
        return gaps


def populated(places: Iterable[Place]) -> tuple[Place, ...]:
    """The places where someone lives, in order: the only ones a population count needs."""
    return tuple(p for p in places if p.population > 0)


def coverage(
    travel: TravelTimes,
    origins: Sequence[Location],
    places: Sequence[Place],
    *,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    resolution_s: float = 0.0,
) -> CoverageResult:
    """Road time from the nearest of ``origins`` (free units, staffed bases) to every place,
    with the population within each threshold; coordinates are snapped by ``travel`` and may
    raise :class:`~routing.errors.SnapError`, places are reached at the node serving them.

    ``resolution_s`` > 0 rounds each place's time to a multiple of it before counting, so that
    counts agree with times shown at that resolution (a place shown at 60.0 minutes is within
    60); the nearest origin is still the one with the shortest exact time."""
    targets = [travel.at_node(p.node) for p in places]
    if origins and targets:
        times = travel.matrix(origins, targets).durations_s
    else:
        times = np.zeros((len(origins), len(targets)))
    return CoverageResult(tuple(places), thresholds, times, resolution_s)


def free_units(state: DispatchState) -> list[Unit]:
    """The units coverage counts from: those that could take a new callout now (available, or
    returning to base, and on no callout), in unit id order so a tie goes the same way every
    time. A crew records its outcome before it may report available or returning, so a free
    status and no callout go together."""
    return sorted(state.free_units(), key=lambda u: u.unit_id)
