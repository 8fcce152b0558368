"""Routing preparation (web/advice.py) runs in the background: on a map big enough for
contraction hierarchies the service answers /health, routes and recommendations while the
hierarchies are built, with plain search meanwhile (recommendations in a worker thread on a
copy of the state), and every driving situation becomes prepared."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dispatch.commands import RegisterUnit, StartShift
from dispatch.model import Location
from dispatch.recommend import RecommendConfig
from dispatch.state import DispatchState
from maps.bundled import load_bundled
from maps.graph import EARTH_RADIUS_M, haversine_m
from maps.synthetic import rural_graph
from tests.web.conftest import ManualClock, free_port, serve_app
from web.advice import NEARBY_LABEL_KM, Advisor
from web.app import create_app
from web.eventstore import SqliteEventStore
from web.service import DispatchService
from web.settings import Settings


def test_service_answers_while_every_situation_is_prepared_in_the_background(
    db: Path, tokens: dict[str, str],
) -> None:
    graph = rural_graph(20_000, seed=3)
    # Thursday 13:00 UTC, 14:00 in Sweden: off-peak; Sweden's rush hour starts at 15
    clock = ManualClock(datetime(2026, 1, 15, 13, 0, tzinfo=UTC))
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
        assert durations[True][0] > durations[False][0]  # two situations: rush hour slower
    finally:
        server.stop()


def test_nearby_label_is_the_nearest_place_of_the_map() -> None:
    """The label of bare coordinates (looked for only among the places in a band of latitude)
    names the place a plain loop over all of them finds nearest, with the distance past 1 km
    and none beyond 30 km, also for points just inside and outside the band's edges."""

    graph = load_bundled()
    advisor = Advisor(DispatchState(), graph, clock=ManualClock(), config=RecommendConfig())
    rng = random.Random(4)
    labels = set()
    edge = math.degrees(NEARBY_LABEL_KM * 1000.0 / EARTH_RADIUS_M)  # 30 km due north or south
    points = [(p.lat + sign * edge * f, p.lon) for p in graph.places for sign in (-1, 1)
              for f in (0.999, 1.001)]
    for _ in range(200):
        place = rng.choice(graph.places)
        points.append((place.lat + rng.uniform(-0.3, 0.3), place.lon + rng.uniform(-0.6, 0.6)))
    for lat, lon in points:
        km, name = min((float(haversine_m(lat, lon, p.lat, p.lon)) / 1000.0, p.name)
                       for p in graph.places)
        want = name if km <= 1.0 else f"{name} ({km:.0f} km)" if km <= NEARBY_LABEL_KM else ""
        got = advisor.nearby_label(lat, lon)
        assert got == want
        labels.add(got)
    assert len(labels) > 50  # many places, near and far, were named
    assert "" in labels and any(label.endswith("(30 km)") for label in labels)  # both edges
    assert advisor.nearby_label(place.lat, place.lon) in {p.name for p in graph.places
                                                          if (p.lat, p.lon) == (place.lat,
                                                                                place.lon)}


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


def _seed_units(db: Path, clock: ManualClock, n: int) -> None:
    """``n`` units on shift at the bundled map's localities, logged through the service's own
    write path before the server starts."""
    towns = [p for p in load_bundled().places if p.kind == "locality"]
    rng = random.Random(7)

    async def register() -> None:
        store = SqliteEventStore(db)
        service = DispatchService(store, graph=load_bundled(), clock=clock)
        service.load()
        for i in range(n):
            town = towns[i % len(towns)]
            where = Location(town.lat + rng.uniform(-0.01, 0.01), town.lon, label=town.name)
            await service.execute(RegisterUnit(f"U{i:03d}", f"MAE {i}", town.name, where),
                                  actor="test")
            await service.execute(StartShift(f"U{i:03d}", ("nurse",),
                                             clock.now() + timedelta(hours=8)), actor="test")
        service.close()
        store.close()

    asyncio.run(register())


def test_a_slow_recommendation_does_not_stall_another_clients_ping(
    db: Path, tokens: dict[str, str],
) -> None:
    """Recommending among 600 units on shift takes a few hundred milliseconds of routing
    and coverage work (the first time: snapping every unit, their search trees). It runs in
    the advice thread while the event loop keeps serving: another dispatcher's pings are
    answered many times over before the recommendation is back (on the loop, the pings would
    wait for it: at most a couple could slip in after it)."""
    clock = ManualClock()
    _seed_units(db, clock, 600)
    port = free_port()
    app = create_app(Settings(database=db, port=port), clock=clock)
    server = serve_app(app, port, db, tokens)
    try:
        with server.http("police") as police:
            ack = police.post("/api/alarms", json={
                "reference": "R-slow", "priority": 1, "category": "psychosis",
                "location": {"place": "Boden"}})
        assert ack.status_code == 201, ack.text
        callout_id = ack.json()["callout_id"]
        asker, pinger = (server.socket("/ws/dispatch", "dispatcher") for _ in range(2))
        asker.ready()
        pinger.ready()
        deadline = time.monotonic() + 60
        while not app.state.service.routing_prepared:  # answers from prepared tables
            assert time.monotonic() < deadline, "routing was never prepared"
            time.sleep(0.1)
        asker.conn.send(json.dumps({"type": "recommend", "callout_id": callout_id, "id": "slow"}))
        pongs, reply = 0, None
        while reply is None:
            assert pinger.request({"type": "ping"})["type"] == "pong"
            pongs += 1
            with contextlib.suppress(TimeoutError):
                while reply is None:
                    msg = asker.recv(timeout=0)
                    reply = msg if msg.get("id") == "slow" else None
        assert reply["type"] == "recommendation" and len(reply["options"]) >= 600
        again = asker.request({"type": "recommend", "callout_id": callout_id}, timeout=60)
        assert again["options"] == reply["options"]
        assert pongs >= 8, f"only {pongs} pings were answered during the recommendation"
        asker.close()
        pinger.close()
    finally:
        server.stop()


def test_the_advisor_reads_rush_hour_on_the_clock_it_is_given() -> None:
    """06:30 UTC on a Thursday is 07:30 in Sweden (the morning rush hour) and off-peak on a UTC
    clock: the advisor's engine reads rush hours in the timezone it is given, Sweden's by
    default."""
    graph = load_bundled()
    clock = ManualClock(datetime(2026, 1, 15, 6, 30, tzinfo=UTC))
    lulea = next(p for p in graph.places if p.name == "Luleå")
    pitea = next(p for p in graph.places if p.name == "Piteå")

    def drive_s(**zone: str) -> float:
        advisor = Advisor(DispatchState(), graph, clock=clock, config=RecommendConfig(), **zone)
        return advisor.travel().eta((lulea.lat, lulea.lon), (pitea.lat, pitea.lon)).duration_s

    sweden, utc = drive_s(), drive_s(timezone="UTC")
    assert drive_s(timezone="Europe/Stockholm") == sweden
    assert sweden > utc * 1.01
