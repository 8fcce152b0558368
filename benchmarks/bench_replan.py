"""Re-planning latency and quality when an acute callout takes a unit mid-day.

A synthetic but Norrbotten-like day: 3 units based in Luleå, 30 follow-up visits around the
coastal towns (Luleå, Boden, Piteå, Kalix, Älvsbyn), travel times from great-circle distance
with a road detour factor and rural speeds. The day is planned once (10 s). Then, in each
scenario, an acute callout at a random time and place takes the nearest free unit for
on-scene time; the rest of the day is re-planned from every unit's state, warm-started from the
morning plan, and compared with a from-scratch solve of the same remaining problem.

    .venv/bin/python benchmarks/bench_replan.py [--scenarios 20] [--replan-limit 0.3] \
        [--reference-limit 10] [--seed 1]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from routing.plan import UnitState, plan, replan, rest_of_day
from routing.problems import BreakRule, Plan, PlanProblem, PlanUnit, Visit

__all__ = ["main", "synthetic_day"]

H = 3600
TOWNS = {  # name: (lat, lon, share of visits)
    "Luleå": (65.584, 22.154, 0.40),
    "Boden": (65.825, 21.689, 0.20),
    "Piteå": (65.317, 21.480, 0.20),
    "Kalix": (65.854, 23.156, 0.10),
    "Älvsbyn": (65.677, 21.004, 0.10),
}


def _travel_s(a: tuple[float, float], b: tuple[float, float]) -> int:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    km = 2 * 6371.0 * math.asin(math.sqrt(h)) * 1.3  # road detour
    speed = 40.0 if km < 8 else 75.0  # town streets versus country roads
    return round(km / speed * 3600) + (120 if km > 0 else 0)  # parking and walking


def synthetic_day(seed: int, *, n_visits: int = 30) -> tuple[PlanProblem, list[tuple[float,
                                                                                        float]]]:
    """A day with 3 units and ``n_visits`` visits; returns the problem and the points."""
    rng = random.Random(seed)
    points = [TOWNS["Luleå"][:2]]
    names = list(TOWNS)
    weights = [TOWNS[n][2] for n in names]
    visits: list[Visit] = []
    for i in range(n_visits):
        lat, lon, _ = TOWNS[rng.choices(names, weights)[0]]
        points.append((lat + rng.gauss(0, 0.03), lon + rng.gauss(0, 0.06)))
        start = rng.randrange(8 * H, 14 * H, 900)
        visits.append(Visit(
            id=f"v{i + 1:02d}", location=i + 1, window_start_s=start,
            window_end_s=start + rng.choice([2, 3, 4]) * H,
            duration_s=rng.choice([1200, 1800, 2700]),
            needs=frozenset({"doctor"}) if rng.random() < 0.15 else frozenset(),
            postpone_cost=None if rng.random() < 0.5 else rng.choice([1800, 3600, 7200])))
    travel = [[_travel_s(a, b) for b in points] for a in points]
    units = tuple(
        PlanUnit(id=f"MAE{k}", start_location=0, end_location=0, shift_start_s=8 * H,
                 shift_end_s=17 * H, competences=frozenset({"nurse", "doctor"} if k == 1
                                                          else {"nurse"}),
                 break_rule=BreakRule(earliest_start_s=11 * H, latest_start_s=13 * H,
                                      duration_s=1800))
        for k in (1, 2, 3))
    return PlanProblem(travel_s=travel, units=units, visits=tuple(visits)), points


def states_at(problem: PlanProblem, day: Plan, now: int, taken: str, callout_loc: int,
              busy_until: int) -> tuple[list[UnitState], list[str]]:
    """Unit states and done visits at ``now``; ``taken`` is on the acute callout."""
    states: list[UnitState] = []
    done: list[str] = []
    for route in day.routes:
        unit = problem.unit(route.unit_id)
        loc, under_way, free_at = unit.start_location, None, now
        brk = route.break_taken
        taken_break = brk is not None and brk.start_s < now
        for stop in route.stops:
            if stop.end_s <= now:
                done.append(stop.visit_id)
                loc = problem.visit(stop.visit_id).location
            elif stop.start_s <= now and route.unit_id != taken:
                under_way, free_at = stop.visit_id, stop.end_s
                loc = problem.visit(stop.visit_id).location
        if route.unit_id == taken:
            loc, free_at = callout_loc, busy_until
        states.append(UnitState(unit_id=route.unit_id, location=loc, free_at_s=free_at,
                                under_way=under_way, break_taken=taken_break))
    return states, done


def _score(p: Plan, problem: PlanProblem) -> int:
    """Plan cost with each unplaced mandatory visit priced at a full working day."""
    return p.cost + 9 * H * len(p.unplaced)


def main(argv: list[str] | None = None) -> None:
    """Run the scenarios and print latency and cost-gap percentiles."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", type=int, default=20)
    ap.add_argument("--replan-limit", type=float, default=0.3)
    ap.add_argument("--reference-limit", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cold", action="store_true", help="re-plan without the warm start")
    args = ap.parse_args(argv)

    problem, _ = synthetic_day(args.seed)
    day = plan(problem, time_limit_s=args.reference_limit)
    print(f"morning plan: cost {day.cost}, postponed {len(day.postponed)}, "
          f"unplaced {len(day.unplaced)}")
    rng = random.Random(args.seed)
    latencies: list[float] = []
    gaps: list[float] = []
    print(f"{'scen':>4} {'time':>5} {'unit':>5} {'latency':>8} {'replan':>7} {'scratch':>7} "
          f"{'gap%':>6}")
    for k in range(args.scenarios):
        now = rng.randrange(9 * H, 14 * H, 300)
        callout_loc = rng.randrange(1, len(problem.travel_s))
        free = [r.unit_id for r in day.routes
                if not any(s.start_s <= now < s.end_s for s in r.stops)]
        if not free:
            continue
        taken = min(free, key=lambda u: rng.random())
        busy_until = now + problem.travel_s[0][callout_loc] + 90 * 60
        states, done = states_at(problem, day, now, taken, callout_loc, busy_until)
        began = time.perf_counter()
        if args.cold:  # a single fresh search, for comparison
            rest = rest_of_day(problem, states, now_s=now, done=done)
            fast = plan(rest, time_limit_s=args.replan_limit, strict=False)
        else:
            rest, fast = replan(problem, day, states, now_s=now, done=done,
                                time_limit_s=args.replan_limit)
        latency = time.perf_counter() - began
        slow = plan(rest, time_limit_s=args.reference_limit, strict=False)
        a, b = _score(fast, rest), _score(slow, rest)
        gap = 100.0 * (a - b) / b if b else 0.0
        latencies.append(latency)
        gaps.append(gap)
        print(f"{k:4d} {now // H:02d}:{now % H // 60:02d} {taken:>5} {latency:8.3f} {a:7d} "
              f"{b:7d} {gap:6.2f}", flush=True)
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, math.ceil(0.95 * len(latencies)) - 1)]
    print(f"\nscenarios {len(latencies)}; latency p50 {statistics.median(latencies):.3f} s, "
          f"p95 {p95:.3f} s, max {latencies[-1]:.3f} s; cost gap to a "
          f"{args.reference_limit:g} s solve: mean {statistics.mean(gaps):.2f} %, "
          f"p95 {sorted(gaps)[min(len(gaps) - 1, math.ceil(0.95 * len(gaps)) - 1)]:.2f} %, "
          f"max {max(gaps):.2f} %")


if __name__ == "__main__":
    main()
