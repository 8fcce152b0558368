"""The region file in the service: read from disk, its bases and facilities put on the map, and
the units brought to the file's through the writer, on a real SQLite event log."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from dispatch.commands import Assign, ReceiveAlarm, StartShift
from dispatch.model import Agency, Alarm, Category, Location, Patient, Priority
from dispatch.region import RegionError
from maps.bundled import load_bundled
from maps.graph import RoadGraph
from tests.web.conftest import T0, ManualClock, make_tokens, thread_server
from web.eventstore import SqliteEventStore
from web.regions import (
    BUNDLED_REGION,
    load_region,
    map_bounds,
    read_region,
    with_region_facilities,
)
from web.service import DispatchService

REGION = """
name = "Luleå test"
[[bases]]
id = "sunderbyn"
name = "Sunderby sjukhus"
lat = 65.67
lon = 21.98
[[bases]]
id = "boden"
name = "Boden bas"
lat = 65.8252
lon = 21.6886
[[units]]
id = "U1"
name = "MAE Sunderbyn"
base = "sunderbyn"
seats = 3
[[units]]
id = "U2"
name = "MAE Boden"
base = "boden"
competences = ["nurse", "doctor"]
[[facilities]]
name = "Kalix sjukhus"
kind = "hospital"
kinds = ["psychiatric_emergency"]
lat = 65.856
lon = 23.133
place = "Kalix"
[[facilities]]
name = "Bodens vårdcentral"
kind = "hospital"
lat = 65.83
lon = 21.69
"""


@pytest.fixture(scope="module")
def graph() -> RoadGraph:
    return load_bundled()


@pytest.fixture
def service(tmp_path: Path, graph: RoadGraph) -> Iterator[DispatchService]:
    store = SqliteEventStore(tmp_path / "region.sqlite3")
    service = DispatchService(store, graph=graph, clock=ManualClock())
    service.load()
    yield service
    service.close()
    store.close()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "region.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_read_region_checks_the_file_on_the_map(tmp_path: Path, graph: RoadGraph) -> None:
    region = read_region(write(tmp_path, REGION), graph=graph)
    assert [u.unit_id for u in region.units] == ["U1", "U2"]
    skane = REGION.replace("lat = 65.8252\nlon = 21.6886", "lat = 55.6\nlon = 13.0")
    with pytest.raises(RegionError) as info:
        read_region(write(tmp_path, skane), graph=graph)
    assert info.value.lines() == [f"bases[1].lat: (55.6, 13) is off the map ({map_bounds(graph)})"]
    read_region(write(tmp_path, skane))  # in Sweden: fine without a map


@pytest.mark.parametrize(("content", "words"), [
    (None, "cannot read"), (b"name = ", "not valid TOML"), (b"\xff\xfe", "not UTF-8")])
def test_a_file_that_cannot_be_read_is_one_problem_under_file(tmp_path: Path,
                                                               content: bytes | None,
                                                               words: str) -> None:
    path = tmp_path / "region.toml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(RegionError) as info:
        read_region(path)
    ((key, problem),) = info.value.problems
    assert key == "file" and words in problem


def test_bases_and_facilities_go_on_the_map_without_changing_the_graph(
    tmp_path: Path, graph: RoadGraph,
) -> None:
    region = read_region(write(tmp_path, REGION), graph=graph)
    before = graph.facilities
    on_map = with_region_facilities(graph, region)
    assert graph.facilities == before
    facilities = {f.name: f for f in on_map.facilities}
    assert set(facilities) == {f.name for f in before} | {"Boden bas", "Bodens vårdcentral"}
    assert facilities["Boden bas"].kind == "mae_base"
    boden = facilities["Boden bas"]
    assert graph.node_lat[boden.node] == pytest.approx(65.8252, abs=0.1)
    kalix = facilities["Kalix sjukhus"]  # overridden: now takes psychiatric emergencies
    assert kalix.is_a("psychiatric_emergency") and kalix.place == "Kalix"
    assert facilities["Sunderby sjukhus"] == next(f for f in before
                                                  if f.name == "Sunderby sjukhus")
    bundled = read_region(BUNDLED_REGION, graph=graph)
    assert with_region_facilities(graph, bundled) is graph  # its bases are the map's already


def test_loading_registers_then_logs_nothing_and_a_removed_unit_is_retired(
    tmp_path: Path, graph: RoadGraph, service: DispatchService,
) -> None:
    region = read_region(write(tmp_path, REGION), graph=graph)
    done = asyncio.run(load_region(service, region))
    assert (done.registered, done.updated, done.retired, done.refused) == (["U1", "U2"], [], [],
                                                                           [])
    assert service.region is region
    assert service.state.units["U2"].registered_competences == ("nurse", "doctor")
    assert asyncio.run(load_region(service, region)).summary() == (
        "0 registered, 0 updated, 0 retired")
    assert service.last_seq == 2
    fewer = REGION.replace('[[units]]\nid = "U2"\nname = "MAE Boden"\nbase = "boden"\n'
                           'competences = ["nurse", "doctor"]\n', "")
    fewer = fewer.replace("seats = 3", "seats = 4")
    done = asyncio.run(load_region(service, read_region(write(tmp_path, fewer), graph=graph)))
    assert (done.registered, done.updated, done.retired) == ([], ["U1"], ["U2"])
    assert service.state.units["U2"].retired and service.state.units["U1"].seats == 4
    log = SqliteEventStore(tmp_path / "region.sqlite3")  # the file, as a restart reads it
    logged = [type(env.event).__name__ for env in log.read()]
    log.close()
    assert logged == ["UnitRegistered", "UnitRegistered", "UnitUpdated", "UnitRetired"]


def test_a_unit_on_a_callout_is_not_retired_and_the_load_says_why(
    tmp_path: Path, graph: RoadGraph, service: DispatchService,
) -> None:
    asyncio.run(load_region(service, read_region(write(tmp_path, REGION), graph=graph)))

    async def busy() -> str:
        await service.execute(StartShift("U2", ("nurse A",), T0.replace(hour=22)), actor="t")
        alarm = Alarm(agency=Agency.POLICE, reference="P-1", received_at=T0,
                      location=Location(65.83, 21.69), priority=Priority.URGENT,
                      category=Category.SUICIDE_RISK, patient=Patient())
        done = await service.execute(ReceiveAlarm(alarm), actor="t")
        callout_id = done.decision.callout_id
        assert callout_id is not None
        await service.execute(Assign(callout_id, "U2"), actor="t")
        return callout_id

    callout_id = asyncio.run(busy())
    fewer = REGION.replace('id = "U2"', 'id = "U3"')
    done = asyncio.run(load_region(service, read_region(write(tmp_path, fewer), graph=graph)))
    assert done.registered == ["U3"] and done.retired == []
    (refused,) = done.refused
    assert refused.startswith(f"U2: unit_id: unit U2 is on callout {callout_id}")
    assert "refused" in done.summary()
    assert not service.state.units["U2"].retired


def test_the_bundled_region_ships_with_the_package() -> None:
    """``regions/`` sits beside the packages in a clone, and the install takes it along (as
    package data of the data-only ``regions`` directory), where :data:`BUNDLED_REGION` looks."""
    import tomllib

    assert BUNDLED_REGION.is_file() and BUNDLED_REGION.parent.name == "regions"
    setup = tomllib.loads((BUNDLED_REGION.parents[1] / "pyproject.toml").read_text("utf-8"))
    tools = setup["tool"]["setuptools"]
    assert "regions" in tools["packages"]["find"]["include"]
    assert BUNDLED_REGION.match(f"regions/{tools['package-data']['regions'][0]}")


def test_the_service_serves_the_map_with_the_regions_bases_and_facilities(
    tmp_path: Path,
) -> None:
    db = tmp_path / "map.sqlite3"
    srv = thread_server(db, make_tokens(db), clock=ManualClock(),
                        region=write(tmp_path, REGION))
    try:
        with srv.http("dispatcher") as disp:
            body = disp.get("/api/map").json()
            units = disp.get("/api/units").json()
    finally:
        srv.stop()
    bases = {b["name"] for b in body["bases"]}
    assert {"Sunderby sjukhus", "Boden bas"} <= bases
    kalix = next(f for f in body["facilities"] if f["name"] == "Kalix sjukhus")
    assert kalix["kinds"] == ["hospital", "psychiatric_emergency"]
    assert "Bodens vårdcentral" in {f["name"] for f in body["facilities"]}
    assert [(u["unit_id"], u["base"], u["seats"]) for u in units] == [
        ("U1", "Sunderby sjukhus", 3), ("U2", "Boden bas", None)]


TWO_UNITS = """
name = "Luleå and Piteå"
[[bases]]
id = "sunderbyn"
name = "Sunderby sjukhus"
lat = 65.67
lon = 21.98
[[bases]]
id = "pitea"
name = "Piteå älvdals sjukhus"
lat = 65.326
lon = 21.464
[[units]]
id = "MAE-SUNDERBY"
name = "MAE Sunderbyn"
base = "sunderbyn"
[[units]]
id = "MAE-PITEA"
name = "MAE Piteå"
base = "pitea"
"""


def test_a_unit_retired_by_the_region_file_loses_its_crew_tokens(tmp_path: Path) -> None:
    """``mae serve --region``: a unit no longer in the file is retired and its crew's tokens
    are revoked with it; the other unit's phones go on working."""
    db = tmp_path / "retire.sqlite3"
    tokens = make_tokens(db)
    route = "/api/route?unit_id=MAE-PITEA&callout_id=C1"
    srv = thread_server(db, tokens, clock=ManualClock(), region=write(tmp_path, TWO_UNITS))
    try:
        with srv.http("crew_pit") as crew:
            assert crew.get(route).status_code == 404  # known, no such callout
    finally:
        srv.stop()
    one = TWO_UNITS.replace('[[units]]\nid = "MAE-PITEA"\nname = "MAE Piteå"\nbase = "pitea"\n',
                            "")
    srv = thread_server(db, tokens, clock=ManualClock(), region=write(tmp_path, one))
    try:
        with srv.http("admin") as admin:
            units = {u["unit_id"]: u for u in admin.get("/api/units").json()}
            listed = {p["name"]: p["revoked"] for p in admin.get("/api/admin/tokens").json()}
        assert units["MAE-PITEA"]["retired"] and not units["MAE-SUNDERBY"]["retired"]
        assert listed["crew_pit"] is True
        assert listed["crew_sun"] is False and listed["crew_sun2"] is False
        with srv.http("crew_pit") as crew:
            assert crew.get(route).status_code == 401
        with srv.http("crew_sun") as crew:
            assert crew.get("/api/route?unit_id=MAE-SUNDERBY&callout_id=C1").status_code == 404
    finally:
        srv.stop()


def test_rush_hour_is_read_on_the_region_files_clock(tmp_path: Path) -> None:
    """Thursday 06:30 UTC is 07:30 in Sweden, inside Luleå's morning rush hour, and outside
    it on a UTC clock. The service's routes follow the region file's ``timezone`` (before,
    the live service always read the rush hours in Stockholm time, whatever the region said):
    the same drive is slower under the default Swedish clock than under ``timezone = "UTC"``."""
    early = T0.replace(hour=6, minute=30)
    durations = {}
    for name, zone in (("sweden", ""), ("utc", 'timezone = "UTC"\n')):
        folder = tmp_path / name
        folder.mkdir()
        db = folder / "r.sqlite3"
        srv = thread_server(db, make_tokens(db), clock=ManualClock(early),
                            region=write(folder, zone + TWO_UNITS))
        try:
            with srv.http("police") as police, srv.http("dispatcher") as disp:
                ack = police.post("/api/alarms", json={
                    "reference": f"R-{name}", "priority": 2, "category": "psychosis",
                    "location": {"lat": 65.584, "lon": 22.154}})  # Luleå
                assert ack.status_code == 201, ack.text
                route = disp.get("/api/route", params={
                    "unit_id": "MAE-PITEA", "callout_id": ack.json()["callout_id"]})
                assert route.status_code == 200, route.text
                durations[name] = route.json()["duration_s"]
        finally:
            srv.stop()
    assert durations["sweden"] > durations["utc"] * 1.01, durations
