"""Signing on from the crew's phone page in a real Chromium against a real server: the form
shows the rota shift and prefills its end, the crew adds and removes people with their roles,
and the dispatcher page (another real browser page) shows who is on board and until when; a
unit due by the rota with nobody signed on is flagged there until its crew signs on. The form
offers the unit's competences from the region (ticked, the crew unticks what is missing) and
the sign-on waits in the outbox while offline, arriving once when the connection is back."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import time
from pathlib import Path
from typing import Any

import pytest

from dispatch.rota import ShiftPattern
from tests.web.conftest import ManualClock, Server, screenshot
from tests.web.test_ticks import rota_server

#: 15:00-23:00 Stockholm every day; the server's clock starts at 15:00 Stockholm.
EVENING = ShiftPattern("MAE-SUNDERBY", frozenset(range(1, 8)), time(15), time(23))
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
WAIT_MS = 15_000
SUNDERBY = '.unit-item[data-unit="MAE-SUNDERBY"]'


def sent(page: Any) -> None:
    """Wait until the page's outbox (where a sign-on waits like a status) is empty."""
    page.wait_for_selector('#outbox[data-count="0"]', state="attached", timeout=WAIT_MS)


@pytest.fixture
def due(tmp_path: Path) -> Iterator[tuple[Server, Any]]:
    """A server whose MAE-SUNDERBY is due by the rota now, its crew signed off."""
    srv, app = rota_server(tmp_path, ManualClock(), (EVENING,))
    crew = srv.socket("/ws/crew", "crew_sun")
    crew.ready()
    assert crew.request({"type": "shift_end"})["type"] == "ok"
    crew.close()
    yield srv, app
    srv.stop()


def test_a_crew_signs_on_from_the_phone_and_the_dispatcher_sees_who_is_on_board(
    browser: Any, due: tuple[Server, Any],
) -> None:
    srv, app = due
    desk = browser.new_context(**DESKTOP)
    board = desk.new_page()
    board.goto(f"{srv.base}/dispatch#token={srv.tokens['dispatcher']}")
    board.wait_for_selector(f"{SUNDERBY}.due .rota-due", timeout=WAIT_MS)
    assert "15:00" in (board.text_content(f"{SUNDERBY} .rota-due") or "")

    phone_ctx = browser.new_context(**PHONE)
    phone = phone_ctx.new_page()
    phone.goto(f"{srv.base}/crew#token={srv.tokens['crew_sun']}")
    phone.wait_for_function("() => window.maeCrew && window.maeCrew.ready", timeout=WAIT_MS)
    phone.wait_for_selector("#shift-form", state="visible", timeout=WAIT_MS)
    phone.wait_for_function(
        "() => document.getElementById('shift-ends').value === '2026-01-15T23:00'", timeout=WAIT_MS)
    assert phone.text_content("#shift-rota") == "Pass enligt schemat: 15:00–23:00."

    # off duty, no status can be reported: the crew signs on first
    assert phone.locator('.status-button[data-status="available"]').is_disabled()
    rows = phone.locator(".crew-row")
    assert rows.count() == 1
    assert phone.locator(".crew-remove").first.is_disabled()  # at least one person
    rows.nth(0).locator(".crew-name").fill("Anna Lind")
    rows.nth(0).locator(".crew-role").select_option("nurse")
    phone.click("#crew-add")
    rows.nth(1).locator(".crew-name").fill("Omar Haddad")
    rows.nth(1).locator(".crew-role").select_option("driver")
    phone.click("#crew-add")
    rows.nth(2).locator(".crew-name").fill("Wrong Person")
    rows.nth(2).locator(".crew-remove").click()
    assert rows.count() == 2
    screenshot(phone, "crew-sign-on")
    phone.click("#shift-form button[type=submit]")

    phone.wait_for_selector("#shift-on", state="visible", timeout=WAIT_MS)
    sent(phone)
    assert phone.text_content("#shift-until") == "I tjänst till 23:00."
    assert phone.locator("#shift-crew-list li").all_text_contents() == [
        "Anna Lind (Sjuksköterska)", "Omar Haddad (Förare)"]
    unit = app.state.service.state.units["MAE-SUNDERBY"]
    assert [(m.name, m.role.value) for m in unit.crew] == [("Anna Lind", "nurse"),
                                                           ("Omar Haddad", "driver")]
    assert unit.shift_ends_at.isoformat() == "2026-01-15T22:00:00+00:00"

    board.wait_for_selector(f"{SUNDERBY}:not(.due) .unit-crew", timeout=WAIT_MS)
    assert board.text_content(f"{SUNDERBY} .unit-crew") == \
        "Anna Lind (ssk), Omar Haddad (förare) · till 23:00"
    assert board.locator(f"{SUNDERBY} .rota-due").count() == 0
    board.hover('.unit-pin[data-unit="MAE-SUNDERBY"]')  # the map's tooltip names them too
    board.wait_for_selector(".leaflet-tooltip:has-text('Omar Haddad (förare)')", timeout=WAIT_MS)
    screenshot(board, "dispatcher-crew")

    phone.click("#lang")  # English, like the rest of the page
    assert phone.text_content("#shift-until") == "On duty until 23:00."
    assert phone.locator("#shift-crew-list li").all_text_contents() == [
        "Anna Lind (Nurse)", "Omar Haddad (Driver)"]

    asked: list[str] = []  # signing off asks first (a mis-tap must not end the shift)

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    phone.once("dialog", answer)
    phone.click("#shift-end")  # signing off: the rota shift still runs, so it is due again
    assert asked and asked[0].startswith("End the shift?")
    phone.wait_for_selector("#shift-form", state="visible", timeout=WAIT_MS)
    board.wait_for_selector(f"{SUNDERBY}.due .rota-due", timeout=WAIT_MS)
    assert board.locator(f"{SUNDERBY} .unit-crew").count() == 0
    desk.close()
    phone_ctx.close()


def test_an_extra_shift_needs_its_end_typed_on_the_phone(
    browser: Any, due: tuple[Server, Any],
) -> None:
    srv, app = due
    app.state.service.rota = ()  # no rota shift now: signing on is an extra shift
    app.state.service.region = None  # (the bundled region's rota would otherwise count)
    phone_ctx = browser.new_context(**PHONE)
    phone = phone_ctx.new_page()
    phone.goto(f"{srv.base}/crew#token={srv.tokens['crew_sun']}")
    phone.wait_for_function("() => window.maeCrew && window.maeCrew.ready", timeout=WAIT_MS)
    phone.wait_for_selector("#shift-rota[data-rota='extra']", state="visible", timeout=WAIT_MS)
    assert phone.input_value("#shift-ends") == ""
    phone.locator(".crew-row .crew-name").first.fill("Bo Ek")
    phone.click("#shift-form button[type=submit]")
    assert phone.text_content("#shift-ends-error") == "Ange när passet slutar (senare än nu)."
    assert app.state.service.state.units["MAE-SUNDERBY"].status.value == "off_duty"
    phone.fill("#shift-ends", "2026-01-15T20:00")
    phone.click("#shift-form button[type=submit]")
    phone.wait_for_selector("#shift-on", state="visible", timeout=WAIT_MS)
    sent(phone)
    assert phone.text_content("#shift-until") == "I tjänst till 20:00."
    unit = app.state.service.state.units["MAE-SUNDERBY"]
    assert unit.shift_ends_at.isoformat() == "2026-01-15T19:00:00+00:00"
    phone_ctx.close()


def test_an_offline_sign_on_waits_in_the_outbox_with_the_competences_ticked(
    browser: Any, due: tuple[Server, Any],
) -> None:
    """The unit's registered competences (an admin gave it a doctor) are offered ticked; the
    crew unticks the doctor, signs on without a connection: the page shows the shift at once,
    the sign-on waits in the outbox and arrives once when back online, and the dispatcher
    sees what the crew can do."""
    srv, app = due
    with srv.http("admin") as admin:
        r = admin.patch("/api/admin/units/MAE-SUNDERBY",
                        json={"competences": ["nurse", "doctor", "ECT"]})
        assert r.status_code == 200, r.text
    desk = browser.new_context(**DESKTOP)
    board = desk.new_page()
    board.goto(f"{srv.base}/dispatch#token={srv.tokens['dispatcher']}")
    board.wait_for_selector(f"{SUNDERBY}.due .rota-due", timeout=WAIT_MS)

    phone_ctx = browser.new_context(**PHONE)
    phone = phone_ctx.new_page()
    phone.goto(f"{srv.base}/crew#token={srv.tokens['crew_sun']}")
    phone.wait_for_function("() => window.maeCrew && window.maeCrew.ready", timeout=WAIT_MS)
    phone.wait_for_selector("#shift-competences-box", state="visible", timeout=WAIT_MS)
    phone.wait_for_function(
        "() => document.getElementById('shift-ends').value === '2026-01-15T23:00'", timeout=WAIT_MS)
    boxes = phone.locator(".shift-competence")
    assert [boxes.nth(i).get_attribute("value") for i in range(boxes.count())] == [
        "nurse", "doctor", "ECT"]
    assert all(boxes.nth(i).is_checked() for i in range(boxes.count()))
    assert phone.locator("#shift-competences label").all_text_contents() == [
        "Sjuksköterska", "Läkare", "ECT"]  # a name the page has no word for, as the region has it

    phone_ctx.set_offline(True)
    phone.wait_for_selector("#conn[data-conn=offline]", timeout=WAIT_MS)
    before = len(app.state.service.state.units["MAE-SUNDERBY"].crew)
    phone.locator(".crew-row .crew-name").first.fill("Anna Lind")
    phone.check("#shift-competence-2")  # still ticked
    phone.uncheck("#shift-competence-1")  # no doctor today
    phone.click("#shift-form button[type=submit]")
    phone.wait_for_selector("#shift-on", state="visible", timeout=WAIT_MS)  # shown at once
    assert phone.text_content("#shift-until") == "I tjänst till 23:00."
    assert phone.text_content("#shift-competence-list") == "Kompetenser: Sjuksköterska, ECT."
    assert phone.locator("#outbox-list li").all_text_contents()[0].endswith(
        "Passtart (1 ombord)")
    assert phone.eval_on_selector_all("#outbox-list li", "ls => ls.map(l => l.dataset.type)") \
        == ["shift_start"]
    op = phone.evaluate("window.maeCrew.outbox.items[0].op")
    unit = app.state.service.state.units["MAE-SUNDERBY"]
    assert unit.status.value == "off_duty" and len(unit.crew) == before  # not sent yet

    phone_ctx.set_offline(False)
    sent(phone)
    unit = app.state.service.state.units["MAE-SUNDERBY"]
    assert unit.status.value == "available"
    assert [(m.name, m.role.value) for m in unit.crew] == [("Anna Lind", "nurse")]
    assert unit.competences == ("nurse", "ECT")
    assert unit.registered_competences == ("nurse", "doctor", "ECT")
    with sqlite3.connect(srv.db) as conn:
        (seq,) = conn.execute("SELECT seq FROM ops WHERE op = ?", (op,)).fetchone()
        kinds = [t for (t,) in conn.execute("SELECT type FROM events WHERE seq >= ?", (seq,))]
    assert kinds[0] == "ShiftStarted" and kinds.count("ShiftStarted") == 1
    board.wait_for_selector(f"{SUNDERBY}:not(.due) .unit-can", timeout=WAIT_MS)
    assert board.text_content(f"{SUNDERBY} .unit-can") == "kan: ssk, ECT"
    screenshot(phone, "crew-sign-on-competences")
    desk.close()
    phone_ctx.close()


def test_a_queued_sign_on_the_other_phone_beat_is_dropped_with_a_notice(
    browser: Any, due: tuple[Server, Any],
) -> None:
    """While this phone is offline the unit's other phone signs on: the queued sign-on is
    refused when it arrives, said so in a notice, and the page shows the crew that did sign
    on."""
    srv, app = due
    phone_ctx = browser.new_context(**PHONE)
    phone = phone_ctx.new_page()
    phone.goto(f"{srv.base}/crew#token={srv.tokens['crew_sun']}")
    phone.wait_for_function("() => window.maeCrew && window.maeCrew.ready", timeout=WAIT_MS)
    phone.wait_for_function(
        "() => document.getElementById('shift-ends').value === '2026-01-15T23:00'", timeout=WAIT_MS)
    phone_ctx.set_offline(True)
    phone.wait_for_selector("#conn[data-conn=offline]", timeout=WAIT_MS)
    phone.locator(".crew-row .crew-name").first.fill("Anna Lind")
    phone.click("#shift-form button[type=submit]")
    phone.wait_for_selector("#shift-on", state="visible", timeout=WAIT_MS)

    other = srv.socket("/ws/crew", "crew_sun2")
    other.ready()
    assert other.request({"type": "shift_start", "crew": [
        {"name": "Bo Ek", "role": "doctor"}]})["type"] == "ok"
    other.close()

    phone_ctx.set_offline(False)
    sent(phone)
    phone.wait_for_selector(".crew-notice.error", timeout=WAIT_MS)
    assert "Passtart (1 ombord)" in (phone.text_content(".crew-notice.error") or "")
    phone.wait_for_function(
        "() => document.getElementById('shift-crew-list').textContent.includes('Bo Ek')",
        timeout=WAIT_MS)
    assert phone.locator("#shift-crew-list li").all_text_contents() == ["Bo Ek (Läkare)"]
    assert phone.text_content("#shift-competence-list") == "Kompetenser: Sjuksköterska, Läkare."
    unit = app.state.service.state.units["MAE-SUNDERBY"]
    assert [m.name for m in unit.crew] == ["Bo Ek"]
    phone_ctx.close()
