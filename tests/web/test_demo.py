"""The live demo (web/live_demo.py, web/demo_*.py, ``mae serve --demo``, ``python3 dev.py run``).

The alarm feed is a pure function of its seed; the running demo is checked over real sockets:
alarms arrive, the dispatcher bot assigns, a unit moves along its route and closes the callout
with an outcome; with the bot off a person assigns and the simulated crew takes over. The CLI
runs in a subprocess: its printed links carry working tokens and Ctrl-C stops it cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import importlib.util
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from dispatch.model import Agency
from dispatch.status import UnitStatus
from maps.bundled import load_bundled
from maps.graph import RoadGraph, haversine_m
from simulations.scenario import Service
from tests.web.conftest import (
    ROOT,
    T0,
    ManualClock,
    Server,
    Sock,
    free_port,
    screenshot,
    serve_app,
    wait_healthy,
)
from web.demo_config import DemoConfig
from web.demo_feed import JOINT_FAR_M, JOINT_NEAR_M, LEAD_S, AlarmFeed
from web.demo_units import demo_region, demo_unit_ids, register_demo_units
from web.errors import BadMessage
from web.eventstore import SqliteEventStore
from web.live_demo import ScaledClock, create_demo_app, demo_links
from web.service import DispatchService
from web.settings import Settings

FAST = Service(ack_s=10.0, turnout_min=0.5, on_scene_min=4.0, on_scene_sd_min=1.0,
               at_facility_min=3.0, at_facility_sd_min=1.0)


@pytest.fixture(scope="module")
def graph() -> RoadGraph:
    return load_bundled()


def _feed(graph: RoadGraph, seed: int) -> AlarmFeed:
    return AlarmFeed(graph, start=T0, seed=seed, alarms_per_hour=4.0, joint_share=0.3,
                     service=Service())


# -- the feed --------------------------------------------------------------------------------


def test_feed_is_the_same_for_the_same_seed(graph: RoadGraph) -> None:
    first = _feed(graph, 7).take(40)
    assert first == _feed(graph, 7).take(40)
    assert first != _feed(graph, 8).take(40)
    times = [a.at for a in first]
    assert times == sorted(times)
    assert T0 < times[0] <= T0 + timedelta(seconds=LEAD_S)  # a newcomer sees one at once
    assert len({a.alarm_id for a in first}) == len(first)


def test_feed_draws_joint_alarms_from_the_demand_model(graph: RoadGraph) -> None:
    alarms = _feed(graph, 11).take(300)
    populated = {p.name for p in graph.places if p.population > 0}
    assert {a.place for a in alarms} <= populated
    places = collections.Counter(a.place for a in alarms if not a.joint)
    assert places.most_common(1)[0][0] == "Luleå"  # the biggest town gets the most alarms
    assert {a.agency for a in alarms} <= set(Agency)
    by_incident: dict[int, list[Any]] = collections.defaultdict(list)
    for a in alarms:
        by_incident[a.incident].append(a)
    pairs = [v for v in by_incident.values() if len(v) == 2]
    assert 0.15 < len(pairs) / len(by_incident) < 0.45
    near = far = 0
    for one, two in pairs:
        assert two.joint and not one.joint and one.agency is not two.agency
        assert one.outcome is two.outcome and one.patient == two.patient
        assert timedelta(seconds=30) <= two.at - one.at <= timedelta(seconds=240)
        d = float(haversine_m(one.lat, one.lon, two.lat, two.lon))
        if JOINT_NEAR_M[0] - 1 <= d <= JOINT_NEAR_M[1] + 1:
            near += 1
        else:
            assert JOINT_FAR_M[0] - 1 <= d <= JOINT_FAR_M[1] + 1
            far += 1
    assert near and far  # some the core merges by distance, some a person (or the bot) merges
    assert all(a.payload().note == "" for a in alarms)  # no free text about anyone


def test_the_demo_registers_the_bundled_regions_units_on_shift_once(tmp_path: Path,
                                                                    graph: RoadGraph) -> None:
    """The demo's units are the bundled region file's (one per MAE base of the map), not a
    seeding of its own; a second run changes nothing."""
    store = SqliteEventStore(tmp_path / "units.sqlite3")
    service = DispatchService(store, graph=graph, clock=ManualClock())
    try:
        assert asyncio.run(register_demo_units(service)) == 3
        assert asyncio.run(register_demo_units(service)) == 0  # all on shift already
        assert service.state.last_seq == 6  # three registrations, three shifts
    finally:
        service.close()
        store.close()
    units = service.state.units
    region = demo_region(graph)
    assert service.region == region
    assert sorted(units) == sorted(demo_unit_ids(region)) == [
        "MAE-GALLIVARE", "MAE-PITEA", "MAE-SUNDERBY"]
    bases = {f.name: f for f in graph.facilities if f.is_a("mae_base")}
    assert {u.base for u in units.values()} == set(bases)
    for u in units.values():
        assert (u.position.lat, u.position.lon) == (bases[u.base].lat, bases[u.base].lon)
    assert all(u.status is UnitStatus.AVAILABLE and u.shift_ends_at == T0 + timedelta(hours=12)
               for u in units.values())
    # a nurse-led crew of two with their roles (the units' list once read "role unknown")
    assert all([(m.name, m.role.value) for m in u.crew] == [("Anna Demo", "nurse"),
                                                            ("Erik Demo", "driver")]
               for u in units.values())


def test_scaled_clock_runs_speed_times_faster() -> None:
    wall = [100.0]
    clock = ScaledClock(10.0, start=T0, monotonic=lambda: wall[0])
    assert clock.now() == T0
    wall[0] += 1.5
    assert clock.now() == T0 + timedelta(seconds=15)


@pytest.mark.parametrize(("field", "value"), [("speed", 0), ("speed", 5000.0),
                                              ("alarms_per_hour", -1.0), ("joint_share", 2.0),
                                              ("seed", -3)])
def test_demo_config_names_the_bad_field(field: str, value: float) -> None:
    changed: dict[str, Any] = {field: value}  # the one field named, whichever it is
    with pytest.raises(BadMessage) as info:
        DemoConfig(**changed)
    assert info.value.field == field


# -- the running demo ------------------------------------------------------------------------


@pytest.fixture
def demo(tmp_path: Path, graph: RoadGraph, request: pytest.FixtureRequest) -> Iterator[Server]:
    """The demo app in a thread on a free port; ``request.param`` updates its DemoConfig."""
    db = tmp_path / "demo.sqlite3"
    port = free_port()
    links = demo_links(db, demo_unit_ids(demo_region(graph)))
    tokens = {link.label: link.token for link in links}
    options: dict[str, Any] = {"speed": 300.0, "seed": 5, "alarms_per_hour": 12.0,
                               "assign_after_s": 30.0, "service": FAST,
                               "visits_per_unit": 0}  # its own visits: test_demo_visits.py
    options.update(getattr(request, "param", {}))
    settings = Settings(database=db, port=port, tick_interval_s=0.1, ack_timeout_s=600,
                        position_broadcast_s=0.02)  # 300x: a real second is 5 demo minutes
    app = create_demo_app(settings, DemoConfig(**options), graph=graph,
                          clock=ScaledClock(options["speed"], start=T0))
    srv = serve_app(app, port, db, tokens, join_timeout_s=20)
    yield srv
    srv.stop()


def _events(sock: Sock, wanted: set[str], timeout_s: float) -> dict[str, list[dict[str, Any]]]:
    """Read events until each type in ``wanted`` has been seen (or fail after timeout_s)."""
    seen: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    deadline = time.monotonic() + timeout_s
    while not wanted <= seen.keys():
        left = deadline - time.monotonic()
        assert left > 0, f"not seen within {timeout_s} s: {sorted(wanted - seen.keys())}"
        msg = sock.recv(timeout=left)
        if msg.get("type") == "event":
            seen[msg["event"]["type"]].append(msg["event"])
        elif msg.get("type") == "unit_positions":  # positions are not logged events
            seen["unit_position"].extend(msg["positions"])
    return seen


def test_demo_lives_alarms_assignments_drives_and_outcomes(demo: Server) -> None:
    sock = demo.socket("/ws/dispatch", "dispatcher")
    try:
        snap = sock.recv()
        assert snap["type"] == "snapshot"
        assert {u["unit_id"] for u in snap["units"]} == {"MAE-PITEA", "MAE-SUNDERBY",
                                                         "MAE-GALLIVARE"}
        assert "off_duty" not in {u["status"] for u in snap["units"]}  # on shift
        seen = _events(sock, {"AlarmReceived", "UnitAssigned", "AssignmentAcknowledged",
                              "unit_position", "OutcomeRecorded"}, timeout_s=90)
        assert all(e["alarm"]["note"] == "" for e in seen["AlarmReceived"])
        assigned = seen["UnitAssigned"][0]
        assert assigned["eta_s"] is not None and assigned["eta_s"] > 0
        moves = collections.defaultdict(set)
        for e in seen["unit_position"]:
            moves[e["unit_id"]].add((e["position"]["lat"], e["position"]["lon"]))
        assert any(len(points) > 3 for points in moves.values())  # it drives along its route
        assert seen["OutcomeRecorded"][0]["outcome"]["kind"]
        changed = _events(sock, {"UnitStatusChanged"}, 30)["UnitStatusChanged"]
        assert {e["status"] for e in changed} & {"en_route", "on_scene", "returning",
                                                 "available", "transporting"}
    finally:
        sock.close()
    closed = seen["OutcomeRecorded"][0]
    with demo.http("dispatcher") as http:
        clock = http.get("/api/clock").json()
        callout = http.get(f"/api/callouts/{closed['callout_id']}").json()
    assert clock["speed"] == 300.0 and clock["demo"] and clock["seed"] == 5
    closed_at = datetime.fromisoformat(closed["at"])
    assert T0 < closed_at <= datetime.fromisoformat(clock["now"])  # demo time, not wall time
    assert callout["status"] == "closed" and callout["outcome"]["kind"] == closed["outcome"][
        "kind"]


def test_the_bot_says_once_why_it_waits_with_a_callout_no_unit_reaches_in_time(
        tmp_path: Path, graph: RoadGraph) -> None:
    """With an ETA budget of one minute most alarms have no unit in reach: the dispatcher bot
    says so once per callout (with the budget and when it gives up), so a person watching the
    demo sees why nothing is assigned, instead of silence."""
    db = tmp_path / "wait.sqlite3"
    port = free_port()
    links = demo_links(db, demo_unit_ids(demo_region(graph)))
    tokens = {link.label: link.token for link in links}
    said: list[str] = []
    config = DemoConfig(speed=300.0, seed=5, alarms_per_hour=12.0, assign_after_s=30.0,
                        max_eta_s=60.0, service=FAST)
    settings = Settings(database=db, port=port, tick_interval_s=0.1, ack_timeout_s=600)
    app = create_demo_app(settings, config, graph=graph, clock=ScaledClock(300.0, start=T0),
                          say=said.append)
    srv = serve_app(app, port, db, tokens, join_timeout_s=20)
    try:
        deadline = time.monotonic() + 60
        while not any("waits with" in line for line in said):
            assert time.monotonic() < deadline, said[-5:]
            time.sleep(0.1)
        time.sleep(2.0)  # 10 demo minutes: the bot retries every 30 demo seconds meanwhile
    finally:
        srv.stop()
    waits = [line for line in said if "waits with" in line]
    callouts = [re.search(r"waits with (C\d+)", line) for line in waits]
    assert all(callouts) and len({m.group(1) for m in callouts if m}) == len(waits)  # once each
    assert "no free unit within 1 min (gives up after 90 min)" in waits[0]


@pytest.mark.parametrize("demo", [{"auto_assign": False}], indirect=True)
def test_without_the_bot_a_person_assigns_and_the_crew_takes_over(demo: Server) -> None:
    sock = demo.socket("/ws/dispatch", "dispatcher")
    try:
        sock.ready()
        alarm = sock.until(lambda m: m.get("type") == "event"
                           and m["event"]["type"] == "AlarmReceived", timeout=30)
        callout_id = alarm["event"]["callout_id"]
        options = sock.request({"type": "recommend", "callout_id": callout_id})["options"]
        unit_id = next(o["unit_id"] for o in options if o["assignable"])
        crew = demo.socket("/ws/crew", f"crew {unit_id}")
        try:
            assert crew.recv()["unit"]["unit_id"] == unit_id
            reply = sock.request({"type": "assign", "callout_id": callout_id,
                                  "unit_id": unit_id})
            assert reply["type"] == "ok"
            seen = _events(crew, {"AssignmentAcknowledged"}, 30)
            assert seen["AssignmentAcknowledged"][0]["callout_id"] == callout_id
            sock.until(lambda m: m.get("type") == "unit_positions"  # the crew drives
                       and unit_id in {p["unit_id"] for p in m["positions"]}, timeout=30)
        finally:
            crew.close()
    finally:
        sock.close()
    with demo.http("dispatcher") as http:
        callouts = http.get("/api/callouts").json()
    assert all(c["unit_id"] in (None, unit_id) for c in callouts)  # no bot assigned any


@pytest.mark.parametrize("demo", [{"speed": 60.0}], indirect=True)
def test_the_printed_dispatcher_link_shows_the_living_map(demo: Server, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        page.goto(f"{demo.base}/dispatch#token={demo.tokens['dispatcher']}")
        page.wait_for_function("() => document.body.innerText.includes('C000001')", timeout=30_000)
        assert "#token=" not in page.url  # the page took the token out of the address bar
        screenshot(page, "demo-dispatch")
    finally:
        page.close()


def test_the_demo_refuses_an_existing_database(tmp_path: Path) -> None:
    from web.live_demo import serve_demo

    db = tmp_path / "prod.sqlite3"
    db.write_bytes(b"x" * 100)
    with pytest.raises(BadMessage) as info:
        serve_demo(Settings(port=free_port()), DemoConfig(), database=db)
    assert info.value.field == "database"
    assert db.read_bytes() == b"x" * 100


# -- the command line ------------------------------------------------------------------------


def _lines(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    out: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.put(line)
        out.put("")

    threading.Thread(target=pump, daemon=True).start()
    return out


def test_cli_prints_working_links_and_stops_cleanly_on_ctrl_c() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mae.cli", "serve", "--demo", "--port", str(port), "--speed",
         "100", "--seed", "3"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        lines = _lines(proc)
        banner: list[str] = []
        while not any("Ctrl-C stops" in line for line in banner):
            line = lines.get(timeout=60)
            assert line, "the demo exited before printing its links: " + "".join(banner)
            banner.append(line)
        text = "".join(banner)
        assert "seed 3" in text and "100x" in text
        links = dict(re.findall(r"^\s+(\S.*?)\s+(http://\S+)$", text, flags=re.M))
        assert set(links) == {"dispatcher", "crew MAE-SUNDERBY", "crew MAE-PITEA",
                              "crew MAE-GALLIVARE", "agency police", "agency ambulance",
                              "agency psychiatry", "manager"}
        database = Path(re.search(r"database: (\S+)", text).group(1))  # type: ignore[union-attr]
        assert database.exists()
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, proc=proc)  # type: ignore[arg-type]
        tokens = {label: url.split("#token=")[1] for label, url in links.items()}
        paths = {label: url.split(base)[1].split("#")[0] for label, url in links.items()}
        assert paths["dispatcher"] == "/dispatch" and paths["crew MAE-PITEA"] == "/crew"
        assert paths["agency police"] == "/agency" and paths["manager"] == "/stats"
        server = Server(base, database, tokens, stop=lambda: None)
        with server.http("dispatcher") as http:
            assert http.get("/api/clock").json()["speed"] == 100.0
            assert len(http.get("/api/units").json()) == 3
        for label in ("crew MAE-PITEA", "agency police"):
            sock = server.socket("/ws/crew" if label.startswith("crew") else "/ws/agency", label)
            assert sock.recv()["type"] == "snapshot"
            sock.close()
        assert httpx.get(f"{base}/api/units", headers={
            "Authorization": "Bearer " + tokens["agency police"]}).status_code == 403
        with server.http("manager") as http:  # the month's statistics, and nothing to change
            assert http.get("/api/stats").status_code == 200
            assert http.get("/stats").status_code == 200
            assert http.post("/api/alarms", json={}).status_code == 403
        commentary = ""  # the running commentary: the first alarm
        while "alarm" not in commentary:
            commentary = lines.get(timeout=30)
            assert commentary, "the demo exited"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
        assert not database.exists() and not database.parent.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def _dev() -> Any:
    spec = importlib.util.spec_from_file_location("dev_under_test", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dev_run_starts_the_live_demo_with_the_given_options(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    dev = _dev()
    started: list[tuple[str, ...]] = []
    monkeypatch.setattr(dev, "ensure_venv", lambda extras: None)

    def run_foreground(*cmd: object) -> int:
        started.append(tuple(str(c) for c in cmd))
        return 0

    monkeypatch.setattr(dev, "_run_foreground", run_foreground)
    assert dev.main(["run", "--speed", "20", "--seed", "7"]) == 0
    assert started == [(str(dev.BIN / "mae"), "serve", "--demo", "--speed", "20", "--seed", "7")]
    assert dev.main([]) == 2
    assert "python3 dev.py run" in capsys.readouterr().out


def test_serve_help_explains_the_demo_and_demo_options_need_demo(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mae.cli import build_parser, main

    (commands,) = [a for a in build_parser()._actions
                   if isinstance(a, argparse._SubParsersAction)]
    help_text = commands.choices["serve"].format_help()
    for option in ("--demo", "--speed", "--seed", "--no-auto-assign", "--manual-unit"):
        assert option in help_text
    assert main(["serve", "--speed", "5"]) == 1
    err = capsys.readouterr().err
    assert "--speed" in err and "--demo" in err and len(err.strip().splitlines()) == 1


def test_scaled_clock_starts_now_by_default() -> None:
    before = datetime.now(UTC)
    clock = ScaledClock(10.0)
    assert before <= clock.start <= datetime.now(UTC)


@pytest.mark.parametrize("demo", [{"alarms_per_hour": 0.01}], indirect=True)
def test_the_demo_crews_carry_out_the_day_plan_s_visits(demo: Server) -> None:
    """A visit booked in the running demo is planned onto a unit, whose simulated crew drives
    there, starts it and finishes it through the service, as a crew with a phone would."""
    with demo.http("dispatcher") as http:
        now = datetime.fromisoformat(http.get("/api/clock").json()["now"])
        sock = demo.socket("/ws/dispatch", "dispatcher")
        try:
            sock.ready()
            booked = http.post("/api/visits", json={
                "patient_ref": "P-301", "location": {"place": "Luleå"},
                "earliest_start": now.isoformat(),
                "latest_start": (now + timedelta(hours=3)).isoformat(), "duration_min": 20})
            assert booked.status_code < 300, booked.text
            visit_id = booked.json()["visit_id"]
            seen = _events(sock, {"DayPlanned", "VisitStarted", "VisitDone"}, timeout_s=120)
        finally:
            sock.close()
        visit = http.get(f"/api/visits/{visit_id}").json()
    assert [e["visit_id"] for e in seen["VisitStarted"]] == [visit_id]
    assert [e["visit_id"] for e in seen["VisitDone"]] == [visit_id]
    assert visit["status"] == "done" and visit["unit_id"] in {
        s_unit for e in seen["DayPlanned"] for r in e["routes"] for s_unit in [r["unit_id"]]
        if any(s["visit_id"] == visit_id for s in r["stops"])}


def test_the_demo_can_start_again_on_a_port_its_last_run_left_in_time_wait() -> None:
    """Ctrl-C leaves the last run's connections in TIME_WAIT for a minute; the port check
    binds as uvicorn does (SO_REUSEADDR), so it refuses only a port something listens on."""
    import socket

    from web.errors import BadMessage
    from web.live_demo import _check_port

    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn listens
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(BadMessage, match="in use"):
            _check_port("127.0.0.1", port)
        client = socket.create_connection(("127.0.0.1", port))
        served, _ = listener.accept()
        served.close()  # the server side closes first: its end waits in TIME_WAIT
        client.close()
    _check_port("127.0.0.1", port)  # no listener, only TIME_WAIT: free to start again
