"""The HTML report is written, self-contained, with its plots; the CLI writes it too."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

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


def test_cli_simulate_writes_report_csv_summary_and_logs(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
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
    assert len(list(out.glob("events-*.jsonl"))) == 4
    assert "report:" in capsys.readouterr().out


def test_cli_bad_scenario_is_one_line_error(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[policy]\nkind = "nearest"\n', encoding="utf-8")
    assert main(["simulate", str(bad), "--no-progress", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mae: error: ") and "bad.toml: bases: name at least one base" in err
