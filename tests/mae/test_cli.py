"""The ``mae`` command line: every subcommand reachable, bad input gives one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mae.cli import main
from maps.graph import load_graph


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_maps_info_describes_the_bundled_map(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "maps", "info")
    assert code == 0
    assert "Norrbotten" in out
    assert "nodes:" in out and "bounds:" in out
    assert "Sunderby sjukhus" in out
    assert "Luleå" in out


def test_maps_info_lists_every_place_on_request(capsys: pytest.CaptureFixture[str]) -> None:
    _, short, _ = run(capsys, "maps", "info")
    _, full, _ = run(capsys, "maps", "info", "--places")
    assert "more (--places lists all)" in short
    assert "Karesuando" in full and len(full) > len(short)


def test_demo_prints_base_coverage(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "demo")
    assert code == 0
    assert "MAE bases:" in out
    assert "summer" in out and "winter" in out


def test_missing_map_file_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "maps", "info", "--map", str(tmp_path / "nope.maegraph"))
    assert code == 1
    assert err.strip().startswith("mae: error:") and "does not exist" in err
    assert len(err.strip().splitlines()) == 1


def test_garbage_map_file_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.maegraph"
    bad.write_bytes(b"this is not a map")
    code, _, err = run(capsys, "maps", "info", "--map", str(bad))
    assert code == 1
    assert "not a readable MAE road graph" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("bbox", "problem"),
    [
        ("1,2,3", "must be four numbers"),
        ("a,b,c,d", "not a number"),
        ("25,60,24,61", "MIN_LON < MAX_LON"),
    ],
)
def test_bad_bbox_is_refused_by_the_parser(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, bbox: str, problem: str
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["maps", "build", "--osm-file", str(tmp_path / "x.osm"), "--bbox", bbox])
    assert exc.value.code == 2
    assert problem in capsys.readouterr().err


def test_build_from_a_missing_osm_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "maps", "build", "--osm-file", str(tmp_path / "none.osm.pbf"))
    assert code == 1
    assert "none.osm.pbf" in err and "Traceback" not in err


def test_build_bundled_to_another_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "nb.maegraph"
    code, out, _ = run(capsys, "maps", "build", "--bundled", "--out", str(out_file))
    assert code == 0 and "wrote" in out
    assert load_graph(out_file).n_nodes > 60


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mae", "maps", "info", "--map", str(tmp_path / "x.maegraph")],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "does not exist" in proc.stderr
