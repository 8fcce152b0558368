"""``GET /api/rota`` over a real server: each unit's rota shift and who is due but not signed
on, for those who may read the units (not crews or agencies)."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from types import SimpleNamespace

from dispatch.rota import ShiftPattern
from tests.web.conftest import ManualClock
from tests.web.test_ticks import rota_server

#: 15:00-23:00 Stockholm on Thursdays; the clock starts Thursday 15 January, 15:00 Stockholm.
THURSDAY = ShiftPattern("MAE-PITEA", frozenset({4}), time(15), time(23))


def test_the_rota_says_who_is_due_and_only_watchers_may_read_it(tmp_path: Path) -> None:
    srv, _ = rota_server(tmp_path, ManualClock(), (THURSDAY,))
    try:
        crew = srv.socket("/ws/crew", "crew_pit")
        crew.ready()
        assert crew.request({"type": "shift_end"})["type"] == "ok"
        crew.close()
        with srv.http("planner") as c:
            reply = c.get("/api/rota")
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["timezone"] == "Europe/Stockholm"
        pitea = next(u for u in body["units"] if u["unit_id"] == "MAE-PITEA")
        assert pitea["due_not_signed_on"] is True
        assert pitea["current"] == {"starts_at": "2026-01-15T14:00:00Z",
                                    "ends_at": "2026-01-15T22:00:00Z"}
        assert pitea["next"] == {"starts_at": "2026-01-22T14:00:00Z",
                                 "ends_at": "2026-01-22T22:00:00Z"}
        assert pitea["sign_on"] == pitea["current"]
        others = [u for u in body["units"] if u["unit_id"] != "MAE-PITEA"]
        assert others and not any(u["due_not_signed_on"] or u["current"] for u in others)
        for who, status in (("crew_pit", 403), ("police", 403), (None, 401)):
            with srv.http(who) as c:
                assert c.get("/api/rota").status_code == status, who
    finally:
        srv.stop()


def test_a_loaded_regions_rota_and_timezone_win_over_the_services_own(tmp_path: Path) -> None:
    """The hook a region file uses: ``service.region`` with ``.rota`` and ``.timezone`` (a zone
    name, as the region file gives it)."""
    srv, app = rota_server(tmp_path, ManualClock(), (THURSDAY,))
    try:
        helsinki_evening = ShiftPattern("MAE-SUNDERBY", frozenset({4}), time(16), time(23))
        app.state.service.region = SimpleNamespace(rota=(helsinki_evening,),
                                                   timezone="Europe/Helsinki")
        with srv.http("dispatcher") as c:
            body = c.get("/api/rota").json()
        assert body["timezone"] == "Europe/Helsinki"
        current = {u["unit_id"]: u["current"] for u in body["units"]}
        assert current["MAE-PITEA"] is None  # the service's own rota no longer counts
        assert current["MAE-SUNDERBY"] == {"starts_at": "2026-01-15T14:00:00Z",
                                           "ends_at": "2026-01-15T21:00:00Z"}
    finally:
        srv.stop()
