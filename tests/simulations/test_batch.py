"""Scenario x seed runs in parallel give exactly the serial results."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulations.batch import run_batch
from simulations.scenario import scenario_from_dict
from tests.simulations._tiny import matrix_scenario, save_tiny, tiny_graph, tiny_scenario


def test_parallel_equals_serial(tmp_path: Path) -> None:
    path = save_tiny(tmp_path)
    g = tiny_graph()
    a = scenario_from_dict(tiny_scenario(days=14, map={"path": str(path)},
                                         demand={"alarms_per_year": 1500}), graph=g)
    b = scenario_from_dict(tiny_scenario(days=14, map={"path": str(path)}, name="short limit",
                                         policy={"max_response_min": 40},
                                         demand={"alarms_per_year": 1500}), graph=g)
    ticks: list[int] = []
    serial = run_batch([a, b], [0, 1, 2], workers=1, progress=ticks.append)
    parallel = run_batch([a, b], [0, 1, 2], workers=2)
    assert len(ticks) == 6
    for s_runs, p_runs in zip(serial.runs, parallel.runs, strict=True):
        assert [r.records for r in s_runs.results] == [r.records for r in p_runs.results]
        # repr: a KPI without data is nan, and nan != nan
        assert [repr(k.scalars) for k in s_runs.kpis] == [repr(k.scalars) for k in p_runs.kpis]
    assert serial.runs[0].results[0].records != serial.runs[0].results[1].records


def test_seeds_sharing_a_travel_source_match_fresh_runs(tmp_path: Path) -> None:
    """Issue 16: what a run reuses is made once per scenario; results may not depend on which
    seeds ran before on the shared source."""
    from simulations.batch import _source
    from simulations.engine import simulate

    path = save_tiny(tmp_path)
    sc = scenario_from_dict(tiny_scenario(days=10, map={"path": str(path)},
                                          demand={"alarms_per_year": 2000}))
    fresh = {s: simulate(sc, seed=s).records for s in (0, 1, 2)}
    shared = {s: simulate(sc, seed=s, roads=_source(sc)).records for s in (2, 0, 1)}
    assert _source(sc) is _source(sc)
    assert shared == fresh


@pytest.mark.parametrize("kind", ["roads", "matrix"])
def test_a_shared_travel_source_starts_afresh_when_full_with_the_same_results(
        tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A long process (many seeds on one source) does not grow without bound: past the limit
    a run empties what earlier runs' scenes left, and gives the results of a fresh source."""
    import simulations.matrix
    import simulations.travel
    from simulations.engine import simulate
    from simulations.terrain import load_terrain, travel_source

    if kind == "roads":
        path = save_tiny(tmp_path)
        sc = scenario_from_dict(tiny_scenario(days=10, map={"path": str(path)},
                                              demand={"alarms_per_year": 2000}))
    else:
        sc = scenario_from_dict(matrix_scenario(days=10))
    fresh = {s: simulate(sc, seed=s).records for s in (0, 1, 2)}
    monkeypatch.setattr(simulations.travel, "KEPT_POINTS", 5)
    monkeypatch.setattr(simulations.matrix, "PLANAR_KEPT", 5)
    source = travel_source(load_terrain(sc), sc.roads)
    kept = []
    for s in (2, 0, 1):
        assert simulate(sc, seed=s, roads=source).records == fresh[s]
        memo = vars(source) if hasattr(source, "__dict__") else {}
        kept.append(sum(len(memo[k]) for k in ("_snaps", "_lines", "_pairs", "_node")
                        if k in memo))
    one_run = kept[0]
    assert one_run > 5
    assert max(kept) < 2 * one_run  # emptied before each later run, not summed over runs
