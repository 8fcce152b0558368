"""One simulated year of county demand: our simulator (the real dispatch core) against SimPy.

Both models get the same scenario (today's three Norrbotten bases, 14-02 every day), the same
alarms (``simulations.demand.build_demand``), the same driving times (from ``routing`` through
``simulations.travel.SimRoads``) and the closest-idle policy. Ours drives every step through
``dispatch.commands.decide`` and the event fold; the SimPy baseline is a plain process model
with driving times looked up in tables built before its clock starts (so its time excludes the
routing ours does on the fly). Prints wall time, alarms and events per second, and the main
KPIs of both so the models can be seen to agree.

    .venv/bin/python benchmarks/bench_simulation.py [--alarms 4000] [--seeds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import simpy

from simulations.demand import DemandAlarm, build_demand, run_start
from simulations.engine import shift_intervals, simulate
from simulations.kpi import summarize
from simulations.scenario import CARRIER, Scenario, SyntheticDemand, load_scenario
from simulations.terrain import travel_source
from simulations.travel import SimRoads

SCENARIO = Path(__file__).parents[1] / "simulations" / "scenarios" / "norrbotten_today.toml"


def simpy_model(sc: Scenario, alarms: list[DemandAlarm], tables: dict[str, Any]) -> dict[str, Any]:
    """The same scenario as a plain SimPy model; returns response times and counts."""
    env = simpy.Environment()
    units = [u.id for u in sc.units]
    shifts = {u.id: shift_intervals(sc, u) for u in sc.units}
    idle = dict.fromkeys(units, True)
    limit = sc.policy.max_response_min * 60
    extra = sc.service.ack_s + sc.service.turnout_min * 60
    waiting: list[int] = []
    response: list[float] = []
    fallback = {"n": 0}
    events = {"n": 0}

    def on_duty(u: str, t: float) -> bool:
        return any(a <= t < b for a, b in shifts[u])

    def try_assign(i: int) -> bool:
        t = env.now
        best = None
        for k, u in enumerate(units):
            if idle[u] and on_duty(u, t):
                travel = tables["to_scene"][i][k]
                if t - tables["at"][i] + extra + travel <= limit and (
                    best is None or travel < best[0]
                ):
                    best = (travel, u, k)
        if best is None:
            return False
        idle[best[1]] = False
        env.process(job(i, best[1], best[2], best[0]))
        return True

    def serve() -> None:
        for i in list(waiting):
            if try_assign(i):
                waiting.remove(i)

    def job(i: int, u: str, k: int, travel: float) -> Any:
        a = alarms[i]
        assert a.on_scene_s is not None and a.at_facility_s is not None  # build_demand drew them
        yield env.timeout(extra + travel)
        response.append(env.now - tables["at"][i])
        yield env.timeout(a.on_scene_s)
        home = tables["scene_home"][i][k]
        if a.outcome is not None and CARRIER.get(a.outcome) == "mae":
            yield env.timeout(tables["to_facility"][i] + a.at_facility_s)
            home = tables["facility_home"][i][k]
        yield env.timeout(home)
        idle[u] = True
        events["n"] += 4
        serve()

    def deadline(i: int) -> Any:
        yield env.timeout(limit)
        if i in waiting:
            waiting.remove(i)
            fallback["n"] += 1

    def arrivals() -> Any:
        for i in range(len(alarms)):
            yield env.timeout(max(0.0, tables["at"][i] - env.now))
            events["n"] += 1
            if not try_assign(i):
                if any(not idle[u] for u in units) or any(
                    env.now < a < env.now + limit for u in units for a, _ in shifts[u]
                ):
                    waiting.append(i)
                    env.process(deadline(i))
                else:
                    fallback["n"] += 1

    def shift_starts() -> Any:
        starts = sorted(a for u in units for a, _ in shifts[u])
        for a in starts:
            yield env.timeout(max(0.0, a - env.now))
            serve()

    env.process(arrivals())
    env.process(shift_starts())
    env.run()
    return {"response": response, "fallback": fallback["n"], "events": events["n"]}


def travel_tables(sc: Scenario, alarms: list[DemandAlarm], roads: SimRoads) -> dict[str, Any]:
    t0 = run_start(sc)
    bases = [(sc.base(u.base).lat, sc.base(u.base).lon) for u in sc.units]
    facilities = [(f.lat, f.lon) for f in roads.graph.facilities if f.is_a(
        sc.service.transport_to)]
    roads.register(bases + facilities, [(a.lat, a.lon) for a in alarms])
    out: dict[str, Any] = {"at": [], "to_scene": [], "scene_home": [], "to_facility": [],
                           "facility_home": []}
    for a in alarms:
        when = a.received_at
        scene = (a.lat, a.lon)
        out["at"].append((a.received_at - t0).total_seconds())
        out["to_scene"].append([roads.time(b, scene, when) for b in bases])
        out["scene_home"].append([roads.time(scene, b, when) for b in bases])
        times = [roads.time(scene, f, when) for f in facilities]
        j = int(np.argmin(times))
        out["to_facility"].append(times[j])
        out["facility_home"].append([roads.time(facilities[j], b, when) for b in bases])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alarms", type=float, default=4000, help="alarms per year")
    parser.add_argument("--seeds", type=int, default=3, help="timed runs (seeds 0..N-1)")
    args = parser.parse_args()
    base = load_scenario(SCENARIO)
    assert isinstance(base.demand, SyntheticDemand)
    sc = replace(base, demand=replace(base.demand, alarms_per_year=args.alarms))
    from maps.bundled import load_bundled

    graph = load_bundled()
    # What a scenario's runs share (snapping, prepared routing per driving situation), made
    # once per scenario as simulations.batch does, with a short warm-up run.
    t = time.process_time()
    roads = travel_source(graph, sc.roads, sc.timezone)
    simulate(sc, seed=99, graph=graph, demand=build_demand(sc, graph, seed=99)[:50],
             roads=roads)
    prep_s = time.process_time() - t
    rows = []
    for seed in range(args.seeds):
        alarms = build_demand(sc, graph, seed=seed)
        t = time.process_time()
        ours = simulate(sc, seed=seed, graph=graph, demand=alarms, roads=roads)
        ours_s = time.process_time() - t
        k = summarize(ours, sc)
        tables = travel_tables(sc, alarms, SimRoads(graph, sc.roads, sc.timezone))
        t = time.process_time()
        base_run = simpy_model(sc, alarms, tables)
        simpy_s = time.process_time() - t
        resp = np.array(base_run["response"]) / 60
        rows.append((seed, len(alarms), ours_s, ours.events, simpy_s, base_run["events"],
                     k.scalars["response_p50_min"], float(np.percentile(resp, 50)),
                     k.scalars["unserved_share"], base_run["fallback"] / len(alarms)))
    print(f"one simulated year, {args.alarms:.0f} alarms/year, scenario: {sc.name}; "
          f"seconds are process time; shared preparation and warm-up {prep_s:.2f} s")
    head = (f"{'seed':>4} {'alarms':>6} {'ours s':>7} {'events':>7} {'ev/s':>8} {'alarm/s':>8} "
            f"{'simpy s':>7} {'x ours':>6} {'p50 ours':>8} {'p50 simpy':>9} "
            f"{'unserved ours':>13} {'unserved simpy':>14}")
    print(head)
    print("-" * len(head))
    for r in rows:
        seed, n, o_s, o_ev, s_s, _s_ev, p_o, p_s, u_o, u_s = r
        print(f"{seed:>4} {n:>6} {o_s:>7.2f} {o_ev:>7} {o_ev / o_s:>8.0f} {n / o_s:>8.0f} "
              f"{s_s:>7.2f} {s_s / o_s:>6.2f} {p_o:>8.1f} {p_s:>9.1f} {u_o:>13.3f} {u_s:>14.3f}")
    print(f"median ours {statistics.median(r[2] for r in rows):.2f} s, "
          f"simpy {statistics.median(r[4] for r in rows):.2f} s")


if __name__ == "__main__":
    main()
