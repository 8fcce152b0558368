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
