"""The /stats page in a real Chromium: a manager (and a dispatcher) picks a month and sees
every table with small counts as <5, downloads the workbook, switches to English; a crew token
is refused; the page never shows free text."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.dispatch._stats_month import MONTH
from tests.dispatch.test_events import decode_log, stored_lines
from tests.dispatch.test_stats_report import LOG_V1
from tests.web._stats_data import store_month
from tests.web.conftest import Server, screenshot, thread_server
from tests.web.test_stats_cli import TABLES
from web.eventstore import SqliteEventStore

TIMEOUT_MS = 20_000


@pytest.fixture
def month_server(db: Path, tokens: dict[str, str]) -> Iterator[Server]:
    store_month(db)
    srv = thread_server(db, tokens)
    yield srv
    srv.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="sv-SE",
                                  accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def _show(page: Any, server: Server, who: str) -> None:
    page.goto(f"{server.base}/stats#token={server.tokens[who]}")
    expect(page.locator("#app")).to_be_visible()
    page.fill("#month", MONTH)
    page.click("#month-form button[type=submit]")
    expect(page.locator("#app")).to_have_attribute("data-month", MONTH)


def test_a_manager_sees_every_table_of_the_month(page: Any, month_server: Server) -> None:
    _show(page, month_server, "manager")
    assert "token" not in page.url
    expect(page.locator("#summary")).to_contain_text("61 utryckningar i 2026-11")
    for key in TABLES:
        expect(page.locator(f"#table-{key} table")).to_be_visible()
    agencies = page.locator("#table-callouts_by_agencies")
    other = agencies.locator('tr[data-label="other + police"] td')
    expect(other).to_have_text(["<5", "<5"])
    expect(other.first).to_have_class("suppressed")
    expect(agencies.locator('tr[data-label="ambulance"] td').first).to_have_text("12")
    joint = page.locator('#table-callouts_by_agency_count tr[data-label="joint: 3 agencies"] td')
    expect(joint.first).to_have_text("12")
    boden = page.locator('#table-response_by_municipality tr[data-label="Boden"] td')
    expect(boden).to_have_text(["0", "", ""])
    heat = page.locator("#table-hour_weekday tbody tr")
    expect(heat).to_have_count(7)
    expect(page.locator("#table-month_over_month tbody tr")).to_have_count(12)
    body = page.locator("body").inner_text()
    assert "fri text" not in body and "anledning" not in body
    screenshot(page, "stats-desktop")

    page.click("#lang")
    expect(page.locator("#summary")).to_contain_text("61 callouts in 2026-11")
    expect(page.locator("h1")).to_have_text("Monthly statistics")

    with page.expect_download() as info:
        page.click("button[data-format=xlsx]")
    download = info.value
    assert download.suggested_filename == "mae-stats-2026-11.xlsx"
    book = load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
    assert set(book.sheetnames) == {"about", *TABLES}


def test_a_dispatcher_sees_it_and_a_crew_token_is_refused(browser: Any, page: Any,
                                                         month_server: Server) -> None:
    _show(page, month_server, "dispatcher")
    expect(page.locator("#table-outcomes")).to_be_visible()
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="sv-SE")
    crew = phone.new_page()
    crew.set_default_timeout(TIMEOUT_MS)
    crew.goto(f"{month_server.base}/stats#token={month_server.tokens['crew_sun']}")
    expect(crew.locator("#login")).to_be_visible()
    expect(crew.locator("#err-token")).to_contain_text("Token nekades")
    expect(crew.locator("#app")).to_be_hidden()
    phone.close()


def test_a_late_answer_for_the_default_month_never_replaces_the_picked_one(
        page: Any, month_server: Server) -> None:
    """The page asks for the current month on start; the test holds that answer back until the
    month the user picked is shown, then lets it through: the picked month stays."""
    held: list[Any] = []

    def hold_other_months(route: Any) -> None:
        if f"month={MONTH}" in route.request.url:
            route.continue_()
        else:
            held.append(route)

    page.route("**/api/stats/report*", hold_other_months)
    page.goto(f"{month_server.base}/stats#token={month_server.tokens['manager']}")
    expect(page.locator("#app")).to_be_visible()
    default = page.locator("#month").input_value()
    assert default != MONTH  # the fixture's month lies in the past
    page.fill("#month", MONTH)
    page.click("#month-form button[type=submit]")
    expect(page.locator("#summary")).to_contain_text(f"61 utryckningar i {MONTH}")
    assert len(held) == 1 and f"month={default}" in held[0].request.url
    held[0].continue_()
    page.wait_for_timeout(500)
    expect(page.locator("#app")).to_have_attribute("data-month", MONTH)
    expect(page.locator("#summary")).to_contain_text(f"61 utryckningar i {MONTH}")


def test_a_bad_month_is_named_next_to_the_field(page: Any, month_server: Server) -> None:
    _show(page, month_server, "manager")
    page.evaluate("document.getElementById('month').type = 'text'")
    page.fill("#month", "2026-13")
    page.click("#month-form button[type=submit]")
    expect(page.locator("#err-month")).to_contain_text("Månad: saknas eller har fel form.")
    page.set_viewport_size({"width": 390, "height": 844})
    page.fill("#month", MONTH)
    page.click("#month-form button[type=submit]")
    expect(page.locator("#table-care")).to_be_visible()
    screenshot(page, "stats-phone")


@pytest.fixture
def legacy_server(db: Path, tokens: dict[str, str]) -> Iterator[tuple[Server, str]]:
    """A service whose log was written before the age bands became 18-25 / 26-44."""
    log = decode_log(stored_lines(LOG_V1))
    store = SqliteEventStore(db)
    try:
        store.append([env.event for env in log], expected_last_seq=0)
    finally:
        store.close()
    srv = thread_server(db, tokens)
    yield srv, log[0].event.at.astimezone(ZoneInfo("Europe/Stockholm")).strftime("%Y-%m")
    srv.stop()


def test_a_month_of_legacy_age_bands_shows_them_apart_on_the_page_and_in_the_workbook(
        page: Any, legacy_server: tuple[Server, str]) -> None:
    server, month = legacy_server
    page.goto(f"{server.base}/stats#token={server.tokens['manager']}")
    page.fill("#month", month)
    page.click("#month-form button[type=submit]")
    expect(page.locator("#app")).to_have_attribute("data-month", month)
    legacy = page.locator('#table-by_age_band tr[data-label="25-44 (legacy band)"] td')
    expect(legacy.first).not_to_have_text("0")
    expect(page.locator('#table-by_age_band tr[data-label="26-44"] td').first).to_have_text("0")
    expect(page.locator("#table-by_age_band")).to_contain_text("25-44 (äldre grupp)")
    screenshot(page, "stats-legacy-bands")
    with page.expect_download() as info:
        page.click("button[data-format=xlsx]")
    book = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
    labels = [row[0] for row in book["by_age_band"].iter_rows(values_only=True)]
    assert "25-44 (legacy band)" in labels and "26-44" in labels
