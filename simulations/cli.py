"""``mae simulate``: run scenarios over several seeds and write a comparison report.

The lead's ``mae`` entry point calls :func:`register` to add the subcommand; errors are
:class:`~mae.errors.MaeError` subclasses that ``mae`` prints as one line.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

from simulations._args import day_count, output_dir, positive_int, seed_int

__all__ = ["register", "run_simulate"]


def register(subparsers: Any) -> None:
    """Add the ``simulate`` and ``optimise`` subcommands to an argparse ``subparsers``
    object."""
    p = subparsers.add_parser(
        "simulate",
        help="simulate MAE coverage for planning scenarios and compare them",
        description=(
            "Replay a year of alarms (synthetic or a historical log) through the dispatch core "
            "for each scenario and seed, and write an HTML report with response times, "
            "coverage, utilisation and an economic estimate. With --compare the scenarios are "
            "set side by side, the first as the baseline; each seed gives every scenario the "
            "same alarms. The scenario format is documented in simulations/README.md."
        ),
    )
    p.add_argument("scenario", type=Path, metavar="SCENARIO.toml", help="the baseline scenario")
    p.add_argument("--compare", type=Path, nargs="+", default=[], metavar="OTHER.toml",
                   help="more scenarios to compare with the first")
    p.add_argument("--seeds", type=positive_int, default=5, metavar="N",
                   help="runs per scenario, seeds 0..N-1 (default 5); intervals need 2 or more")
    p.add_argument("--first-seed", type=seed_int, default=0, metavar="K",
                   help="start the seeds at K instead of 0")
    p.add_argument("--out", type=Path, default=Path("simulation-report"), metavar="DIR",
                   help="directory for report.html, kpis.csv and summary.json "
                        "(default ./simulation-report); calls.csv: one row per call of each run")
    p.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="worker processes (default: one per core; 1 runs in this process)")
    p.add_argument("--days", type=day_count, default=None, metavar="N",
                   help="simulate N days instead of the scenarios' own (synthetic demand only)")
    p.add_argument("--export-log", action="store_true",
                   help="also write each run's event log as JSON lines "
                        "(events-<scenario>-seed<K>.jsonl) for replay on the dispatcher map; "
                        "these logs carry the crews' positions as events (every 5 simulated "
                        "minutes along each drive), so the cars move along their roads in the "
                        "replay (a live log keeps positions apart)")
    p.add_argument("--no-progress", action="store_true", help="do not draw the progress bar")
    p.set_defaults(func=run_simulate)
    from simulations.optimise_cli import register_optimise

    register_optimise(subparsers)


def _slug(name: str) -> str:
    from maps.gazetteer import normalise_name

    return re.sub(r"[^a-z0-9]+", "-", normalise_name(name)).strip("-")[:40] or "scenario"


def run_simulate(args: argparse.Namespace) -> int:

    from tqdm import tqdm

    from simulations.batch import run_batch
    from simulations.compare import kpi_estimate, pairing_problems
    from simulations.errors import ScenarioError
    from simulations.export import write_event_log
    from simulations.kpi import file_key
    from simulations.report import KPI_ROWS, kpi_rows, write_report
    from simulations.scenario import load_scenario, with_days

    scenarios = [load_scenario(p) for p in [args.scenario, *args.compare]]
    names: dict[str, int] = {}
    for i, sc in enumerate(scenarios):  # the report, summary.json and the CSVs key on names
        if sc.name in names:
            raise ScenarioError("name", f"{sc.name!r} also names scenario {names[sc.name] + 1} "
                                        "of this run: give each its own name", source=sc.source)
        names[sc.name] = i
    out: Path = output_dir(args.out)  # before the runs: a bad folder is found at once
    scenarios = with_days(scenarios, args.days)
    for i, sc in enumerate(scenarios[1:], start=2):  # said before the runs, and in the report
        problems = pairing_problems(scenarios[0], sc)
        if problems:
            print(f"note: scenario {i} ({sc.name}) does not meet the baseline's alarms "
                  f"({'; '.join(problems)}): compared unpaired, without differences",
                  file=sys.stderr)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    total = len(scenarios) * len(seeds)
    with tqdm(total=total, desc="simulating", unit="run", file=sys.stderr,
              disable=args.no_progress) as bar:
        batch = run_batch(scenarios, seeds, workers=args.workers, keep_log=args.export_log,
                          log_positions=args.export_log, progress=bar.update)
    report = write_report(batch, out)
    rows = kpi_rows(batch)
    with (out / "kpis.csv").open("w", newline="", encoding="utf-8") as fh:
        # every scenario's columns (one with follow-ups has more), in first-seen order
        w = csv.DictWriter(fh, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
        w.writeheader()
        w.writerows(rows)
    summary = {
        runs.scenario.name: {
            file_key(key): {"mean": e.mean, "low": e.low, "high": e.high, "n": e.n}
            for key in runs.kpis[0].scalars
            for e in [kpi_estimate(runs.kpis, key)]
        }
        for runs in batch.runs
    }
    from simulations.kpi import CALL_COLUMNS, call_rows

    with (out / "calls.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(CALL_COLUMNS))
        w.writeheader()
        for runs in batch.runs:
            for res in runs.results:
                w.writerows(call_rows(res))
    (out / "summary.json").write_text(json.dumps(_finite(summary), indent=1), encoding="utf-8")
    if args.export_log:
        for runs in batch.runs:
            for res in runs.results:
                if res.log is not None:
                    write_event_log(res.log, out / f"events-{_slug(runs.scenario.name)}"
                                                   f"-seed{res.seed}.jsonl")
    shown = ("response_mean_min", "response_p50_min", "response_p90_min", "within_60_min",
             "unserved_share",
             "utilisation", "net_msek_per_year")
    labels = {k: (label, scale, digits) for k, label, scale, digits in KPI_ROWS}
    for i, runs in enumerate(batch.runs):
        print(f"{i + 1}. {runs.scenario.name}")
        for key in shown:
            if key not in runs.kpis[0].scalars:
                continue
            label, scale, digits = labels[key]
            e = kpi_estimate(runs.kpis, key)
            print(f"   {label:<40} {e.format(digits, scale)}")
    print(f"report: {report}")
    return 0


def _finite(value: Any) -> Any:
    """JSON has no NaN: write null instead."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value
