"""``mae stats``: the same report from a service's SQLite file and from an exported JSON-lines
log, as HTML, one CSV per table and an XLSX workbook whose cells match; counts under 5
suppressed unless a manager's token asks otherwise."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from mae.cli import main
from simulations.export import write_event_log
from tests.dispatch._stats_month import MONTH, all_specs, event_log
from tests.web._stats_data import store_month
from tests.web.conftest import make_tokens

TABLES = {"alarms_by_agency", "callouts_by_agency_count", "callouts_by_agencies",
          "callouts_by_category", "callouts_by_priority", "outcomes", "outcome_summary",
          "response_by_municipality", "response_by_base", "by_sex", "by_age_band",
          "children_in_household", "care", "hour_weekday", "hours4_weekday", "follow_ups",
          "month_over_month"}


def _csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def _values(rows: list[list[str]]) -> list[list[float | str]]:
    """Cells compared as numbers where they are numbers (XLSX gives 34 for 34.0)."""
    def value(cell: str) -> float | str:
        try:
            return float(cell)
        except ValueError:
            return cell
    return [[value(c) for c in row] for row in rows]


def _row(rows: list[list[str]], label: str) -> list[str]:
    return next(r for r in rows if r[0] == label)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    db = tmp_path / "mae.sqlite3"
    store_month(db)
    return db


def test_a_month_from_the_database_as_csv_xlsx_and_html(database: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    out = tmp_path / "report"
    assert main(["stats", "--month", MONTH, "--database", str(database), "--out",
                 str(out)]) == 0
    assert {p.stem for p in out.glob("*.csv")} == TABLES
    assert (out / "report.html").is_file() and (out / "report.xlsx").is_file()
    assert "61 callouts in 2026-11" in capsys.readouterr().err

    agencies = _csv(out / "callouts_by_agencies.csv")
    assert agencies[0] == ["agencies", "callouts", "share"]
    assert _row(agencies, "other + police") == ["other + police", "<5", "<5"]
    assert _row(agencies, "ambulance + police") == ["ambulance + police", "12", "0.197"]
    places = _csv(out / "response_by_municipality.csv")
    assert len(places) == 1 + 17 and _row(places, "Boden") == ["Boden", "0", "", ""]
    assert _row(places, "Umeå")[1] == "11"  # in Västerbotten: named, not unknown

    book = load_workbook(out / "report.xlsx")
    assert set(book.sheetnames) == {"about", *TABLES}
    sheet = book["callouts_by_agencies"]
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[1] == ["agencies", "callouts", "share"]
    assert ["other + police", "<5", "<5"] in rows and ["ambulance", 12, 0.197] in rows
    for key in TABLES:  # every sheet holds what its CSV holds
        csv_rows = _csv(out / f"{key}.csv")
        sheet_rows = [["" if c.value is None else str(c.value) for c in r]
                      for r in book[key].iter_rows(min_row=2, max_row=len(csv_rows) + 1)]
        assert _values(sheet_rows) == _values(csv_rows), key

    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 5 and "Response time by municipality" in page
    for text in ("fri text", "anledning", "Sunderby sjukhus"):
        assert text not in page  # notes, cancel reasons, facilities: never in the report


def test_an_exported_log_gives_the_same_tables(database: Path, tmp_path: Path) -> None:
    log = write_event_log(event_log(all_specs()), tmp_path / "run.jsonl")
    assert main(["stats", "--month", MONTH, "--database", str(database), "--out",
                 str(tmp_path / "a")]) == 0
    assert main(["stats", "--month", MONTH, "--log", str(log), "--out",
                 str(tmp_path / "b")]) == 0
    for key in TABLES:
        assert _csv(tmp_path / "a" / f"{key}.csv") == _csv(tmp_path / "b" / f"{key}.csv"), key


def test_a_second_run_into_the_same_folder_needs_replace(
        database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["stats", "--month", MONTH, "--database", str(database), "--out", str(tmp_path)]
    assert main(args) == 0
    capsys.readouterr()
    before = (tmp_path / "report.html").stat().st_mtime_ns
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "--out" in err and "--replace" in err
    assert (tmp_path / "report.html").stat().st_mtime_ns == before
    assert main([*args, "--replace"]) == 0


def test_only_a_manager_token_unsuppresses(database: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    tokens = make_tokens(database)
    out = tmp_path / "raw"
    args = ["stats", "--month", MONTH, "--database", str(database), "--out", str(out),
            "--no-suppress"]
    assert main(args) == 1
    assert "--no-suppress: is for the manager role" in capsys.readouterr().err
    assert main([*args, "--token", tokens["dispatcher"]]) == 1
    assert "not dispatcher" in capsys.readouterr().err
    assert main([*args, "--token", tokens["manager"][:-2] + "xx"]) == 1
    assert not out.exists()
    monkeypatch.setenv("MAE_TOKEN", tokens["manager"])
    assert main(args) == 0
    assert _row(_csv(out / "callouts_by_agencies.csv"), "other + police")[1] == "1"
    assert "UNSUPPRESSED" in (out / "report.html").read_text(encoding="utf-8")


def test_bad_options_name_the_problem(database: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "x")
    assert main(["stats", "--month", "2026-13", "--database", str(database), "--out",
                 out]) == 1
    assert "--month" in capsys.readouterr().err
    assert main(["stats", "--month", MONTH, "--database", str(tmp_path / "none.sqlite3"),
                 "--out", out]) == 1
    assert "--database" in capsys.readouterr().err
    assert main(["stats", "--month", MONTH, "--log", str(tmp_path / "none.jsonl"),
                 "--out", out, "--no-suppress", "--token", "mae_x_y"]) == 1
    assert "a --log file has none" in capsys.readouterr().err
    assert main(["stats", "--month", MONTH, "--database", str(database), "--out", out,
                 "--timezone", "Mars/Olympus"]) == 1
    assert "--timezone" in capsys.readouterr().err


def _one_line_error(capsys: pytest.CaptureFixture[str], *words: str) -> None:
    err = capsys.readouterr().err
    assert err.startswith("mae: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and all(w in err for w in words), err


def test_bad_sources_and_folders_are_one_line_and_change_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An empty or non-SQLite --database, a --out that is a file or cannot be made, a log with
    lines out of order: one line naming the option and the file, exit 1, inputs untouched."""
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    log = write_event_log(event_log(all_specs())[:30], tmp_path / "run.jsonl")
    text = log.read_bytes()
    afile = tmp_path / "afile"
    afile.write_text("x\n", encoding="utf-8")
    out = str(tmp_path / "out")

    def stats(*args: str) -> int:
        return main(["stats", "--month", MONTH, *args])

    assert stats("--database", str(empty), "--out", out) == 1
    _one_line_error(capsys, "--database", str(empty), "empty")
    assert stats("--database", str(empty), "--out", out, "--no-suppress",
                 "--token", "mae_x_y") == 1  # refused before the token store opens it
    _one_line_error(capsys, "--database", str(empty))
    assert empty.stat().st_size == 0
    assert stats("--database", str(log), "--out", out) == 1
    _one_line_error(capsys, "--database", str(log), "not a SQLite database")
    assert stats("--log", str(log), "--out", str(afile)) == 1
    _one_line_error(capsys, "--out", str(afile), "is a file, not a folder")
    assert stats("--log", str(log), "--out", "/proc/mae-forbidden") == 1
    _one_line_error(capsys, "--out", "/proc/mae-forbidden")
    lines = text.decode().splitlines(keepends=True)
    reordered = tmp_path / "reordered.jsonl"
    reordered.write_text("".join([*lines[20:], *lines[:20]]), encoding="utf-8")
    assert stats("--log", str(reordered), "--out", out) == 1
    _one_line_error(capsys, "--log", f"{reordered}: line 1 holds event 21")
    assert log.read_bytes() == text and afile.read_text(encoding="utf-8") == "x\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "afile", "empty.jsonl", "reordered.jsonl", "run.jsonl"]


def test_the_zip_of_csvs_holds_every_table() -> None:
    from dispatch.stats_fold import StatsFold
    from web.stats_render import rendered, to_zip
    from web.stats_source import report_of

    fold = StatsFold()
    fold.feed(event_log(all_specs()))
    report = rendered(report_of(fold, MONTH))
    with zipfile.ZipFile(io.BytesIO(to_zip(report))) as archive:
        assert {Path(n).stem for n in archive.namelist()} == TABLES


def test_a_redis_store_gives_the_same_tables_and_checks_its_own_tokens(
        database: Path, tmp_path: Path, redis_url: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    from web.redis_auth import RedisPrincipalStore
    from web.redislog import RedisEventStore

    log = event_log(all_specs())
    store = RedisEventStore(redis_url)
    try:
        store.append([env.event for env in log], expected_last_seq=0)
    finally:
        store.close()
    assert main(["stats", "--month", MONTH, "--store", redis_url, "--out",
                 str(tmp_path / "redis")]) == 0
    assert main(["stats", "--month", MONTH, "--database", str(database), "--out",
                 str(tmp_path / "sqlite")]) == 0
    for key in TABLES:
        assert _csv(tmp_path / "redis" / f"{key}.csv") == _csv(tmp_path / "sqlite" / f"{key}.csv")
    sqlite_manager = make_tokens(database)["manager"]  # a token of another store
    raw = ["stats", "--month", MONTH, "--store", redis_url, "--out", str(tmp_path / "raw"),
           "--no-suppress", "--token"]
    assert main([*raw, sqlite_manager]) == 1
    capsys.readouterr()
    principals = RedisPrincipalStore(redis_url)
    try:
        _, token = principals.create(role="manager", name="Chef")
    finally:
        principals.close()
    assert main([*raw, token]) == 0
    assert _row(_csv(tmp_path / "raw" / "alarms_by_agency.csv"), "other")[1] == "1"


def test_a_simulated_runs_exported_log_agrees_with_the_simulators_own_records(
        tmp_path: Path) -> None:
    """The simulator keeps its own record of each callout; the report folded from its exported
    log must count the same callouts, outcomes and response times."""
    import statistics
    from collections import Counter

    from simulations.engine import simulate
    from simulations.scenario import scenario_from_dict
    from tests.simulations._tiny import tiny_graph, tiny_scenario

    graph = tiny_graph()
    scenario = scenario_from_dict(tiny_scenario(days=20, demand={"alarms_per_year": 3000}),
                                  graph=graph)
    run = simulate(scenario, graph=graph, seed=3, keep_log=True)
    assert run.log is not None
    log = write_event_log(run.log, tmp_path / "run.jsonl")
    out = tmp_path / "sim"
    assert main(["stats", "--month", "2026-01", "--log", str(log), "--out", str(out),
                 "--timezone", "UTC"]) == 0
    records = run.records
    outcomes = {r[0]: r[1] for r in _csv(out / "outcomes.csv")[1:]}
    assert outcomes["total"] == str(len(records)) and len(records) > 20
    expected = Counter(r.outcome if r.handled_by == "mae" else "cancelled" for r in records)
    for kind, n in expected.items():
        assert outcomes[kind] == (str(n) if n >= 5 else "<5"), kind
    reached = [r.response_s for r in records if r.response_s is not None]
    every = _row(_csv(out / "response_by_base.csv"), "all")
    assert every[1] == str(len(reached))
    assert float(every[2]) == round(statistics.median(reached) / 60, 1)
    care = _csv(out / "care.csv")  # the simulated crews answered the care questions
    assert int(_row(care, "children present at the visit")[2]) > 0
