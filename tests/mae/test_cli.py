"""The ``mae`` command line: every subcommand reachable, bad input gives one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mae.cli import main
from maps.bundled import load_bundled
from maps.graph import load_graph
from maps.traveltime import TravelTimeModel
from tests.routing._routing_graphs import graph_arcs, reference_dijkstra


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


def coverage_rows(out: str) -> dict[str, list[tuple[int, int]]]:
    """The ``mae demo`` table as {season: [(people, percent) per limit]}."""
    rows = {}
    for line in out.splitlines():
        words = line.split()
        if words and words[0] in ("summer", "winter"):
            cells = words[1:]
            rows[words[0]] = [(int(n.replace(",", "")), int(pct.rstrip("%")))
                              for n, pct in zip(cells[::2], cells[1::2], strict=True)]
    return rows


def test_demo_prints_base_coverage(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "demo")
    assert code == 0
    assert "MAE bases:" in out
    assert "≤30 min" in out and "≤60 min" in out and "≤90 min" in out
    rows = coverage_rows(out)
    assert set(rows) == {"summer", "winter"} and all(len(r) == 3 for r in rows.values())
    graph = load_bundled()
    total = sum(p.population for p in graph.places)
    bases = [f.node for f in graph.facilities if f.is_a("mae_base")]
    for season, winter in (("summer", False), ("winter", True)):
        # By hand: a plain Dijkstra from each base on the season's edge times, nearest base wins.
        arcs = graph_arcs(graph, TravelTimeModel().edge_times(graph, winter=winter))
        nearest = [min(ts) for ts in zip(*(reference_dijkstra(graph.n_nodes, arcs, b)
                                           for b in bases), strict=True)]
        for (people, pct), limit in zip(rows[season], (30, 60, 90), strict=True):
            expected = sum(p.population for p in graph.places if nearest[p.node] <= limit * 60)
            assert people == expected, (season, limit)
            assert pct == round(100 * expected / total), (season, limit)
    summer, winter_row = rows["summer"], rows["winter"]
    assert summer[0][0] < summer[1][0] < summer[2][0]  # more people the longer the limit
    assert all(w <= s for (w, _), (s, _) in zip(winter_row, summer, strict=True))
    assert winter_row[2][0] < summer[2][0]  # snow costs the 90-minute ring some villages
    # Luleå, Boden, Piteå and Gällivare lie within half an hour of a base (Sunderbyn sits
    # between Luleå and Boden): nearly half the county already in the first column.
    towns = sum(p.population for p in graph.places
                if p.name in ("Luleå", "Boden", "Piteå", "Gällivare"))
    assert towns / total > 0.45
    assert summer[0][0] >= towns


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


def test_each_command_is_registered_by_the_module_the_table_names() -> None:
    """``mae CMD`` imports only ``COMMANDS[CMD]``: the table must name every command's owner
    (a command missing from it would still work, through the whole parser, but slowly)."""
    import argparse
    import importlib

    from mae.cli import COMMANDS

    found: dict[str, str] = {}
    for owner in set(COMMANDS.values()):
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(owner).register(sub)
        found.update(dict.fromkeys(sub.choices, owner))
    assert found == COMMANDS


def test_serve_starts_without_the_simulator_or_scipy() -> None:
    code = ("import sys; from mae.cli import build_parser; build_parser('serve'); "
            "print(sorted(m for m in ('scipy', 'simulations', 'ortools', 'numba') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parents[2])
    assert out.stdout.strip() == "[]"
