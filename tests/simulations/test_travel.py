"""Road travel times for the simulator (simulations.travel.SimRoads) on the bundled county map."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from maps.bundled import load_bundled
from maps.synthetic import rural_graph
from simulations.spec import Roads
from simulations.travel import SimRoads

WHEN = datetime(2026, 2, 3, 12, 0, tzinfo=UTC)  # winter, midday


def test_registered_drives_come_from_the_matrices_and_agree_with_one_query_each() -> None:
    """Drives between the registered bases/facilities and scenes, either way and between
    bases, are answered from the situation's matrices (no query of their own) with the times
    one routing query per drive gives; an unregistered point is asked once, then remembered."""
    graph = load_bundled()
    fixed = [(f.lat, f.lon) for f in graph.facilities[:4]]
    scenes = [(p.lat, p.lon) for p in graph.places[:25]]
    roads, single = SimRoads(graph, Roads()), SimRoads(graph, Roads())
    roads.register(fixed, scenes)
    pairs = [(a, b) for a in fixed for b in scenes] + [(b, a) for a in fixed for b in scenes] \
        + [(a, b) for a in fixed for b in fixed]
    for a, b in pairs:
        assert roads.time(a, b, WHEN) == pytest.approx(single.time(a, b, WHEN), abs=1e-6)
    assert roads.etas(scenes[3], fixed, WHEN) == [roads.time(a, scenes[3], WHEN) for a in fixed]
    assert roads.times_from(scenes[5], fixed, WHEN) == [roads.time(scenes[5], b, WHEN)
                                                       for b in fixed]
    assert roads.queries == 0 and single.queries == len(pairs)
    between = ((scenes[0][0] + scenes[1][0]) / 2, (scenes[0][1] + scenes[1][1]) / 2)
    first = roads.time(between, fixed[0], WHEN)
    assert roads.queries == 1 and roads.time(between, fixed[0], WHEN) == first
    assert roads.queries == 1
    assert first == pytest.approx(single.time(between, fixed[0], WHEN), abs=1e-6)


def test_the_node_along_a_drive_is_the_nearest_node_of_the_point_along_it() -> None:
    """On a road map, node_along is nearest_node of the point along the line."""
    graph = rural_graph(300, seed=3)
    roads = SimRoads(graph, Roads())
    line = [(float(graph.node_lat[0]), float(graph.node_lon[0])),
            (float(graph.node_lat[1]), float(graph.node_lon[1])),
            (float(graph.node_lat[5]), float(graph.node_lon[5]))]
    for fraction in [0.0, 0.1, 0.5, 0.77, 1.0]:
        assert roads.node_along(line, fraction) == roads.nearest_node(roads.along(line, fraction))


def test_a_scene_given_its_instant_is_prepared_for_that_driving_situation_only() -> None:
    """With the scenes' instants, each scene's drives come from the matrices of the driving
    situation of its instant (no query); in another situation they are asked when they come,
    with the times an unprepared source gives (to the last bit; a matrix's may differ in it)."""
    graph = load_bundled()
    fixed = [(f.lat, f.lon) for f in graph.facilities[:3]]
    scenes = [(p.lat, p.lon) for p in graph.places[:6]]
    rush = datetime(2026, 2, 3, 7, 0, tzinfo=UTC)  # a winter Tuesday, 08:00 in Sweden: rush hour
    instants = [WHEN, rush] * 3
    roads, single = SimRoads(graph, Roads()), SimRoads(graph, Roads())
    roads.register(fixed, scenes, at=instants)
    for scene, when in zip(scenes, instants, strict=True):
        assert roads.etas(scene, fixed, when) == pytest.approx(single.etas(scene, fixed, when),
                                                               abs=1e-6)
        assert roads.times_from(scene, fixed, when) == pytest.approx(
            single.times_from(scene, fixed, when), abs=1e-6)
    assert roads.queries == 0
    other = {WHEN: rush, rush: WHEN}
    for scene, when in zip(scenes, instants, strict=True):
        asked = roads.etas(scene, fixed, other[when])
        assert asked == single.etas(scene, fixed, other[when])
        assert asked != pytest.approx(roads.etas(scene, fixed, when), abs=1e-6)  # rush hour
    assert roads.queries == len(scenes)


def test_a_scene_s_instant_in_local_time_is_prepared_for_the_clock_s_situation() -> None:
    """A replayed log's alarms carry the region's local time and the simulator's clock runs in
    UTC: the same instant is the same driving situation (rush hour read in Swedish time)."""
    graph = load_bundled()
    fixed = [(f.lat, f.lon) for f in graph.facilities[:3]]
    scenes = [(p.lat, p.lon) for p in graph.places[:4]]
    local = datetime(2026, 2, 3, 8, 30, tzinfo=ZoneInfo("Europe/Stockholm"))  # rush hour
    roads = SimRoads(graph, Roads())
    roads.register(fixed, scenes, at=[local] * len(scenes))
    clock = local.astimezone(UTC)  # 07:30 UTC
    for scene in scenes:
        roads.etas(scene, fixed, clock)
    assert roads.queries == 0
    assert roads.model.is_peak(clock)
