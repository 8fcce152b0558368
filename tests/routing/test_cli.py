"""``mae route``: place names or coordinates in, time, distance and steps out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from maps.errors import UnknownPlace
from maps.graph import save_graph
from routing.cli import register, resolve_location
from routing.engine import TravelTimes
from routing.errors import SnapError

# shared test helpers live beside the tests (pytest runs with --import-mode=importlib)
sys.path.insert(0, str(Path(__file__).parent))
from _routing_graphs import norrbotten_mini


@pytest.fixture()
def map_file(tmp_path: Path) -> Path:
    return save_graph(norrbotten_mini(), tmp_path / "mini.maegraph")


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mae")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def test_route_between_places_prints_time_distance_and_roads(
    map_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(["route", "Lulea", "Jåhkåmåhkke", "--map", str(map_file), "--summer"]) == 0
    out = capsys.readouterr().out
    assert "Luleå → Jokkmokk" in out
    assert "Time: 1 h 46 min" in out and "Distance: 155 km" in out
    assert "Start at Luleå" in out and "väg 97 for 155 km" in out and "Arrive at Jokkmokk" in out
    assert "summer" in out


def test_winter_and_emergency_change_the_time(
    map_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(["route", "luleå", "JOKKMOKK", "--map", str(map_file), "--winter"])
    winter = capsys.readouterr().out
    _run(["route", "luleå", "JOKKMOKK", "--map", str(map_file), "--winter", "--emergency",
          "--at", "2026-01-15T08:30"])
    blue = capsys.readouterr().out
    assert "Time: 2 h 01 min" in winter  # 106.5 min / 0.88
    assert "Time: 1 h 45 min" in blue and "emergency driving, 2026-01-15 08:30" in blue


def test_coordinates_are_snapped(map_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["route", "65.63,22.06", "Piteå", "--map", str(map_file)]) == 0
    out = capsys.readouterr().out
    assert "65.63000, 22.06000 → Piteå" in out and "off-road to the road" in out


def test_unknown_place_suggests_close_names(map_file: Path) -> None:
    with pytest.raises(UnknownPlace) as info:
        _run(["route", "Jokmok", "Boden", "--map", str(map_file)])
    assert "Jokkmokk" in info.value.suggestions


def test_far_coordinate_raises_snap_error(map_file: Path) -> None:
    with pytest.raises(SnapError):
        _run(["route", "68.0,15.0", "Boden", "--map", str(map_file)])


def test_bad_time_is_a_usage_error(map_file: Path) -> None:
    with pytest.raises(SystemExit):
        _run(["route", "Boden", "Piteå", "--at", "tomorrow", "--map", str(map_file)])


def test_resolve_location_uses_the_place_node() -> None:
    graph = norrbotten_mini()
    tt = TravelTimes(graph)
    point, name = resolve_location(graph, "Boden", tt)
    assert name == "Boden" and (point.road_lat, point.road_lon) == (65.8252, 21.6886)


def test_route_on_the_bundled_county_map(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["route", "Lulea", "Jåhkåmåhkke", "--summer"]) == 0
    out = capsys.readouterr().out
    assert "Luleå → Jokkmokk" in out and "väg 97 for" in out
    assert "map: Norrbotten county (bundled)" in out
