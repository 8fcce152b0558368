"""Issue 15 on the dispatcher's board, in real Chromium against a real server on a manual clock:
map tooltips write a callout's age when they open and keep it current; cancelling asks for a
reason and a confirmation, a cancelled callout can be reopened for a few minutes and its crew
sees why; a unit that missed its last acknowledgement is flagged when recommended again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import ManualClock, Server, Sock, make_tokens, screenshot, thread_server
from tests.web.test_pages_crew import PHONE, open_crew

WAIT_MS = 15_000


def alarm(ref: str, priority: int, place: str) -> dict[str, Any]:
    return {"type": "alarm", "reference": ref, "priority": priority, "category": "psychosis",
            "location": {"place": place}}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def timed(tmp_path: Path, clock: ManualClock) -> Iterator[Server]:
    db = tmp_path / "board.sqlite3"
    srv = thread_server(db, make_tokens(db), clock=clock, demo_units=True, ack_timeout_s=60,
                        tick_interval_s=0.05)
    yield srv
    srv.stop()


@pytest.fixture
def police(timed: Server) -> Iterator[Sock]:
    sock = timed.socket("/ws/agency", "police")
    sock.ready()
    yield sock
    sock.close()


@pytest.fixture
def board(timed: Server, browser: Any) -> Iterator[Page]:
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1440, "height": 900},
                                  timezone_id="Europe/Stockholm", locale="sv-SE")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{timed.base}/dispatch#token={timed.tokens['dispatcher']}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    yield page
    context.close()
    assert errors == []


OPEN_TIP = """id => {
  const marker = window.maeDispatch.map.callouts.get(id);
  marker.openTooltip();
  return marker.getTooltip().getElement().querySelector('[data-age]').textContent;
}"""


def test_a_map_tooltip_shows_the_callouts_age_now(
    board: Page, timed: Server, clock: ManualClock, police: Sock
) -> None:
    old = police.request(alarm("R-1", 2, "Boden"))["callout_id"]
    expect(board.locator(f".callout-pin[data-callout='{old}']")).to_have_count(1)
    clock.advance(3600 + 36 * 60)
    police.request(alarm("R-2", 3, "Piteå"))  # the page learns the service's time from it
    expect(board.locator("#queue .callout-item")).to_have_count(2)
    age = board.evaluate(OPEN_TIP, old)
    assert age.startswith("1:36:"), age  # written as it opens, not when the pin was drawn
    board.wait_for_function(  # and kept current while open
        f"() => document.querySelector('.leaflet-tooltip [data-age]').textContent !== {age!r}")
    screenshot(board, "dispatcher-tooltip-age")


def test_cancel_asks_why_and_confirms_tells_the_crew_and_can_be_reopened(
    board: Page, timed: Server, clock: ManualClock, police: Sock, browser: Any
) -> None:
    cid = police.request(alarm("R-1", 1, "Boden"))["callout_id"]
    desk = timed.socket("/ws/dispatch", "dispatcher")
    desk.ready()
    assert desk.request({"type": "assign", "callout_id": cid,
                         "unit_id": "MAE-SUNDERBY"})["type"] == "ok"
    phone_context, phone = open_crew(browser, timed, PHONE)
    phone.wait_for_selector("#job", state="visible", timeout=WAIT_MS)

    board.locator(f"[data-callout='{cid}']").first.click()
    board.locator("#cancel").click()
    expect(board.locator("#cancel-error")).to_have_text("Välj en orsak till avbrottet.")
    board.select_option("#cancel-code", "other")
    board.locator("#cancel").click()
    expect(board.locator("#cancel-error")).to_have_text("Skriv orsaken när du väljer Annat.")
    board.select_option("#cancel-code", "other_agency")
    board.fill("#cancel-reason", "polisen tog det")
    board.locator("#cancel").click()
    dialog = board.locator("#cancel-confirm")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Avbryta {cid}?")
    expect(dialog).to_contain_text("Annan aktör tog hand om det: polisen tog det")
    expect(dialog).to_contain_text("MAE Södra Sunderbyn släpps")
    screenshot(board, "dispatcher-cancel-confirm")
    dialog.get_by_role("button", name="Tillbaka").click()
    expect(dialog).to_be_hidden()
    assert desk.request({"type": "ping"})["type"] == "pong"
    assert not any(m.get("event", {}).get("type") == "CalloutCancelled" for m in desk.messages)

    board.locator("#cancel").click()
    dialog.get_by_role("button", name="Ja, avbryt uppdraget").click()
    expect(board.locator("#toast")).to_have_text(f"{cid} avbrutet")
    expect(board.locator("#timeline li[data-type=CalloutCancelled]")).to_contain_text(
        "Annan aktör tog hand om det: polisen tog det")
    expect(board.locator("#reopen-box")).to_be_visible()

    # The crew's notice says why and stays in view below the sticky header, wherever it scrolls.
    phone.wait_for_selector("#idle", state="visible", timeout=WAIT_MS)
    phone.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    notice = phone.locator(".crew-notice", has_text=cid)
    expect(notice).to_contain_text("Annan aktör tog hand om det: polisen tog det")
    expect(notice).to_be_in_viewport()
    header = phone.locator(".crew-header").bounding_box()
    box = notice.bounding_box()
    assert header and box and box["y"] >= header["y"] + header["height"] - 1
    screenshot(phone, "crew-cancel-notice")
    notice.get_by_role("button").click()
    expect(phone.locator(".crew-notice", has_text=cid)).to_have_count(0)
    phone_context.close()

    board.locator("#reopen").click()
    expect(board.locator("#toast")).to_have_text(f"{cid} återöppnat och väntar på enhet")
    expect(board.locator(f"#queue [data-callout='{cid}']")).to_have_count(1)
    expect(board.locator("#reopen-box")).to_be_hidden()

    assert desk.request({"type": "cancel", "callout_id": cid, "code": "duplicate"})["type"] == "ok"
    expect(board.locator("#reopen-box")).to_be_visible()
    clock.advance(6 * 60)
    police.request(alarm("R-2", 3, "Piteå"))  # the page learns the service's time from it
    expect(board.locator("#reopen-box")).to_be_hidden()  # the window is over
    late = desk.request({"type": "reopen", "callout_id": cid})
    assert late["type"] == "error" and late["field"] == "callout_id"
    desk.close()
