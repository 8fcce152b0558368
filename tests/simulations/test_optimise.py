"""The optimise -> simulate -> busy fraction loop on the tiny map, where the answers can be
worked out by hand: Alpha-Beta 30 min, Beta-Gamma 20 min, Alpha-Delta 150 min, plus 5.5 min of
acknowledge and turnout; 1000, 500, 200 and 100 people."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulations.errors import ScenarioError
from simulations.matrix import MatrixMap
from simulations.optimise import OptimiseOptions, measured_busy, optimise, weekly_hours
from simulations.optimise_model import demand_by_hour, periods_of
from simulations.optimise_report import frontier_rows
from simulations.optimise_write import to_toml
from simulations.scenario import Scenario, load_graph_for, load_scenario
from simulations.terrain import load_terrain
from tests.simulations._tiny import matrix_scenario, save_tiny, tiny_scenario


def baseline(tmp_path: Path, **overrides: object) -> Scenario:
    save_tiny(tmp_path)
    data = tiny_scenario(
        days=14, map={"path": "tiny.maegraph"}, demand={"alarms_per_year": 1500}, **overrides
    )
    path = tmp_path / "base.toml"
    path.write_text(to_toml(data), encoding="utf-8")
    return load_scenario(path)


def test_bases_go_where_the_model_covers_most_and_the_loop_feeds_back_busy(
    tmp_path: Path,
) -> None:
    """Within 40 min a base at Beta reaches Alpha, Beta and Gamma (1700 people); Alpha
    reaches 1500, Gamma 700, Delta 100. The busy fraction of each round is what the
    simulation of the round before measured."""
    sc = baseline(tmp_path)
    options = OptimiseOptions(
        bases=1,
        candidates="all-localities",
        limit_min=40,
        seeds=(0, 1),
        workers=1,
        max_iterations=3,
        tolerance=0.0,
    )
    opt = optimise(sc, options, out_dir=tmp_path / "out")
    (level,) = opt.levels
    assert level.result.open_sites == ("beta",)
    places, demand = demand_by_hour(sc, load_graph_for(sc.map_path))
    busy = level.iterations[-1].busy
    expected = sum(
        demand[i, p] * (1 - busy[p % 24])
        for i, place in enumerate(places)
        if place.name != "Delta"
        for p in range(168)
    )
    assert level.result.objective == pytest.approx(expected)
    assert level.result.total_demand == pytest.approx(demand.sum())
    assert level.iterations[0].busy == measured_busy(opt.baseline)
    for before, after in zip(level.iterations, level.iterations[1:], strict=False):
        assert after.busy == before.measured
    assert len(level.iterations) <= 3
    assert level.settled == (level.iterations[-1].change <= 0.0)
    design = load_scenario(level.path)
    assert [b.id for b in design.bases] == ["beta"]
    assert weekly_hours(design) == weekly_hours(sc) == 168


def test_kept_bases_stay_even_when_another_covers_more(tmp_path: Path) -> None:
    sc = baseline(tmp_path)
    options = OptimiseOptions(
        bases=1,
        candidates="all-localities",
        limit_min=40,
        keep=("alpha",),
        seeds=(0,),
        workers=1,
        max_iterations=1,
    )
    (level,) = optimise(sc, options, out_dir=tmp_path / "out").levels
    assert level.result.open_sites == ("alpha",)
    with pytest.raises(ScenarioError, match="keep"):
        optimise(
            sc,
            OptimiseOptions(bases=1, keep=("nowhere",), seeds=(0,), workers=1),
            out_dir=tmp_path / "out",
        )


def test_more_staffed_hours_reach_more_incidents_in_the_simulation(tmp_path: Path) -> None:
    """One base at Alpha with 8, 16 or 24 staffed hours a day: the simulated frontier rises
    with the budget, and the model's promise with it."""
    sc = baseline(tmp_path)
    options = OptimiseOptions(
        bases=1,
        budgets=(168, 56, 112),
        shift_starts=(0, 8, 16),
        shift_lengths=(8,),
        max_cars_per_base=1,
        seeds=(0, 1),
        workers=1,
        max_iterations=2,
    )
    opt = optimise(sc, options, out_dir=tmp_path / "out")
    assert [lv.budget_hours for lv in opt.levels] == [56, 112, 168]
    assert [lv.result.staffed_hours for lv in opt.levels] == [56, 112, 168]
    rows = [r for r in frontier_rows(opt, []) if r["kind"] == "optimised"]
    reached = [r["reached_within_90_min"].mean for r in rows]
    alone = [r["handled_alone_share"].mean for r in rows]
    model = [r["model_covered_share"] for r in rows]
    assert reached == sorted(reached) and reached[0] < reached[-1]
    assert alone == sorted(alone, reverse=True) and alone[-1] < alone[0]
    assert model == sorted(model) and model[0] < model[-1]
    for level in opt.levels:
        assert level.path.name == f"optimised-1-bases-{level.budget_hours:g}h.toml"
        design = load_scenario(level.path)
        assert weekly_hours(design) == level.budget_hours


def test_the_night_minimum_puts_a_car_on_every_night_hour(tmp_path: Path) -> None:
    sc = baseline(tmp_path)
    options = OptimiseOptions(
        bases=1,
        budgets=(112,),
        shift_starts=(0, 8, 16),
        shift_lengths=(8,),
        max_cars_per_base=1,
        min_night_cars=1,
        night=(22, 6),
        seeds=(0,),
        workers=1,
        max_iterations=1,
    )
    (level,) = optimise(sc, options, out_dir=tmp_path / "out").levels
    design = load_scenario(level.path)
    on = set().union(*(periods_of(u.shifts) for u in design.units))
    assert all(d * 24 + h in on for d in range(7) for h in (22, 23, 0, 1, 2, 3, 4, 5))
    assert {u.shifts[0].start_min for u in design.units} == {0, 16 * 60}


def test_on_a_matrix_map_the_base_moves_to_the_node_that_reaches_most(tmp_path: Path) -> None:
    """tests/data/matrix: within 14 min node A reaches A, B and C (90 % of the weight), B
    reaches B and A (70 %), C reaches C and A (60 %), D only itself (10 %)."""
    data = matrix_scenario(
        days=14,
        bases=[{"id": "d", "node": "D"}],
        units=[{"id": "AMB", "base": "d", "shifts": "24/7"}],
    )
    path = tmp_path / "matrix.toml"
    path.write_text(to_toml(data), encoding="utf-8")
    sc = load_scenario(path)
    options = OptimiseOptions(
        bases=1, candidates="all-localities", limit_min=14, seeds=(0,), workers=1, max_iterations=1
    )
    (level,) = optimise(sc, options, out_dir=tmp_path / "out").levels
    design = load_scenario(level.path)
    assert sc.matrix is not None  # a matrix scenario
    assert design.matrix is not None and design.matrix.nodes == sc.matrix.nodes
    terrain = load_terrain(design)
    (base,) = design.bases
    assert isinstance(terrain, MatrixMap)
    assert terrain.ids[int(terrain.nearest([base.lat], [base.lon])[0])] == "A"


def test_a_design_that_comes_back_stops_the_loop_as_a_cycle(tmp_path: Path) -> None:
    """On the matrix region with a 5 min limit each node covers only itself, and calls a base
    cannot reach within 5 min go to the agency that raised them. Calls at D (three hours) weigh
    more than those at B (two), so round 1 puts the base at D; its car is then busy in D's
    hours, which makes B worth more in round 2; the car at B is busy in B's hours, so round 3
    asks for D again: a design already proposed, with a busy fraction that has not settled."""
    rows = [
        "2026-01-05T10:00:00Z,B,no,60,",
        "2026-01-05T14:00:00Z,B,no,60,",
        "2026-01-05T20:00:00Z,D,no,60,",
        "2026-01-05T22:00:00Z,D,no,60,",
        "2026-01-05T23:00:00Z,D,no,60,",
    ]
    log = tmp_path / "log.csv"
    log.write_text(
        "received_at,node,transport,on_scene_min,at_facility_min\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    data = matrix_scenario(
        log, policy={"kind": "closest_idle", "max_response_min": 5, "fallback": "source"}
    )
    path = tmp_path / "cycle.toml"
    path.write_text(to_toml(data), encoding="utf-8")
    sc = load_scenario(path)
    options = OptimiseOptions(
        bases=1, candidates="all-localities", limit_min=5, seeds=(0,), workers=1, max_iterations=6
    )
    (level,) = optimise(sc, options, out_dir=tmp_path / "out").levels
    assert [it.result.open_sites for it in level.iterations] == [("d",), ("b",), ("d",)]
    assert level.stop == "cycle" and not level.settled
    assert level.iterations[-1].change > options.tolerance
    assert "designs repeat in a cycle" in level.path.read_text(encoding="utf-8")
    assert [b.id for b in load_scenario(level.path).bases] == ["d"]


def test_the_busy_fraction_counts_each_shift_once_however_many_a_unit_has() -> None:
    """U1 works ten daily 12:00-13:00 (UTC) shifts, on a callout for the first half hour of
    each; U2 one such shift, idle: 5 busy hours in 11 on duty at 12 o'clock. (Spans of the
    run were made one per shift, so a unit's shifts counted as often as it had shifts: U1
    weighed ten times, 0.495, and its busy time was clipped a hundred times over.)"""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    start = datetime(2026, 1, 5, tzinfo=UTC)
    day = 86_400.0
    shifts = [("U1", d * day + 12 * 3600.0, d * day + 13 * 3600.0) for d in range(10)]
    busy = [(u, a, a + 1800.0) for u, a, _ in shifts]
    shifts.append(("U2", 12 * 3600.0, 13 * 3600.0))
    run = SimpleNamespace(timezone="UTC", scheduled=shifts, busy=busy, start=start,
                          end_s=10 * day)
    fraction = measured_busy(SimpleNamespace(results=[run]))  # type: ignore[arg-type]
    assert fraction[12] == pytest.approx(5 / 11)
