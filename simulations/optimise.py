"""Optimise bases and hours, then check the promise by simulation: optimise -> simulate ->
update the busy fraction, until it settles.

MEXCLP (:mod:`routing.location`) needs the probability that a car is busy. It is measured, not
assumed: the baseline scenario is simulated first and its utilisation by hour of the day is the
first busy fraction; each design the model proposes is written as a scenario, simulated with
the same seeds, and its measured utilisation becomes the next busy fraction, until no hour's
fraction moves more than ``tolerance`` (or ``max_iterations`` is reached, or a design comes
back that an earlier round already proposed: the report says which). One design per budget
level of staffed car-hours a week; without a budget, each base keeps the baseline's hours (its
first unit's shifts) with one car.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from routing.location import LocationProblem, LocationResult, ShiftPattern, Site, solve
from simulations.batch import ScenarioRuns, run_batch
from simulations.errors import ScenarioError
from simulations.kpi import clip, hour_of_week
from simulations.optimise_model import (
    HOURS,
    Candidate,
    PatternSpec,
    candidate_sites,
    daily_patterns,
    demand_by_hour,
    night_periods,
    response_seconds,
    scenario_pattern,
)
from simulations.optimise_write import design_data, to_toml
from simulations.scenario import Scenario, scenario_from_dict
from simulations.terrain import load_terrain

__all__ = [
    "Iteration",
    "Level",
    "Optimisation",
    "OptimiseOptions",
    "measured_busy",
    "optimise",
    "weekly_hours",
]


@dataclass(frozen=True, slots=True)
class OptimiseOptions:
    """What the planner asks: ``bases`` to open among the ``candidates`` (``places``,
    ``all-localities`` or a TOML file), ``budgets`` in staffed car-hours a week (empty: the
    baseline's hours at each base), the response limit, the allowed shift starts (hours),
    lengths (hours) and day sets, cars per base at once, a minimum of cars on duty in the
    ``night`` hours, bases to ``keep`` (ids), and how the loop and the solver run."""

    bases: int
    candidates: str | Path = "places"
    budgets: tuple[float, ...] = ()
    limit_min: float = 60.0
    shift_starts: tuple[int, ...] = tuple(range(0, 24, 2))
    shift_lengths: tuple[int, ...] = (8, 10, 12)
    shift_days: tuple[str, ...] = ("all",)
    max_cars_per_base: int = 2
    min_night_cars: int = 0
    night: tuple[int, int] = (22, 6)
    keep: tuple[str, ...] = ()
    seeds: tuple[int, ...] = (0, 1, 2)
    max_iterations: int = 4
    tolerance: float = 0.02
    time_limit_s: float = 60.0
    workers: int | None = None

    def __post_init__(self) -> None:
        if self.bases < 1:
            raise ScenarioError("bases", "open at least one base")
        if any(b <= 0 for b in self.budgets):
            raise ScenarioError("budget-hours", "budgets are car-hours a week, above 0")
        if not self.limit_min > 0:
            raise ScenarioError("limit-min", "must be above 0 minutes")
        # checked with or without a budget (without one they are not used): a bad value is
        # named by its flag, not found later as a bad "shifts"
        if not self.shift_starts or not all(0 <= h <= 23 for h in self.shift_starts):
            raise ScenarioError("shift-starts", f"{self.shift_starts}: give start hours 0-23")
        if not self.shift_lengths or not all(1 <= h <= 24 for h in self.shift_lengths):
            raise ScenarioError("shift-lengths",
                                f"{self.shift_lengths}: give shift lengths of 1-24 hours")
        if self.max_iterations < 1:
            raise ScenarioError("max-iterations", "must be 1 or more")
        if not self.tolerance >= 0:
            raise ScenarioError("tolerance", "must be 0 or more (a change of busy fraction)")
        most = self.bases * self.max_cars_per_base
        if self.min_night_cars > most:
            raise ScenarioError("min-night-cars", f"{self.min_night_cars} cars each night hour, "
                                f"but {self.bases} base(s) of at most {self.max_cars_per_base} "
                                f"car(s) have {most}")
        if not self.seeds:
            raise ScenarioError("seeds", "simulate at least one seed")


@dataclass(frozen=True, slots=True, eq=False)
class Iteration:
    """One round: the busy fraction by hour of the day the model used, its answer, and the
    busy fraction the simulation of that answer measured."""

    busy: tuple[float, ...]
    result: LocationResult
    measured: tuple[float, ...]

    @property
    def change(self) -> float:
        """The largest move of an hour's busy fraction this round."""
        return float(np.max(np.abs(np.array(self.measured) - np.array(self.busy))))


@dataclass(frozen=True, slots=True, eq=False)
class Level:
    """The design for one budget (None: the baseline's hours), how the loop went, the
    scenario and its file, the design's simulated runs and the last round's model."""

    budget_hours: float | None
    iterations: tuple[Iteration, ...]
    stop: str
    scenario: Scenario
    path: Path
    runs: ScenarioRuns
    problem: LocationProblem

    @property
    def result(self) -> LocationResult:
        return self.iterations[-1].result

    @property
    def settled(self) -> bool:
        """Whether the busy fraction settled (else the loop hit its cap or went round in a
        cycle of designs: ``stop`` says which)."""
        return self.stop == "settled"


@dataclass(frozen=True, slots=True, eq=False)
class Optimisation:
    """Everything a run of the optimiser found, for the report."""

    options: OptimiseOptions
    baseline: ScenarioRuns
    levels: tuple[Level, ...]
    sites: tuple[Candidate, ...]
    patterns: tuple[PatternSpec, ...]
    points: int


def measured_busy(runs: ScenarioRuns) -> tuple[float, ...]:
    """Busy fraction by local hour of the day (24 values) over every seed's run: time on an
    acute callout within shifts over shift time (inside the run); follow-up visits are not
    counted, as a visit gives way to an acute call (broken off) and so leaves the car
    available to the model's calls; an hour nobody works takes the overall fraction.
    Capped at 0.95 (a car always busy covers nothing, which would stall the model)."""
    busy = np.zeros((7, 24))
    duty = np.zeros((7, 24))
    for res in runs.results:
        tz = ZoneInfo(res.timezone)
        # shift time inside the run: no alarm comes after its end
        # (one span per unit: a span per shift would repeat every shift as often as its unit
        # has shifts, and every busy interval the square of that)
        units = dict.fromkeys(u for u, _, _ in res.scheduled)
        in_run = clip(res.scheduled, [(u, 0.0, res.end_s) for u in units])
        busy += hour_of_week(clip(res.busy, in_run), res.start, tz)
        duty += hour_of_week(in_run, res.start, tz)
    b, d = busy.sum(axis=0), duty.sum(axis=0)
    overall = float(b.sum() / d.sum()) if d.sum() > 0 else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.where(d > 0, b / np.where(d > 0, d, 1.0), overall)
    return tuple(float(v) for v in np.clip(q, 0.0, 0.95))


def weekly_hours(scenario: Scenario) -> float:
    """Staffed car-hours a week of the scenario's rota."""
    return float(sum(len(s.days) * s.hours for u in scenario.units for s in u.shifts))


def _sites(
    options: OptimiseOptions, candidates: Sequence[Candidate], budgeted: bool
) -> tuple[Site, ...]:
    ids = {c.id for c in candidates}
    unknown = [k for k in options.keep if k not in ids]
    if unknown:
        raise ScenarioError(
            "keep", f"unknown site {unknown[0]!r}; sites are " + ", ".join(sorted(ids))
        )
    cars = options.max_cars_per_base if budgeted else 1
    return tuple(Site(c.id, fixed=c.id in options.keep, max_cars=cars) for c in candidates)


def _problem(base: dict[str, Any], busy: Sequence[float]) -> LocationProblem:
    per_period = [busy[p % 24] for p in range(HOURS)]
    return LocationProblem(**base, busy=per_period)


def _level_name(options: OptimiseOptions, budget: float | None) -> str:
    hours = "today's hours" if budget is None else f"{budget:g} car-hours/week"
    return f"Optimised: {options.bases} bases, {hours}"


def optimise(
    scenario: Scenario,
    options: OptimiseOptions,
    *,
    out_dir: Path,
    progress: Callable[[str], None] | None = None,
) -> Optimisation:
    """Run the loop for every budget level and write each level's scenario into ``out_dir``
    (``optimised-<K>-bases[-<H>h].toml``)."""
    say = progress or (lambda _m: None)
    out_dir.mkdir(parents=True, exist_ok=True)
    graph = load_terrain(scenario)
    candidates = candidate_sites(scenario, graph, options.candidates)
    if options.bases > len(candidates):
        raise ScenarioError(
            "bases", f"{options.bases} bases but only {len(candidates)} candidate sites"
        )
    places, demand = demand_by_hour(scenario, graph)
    travel = response_seconds(scenario, graph, candidates, places)
    budgeted = bool(options.budgets)
    if budgeted:
        patterns = daily_patterns(options.shift_starts, options.shift_lengths, options.shift_days)
    else:
        patterns = [scenario_pattern(scenario)]
    sites = _sites(options, candidates, budgeted)
    night = []
    if options.min_night_cars > 0:
        night = [(p, options.min_night_cars) for p in night_periods(*options.night)]
    base: dict[str, Any] = {
        "sites": sites,
        "demand": demand.tolist(),
        "travel_s": travel.tolist(),
        "limit_s": options.limit_min * 60.0,
        "bases": options.bases,
        "patterns": tuple(ShiftPattern(p.id, p.periods, p.hours_per_week) for p in patterns),
        "min_on_duty": tuple(night),
    }
    budgets: list[float | None] = [*sorted(options.budgets)] if budgeted else [None]
    for budget in budgets:  # refuse an impossible request before simulating anything
        _problem({**base, "budget_hours": budget}, [0.0] * 24)
    say(
        f"{len(candidates)} candidate sites, {len(places)} demand points, "
        f"{len(patterns)} shift pattern(s); simulating the baseline"
    )
    baseline = run_batch([scenario], options.seeds, workers=options.workers).runs[0]
    start_busy = measured_busy(baseline)
    levels: list[Level] = []
    previous: LocationResult | None = None
    for budget in budgets:
        busy = start_busy
        iterations: list[Iteration] = []
        stop = "cap"
        seen: list[tuple[object, ...]] = []
        name = _level_name(options, budget)
        suffix = "" if budget is None else f"-{budget:g}h"
        path = out_dir / f"optimised-{options.bases}-bases{suffix}.toml"
        while True:
            problem = _problem({**base, "budget_hours": budget}, busy)
            result = solve(problem, time_limit_s=options.time_limit_s, seed=0, hint=previous)
            previous = result
            data = design_data(
                scenario,
                result,
                candidates,
                patterns,
                name=name,
                out_dir=out_dir,
                description=(
                    f"{result.covered_share:.1%} of the demand expected within "
                    f"{options.limit_min:g} min (MEXCLP, mean busy fraction "
                    f"{np.mean(busy):.2f}); written by mae optimise"
                ),
            )
            # run over the baseline's days (``mae optimise --days`` shortens them); the file
            # written keeps the scenario's own
            design = replace(
                scenario_from_dict(data, graph=graph, base_dir=out_dir, source=str(path)),
                days=scenario.days,
            )
            runs = run_batch([design], options.seeds, workers=options.workers).runs[0]
            iteration = Iteration(busy, result, measured_busy(runs))
            iterations.append(iteration)
            say(
                f"{name}: round {len(iterations)}: bases {', '.join(result.open_sites)}; "
                f"model {result.covered_share:.1%} covered (gap {result.gap:.2%}, "
                f"{result.solve_s:.1f} s); busy on acute callouts {np.mean(busy):.3f} -> "
                f"{np.mean(iteration.measured):.3f}"
            )
            key = (result.open_sites, result.staffing)
            if iteration.change <= options.tolerance:
                stop = "settled"
                break
            if key in seen:  # the same design again: the rounds would go round in a cycle
                stop = "cycle"
                break
            seen.append(key)
            if len(iterations) >= options.max_iterations:
                break
            busy = iteration.measured
        header = (
            f"{name}: written by mae optimise from {scenario.source or scenario.name}.",
            f"Bases {', '.join(result.open_sites)}; {result.staffed_hours:g} car-hours a week.",
            f"{len(iterations)} round(s) of optimise -> simulate; busy fraction "
            + {
                "settled": "settled.",
                "cycle": "designs repeat in a cycle; the last is kept.",
                "cap": "not settled within the cap; the last design is kept.",
            }[stop],
        )
        path.write_text(to_toml(data, header=header), encoding="utf-8")
        levels.append(Level(budget, tuple(iterations), stop, design, path, runs, problem))
    return Optimisation(
        options, baseline, tuple(levels), tuple(candidates), tuple(patterns), len(places)
    )
