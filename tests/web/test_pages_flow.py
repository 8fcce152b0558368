"""The whole job across three browsers: an agency raises an alarm on its page, the dispatcher
sees it on the live map and assigns with one click, the crew's phone receives it, acknowledges,
works through the statuses and records an outcome, and both other pages see it closed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import Server, screenshot

WAIT_MS = 15_000
SUNDERBY = {"latitude": 65.67, "longitude": 21.98}


@pytest.fixture
def pages(browser: Any, server: Server) -> Iterator[dict[str, Any]]:
    """Three separate browser contexts (no shared storage), one page each, logged in."""
    errors: list[str] = []
    contexts = {
        "agency": browser.new_context(viewport={"width": 1280, "height": 900}),
        "dispatch": browser.new_context(viewport={"width": 1440, "height": 900}),
        "crew": browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                    has_touch=True, geolocation=SUNDERBY,
                                    permissions=["geolocation"]),
    }
    opened: dict[str, Any] = {}
    for kind, token in (("agency", "police"), ("dispatch", "dispatcher"), ("crew", "crew_sun")):
        page = contexts[kind].new_page()
        page.set_default_timeout(WAIT_MS)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{server.base}/{kind}#token={server.tokens[token]}")
        opened[kind] = page
    yield opened
    for context in contexts.values():
        context.close()
    assert not errors, f"JavaScript errors: {errors}"


def test_agency_to_dispatcher_to_crew_and_back_to_closed(pages: dict[str, Any],
                                                         server: Server) -> None:
    agency, dispatch, crew = pages["agency"], pages["dispatch"], pages["crew"]
    expect(agency.locator("#conn")).to_have_attribute("data-state", "open")
    expect(dispatch.locator("#conn")).to_have_attribute("data-state", "open")
    crew.wait_for_function("() => window.maeCrew && window.maeCrew.ready", timeout=WAIT_MS)
    crew.wait_for_selector("#idle", state="visible")

    # The agency raises the alarm on its own page.
    agency.fill("#place", "Boden")
    agency.fill("#reference", "FLOW-1")
    agency.select_option("#priority", "1")
    agency.select_option("#category", "suicide_risk")
    agency.check("#police_on_scene")
    agency.click("#submit")
    expect(agency.locator("#form-notice.ok")).to_contain_text("FLOW-1")
    mine = agency.locator('#alarms li[data-alarm-id="police/FLOW-1"]')
    expect(mine).to_have_attribute("data-status", "waiting")
    with server.http("dispatcher") as http:
        callout = http.get("/api/alarms/police/FLOW-1").json()["callout_id"]

    # The dispatcher sees it waiting, picks it and assigns Sunderbyn's unit with one click.
    item = dispatch.locator(f"#queue [data-callout='{callout}']")
    expect(item.locator(".agency-police")).to_be_visible()
    item.click()
    rec = dispatch.locator("#recs li[data-unit='MAE-SUNDERBY']")
    expect(rec.locator(".eta")).to_contain_text("min")
    rec.get_by_role("button", name="Tilldela").click()
    expect(dispatch.locator("#queue .callout-item")).to_have_count(0)
    expect(dispatch.locator("path.route-line")).to_have_count(1)
    expect(mine).to_have_attribute("data-status", "assigned")
    expect(mine.locator(".eta")).to_contain_text("min")

    # The crew's phone gets the job with its route, acknowledges and works it.
    crew.wait_for_selector("#job", state="visible")
    crew.wait_for_selector("#steps li")
    assert crew.text_content("#job-address") == "Boden"
    assert crew.text_content(".onscene-police") == "Polis: på plats"
    crew.click("#ack")
    expect(mine).to_have_attribute("data-status", "acknowledged")
    crew.click("[data-status=en_route]")
    expect(mine).to_have_attribute("data-status", "en_route")
    crew.wait_for_function(
        "() => document.querySelector('[data-status=on_scene]').disabled === false")
    crew.click("[data-status=on_scene]")
    expect(mine).to_have_attribute("data-status", "on_scene")
    crew.wait_for_selector("#outcome-panel", state="visible")
    crew.check("input[value=stayed_home]")
    crew.click("#outcome-form button[type=submit]")
    crew.wait_for_selector("#idle", state="visible")
    crew.wait_for_selector('#outbox[data-count="0"]', state="attached")

    # Everyone sees the job closed: the agency's alarm, the dispatcher's detail and lists.
    expect(mine).to_have_attribute("data-status", "closed")
    expect(dispatch.locator("#detail-facts .cstatus-closed")).to_be_visible()
    expect(dispatch.locator(f"#active [data-callout='{callout}']")).to_have_count(0)
    screenshot(dispatch, "flow-dispatcher-closed")
    with server.http("dispatcher") as http:
        stored = http.get(f"/api/callouts/{callout}").json()
    assert stored["status"] == "closed"
    assert stored["outcome"]["kind"] == "stayed_home"
