"""Issue 15 on the crew's phone, in real Chromium against a real server: "Logga ut" asks first
and sits away from the language toggle; navigation, the panic button, messages with dispatch,
the current status and the facility carried into the outcome form."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import Server, Sock, screenshot
from tests.web.test_pages_crew import ALARM, PHONE, WAIT_MS, open_crew, raise_alarm

#: the service of every test here (conftest's ``server``): no acknowledge deadline runs out
SERVER_OPTIONS = {"ack_timeout_s": 3600}


def test_logging_out_asks_first_and_is_away_from_the_language_toggle(
    browser: Any, server: Server
) -> None:
    context, page = open_crew(browser, server, PHONE)
    lang = page.locator("#lang").bounding_box()
    logout = page.locator("#logout")
    assert page.locator(".crew-header #logout").count() == 0
    logout.scroll_into_view_if_needed()
    box = logout.bounding_box()
    assert lang and box
    page_y = page.evaluate("window.scrollY")
    assert box["y"] + page_y - (lang["y"] + lang["height"]) > 600  # far below, not beside it
    assert box["height"] >= 44
    asked: list[str] = []

    def answer(dialog: Any, accept: bool) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    logout.click()
    assert asked and "Logga ut enheten" in asked[0]
    expect(page.locator("#app")).to_be_visible()  # said no: still logged in
    screenshot(page, "crew-logout")
    page.once("dialog", lambda d: answer(d, True))
    logout.click()
    page.wait_for_selector("#login", state="visible", timeout=WAIT_MS)
    assert len(asked) == 2
    context.close()


def test_the_phone_navigates_calls_for_help_and_messages_with_dispatch(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    """The address opens the phone's navigation app (geo:), the current status looks unlike
    the buttons that cannot be pressed, the facility reported at goes into the outcome form,
    the panic button alarms the dispatcher page loudly with the position, and short messages
    go both ways (a message from dispatch stays as a notice until dismissed)."""
    board_context = browser.new_context(viewport={"width": 1440, "height": 900})
    board = board_context.new_page()
    board.set_default_timeout(WAIT_MS)
    board.goto(f"{server.base}/dispatch#token={server.tokens['dispatcher']}")
    expect(board.locator("#conn")).to_have_attribute("data-state", "open")

    cid = raise_alarm(server)
    assert dispatcher.request({"type": "assign", "callout_id": cid,
                         "unit_id": "MAE-SUNDERBY"})["type"] == "ok"
    context, page = open_crew(browser, server, PHONE)
    page.wait_for_selector("#ack", state="visible", timeout=WAIT_MS)
    nav = page.locator("#job-nav")
    assert (nav.get_attribute("href") or "").startswith("geo:65.")
    expect(page.locator("#job-coords")).to_contain_text("65.")
    # An active job keeps the screen on (Screen Wake Lock; the browser asks for permission).
    context.grant_permissions(["screen-wake-lock"])
    page.click("#ack")
    page.wait_for_timeout(1100)  # the page asks again on its next render after a refusal
    page.click("[data-status=en_route]")
    page.wait_for_selector("body[data-wake-lock=on]", state="attached", timeout=WAIT_MS)
    page.click("[data-status=on_scene]")
    page.click("[data-status=transporting]")
    current = page.locator("#status-buttons [data-status=transporting]")
    expect(current).to_have_attribute("aria-pressed", "true")
    looks = page.evaluate("""() => {
      const style = (s) => getComputedStyle(
        document.querySelector(`#status-buttons [data-status=${s}]`));
      return [style('transporting').backgroundColor, style('on_scene').backgroundColor,
              style('at_facility').backgroundColor];
    }""")
    assert looks[0] == "rgb(17, 17, 17)" and looks[0] != looks[1] and looks[0] != looks[2]
    page.fill("#facility", "Sunderby sjukhus")
    page.click("[data-status=at_facility]")
    expect(page.locator("#outcome-facility")).to_have_value("Sunderby sjukhus")

    page.once("dialog", lambda d: d.accept())
    page.click("#assist")
    banner = board.locator(".alert-banner.assist")
    expect(banner).to_contain_text("NÖDLARM från MAE Södra Sunderbyn")
    expect(banner).to_contain_text("position 65.")
    screenshot(board, "dispatcher-panic-alarm")
    assist = dispatcher.until(lambda m: m.get("type") == "event"
                        and m["event"]["type"] == "AssistRequested")["event"]
    assert assist["callout_id"] == cid and assist["position"]["lat"] > 65

    board.locator("#units [data-unit-message='MAE-SUNDERBY']").click()
    board.fill("#message-text", "Polis på väg, vänta ute")
    board.locator("#message-send").click()
    expect(board.locator("#toast")).to_have_text("Meddelande skickat till MAE Södra Sunderbyn")
    note = page.locator(".crew-notice", has_text="Meddelande från ledningen: Polis på väg")
    expect(note).to_be_in_viewport()
    page.fill("#message-text", "Uppfattat")
    page.click("#message-form button[type=submit]")
    expect(board.locator(".alert-banner.message")).to_contain_text(
        "Meddelande från MAE Södra Sunderbyn: Uppfattat")
    expect(page.locator("#message-list li")).to_have_count(2)
    screenshot(page, "crew-messages")
    context.close()
    board_context.close()


def test_a_phone_with_a_job_reloads_offline_without_errors(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    """No console errors (once: ``Invalid LatLng (NaN, NaN)`` in the route view) when a phone
    with a job and its route opens again without a connection."""
    cid = raise_alarm(server)
    assert dispatcher.request({"type": "assign", "callout_id": cid,
                         "unit_id": "MAE-SUNDERBY"})["type"] == "ok"
    context, page = open_crew(browser, server, PHONE)
    page.wait_for_selector("#steps li", timeout=WAIT_MS)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=WAIT_MS)
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    context.set_offline(True)
    page.reload()
    page.wait_for_selector("#job", state="visible", timeout=WAIT_MS)
    page.wait_for_selector("#steps li", timeout=WAIT_MS)  # the stored route
    page.wait_for_timeout(1000)
    context.set_offline(False)
    page.wait_for_selector("#conn[data-conn=open]", timeout=WAIT_MS)
    assert problems == [], problems
    context.close()


def test_a_call_back_number_from_the_agency_gives_the_crew_a_call_button(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    cid = raise_alarm(server, callback="+46 70-123 45 67")
    assert dispatcher.request({"type": "assign", "callout_id": cid,
                         "unit_id": "MAE-SUNDERBY"})["type"] == "ok"
    context, page = open_crew(browser, server, PHONE)
    call = page.locator("#job-call")
    expect(call).to_be_visible()
    expect(call).to_have_text("Ring Polis: +46 70-123 45 67")
    assert call.get_attribute("href") == "tel:+46701234567"
    box = call.bounding_box()
    assert box and box["height"] >= 44
    screenshot(page, "crew-call-button")
    context.close()
    bad = server.socket("/ws/agency", "police")
    bad.ready()
    refused = bad.request({**ALARM, "reference": "P-2", "callback": "ring mig"})
    bad.close()
    assert refused["type"] == "error" and refused["field"] == "callback"
