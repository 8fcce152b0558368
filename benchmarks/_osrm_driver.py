"""OSRM side of bench_traveltime.py, run by the Python 3.12 venv that osrm-bindings needs.

Usage: python _osrm_driver.py REQUEST.json  — the request names an ``.osm.pbf`` file, query
coordinates and repeat counts; the answer (timings in seconds) is printed as one JSON line.
Contraction hierarchies (``osrm-contract``), car profile shipped with the package.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import osrm


def _osrm_tool(command: str, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "osrm", command, *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q / 100 * (len(xs) - 1)))]


def main() -> None:
    req = json.loads(Path(sys.argv[1]).read_text())
    pbf = Path(req["pbf"])
    base = pbf.with_name(pbf.name.removesuffix(".osm.pbf"))
    profile = Path(osrm.__file__).parent / "share" / "profiles" / "car.lua"
    t0 = time.perf_counter()
    _osrm_tool("extract", "-p", str(profile), str(pbf))
    _osrm_tool("contract", str(base) + ".osrm")
    prep = time.perf_counter() - t0
    engine = osrm.OSRM(storage_config=str(base) + ".osrm", algorithm="CH", use_shared_memory=False,
                       max_locations_distance_table=1000, max_locations_viaroute=1000)
    pts = [tuple(p) for p in req["points"]]  # (lon, lat)
    out: dict[str, object] = {"prep_s": prep}
    reps = req["repeats"]
    for k in (20, 50):
        times = []
        for i in range(reps):
            target = pts[i % 100]
            sources = pts[100:100 + k]
            params = osrm.TableParameters(coordinates=[target, *sources],
                                          sources=list(range(1, k + 1)), destinations=[0])
            t = time.perf_counter()
            engine.Table(params)
            times.append(time.perf_counter() - t)
        out[f"eta{k}_p50"] = statistics.median(times)
        out[f"eta{k}_p99"] = _pct(times, 99)
    times = []
    for i in range(min(reps, 100)):
        params = osrm.RouteParameters(coordinates=[pts[i % 100], pts[(i + 50) % 100]],
                                      steps=True, overview="full", geometries="geojson")
        t = time.perf_counter()
        engine.Route(params)
        times.append(time.perf_counter() - t)
    out["route_p50"] = statistics.median(times)
    out["route_p99"] = _pct(times, 99)
    times = []
    for _ in range(3):
        params = osrm.TableParameters(coordinates=pts[:100])
        t = time.perf_counter()
        engine.Table(params)
        times.append(time.perf_counter() - t)
    out["matrix100"] = statistics.median(times)
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


if __name__ == "__main__":
    main()
