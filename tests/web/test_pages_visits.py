"""Follow-up visits through the pages in a real Chromium against a real server: psychiatry books
three visits on the agency page, the day plan reaches the crew's phone and the dispatcher's
timeline, the dispatcher pins one to a unit on the page, the crew starts one, goes offline and
finishes it, an acute alarm takes the unit, the plan changes on both pages (flagged on the
phone until seen), and nothing sent offline is lost; the dispatcher's timeline bars are big
enough to click or tap, the board has room for a day's bars beside the map at 1024x768 and
1280x800, its scale reads hours and minutes at round times (on the clock's multiples of its
step on the nights the clocks change too), and its lists of visits at risk, postponed or not
fitting open a visit from the keyboard; the board folds to its heading (which still counts the
visits at risk) and gives the map its height back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.web.conftest import ManualClock, Server, free_port, make_tokens, screenshot, serve_app
from web.app import create_app
from web.settings import Settings

MORNING = datetime(2026, 1, 15, 7, 0, tzinfo=UTC)  # 08:00 in Stockholm
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
SMALL_DESKTOP = {"viewport": {"width": 1024, "height": 768}}
WAIT_MS = 30_000
BOOKINGS = (("P-101", "Luleå", "09:00", "12:00"), ("P-102", "Boden", "10:00", "14:00"),
            ("P-103", "Luleå", "13:00", "16:00"))


def visits_server(tmp_path: Path, start: datetime) -> Server:
    """The demo service whose clock stands still at ``start`` (its units on a 12 h shift from
    then), planning visits quickly."""
    db = tmp_path / "pages_visits.sqlite3"
    port = free_port()
    app = create_app(Settings(database=db, port=port, demo_units=True, tick_interval_s=0.2,
                              ack_timeout_s=3600, plan_time_limit_s=0.3,
                              replan_time_limit_s=0.2), clock=ManualClock(start))
    return serve_app(app, port, db, make_tokens(db))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = visits_server(tmp_path, MORNING)
    yield srv
    srv.stop()


def book_on_agency_page(browser: Any, server: Server) -> list[str]:
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    page.goto(f"{server.base}/agency#token={server.tokens['psychiatry']}")
    page.wait_for_selector("#visit-form", timeout=WAIT_MS)
    ids: list[str] = []
    for ref, place, start, end in BOOKINGS:
        page.fill("#visit-ref", ref)
        page.fill("#visit-place", place)
        page.fill("#visit-from", f"2026-01-15T{start}")
        page.fill("#visit-to", f"2026-01-15T{end}")
        page.click("#visit-book")
        page.wait_for_function(
            "n => document.querySelectorAll('#visit-list li[data-visit]').length >= n",
            arg=len(ids) + 1, timeout=WAIT_MS)
        ids = page.eval_on_selector_all("#visit-list li[data-visit]",
                                        "els => els.map(e => e.dataset.visit)")
    screenshot(page, "agency-visits-desktop")
    context.close()
    return list(ids)


def settle_on_latest_plan(crew: Any, server: Server) -> None:
    """Wait until the crew page shows the server's latest plan revision and the server made no
    newer one for a second (re-planning runs in the background)."""
    for _ in range(10):
        with server.http("dispatcher") as c:
            revision = c.get("/api/visits/plan").json()["revision"]
        crew.wait_for_selector(f"#visits-panel[data-revision='{revision}']", state="attached",
                               timeout=WAIT_MS)
        crew.wait_for_timeout(1000)
        with server.http("dispatcher") as c:
            if c.get("/api/visits/plan").json()["revision"] == revision:
                return
    raise AssertionError("the day kept being re-planned")


def test_booked_visits_reach_the_crew_and_a_re_plan_reaches_both_pages(
        browser: Any, server: Server) -> None:
    ids = book_on_agency_page(browser, server)
    assert len(ids) == 3
    desk = browser.new_context(**DESKTOP)
    dispatch = desk.new_page()
    dispatch.goto(f"{server.base}/dispatch#token={server.tokens['dispatcher']}")
    # two of them on Sunderby whatever the planner likes: one pinned on the page, one by REST
    dispatch.click(f"#visits-board .seg.visit[data-visit='{ids[0]}']", timeout=WAIT_MS)
    dispatch.select_option("#visits-board .visit-pin-unit", "MAE-SUNDERBY")
    # a plan update redraws the board before the dispatcher presses pin: the choice stays
    dispatch.evaluate("() => window.maeDispatch.visits.render()")
    assert dispatch.input_value("#visits-board .visit-pin-unit") == "MAE-SUNDERBY"
    dispatch.click("#visits-board .visit-pin-button")
    dispatch.wait_for_selector(f"#visits-board .visit-pin-status:has-text('{ids[0]}')",
                               timeout=WAIT_MS)
    with server.http("dispatcher") as c:
        assert c.get(f"/api/visits/{ids[0]}").json()["pinned_unit"] == "MAE-SUNDERBY"
        assert c.post(f"/api/visits/{ids[1]}/pin",
                      json={"unit_id": "MAE-SUNDERBY"}).status_code == 200
    for visit_id in ids[:2]:
        dispatch.wait_for_selector(f"#visits-board .visit-row[data-unit='MAE-SUNDERBY'] "
                                   f".seg.visit[data-visit='{visit_id}']", timeout=WAIT_MS)

    phone = browser.new_context(**PHONE)
    crew = phone.new_page()
    crew.goto(f"{server.base}/crew#token={server.tokens['crew_sun']}")
    crew.wait_for_function("() => window.maeCrew && window.maeCrew.ready", timeout=WAIT_MS)
    crew.wait_for_function(
        "() => document.querySelectorAll('#visits-panel li.visit-item').length >= 2",
        timeout=WAIT_MS)
    screenshot(crew, "crew-visits-phone")
    first = crew.get_attribute("#visits-panel li.visit-item", "data-visit")
    crew.click(f"#visits-panel li[data-visit='{first}'] button.visit-route")
    crew.wait_for_selector(f"#visits-panel li[data-visit='{first}'] .visit-steps li",
                           timeout=WAIT_MS)
    assert first in ids[:2]
    crew.click(f"#visits-panel li[data-visit='{first}'] button.visit-start")
    crew.wait_for_selector("#outbox[data-count='0']", state="attached", timeout=WAIT_MS)
    with server.http("dispatcher") as c:
        assert c.get(f"/api/visits/{first}").json()["status"] == "started"

    # offline: the crew finishes the visit; meanwhile an acute alarm takes its unit
    phone.set_offline(True)
    crew.click(f"#visits-panel li[data-visit='{first}'] button.visit-done")
    crew.wait_for_selector("#outbox[data-count='1']", state="attached", timeout=WAIT_MS)
    before = dispatch.text_content("#visits-board .visits-plan")
    with server.http("police") as c:
        alarm = c.post("/api/alarms", json={"reference": "P-9", "location": {"place": "Luleå"},
                                            "priority": 1, "category": "psychosis"}).json()
    dispatcher = server.socket("/ws/dispatch", "dispatcher")
    dispatcher.ready()
    assert dispatcher.request({"type": "assign", "callout_id": alarm["callout_id"],
                               "unit_id": "MAE-SUNDERBY"})["type"] == "ok"
    dispatcher.close()
    dispatch.wait_for_function(
        "before => { const p = document.querySelector('#visits-board .visits-plan');"
        " return p && p.textContent !== before"
        " && p.textContent.includes('enhet tagen till akut uppdrag'); }",  # the cause, in words
        arg=before, timeout=WAIT_MS)
    taken = "#visits-board .visit-row[data-unit='MAE-SUNDERBY'] .seg.acute"
    dispatch.wait_for_selector(f"{taken}:has-text('{alarm['callout_id']}')",  # on its day
                               timeout=WAIT_MS)
    screenshot(dispatch, "dispatcher-visits-desktop")

    phone.set_offline(False)  # back: the outbox sends the visit done, and the change shows
    crew.wait_for_selector("#outbox[data-count='0']", state="attached", timeout=WAIT_MS)
    crew.wait_for_selector("#visits-panel .visits-changed", timeout=WAIT_MS)
    screenshot(crew, "crew-visits-replanned-phone")
    # the visit done may bring one more re-plan: once the phone shows the server's latest
    # plan and no newer one follows, "seen" clears the notice for good
    settle_on_latest_plan(crew, server)
    crew.click("#visits-panel .visits-seen")
    crew.wait_for_selector("#visits-panel .visits-changed", state="detached", timeout=WAIT_MS)

    with server.http("dispatcher") as c:
        visits = {v["visit_id"]: v for v in c.get("/api/visits",
                                                  params={"open_only": False}).json()}
        plan = c.get("/api/visits/plan").json()
    assert visits[first]["status"] == "done"  # sent offline, arrived once
    assert sorted(visits) == sorted(ids)
    placed = [s["visit_id"] for r in plan["routes"] for s in r["stops"]]
    everywhere = placed + plan["postponed"] + plan["unplaced"]
    assert len(everywhere) == len(set(everywhere))
    assert set(everywhere) >= {v for v in ids if visits[v]["status"] == "booked"}
    done_events = [e for e in server.events() if e.event.__class__.__name__ == "VisitDone"]
    assert len(done_events) == 1
    desk.close()
    phone.close()


def test_the_agency_page_shows_its_visits_change_as_they_happen(
        browser: Any, server: Server) -> None:
    """No polling: the agency socket's notice that a booked visit changed makes the page re-read
    its list (the wait is well under the 20 s the page used to poll at)."""
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    page.goto(f"{server.base}/agency#token={server.tokens['psychiatry']}")
    page.wait_for_selector("#visit-form", timeout=WAIT_MS)
    page.wait_for_selector("#conn[data-state='open']", timeout=WAIT_MS)
    with server.http("psychiatry") as c:
        booked = c.post("/api/visits", json={
            "patient_ref": "P-201", "location": {"place": "Luleå"},
            "earliest_start": "2026-01-15T10:00:00+01:00",
            "latest_start": "2026-01-15T12:00:00+01:00", "duration_min": 45})
    assert booked.status_code < 300, booked.text
    visit_id = booked.json()["visit_id"]
    page.wait_for_selector(f"#visit-list li[data-visit='{visit_id}']", timeout=8_000)
    with server.http("dispatcher") as c:
        assert c.post(f"/api/visits/{visit_id}/cancel", json={"reason": "x"}).status_code < 300
    page.wait_for_selector(f"#visit-list li[data-visit='{visit_id}'][data-status='cancelled']",
                           timeout=8_000)
    context.close()


#: The dispatcher's visits board, row by row: the unit's name, its bar and the bar's visits
#: (rectangles), and whether the board is wider than its column.
BOARD = """() => ({
  rows: [...document.querySelectorAll('#visits-board .visit-row')].map((row) => ({
    unit: row.querySelector('.visit-unit').getBoundingClientRect().toJSON(),
    bar: row.querySelector('.visit-bar').getBoundingClientRect().toJSON(),
    visits: [...row.querySelectorAll('.seg.visit')].map((s) => s.getBoundingClientRect().toJSON()),
  })),
  overflows: document.getElementById('visits-board').scrollWidth
    > document.getElementById('visits-board').clientWidth,
})"""


@pytest.mark.parametrize(("device", "least"), [(SMALL_DESKTOP, 32), (PHONE, 44)],
                         ids=["1024x768", "phone"])
def test_the_visit_bars_are_32_px_high_and_44_px_on_a_phone(
        browser: Any, server: Server, device: dict[str, Any], least: int) -> None:
    """Each visit on the dispatcher's timeline can be hit anywhere in a bar at least 32 px high
    at 1024x768 (44 px on a phone, as the dispatcher's lists): a click or tap just inside its
    top or bottom edge opens the visit's pin form, and so does Enter on it. The board keeps its
    form: each unit's name beside its bar, rows apart, visits inside their bar and in order."""
    with server.http("psychiatry") as c:
        for ref, place, start, end in BOOKINGS:
            booked = c.post("/api/visits", json={
                "patient_ref": ref, "location": {"place": place}, "duration_min": 45,
                "earliest_start": f"2026-01-15T{start}:00+01:00",
                "latest_start": f"2026-01-15T{end}:00+01:00"})
            assert booked.status_code < 300, booked.text
    context = browser.new_context(**device, locale="sv-SE")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.base}/dispatch#token={server.tokens['dispatcher']}")
    settled(page, "() => document.querySelectorAll('#visits-board .seg.visit').length === 3")
    visits = page.locator("#visits-board .seg.visit")
    visits.first.scroll_into_view_if_needed()
    for i in range(3):
        box = visits.nth(i).bounding_box()
        assert box is not None and box["height"] >= least, (i, box)
    board = page.evaluate(BOARD)
    assert not board["overflows"]
    rows = board["rows"]
    assert len(rows) >= 2, rows
    for row in rows:
        unit, bar = row["unit"], row["bar"]
        assert bar["height"] >= least, bar
        assert unit["right"] <= bar["left"], row  # side by side, the name first
        assert abs((unit["top"] + unit["bottom"]) / 2 - (bar["top"] + bar["bottom"]) / 2) < 2
        for a, b in pairwise(row["visits"]):
            assert a["right"] <= b["left"] + 0.5, row  # in order, not over one another
        for v in row["visits"]:
            assert v["top"] == bar["top"] and v["bottom"] == bar["bottom"], (v, bar)
            assert bar["left"] - 0.5 <= v["left"] and v["right"] <= bar["right"] + 0.5, (v, bar)
    for above, below in pairwise(rows):
        assert above["bar"]["bottom"] <= below["bar"]["top"], (above, below)
    screenshot(page, f"dispatcher-visit-bars-{device['viewport']['width']}")

    # a click (a tap on the phone) just inside the top, then the bottom edge, hits the visit
    for i, edge in ((0, "top"), (1, "bottom")):
        seg = visits.nth(i)
        visit_id = seg.get_attribute("data-visit")
        seg.scroll_into_view_if_needed()
        box = seg.bounding_box()
        x = box["x"] + box["width"] / 2
        y = box["y"] + 2 if edge == "top" else box["y"] + box["height"] - 2
        if device is PHONE:
            page.touchscreen.tap(x, y)
        else:
            page.mouse.click(x, y)
        expect(page.locator(f"#visits-board .visit-pin[data-visit='{visit_id}']")).to_be_visible()
    # and from the keyboard: a button, still focused once the board is redrawn
    third = visits.nth(2)
    visit_id = third.get_attribute("data-visit")
    third.focus()
    page.keyboard.press("Enter")
    expect(page.locator(f"#visits-board .visit-pin[data-visit='{visit_id}']")).to_be_visible()
    assert page.evaluate("() => document.activeElement.dataset.visit") == visit_id
    # a focused visit gone from the board leaves the focus on a bar now in its place, not on
    # the page, where Enter would assign the selected callout
    with server.http("dispatcher") as c:
        assert c.post(f"/api/visits/{visit_id}/cancel", json={"reason": ""}).status_code < 300
    page.wait_for_function(
        "() => document.querySelectorAll('#visits-board .seg.visit').length === 2")
    assert page.evaluate("() => document.activeElement.matches('#visits-board .seg.visit')")
    assert errors == []
    context.close()


def book_by_rest(server: Server, bookings: tuple[tuple[str, str, str, str], ...],
                 **extra: Any) -> list[str]:
    """Book visits on 15 January as psychiatry does, through REST; their ids."""
    ids = []
    with server.http("psychiatry") as c:
        for ref, place, start, end in bookings:
            booked = c.post("/api/visits", json={
                "patient_ref": ref, "location": {"place": place}, "duration_min": 45,
                "earliest_start": f"2026-01-15T{start}:00+01:00",
                "latest_start": f"2026-01-15T{end}:00+01:00", **extra})
            assert booked.status_code < 300, booked.text
            ids.append(booked.json()["visit_id"])
    return ids


def settled(page: Any, ready: str) -> None:
    """Wait for ``ready`` on the dispatcher's page, and for the visits board to have been
    drawn again once the page knew the service's time (its scale then takes in now), so
    nothing is redrawn under the test's hands."""
    page.wait_for_function(ready)
    page.wait_for_function("async () => (await import('/static/dispatcher/format.js'))"
                           ".serverClock.offsetMs !== null")
    page.wait_for_timeout(600)
    page.wait_for_function(ready)


def open_board(browser: Any, server: Server, device: dict[str, Any], language: str,
               ready: str) -> tuple[Any, Any, list[str]]:
    """The dispatcher's page in ``language`` (switched on the page for English), once ``ready``
    (a script expression) holds, on a device set to UTC (the page shows Stockholm time all the
    same); the context, the page and the page's script errors."""
    context = browser.new_context(**device, locale="sv-SE", timezone_id="UTC")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.base}/dispatch#token={server.tokens['dispatcher']}")
    settled(page, ready)
    if language == "en":
        page.click("#lang-toggle")
        page.wait_for_function("() => document.documentElement.lang === 'en'")
        page.wait_for_function(ready)
    return context, page, errors


#: The timeline's scale and where its times fall: each tick's label, the x of its point and its
#: label's box; each visit's bar left edge with the start the plan gives it (the bars' own
#: mapping of time to x, to check the ticks against).
SCALE = """() => {
  const board = document.getElementById('visits-board');
  const plan = window.maeDispatch.visits.plan;
  const starts = new Map(plan.routes.flatMap((r) => r.stops.map((s) => [s.visit_id, s.start])));
  return {
    text: board.querySelector('.visit-scale').innerText,
    ticks: [...board.querySelectorAll('.visit-scale .visit-tick')].map((tick) => ({
      label: tick.textContent.trim(),
      x: tick.getBoundingClientRect().left,
      box: (tick.firstElementChild || tick).getBoundingClientRect().toJSON(),
    })),
    bars: [...board.querySelectorAll('.seg.visit')].map((b) => ({
      x: b.getBoundingClientRect().left, at: Date.parse(starts.get(b.dataset.visit)),
    })),
    board: board.getBoundingClientRect().toJSON(),
    overflows: board.scrollWidth > board.clientWidth,
  };
}"""


def check_scale(page: Any) -> list[str]:
    """The scale reads HH:MM at whole or half hours, each tick where the bars put its time,
    the labels apart and inside the board; the labels."""
    scale = page.evaluate(SCALE)
    assert not re.search(r"\d:\d\d:\d\d", scale["text"]), scale["text"]  # no seconds
    ticks = scale["ticks"]
    assert len(ticks) >= 2, scale
    bars = sorted(scale["bars"], key=lambda b: b["at"])
    first, last = bars[0], bars[-1]
    assert last["at"] > first["at"], bars
    px_per_ms = (last["x"] - first["x"]) / (last["at"] - first["at"])
    times = []
    for tick in ticks:
        assert re.fullmatch(r"\d\d:[03]0", tick["label"]), tick  # a whole or half hour
        hour, minute = map(int, tick["label"].split(":"))
        at = datetime(2026, 1, 15, hour - 1, minute, tzinfo=UTC).timestamp() * 1000  # CET
        times.append(at)
        assert abs(first["x"] + (at - first["at"]) * px_per_ms - tick["x"]) < 1.5, (tick, bars)
    steps = {b - a for a, b in pairwise(times)}
    assert len(steps) == 1 and min(steps) in {s * 60_000 for s in (30, 60, 120, 180, 240, 360, 720)}
    for a, b in pairwise(ticks):
        assert a["box"]["right"] <= b["box"]["left"], (a, b)  # apart, in order
    board = scale["board"]
    for tick in ticks:
        assert board["left"] <= tick["box"]["left"] and tick["box"]["right"] <= board["right"]
    assert not scale["overflows"]
    return [t["label"] for t in ticks]


@pytest.mark.parametrize(("device", "language"), [(SMALL_DESKTOP, "sv"), (PHONE, "en")],
                         ids=["1024x768-sv", "phone-en"])
def test_the_timeline_scale_reads_hours_and_minutes_at_round_times(
        browser: Any, server: Server, device: dict[str, Any], language: str) -> None:
    """The scale over the dispatcher's timeline shows HH:MM in Stockholm time (it showed
    "08:00:00" and "14:36:44", the plan's first and last instants), at whole or half hours
    evenly spaced, each where the bars put that time, and as many as fit apart: after the
    window grows the scale holds more of them, still where the bars put them."""
    book_by_rest(server, BOOKINGS)
    context, page, errors = open_board(
        browser, server, device, language,
        "() => document.querySelectorAll('#visits-board .seg.visit').length === 3")
    page.locator("#visits-board .visit-scale").scroll_into_view_if_needed()
    labels = check_scale(page)
    screenshot(page, f"dispatcher-visit-scale-{device['viewport']['width']}-{language}")
    if device is SMALL_DESKTOP:  # a wider window: more ticks, still where the bars put them
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.wait_for_function(
            "n => document.querySelectorAll('#visits-board .visit-tick').length > n",
            arg=len(labels))
        check_scale(page)
    assert errors == []
    context.close()


#: A typical day: visits of 30 to 60 minutes from 08:30 to 15:00 (patient, place, window,
#: minutes).
DAY = (("P-401", "Luleå", "08:30", "09:00", 30), ("P-402", "Boden", "10:00", "11:00", 45),
       ("P-403", "Luleå", "12:00", "13:00", 60), ("P-404", "Luleå", "14:30", "15:00", 45))

#: The visits board as laid out: each visit's bar (its box, whether its name fits in it and
#: whether its tooltip or accessible name gives it), the scale's labels' type size, the map
#: and the window.
ROOM = """() => {
  const box = (e) => e.getBoundingClientRect().toJSON();
  return {
    bars: [...document.querySelectorAll('#visits-board .seg.visit')].map((b) => ({
      visit: b.dataset.visit, box: box(b), fits: b.scrollWidth <= b.clientWidth,
      named: [b.title, b.getAttribute('aria-label')]
        .some((t) => (t || '').includes(b.dataset.visit)),
    })),
    // the scale and each unit's row, and whether each shows at its middle (not scrolled away
    // or clipped)
    parts: [document.querySelector('#visits-board .visit-scale'),
            ...document.querySelectorAll('#visits-board .visit-row')].map((e) => {
      const r = box(e);
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return { box: r, shown: Boolean(hit && e.contains(hit)) };
    }),
    font: Math.min(...[...document.querySelectorAll('#visits-board .visit-tick-label')]
      .map((l) => parseFloat(getComputedStyle(l).fontSize))),
    map: box(document.getElementById('map')),
    width: innerWidth, height: innerHeight, scrollY,
  };
}"""


#: Whether Leaflet's map is as large as its box and shows the whole loaded map.
WHOLE_MAP = """() => { const view = window.maeDispatch.map, box = document.getElementById('map');
  const size = view.map.getSize();
  return Boolean(view.bounds) && size.x === box.clientWidth && size.y === box.clientHeight
    && view.map.getBounds().contains(view.bounds); }"""


@pytest.mark.parametrize("device", [SMALL_DESKTOP, {"viewport": {"width": 1280, "height": 800}}],
                         ids=["1024x768", "1280x800"])
def test_the_visits_board_has_room_for_a_days_bars_beside_the_map(
        browser: Any, server: Server, device: dict[str, Any]) -> None:
    """At 1024x768 the board sat in the narrow left column: a 112 px track, two ticks on the
    scale and a 45-minute visit 13 px wide. Now, at 1024x768 and 1280x800, a day of visits of 30
    to 60 minutes from 08:00 to 16:00 reads on a scale of at least four ticks, every visit's
    bar is at least 24 px wide (its name in it, or in its tooltip), the board is in view without
    scrolling, and the map keeps at least 300 by 300 px and the whole county in view as the
    board under it changes height (a visit's pin form opened, in view)."""
    with server.http("psychiatry") as c:
        for ref, place, start, end, minutes in DAY:
            booked = c.post("/api/visits", json={
                "patient_ref": ref, "location": {"place": place}, "duration_min": minutes,
                "earliest_start": f"2026-01-15T{start}:00+01:00",
                "latest_start": f"2026-01-15T{end}:00+01:00"})
            assert booked.status_code < 300, booked.text
    context, page, errors = open_board(
        browser, server, device, "sv",
        "() => { const plan = window.maeDispatch.visits.plan; if (!plan) return false;"
        " const stops = plan.routes.flatMap((r) => r.stops).length;"
        " return stops >= 3 && document.querySelectorAll('#visits-board .seg.visit').length"
        " === stops; }")
    seen = page.evaluate(ROOM)
    screenshot(page, f"dispatcher-visits-room-{device['viewport']['width']}")
    labels = check_scale(page)  # HH:MM at round times, where the bars put them, apart
    assert len(labels) >= 4, labels
    assert seen["font"] >= 12, seen["font"]
    assert len(seen["bars"]) >= 3, seen["bars"]
    narrow = [(b["visit"], round(b["box"]["width"])) for b in seen["bars"]
              if b["box"]["width"] < 24]
    assert narrow == [], f"visit bars narrower than 24 px: {narrow}"
    assert all(b["fits"] or b["named"] for b in seen["bars"]), seen["bars"]
    assert seen["scrollY"] == 0
    for part in seen["parts"]:  # in view as the page opens
        assert part["shown"], part
        box = part["box"]
        assert box["top"] >= 0 and box["bottom"] <= seen["height"], (box, seen["height"])
        assert box["left"] >= 0 and box["right"] <= seen["width"], (box, seen["width"])
    assert seen["map"]["width"] >= 300 and seen["map"]["height"] >= 300, seen["map"]
    # the map follows its box (the board under it grows and shrinks) and shows the whole
    # loaded map; a visit's pin form opens in view, under the bars
    page.wait_for_function(WHOLE_MAP)
    page.locator("#visits-board .seg.visit").first.click()
    expect(page.locator("#visits-board .visit-pin")).to_be_in_viewport(ratio=0.9)
    page.wait_for_function(WHOLE_MAP)
    assert errors == []
    context.close()


STOCKHOLM = ZoneInfo("Europe/Stockholm")

#: The nights the clocks change in 2026 (the last Sundays of March and October): the service's
#: clock stands at local midnight; the instant of the switch.
DST_NIGHTS = {
    "march": (datetime(2026, 3, 28, 23, 0, tzinfo=UTC), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
    "october": (datetime(2026, 10, 24, 22, 0, tzinfo=UTC),
                datetime(2026, 10, 25, 1, 0, tzinfo=UTC)),
}

#: The scale's ticks (label, x of its point, label's box) and each visit's bar (its left edge
#: and the start the plan gives it: the bars' own mapping of time to x).
TICKS = """() => {
  const plan = window.maeDispatch.visits.plan;
  const starts = new Map(plan.routes.flatMap((r) => r.stops.map((s) => [s.visit_id, s.start])));
  return {
    ticks: [...document.querySelectorAll('#visits-board .visit-tick')].map((tick) => ({
      label: tick.textContent.trim(), x: tick.getBoundingClientRect().left,
      box: (tick.firstElementChild || tick).getBoundingClientRect().toJSON(),
    })),
    bars: [...document.querySelectorAll('#visits-board .seg.visit')].map((b) => ({
      x: b.getBoundingClientRect().left, at: Date.parse(starts.get(b.dataset.visit)),
    })),
  };
}"""


def reading(at: datetime) -> int:
    """The minute of the day Stockholm's clock shows at ``at``."""
    local = at.astimezone(STOCKHOLM)
    return local.hour * 60 + local.minute


@pytest.mark.parametrize("device", [PHONE, {"viewport": {"width": 640, "height": 900}}],
                         ids=["phone", "640px"])
@pytest.mark.parametrize("night", ["march", "october"])
def test_the_scale_ticks_fall_on_local_multiples_of_the_step_on_a_dst_night(
        browser: Any, tmp_path: Path, night: str, device: dict[str, Any]) -> None:
    """On the nights the clocks change, a scale of 2 h or more between its ticks showed round
    times after the switch that were not multiples of its step (00:00, 02:00, 03:00, 05:00 in
    October: the steps were counted from the offset before the switch). Each tick now reads a
    multiple of the step in Stockholm time on both sides of the switch (the spring's skipped
    hour and the autumn's repeated one leave a longer gap), none is missing, each stands where
    the bars put its time and says that time."""
    start, switch = DST_NIGHTS[night]
    srv = visits_server(tmp_path, start)
    try:
        day = start.astimezone(STOCKHOLM).date()
        with srv.http("psychiatry") as c:
            # in Gällivare, whose unit works from midnight (the others from the morning), all
            # to be done that night and morning
            for ref, (begin, end) in (("P-501", ((0, 30), (1, 30))), ("P-502", ((4, 0), (5, 0))),
                                      ("P-503", ((10, 0), (11, 0)))):
                window = [datetime(day.year, day.month, day.day, *hm, tzinfo=STOCKHOLM)
                          for hm in (begin, end)]
                booked = c.post("/api/visits", json={
                    "patient_ref": ref, "location": {"place": "Gällivare"}, "duration_min": 45,
                    "postponable": False, "earliest_start": window[0].isoformat(),
                    "latest_start": window[1].isoformat()})
                assert booked.status_code < 300, booked.text
        context, page, errors = open_board(
            browser, srv, device, "sv",
            "() => document.querySelectorAll('#visits-board .seg.visit').length === 3")
        page.locator("#visits-board .visit-scale").scroll_into_view_if_needed()
        seen = page.evaluate(TICKS)
        screenshot(page, f"dispatcher-visit-scale-{night}-{device['viewport']['width']}")
        assert errors == []
        context.close()
    finally:
        srv.stop()
    bars = sorted(seen["bars"], key=lambda b: b["at"])
    first, last = bars[0], bars[-1]
    px_per_ms = (last["x"] - first["x"]) / (last["at"] - first["at"])
    half_hour = 30 * 60_000
    ticks = []  # (instant, label)
    for tick in seen["ticks"]:
        ms = first["at"] + (tick["x"] - first["x"]) / px_per_ms
        ms = round(ms / half_hour) * half_hour
        assert abs(first["x"] + (ms - first["at"]) * px_per_ms - tick["x"]) < 1.5, (tick, bars)
        at = datetime.fromtimestamp(ms / 1000, UTC)
        assert tick["label"] == at.astimezone(STOCKHOLM).strftime("%H:%M"), (tick, at)
        ticks.append((at, tick["label"]))
    labels = [label for _, label in ticks]
    assert len(set(labels)) == len(labels), labels
    assert any(at < switch for at, _ in ticks), labels
    assert sum(at >= switch for at, _ in ticks) >= 2, labels
    # the step: the time between two ticks on the same side of the switch
    step = min((b - a) for (a, _), (b, _) in pairwise(ticks) if b < switch or a >= switch)
    minutes = int(step.total_seconds() // 60)
    assert minutes >= 120, f"the scale's step is {minutes} min: this test needs 2 h or more"
    off = [label for at, label in ticks if reading(at) % minutes]
    assert off == [], f"ticks off the {minutes}-minute step: {off} (all: {labels})"
    half = timedelta(minutes=30)
    for (a, _), (b, _) in pairwise(ticks):  # none left out between two ticks
        between = [a + k * half for k in range(1, (b - a) // half)]
        missing = [at.astimezone(STOCKHOLM).strftime("%H:%M") for at in between
                   if reading(at) % minutes == 0
                   and at.astimezone(STOCKHOLM).strftime("%H:%M") not in labels]
        assert missing == [], (missing, labels)
    for a, b in pairwise(seen["ticks"]):
        assert a["box"]["right"] <= b["box"]["left"], (a, b)  # apart, in order


#: Visits that cannot be planned today: six staff go on no unit; one may wait for another day.
UNPLANNABLE = (("P-301", "Kalix", "09:00", "12:00"),)
POSTPONABLE = (("P-302", "Kalix", "09:00", "12:00"),)


@pytest.mark.parametrize(("device", "least", "language"),
                         [(SMALL_DESKTOP, 32, "sv"), (PHONE, 44, "en")],
                         ids=["1024x768-sv", "phone-en"])
def test_the_visit_lists_open_a_visit_from_the_keyboard_and_are_big_enough(
        browser: Any, server: Server, device: dict[str, Any], least: int, language: str) -> None:
    """The visits at risk, postponed and that do not fit are buttons after the timeline's bars:
    Tab reaches each in turn, Enter or Space opens its pin form (as a click does) and the
    focus stays on that entry of that list when the board is redrawn (a visit that does not
    fit is also at risk: the focus stays in the list it was in; a visit gone from the lists
    leaves it on the entry now in its place). Their text is at least 12 px and each is at least
    32 px high (44 px on a phone). The lists' headings and entries are in the page's language."""
    book_by_rest(server, BOOKINGS)
    [unplaced] = book_by_rest(server, UNPLANNABLE, staff=6, postponable=False)
    [postponed] = book_by_rest(server, POSTPONABLE, staff=6)
    context, page, errors = open_board(
        browser, server, device, language,
        "() => document.querySelectorAll('#visits-board .seg.visit').length === 3"
        " && document.querySelector('#visits-board .visits-unplaced [data-visit]')"
        " && document.querySelector('#visits-board .visits-postponed [data-visit]')")
    titles = {"sv": ["Riskerar att missa fönstret", "Flyttade till annan dag", "Får inte plats"],
              "en": ["At risk of missing their window", "Postponed to another day", "Do not fit"]}
    assert page.locator("#visits-board h3").all_inner_texts() == titles[language]
    lists = [("visits-risk", unplaced), ("visits-postponed", postponed),
             ("visits-unplaced", unplaced)]
    window = {"sv": "fönster 09:00", "en": "window 09:00"}[language]
    for cls, visit_id in lists:
        entry = page.locator(f"#visits-board ul.{cls} [data-visit='{visit_id}']")
        assert window in entry.inner_text()
        assert not re.search(r"\d\d:\d\d:\d\d", entry.inner_text())  # HH:MM, no seconds
        entry.scroll_into_view_if_needed()
        box = entry.bounding_box()
        assert box is not None and box["height"] >= least, (cls, box)
        size = entry.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= 12, (cls, size)
    assert not page.evaluate("() => document.getElementById('visits-board').scrollWidth"
                             " > document.getElementById('visits-board').clientWidth")
    screenshot(page, f"dispatcher-visit-lists-{device['viewport']['width']}-{language}")

    focused = """() => { const a = document.activeElement;
      const list = a && a.closest('#visits-board ul');
      const name = list ? ['visits-risk', 'visits-postponed', 'visits-unplaced']
        .find((c) => list.classList.contains(c)) : '';
      return a && [name, a.dataset.visit || ''];
    }"""
    page.locator("#visits-board .seg.visit").nth(2).focus()
    for (cls, visit_id), key in zip(lists, ("Enter", "Space", "Enter"), strict=True):
        page.keyboard.press("Tab")
        assert page.evaluate(focused) == [cls, visit_id]
        page.keyboard.press(key)
        expect(page.locator(f"#visits-board .visit-pin[data-visit='{visit_id}']")).to_be_visible()
        assert page.evaluate(focused) == [cls, visit_id]  # on the same entry, redrawn
    page.evaluate("() => window.maeDispatch.visits.render()")  # a plan update redraws
    assert page.evaluate(focused) == ["visits-unplaced", unplaced]
    # and a click (a tap on the phone) opens one just the same
    entry = page.locator(f"#visits-board ul.visits-postponed [data-visit='{postponed}']")
    if device is PHONE:
        entry.tap()
    else:
        entry.click()
    expect(page.locator(f"#visits-board .visit-pin[data-visit='{postponed}']")).to_be_visible()
    # a visit gone from the lists leaves the focus on the entry now in its place, not lost
    entry.focus()
    with server.http("dispatcher") as c:
        assert c.post(f"/api/visits/{postponed}/cancel", json={"reason": ""}).status_code < 300
    page.wait_for_selector("#visits-board .visits-postponed", state="detached")
    assert page.evaluate(focused) == ["visits-unplaced", unplaced]
    assert errors == []
    context.close()


#: The dispatcher's page as laid out: the map, the visits' section, its toggle and the header
#: (rectangles), Leaflet's idea of the map's size, the window and the page's height.
FOLD = """() => {
  const box = (e) => e.getBoundingClientRect().toJSON();
  const map = document.getElementById('map');
  const size = window.maeDispatch.map.map.getSize();
  return {
    map: box(map), box: { width: map.clientWidth, height: map.clientHeight },
    leaflet: { width: size.x, height: size.y },
    section: box(document.getElementById('visits')),
    toggle: box(document.getElementById('visits-toggle')),
    header: box(document.querySelector('.mae-header')),
    height: innerHeight, page: document.documentElement.scrollHeight,
  };
}"""

#: Whether Leaflet has been told of the map's box (its size is the box's).
MAP_SIZED = """() => { const box = document.getElementById('map'),
  size = window.maeDispatch.map.map.getSize();
  return size.x === box.clientWidth && size.y === box.clientHeight; }"""

TABLET = {"viewport": {"width": 1024, "height": 768}, "has_touch": True}


@pytest.mark.parametrize(("device", "least"), [
    ({"viewport": {"width": 1920, "height": 1080}}, 32),
    ({"viewport": {"width": 1366, "height": 768}}, 32),
    (TABLET, 44),
], ids=["1920x1080", "1366x768", "touch-1024x768"])
def test_the_visits_board_folds_to_its_heading_and_the_map_takes_the_height(
        browser: Any, server: Server, device: dict[str, Any], least: int) -> None:
    """The day's visits took up to 40 % of the window's height under the map (at 1920x1080 the
    map was 746 px high, 1026 px before the board moved there). The board's heading is a
    button (aria-expanded, aria-controls the board; at least 32 px high, 44 px on a touch
    screen) that folds it to its heading line: the map then reaches down to that line (it
    gains all the height the board gave up), Leaflet is told of its new size and still shows
    the whole county, and the page does not scroll. Folded, the heading still says how many
    visits there are today and how many are at risk, in Swedish and English; the choice
    survives a reload; Enter and Space on the toggle fold and unfold the board and do not
    assign the selected callout."""
    book_by_rest(server, BOOKINGS)
    [unplaced] = book_by_rest(server, UNPLANNABLE, staff=6, postponable=False)
    with server.http("police") as c:
        alarm = c.post("/api/alarms", json={"reference": "P-9", "location": {"place": "Boden"},
                                            "priority": 2, "category": "psychosis"})
        assert alarm.status_code < 300, alarm.text
    callout = alarm.json()["callout_id"]
    ready = ("() => document.querySelectorAll('#visits-board .seg.visit').length === 3"
             " && document.querySelector('#visits-board .visits-unplaced [data-visit]')")
    context, page, errors = open_board(browser, server, device, "sv", ready)
    toggle = page.locator("#visits-title button#visits-toggle")
    board = page.locator("#visits-board")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(toggle).to_have_attribute("aria-controls", "visits-board")
    expect(toggle).to_have_text(re.compile(r"^Dagens besök\s*\(4 · 1 riskerar\)$"))
    expect(board).to_be_visible()
    page.wait_for_function(WHOLE_MAP)
    opened = page.evaluate(FOLD)
    assert opened["toggle"]["height"] >= least, opened["toggle"]

    if device is TABLET:
        toggle.tap()
    else:
        toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(board).to_be_hidden()
    expect(toggle).to_have_text(re.compile(r"^Dagens besök\s*\(4 · 1 riskerar\)$"))
    page.wait_for_function(MAP_SIZED)
    page.wait_for_function(WHOLE_MAP)
    folded = page.evaluate(FOLD)
    screenshot(page, f"dispatcher-visits-folded-{device['viewport']['width']}")
    section, toggle_box, header = folded["section"], folded["toggle"], folded["header"]
    assert toggle_box["height"] >= least, toggle_box
    assert section["height"] <= toggle_box["height"] + 16, (section, toggle_box)
    gained = opened["section"]["height"] - section["height"]
    assert folded["map"]["height"] >= opened["map"]["height"] + gained - 2, (opened, folded)
    # the map runs from the header down to the folded heading, the page does not scroll
    assert folded["map"]["height"] >= folded["height"] - header["bottom"] - section["height"] - 2
    assert folded["page"] <= folded["height"], folded
    assert folded["leaflet"] == folded["box"], folded

    page.reload()  # remembered
    page.wait_for_function("() => document.querySelectorAll('#visits-board .seg.visit').length"
                           " === 3")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(board).to_be_hidden()
    expect(toggle).to_have_text(re.compile(r"^Dagens besök\s*\(4 · 1 riskerar\)$"))
    page.wait_for_function(MAP_SIZED)
    assert page.evaluate(FOLD)["map"]["height"] >= folded["map"]["height"] - 1

    # from the keyboard, with a callout selected (Enter elsewhere assigns it): the toggle
    # folds and unfolds, nothing is assigned
    page.locator(f"#queue [data-callout='{callout}']").click()
    expect(page.locator("#recs li button.assign").first).to_be_visible()
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(board).to_be_visible()
    page.wait_for_function(MAP_SIZED)
    assert page.evaluate(FOLD)["map"]["height"] <= opened["map"]["height"] + 1  # back
    page.keyboard.press("Space")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    assert page.evaluate("() => document.activeElement.id") == "visits-toggle"
    # the socket keeps its order: an assignment sent by those keys would be in before this one
    page.locator("#recs li button.assign").first.click()
    expect(page.locator(f"#active [data-callout='{callout}']")).to_be_visible()
    assigned = [e for e in server.events() if type(e.event).__name__ == "UnitAssigned"]
    assert len(assigned) == 1, assigned

    page.click("#lang-toggle")  # in English, folded and open
    expect(toggle).to_have_text(re.compile(r"^Today's visits\s*\(4 · 1 at risk\)$"))
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_have_text(re.compile(r"^Today's visits\s*\(4 · 1 at risk\)$"))
    assert unplaced
    assert errors == []
    context.close()
