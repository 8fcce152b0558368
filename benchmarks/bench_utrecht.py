"""Validation against a published ambulance study: the Utrecht tables through a scenario file.

The province of Utrecht study (ELASPY; ``../shared/data/elaspy-utrecht/``, GPL: read from there,
never copied into this repository) gives 231 postal-code nodes in Dutch RD New metres with
population shares, a siren driving-time matrix (minutes, row = from), 5 hospitals, 21 candidate
bases and assignments of ambulances to bases. This script writes, in a temporary directory,
one alarm log per seed drawn with the study's distributions and a scenario TOML that points at
the study's own files (``[map] nodes``, ``matrix``, ``crs = "EPSG:28992"``), and runs three
configurations through ``mae``'s public interface (``load_scenario`` + ``simulate``, every step
through the dispatch core). Beside each, a plain SimPy model of the study's rules runs the same
logs in the same process. It prints our KPIs next to the SimPy model's, how many calls got the
same vehicle with the same response time (within 1e-5 min), and the wall time of both.

The study's rules, as scenario keys: closest free ambulance by siren time, including one
driving back to base, which starts again from the node nearest to where it is
(``sent_on = "nearest_node"``); no merging of calls (``merge = false``); the drive back 5 %
slower without siren (``return_speed_factor = 0.95``); a patient goes to the hospital nearest by
time with probability 0.63; no dispatch or turnout delay; calls wait first-come first-served.

    .venv/bin/python benchmarks/bench_utrecht.py [--days 7] [--seeds 3] [--data DIR]
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulations.engine import simulate  # noqa: E402
from simulations.kpi import summarize  # noqa: E402
from simulations.scenario import load_scenario  # noqa: E402

T0 = datetime(2026, 1, 5, tzinfo=UTC)
#: The study's demand and service times (ELASPY's main.py defaults): a call every 7.75 min on
#: average; on-site aid and hospital handover lognormal (sigma, location, scale) with a
#: 88-minute cap; 63 % of patients go to hospital; the drive back at 0.95 of siren speed.
CALL_EVERY_MIN = 7.75
AID = (0.38, -10.01, 37.00, 88.0)
DROP_OFF = (0.39, -8.25, 35.89, 88.0)
TO_HOSPITAL = 0.63
NO_SIREN = 0.95
NODES = "nodes_Utrecht_2021.csv"
MATRIX = "siren_driving_matrix_2022.csv"
HOSPITALS = "Hospital_Postal_Codes_Utrecht_2021.csv"
CONFIGURATIONS = (
    ("20 ambulances (study's bases)", "Base_Locations_Ambulances_MEXCLP_21_22_20.csv"),
    ("12 ambulances (derived bases)", "Base_Locations_Ambulances_MEXCLP_12_derived.csv"),
    ("21 ambulances, one per candidate base", "RAVU_base_locations_Utrecht_2021.csv"),
)


def find_data(given: Path | None) -> Path | None:
    """``../shared/data/elaspy-utrecht`` beside this checkout (or a worktree of it).

    A given folder is made absolute: the scenario files are written in a temporary folder and
    read their tables relative to it.
    """
    if given is not None:
        return given.resolve() if given.is_dir() else None
    for parent in ROOT.parents:
        candidate = parent / "shared" / "data" / "elaspy-utrecht"
        if candidate.is_dir():
            return candidate
    return None


def column(path: Path, index: int = 0) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = [r for r in csv.reader(fh) if r]
    return [r[index].strip() for r in rows[1:]]


@dataclass(frozen=True)
class Study:
    ids: list[str]
    xy: np.ndarray  # RD New metres
    share: np.ndarray
    minutes: np.ndarray  # [from, to]
    hospitals: list[str]

    @classmethod
    def read(cls, data: Path) -> Study:
        with (data / NODES).open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
        ids = [r["postal code"].strip() for r in rows]
        xy = np.array([[float(r["x"]), float(r["y"])] for r in rows])
        share = np.array([float(r["inhabitants"]) for r in rows])
        with (data / MATRIX).open(newline="", encoding="utf-8-sig") as fh:
            mrows = list(csv.reader(fh))
        order = [c.strip() for c in mrows[0][1:]]
        by_id = {r[0].strip(): [float(v) for v in r[1:]] for r in mrows[1:]}
        col = [order.index(i) for i in ids]
        minutes = np.array([[by_id[i][c] for c in col] for i in ids])
        return cls(ids, xy, share / share.sum(), minutes, column(data / HOSPITALS))


@dataclass(frozen=True)
class Call:
    minute: float
    node: str
    to_hospital: bool
    aid_min: float
    drop_min: float


def _lognormal(rng: np.random.Generator, params: tuple[float, float, float, float],
               n: int) -> np.ndarray:
    sigma, loc, scale, cap = params
    return np.clip(loc + scale * rng.lognormal(0.0, sigma, n), 0.0, cap)


def draw_calls(study: Study, days: int, seed: int) -> list[Call]:
    """One run's calls with the study's distributions, values rounded as the log writes them."""
    rng = np.random.default_rng([110, seed])
    end = days * 1440.0
    gaps = rng.exponential(CALL_EVERY_MIN, int(end / CALL_EVERY_MIN * 1.3) + 50)
    at = np.cumsum(gaps)
    at = at[at < end]
    n = len(at)
    nodes = rng.choice(len(study.ids), size=n, p=study.share)
    hosp = rng.random(n) < TO_HOSPITAL
    aid = _lognormal(rng, AID, n)
    drop = _lognormal(rng, DROP_OFF, n)
    return [Call(round(float(at[i]), 4), study.ids[int(nodes[i])], bool(hosp[i]),
                 round(float(aid[i]), 6), round(float(drop[i]), 6)) for i in range(n)]


def write_log(calls: Sequence[Call], path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["received_at", "node", "transport", "on_scene_min", "at_facility_min"])
        for c in calls:
            when = T0 + timedelta(minutes=c.minute)
            w.writerow([when.isoformat(), c.node, "yes" if c.to_hospital else "no",
                        f"{c.aid_min:.6f}", f"{c.drop_min:.6f}"])
    return path


def fleet(data: Path, file: str) -> list[tuple[str, int]]:
    """(base node, ambulances) in first-seen order from an assignment or base-list file."""
    with (data / file).open(newline="", encoding="utf-8-sig") as fh:
        rows = [r for r in csv.reader(fh) if r]
    bases = [r[-1].strip() for r in rows[1:]]
    return [(b, bases.count(b)) for b in dict.fromkeys(bases)]


def unit_ids(bases: list[tuple[str, int]]) -> list[tuple[str, str]]:
    """(unit id, base node) as ``count = N`` names them: ``B3417`` or ``B3417-1`` ..."""
    out: list[tuple[str, str]] = []
    for node, n in bases:
        names = [f"B{node}"] if n == 1 else [f"B{node}-{k}" for k in range(1, n + 1)]
        out.extend((name, node) for name in names)
    return out


def scenario_toml(data: Path, name: str, bases: list[tuple[str, int]], study: Study,
                  logs: list[Path], days: int) -> str:
    lines = [
        f'name = "{name}"', 'start = "2026-01-05"', f"days = {days + 1}", 'timezone = "UTC"',
        "", "[map]", f'nodes = "{data / NODES}"', f'matrix = "{data / MATRIX}"',
        'crs = "EPSG:28992"',
        "[map.columns]", 'id = "postal code"', 'population = "inhabitants"', "",
        "[policy]", 'kind = "closest_idle"', "max_response_min = 1440", "queue = true", "",
        "[dispatch]", "merge = false", f"return_speed_factor = {NO_SIREN}",
        'sent_on = "nearest_node"', "",
        "[service]", "ack_s = 0", "turnout_min = 0", 'transport_to = "hospital"', "",
        "[kpi]", "utilisation_from_min = 60", f"utilisation_to_min = {days * 1440}", "",
        "[demand]", 'kind = "replay"', "csv = [" + ", ".join(f'"{p}"' for p in logs) + "]", "",
    ]
    for h in study.hospitals:
        lines += ["[[facilities]]", f'name = "Hospital {h}"', 'kind = "hospital"',
                  f'node = "{h}"', ""]
    for node, n in bases:
        lines += ["[[bases]]", f'id = "b{node}"', f'node = "{node}"', ""]
        lines += ["[[units]]", f'id = "B{node}"', f'base = "b{node}"', f"count = {n}",
                  'shifts = "24/7"', ""]
    return "\n".join(lines)


def reference(study: Study, bases: list[tuple[str, int]], calls: Sequence[Call],
              util_window: tuple[float, float]) -> dict[str, Any]:
    """The study's rules as a plain SimPy model (minutes); returns per-call results."""
    import simpy
    from scipy.spatial import cKDTree

    env = simpy.Environment()
    index = {nid: i for i, nid in enumerate(study.ids)}
    tree = cKDTree(study.xy)
    m = study.minutes
    hospitals = sorted(index[h] for h in study.hospitals)
    units: list[dict[str, Any]] = [
        {"id": uid, "base": index[node], "state": "idle", "leg": None, "token": 0}
        for uid, node in unit_ids(bases)]
    queue: list[int] = []
    out: dict[int, tuple[str, float]] = {}
    busy: list[tuple[float, float]] = []
    queued = [False] * len(calls)

    def where(u: dict[str, Any]) -> int:
        if u["leg"] is None:
            return int(u["base"])
        a, b, t0, t1 = u["leg"]
        f = 1.0 if t1 <= t0 else (env.now - t0) / (t1 - t0)
        p = study.xy[a] + f * (study.xy[b] - study.xy[a])
        return int(tree.query(p)[1])

    def assign(i: int) -> bool:
        free = [u for u in units if u["state"] != "busy"]
        if not free:
            return False
        target = index[calls[i].node]
        best = min(free, key=lambda u: (m[where(u), target], u["id"]))
        travel = float(m[where(best), target])
        best["state"], best["leg"] = "busy", None
        best["token"] += 1
        env.process(job(i, best, travel))
        return True

    def job(i: int, u: dict[str, Any], travel: float) -> Any:
        c = calls[i]
        start = env.now
        yield env.timeout(travel)
        out[i] = (u["id"], env.now - c.minute)
        yield env.timeout(c.aid_min)
        here = index[c.node]
        if c.to_hospital:
            h = min(hospitals, key=lambda k: (m[here, k], f"Hospital {study.ids[k]}"))
            yield env.timeout(float(m[here, h]) + c.drop_min)
            here = h
        busy.append((start, env.now))
        back = float(m[here, u["base"]]) / NO_SIREN
        u["state"] = "returning" if here != u["base"] else "idle"
        u["leg"] = (here, u["base"], env.now, env.now + back) if here != u["base"] else None
        env.process(home(u, u["token"], back))
        while queue and assign(queue[0]):
            queue.pop(0)

    def home(u: dict[str, Any], token: int, after: float) -> Any:
        yield env.timeout(after)
        if u["token"] == token and u["state"] == "returning":
            u["state"], u["leg"] = "idle", None

    def arrivals() -> Any:
        for i, c in enumerate(calls):
            yield env.timeout(c.minute - env.now)
            if queue or not assign(i):
                queue.append(i)
                queued[i] = True

    env.process(arrivals())
    env.run()
    lo, hi = util_window
    inside = sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in busy)
    return {"out": out, "queued": queued, "utilisation": inside / (len(units) * (hi - lo))}


def stats(resp: np.ndarray) -> dict[str, float]:
    return {"mean": float(resp.mean()), "p50": float(np.percentile(resp, 50)),
            "p90": float(np.percentile(resp, 90)), "p95": float(np.percentile(resp, 95)),
            "within_15": float((resp <= 15).mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7, help="days of calls per seed")
    parser.add_argument("--seeds", type=int, default=3, help="alarm logs (seeds 0..N-1)")
    parser.add_argument("--data", type=Path, default=None, help="the elaspy-utrecht folder")
    args = parser.parse_args()
    data = find_data(args.data)
    if data is None:
        print("no ../shared/data/elaspy-utrecht folder: nothing to validate against")
        return
    study = Study.read(data)
    print(f"Utrecht study tables: {len(study.ids)} nodes, {len(study.hospitals)} hospitals; "
          f"{args.days} days of calls per seed, seeds 0..{args.seeds - 1}")
    head = (f"{'configuration':<38} {'seed':>4} {'calls':>5} {'model':>5} {'mean':>6} "
            f"{'p50':>6} {'p90':>6} {'p95':>6} {'<=15':>6} {'queued':>6} {'util':>6} "
            f"{'same':>9} {'wall s':>6} {'cpu s':>6} {'x ours':>6}")
    print(head)
    print("-" * len(head))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        seeds = list(range(args.seeds))
        calls = {s: draw_calls(study, args.days, s) for s in seeds}
        logs = [write_log(calls[s], folder / f"calls-{s}.csv") for s in seeds]
        for name, file in CONFIGURATIONS:
            bases = fleet(data, file)
            toml = folder / f"{file}.toml"
            toml.write_text(scenario_toml(data, name, bases, study, logs, args.days),
                            encoding="utf-8")
            sc = load_scenario(toml)
            for s in seeds:
                t, c = time.perf_counter(), time.process_time()
                run = simulate(sc, seed=s)
                ours_s, ours_cpu = time.perf_counter() - t, time.process_time() - c
                k = summarize(run, sc).scalars
                t, c = time.perf_counter(), time.process_time()
                ref = reference(study, bases, calls[s], (60.0, args.days * 1440.0))
                ref_s, ref_cpu = time.perf_counter() - t, time.process_time() - c
                by_ref = {r.reference: r for r in run.records}
                same = 0
                for i, (unit, resp) in ref["out"].items():
                    r = by_ref.get(f"row{i + 2}")
                    if r is not None and r.unit_id == unit and r.response_s is not None and \
                            abs(r.response_s / 60 - resp) <= 1e-5:
                        same += 1
                ours = np.array([r.response_s / 60 for r in run.records
                                 if r.response_s is not None])
                theirs = np.array([v[1] for v in ref["out"].values()])
                n = len(calls[s])
                rows = (("ours", stats(ours), k["queued_share"], k["utilisation"], ours_s,
                         ours_cpu),
                        ("simpy", stats(theirs), sum(ref["queued"]) / n, ref["utilisation"],
                         ref_s, ref_cpu))
                for label, st, q, u, secs, cpu in rows:
                    print(f"{name[:38]:<38} {s:>4} {n:>5} {label:>5} {st['mean']:>6.2f} "
                          f"{st['p50']:>6.2f} {st['p90']:>6.2f} {st['p95']:>6.2f} "
                          f"{st['within_15'] * 100:>5.1f}% {q * 100:>5.1f}% {u * 100:>5.1f}% "
                          f"{f'{same}/{n}' if label == 'ours' else '':>9} {secs:>6.2f} "
                          f"{cpu:>6.2f} {cpu / ours_cpu:>6.2f}")
    print("same: calls with the same vehicle and a response within 1e-5 min of the SimPy "
          "model's; percentiles by linear interpolation (numpy's default) in both; util: "
          "time from dispatch to the job's end over ambulance time, from minute 60; cpu s: "
          "process time of the run (wall time on a shared machine counts other work too); "
          "x ours: cpu s over ours")


if __name__ == "__main__":
    main()
