"""Many runs: every scenario with every seed, in parallel over the machine's cores.

Each run is a pure function of its scenario and seed, so the results are the same whichever
worker runs them and in whatever order they finish; they are returned in scenario then seed
order, exactly as a serial loop would.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace

from simulations.coverage import Coverage, population_coverage
from simulations.engine import RunResult, simulate
from simulations.kpi import Kpis, summarize, threshold_key, within
from simulations.scenario import Scenario
from simulations.terrain import load_terrain, travel_source
from simulations.travel import TravelSource

__all__ = ["Batch", "ScenarioRuns", "run_batch", "thresholds_of"]


@dataclass(frozen=True, slots=True)
class ScenarioRuns:
    """One scenario's runs, one per seed, with its (seed-independent) coverage."""

    scenario: Scenario
    coverage: Coverage
    results: tuple[RunResult, ...]
    kpis: tuple[Kpis, ...]


@dataclass(frozen=True, slots=True)
class Batch:
    seeds: tuple[int, ...]
    runs: tuple[ScenarioRuns, ...]


#: Travel sources of this process by what they depend on (the map and the road conditions):
#: the seeds of a scenario, and scenarios on the same map, share snapped points and the
#: prepared routing instead of redoing them per run.
_SOURCES: dict[tuple[object, ...], TravelSource] = {}


def _source(scenario: Scenario) -> TravelSource:
    key = (scenario.map_path, scenario.matrix, scenario.roads, scenario.timezone)
    found = _SOURCES.get(key)
    if found is None:
        if len(_SOURCES) >= 8:
            _SOURCES.clear()
        found = _SOURCES[key] = travel_source(load_terrain(scenario), scenario.roads,
                                                 scenario.timezone)
    return found


def _one(scenario: Scenario, seed: int, coverage: Coverage, keep_log: bool,
         log_positions: bool = False) -> tuple[RunResult, Kpis]:
    result = simulate(scenario, seed=seed, keep_log=keep_log, roads=_source(scenario),
                      log_positions=log_positions)
    return result, summarize(result, scenario, coverage)


def run_batch(
    scenarios: Sequence[Scenario],
    seeds: Sequence[int],
    *,
    workers: int | None = None,
    keep_log: bool = False,
    log_positions: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Batch:
    """Run every scenario with every seed; ``workers`` processes (default: one per core,
    1 runs in this process); ``progress(1)`` is called as each run finishes; ``keep_log`` and
    ``log_positions`` as in :func:`simulations.engine.simulate`."""
    coverages = [population_coverage(sc, load_terrain(sc)) for sc in scenarios]
    jobs = [(i, seed) for i in range(len(scenarios)) for seed in seeds]
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    n_workers = max(1, min(n_workers, len(jobs)))
    done: dict[tuple[int, int], tuple[RunResult, Kpis]] = {}
    if n_workers == 1:
        for i, seed in jobs:
            done[(i, seed)] = _one(scenarios[i], seed, coverages[i], keep_log, log_positions)
            if progress:
                progress(1)
    else:
        with ProcessPoolExecutor(max_workers=n_workers) as pool:
            futures = {
                pool.submit(_one, scenarios[i], seed, coverages[i], keep_log,
                            log_positions): (i, seed)
                for i, seed in jobs
            }
            from concurrent.futures import as_completed

            for fut in as_completed(futures):
                done[futures[fut]] = fut.result()
                if progress:
                    progress(1)
    thresholds = thresholds_of(scenarios)
    runs = []
    for i, sc in enumerate(scenarios):
        pairs = [done[(i, seed)] for seed in seeds]
        runs.append(ScenarioRuns(sc, coverages[i], tuple(p[0] for p in pairs),
                                 tuple(_at_thresholds(p[1], thresholds) for p in pairs)))
    return Batch(tuple(seeds), tuple(runs))


def thresholds_of(scenarios: Sequence[Scenario]) -> tuple[float, ...]:
    """Every response-time threshold any of ``scenarios`` lists in ``[kpi]``, ascending: the
    "within" figures a comparison shows for each of them."""
    return tuple(sorted({m for sc in scenarios for m in sc.kpi.thresholds_min}))


def _at_thresholds(kpis: Kpis, thresholds: Sequence[float]) -> Kpis:
    """``kpis`` with a ``within`` figure for each of ``thresholds`` (from its response
    times), so scenarios with different ``[kpi]`` thresholds compare at all of them."""
    extra = {threshold_key(m): within(kpis.response_min, m) for m in thresholds
             if threshold_key(m) not in kpis.scalars}
    return replace(kpis, scalars={**kpis.scalars, **extra}) if extra else kpis
