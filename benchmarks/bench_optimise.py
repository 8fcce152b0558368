"""The base and hours optimiser on Norrbotten: every populated place a candidate, K = 3..6.

For each K, ``simulations.optimise.optimise`` runs its optimise -> simulate -> busy fraction
loop twice on ``simulations/scenarios/norrbotten_today.toml`` (365 days, every locality of the
bundled map a candidate site):

- ``hours``: K bases, each with one car on today's hours (14-02 every day), so K x 84
  car-hours a week;
- ``budget``: K bases with shifts chosen by the model within today's budget of 252 car-hours
  a week (starts every 2 h, 6/8/10/12 h long, up to 2 cars at once per base).

Peers measured in the same run on the same model: the MIP's solve time and objective against
Daskin's greedy heuristic (add the base that raises the expected coverage most, the classic
way MEXCLP is solved by hand), on the final round's problem of the ``hours`` rows; and every
design's simulation against today's three bases with the same seeds (paired differences).

    .venv/bin/python benchmarks/bench_optimise.py [--ks 3 4 5 6] [--seeds 3] [--days 365]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from routing.location import LocationProblem
from simulations.batch import ScenarioRuns, run_batch
from simulations.compare import Estimate, estimate
from simulations.optimise import OptimiseOptions, optimise, weekly_hours
from simulations.scenario import load_scenario

SCENARIO = Path(__file__).parents[1] / "simulations" / "scenarios" / "norrbotten_today.toml"


def greedy(problem: LocationProblem) -> tuple[float, float, tuple[int, ...]]:
    """Daskin's greedy MEXCLP for one car per base on one pattern: (seconds, objective,
    sites). Vectorised with NumPy so the peer is not slowed by Python loops."""
    began = time.perf_counter()
    reach = np.array(problem.travel_s) <= problem.limit_s  # [site, point]
    (pattern,) = problem.patterns
    mask = np.zeros(problem.n_periods, dtype=bool)
    mask[list(pattern.periods)] = True
    demand = np.array(problem.demand)[:, mask]  # [point, period on duty]
    q = np.array(problem.busy)[mask]
    chosen = [j for j, s in enumerate(problem.sites) if s.fixed]

    def value(sites: list[int]) -> float:
        n = reach[sites].sum(axis=0) if sites else np.zeros(problem.n_points)
        return float((demand * (1.0 - q[None, :] ** n[:, None])).sum())

    while len(chosen) < problem.bases:
        best = max(
            (j for j in range(len(problem.sites)) if j not in chosen),
            key=lambda j: value([*chosen, j]),
        )
        chosen.append(best)
    return time.perf_counter() - began, value(chosen), tuple(sorted(chosen))


def reached(runs: ScenarioRuns, limit: int) -> list[float]:
    return [k.scalars[f"within_{limit}_min"] * k.scalars["attended_share"] for k in runs.kpis]


def alone(runs: ScenarioRuns) -> list[float]:
    return [k.scalars["unserved_share"] for k in runs.kpis]


def paired(base: list[float], other: list[float]) -> Estimate:
    return estimate([b - a for a, b in zip(base, other, strict=True)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ks", type=int, nargs="+", default=[3, 4, 5, 6])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--budget", type=float, default=252.0)
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()
    today = load_scenario(SCENARIO)
    today = replace(today, days=args.days)
    seeds = tuple(range(args.seeds))
    base_runs = run_batch([today], seeds, workers=args.workers).runs[0]
    out = Path(tempfile.mkdtemp(prefix="mae-bench-optimise-"))
    header = (
        f"{'K':>2} {'mode':<7} {'car-h/wk':>8} {'rounds':>6} {'solve s':>8} {'gap':>6} "
        f"{'greedy s':>8} {'greedy/MIP':>10} {'model %':>7} {'sim ≤30 %':>9} "
        f"{'sim ≤60 %':>9} {'Δ≤60 pp vs today':>17} {'Δ alone pp':>11}  bases"
    )
    rows = []
    print(
        f"today: {', '.join(b.id for b in today.bases)}, {weekly_hours(today):.0f} car-h/wk, "
        f"sim ≤30 {np.mean(reached(base_runs, 30)) * 100:.1f} %, ≤60 "
        f"{np.mean(reached(base_runs, 60)) * 100:.1f} %, alone "
        f"{np.mean(alone(base_runs)) * 100:.1f} %  ({args.days} days x {len(seeds)} seeds)",
        flush=True,
    )
    for k in args.ks:
        for mode in ("hours", "budget"):
            options = OptimiseOptions(
                bases=k,
                candidates="all-localities",
                seeds=seeds,
                workers=args.workers,
                time_limit_s=args.time_limit,
                budgets=(args.budget,) if mode == "budget" else (),
                shift_lengths=(6, 8, 10, 12),
            )
            opt = optimise(today, options, out_dir=out / f"k{k}-{mode}")
            (level,) = opt.levels
            res = level.result
            g_s, g_obj, g_sites = (
                greedy(level.problem) if mode == "hours" else (float("nan"), float("nan"), ())
            )
            ids = [s.id for s in level.problem.sites]
            same = tuple(sorted(ids.index(s) for s in res.open_sites)) == g_sites
            d60 = paired(reached(base_runs, 60), reached(level.runs, 60))
            d_alone = paired(alone(base_runs), alone(level.runs))
            line = (
                f"{k:>2} {mode:<7} {weekly_hours(level.scenario):>8.0f} "
                f"{len(level.iterations):>5}{dict(settled=' ', cycle='c', cap='*')[level.stop]} "
                f"{res.solve_s:>8.2f} {res.gap:>6.2%} {g_s:>8.3f} "
                f"{g_obj / res.objective if mode == 'hours' else float('nan'):>9.6f}"
                f"{'=' if same else ' '} "
                f"{res.covered_share * 100:>7.1f} "
                f"{np.mean(reached(level.runs, 30)) * 100:>9.1f} "
                f"{np.mean(reached(level.runs, 60)) * 100:>9.1f} "
                f"{d60.format(1, 100):>17} {d_alone.format(1, 100):>11}  "
                f"{', '.join(res.open_sites)}"
            )
            rows.append(line)
            print(line, flush=True)
    print()
    print(header)
    print("-" * len(header))
    for line in rows:
        print(line)
    print(
        "rounds: optimise -> simulate rounds (*: not settled within 4, c: stopped at a "
        "repeated design); solve s: the last round's MIP; greedy/MIP: expected coverage "
        "ratio (= same bases); Δ: paired by seed, mean ± 95 % interval"
    )


if __name__ == "__main__":
    main()
