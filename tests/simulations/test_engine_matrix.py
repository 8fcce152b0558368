"""The simulator on a matrix region (issue 16), through the same dispatch core, against
answers worked out by hand from ``tests/data/matrix/times.csv`` (minutes, row = from)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatch.events import UnitStatusChanged
from dispatch.status import UnitStatus
from simulations.engine import simulate
from simulations.matrix import MatrixMap
from simulations.scenario import scenario_from_dict
from simulations.terrain import load_terrain
from tests.simulations._tiny import matrix_scenario

HEADER = "received_at,node,transport,on_scene_min,at_facility_min\n"


def log(tmp_path: Path, rows: str, name: str = "log.csv") -> Path:
    p = tmp_path / name
    p.write_text(HEADER + rows, encoding="utf-8")
    return p


def test_a_call_takes_the_matrix_minutes_and_goes_to_the_hospital(tmp_path: Path) -> None:
    sc = scenario_from_dict(matrix_scenario(log(tmp_path, "2026-01-05T10:00:00Z,B,yes,20,10\n")))
    res = simulate(sc, keep_log=True)
    (r,) = res.records
    assert r.response_s == 600.0  # A -> B: 10 min
    assert (r.transport, r.facility) == ("mae", "Hospital C")
    # on scene 20, B -> C 15 min, handover 10: the outcome 55 min after arriving.
    assert r.done_s is not None and r.done_s - r.alarm_s == pytest.approx((10 + 20 + 15 + 10) * 60)
    home = [e.event.at for e in res.log or () if isinstance(e.event, UnitStatusChanged)
            and e.event.status is UnitStatus.AVAILABLE]
    # the drive home C -> A: 12 min.
    assert (home[-1] - res.start).total_seconds() == pytest.approx(r.done_s + 12 * 60)


def test_the_drive_home_speed_factor_stretches_the_drive_home(tmp_path: Path) -> None:
    data = matrix_scenario(log(tmp_path, "2026-01-05T10:00:00Z,B,no,20,\n"),
                           dispatch={"return_speed_factor": 0.5})
    res = simulate(scenario_from_dict(data), keep_log=True)
    (r,) = res.records
    home = [e.event.at for e in res.log or () if isinstance(e.event, UnitStatusChanged)
            and e.event.status is UnitStatus.AVAILABLE]
    assert r.done_s is not None
    assert (home[-1] - res.start).total_seconds() == pytest.approx(r.done_s + 2 * 11 * 60)


def test_merging_off_keeps_two_calls_at_one_node_apart(tmp_path: Path) -> None:
    rows = "2026-01-05T10:00:00Z,B,no,20,\n2026-01-05T10:05:00Z,B,no,20,\n"
    on = simulate(scenario_from_dict(matrix_scenario(log(tmp_path, rows))))
    off = simulate(scenario_from_dict(matrix_scenario(log(tmp_path, rows),
                                                      dispatch={"merge": False})))
    assert len(on.records) == 1 and on.records[0].merged_alarms == 1
    assert len(off.records) == 2
    second = off.records[1]
    # One car: the second call waits until the first is done (10:30) and the car, at B, goes.
    assert second.queued and second.wait_s == pytest.approx(25 * 60)
    assert second.response_s == pytest.approx(25 * 60)


def test_identical_units_share_the_load(tmp_path: Path) -> None:
    rows = "2026-01-05T10:00:00Z,B,no,20,\n2026-01-05T10:01:00Z,D,no,20,\n"
    data = matrix_scenario(log(tmp_path, rows), dispatch={"merge": False},
                           units=[{"id": "AMB", "base": "a", "count": 2, "shifts": "24/7"}])
    res = simulate(scenario_from_dict(data))
    assert [(r.unit_id, r.response_s) for r in res.records] == [("AMB-1", 600.0),
                                                                 ("AMB-2", 1800.0)]


def test_several_logs_are_replayed_as_seeds(tmp_path: Path) -> None:
    one = log(tmp_path, "2026-01-05T10:00:00Z,B,no,20,\n", "one.csv")
    two = log(tmp_path, "2026-01-05T11:00:00Z,D,no,20,\n", "two.csv")
    data = matrix_scenario(one)
    data["demand"] = {"kind": "replay", "csv": [str(one), str(two)]}
    sc = scenario_from_dict(data)
    times = [[r.response_s for r in simulate(sc, seed=s).records] for s in range(3)]
    assert times == [[600.0], [1800.0], [600.0]]


def test_synthetic_demand_lands_on_populated_nodes() -> None:
    sc = scenario_from_dict(matrix_scenario())
    from simulations.demand import build_demand

    alarms = build_demand(sc, load_terrain(sc), seed=1)
    region = load_terrain(sc)
    assert isinstance(region, MatrixMap)
    assert len(alarms) > 3
    for a in alarms:  # at a node (to the 6 decimals written), named by its id
        i = region.index(a.place)
        assert abs(a.lat - region.lat[i]) < 1e-6 and abs(a.lon - region.lon[i]) < 1e-6
