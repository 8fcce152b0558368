"""The map endpoints the pages draw from: the merged road map, place look-up, coverage from the
free units and unit-to-callout routes, with the role matrix and errors naming the field."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dispatch.coverage import DEFAULT_THRESHOLDS
from maps.bundled import load_bundled
from maps.graph import Facility, Place, RoadClass, RoadGraph, haversine_m, save_graph
from tests.web.conftest import ManualClock, Server, thread_server
from web.routes import mapdata

ALARM = {"priority": 1, "category": "psychosis", "location": {"place": "Kalix"}}
ROLES = ("dispatcher", "admin", "planner", "police", "ambulance", "psychiatry", "crew_sun",
         "crew_pit")


def alarm(srv: Server, reference: str, **location: Any) -> dict[str, Any]:
    with srv.http("police") as police:
        r = police.post("/api/alarms", json={**ALARM, "reference": reference,
                                             **({"location": location} if location else {})})
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body


def dispatch(srv: Server, callout_id: str, unit_id: str) -> None:
    sock = srv.socket("/ws/dispatch", "dispatcher")
    try:
        sock.ready()
        assert sock.request({"type": "assign", "callout_id": callout_id,
                             "unit_id": unit_id})["type"] == "ok"
    finally:
        sock.close()


def set_status(srv: Server, who: str, status: str) -> None:
    sock = srv.socket("/ws/crew", who)
    try:
        sock.ready()
        assert sock.request({"type": "status", "status": status})["type"] == "ok"
    finally:
        sock.close()


def coverage(srv: Server) -> dict[str, Any]:
    with srv.http("dispatcher") as disp:
        r = disp.get("/api/coverage")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


# -- /api/map -----------------------------------------------------------------------------------


def test_map_is_small_merged_and_covers_every_road_node(server: Server) -> None:
    graph = load_bundled()
    with server.http("police") as police:
        r = police.get("/api/map")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert len(r.content) < 40_000  # the county map in a few kB, not one feature per edge
    body = r.json()
    assert body["name"] == graph.name and body["tile_url"] is None
    (s, w), (n, e) = body["bounds"]
    assert (s, w, n, e) == pytest.approx(graph.bounds())
    classes = {c.name.lower() for c in RoadClass}
    points = set()
    for road in body["roads"]:
        assert road["class"] in classes and len(road["coords"]) >= 2
        for lat, lon in road["coords"]:
            assert round(lat, 5) == lat and round(lon, 5) == lon
            assert s - 1e-5 <= lat <= n + 1e-5 and w - 1e-5 <= lon <= e + 1e-5
            points.add((lat, lon))
    # two-way roads drawn once and runs joined: far fewer lines than directed edges
    assert len(body["roads"]) < graph.n_edges / 3
    used = set(graph.edge_source.tolist()) | set(graph.edge_target.tolist())
    for node in used:
        assert (round(float(graph.node_lat[node]), 5), round(float(graph.node_lon[node]), 5)) \
            in points
    e4 = [road for road in body["roads"] if road["ref"] == "E4"]
    assert e4 and all(road["class"] == "trunk" for road in e4)
    assert {p["name"] for p in body["places"]} == {p.name for p in graph.places}
    assert all(p["population"] >= 0 for p in body["places"])
    bases = {b["name"] for b in body["bases"]}
    assert bases == {f.name for f in graph.facilities if f.is_a("mae_base")}
    assert len(body["facilities"]) == len(graph.facilities)
    with server.http("dispatcher") as disp:  # cached: the same bytes for everyone
        assert disp.get("/api/map").content == r.content


# -- /api/places --------------------------------------------------------------------------------


def test_places_match_names_and_aliases_and_each_resolves(server: Server) -> None:
    with server.http("police") as police:
        lulea = police.get("/api/places", params={"q": "lulea"}).json()
        assert lulea[0]["name"] == "Luleå" and lulea[0]["population"] > 40_000
        assert {"lat", "lon", "kind", "municipality", "matched"} <= set(lulea[0])
        sami = police.get("/api/places", params={"q": "jahkamahkke"}).json()
        assert sami[0]["name"] == "Jokkmokk" and sami[0]["matched"] != "Jokkmokk"
        many = police.get("/api/places", params={"q": "a", "limit": 3}).json()
        assert len(many) == 3
        assert police.get("/api/places", params={"q": "zzzqqq"}).json() == []
        sunderby = police.get("/api/places", params={"q": "sunderby"}).json()
        names = [p["name"] for p in sunderby]
        assert "Sunderby sjukhus" in names
        for i, name in enumerate(names[:2]):  # every name offered is accepted by the intake
            ack = alarm(server, f"P-{i}", place=name)
            assert ack["location"]["label"] == name


# -- /api/coverage ------------------------------------------------------------------------------


def test_coverage_from_free_units_and_none_when_all_are_busy(server: Server) -> None:
    graph = load_bundled()
    total = sum(p.population for p in graph.places)
    full = coverage(server)
    assert full["population"] == total == sum(full["bands"].values())
    assert set(full["bands"]) == {"30", "60", "90", "beyond"}
    assert {u["unit_id"] for u in full["free_units"]} == {"MAE-SUNDERBY", "MAE-PITEA",
                                                           "MAE-GALLIVARE"}
    assert full["bands"]["30"] + full["bands"]["60"] + full["bands"]["90"] > total / 2
    by_name = {p["name"]: p for p in full["places"]}
    assert len(by_name) == len(graph.places)
    assert by_name["Luleå"]["minutes"] <= 30 and by_name["Luleå"]["unit_id"] == "MAE-SUNDERBY"
    for p in full["places"]:
        band = next((b for b in ("30", "60", "90") if p["minutes"] is not None
                     and p["minutes"] <= int(b)), "beyond")
        assert p["population"] == 0 or full["bands"][band] >= p["population"]

    set_status(server, "crew_sun", "unavailable")
    set_status(server, "crew_pit", "unavailable")
    fewer = coverage(server)
    assert [u["unit_id"] for u in fewer["free_units"]] == ["MAE-GALLIVARE"]
    after = {p["name"]: p for p in fewer["places"]}
    assert after["Luleå"]["minutes"] > by_name["Luleå"]["minutes"]
    for name, p in after.items():  # fewer free units never bring a place closer
        assert p["minutes"] >= by_name[name]["minutes"]
    assert fewer["bands"]["30"] < full["bands"]["30"]

    callout = alarm(server, "C-1")["callout_id"]
    dispatch(server, callout, "MAE-GALLIVARE")
    none = coverage(server)
    assert none["free_units"] == []
    assert all(p["minutes"] is None and p["unit_id"] is None for p in none["places"])
    assert none["bands"] == {"30": 0, "60": 0, "90": 0, "beyond": total}


# -- /api/route ---------------------------------------------------------------------------------


def test_route_runs_from_the_unit_to_the_callout_with_named_steps(server: Server) -> None:
    ack = alarm(server, "R-1")
    with server.http("dispatcher") as disp:
        units = {u["unit_id"]: u for u in disp.get("/api/units").json()}
        r = disp.get("/api/route", params={"unit_id": "MAE-SUNDERBY",
                                            "callout_id": ack["callout_id"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["unit_id"] == "MAE-SUNDERBY" and body["callout_id"] == ack["callout_id"]
    pos, dest = units["MAE-SUNDERBY"]["position"], ack["location"]
    start, end = body["geometry"][0], body["geometry"][-1]
    assert haversine_m(start[0], start[1], pos["lat"], pos["lon"]) < 50
    assert haversine_m(end[0], end[1], dest["lat"], dest["lon"]) < 50
    crow = haversine_m(pos["lat"], pos["lon"], dest["lat"], dest["lon"])
    assert crow < body["distance_m"] < 2 * crow
    steps = body["steps"]
    assert steps[0]["kind"] == "depart" and steps[-1]["kind"] == "arrive"
    roads = [s["road"] for s in steps if s["kind"] == "road"]
    assert "E4" in roads and all(s["text"] for s in steps)
    assert sum(s["distance_m"] for s in steps) == pytest.approx(body["distance_m"], abs=0.1 *
                                                                  len(steps))
    assert sum(s["duration_s"] for s in steps) == pytest.approx(body["duration_s"], abs=0.1 *
                                                                  len(steps))
    sock = server.socket("/ws/dispatch", "dispatcher")  # the same engine as the advice
    sock.ready()
    options = sock.request({"type": "recommend", "callout_id": ack["callout_id"]})["options"]
    sock.close()
    eta = next(o["eta_s"] for o in options if o["unit_id"] == "MAE-SUNDERBY")
    assert body["duration_s"] == pytest.approx(eta, abs=1.0)


def test_route_roles_crew_only_own_unit_and_job(server: Server) -> None:
    callout = alarm(server, "R-2")["callout_id"]
    params = {"unit_id": "MAE-SUNDERBY", "callout_id": callout}
    codes = {}
    for who in ROLES:
        with server.http(who) as c:
            codes[who] = c.get("/api/route", params=params).status_code
    assert codes == {"dispatcher": 200, "admin": 200, "planner": 403, "police": 403,
                     "ambulance": 403, "psychiatry": 403, "crew_sun": 403, "crew_pit": 403}
    dispatch(server, callout, "MAE-SUNDERBY")
    with server.http("crew_sun") as sun, server.http("crew_pit") as pit:
        assert sun.get("/api/route", params=params).status_code == 200
        other = {"unit_id": "MAE-PITEA", "callout_id": callout}
        assert sun.get("/api/route", params=other).status_code == 403
        assert pit.get("/api/route", params=params).status_code == 403
        r = pit.get("/api/route", params=other)  # its own unit, but not its job
        assert r.status_code == 403 and "callout" in r.json()["message"]


# -- roles and bad parameters -------------------------------------------------------------------


def test_role_matrix_of_map_places_and_coverage(server: Server) -> None:
    watchers = {"dispatcher", "admin", "planner"}
    for who in ROLES:
        with server.http(who) as c:
            assert c.get("/api/map").status_code == 200, who
            assert c.get("/api/places", params={"q": "Kalix"}).status_code == 200, who
            r = c.get("/api/coverage")
            assert r.status_code == (200 if who in watchers else 403), who
            if r.status_code == 403:
                assert r.json()["error"] == "forbidden"
    with server.http(None) as anon:
        for path in ("/api/map", "/api/places?q=a", "/api/coverage",
                     "/api/route?unit_id=MAE-PITEA&callout_id=C1"):
            r = anon.get(path)
            assert r.status_code == 401 and r.json()["error"] == "unauthorized", path


@pytest.mark.parametrize(("path", "status", "field"), [
    ("/api/places", 422, "q"),
    ("/api/places?q=", 422, "q"),
    ("/api/places?q=Kalix&limit=0", 422, "limit"),
    ("/api/places?q=" + "x" * 121, 422, "q"),
    ("/api/route?callout_id=C000001", 422, "unit_id"),
    ("/api/route?unit_id=MAE-PITEA", 422, "callout_id"),
    ("/api/route?unit_id=NOPE&callout_id=C000001", 404, "unit_id"),
    ("/api/route?unit_id=MAE-PITEA&callout_id=NOPE", 404, "callout_id"),
])
def test_bad_parameters_name_the_field(server: Server, path: str, status: int,
                                       field: str) -> None:
    alarm(server, "B-1")
    with server.http("dispatcher") as disp:
        r = disp.get(path)
    assert r.status_code == status, r.text
    body = r.json()
    if status == 422:  # request validation: the field as the client names it
        assert field in [e["field"] for e in body["errors"]]
    else:
        assert body["field"] == field and field.split("_")[0] in body["message"]


# -- a map of two road islands: what no road reaches ------------------------------------------

ISLANDS = {"Alpha": (65.0, 20.0), "Beta": (65.0, 20.3), "Gamma": (65.0, 20.6),
           "Delta": (65.3, 20.0), "Omega": (66.0, 22.0), "Psi": (66.0, 22.3)}
POP = {"Alpha": 1000, "Beta": 500, "Gamma": 200, "Delta": 100, "Omega": 300, "Psi": 70}
LINKS = (("Alpha", "Beta"), ("Beta", "Gamma"), ("Alpha", "Delta"), ("Omega", "Psi"))


def islands() -> RoadGraph:
    names = list(ISLANDS)
    src, dst = [], []
    for a, b in LINKS:
        src += [names.index(a), names.index(b)]
        dst += [names.index(b), names.index(a)]
    lengths = [haversine_m(*ISLANDS[names[u]], *ISLANDS[names[v]]) * 1.1
               for u, v in zip(src, dst, strict=True)]
    places = [Place(n, *ISLANDS[n], node=i, population=POP[n]) for i, n in enumerate(names)]
    base = Facility("Alpha sjukhus", "hospital", *ISLANDS["Alpha"], node=0, place="Alpha",
                    kinds=("mae_base",))
    return RoadGraph.from_edges(
        node_lat=[ISLANDS[n][0] for n in names], node_lon=[ISLANDS[n][1] for n in names],
        source=src, target=dst, length_m=lengths, speed_kmh=[80.0] * len(src),
        road_class=[int(RoadClass.PRIMARY)] * len(src), places=places, facilities=[base],
        meta={"name": "islands"})


@pytest.fixture
def island_server(tmp_path: Path, db: Path, tokens: dict[str, str]) -> Iterator[Server]:
    path = save_graph(islands(), tmp_path / "islands.maegraph")
    region = tmp_path / "islands.toml"
    region.write_text('name = "Islands"\n[[bases]]\nid = "alpha"\nname = "Alpha sjukhus"\n'
                      'lat = 65.0\nlon = 20.0\n[[units]]\nid = "MAE-ALPHA"\n'
                      'name = "MAE Alpha"\nbase = "alpha"\n', encoding="utf-8")
    srv = thread_server(db, tokens, clock=ManualClock(), map_path=path, region=region,
                        demo_units=True)
    yield srv
    srv.stop()


def test_islands_merge_runs_leave_unreached_places_beyond_and_refuse_routes(
    island_server: Server,
) -> None:
    with island_server.http("police") as police:
        roads = police.get("/api/map").json()["roads"]
    # Delta-Alpha-Beta-Gamma is one run of one class (Alpha joins exactly two edges)
    lines = sorted((len(r["coords"]), r["class"]) for r in roads)
    assert lines == [(2, "primary"), (4, "primary")]
    four = next(r["coords"] for r in roads if len(r["coords"]) == 4)
    ends = {tuple(four[0]), tuple(four[-1])}
    assert ends == {ISLANDS["Delta"], ISLANDS["Gamma"]}
    body = coverage(island_server)
    minutes = {p["name"]: p["minutes"] for p in body["places"]}
    assert minutes["Alpha"] == 0 and all(minutes[n] > 0 for n in ("Beta", "Gamma", "Delta"))
    assert minutes["Omega"] is None and minutes["Psi"] is None
    assert body["bands"]["beyond"] >= POP["Omega"] + POP["Psi"]
    assert sum(body["bands"].values()) == sum(POP.values())
    callout = alarm(island_server, "I-1", place="Omega")["callout_id"]
    with island_server.http("dispatcher") as disp:
        r = disp.get("/api/route", params={"unit_id": "MAE-ALPHA", "callout_id": callout})
    assert r.status_code == 409
    assert r.json()["field"] == "callout_id" and "no road" in r.json()["message"]
    assert math.isfinite(minutes["Gamma"])


def test_coverage_is_computed_off_the_event_loop_with_the_shared_thresholds(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The matrix over every place runs in a worker thread, never on the loop that serves the
    sockets, and its bands are the shared coverage thresholds."""
    calls: list[bool] = []
    compute = mapdata._coverage_body

    def watched(*args: Any) -> dict[str, Any]:
        try:
            asyncio.get_running_loop()
            calls.append(True)
        except RuntimeError:
            calls.append(False)
        return compute(*args)

    monkeypatch.setattr(mapdata, "_coverage_body", watched)
    body = coverage(server)
    assert calls == [False]
    assert list(body["bands"]) == [*DEFAULT_THRESHOLDS.labels, "beyond"]
    assert sum(body["bands"].values()) == body["population"]


# -- /api/map/reach -----------------------------------------------------------------------------


def test_reach_says_whether_a_road_is_near_a_point_off_the_event_loop(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A map click next to a road is within reach, one out in the Bothnian Bay is not (the
    agency page refuses it at once); the check runs in a worker thread."""
    from routing.engine import TravelTimes

    on_loop: list[bool] = []
    check = TravelTimes.check_snap

    def watched(self: TravelTimes, lat: float, lon: float) -> None:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        check(self, lat, lon)

    monkeypatch.setattr(TravelTimes, "check_snap", watched)
    for who in ROLES:
        with server.http(who) as c:
            near = c.get("/api/map/reach", params={"lat": 65.853, "lon": 23.1565})  # Kalix
            assert near.status_code == 200, who
            assert near.json()["reachable"] is True and near.json()["limit_m"] > 0
    with server.http("police") as police:
        sea = police.get("/api/map/reach", params={"lat": 64.9, "lon": 23.2}).json()
        assert sea == {"lat": 64.9, "lon": 23.2, "reachable": False,
                       "limit_m": near.json()["limit_m"]}
        bad = police.get("/api/map/reach", params={"lat": 95, "lon": 23.2})
        assert bad.status_code == 422 and "lat" in [e["field"] for e in bad.json()["errors"]]
    assert on_loop and not any(on_loop)
    with server.http(None) as anon:
        assert anon.get("/api/map/reach?lat=65&lon=22").status_code == 401


def test_reach_is_limited_per_principal(db: Path, tokens: dict[str, str]) -> None:
    srv = thread_server(db, tokens, demo_units=True, map_reach_per_minute=3)
    try:
        with srv.http("police") as police, srv.http("ambulance") as ambulance:
            answers = [police.get("/api/map/reach?lat=65.85&lon=23.15").status_code
                       for _ in range(4)]
            assert answers == [200, 200, 200, 429]
            refused = police.get("/api/map/reach?lat=65.85&lon=23.15")
            assert refused.json()["error"] == "too_many_requests"
            assert 1 <= int(refused.headers["Retry-After"]) <= 60
            assert ambulance.get("/api/map/reach?lat=65.85&lon=23.15").status_code == 200
    finally:
        srv.stop()
