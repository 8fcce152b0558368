"""``mae optimise`` end to end on the tiny map: scenario files, a frontier report whose figures a
fresh simulation of those files with the same seeds repeats, and one-line errors."""

from __future__ import annotations

import csv
import json
import shutil
import tomllib
from pathlib import Path

import pytest

from mae.cli import main
from simulations.batch import run_batch
from simulations.optimise_write import to_toml
from simulations.scenario import load_scenario
from tests.simulations._tiny import MATRIX_DIR, matrix_scenario, save_tiny, tiny_scenario


def write_scenarios(tmp_path: Path) -> tuple[Path, Path]:
    save_tiny(tmp_path)
    base = tiny_scenario(days=14, map={"path": "tiny.maegraph"}, demand={"alarms_per_year": 1500})
    path = tmp_path / "base.toml"
    path.write_text(to_toml(base), encoding="utf-8")
    other = tiny_scenario(
        days=14,
        name="evenings at Beta",
        map={"path": "tiny.maegraph"},
        demand={"alarms_per_year": 1500},
        bases=[{"id": "beta", "place": "Beta"}],
        units=[
            {
                "id": "B1",
                "base": "beta",
                "shifts": [{"start": "16:00", "end": "00:00", "days": "all"}],
            }
        ],
    )
    other_path = tmp_path / "other.toml"
    other_path.write_text(to_toml(other), encoding="utf-8")
    return path, other_path


def test_optimise_writes_scenarios_and_a_frontier_the_simulation_repeats(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, other = write_scenarios(tmp_path)
    out = tmp_path / "out"
    code = main(
        [
            "optimise",
            str(base),
            "--bases",
            "1",
            "--candidates",
            "all-localities",
            "--budget-hours",
            "56",
            "168",
            "--shift-starts",
            "0,8,16",
            "--shift-lengths",
            "8",
            "--seeds",
            "2",
            "--workers",
            "1",
            "--max-iterations",
            "2",
            "--compare",
            str(other),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr()
    assert "round 1" in printed.err
    assert "report:" in printed.out and "evenings at Beta" in printed.out
    files = sorted(p.name for p in out.iterdir())
    assert files == [
        "frontier.csv",
        "optimise.json",
        "optimised-1-bases-168h.toml",
        "optimised-1-bases-56h.toml",
        "report.html",
    ]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Optimiser: frontier" in html and "evenings at Beta" in html
    with (out / "frontier.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["kind"] for r in rows] == ["baseline", "planner", "optimised", "optimised"]
    summary = json.loads((out / "optimise.json").read_text(encoding="utf-8"))
    assert summary["seeds"] == [0, 1]
    assert [len(level["rounds"]) for level in summary["levels"]] == [
        int(r["rounds"]) for r in rows[2:]
    ]
    assert all(1 <= int(r["rounds"]) <= 2 for r in rows[2:])
    for row, name in zip(
        rows[2:], ("optimised-1-bases-56h.toml", "optimised-1-bases-168h.toml"), strict=True
    ):
        design = load_scenario(out / name)
        assert design.name == row["scenario"]
        runs = run_batch([design], [0, 1], workers=1).runs[0]
        again = sum(k.scalars["within_60_min"] * k.scalars["attended_share"] for k in runs.kpis) / 2
        assert float(row["reached_within_60_min"]) == pytest.approx(again)
        alone = sum(k.scalars["unserved_share"] for k in runs.kpis) / 2
        assert float(row["handled_alone_share"]) == pytest.approx(alone)
    assert float(rows[3]["reached_within_90_min"]) > float(rows[2]["reached_within_90_min"])


def test_days_shortens_the_designs_runs_as_it_does_the_baselines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--days 3`` on a 14-day scenario: the designs are simulated over the same 3 days as the
    baseline (their frontier figures are those of a 3-day run), and the file written keeps the
    scenario's own 14 days."""
    from dataclasses import replace

    base, _ = write_scenarios(tmp_path)
    out = tmp_path / "out"
    assert main(["optimise", str(base), "--bases", "1", "--candidates", "all-localities",
                 "--budget-hours", "168", "--shift-starts", "0,8,16", "--shift-lengths", "8",
                 "--seeds", "2", "--workers", "1", "--max-iterations", "1", "--days", "3",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    with (out / "frontier.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    design = load_scenario(out / "optimised-1-bases-168h.toml")
    assert design.days == 14
    for days in (3, 14):
        runs = run_batch([replace(design, days=days)], [0, 1], workers=1).runs[0]
        alone = sum(k.scalars["unserved_share"] for k in runs.kpis) / 2
        reached = sum(k.scalars["within_60_min"] * k.scalars["attended_share"]
                      for k in runs.kpis) / 2
        same = (float(rows[1]["handled_alone_share"]) == pytest.approx(alone)
                and float(rows[1]["reached_within_60_min"]) == pytest.approx(reached))
        assert same is (days == 3)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--keep", "nowhere"], "keep: unknown site 'nowhere'"),
        (["--budget-hours", "10", "--shift-lengths", "8"], "budget of 10 car-hours"),
        (["--candidates", "missing.toml"], "missing.toml"),
        (
            [
                "--budget-hours",
                "56",
                "--shift-starts",
                "8",
                "--shift-lengths",
                "8",
                "--min-night-cars",
                "1",
            ],
            "no shift pattern works it",
        ),
        (["--tolerance", "-1"], "tolerance: must be 0 or more"),
        (["--min-night-cars", "50"], "min-night-cars: 50 cars each night hour, but 1 base(s)"),
    ],
)
def test_bad_requests_fail_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    base, _ = write_scenarios(tmp_path)
    code = main(
        [
            "optimise",
            str(base),
            "--bases",
            "1",
            "--seeds",
            "1",
            "--workers",
            "1",
            "--out",
            str(tmp_path / "out"),
            *extra,
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert message in err
    assert err.count("\n") == 1 and err.startswith("mae: error:")


def test_a_matrix_scenario_is_optimised_on_its_matrix_and_the_design_runs_from_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """tests/data/matrix with two replayed logs, all named relative to the scenario: calls at
    B (log one) and at D (log two). Within 25 min B reaches D (25 min) but D does not reach B
    (26 min; the matrix is directed) and A does not reach D (30), so the base goes to B. The
    written file names the matrix and both logs relative to its own folder, and `mae simulate`
    run from another folder replays log one with seed 0 and log two with seed 1 from B."""
    region = tmp_path / "region"
    region.mkdir()
    for name in ("nodes.csv", "times.csv"):
        shutil.copy(MATRIX_DIR / name, region / name)
    header = "received_at,node,transport,on_scene_min,at_facility_min\n"
    (region / "one.csv").write_text(
        header + "2026-01-05T10:00:00Z,B,no,20,\n2026-01-05T14:00:00Z,B,no,20,\n",
        encoding="utf-8",
    )
    (region / "two.csv").write_text(header + "2026-01-05T11:00:00Z,D,no,20,\n", encoding="utf-8")
    data = matrix_scenario(region / "one.csv")
    data["map"] = {"nodes": "nodes.csv", "matrix": "times.csv", "crs": "EPSG:28992"}
    data["demand"] = {"kind": "replay", "csv": ["one.csv", "two.csv"]}
    (region / "base.toml").write_text(to_toml(data), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    args = ["optimise", "region/base.toml", "--bases", "1", "--candidates", "all-localities"]
    args += ["--limit-min", "25", "--seeds", "2", "--workers", "1", "--out", "opt"]
    assert main(args) == 0
    written = tmp_path / "opt" / "optimised-1-bases.toml"
    raw = tomllib.loads(written.read_text(encoding="utf-8"))
    assert raw["bases"] == [{"id": "b", "node": "B"}]
    assert raw["map"] == {
        "nodes": "../region/nodes.csv",
        "matrix": "../region/times.csv",
        "crs": "EPSG:28992",
    }
    assert raw["demand"]["csv"] == ["../region/one.csv", "../region/two.csv"]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    simulate = ["simulate", str(written), "--seeds", "2", "--workers", "1", "--out", "rep"]
    assert main([*simulate, "--no-progress"]) == 0
    with (elsewhere / "rep" / "calls.csv").open(encoding="utf-8") as fh:
        calls = [(r["seed"], r["reference"], float(r["response_min"])) for r in csv.DictReader(fh)]
    assert calls == [("0", "row2", 0.0), ("0", "row3", 0.0), ("1", "row2", 25.0)]


def test_a_compared_scenario_on_another_map_is_refused_before_any_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The frontier sets every scenario on the baseline's alarms: a matrix scenario beside a
    road-map baseline cannot sit there, and says why in one line naming its file."""
    import simulations.optimise

    def no_runs(*args: object, **kwargs: object) -> None:
        raise AssertionError("a run started")

    monkeypatch.setattr(simulations.optimise, "run_batch", no_runs)
    base, _ = write_scenarios(tmp_path)
    other = tmp_path / "matrix.toml"
    other.write_text(to_toml(matrix_scenario(days=14)), encoding="utf-8")
    code = main(["optimise", str(base), "--bases", "1", "--seeds", "1", "--workers", "1",
                 "--compare", str(other), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert f"{other}: --compare: does not meet the baseline's alarms" in err
    assert "another map" in err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--shift-starts", "25"], "argument --shift-starts: 25 is not a start hour"),
        (["--shift-lengths", "0"], "argument --shift-lengths: 0 is not a shift length"),
        (["--shift-lengths", "30", "--budget-hours", "100"],
         "argument --shift-lengths: 30 is not a shift length"),
        (["--shift-starts", ","], "argument --shift-starts: ',': give at least one start hour"),
    ],
)
def test_shift_flags_are_checked_with_or_without_a_budget_and_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    """Without --budget-hours the shift flags are unused, but a bad one was silently ignored
    (exit 0); with a budget the error named "shifts:". Both now stop at once, naming the flag."""
    base, _ = write_scenarios(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["optimise", str(base), "--bases", "1", "--out", str(tmp_path / "o"), *flags])
    assert info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_options_name_the_shift_flag() -> None:
    from simulations.errors import ScenarioError
    from simulations.optimise import OptimiseOptions

    with pytest.raises(ScenarioError, match="^shift-starts: "):
        OptimiseOptions(bases=1, shift_starts=(24,))
    with pytest.raises(ScenarioError, match="^shift-lengths: "):
        OptimiseOptions(bases=1, shift_lengths=())
