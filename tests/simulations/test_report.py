"""The HTML report is written, self-contained, with its plots; the CLI writes it too."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest

from mae.cli import main
from simulations.batch import run_batch
from simulations.report import write_report
from simulations.scenario import load_scenario

SCENARIOS = Path(__file__).parents[2] / "simulations" / "scenarios"


def test_report_contains_the_plots_and_comparison(tmp_path: Path) -> None:
    from dataclasses import replace

    a = replace(load_scenario(SCENARIOS / "norrbotten_today.toml"), days=5)
    b = replace(load_scenario(SCENARIOS / "gallivare_unstaffed.toml"), days=5)
    batch = run_batch([a, b], [0, 1], workers=1)
    page = write_report(batch, tmp_path).read_text(encoding="utf-8")
    images = re.findall(r'<img class="plot" alt="([^"]+)" src="data:image/png;base64,', page)
    for want in ("comparison of key figures", "response time distributions compared",
                 "population coverage by hour of the week",
                 f"coverage map of {a.name}", f"utilisation heat map of {b.name}",
                 f"response time distribution of {b.name}"):
        assert want in images
    assert "2 − 1" in page and "http" not in page.replace("http-equiv", "")


def test_cli_simulate_writes_report_csv_summary_and_logs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = main(["simulate", str(SCENARIOS / "norrbotten_today.toml"), "--compare",
                 str(SCENARIOS / "fourth_base_kiruna.toml"), "--seeds", "2", "--days", "3",
                 "--workers", "1", "--out", str(out), "--export-log", "--no-progress"])
    assert code == 0
    assert (out / "report.html").is_file()
    with (out / "kpis.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 and {r["seed"] for r in rows} == {"0", "1"}
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert len(summary) == 2
    logs = sorted(out.glob("events-*.jsonl"))
    assert len(logs) == 4  # for replay on the map: with the crews' positions as events
    assert '"UnitPositionReported"' in logs[0].read_text(encoding="utf-8")
    assert "report:" in capsys.readouterr().out


def test_cli_bad_scenario_is_one_line_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[policy]\nkind = "nearest"\n', encoding="utf-8")
    assert main(["simulate", str(bad), "--no-progress", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mae: error: ") and "bad.toml: bases: name at least one base" in err


@pytest.mark.parametrize("command", ["simulate", "optimise"])
def test_bad_options_and_paths_are_one_line_before_any_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        command: str) -> None:
    """An audit found tracebacks (a negative seed, a folder given as the scenario) and an
    --out file found only after the whole run; each is one line now, and nothing runs."""
    import simulations.batch
    import simulations.optimise  # (imported first: it binds run_batch by name)

    def no_runs(*args: object, **kwargs: object) -> None:
        raise AssertionError("a run started")

    for module in (simulations.batch, simulations.optimise):
        monkeypatch.setattr(module, "run_batch", no_runs)
    scenario = str(SCENARIOS / "norrbotten_today.toml")
    extra = ["--bases", "3"] if command == "optimise" else ["--no-progress"]
    a_file = tmp_path / "a-file"
    a_file.write_text("x", encoding="utf-8")
    for args, says in ((["--first-seed", "-3"], "--first-seed: must be 0 or more"),
                       (["--days", "5000"], "--days: must be 1..3660")):
        with pytest.raises(SystemExit):  # argparse's usage line and exit code 2
            main([command, scenario, *extra, *args])
        assert says in capsys.readouterr().err
    assert main([command, scenario, *extra, "--out", str(a_file)]) == 1
    assert f"--out: {a_file} is a file, not a folder" in capsys.readouterr().err
    assert main([command, str(SCENARIOS), *extra, "--out", str(tmp_path / "o")]) == 1
    assert "is a folder, not a file" in capsys.readouterr().err


def test_two_scenarios_of_one_name_are_refused_before_the_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The report, summary.json and the CSVs key on the name: the second scenario's figures
    replaced the first's (an audit compared a file with itself)."""
    scenario = str(SCENARIOS / "norrbotten_today.toml")
    assert main(["simulate", scenario, "--compare", scenario, "--no-progress",
                 "--out", str(tmp_path / "o")]) == 1
    assert "also names scenario 1 of this run" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_the_road_map_is_one_collection_of_every_edge() -> None:
    """Issue 16: one LineCollection, not one ax.plot per edge; each edge keeps its geometry."""
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    from simulations.report import draw_roads
    from tests.simulations._tiny import tiny_graph

    g = tiny_graph()
    fig, ax = plt.subplots()
    draw_roads(ax, g)
    (coll,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert not ax.lines
    segments = coll.get_segments()
    assert len(segments) == g.n_edges
    src = g.edge_source
    for e, seg in enumerate(segments):
        want = [(lon, lat) for lat, lon in g.edge_geometry(e, int(src[e]))]
        assert [tuple(p) for p in seg.tolist()] == want
    plt.close(fig)


def test_map_aspect_follows_the_maps_latitude() -> None:
    import math

    from simulations.report import map_aspect

    assert map_aspect(0.0) == 1.0
    assert map_aspect(52.1) == pytest.approx(1 / math.cos(math.radians(52.1)))
    assert map_aspect(66.5) > map_aspect(52.1)


def test_the_coverage_label_names_the_season_counted() -> None:
    from dataclasses import replace

    from simulations.report import coverage_label
    from simulations.spec import Roads

    sc = load_scenario(SCENARIOS / "norrbotten_today.toml")
    assert "summer driving" in coverage_label(replace(sc, roads=Roads(season="summer")))
    assert "winter driving" in coverage_label(replace(sc, roads=Roads(season="winter")))


def test_a_matrix_scenario_reports_and_writes_its_calls(tmp_path: Path) -> None:
    from tests.simulations._tiny import matrix_scenario

    data = matrix_scenario(days=2)
    toml = tmp_path / "m.toml"
    toml.write_text(_to_toml(data), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["simulate", str(toml), "--seeds", "2", "--workers", "1", "--out", str(out),
                 "--no-progress"]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Response time mean (min)" in page and "Within 8 min (% of MAE-attended)" in page
    assert "linear interpolation" in page
    with (out / "calls.csv").open(encoding="utf-8") as fh:
        calls = list(csv.DictReader(fh))
    with (out / "kpis.csv").open(encoding="utf-8") as fh:
        kpis = list(csv.DictReader(fh))
    assert len(calls) == sum(int(float(k["incidents"])) for k in kpis) > 0
    assert {c["seed"] for c in calls} == {"0", "1"}



def test_scenarios_with_different_thresholds_compare_at_every_one(tmp_path: Path) -> None:
    """One scenario lists 20 and 45 min (not 60), the other the defaults: the comparison
    (table, plot, kpis.csv) shows every threshold for both, each the share of that run's
    attended calls (calls.csv) reached within it."""
    from tests.simulations._tiny import matrix_scenario

    paths = []
    for name, kpi in (("own", {"thresholds_min": [45, 20]}), ("defaults", {})):
        data = matrix_scenario(log=None, days=2, name=name, **({"kpi": kpi} if kpi else {}))
        paths.append(tmp_path / f"{name}.toml")
        paths[-1].write_text(_to_toml(data), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["simulate", str(paths[0]), "--compare", str(paths[1]), "--seeds", "2",
                 "--workers", "1", "--out", str(out), "--no-progress"]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    for m in (8, 12, 15, 20, 30, 45, 60, 90):
        assert f"Within {m} min (% of MAE-attended)" in page
    with (out / "calls.csv").open(encoding="utf-8") as fh:
        calls = list(csv.DictReader(fh))
    with (out / "kpis.csv").open(encoding="utf-8") as fh:
        kpis = list(csv.DictReader(fh))
    assert len(kpis) == 4
    for row in kpis:
        resp = [float(c["response_min"]) for c in calls if c["response_min"]
                and (c["scenario"], c["seed"]) == (row["scenario"], row["seed"])]
        assert resp
        for m in (20, 45, 60):
            assert float(row[f"within_{m}_min"]) == pytest.approx(
                sum(r <= m for r in resp) / len(resp), abs=1e-6)


def _to_toml(data: dict[str, object]) -> str:
    """Just enough TOML for the scenario dicts of ``_tiny`` (tables, arrays of tables)."""
    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return str(v)

    top, tables = [], []
    for key, v in data.items():
        if isinstance(v, dict):
            tables.append(f"[{key}]\n" + "".join(f"{k} = {value(x)}\n" for k, x in v.items()))
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            for item in v:
                tables.append(f"[[{key}]]\n"
                              + "".join(f"{k} = {value(x)}\n" for k, x in item.items()))
        else:
            top.append(f"{key} = {value(v)}\n")
    return "".join(top) + "\n".join(tables)


def test_unpaired_scenarios_are_compared_without_differences(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A scenario starting on another day meets other alarms: the run goes on, says so on
    stderr and in the report, and shows no paired differences for it."""
    from tests.simulations._tiny import matrix_scenario

    paths = []
    for name, start in (("january", "2026-01-05"), ("july", "2026-07-06")):
        paths.append(tmp_path / f"{name}.toml")
        paths[-1].write_text(_to_toml(matrix_scenario(log=None, days=2, name=name,
                                                      start=start)), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["simulate", str(paths[0]), "--compare", str(paths[1]), "--seeds", "2",
                 "--workers", "1", "--out", str(out), "--no-progress"]) == 0
    assert "scenario 2 (july) does not meet the baseline's alarms" in capsys.readouterr().err
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "paired by seed" not in page
    assert "compared unpaired" in page and "2 − 1 (not paired)" in page


def test_one_seed_is_said_to_have_no_interval(tmp_path: Path) -> None:
    from tests.simulations._tiny import matrix_scenario

    path = tmp_path / "one.toml"
    path.write_text(_to_toml(matrix_scenario(log=None, days=1)), encoding="utf-8")
    assert main(["simulate", str(path), "--seeds", "1", "--workers", "1",
                 "--out", str(tmp_path / "o"), "--no-progress"]) == 0
    page = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    assert "one seed gives no interval" in page and "Student t" not in page


def test_utilisation_is_labelled_as_time_on_acute_callouts(tmp_path: Path) -> None:
    """Follow-up visits are not in the utilisation figure: the report, kpis.csv and
    summary.json say it is time on acute callouts."""
    from tests.simulations._tiny import matrix_scenario

    path = tmp_path / "s.toml"
    path.write_text(_to_toml(matrix_scenario(log=None, days=1)), encoding="utf-8")
    out = tmp_path / "o"
    assert main(["simulate", str(path), "--seeds", "1", "--workers", "1", "--out", str(out),
                 "--no-progress"]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Utilisation on acute callouts (% of shift time)" in page
    assert "Utilisation on shift" not in page
    with (out / "kpis.csv").open(encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert "utilisation_acute" in header and "utilisation" not in header
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert "utilisation_acute" in summary["tiny matrix"]


def test_report_labels_say_how_coverage_and_travel_are_counted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The coverage rows name the driving they are counted in; a matrix map's assumptions say
    its times are used as given (no winter factor); the coverage chart leaves headroom above
    100 %, so full coverage does not sit on the frame."""
    from dataclasses import replace

    import simulations.report as report
    from tests.simulations._tiny import matrix_scenario

    tops: list[float] = []
    real_png = report._png

    def png(fig: Any) -> str:
        if fig.axes[0].get_title().startswith("Population within"):
            tops.append(fig.axes[0].get_ylim()[1])
        return real_png(fig)

    monkeypatch.setattr(report, "_png", png)
    path = tmp_path / "s.toml"
    path.write_text(_to_toml(matrix_scenario(log=None, days=1)), encoding="utf-8")
    mx = load_scenario(path)
    page = write_report(run_batch([mx], [0], workers=1), tmp_path / "m").read_text("utf-8")
    assert "Population ≤30 min of a staffed base (% of week, the matrix&#x27;s times)" in page
    assert "the matrix&#x27;s times as given" in page and "winter factor 0.88" not in page
    assert len(tops) == 1 and tops[0] > 100
    road = replace(load_scenario(SCENARIOS / "norrbotten_today.toml"), days=1)
    summer = replace(road, name="summer", roads=replace(road.roads, season="summer"))
    page = write_report(run_batch([road, summer], [0], workers=1), tmp_path / "r").read_text(
        "utf-8")
    assert "Population ≤60 min of a staffed base (% of week, driving as below)" in page
    assert ("<th class=l>Population coverage counted in</th><td>winter driving (calendar "
            "season)</td><td>summer driving</td>") in page
