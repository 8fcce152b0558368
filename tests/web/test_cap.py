"""CAP intake (web/cap.py): encodings we cannot read or that disagree get 422 naming
``encoding``; identifiers, senders and references are limited to a safe character set."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatch.events import AlarmReceived
from tests.web.conftest import Server
from web.cap import parse_cap
from web.errors import BadMessage

CAP = (Path(__file__).parents[1] / "data" / "cap" / "police_boden.xml").read_bytes()
DECL = b'<?xml version="1.0" encoding="UTF-8"?>'


def _declared(encoding: str) -> bytes:
    return CAP.replace(DECL, f'<?xml version="1.0" encoding="{encoding}"?>'.encode())


@pytest.mark.parametrize(("body", "charset", "says"), [
    (_declared("foo"), None, "'foo' is not a known encoding"),
    (_declared("hex"), None, "not supported"),
    (_declared("shift_jis"), None, "not supported"),
    (_declared("UTF-16"), None, "does not match"),  # the bytes are UTF-8
    (CAP, "iso-8859-1", "says 'utf-8' but the Content-Type charset says 'iso8859-1'"),
    (CAP, "klingon", "'klingon' is not a known encoding"),
])
def test_unknown_or_mismatching_encoding_is_422_naming_it(
    server: Server, body: bytes, charset: str | None, says: str,
) -> None:
    content_type = "application/xml" + (f"; charset={charset}" if charset else "")
    with server.http("police") as police:
        r = police.post("/api/alarms/cap", content=body, headers={"Content-Type": content_type})
        assert r.status_code == 422, r.text
        assert r.json()["field"] == "encoding" and says in r.json()["message"]
        assert police.get("/api/health").json()["seq"] == 6


def test_readable_encodings_are_accepted() -> None:
    assert parse_cap(CAP, charset="utf-8").reference == "SE-POL-NORRBOTTEN-2026-000412"
    latin = _declared("ISO-8859-1").replace("Man i 40-årsåldern".encode(),
                                            "Man i 40-årsåldern".encode("latin-1"))
    assert "årsåldern" in parse_cap(latin, charset="latin1").note
    utf16 = CAP.decode().replace("UTF-8", "UTF-16").encode("utf-16")
    assert parse_cap(utf16, charset="utf-16").category.value == "suicide_risk"


@pytest.mark.parametrize(("edit", "field"), [
    (lambda x: x.replace(b"SE-POL-NORRBOTTEN-2026-000412", b"../../x"), "identifier"),
    (lambda x: x.replace(b"SE-POL-NORRBOTTEN-2026-000412", b"a/b"), "identifier"),
    (lambda x: x.replace(b"rlc.nord@polisen.example", b"../etc/passwd"), "sender"),
    (lambda x: x.replace(b"<scope>", b"<references>rlc@p.example,../../y,2026-01-15T15:00:00"
                                      b"+01:00</references><scope>"), "references[0]"),
])
def test_unsafe_references_are_refused(server: Server, edit: object, field: str) -> None:
    assert callable(edit)
    with server.http("police") as police:
        r = police.post("/api/alarms/cap", content=edit(CAP),
                        headers={"Content-Type": "application/xml"})
        assert r.status_code == 422, r.text
        assert r.json()["field"] == field
        assert police.get("/api/health").json()["seq"] == 6
    with pytest.raises(BadMessage):
        parse_cap(edit(CAP))


def test_a_json_alarm_reference_with_a_path_is_refused(server: Server) -> None:
    alarm = {"reference": "../../x", "priority": 1, "category": "psychosis",
             "location": {"place": "Kalix"}}
    with server.http("police") as police:
        r = police.post("/api/alarms", json=alarm)
        assert r.status_code == 422 and r.json()["field"] == "reference"
        ok = police.post("/api/alarms", json={**alarm, "reference": "POL-2026:17"})
        assert ok.status_code == 201, ok.text


def test_a_cap_message_is_parsed_off_the_event_loop(
    server: Server, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """XML and polygon parsing runs in a worker thread: on the loop, ten large CAP posts at
    once held every other client for 300-450 ms (an audit's measurement)."""
    import asyncio
    import threading

    import web.routes.alarms as alarms

    seen: list[tuple[str, bool]] = []

    def parse(body: bytes, *, charset: str | None = None) -> object:
        try:
            asyncio.get_running_loop()
            on_loop = True
        except RuntimeError:
            on_loop = False
        seen.append((threading.current_thread().name, on_loop))
        return parse_cap(body, charset=charset)

    monkeypatch.setattr(alarms, "parse_cap", parse)
    with server.http("police") as police:
        r = police.post("/api/alarms/cap", content=CAP, headers={"Content-Type": "application/xml"})
    assert r.status_code == 201, r.text
    assert len(seen) == 1 and seen[0][1] is False


def test_a_personal_number_in_the_description_is_taken_out_and_the_alarm_still_comes(
    server: Server,
) -> None:
    """An agency's system cannot be asked to write the note again: the acute alarm is taken
    (201), its note without the number; nothing stored holds it."""
    body = CAP.replace("anhörig på plats.".encode(),
                       "anhörig på plats, pnr 19121212-1212.".encode())
    with server.http("police") as police:
        r = police.post("/api/alarms/cap", content=body,
                        headers={"Content-Type": "application/xml"})
        assert r.status_code == 201, r.text
    notes = [e.event.alarm.note for e in server.events() if isinstance(e.event, AlarmReceived)]
    assert notes == ["Man i 40-årsåldern uttrycker suicidtankar, anhörig på plats, pnr "
                     "[pnr]."]
    assert "19121212" not in server.stored_text()
