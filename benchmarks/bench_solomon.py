"""Solomon VRPTW: our planner's gap to the best-known distance, beside PyVRP and VROOM.

Distances follow the DIMACS convention: every arc is truncated to one decimal and the three
solvers all receive the same integer matrix (tenths), so gaps are taken against the
``dimacs_distance`` column of ``bks.csv``. Travel time equals distance; service times and
windows are scaled by ten as well. All 25 vehicles are available; distance is the only
objective (no vehicle cost).

    .venv/bin/python benchmarks/bench_solomon.py /work/shared/data/solomon \
        --time-limits 1 10 [--subset C101,R201 | --subset 6] [--solvers ours,pyvrp,vroom]

``ours`` is the planner as shipped (OR-Tools first solution, then our ruin-and-recreate search,
seed 0); ``ortools`` is the same model with OR-Tools' guided local search alone.

Prints one line per instance and solver, then a summary table of mean gaps.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import math
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from routing.plan import SearchOptions, plan
from routing.problems import PlanProblem, PlanUnit, Visit

__all__ = ["Instance", "main", "read_instance"]


@dataclass(frozen=True, slots=True)
class Instance:
    """A Solomon instance in integer tenths (DIMACS truncation)."""

    name: str
    vehicles: int
    capacity: int
    xy: list[tuple[float, float]]
    demand: list[int]
    ready: list[int]
    due: list[int]
    service: list[int]
    matrix: list[list[int]]


def read_instance(path: Path) -> Instance:
    """Parse Solomon's text format; customer 0 is the depot."""
    lines = [ln.split() for ln in path.read_text().splitlines()]
    vehicles = capacity = 0
    rows: list[list[float]] = []
    for i, parts in enumerate(lines):
        if parts and parts[0] == "NUMBER":
            vehicles, capacity = (int(x) for x in lines[i + 1][:2])
        if len(parts) == 7 and all(p.replace(".", "").isdigit() for p in parts):
            rows.append([float(p) for p in parts])
    xy = [(r[1], r[2]) for r in rows]
    matrix = [[math.floor(10 * math.hypot(a[0] - b[0], a[1] - b[1]) + 1e-9) for b in xy]
              for a in xy]
    return Instance(
        name=path.stem, vehicles=vehicles, capacity=capacity, xy=xy,
        demand=[int(r[3]) for r in rows], ready=[int(r[4]) * 10 for r in rows],
        due=[int(r[5]) * 10 for r in rows], service=[int(r[6]) * 10 for r in rows],
        matrix=matrix)


def _problem(inst: Instance) -> PlanProblem:
    units = tuple(
        PlanUnit(id=f"v{k}", start_location=0, end_location=0, shift_start_s=inst.ready[0],
                 shift_end_s=inst.due[0], capacity=inst.capacity)
        for k in range(inst.vehicles))
    visits = tuple(
        Visit(id=f"c{i}", location=i, window_start_s=inst.ready[i], window_end_s=inst.due[i],
              duration_s=inst.service[i], demand=inst.demand[i])
        for i in range(1, len(inst.xy)))
    return PlanProblem(travel_s=inst.matrix, units=units, visits=visits)


def run_ours(inst: Instance, seconds: float) -> tuple[int, int]:
    """Our planner as shipped: OR-Tools first solution, then our ruin-and-recreate search."""
    result = plan(_problem(inst), time_limit_s=seconds, seed=0, options=SearchOptions())
    return result.travel_s, len(result.unplaced)


def run_ortools(inst: Instance, seconds: float) -> tuple[int, int]:
    """Our planner with OR-Tools' guided local search alone (the previous default)."""
    result = plan(_problem(inst), time_limit_s=seconds, options=SearchOptions(lns=None))
    return result.travel_s, len(result.unplaced)


def run_pyvrp(inst: Instance, seconds: float) -> tuple[int, int]:
    import pyvrp
    from pyvrp.stop import MaxRuntime

    m = pyvrp.Model()
    locs = [m.add_location(x, y) for x, y in inst.xy]
    m.add_vehicle_type(num_available=inst.vehicles, capacity=inst.capacity,
                       tw_early=inst.ready[0], tw_late=inst.due[0])
    m.add_depot(locs[0], tw_early=inst.ready[0], tw_late=inst.due[0])
    for i in range(1, len(locs)):
        m.add_client(locs[i], delivery=inst.demand[i], service_duration=inst.service[i],
                     tw_early=inst.ready[i], tw_late=inst.due[i])
    for i, a in enumerate(locs):
        for j, b in enumerate(locs):
            m.add_edge(a, b, distance=inst.matrix[i][j], duration=inst.matrix[i][j])
    res = m.solve(stop=MaxRuntime(seconds), seed=0, display=False)
    best = res.best
    missing = best.num_missing_clients() if best.is_feasible() else len(locs) - 1
    return best.distance(), missing


def run_vroom(inst: Instance, seconds: float) -> tuple[int, int]:
    import vroom

    problem = vroom.Input()
    problem.set_durations_matrix(profile="car", matrix_input=inst.matrix)
    for k in range(inst.vehicles):
        problem.add_vehicle(vroom.Vehicle(
            id=k, start=0, end=0, capacity=[inst.capacity],
            time_window=vroom.TimeWindow(inst.ready[0], inst.due[0])))
    for i in range(1, len(inst.xy)):
        problem.add_job(vroom.Job(
            id=i, location=i, default_service=inst.service[i], delivery=[inst.demand[i]],
            time_windows=[vroom.TimeWindow(inst.ready[i], inst.due[i])]))
    sol = problem.solve(exploration_level=5, nb_threads=1, timeout=timedelta(seconds=seconds))
    routes = sol.routes
    distance = 0
    served = 0
    for _, group in routes.groupby("vehicle_id"):
        locs = list(group["location_index"])
        distance += sum(inst.matrix[a][b] for a, b in itertools.pairwise(locs))
        served += int((group["type"] == "job").sum())
    return distance, len(inst.xy) - 1 - served


SOLVERS = {"ours": run_ours, "ortools": run_ortools, "pyvrp": run_pyvrp, "vroom": run_vroom}


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print per-instance lines and a summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="folder with txt/ and bks.csv")
    ap.add_argument("--time-limits", type=float, nargs="+", default=[1.0, 10.0])
    ap.add_argument("--subset", default="", help="comma-separated names, or N for every k-th "
                    "instance to get about N instances")
    ap.add_argument("--solvers", default="ours,pyvrp,vroom")
    ap.add_argument("--csv", type=Path, help="also write per-run rows to this CSV")
    args = ap.parse_args(argv)

    bks = {r["instance"]: float(r["dimacs_distance"])
           for r in csv.DictReader((args.folder / "bks.csv").open())}
    paths = sorted((args.folder / "txt").glob("*.txt"))
    if args.subset.isdigit():
        step = max(1, len(paths) // int(args.subset))
        paths = paths[::step][: int(args.subset)]
    elif args.subset:
        names = set(args.subset.split(","))
        paths = [p for p in paths if p.stem in names]
    solvers = args.solvers.split(",")
    if paths and "ours" in solvers:  # compile or load the numba kernels outside the timing
        plan(_problem(read_instance(paths[0])), time_limit_s=0.05)
    rows: list[dict[str, object]] = []
    print(f"{'instance':9} {'solver':7} {'limit':>5} {'distance':>9} {'bks':>8} {'gap%':>6} "
          f"{'miss':>4} {'wall':>5}", flush=True)
    for path in paths:
        inst = read_instance(path)
        for limit in args.time_limits:
            for name in solvers:
                began = time.monotonic()
                dist10, missing = SOLVERS[name](inst, limit)
                wall = time.monotonic() - began
                dist = dist10 / 10
                gap = 100 * (dist - bks[inst.name]) / bks[inst.name]
                rows.append({"instance": inst.name, "solver": name, "limit": limit,
                             "distance": dist, "bks": bks[inst.name], "gap": gap,
                             "missing": missing, "wall": wall})
                print(f"{inst.name:9} {name:7} {limit:5g} {dist:9.1f} {bks[inst.name]:8.1f} "
                      f"{gap:6.2f} {missing:4d} {wall:5.1f}", flush=True)
    if args.csv:
        with args.csv.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    print("\nsummary (mean gap % to DIMACS BKS; runs with missing customers counted apart)")
    print(f"{'solver':7} {'limit':>5} {'mean gap%':>9} {'median':>7} {'max':>6} {'incomplete':>10}")
    for limit in args.time_limits:
        for name in solvers:
            sel = [r for r in rows if r["solver"] == name and r["limit"] == limit]
            gaps = [float(str(r["gap"])) for r in sel if r["missing"] == 0]
            bad = sum(1 for r in sel if r["missing"] != 0)
            if gaps:
                print(f"{name:7} {limit:5g} {statistics.mean(gaps):9.2f} "
                      f"{statistics.median(gaps):7.2f} {max(gaps):6.2f} {bad:10d}")


if __name__ == "__main__":
    main()
