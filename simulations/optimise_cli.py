"""``mae optimise``: choose bases (and shift hours under a budget), check them by simulation and
write ready-to-run scenario files with a frontier report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from simulations._args import day_count, output_dir, positive_int, seed_int

__all__ = ["register_optimise", "run_optimise"]


def _hours(text: str, low: int, high: int, what: str) -> tuple[int, ...]:
    try:
        hours = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give whole hours like 6,14,22") from None
    if not hours:
        raise argparse.ArgumentTypeError(f"{text!r}: give at least one {what}")
    bad = [h for h in hours if not low <= h <= high]
    if bad:
        raise argparse.ArgumentTypeError(f"{bad[0]} is not a {what}: give hours {low}-{high}")
    return hours


def _starts(text: str) -> tuple[int, ...]:
    """``--shift-starts``: hours of the day a shift may start, 0-23."""
    return _hours(text, 0, 23, "start hour")


def _lengths(text: str) -> tuple[int, ...]:
    """``--shift-lengths``: shift lengths in hours, 1-24."""
    return _hours(text, 1, 24, "shift length")


def _night(text: str) -> tuple[int, int]:
    parts = text.split("-")
    if len(parts) != 2 or not all(p.isdigit() and 0 <= int(p) < 24 for p in parts):
        raise argparse.ArgumentTypeError(f"{text!r}: give hours FROM-TO like 22-06")
    return int(parts[0]), int(parts[1])


def register_optimise(subparsers: Any) -> None:
    """Add the ``optimise`` subcommand to an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "optimise",
        help="choose bases and shift hours that maximise expected coverage, checked by simulation",
        description=(
            "Choose K base locations (and, with --budget-hours, the shifts each base's cars "
            "work) that maximise the expected demand reached within the response limit, with "
            "cars busy as often as the simulator measures (MEXCLP, solved with OR-Tools). "
            "Optimise, simulate the design, update the busy fraction and repeat until it "
            "settles; then write one scenario file per budget level and a report that sets "
            "the simulated frontier beside the baseline and your own scenarios (same seeds). "
            "See simulations/README.md, 'Base and hours optimiser'."
        ),
    )
    p.add_argument(
        "scenario",
        type=Path,
        metavar="SCENARIO.toml",
        help="the baseline: its demand, roads, service and policy are kept",
    )
    p.add_argument(
        "--bases",
        type=positive_int,
        required=True,
        metavar="K",
        help="how many bases to open (kept bases count)",
    )
    p.add_argument(
        "--candidates",
        default="places",
        metavar="places|all-localities|FILE",
        help="where bases may go: 'places' (the scenario's bases and the map's "
        "hospitals and MAE bases; default), 'all-localities' (every populated "
        "place) or a TOML file of [[candidates]] with id and place or lat/lon",
    )
    p.add_argument(
        "--budget-hours",
        type=float,
        nargs="+",
        default=[],
        metavar="H",
        help="staffed car-hours a week, one design per value (e.g. 252 336 420); "
        "without it each base gets one car on the baseline's first unit's hours",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("optimise-report"),
        metavar="DIR",
        help="folder for the scenario files, report.html, frontier.csv and "
        "optimise.json (default ./optimise-report)",
    )
    p.add_argument(
        "--compare",
        type=Path,
        nargs="+",
        default=[],
        metavar="OTHER.toml",
        help="your own scenarios to set beside the frontier",
    )
    p.add_argument(
        "--limit-min",
        type=float,
        default=60.0,
        metavar="MIN",
        help="response limit the model covers within, alarm to on scene (60)",
    )
    p.add_argument(
        "--shift-starts",
        type=_starts,
        default=tuple(range(0, 24, 2)),
        metavar="H,H,...",
        help="allowed shift start hours, 0-23 (default every 2 h); checked with or without "
        "--budget-hours, used with it",
    )
    p.add_argument(
        "--shift-lengths",
        type=_lengths,
        default=(8, 10, 12),
        metavar="H,H,...",
        help="allowed shift lengths in hours, 1-24 (default 8,10,12); checked with or "
        "without --budget-hours, used with it",
    )
    p.add_argument(
        "--shift-days",
        nargs="+",
        default=["all"],
        choices=("all", "weekdays", "weekends"),
        help="day sets a shift may run on (default all)",
    )
    p.add_argument(
        "--max-cars-per-base",
        type=positive_int,
        default=2,
        metavar="N",
        help="cars of one base on duty at once, with a budget (default 2)",
    )
    p.add_argument(
        "--min-night-cars",
        type=int,
        default=0,
        metavar="N",
        help="at least N cars on duty in every night hour (default 0)",
    )
    p.add_argument(
        "--night",
        type=_night,
        default=(22, 6),
        metavar="FROM-TO",
        help="the night hours for --min-night-cars (default 22-06)",
    )
    p.add_argument(
        "--keep",
        nargs="+",
        default=[],
        metavar="ID",
        help="site ids that must stay bases (the scenario's base ids, e.g. pitea)",
    )
    p.add_argument(
        "--seeds",
        type=positive_int,
        default=3,
        metavar="N",
        help="simulated runs per design, seeds 0..N-1 as the baseline (default 3)",
    )
    p.add_argument("--first-seed", type=seed_int, default=0, metavar="K", help="start seeds at K")
    p.add_argument(
        "--days",
        type=day_count,
        default=None,
        metavar="N",
        help="simulate N days instead of the scenario's own (synthetic demand only)",
    )
    p.add_argument(
        "--max-iterations",
        type=positive_int,
        default=4,
        metavar="N",
        help="optimise -> simulate rounds per design at most (default 4)",
    )
    p.add_argument(
        "--tolerance",
        type=float,
        default=0.02,
        metavar="Q",
        help="settled when no hour's busy fraction moves more than Q (0.02)",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds per solve; past it the best design and its gap are reported",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        metavar="N",
        help="simulation processes (default: one per core; 1 runs in this process)",
    )
    p.set_defaults(func=run_optimise)


def run_optimise(args: argparse.Namespace) -> int:
    from simulations.batch import run_batch
    from simulations.compare import pairing_problems
    from simulations.errors import ScenarioError
    from simulations.optimise import OptimiseOptions, optimise
    from simulations.optimise_report import frontier_rows, write_optimise_report
    from simulations.scenario import load_scenario, with_days

    baseline = load_scenario(args.scenario)
    planner = [load_scenario(p) for p in args.compare]
    out = output_dir(args.out)  # before the runs: a bad folder is found at once
    baseline, *planner = with_days([baseline, *planner], args.days)
    for path, sc in zip(args.compare, planner, strict=True):
        problems = pairing_problems(baseline, sc)
        if problems:  # the frontier sets them side by side on the same alarms
            raise ScenarioError(
                "--compare", "does not meet the baseline's alarms, so it cannot sit on its "
                f"frontier: {'; '.join(problems)}", source=str(path))
    candidates: str | Path = args.candidates
    if candidates not in ("places", "all-localities"):
        candidates = Path(candidates)
    seeds = tuple(range(args.first_seed, args.first_seed + args.seeds))
    options = OptimiseOptions(
        bases=args.bases,
        candidates=candidates,
        budgets=tuple(args.budget_hours),
        limit_min=args.limit_min,
        shift_starts=args.shift_starts,
        shift_lengths=args.shift_lengths,
        shift_days=tuple(args.shift_days),
        max_cars_per_base=args.max_cars_per_base,
        min_night_cars=args.min_night_cars,
        night=args.night,
        keep=tuple(args.keep),
        seeds=seeds,
        max_iterations=args.max_iterations,
        tolerance=args.tolerance,
        time_limit_s=args.time_limit,
        workers=args.workers,
    )

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    result = optimise(baseline, options, out_dir=out, progress=say)
    planner_runs = list(run_batch(planner, seeds, workers=args.workers).runs) if planner else []
    report = write_optimise_report(result, planner_runs, out)
    print("reached by MAE within 30/60/90 min, as shares of all incidents; p50: median "
          "response (min); alone: handled by ambulance or police alone")
    print(
        f"{'scenario':<48} {'car-h/wk':>8} {'≤30':>6} {'≤60':>6} {'≤90':>6} {'p50':>6} {'alone':>6}"
    )
    for row in frontier_rows(result, planner_runs):
        shares = " ".join(
            f"{row[f'reached_within_{m}_min'].mean * 100:5.1f}%" for m in (30, 60, 90)
        )
        print(
            f"{row['scenario'][:48]:<48} {row['car_hours_per_week']:>8.0f} {shares} "
            f"{row['response_p50_min'].mean:6.1f} "
            f"{row['handled_alone_share'].mean * 100:5.1f}%"
        )
    for level in result.levels:
        print(f"scenario: {level.path}")
    print(f"report: {report}")
    return 0
