"""The ticker on a controlled clock: shifts end at their end (a busy unit once its callout is
done), and the dispatchers are told which units are due by the rota but not signed on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time
from pathlib import Path
from typing import Any

import pytest

from dispatch.rota import ShiftPattern
from tests.web.conftest import (
    ManualClock,
    Server,
    Sock,
    free_port,
    make_tokens,
    serve_app,
)
from web.app import create_app
from web.settings import Settings

EVERY_DAY = frozenset(range(1, 8))
#: 08:00-20:00 Stockholm; the test clock starts at 15:00 Stockholm (14:00 UTC, 15 January).
DAY_SHIFT = ShiftPattern("MAE-PITEA", EVERY_DAY, time(8), time(20))
ALARM = {"type": "alarm", "reference": "R-1", "priority": 1, "category": "psychosis",
         "location": {"place": "Boden"}}


def rota_server(tmp_path: Path, clock: ManualClock,
                rota: tuple[ShiftPattern, ...] = ()) -> tuple[Server, Any]:
    """A real server with the demo units on a 12 h shift, ticking often, and ``rota`` as its
    rota (through ``service.rota``, the hook a region sets); returns it and its app."""
    db = tmp_path / "ticks.sqlite3"
    port = free_port()
    app = create_app(Settings(database=db, port=port, demo_units=True, tick_interval_s=0.05,
                              ack_timeout_s=600), clock=clock)
    srv = serve_app(app, port, db, make_tokens(db))
    app.state.service.rota = rota
    # the demo units come from the bundled region, whose rota would win over this one
    app.state.service.region = None
    return srv, app


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def started(tmp_path: Path, clock: ManualClock) -> Iterator[tuple[Server, Any]]:
    srv, app = rota_server(tmp_path, clock, (DAY_SHIFT,))
    yield srv, app
    srv.stop()


def events_of(sock: Sock, kind: str) -> list[dict[str, Any]]:
    return [m["event"] for m in sock.messages
            if m.get("type") == "event" and m["event"]["type"] == kind]


def test_the_ticker_ends_free_shifts_at_their_end_and_a_busy_one_after_its_callout(
    started: tuple[Server, Any], clock: ManualClock,
) -> None:
    srv, app = started
    units = sorted(app.state.service.state.units)
    agency = srv.socket("/ws/agency", "police")
    agency.ready()
    cid = agency.request(ALARM)["callout_id"]
    disp = srv.socket("/ws/dispatch", "dispatcher")
    disp.ready()
    crew = srv.socket("/ws/crew", "crew_sun")
    crew.ready()
    assert disp.request({"type": "assign", "callout_id": cid,
                         "unit_id": "MAE-SUNDERBY"})["type"] == "ok"
    assert crew.request({"type": "status", "status": "en_route",
                         "callout_id": cid})["type"] == "ok"
    clock.advance(12 * 3600)  # the demo shifts end
    others = [u for u in units if u != "MAE-SUNDERBY"]
    for _ in others:
        disp.until(lambda m: m.get("type") == "event" and m["event"]["type"] == "ShiftEnded")
    ended = events_of(disp, "ShiftEnded")
    assert sorted(e["unit_id"] for e in ended) == others
    assert all(e["actor"] == "system" and e["at"] == "2026-01-16T02:00:00+00:00" for e in ended)
    # Sunderby is on its callout past its shift end: it works on.
    assert app.state.service.state.units["MAE-SUNDERBY"].status.value == "en_route"
    assert crew.request({"type": "status", "status": "on_scene",
                         "callout_id": cid})["type"] == "ok"
    assert crew.request({"type": "outcome", "callout_id": cid,
                         "kind": "stayed_home"})["type"] == "ok"
    assert app.state.service.state.units["MAE-SUNDERBY"].status.value == "on_scene"
    assert crew.request({"type": "status", "status": "returning"})["type"] == "ok"
    done = disp.until(lambda m: m.get("type") == "event"
                      and m["event"]["type"] == "ShiftEnded"
                      and m["event"]["unit_id"] == "MAE-SUNDERBY")
    assert done["event"]["actor"] == "system"
    assert app.state.service.state.units["MAE-SUNDERBY"].status.value == "off_duty"
    for s in (agency, disp, crew):
        s.close()


def test_a_unit_due_by_the_rota_is_flagged_until_its_crew_signs_on(
    started: tuple[Server, Any], clock: ManualClock,
) -> None:
    srv, _ = started
    disp = srv.socket("/ws/dispatch", "dispatcher")
    disp.ready()
    crew = srv.socket("/ws/crew", "crew_pit")
    crew.ready()
    assert crew.request({"type": "shift_end"})["type"] == "ok"
    flagged = disp.until(lambda m: m.get("type") == "rota_due" and m["units"])
    assert flagged["units"] == [{"unit_id": "MAE-PITEA", "starts_at": "2026-01-15T07:00:00+00:00",
                                 "ends_at": "2026-01-15T19:00:00+00:00"}]
    rota = disp.request({"type": "rota"})
    pitea = next(u for u in rota["units"] if u["unit_id"] == "MAE-PITEA")
    assert pitea["due_not_signed_on"] is True
    assert pitea["current"] == {"starts_at": "2026-01-15T07:00:00+00:00",
                                "ends_at": "2026-01-15T19:00:00+00:00"}
    assert rota["timezone"] == "Europe/Stockholm"
    sunderby = next(u for u in rota["units"] if u["unit_id"] == "MAE-SUNDERBY")
    assert sunderby == {"unit_id": "MAE-SUNDERBY", "current": None, "next": None,
                        "sign_on": None, "due_not_signed_on": False}
    assert crew.request({"type": "shift_start",
                         "crew": [{"name": "Anna Lind", "role": "nurse"}]})["type"] == "ok"
    cleared = disp.until(lambda m: m.get("type") == "rota_due")
    assert cleared["units"] == []
    # the sign-on ends when the rota shift does, and the tick ends it then
    clock.advance(5 * 3600)
    ended = disp.until(lambda m: m.get("type") == "event" and m["event"]["type"] == "ShiftEnded"
                       and m["event"]["unit_id"] == "MAE-PITEA")
    assert ended["event"]["at"] == "2026-01-15T19:00:00+00:00"
    for s in (disp, crew):
        s.close()
