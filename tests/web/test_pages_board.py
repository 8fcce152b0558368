"""Issue 15 on the dispatcher's board, in real Chromium against a real server on a manual clock:
map tooltips write a callout's age when they open and keep it current; cancelling asks for a
reason and a confirmation, a cancelled callout can be reopened for a few minutes and its crew
sees why; a unit that missed its last acknowledgement is flagged when recommended again; a
unit with no GPS report yet is listed where the service has it (its base)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import ManualClock, Server, Sock, screenshot
from tests.web.test_pages_crew import PHONE, open_crew

WAIT_MS = 15_000


def alarm(ref: str, priority: int, place: str) -> dict[str, Any]:
    return {"type": "alarm", "reference": ref, "priority": priority, "category": "psychosis",
            "location": {"place": place}}


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


def test_a_unit_that_missed_its_last_acknowledgement_is_flagged_when_recommended_again(
    board: Page, timed: Server, clock: ManualClock, police: Sock
) -> None:
    cid = police.request(alarm("R-1", 1, "Boden"))["callout_id"]
    board.locator(f"#queue [data-callout='{cid}']").click()
    sun = board.locator("#recs li[data-unit='MAE-SUNDERBY']")
    expect(sun).to_have_count(1)
    expect(sun.locator(".missed-ack")).to_have_count(0)
    sun.get_by_role("button").click()
    expect(board.locator("#toast")).to_contain_text(cid)
    clock.advance(61)  # nobody acknowledges: the job comes back
    expect(board.locator(f"#queue [data-callout='{cid}']")).to_have_count(1)
    board.locator(f"#queue [data-callout='{cid}']").click()
    flag = sun.locator(".missed-ack")
    expect(flag).to_have_text(f"Missade senaste kvittering ({cid})")
    expect(board.locator("#recs li.picked")).not_to_have_attribute("data-unit", "MAE-SUNDERBY")
    screenshot(board, "dispatcher-missed-ack")
    board.reload()  # from the snapshot too
    board.locator(f"#queue [data-callout='{cid}']").click()
    expect(board.locator("#recs li[data-unit='MAE-SUNDERBY'] .missed-ack")).to_have_count(1)
    crew = timed.socket("/ws/crew", "crew_sun")
    crew.ready()
    other = police.request(alarm("R-2", 2, "Luleå"))["callout_id"]
    desk = timed.socket("/ws/dispatch", "dispatcher")
    desk.ready()
    assert desk.request({"type": "assign", "callout_id": other,
                         "unit_id": "MAE-SUNDERBY"})["type"] == "ok"
    assert crew.request({"type": "ack", "callout_id": other})["type"] == "ok"
    board.wait_for_function(
        "() => window.maeDispatch.store.units.get('MAE-SUNDERBY').missed_ack === null")
    crew.close()
    desk.close()


def test_a_new_alarm_chimes_counts_in_the_title_and_waiting_callouts_escalate(
    board: Page, timed: Server, clock: ManualClock, police: Sock
) -> None:
    switch = board.locator("#sound-toggle")
    expect(switch).to_have_attribute("data-sound", "blocked")  # no click on the page yet
    expect(switch).to_have_text("Slå på ljud")
    expect(switch).to_have_attribute("title", re.compile("förrän du klickat"))
    screenshot(board, "dispatcher-sound-blocked")
    switch.click()  # the click lets the browser play sound
    expect(switch).to_have_attribute("data-sound", "on")
    expect(switch).to_have_attribute("aria-pressed", "true")

    first = police.request(alarm("R-1", 1, "Boden"))["callout_id"]
    expect(board.locator("body")).to_have_attribute("data-chimes", "1")
    expect(board).to_have_title("(1) MAE-ledning")
    item = board.locator(f"#queue [data-callout='{first}']")
    expect(item).to_have_attribute("data-escalation", "0")
    screenshot(board, "dispatcher-new-alarm")
    item.click()
    expect(board).to_have_title("MAE-ledning")  # looked at

    switch.click()
    expect(switch).to_have_attribute("data-sound", "off")
    second = police.request(alarm("R-2", 3, "Piteå"))["callout_id"]
    expect(board).to_have_title("(1) MAE-ledning")  # counted, but silent
    expect(board.locator("body")).to_have_attribute("data-chimes", "1")

    clock.advance(6 * 60)
    police.request(alarm("R-3", 2, "Kiruna"))  # the page learns the service's time from it
    expect(item).to_have_attribute("data-escalation", "3")  # prio 1 waiting 6 min: red
    expect(board.locator(f"#queue [data-callout='{second}']")).to_have_attribute(
        "data-escalation", "0")  # prio 3 waiting 6 min: not yet
    expect(board).to_have_title("(2) MAE-ledning")
    screenshot(board, "dispatcher-escalation")


def test_the_map_pins_escalate_like_the_queue(
    board: Page, timed: Server, clock: ManualClock, police: Sock
) -> None:
    """One escalation for the queue and the map: a prio 1 callout that has waited 6 min has a
    red ring on its pin, turned by the page's tick (no event about it redraws it); a prio 3
    one of the same age has none yet, and a callout no longer waiting stops escalating."""
    urgent = police.request(alarm("R-1", 1, "Boden"))["callout_id"]
    calm = police.request(alarm("R-2", 3, "Piteå"))["callout_id"]
    pin = board.locator(f".callout-pin[data-callout='{urgent}']")
    expect(pin).to_have_attribute("data-escalation", "0")
    clock.advance(2 * 60)
    police.request(alarm("R-3", 2, "Kiruna"))  # the page learns the service's time from it
    expect(pin).to_have_attribute("data-escalation", "1")  # prio 1 after 1 min: amber
    expect(board.locator(f"#queue [data-callout='{urgent}']")).to_have_attribute(
        "data-escalation", "1")
    clock.advance(4 * 60)
    police.request(alarm("R-4", 2, "Luleå"))  # a new time, but no event about the pin's callout
    expect(pin).to_have_attribute("data-escalation", "3")
    ring = pin.evaluate("el => getComputedStyle(el).boxShadow")
    assert "rgb(185, 28, 28)" in ring, ring  # the queue's red (#b91c1c)
    expect(board.locator(f".callout-pin[data-callout='{calm}']")).to_have_attribute(
        "data-escalation", "0")
    legend = board.locator("#map-legend")  # the ring and the water are explained
    expect(legend).to_contain_text("Ring: har väntat länge")
    expect(legend).to_contain_text("Hav och sjöar")
    screenshot(board, "dispatcher-pins-escalated")
    desk = timed.socket("/ws/dispatch", "dispatcher")
    desk.ready()
    assert desk.request({"type": "assign", "callout_id": urgent,
                         "unit_id": "MAE-SUNDERBY"})["type"] == "ok"
    desk.close()
    expect(pin).to_have_attribute("data-escalation", "0")  # assigned: no longer waiting


def test_history_finds_a_cancelled_callout_opens_its_timeline_and_exports_the_day(
    board: Page, timed: Server, police: Sock
) -> None:
    kept = police.request(alarm("R-9", 2, "Boden"))["callout_id"]
    gone = police.request(alarm("R-10", 3, "Piteå"))["callout_id"]
    desk = timed.socket("/ws/dispatch", "dispatcher")
    desk.ready()
    assert desk.request({"type": "cancel", "callout_id": gone, "code": "duplicate"})["type"] \
        == "ok"
    desk.close()
    before = board.evaluate("window.maeDispatch.map.map.getZoom()")
    board.locator(f"#queue [data-callout='{kept}']").click()  # selecting zooms in to it
    board.wait_for_function(f"() => window.maeDispatch.map.map.getZoom() >= 10 && {before} < 10")

    board.locator("#history-button").click()
    dialog = board.locator("#history")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#history-results tr[data-callout]")).to_have_count(1)
    row = dialog.locator(f"tr[data-callout='{gone}']")
    expect(row).to_contain_text("Avbruten – Dubblett")
    board.fill("#history-q", "r-9")  # the open one is no history yet
    board.locator("#history-form button[type=submit]").click()
    expect(dialog.locator("#history-results")).to_contain_text("Inga uppdrag matchar.")
    board.fill("#history-q", "piteå")
    board.select_option("#history-status", "cancelled")
    board.locator("#history-form button[type=submit]").click()
    expect(row).to_have_count(1)
    screenshot(board, "dispatcher-history")
    with board.expect_download() as info:
        board.locator("#history-export").click()
    download = info.value
    text = Path(download.path()).read_text(encoding="utf-8")
    assert download.suggested_filename.startswith("mae-") and kept in text and gone in text
    row.click()
    expect(dialog).to_be_hidden()
    expect(board.locator("#detail-title")).to_contain_text(gone)
    expect(board.locator("#timeline li[data-type=CalloutCancelled]")).to_contain_text("Dubblett")
    expect(board.locator("#timeline li[data-type=AlarmReceived]")).to_have_count(1)
    # finished: nothing to assign, merge or cancel
    expect(board.locator("#actions")).to_be_hidden()
    expect(board.locator("#rec-section")).to_be_hidden()


def test_the_unit_board_merge_list_and_toasts_say_what_matters(
    board: Page, timed: Server, police: Sock
) -> None:
    """Units show time in status and where they are (no GPS report yet: at their base);
    clicking a free unit zooms to it, a busy one opens its callout; the merge list gives
    distances, nearest first, and leaves out a follow-up request; toasts say what was done."""
    sun = board.locator("#units [data-unit='MAE-SUNDERBY']")
    expect(sun.locator(".unit-since [data-age]")).to_have_count(1)
    expect(sun.locator(".unit-pos")).to_have_text("vid Sunderby sjukhus (ingen GPS-rapport)")
    board.locator("[data-unit-open='MAE-PITEA']").click()
    board.wait_for_function("() => window.maeDispatch.map.map.getZoom() >= 10")
    expect(board.locator(".leaflet-tooltip", has_text="MAE Piteå")).to_be_visible()

    boden = police.request(alarm("R-1", 1, "Boden"))["callout_id"]
    near = police.request({**alarm("R-2", 2, "Luleå")})["callout_id"]
    far = police.request(alarm("R-3", 2, "Kiruna"))["callout_id"]
    psych = timed.socket("/ws/agency", "psychiatry")
    psych.ready()
    reply = psych.request({**alarm("R-4", 3, "Boden"), "category": "follow_up_request"})
    psych.close()
    assert reply["type"] == "alarm_ack", reply
    planned = reply["callout_id"]
    board.locator(f"#queue [data-callout='{boden}']").click()
    options = board.locator("#merge-with option")
    expect(options).to_have_count(2)  # not the follow-up request
    texts = options.all_text_contents()
    assert texts[0].startswith(near) and texts[1].startswith(far), texts
    assert all(" km bort)" in x for x in texts) and planned not in " ".join(texts)
    board.select_option("#merge-with", near)
    board.locator("#merge").click()
    expect(board.locator("#toast")).to_have_text(f"{near} sammanslaget med {boden}")
    board.fill("#note-text", "Anhörig på plats")
    board.locator("#note-add").click()
    expect(board.locator("#toast")).to_have_text(f"Anteckning sparad på {boden}")
    screenshot(board, "dispatcher-unit-board")

    desk = timed.socket("/ws/dispatch", "dispatcher")
    desk.ready()
    assert desk.request({"type": "assign", "callout_id": far,
                         "unit_id": "MAE-GALLIVARE"})["type"] == "ok"
    desk.close()
    expect(board.locator("#units [data-unit='MAE-GALLIVARE'] .status")).to_have_text("Larmad")
    board.locator("[data-unit-open='MAE-GALLIVARE']").click()
    expect(board.locator("#detail-title")).to_contain_text(far)


def test_a_unit_with_no_gps_report_yet_is_shown_where_the_service_has_it(
    board: Page, timed: Server
) -> None:
    """A unit whose crew has sent no position yet is where the service puts it: at its base
    (its position named, with no time). The list said "ingen position" although the map shows
    the unit at its base; it now says where, and that no GPS report has come ("vid Gällivare
    sjukhus (ingen GPS-rapport)", "at … (no GPS report yet)" in English); once the crew
    reports, how old its position is; "ingen position" is left for a position with no name
    (none of the demo units has one: the page's own copy of a unit is changed for that)."""
    units = board.locator("#units .unit-item")
    expect(units).to_have_count(3)
    where = {"MAE-GALLIVARE": "Gällivare sjukhus", "MAE-PITEA": "Piteå älvdals sjukhus",
             "MAE-SUNDERBY": "Sunderby sjukhus"}
    for unit, base in where.items():
        expect(board.locator(f"#units [data-unit='{unit}'] .unit-pos")).to_have_text(
            f"vid {base} (ingen GPS-rapport)")
    crew = timed.socket("/ws/crew", "crew_sun")
    crew.ready()
    try:
        assert crew.request({"type": "position", "lat": 65.6, "lon": 22.1})["kept"] is True
    finally:
        crew.close()
    sun = board.locator("#units [data-unit='MAE-SUNDERBY'] .unit-pos")
    expect(sun).to_have_text(re.compile(r"^position, ålder \d+(:\d\d){1,2}$"))
    expect(sun.locator("[data-age]")).to_have_count(1)

    board.click("#lang-toggle")
    gallivare = board.locator("#units [data-unit='MAE-GALLIVARE'] .unit-pos")
    expect(gallivare).to_have_text("at Gällivare sjukhus (no GPS report yet)")
    expect(sun).to_have_text(re.compile(r"^position age \d+(:\d\d){1,2}$"))
    screenshot(board, "dispatcher-units-at-base-en")
    board.evaluate("""() => { const page = window.maeDispatch;
        page.store.units.get('MAE-GALLIVARE').position.label = '';
        page.panels.renderUnits(page.store); }""")
    expect(gallivare).to_have_text("no position")
