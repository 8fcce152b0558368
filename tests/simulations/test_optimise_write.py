"""Optimised designs become scenario files that read back and run."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pytest

from routing.location import LocationResult, Staffing
from simulations.optimise_model import candidate_sites, daily_patterns
from simulations.optimise_write import design_data, to_toml
from simulations.scenario import load_scenario
from tests.simulations._tiny import save_tiny, tiny_scenario


def test_toml_round_trips_a_scenario() -> None:
    data = tiny_scenario(description='quotes " and \\ back', start=date(2026, 1, 5))
    data["units"][0]["shifts"].append({"start": "08:00", "end": "09:00", "days": ["mon"]})
    text = to_toml(data, header=["a comment"])
    assert text.startswith("# a comment\n")
    assert tomllib.loads(text) == data


def test_toml_refuses_what_it_cannot_write() -> None:
    with pytest.raises(ValueError, match="nan"):
        to_toml({"x": float("nan")})
    with pytest.raises(TypeError):
        to_toml({"x": object()})


def test_a_design_keeps_the_baseline_and_reads_back(tmp_path: Path) -> None:
    map_path = save_tiny(tmp_path)
    source = tmp_path / "base.toml"
    data = tiny_scenario(map={"path": map_path.name})
    data["units"][0]["crew"] = ["nurse", "doctor"]
    source.write_text(to_toml(data), encoding="utf-8")
    baseline = load_scenario(source)
    from maps.graph import load_graph

    graph = load_graph(map_path)
    sites = candidate_sites(baseline, graph, "all-localities")
    patterns = daily_patterns([6, 14], [8, 12])
    result = LocationResult(
        open_sites=("alpha", "beta"),
        staffing=(Staffing("beta", "d14-12h-all", 2), Staffing("alpha", "d06-8h-all", 1)),
        objective=1.0,
        bound=1.0,
        optimal=True,
        staffed_hours=224.0,
        total_demand=2.0,
        solve_s=0.0,
    )
    out = tmp_path / "out"
    out.mkdir()
    data = design_data(
        baseline, result, sites, patterns, name="designed", description="d", out_dir=out
    )
    path = out / "designed.toml"
    path.write_text(to_toml(data), encoding="utf-8")
    design = load_scenario(path)
    assert design.map_path == str(map_path.resolve())
    assert [b.id for b in design.bases] == ["alpha", "beta"]
    assert design.base("beta").name == "Beta"
    assert [(u.base, len(u.shifts)) for u in design.units] == [
        ("beta", 1),
        ("beta", 1),
        ("alpha", 1),
    ]
    assert (design.units[0].shifts[0].start_min, design.units[0].shifts[0].end_min) == (
        14 * 60,
        26 * 60,
    )
    assert all(u.crew == ("nurse", "doctor") for u in design.units)
    assert design.demand == baseline.demand and design.service == baseline.service
    assert design.policy == baseline.policy and design.days == baseline.days


def test_the_follow_up_bookings_path_is_rebased_into_the_written_file(tmp_path: Path) -> None:
    """A bookings CSV named relative to the baseline is named relative to the design's folder."""
    map_path = save_tiny(tmp_path)
    (tmp_path / "bookings.csv").write_text(
        "patient_ref,booked_at,earliest_start,latest_start,lat,lon,duration_min\n"
        "P-1,,2026-01-05T10:00:00+00:00,2026-01-05T12:00:00+00:00,65.0,20.6,30\n",
        encoding="utf-8",
    )
    source = tmp_path / "base.toml"
    data = tiny_scenario(
        map={"path": map_path.name}, followups={"share": 0.0, "csv": "bookings.csv"}
    )
    source.write_text(to_toml(data), encoding="utf-8")
    baseline = load_scenario(source)
    assert baseline.followups is not None and len(baseline.followups.bookings) == 1
    from maps.graph import load_graph

    sites = candidate_sites(baseline, load_graph(map_path), "places")
    pattern = daily_patterns([0], [24])
    result = LocationResult(
        open_sites=("alpha",),
        staffing=(Staffing("alpha", pattern[0].id, 1),),
        objective=1.0,
        bound=1.0,
        optimal=True,
        staffed_hours=168.0,
        total_demand=2.0,
        solve_s=0.0,
    )
    out = tmp_path / "deeper" / "out"
    out.mkdir(parents=True)
    written = design_data(baseline, result, sites, pattern, name="d", description="", out_dir=out)
    assert written["followups"]["csv"] == "../../bookings.csv"
    assert written["map"]["path"] == "../../tiny.maegraph"
    path = out / "d.toml"
    path.write_text(to_toml(written), encoding="utf-8")
    design = load_scenario(path)
    assert design.followups == baseline.followups
