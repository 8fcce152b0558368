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
