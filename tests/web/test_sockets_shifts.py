"""Signing on over the crew socket of a real server: who is on board (names and roles) reaches
the dispatcher, the shift ends when the rota shift does, an extra shift needs its end, and bad
sign-ons name the field and change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import pytest

from dispatch.rota import ShiftPattern
from tests.web.conftest import ManualClock, Server
from tests.web.test_ticks import rota_server

EVERY_DAY = frozenset(range(1, 8))
#: 15:00-23:00 Stockholm; the clock starts at 15:00 Stockholm (14:00 UTC, 15 January).
EVENING = ShiftPattern("MAE-PITEA", EVERY_DAY, time(15), time(23))


@pytest.fixture
def off_duty(tmp_path: Path) -> Iterator[tuple[Server, Any]]:
    """A server whose Piteå unit has a rota shift now and whose crews have signed off."""
    srv, app = rota_server(tmp_path, ManualClock(), (EVENING,))
    for who in ("crew_pit", "crew_sun"):
        sock = srv.socket("/ws/crew", who)
        sock.ready()
        assert sock.request({"type": "shift_end"})["type"] == "ok"
        sock.close()
    yield srv, app
    srv.stop()


def test_a_crew_signs_on_with_names_and_roles_until_the_rota_shift_ends(
    off_duty: tuple[Server, Any],
) -> None:
    srv, _ = off_duty
    disp = srv.socket("/ws/dispatch", "dispatcher")
    disp.ready()
    crew = srv.socket("/ws/crew", "crew_pit")
    crew.ready()
    rota = crew.request({"type": "rota"})
    assert [u["unit_id"] for u in rota["units"]] == ["MAE-PITEA"]  # its own unit only
    assert rota["units"][0]["sign_on"] == {"starts_at": "2026-01-15T14:00:00+00:00",
                                           "ends_at": "2026-01-15T22:00:00+00:00"}
    reply = crew.request({"type": "shift_start", "crew": [
        {"name": "Anna Lind", "role": "nurse"}, {"name": " Omar Haddad ", "role": "driver"}]})
    assert reply["type"] == "ok", reply
    started = disp.until(lambda m: m.get("type") == "event"
                         and m["event"]["type"] == "ShiftStarted")["event"]
    assert started["v"] == 2 and started["unit_id"] == "MAE-PITEA"
    assert started["crew"] == [{"name": "Anna Lind", "role": "nurse"},
                               {"name": "Omar Haddad", "role": "driver"}]
    assert started["ends_at"] == "2026-01-15T22:00:00+00:00"
    with srv.http("dispatcher") as c:
        unit = c.get("/api/units/MAE-PITEA").json()
    assert unit["crew"] == started["crew"] and unit["crew_size"] == 2
    assert datetime.fromisoformat(unit["shift_ends_at"]) == datetime(2026, 1, 15, 22, tzinfo=UTC)
    snapshot = srv.socket("/ws/dispatch", "dispatcher").recv()
    pitea = next(u for u in snapshot["units"] if u["unit_id"] == "MAE-PITEA")
    assert pitea["crew"] == started["crew"] and pitea["status"] == "available"
    for s in (disp, crew):
        s.close()


def test_an_extra_shift_outside_the_rota_needs_its_end(off_duty: tuple[Server, Any]) -> None:
    srv, app = off_duty
    crew = srv.socket("/ws/crew", "crew_sun")
    crew.ready()
    assert crew.request({"type": "rota"})["units"][0]["sign_on"] is None
    no_shift = crew.request({"type": "status", "status": "available"})
    assert no_shift["type"] == "error" and no_shift["field"] == "status", no_shift
    refused = crew.request({"type": "shift_start", "crew": [{"name": "Bo", "role": "doctor"}]})
    assert refused["type"] == "error" and refused["field"] == "ends_at", refused
    assert app.state.service.state.units["MAE-SUNDERBY"].status.value == "off_duty"
    ok = crew.request({"type": "shift_start", "crew": [{"name": "Bo", "role": "doctor"}],
                       "ends_at": "2026-01-15T20:30:00+01:00"})
    assert ok["type"] == "ok", ok
    unit = app.state.service.state.units["MAE-SUNDERBY"]
    assert unit.shift_ends_at.isoformat() == "2026-01-15T19:30:00+00:00"
    crew.close()


def test_an_older_client_signing_on_with_bare_names_and_hours_still_works(
    off_duty: tuple[Server, Any],
) -> None:
    srv, app = off_duty
    crew = srv.socket("/ws/crew", "crew_sun")
    crew.ready()
    assert crew.request({"type": "shift_start", "crew": ["ssk-1", "ssk-2"],
                         "hours": 2})["type"] == "ok"
    unit = app.state.service.state.units["MAE-SUNDERBY"]
    assert [(m.name, m.role.value) for m in unit.crew] == [("ssk-1", "unknown"),
                                                           ("ssk-2", "unknown")]
    assert unit.shift_ends_at.isoformat() == "2026-01-15T16:00:00+00:00"
    crew.close()


@pytest.mark.parametrize(("msg", "field"), [
    ({"crew": []}, "crew"),
    ({"crew": [{"name": "Anna", "role": "captain"}]}, "crew.0.role"),
    ({"crew": [{"name": "", "role": "nurse"}]}, "crew.0.name"),
    ({"crew": [{"name": "x" * 61, "role": "nurse"}]}, "crew.0.name"),
    ({"crew": [{"name": "\u202eannA", "role": "nurse"}]}, "crew.0.name"),  # reads backwards
    ({"crew": ["Anna"], "competences": ["\u0000"]}, "competences.0"),
    ({"crew": [{"name": "Anna"}]}, "crew.0.role"),
    ({"crew": [{"name": f"p{i}", "role": "nurse"} for i in range(7)]}, "crew"),
    ({"crew": ["Anna"], "ends_at": "2026-01-15T20:00:00"}, "ends_at"),  # no zone
    ({"crew": ["Anna"], "ends_at": "2026-01-17T20:00:00+00:00"}, "ends_at"),  # > 24 h
    ({"crew": ["Anna"], "ends_at": "2026-01-15T13:00:00+00:00"}, "ends_at"),  # past
    # at datetime's end an offset has no UTC time (it was a 500)
    ({"crew": ["Anna"], "ends_at": "9999-12-31T23:59:59-23:59"}, "ends_at"),
])
def test_a_bad_sign_on_names_the_field_and_changes_nothing(
    off_duty: tuple[Server, Any], msg: dict[str, Any], field: str,
) -> None:
    srv, app = off_duty
    crew = srv.socket("/ws/crew", "crew_pit")
    crew.ready()
    before = app.state.service.last_seq
    reply = crew.request({"type": "shift_start", **msg})
    assert reply["type"] == "error" and reply["field"] == field, reply
    assert app.state.service.last_seq == before
    crew.close()


def test_a_sign_on_takes_the_units_competences_unless_the_crew_says_otherwise(
    off_duty: tuple[Server, Any],
) -> None:
    """Left out, the shift's competences are the unit's registered ones (the region's); given,
    they are what the crew ticked, plus what its roles bring (a doctor on board)."""
    srv, app = off_duty
    units = app.state.service.state.units
    assert units["MAE-PITEA"].registered_competences == ("nurse",)  # the bundled region's
    pit = srv.socket("/ws/crew", "crew_pit")
    pit.ready()
    assert pit.request({"type": "shift_start", "crew": [{"name": "A", "role": "driver"}]})[
        "type"] == "ok"
    assert units["MAE-PITEA"].competences == ("nurse",)
    sun = srv.socket("/ws/crew", "crew_sun")
    sun.ready()
    reply = sun.request({"type": "shift_start", "hours": 4, "competences": [],
                         "crew": [{"name": "B", "role": "doctor"}]})
    assert reply["type"] == "ok", reply
    assert units["MAE-SUNDERBY"].competences == ("doctor",)
    assert sun.request({"type": "shift_end"})["type"] == "ok"
    too_many = sun.request({"type": "shift_start", "hours": 4, "crew": ["C"],
                            "competences": [f"c{i}" for i in range(21)]})
    assert too_many["type"] == "error" and too_many["field"].startswith("competences")
    for sock in (pit, sun):
        sock.close()


def test_a_repeated_sign_on_op_starts_one_shift(off_duty: tuple[Server, Any]) -> None:
    """The crew page queues a sign-on in its outbox with an op id and may send it again after
    a lost reply: the repeat is answered as a duplicate and logs nothing."""
    srv, app = off_duty
    crew = srv.socket("/ws/crew", "crew_pit")
    crew.ready()
    msg = {"type": "shift_start", "crew": [{"name": "Anna Lind", "role": "nurse"}],
           "competences": ["nurse"], "op": "5f0c8a8e-0d5e-4b8c-9a39-3c1f1c1e0a01"}
    first = crew.request(msg)
    assert first["type"] == "ok" and first["duplicate"] is False
    seq = app.state.service.last_seq
    again = crew.request(msg)
    assert again["type"] == "ok" and again["duplicate"] is True and again["seq"] == first["seq"]
    assert app.state.service.last_seq == seq
    without_op = crew.request({k: v for k, v in msg.items() if k != "op"})
    assert without_op["type"] == "error"  # a new sign-on: the unit is on shift already
    crew.close()
