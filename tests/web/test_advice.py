"""Routing preparation (web/advice.py) runs in the background: on a map big enough for
contraction hierarchies the service answers /health, routes and recommendations while the
hierarchies are built, with plain search meanwhile (recommendations in a worker thread on a
copy of the state), and every driving situation becomes prepared."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from maps.synthetic import rural_graph
from tests.web.conftest import ManualClock, free_port, serve_app
from web.app import create_app
from web.settings import Settings


def test_service_answers_while_every_situation_is_prepared_in_the_background(
    db: Path, tokens: dict[str, str],
) -> None:
    graph = rural_graph(20_000, seed=3)
    clock = ManualClock()  # Thursday 14:00 UTC: off-peak; rush hour starts at 15
    port = free_port()
    home = graph.places[0]
    region = db.with_name("synthetic.toml")  # the bundled region's bases are off this map
    region.write_text(f'name = "Synthetic"\n[[bases]]\nid = "home"\nname = "Home"\n'
                      f'lat = {home.lat}\nlon = {home.lon}\n[[units]]\nid = "MAE-HOME"\n'
                      'name = "MAE Home"\nbase = "home"\n', encoding="utf-8")
    app = create_app(Settings(database=db, port=port, demo_units=True, region=region),
                     clock=clock,
                     graph=graph, tick=False)
    server = serve_app(app, port, db, tokens)
    try:
        service = app.state.service
        assert service.travel().uses_hierarchy
        answered_unprepared = 0
        with server.http("police") as police, server.http("dispatcher") as disp:
            unit_id = next(iter(service.state.units))
            place = graph.places[-1].name
            ack = police.post("/api/alarms", json={
                "reference": "R-1", "priority": 1, "category": "psychosis",
                "location": {"place": place}})
            assert ack.status_code == 201, ack.text
            callout_id = ack.json()["callout_id"]
            query = {"unit_id": unit_id, "callout_id": callout_id}
            durations: dict[bool, list[float]] = {False: [], True: []}
            etas: dict[bool, list[float]] = {False: [], True: []}
            sock = server.socket("/ws/dispatch", "dispatcher")
            sock.ready()

            def recommended() -> float:
                reply = sock.request({"type": "recommend", "callout_id": callout_id})
                assert reply["type"] == "recommendation", reply
                return float(reply["options"][0]["eta_s"])

            for peak in (False, True):
                if peak:
                    clock.advance(3600)  # into rush hour, a metric of its own
                unprepared = not service.travel().ready
                health = disp.get("/api/health")
                assert health.status_code == 200
                assert not unprepared or health.json()["routing_prepared"] is False
                route = disp.get("/api/route", params=query)
                assert route.status_code == 200, route.text
                durations[peak].append(route.json()["duration_s"])
                etas[peak].append(recommended())  # in a worker thread while unprepared
                answered_unprepared += unprepared
            assert answered_unprepared >= 1  # the hierarchies take seconds to build here
            deadline = time.monotonic() + 600
            while not service.routing_prepared:
                assert disp.get("/api/health").status_code == 200
                assert time.monotonic() < deadline, "routing was never prepared"
                time.sleep(0.2)
            assert disp.get("/api/health").json()["routing_prepared"] is True
            for peak in (True, False):
                if not peak:
                    clock.advance(-3600)
                assert service.travel().ready
                durations[peak].append(disp.get("/api/route", params=query).json()[
                    "duration_s"])
                etas[peak].append(recommended())
            sock.close()
        # the plain search and the hierarchy agree (to the route's rounding)
        for peak in (False, True):
            assert durations[peak][0] == pytest.approx(durations[peak][1], abs=0.2)
            assert etas[peak][0] == pytest.approx(etas[peak][1], rel=1e-6)
        assert durations[True][0] >= durations[False][0]  # rush hour is not faster
    finally:
        server.stop()


def test_a_new_service_opens_before_its_snap_index_and_awaits_it_to_resolve(
        tmp_path: Path) -> None:
    """A new service has no snap index yet (the port opens first, the index follows in the
    background); ``map_ready`` awaits it from a worker thread, after which the engine is
    ready and a location resolves."""
    import asyncio

    from maps.bundled import load_bundled
    from web.eventstore import SqliteEventStore
    from web.service import DispatchService

    store = SqliteEventStore(tmp_path / "db.sqlite3")
    service = DispatchService(store, graph=load_bundled(), clock=ManualClock())

    async def scenario() -> tuple[bool, bool, float]:
        before = service.travel().snap_ready
        await service.map_ready()
        where = service.resolve(lat=65.58, lon=22.15, place=None)
        return before, service.travel().ready, where.lat

    try:
        assert asyncio.run(scenario()) == (False, True, 65.58)
    finally:
        service.close()
        store.close()
