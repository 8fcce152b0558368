"""The agency page in a real Chromium: log in, raise alarms by place name and by a map click,
follow the status and ETA a dispatcher's assignment brings, see errors next to the field they
name, and switch to English; a made-up reference survives a failed send (no second alarm), and
times are Swedish whatever the device's zone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.web.conftest import Server, screenshot

TIMEOUT_MS = 15_000


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="sv-SE")
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def open_agency(page: Any, server: Server, who: str = "police") -> None:
    page.goto(f"{server.base}/agency#token={server.tokens[who]}")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    expect(page.locator("#map")).to_have_attribute("data-ready", "true")
    # place names are put in as text (Leaflet would take a string as HTML)
    expect(page.locator(".mae-place-label span").first).to_be_attached()


def fill_alarm(page: Any, *, priority: str = "1", category: str = "psychosis") -> None:
    page.select_option("#priority", priority)
    page.select_option("#category", category)
    page.select_option("#age_band", "26-44")
    page.select_option("#sex", "female")
    page.check("input[name=children][value=yes]")
    page.check("#police_on_scene")
    page.fill("#note", "Orolig, har hotat att skada sig")


def alarm_item(page: Any, alarm_id: str) -> Any:
    return page.locator(f'#alarms li[data-alarm-id="{alarm_id}"]')


def test_agency_raises_alarms_and_follows_status_and_eta(browser: Any, page: Any,
                                                        server: Server) -> None:
    open_agency(page, server)
    assert "token" not in page.url  # taken from the fragment and removed from the address bar
    assert page.evaluate("localStorage.getItem('mae.token.agency')") == server.tokens["police"]

    # 1. by place name, with the autocomplete offering the map's names
    page.fill("#place", "Kal")
    expect(page.locator("#place-options option[value='Kalix']")).to_have_count(1)
    page.fill("#place", "Kalix")
    page.fill("#reference", "PW-1")
    fill_alarm(page)
    page.click("#submit")
    expect(page.locator("#form-notice.ok")).to_contain_text("PW-1")
    first = alarm_item(page, "police/PW-1")
    expect(first).to_contain_text("Kalix")
    expect(first.locator(".status")).to_have_text("Väntar på enhet")
    expect(page.locator("#place")).to_have_value("")  # the form is ready for the next one

    # 2. by a click on the map, next to a road; the reference is made up when left blank
    with server.http("police") as police:
        road = police.get("/api/map").json()["roads"][0]["coords"]
    lat, lon = (road[0][0] + road[1][0]) / 2, (road[0][1] + road[1][1]) / 2
    page.locator("#map").scroll_into_view_if_needed()  # the click lands in the viewport
    xy = page.evaluate("""([lat, lon]) => {
        const map = document.getElementById('map').maeMap;
        map.setView([lat, lon], 9, {animate: false});
        const p = map.latLngToContainerPoint([lat, lon]);
        return {x: p.x, y: p.y};
    }""", [lat, lon])
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])
    expect(page.locator("#point")).to_contain_text("Vald punkt")
    fill_alarm(page, priority="2", category="worried_relative")
    page.click("#submit")
    expect(page.locator("#form-notice.ok")).to_be_visible()
    items = page.locator("#alarms li")
    expect(items).to_have_count(2)
    ids = [items.nth(i).get_attribute("data-alarm-id") for i in range(2)]
    clicked = next(i for i in ids if i != "police/PW-1")
    assert re.fullmatch(r"police/W\d{8}-\d{6}-[0-9A-Z]{1,4}", clicked)
    with server.http("police") as police:
        stored = police.get(f"/api/alarms/{clicked}").json()
    assert stored["location"]["lat"] == pytest.approx(lat, abs=0.01)
    assert stored["location"]["lon"] == pytest.approx(lon, abs=0.01)

    # 3. a dispatcher assigns a unit: the page shows it and the ETA, live
    with server.http("police") as police:
        callout = police.get("/api/alarms/police/PW-1").json()["callout_id"]
    sock = server.socket("/ws/dispatch", "dispatcher")
    try:
        sock.ready()
        assert sock.request({"type": "assign", "callout_id": callout,
                             "unit_id": "MAE-SUNDERBY"})["type"] == "ok"
    finally:
        sock.close()
    expect(first).to_have_attribute("data-status", "assigned")
    expect(first.locator(".status")).to_have_text("Enhet tilldelad")
    expect(first.locator(".unit")).to_have_text("MAE-SUNDERBY")
    expect(first.locator(".eta")).to_have_text(re.compile(r"^\d\d:\d\d \(om \d+ min\)$"))
    shown = re.search(r"om (\d+) min", first.locator(".eta").inner_text())
    assert shown is not None
    minutes = int(shown.group(1))
    with server.http("police") as police:
        eta_s = police.get("/api/alarms/police/PW-1").json()["eta_s"]
    assert abs(minutes - eta_s / 60) <= 1.5
    screenshot(page, "agency-desktop")

    # 4. the language switch is remembered
    page.click("#lang")
    expect(page.locator("h1")).to_have_text("Alarm to MAE")
    expect(page.locator("label[for=priority]")).to_have_text("Priority")
    expect(first.locator(".status")).to_have_text("Unit assigned")
    expect(first.locator(".eta")).to_have_text(re.compile(r"\(in \d+ min\)$"))
    expect(page.locator("#lang")).to_have_text("Svenska")
    page.reload()
    expect(page.locator("#submit")).to_have_text("Send alarm")
    expect(alarm_item(page, "police/PW-1").locator(".status")).to_have_text("Unit assigned")

    # 5. the same page on a phone
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                has_touch=True)
    try:
        mobile = phone.new_page()
        mobile.set_default_timeout(TIMEOUT_MS)
        open_agency(mobile, server)
        expect(alarm_item(mobile, "police/PW-1")).to_be_visible()
        width = mobile.evaluate("document.documentElement.scrollWidth")
        assert width <= 390  # nothing wider than the screen
        screenshot(mobile, "agency-phone")
    finally:
        phone.close()


def test_agency_errors_name_the_field_and_bad_tokens_are_refused(page: Any,
                                                                 server: Server) -> None:
    page.goto(f"{server.base}/agency")
    expect(page.locator("#login")).to_be_visible()
    page.fill("#token-input", "mae_0000000000000000_notarealtokennotarealtoken")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#err-token")).to_contain_text("Token godtogs inte")
    expect(page.locator("#login")).to_be_visible()
    page.fill("#token-input", server.tokens["ambulance"])
    page.click("#login-form button[type=submit]")
    expect(page.locator("#conn")).to_have_attribute("data-state", "open")

    # nothing chosen: the server names location, priority and category
    page.click("#submit")
    expect(page.locator("#err-location")).to_contain_text("Plats")
    expect(page.locator("#err-priority")).to_contain_text("Prioritet: måste fyllas i")
    expect(page.locator("#err-category")).to_contain_text("Kategori")
    expect(page.locator("#place")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#err-reference")).to_be_empty()

    # a name the map does not know: the error and the closest names to pick from
    page.fill("#place", "Kalixx")
    fill_alarm(page)
    page.click("#submit")
    expect(page.locator("#err-location")).to_contain_text("Kalixx")
    expect(page.locator("#err-priority")).to_be_empty()
    page.click("#suggestions button:text-is('Kalix')")
    expect(page.locator("#place")).to_have_value("Kalix")
    page.click("#submit")
    expect(page.locator("#form-notice.ok")).to_be_visible()
    expect(page.locator("#alarms li")).to_have_count(1)
    with server.http("psychiatry") as other:  # nothing of the refused tries was stored
        assert other.get("/api/health").json()["open_callouts"] == 1

    page.click("#logout")
    expect(page.locator("#login")).to_be_visible()
    assert page.evaluate("localStorage.getItem('mae.token.agency')") is None


def test_a_made_up_reference_survives_a_failed_send_and_times_are_swedish(
        browser: Any, server: Server) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="sv-SE",
                                  timezone_id="America/New_York")
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        open_agency(page, server)
        page.fill("#place", "Kalix")
        fill_alarm(page)
        context.set_offline(True)
        page.click("#submit")  # the request never reaches the server
        expect(page.locator("#form-notice.error")).to_be_visible()
        reference = page.input_value("#reference")
        assert re.fullmatch(r"W\d{8}-\d{6}-[0-9A-Z]{4}", reference)  # kept for the retry
        context.set_offline(False)
        page.click("#submit")
        expect(page.locator("#form-notice.ok")).to_contain_text(reference)
        expect(page.locator("#reference")).to_have_value("")  # the next alarm gets a new one
        item = alarm_item(page, f"police/{reference}")
        expect(page.locator("#alarms li")).to_have_count(1)
        with server.http("police") as police:
            alarm = police.get(f"/api/alarms/police/{reference}").json()
            assert police.get("/api/health").json()["open_callouts"] == 1
        received = datetime.fromisoformat(alarm["received_at"])
        swedish = received.astimezone(ZoneInfo("Europe/Stockholm")).strftime("%H:%M")
        expect(item.locator(".received")).to_have_text(swedish)  # not New York's clock
    finally:
        context.close()


def test_a_reference_or_number_of_the_wrong_form_says_what_is_allowed(
        page: Any, server: Server) -> None:
    """A reference with letters outside A–Z (å, ä, ö) is refused on the page with the
    characters it may have; a number to call back that is too long says so (not that it is
    missing); in English too, and nothing is sent."""
    open_agency(page, server)
    page.fill("#place", "Kalix")
    fill_alarm(page)
    page.fill("#reference", "RLC-ÅÄÖ-1")
    # longer than the field's maxlength lets anyone type: pasted by a script or an autofill
    page.eval_on_selector("#callback", "el => { el.value = '+46 920 123 456 789 012 345 678 9'; }")
    page.click("#submit")
    expect(page.locator("#err-reference")).to_contain_text(
        "Er referens: får bara innehålla A–Z, a–z, 0–9 och ._:@+-")
    expect(page.locator("#err-callback")).to_contain_text("för långt: högst 30 tecken")
    expect(page.locator("#callback")).to_be_focused()  # the first of the two in the form
    page.eval_on_selector("#callback", "el => { el.value = '0920-ett två'; }")
    page.click("#submit")
    expect(page.locator("#err-callback")).to_contain_text("siffror, mellanslag, + och -")

    page.click("#lang")
    page.click("#submit")
    expect(page.locator("#err-reference")).to_contain_text(
        "Your reference: may contain only A–Z, a–z, 0–9 and ._:@+-")
    page.eval_on_selector("#callback", "el => { el.value = '+46 920 123 456 789 012 345 678 9'; }")
    page.click("#submit")
    expect(page.locator("#err-callback")).to_contain_text("too long: at most 30 characters")
    with server.http("psychiatry") as other:
        assert other.get("/api/health").json()["open_callouts"] == 0


def test_an_arrival_time_that_has_passed_says_so_instead_of_now(
    browser: Any, page: Any, timed: Any, clock: Any
) -> None:
    """The unit is still on its way when its expected arrival passes: the agency reads that
    the time has passed and the unit is not there yet (it said "(nu)" for as long as the unit
    took), flagged; once the unit is on scene there is no arrival time to show."""
    open_agency(page, timed)
    with timed.http("police") as police:
        made = police.post("/api/alarms", json={
            "reference": "PW-LATE", "priority": 1, "category": "psychosis",
            "location": {"place": "Kalix"}})
        assert made.status_code in (200, 201), made.text
        callout = made.json()["callout_id"]
    disp = timed.socket("/ws/dispatch", "dispatcher")
    crew = timed.socket("/ws/crew", "crew_sun")
    try:
        disp.ready()
        crew.ready()
        assert disp.request({"type": "assign", "callout_id": callout,
                             "unit_id": "MAE-SUNDERBY"})["type"] == "ok"
        assert crew.request({"type": "ack", "callout_id": callout})["type"] == "ok"
        item = alarm_item(page, "police/PW-LATE")
        eta = item.locator(".eta")
        expect(eta).to_have_text(re.compile(r"^\d\d:\d\d \(om \d+ min\)$"))
        expect(eta).not_to_have_class(re.compile(r"\blate\b"))
        with timed.http("police") as police:
            eta_s = police.get("/api/alarms/police/PW-LATE").json()["eta_s"]
        clock.advance(eta_s + 120)  # two minutes past, the unit still on its way
        page.reload()
        expect(eta).to_have_text(re.compile(r"^\d\d:\d\d – passerad, enheten är inte på plats än$"))
        expect(eta).to_have_class(re.compile(r"\blate\b"))
        page.click("#lang")
        expect(eta).to_have_text(re.compile(r"passed, the unit is not there yet$"))
        for status in ("en_route", "on_scene"):
            reply = crew.request({"type": "status", "status": status})
            assert reply["type"] == "ok", reply
        expect(item).to_have_attribute("data-status", "on_scene")
        expect(eta).to_have_count(0)
    finally:
        disp.close()
        crew.close()
