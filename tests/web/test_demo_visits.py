"""The live demo's home visits (web/demo_visits.py): each batch's spans follow the units' rota
shifts, its visits are a pure function of the seed, and in the running demo psychiatry books
them, the planner routes them and the simulated crews carry them out."""

from __future__ import annotations

import collections
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dispatch.commands import RegisterUnit, StartShift, decide
from dispatch.events import Envelope
from dispatch.model import Location
from dispatch.state import DispatchState, Unit
from dispatch.visits import check_patient_ref
from maps.bundled import load_bundled
from maps.graph import RoadGraph, haversine_m
from tests.web.conftest import T0, Server, free_port, serve_app
from tests.web.test_demo import FAST
from web.demo_config import DemoConfig
from web.demo_units import demo_region, demo_unit_ids
from web.demo_visits import (
    FIRST_OPENS,
    LAST_OPENS_BEFORE_END,
    RADIUS_M,
    Area,
    visit_batch,
    visit_spans,
)
from web.errors import BadMessage
from web.live_demo import ScaledClock, create_demo_app, demo_links
from web.settings import Settings


@pytest.fixture(scope="module")
def graph() -> RoadGraph:
    return load_bundled()


def _units(graph: RoadGraph) -> list[tuple[Unit, float, float]]:
    """The bundled region's units on a demo shift until T0 + 12 h, each with its base's
    position."""
    region = demo_region(graph)
    bases = {b.base_id: b for b in region.bases}
    state = DispatchState()
    for unit in region.units:
        base = bases[unit.base]
        for command in (RegisterUnit(unit.unit_id, unit.name, base.name,
                                     Location(base.lat, base.lon, label=base.name)),
                        StartShift(unit.unit_id, ("demo crew",), T0 + timedelta(hours=12))):
            for event in decide(state, command, now=T0).events:
                state.apply(Envelope(state.last_seq + 1, event))
    return [(state.units[u.unit_id], bases[u.base].lat, bases[u.base].lon)
            for u in region.units]


def test_spans_follow_the_rota_and_a_night_batch_books_the_morning(graph: RoadGraph) -> None:
    """The bundled rota: Sunderbyn and Piteå 07:00-21:30 daily, Gällivare 08:00-20:00 on
    weekdays. T0 is Thursday 15:00 in Sweden."""
    region = demo_region(graph)
    tz = region.tzinfo
    units = _units(graph)
    spans = {a.unit_id: a for a in visit_spans(units, region.rota, tz, T0, hours=6,
                                              booked_until={})}
    assert set(spans) == {"MAE-SUNDERBY", "MAE-PITEA", "MAE-GALLIVARE"}
    for area in spans.values():
        assert area.opens_from == T0 + FIRST_OPENS
    local_end = {uid: a.opens_until.astimezone(tz) for uid, a in spans.items()}
    # six hours on, but never later than the longest visit before the shift ends
    assert local_end["MAE-GALLIVARE"].time().isoformat() == "19:00:00"
    assert local_end["MAE-PITEA"].time().isoformat() == "20:30:00"
    assert timedelta(hours=1) == LAST_OPENS_BEFORE_END
    # the next batch goes on where this one ended: nothing left of Gällivare's shift, and
    # Thursday's next shift is Friday 08:00
    later = visit_spans(units, region.rota, tz, T0 + timedelta(hours=6), hours=6,
                        booked_until={u: a.opens_until for u, a in spans.items()})
    fri = {a.unit_id: a.opens_from.astimezone(tz) for a in later}
    assert fri["MAE-GALLIVARE"] == datetime(2026, 1, 16, 8, 0, tzinfo=tz)
    assert fri["MAE-PITEA"] == datetime(2026, 1, 16, 7, 0, tzinfo=tz)
    assert all(a.opens_until - a.opens_from == timedelta(hours=6) for a in later)


def test_a_unit_without_a_rota_works_the_demo_s_own_shift(graph: RoadGraph) -> None:
    units = _units(graph)[:1]  # on shift until T0 + 12 h
    (area,) = visit_spans(units, (), UTC, T0, hours=24, booked_until={})
    assert (area.opens_from, area.opens_until) == (
        T0 + FIRST_OPENS, T0 + timedelta(hours=12) - LAST_OPENS_BEFORE_END)
    assert visit_spans(units, (), UTC, T0 + timedelta(hours=12), hours=6,
                       booked_until={}) == []  # the shift is over


def test_a_batch_is_a_pure_function_of_the_seed_near_each_base(graph: RoadGraph) -> None:
    areas = [Area(uid, unit.base, lat, lon, T0 + FIRST_OPENS, T0 + timedelta(hours=4))
             for unit, lat, lon in _units(graph) for uid in [unit.unit_id]]
    batch = visit_batch(graph.places, areas, per_area=3, seed=9, index=0)
    assert batch == visit_batch(graph.places, areas, per_area=3, seed=9, index=0)
    assert batch != visit_batch(graph.places, areas, per_area=3, seed=9, index=1)
    assert len(batch) == 9 and len({v.patient_ref for v in batch}) == 9
    by_base = collections.Counter(v.base for v in batch)
    assert set(by_base.values()) == {3}
    for v in batch:
        area = next(a for a in areas if a.base == v.base)
        assert area.opens_from <= v.earliest_start <= area.opens_until
        assert (v.earliest_start - area.opens_from) % timedelta(minutes=5) == timedelta(0)
        assert float(haversine_m(v.lat, v.lon, area.lat, area.lon)) <= RADIUS_M + 1000
        assert check_patient_ref(v.patient_ref) == v.patient_ref
        command = v.command()
        assert command.agency == "psychiatry" and command.location.label == v.place
        assert command.latest_start - command.earliest_start == timedelta(hours=2)
    assert [v.earliest_start for v in batch] == sorted(v.earliest_start for v in batch)


@pytest.mark.parametrize("value", [-1, 13, 1.5, True])
def test_the_visit_count_is_checked(value: Any) -> None:
    with pytest.raises(BadMessage) as bad:
        DemoConfig(visits_per_unit=value)
    assert bad.value.field == "visits_per_unit"


# -- the running demo --------------------------------------------------------------------------


@pytest.fixture
def quiet_demo(tmp_path: Path, graph: RoadGraph) -> Iterator[Server]:
    """The demo with almost no alarms, so its crews are free for their visits (600x)."""
    db = tmp_path / "demo.sqlite3"
    port = free_port()
    links = demo_links(db, demo_unit_ids(demo_region(graph)))
    config = DemoConfig(speed=600.0, seed=3, alarms_per_hour=0.01, service=FAST,
                        visits_per_unit=1, visit_every_s=3600.0)
    settings = Settings(database=db, port=port, tick_interval_s=0.1, ack_timeout_s=600,
                        position_broadcast_s=0.02)
    app = create_demo_app(settings, config, graph=graph, clock=ScaledClock(600.0, start=T0))
    srv = serve_app(app, port, db, {link.label: link.token for link in links},
                    join_timeout_s=20)
    yield srv
    srv.stop()


def test_psychiatry_books_visits_the_planner_routes_and_the_crews_make(
        quiet_demo: Server) -> None:
    """Without a person doing anything: psychiatry's bot books one visit per unit, the
    planner puts them on the units' routes, and every one is started and finished by the
    unit it was planned on."""
    sock = quiet_demo.socket("/ws/dispatch", "dispatcher")
    seen: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    try:
        sock.ready()
        deadline = time.monotonic() + 150
        while len(seen["VisitDone"]) < 3:
            left = deadline - time.monotonic()
            assert left > 0, {k: len(v) for k, v in seen.items()}
            msg = sock.recv(timeout=left)
            if msg.get("type") == "event":
                seen[msg["event"]["type"]].append(msg["event"])
    finally:
        sock.close()
    with quiet_demo.http("dispatcher") as http:
        listed = http.get("/api/visits", params={"open_only": False}).json()
    visits = {v["visit_id"]: v for v in listed}
    done = {e["visit_id"]: e["unit_id"] for e in seen["VisitDone"]}
    assert len(done) >= 3 and set(done) <= set(visits)
    for visit_id, unit_id in done.items():
        visit = visits[visit_id]
        assert (visit["status"], visit["unit_id"]) == ("done", unit_id)
        assert (visit["source"], visit["agency"]) == ("agency", "psychiatry")
        assert visit["patient_ref"].startswith("DEMO-")
    planned = {s["visit_id"]: r["unit_id"] for e in seen["DayPlanned"] for r in e["routes"]
               for s in r["stops"]}
    assert any(planned.get(v) == u for v, u in done.items())  # routed, then done by that unit
    assert {e["visit_id"] for e in seen["VisitStarted"]} >= set(done)
    assert not seen["VisitNotMet"]
