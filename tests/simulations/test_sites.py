"""Where things are (issue 16): matrix maps, bases and facilities at nodes, errors by key."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulations.errors import ScenarioError
from simulations.scenario import scenario_from_dict
from simulations.terrain import all_facilities, load_terrain
from tests.simulations._tiny import matrix_scenario, tiny_graph, tiny_scenario


def test_a_matrix_scenario_puts_bases_and_facilities_on_nodes() -> None:
    sc = scenario_from_dict(matrix_scenario())
    terrain = load_terrain(sc)
    assert sc.matrix is not None and sc.matrix.crs == "EPSG:28992"
    assert (sc.bases[0].lat, sc.bases[0].lon) == (terrain.places[0].lat, terrain.places[0].lon)
    (hospital,) = all_facilities(terrain, sc)
    assert (hospital.name, hospital.kind, hospital.node) == ("Hospital C", "hospital", 2)


def test_the_terrain_is_loaded_once_per_file() -> None:
    sc = scenario_from_dict(matrix_scenario())
    assert load_terrain(sc) is load_terrain(sc)


def test_scenario_facilities_join_and_replace_the_maps() -> None:
    data = tiny_scenario(facilities=[
        {"name": "Gamma akut", "kind": "psychiatric_emergency", "place": "Gamma"},
        {"name": "Alpha sjukhus", "kind": "hospital", "lat": 65.0, "lon": 20.0}])
    sc = scenario_from_dict(data, graph=tiny_graph())
    found = {f.name: f for f in all_facilities(tiny_graph(), sc)}
    assert found["Gamma akut"].node == 2 and found["Gamma akut"].is_a("psychiatric_emergency")
    assert found["Alpha sjukhus"].kinds == ()  # the scenario's replaced the map's


@pytest.mark.parametrize(("change", "key"), [
    ({"bases": [{"id": "a", "node": "Z"}]}, "bases[0].node"),
    ({"facilities": [{"name": "H", "kind": "clinic", "node": "C"}]}, "facilities[0].kind"),
    ({"map": {"crs": "EPSG:28992", "nodes": "nope.csv"}}, "map.nodes"),
    ({"map": {"path": "x.maegraph"}}, "map.path"),
    ({"policy": {"kind": "coverage_aware"}}, "policy.kind"),
    ({"facilities": []}, "service.transport_to"),
])
def test_bad_sites_name_their_dotted_key(change: dict[str, object], key: str) -> None:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(matrix_scenario(log=None, **change), base_dir=Path("/nonexistent"))
    assert info.value.key == key


def test_a_base_far_from_every_road_is_named_when_read() -> None:
    """(65.6, 21.0) lies inside the tiny map's box but about 46 km from its roads: the base's
    key says so when the scenario is read (not a bare routing error mid-run), without advice
    about max_snap_m, which no scenario can set."""
    from tests.simulations._tiny import tiny_graph, tiny_scenario

    data = tiny_scenario(bases=[{"id": "far", "lat": 65.6, "lon": 21.0}],
                         units=[{"id": "U1", "base": "far", "shifts": "24/7"}])
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data, graph=tiny_graph(), source="s.toml")
    assert info.value.key == "bases[0].lat"
    assert "from the nearest road" in str(info.value) and "max_snap_m" not in str(info.value)
    assert str(info.value).startswith("s.toml: bases[0].lat: (65.600000, 21.000000) is ")
