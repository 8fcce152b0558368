"""Taking a callout from the unit that has it, on the dispatcher's board in real Chromium
against a real server on a manual clock: the page asks first, saying who has the callout and
how far each unit is; once the unit is on scene the callout stays with it and the page offers
no reassignment; a finished callout offers no split; the core's reasons read in Swedish."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.web.conftest import ManualClock, Server, Sock
from tests.web.test_pages_board import alarm, board, police  # noqa: F401


def on_callout(timed: Server, agency: Sock, place: str, unit: str) -> tuple[str, Sock]:
    """A callout at ``place`` with ``unit`` assigned (over the dispatcher's socket)."""
    cid = agency.request(alarm(f"R-{place}", 1, place))["callout_id"]
    desk = timed.socket("/ws/dispatch", "dispatcher")
    desk.ready()
    assert desk.request({"type": "assign", "callout_id": cid, "unit_id": unit})["type"] == "ok"
    return cid, desk


def holder(timed: Server, cid: str) -> str | None:
    """The unit the log last gave ``cid`` to, unless it was taken back since."""
    unit: str | None = None
    for env in timed.events():
        ev: Any = env.event
        if getattr(ev, "callout_id", None) != cid:
            continue
        if type(ev).__name__ == "UnitAssigned":
            unit = ev.unit_id
        elif type(ev).__name__ == "AssignmentCancelled":
            unit = None
    return unit


def test_a_reassignment_is_asked_first_and_back_changes_nothing(
    board: Page, timed: Server, police: Sock  # noqa: F811
) -> None:
    cid, desk = on_callout(timed, police, "Boden", "MAE-SUNDERBY")
    desk.close()
    board.locator(f"#active [data-callout='{cid}']").click()
    expect(board.locator("#rec-status")).to_contain_text(
        "Nu: MAE Södra Sunderbyn, ca ")  # its own line: how far it still is
    other = board.locator("#recs li[data-unit='MAE-PITEA']")
    expect(other.get_by_role("button", name="Omfördela")).to_be_enabled()
    other.get_by_role("button", name="Omfördela").click()
    dialog = board.locator("#reassign-confirm")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Omfördela {cid}?")
    text = board.locator("#reassign-confirm-text")
    expect(text).to_contain_text("MAE Södra Sunderbyn har uppdraget (tilldelad, ankomst om")
    expect(text).to_contain_text("MAE Piteå kommer om")
    dialog.get_by_role("button", name="Tillbaka").click()
    expect(dialog).to_be_hidden()
    assert holder(timed, cid) == "MAE-SUNDERBY"

    board.keyboard.press("Escape")  # Enter on the picked unit asks too
    board.locator(f"#active [data-callout='{cid}']").click()
    expect(board.locator("#recs li.picked")).to_have_attribute("data-unit", "MAE-PITEA")
    board.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    board.locator("#reassign-yes").click()
    expect(board.locator(f"#active [data-callout='{cid}']")).to_contain_text("MAE Piteå")
    assert holder(timed, cid) == "MAE-PITEA"
    expect(board.locator("#timeline li[data-type=AssignmentCancelled] .what")).to_have_text(
        "Tilldelningen av MAE Södra Sunderbyn upphävdes (omfördelat)")  # in Swedish words


def test_a_callout_on_scene_stays_with_its_unit_and_a_cancelled_one_has_no_split(
    board: Page, timed: Server, police: Sock  # noqa: F811
) -> None:
    cid, desk = on_callout(timed, police, "Boden", "MAE-SUNDERBY")
    crew = timed.socket("/ws/crew", "crew_sun")
    crew.ready()
    for status in ("en_route", "on_scene"):
        assert crew.request({"type": "status", "status": status})["type"] == "ok"
    crew.close()
    board.locator(f"#active [data-callout='{cid}']").click()
    expect(board.locator("#rec-status")).to_have_text(
        "Uppdraget är på plats: det stannar hos sin enhet och kan inte omfördelas.")
    expect(board.locator("#recs li[data-unit='MAE-PITEA'] button")).to_be_disabled()

    # two alarms in one callout, cancelled: its alarms are listed without "split"
    joint = police.request(alarm("R-1", 2, "Piteå"))["callout_id"]
    police.request({**alarm("R-2", 2, "Piteå"), "link_to": joint})
    board.locator(f"#queue [data-callout='{joint}']").click()
    expect(board.locator("#detail-alarms button[data-split]")).to_have_count(2)
    expect(board.locator("#timeline li[data-type=AlarmReceived] .what").nth(1)).to_contain_text(
        "samlat (kopplat av larmande aktör)")
    assert desk.request({"type": "cancel", "callout_id": joint, "code": "duplicate"})["type"] \
        == "ok"
    desk.close()
    expect(board.locator("#detail-facts")).to_contain_text("Avbruten")
    expect(board.locator("#detail-alarms li")).to_have_count(2)
    expect(board.locator("#detail-alarms button[data-split]")).to_have_count(0)


def test_an_arrival_time_that_has_passed_is_flagged_and_an_ended_callout_stops_its_clock(
    board: Page, timed: Server, police: Sock, clock: ManualClock  # noqa: F811
) -> None:
    """The arrival promised at assignment stays as it was, but once it has passed with the
    unit still on its way the detail says so; a cancelled callout shows how long it was open,
    not a clock that keeps counting."""
    cid, desk = on_callout(timed, police, "Boden", "MAE-SUNDERBY")
    crew = timed.socket("/ws/crew", "crew_sun")
    crew.ready()
    assert crew.request({"type": "status", "status": "en_route"})["type"] == "ok"
    crew.close()
    board.locator(f"#active [data-callout='{cid}']").click()
    late = board.locator("#detail-facts .late")
    expect(late).to_be_hidden()
    clock.advance(3 * 3600)
    police.request(alarm("R-late", 3, "Piteå"))  # the page learns the service's time from it
    expect(late).to_be_visible()
    expect(late).to_have_text("passerad, enheten inte framme")
    assert desk.request({"type": "cancel", "callout_id": cid, "code": "duplicate"})["type"] \
        == "ok"
    desk.close()
    expect(board.locator("#detail-facts")).to_contain_text("Avbruten")
    expect(late).to_have_count(0)
    expect(board.locator("#detail-facts [data-age]")).to_have_count(0)
    expect(board.locator("#detail-facts")).to_contain_text("3:00:")
