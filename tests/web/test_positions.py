"""Positions outside the event log: rate-limited per unit (an excess report is ``kept: false``,
not an error), the latest per unit and a thinned track in their own tables (the track deleted
after its retention), the state and the dispatchers told at once, a restart placing each unit
where it was last seen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dispatch.commands import DispatchConfig, RegisterUnit, decide
from dispatch.events import Envelope
from dispatch.model import Location
from dispatch.state import DispatchState
from tests.web.conftest import BOTH_STORES, T0, ManualClock, Server, thread_server
from web.positions import PositionReport, PositionStorage, PositionStore, PositionTracker
from web.redis_positions import RedisPositions

NEAR = {"lat": 65.83, "lon": 21.69}
FAR = {"lat": 65.32, "lon": 21.48}


def event_types(server: Server) -> list[str]:
    return [type(e.event).__name__ for e in server.events()]


def stored_at(server: Server, unit_id: str) -> tuple[float, float] | None:
    """Where the server's positions store has ``unit_id`` (either kind of store)."""
    store = server.positions()
    try:
        found = [r.location for r in store.latest() if r.unit_id == unit_id]
    finally:
        store.close()
    return (found[0].lat, found[0].lon) if found else None


def wait_for(predicate: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@BOTH_STORES
def test_reports_are_rate_limited_shown_to_dispatchers_and_never_logged(
        db: Path, tokens: dict[str, str]) -> None:
    clock = ManualClock()
    server = thread_server(db, tokens, clock=clock, demo_units=True, position_broadcast_s=0.05)
    try:
        disp = server.socket("/ws/dispatch", "dispatcher")
        disp.ready()
        crew = server.socket("/ws/crew", "crew_sun")
        crew.ready()
        logged = event_types(server)
        first = crew.request({"type": "position", **NEAR})
        assert first["type"] == "ok" and first["kept"] is True
        (shown,) = disp.until(lambda m: m.get("type") == "unit_positions")["positions"]
        assert shown["unit_id"] == "MAE-SUNDERBY"
        assert (shown["position"]["lat"], shown["position"]["lon"]) == (NEAR["lat"], NEAR["lon"])
        assert shown["at"] == T0.isoformat()

        clock.advance(1.0)  # sooner than position_min_interval_s (2 s): not an error
        again = crew.request({"type": "position", **FAR})
        assert again["type"] == "ok" and again["kept"] is False
        clock.advance(1.5)
        third = crew.request({"type": "position", **FAR})
        assert third["kept"] is True
        assert event_types(server) == logged  # nothing of it in the permanent log
        later = disp.until(lambda m: m.get("type") == "unit_positions")["positions"]
        assert [(p["unit_id"], p["position"]["lat"]) for p in later] == [
            ("MAE-SUNDERBY", FAR["lat"])]
        wait_for(lambda: stored_at(server, "MAE-SUNDERBY") == (FAR["lat"], FAR["lon"]))
        with server.http("dispatcher") as http:
            unit = http.get("/api/units/MAE-SUNDERBY").json()
        assert (unit["position"]["lat"], unit["position"]["lon"]) == (FAR["lat"], FAR["lon"])
        assert datetime.fromisoformat(unit["position_at"].replace("Z", "+00:00")) == \
            T0 + timedelta(seconds=2.5)

        resumed = server.socket("/ws/dispatch", "dispatcher", since=server_seq(server))
        listed = resumed.until(lambda m: m.get("type") == "unit_positions")
        where = {p["unit_id"]: (p["position"]["lat"], p["position"]["lon"])
                 for p in listed["positions"]}
        assert where["MAE-SUNDERBY"] == (FAR["lat"], FAR["lon"])
        resumed.ready()
        for sock in (resumed, crew, disp):
            sock.close()
    finally:
        server.stop()


def server_seq(server: Any) -> int:
    with server.http(None) as http:
        return int(http.get("/api/health").json()["seq"])


@BOTH_STORES
def test_a_restart_places_units_where_they_were_last_seen(
        db: Path, tokens: dict[str, str]) -> None:
    clock = ManualClock()
    server = thread_server(db, tokens, clock=clock, demo_units=True)
    try:
        crew = server.socket("/ws/crew", "crew_pit")
        crew.ready()
        assert crew.request({"type": "position", **FAR})["kept"] is True
        crew.close()
    finally:
        server.stop()  # the last positions are stored at shutdown
    server = thread_server(db, tokens, clock=clock, demo_units=True)
    try:
        with server.http("dispatcher") as http:
            unit = http.get("/api/units/MAE-PITEA").json()
        assert (unit["position"]["lat"], unit["position"]["lon"]) == (FAR["lat"], FAR["lon"])
        assert unit["position_at"] is not None
    finally:
        server.stop()


@BOTH_STORES
def test_recommendations_use_the_reported_position(db: Path, tokens: dict[str, str]) -> None:
    """The state knows each unit's position without an event: the ETA follows the report."""
    clock = ManualClock()
    server = thread_server(db, tokens, clock=clock, demo_units=True)
    try:
        police = server.socket("/ws/agency", "police")
        police.ready()
        cid = police.request({"type": "alarm", "reference": "POS-1", "priority": 2,
                              "category": "psychosis", "location": NEAR})["callout_id"]
        police.close()
        disp = server.socket("/ws/dispatch", "dispatcher")
        disp.ready()
        crew = server.socket("/ws/crew", "crew_sun")
        crew.ready()

        def eta() -> float:
            options = disp.request({"type": "recommend", "callout_id": cid})["options"]
            return float(next(o["eta_s"] for o in options if o["unit_id"] == "MAE-SUNDERBY"))

        assert crew.request({"type": "position", **FAR})["kept"] is True
        far = eta()
        clock.advance(5)
        assert crew.request({"type": "position", **NEAR})["kept"] is True
        assert eta() < far / 2
        for sock in (crew, disp):
            sock.close()
    finally:
        server.stop()


# -- the tables and the tracker on their own ---------------------------------------------------


def _state() -> DispatchState:
    state = DispatchState()
    for i, event in enumerate(decide(state, RegisterUnit("U1", "u", "b", Location(65.0, 22.0)),
                                     now=T0, actor="t", config=DispatchConfig()).events, 1):
        state.apply(Envelope(i, event))
    return state


@pytest.fixture(params=["sqlite", "redis"])
def position_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PositionStorage]:
    """The positions store of either kind (SQLite tables, Redis keys)."""
    store: PositionStorage = PositionStore(tmp_path / "p.sqlite3", retention=timedelta(days=7)) \
        if request.param == "sqlite" else RedisPositions(request.getfixturevalue("redis_url"),
                                                         retention=timedelta(days=7))
    yield store
    store.close()


def test_the_track_is_thinned_and_deleted_after_its_retention(
        position_store: PositionStorage) -> None:
    store = position_store
    state = _state()
    shown: list[PositionReport] = []
    tracker = PositionTracker(store, state, min_interval_s=2, track_every_s=30,
                              publish=shown.append)
    for s in (0, 5, 10, 31, 40, 65):
        tracker.report("U1", Location(65.0 + s / 1000, 22.0), T0 + timedelta(seconds=s))
    assert asyncio.run(tracker.flush(T0 + timedelta(seconds=65)))
    assert [r.at for r in store.track("U1")] == [T0 + timedelta(seconds=s) for s in (0, 31, 65)]
    assert [(r.unit_id, r.at) for r in store.latest()] == [("U1", T0 + timedelta(seconds=65))]
    assert len(shown) == 6 and state.units["U1"].position.lat == 65.065

    tracker.report("U1", Location(66.0, 22.0), T0 + timedelta(days=8))
    assert asyncio.run(tracker.flush(T0 + timedelta(days=8)))
    assert [r.at for r in store.track("U1")] == [T0 + timedelta(days=8)]  # older ones expired
    assert [r.at for r in store.track("U1", since=T0 + timedelta(days=9))] == []


def test_a_too_early_report_is_taken_once_the_interval_has_passed(
        position_store: PositionStorage) -> None:
    """The newest report the rate limit held back still lands, so a car that stops right
    after a burst is shown where it stopped; one replaced by a newer report never does."""
    store = position_store
    state = _state()
    tracker = PositionTracker(store, state, min_interval_s=2, track_every_s=30,
                              publish=lambda r: None)
    assert tracker.report("U1", Location(65.1, 22.0), T0)
    assert not tracker.report("U1", Location(65.2, 22.0), T0 + timedelta(seconds=0.5))
    assert not tracker.report("U1", Location(65.3, 22.0), T0 + timedelta(seconds=1))
    assert tracker.catch_up(T0 + timedelta(seconds=1.5)) == 0
    assert state.units["U1"].position.lat == 65.1
    assert tracker.catch_up(T0 + timedelta(seconds=3)) == 1
    assert state.units["U1"].position.lat == 65.3
    assert state.units["U1"].position_at == T0 + timedelta(seconds=1)


def test_dispatchers_get_one_message_for_many_units_moving(
        db: Path, tokens: dict[str, str]) -> None:
    """However many crews report, a dispatcher gets the units that moved in one message per
    ``position_broadcast_s``, each with its newest position."""
    clock = ManualClock()
    server = thread_server(db, tokens, clock=clock, demo_units=True, position_broadcast_s=1.0,
                           position_min_interval_s=0)
    try:
        disp = server.socket("/ws/dispatch", "dispatcher")
        disp.ready()
        sun = server.socket("/ws/crew", "crew_sun")
        sun.ready()
        pit = server.socket("/ws/crew", "crew_pit")
        pit.ready()
        for sock, where in ((sun, NEAR), (pit, FAR), (sun, FAR)):
            clock.advance(0.1)
            assert sock.request({"type": "position", **where})["kept"] is True
        moved = disp.until(lambda m: m.get("type") == "unit_positions")["positions"]
        assert {p["unit_id"]: p["position"]["lat"] for p in moved} == {
            "MAE-SUNDERBY": FAR["lat"], "MAE-PITEA": FAR["lat"]}
        assert sum(m.get("type") == "unit_positions" for m in disp.messages) == 1
        for sock in (sun, pit, disp):
            sock.close()
    finally:
        server.stop()
