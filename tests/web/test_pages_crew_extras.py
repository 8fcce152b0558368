"""Issue 15 on the crew's phone, in real Chromium against a real server: "Logga ut" asks first
and sits away from the language toggle."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import Server, screenshot, thread_server
from tests.web.test_pages_crew import PHONE, WAIT_MS, open_crew


@pytest.fixture
def server(db: Path, tokens: dict[str, str]) -> Iterator[Server]:
    srv = thread_server(db, tokens, demo_units=True, ack_timeout_s=3600)
    yield srv
    srv.stop()


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
