"""Issue 15, wrong data on the pages, in real Chromium against a real server on a manual clock:
statuses pressed offline reach the service with their press time (the dispatcher's timeline
shows when pressed and when received, the response time counts from the press), and the
crew's ETA counts from the service's clock, not the phone's, leaves the card on scene and, while
transporting, the route goes to the facility."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import T0, ManualClock, Server, Sock, make_tokens, screenshot, thread_server
from tests.web.test_pages_crew import PHONE, WAIT_MS, open_crew, raise_alarm, stored, unsent


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def timed(tmp_path: Path, clock: ManualClock) -> Iterator[Server]:
    """Demo units on a manual clock that starts on 15 January 2026 (months from the phone's)."""
    db = tmp_path / "timed.sqlite3"
    srv = thread_server(db, make_tokens(db), clock=clock, demo_units=True, ack_timeout_s=3600)
    yield srv
    srv.stop()


@pytest.fixture
def dispatcher(timed: Server) -> Iterator[Sock]:
    sock = timed.socket("/ws/dispatch", "dispatcher")
    sock.ready()
    yield sock
    sock.close()


def job_on_phone(browser: Any, server: Server, dispatcher: Sock) -> tuple[str, Any, Any]:
    cid = raise_alarm(server)
    assert dispatcher.request({"type": "assign", "callout_id": cid,
                               "unit_id": "MAE-SUNDERBY"})["type"] == "ok"
    context, page = open_crew(browser, server, PHONE)
    page.wait_for_selector("#ack", state="visible", timeout=WAIT_MS)
    page.wait_for_function("() => window.maeCrew.clock.known", timeout=WAIT_MS)
    return cid, context, page


def test_statuses_pressed_offline_carry_the_press_time_to_the_timeline(
    browser: Any, timed: Server, clock: ManualClock, dispatcher: Sock
) -> None:
    cid, context, page = job_on_phone(browser, timed, dispatcher)
    page.click("#ack")
    unsent(page, 0)
    context.set_offline(True)
    page.wait_for_selector("#conn[data-conn=offline]", timeout=WAIT_MS)
    page.click("[data-status=en_route]")
    page.click("[data-status=on_scene]")
    unsent(page, 2)
    clock.advance(30 * 60)  # the phone is back half an hour later
    before = max(e["seq"] for e in stored(timed.db))
    context.set_offline(False)
    unsent(page, 0)
    arrived = [e for e in stored(timed.db, before) if e["type"] == "UnitStatusChanged"]
    assert [e["status"] for e in arrived] == ["en_route", "on_scene"]
    for e in arrived:
        at, pressed = datetime.fromisoformat(e["at"]), datetime.fromisoformat(e["pressed_at"])
        assert at >= T0 + timedelta(minutes=30)
        assert T0 <= pressed < T0 + timedelta(minutes=2)  # pressed, on the service's clock
    context.close()

    desk = browser.new_context(viewport={"width": 1440, "height": 900},
                               timezone_id="Europe/Stockholm", locale="sv-SE")
    board = desk.new_page()
    board.set_default_timeout(WAIT_MS)
    board.goto(f"{timed.base}/dispatch#token={timed.tokens['dispatcher']}")
    board.locator(f"[data-callout='{cid}']").first.click()
    line = board.locator("#timeline li[data-type=UnitStatusChanged]").last
    expect(line).to_contain_text("tryckt")
    expect(line.locator("small.received")).to_contain_text("mottagen")
    expect(board.locator("#detail-response")).to_have_text(  # from the press, not the arrival
        page_response(arrived[-1]["pressed_at"], timed, cid))
    screenshot(board, "dispatcher-pressed-offline")
    desk.close()


def page_response(pressed: str, server: Server, cid: str) -> str:
    """The response time as the dispatcher page writes it (m:ss): alarm to the press."""
    alarm = next(e for e in stored(server.db) if e["type"] == "AlarmReceived"
                 and e["callout_id"] == cid)
    s = int((datetime.fromisoformat(pressed)
             - datetime.fromisoformat(alarm["alarm"]["received_at"])).total_seconds())
    return f"{s // 60}:{s % 60:02d}"


def test_the_crew_eta_counts_from_the_service_clock_and_the_transport_goes_to_the_facility(
    browser: Any, timed: Server, dispatcher: Sock
) -> None:
    """The service's clock is months behind the phone's: the minutes to arrival still match
    the assignment's ETA; on scene the ETA leaves the card; transporting, the route goes to
    the nearest psychiatric emergency unit (or the facility the crew typed)."""
    _cid, context, page = job_on_phone(browser, timed, dispatcher)
    job = page.evaluate("window.maeCrew.projected().job")
    expected = round((datetime.fromisoformat(job["eta_at"]) - T0).total_seconds() / 60)
    assert expected > 5
    eta = page.text_content("#job-eta") or ""
    minutes = int(eta.split("(")[1].split()[0])
    assert abs(minutes - expected) <= 1, (eta, expected)  # not 0: the phone is months ahead
    page.click("#ack")
    page.click("[data-status=en_route]")
    page.click("[data-status=on_scene]")
    expect(page.locator("#job-eta")).to_be_hidden()
    expect(page.locator("#job-eta-label")).to_be_hidden()
    page.click("[data-status=transporting]")
    page.wait_for_function("() => window.maeCrew.route && window.maeCrew.route.to", timeout=WAIT_MS)
    route = page.evaluate("window.maeCrew.route")
    with timed.http("crew_sun") as http:
        facilities = http.get("/api/map").json()["facilities"]
    target = next(f for f in facilities if f["name"] == route["to"])
    assert "psychiatric_emergency" in target["kinds"]
    end = route["geometry"][-1]
    assert abs(end[0] - target["lat"]) < 0.02 and abs(end[1] - target["lon"]) < 0.04
    other = next(f["name"] for f in facilities if f["name"] != route["to"]
                 and f["kind"] == "hospital")
    page.fill("#facility", other)
    page.dispatch_event("#facility", "change")
    page.wait_for_function(f"() => window.maeCrew.route.to === {other!r}", timeout=WAIT_MS)
    expect(page.locator("#job-eta")).to_be_hidden()
    screenshot(page, "crew-transporting")
    context.close()
