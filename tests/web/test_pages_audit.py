"""The usability audit's findings, in real Chromium against a real server: tap targets of at
least 32 px in the dispatcher's lists (44 px on a phone), the selected callout's recommended
units in view at 1024x768 without scrolling, a map legend that folds away (and stays folded),
covers at most 15 % of the map at 1024x768, 800x600 and on a phone, scrolls its body (a tab stop
only while it scrolls) and takes Enter as its own, map labels that do not overlap at county
zoom, an alarm banner icon that needs no emoji font, and a transporting crew told where it is
driving (a facility it can change before arriving)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import Server, Sock, screenshot
from tests.web.test_pages_crew import PHONE, WAIT_MS, open_crew, raise_alarm, stored

#: the service of every test here (conftest's ``server``): no acknowledge deadline runs out
SERVER_OPTIONS = {"ack_timeout_s": 3600}


def open_board(browser: Any, server: Server, **device: Any) -> tuple[Any, Any]:
    """The dispatcher's page, connected, with its three demo units drawn."""
    context = browser.new_context(**({"viewport": {"width": 1440, "height": 900}} | device),
                                  locale="sv-SE")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{server.base}/dispatch#token={server.tokens['dispatcher']}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    expect(page.locator("#units .unit-item")).to_have_count(3)
    return context, page


def busy_board(server: Server, dispatcher: Sock) -> tuple[str, str]:
    """A waiting callout in Boden and one in Luleå assigned to MAE Piteå: (waiting, assigned)."""
    waiting = raise_alarm(server)
    assigned = raise_alarm(server, reference="P-2", location={"place": "Luleå"})
    reply = dispatcher.request({"type": "assign", "callout_id": assigned, "unit_id": "MAE-PITEA"})
    assert reply["type"] == "ok", reply
    return waiting, assigned


#: [what, height] of every visible control one clicks in the unit, queue and ongoing lists.
TARGETS = """() => [...document.querySelectorAll(
    '#units button, #units a, #units [data-callout], #queue button, #queue a,'
    + ' #active button, #active a')]
  .filter((el) => el.getClientRects().length > 0)
  .map((el) => [el.className + ' ' + el.textContent.trim().slice(0, 24),
                el.getBoundingClientRect().height])"""


def test_the_dispatchers_lists_have_32_px_targets_and_44_px_on_a_phone(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    busy_board(server, dispatcher)
    for device, least in (({}, 32), (PHONE, 44)):
        context, page = open_board(browser, server, **device)
        expect(page.locator("#units [data-callout]")).to_have_count(1)  # MAE Piteå's callout
        expect(page.locator("#queue .callout-item")).to_have_count(1)
        expect(page.locator("#active .callout-item")).to_have_count(1)
        targets = page.evaluate(TARGETS)
        assert len(targets) >= 3 + 3 + 1 + 2, targets  # names, messages, the link, the callouts
        small = [(what, h) for what, h in targets if h < least]
        assert small == [], (least, small)
        context.close()


#: The rectangles of the recommendations' heading and items, and the window and page size.
IN_VIEW = """() => ({
  rects: [document.querySelector('#rec-title'), ...document.querySelectorAll('#recs li')]
    .map((el) => el.getBoundingClientRect().toJSON()),
  width: innerWidth, height: innerHeight, scrollY,
})"""


def test_the_recommended_units_are_in_view_at_1024_by_768(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    waiting, _ = busy_board(server, dispatcher)
    context, page = open_board(browser, server, viewport={"width": 1024, "height": 768})
    page.locator(f"#queue [data-callout='{waiting}']").click()
    expect(page.locator("#recs li").first).to_contain_text("min")  # a road ETA
    expect(page.locator("#recs li button.assign").first).to_be_visible()
    seen = page.evaluate(IN_VIEW)
    assert seen["scrollY"] == 0
    assert len(seen["rects"]) >= 3, seen  # the heading and at least two units
    for r in seen["rects"]:
        assert r["height"] > 0 and r["top"] >= 0 and r["bottom"] <= seen["height"], (r, seen)
        assert r["left"] >= 0 and r["right"] <= seen["width"], (r, seen)
    expect(page.locator("#map")).to_be_visible()  # beside the map, not instead of it
    assert page.locator("#map").bounding_box()["width"] >= 300
    screenshot(page, "dispatcher-1024")
    context.close()


def test_the_map_legend_folds_away_and_stays_folded(browser: Any, server: Server) -> None:
    context, page = open_board(browser, server)
    toggle = page.locator("#map-legend button.legend-toggle")
    body = page.locator("#map-legend-body")
    expect(toggle).to_have_text("Teckenförklaring")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(toggle).to_have_attribute("aria-controls", "map-legend-body")
    expect(body).to_be_visible()
    expect(body).to_contain_text("Prio 1 akut")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(body).to_be_hidden()
    assert page.locator("#map-legend").bounding_box()["height"] < 60  # only the button is left
    page.reload()
    expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    expect(toggle).to_have_attribute("aria-expanded", "false")  # remembered
    expect(body).to_be_hidden()
    page.get_by_role("button", name="English").click()  # redrawn in English, still folded
    expect(toggle).to_have_text("Legend")
    expect(body).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(body).to_be_visible()
    expect(body).to_contain_text("Priority 1")
    context.close()


#: The open legend and the map (rectangles), the legend body's type size, the entries cut off
#: at its side, and whether it scrolls (its own scroll, under the toggle).
LEGEND = """() => {
  const body = document.getElementById('map-legend-body');
  const side = body.getBoundingClientRect().right;
  return {
    map: document.getElementById('map').getBoundingClientRect().toJSON(),
    legend: document.getElementById('map-legend').getBoundingClientRect().toJSON(),
    font: parseFloat(getComputedStyle(body).fontSize),
    cut: [...body.children].filter((e) => e.scrollWidth > e.clientWidth + 1
      || e.getBoundingClientRect().right > side + 1).map((e) => e.textContent.trim()),
    wide: body.scrollWidth > body.clientWidth,
    scrolls: body.scrollHeight > body.clientHeight,
  };
}"""


SMALL_MAPS: dict[str, dict[str, Any]] = {
    "1024x768": {"viewport": {"width": 1024, "height": 768}},
    "800x600": {"viewport": {"width": 800, "height": 600}}, "phone": PHONE}


@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.parametrize("size", list(SMALL_MAPS))
def test_the_open_legend_covers_at_most_15_percent_of_a_small_map(
    browser: Any, server: Server, size: str, lang: str
) -> None:
    """On a small map the open legend covers at most 15 % of it (it covered 22 % at 1024x768,
    20 % at 800x600 and 24 % on a phone) and stays readable: 12 px type or larger, no entry
    cut off at the side, inside the map. It folds and unfolds from the keyboard and by a tap
    on its toggle; what does not fit scrolls in its body, under the toggle, which the keyboard
    reaches (Tab from the toggle) and scrolls to the last entry (End)."""
    device = SMALL_MAPS[size]
    context, page = open_board(browser, server, **device)
    if lang == "en":
        page.get_by_role("button", name="English").click()
    toggle = page.locator("#map-legend-toggle")
    body = page.locator("#map-legend-body")
    unfold_if_a_pin_folded_it(page)
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(body).to_be_visible()
    seen = page.evaluate(LEGEND)
    m, lg = seen["map"], seen["legend"]
    share = (lg["width"] * lg["height"]) / (m["width"] * m["height"])
    screenshot(page, f"dispatcher-legend-{size}-{lang}")
    assert share <= 0.15, f"the open legend covers {share:.0%} of the map"
    assert seen["font"] >= 12, seen["font"]
    assert seen["cut"] == [] and not seen["wide"], seen["cut"]
    assert m["left"] <= lg["left"] and lg["right"] <= m["right"], (m, lg)
    assert m["top"] <= lg["top"] and lg["bottom"] <= m["bottom"], (m, lg)
    assert toggle.bounding_box()["height"] >= (44 if device is PHONE else 32)
    expect(body).to_have_attribute("aria-labelledby", "map-legend-toggle")  # named by it
    expect(toggle).to_have_text("Teckenförklaring" if lang == "sv" else "Legend")

    toggle.focus()  # the keyboard folds and unfolds it
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(body).to_be_hidden()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    assert seen["scrolls"] or size != "1024x768"  # not all of it fits there
    if seen["scrolls"]:  # Tab reaches the body, End scrolls it to the last entry
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.id") == "map-legend-body"
        page.keyboard.press("End")
        expect(body.locator(":scope > div").last).to_have_text(
            "Hav och sjöar" if lang == "sv" else "Sea and lakes")
        page.wait_for_function("""() => { const b = document.getElementById('map-legend-body');
            return b.lastElementChild.getBoundingClientRect().bottom
              <= b.getBoundingClientRect().bottom + 1; }""")
        assert toggle.bounding_box()["y"] >= lg["top"] - 0.5  # the toggle has not scrolled away
    if device is PHONE:  # and so does a tap
        toggle.tap()
        expect(toggle).to_have_attribute("aria-expanded", "false")
        expect(body).to_be_hidden()
        toggle.tap()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(body).to_be_visible()
    context.close()


def unfold_if_a_pin_folded_it(page: Any) -> None:
    """Open the legend by hand where it folded itself for a pin under it (a unit's, on a small
    map: tests/web/test_pages_visits_board.py shows the rule); once the page has settled."""
    page.wait_for_function("() => window.maeDispatch.map.units.size > 0")
    page.wait_for_timeout(200)  # (a frame for the legend's check)
    toggle = page.locator("#map-legend-toggle")
    if toggle.get_attribute("aria-expanded") == "false":
        toggle.click()


#: Whether the legend's body overflows (scrolls) and whether it is a tab stop.
LEGEND_STOP = """() => { const body = document.getElementById('map-legend-body');
  return [body.scrollHeight > body.clientHeight + 1, body.tabIndex >= 0]; }"""


def tab_from_the_legend_toggle(page: Any) -> str:
    """The id (or tag) of what Tab from the legend's toggle focuses."""
    page.locator("#map-legend-toggle").focus()
    page.keyboard.press("Tab")
    return str(page.evaluate("() => document.activeElement.id || document.activeElement.tagName"))


def test_the_legend_body_is_a_tab_stop_only_while_it_scrolls(
    browser: Any, server: Server
) -> None:
    """The legend's body takes the keyboard's focus so that it can be scrolled without a mouse;
    where it does not scroll (the whole legend in view on a large map) it was a tab stop all
    the same. It is one only while it scrolls, and stays so as the window changes size: large,
    then 1024x768 (the legend kept small: its body scrolls), then large again."""
    context, page = open_board(browser, server, viewport={"width": 1920, "height": 1080})
    expect(page.locator("#map-legend-body")).to_be_visible()
    assert page.evaluate(LEGEND_STOP) == [False, False]
    assert tab_from_the_legend_toggle(page) != "map-legend-body"
    page.set_viewport_size({"width": 1024, "height": 768})
    unfold_if_a_pin_folded_it(page)
    page.wait_for_function(f"() => ({LEGEND_STOP})().every(Boolean)")
    assert tab_from_the_legend_toggle(page) == "map-legend-body"
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.wait_for_function(f"() => !({LEGEND_STOP})().some(Boolean)")
    assert tab_from_the_legend_toggle(page) != "map-legend-body"
    # folded and unfolded where it scrolls: a tab stop again
    page.set_viewport_size({"width": 1024, "height": 768})
    unfold_if_a_pin_folded_it(page)
    page.wait_for_function(f"() => ({LEGEND_STOP})().every(Boolean)")
    page.locator("#map-legend-toggle").click()
    page.locator("#map-legend-toggle").click()
    page.wait_for_function(f"() => ({LEGEND_STOP})().every(Boolean)")
    assert tab_from_the_legend_toggle(page) == "map-legend-body"
    context.close()


def test_enter_on_the_legend_folds_it_and_assigns_nothing(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    """Enter assigns the selected callout from the map, but not on the map's own controls: on
    the legend's toggle it folds the legend (the callout still waits), and on the legend's
    body (which takes the focus to scroll) it does nothing."""
    waiting, _ = busy_board(server, dispatcher)
    context, page = open_board(browser, server, viewport={"width": 1024, "height": 768})
    page.locator(f"#queue [data-callout='{waiting}']").click()
    expect(page.locator("#recs li button.assign").first).to_be_visible()
    toggle = page.locator("#map-legend-toggle")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "map-legend-body"
    page.keyboard.press("Enter")
    page.wait_for_timeout(500)
    expect(page.locator(f"#queue [data-callout='{waiting}']")).to_be_visible()  # still waiting
    context.close()


#: The map's labels once it has settled: names (unit pins showing one, shown town names) and
#: the markers they must not cover (callout pins, units drawn as dots).
LABELS = """async () => {
  const m = window.maeDispatch.map.map;
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  while (m._animatingZoom) await frame();
  await frame(); await frame(); await frame();
  const box = (sel, keep = () => true) => [...document.querySelectorAll(sel)].filter(keep)
    .filter((e) => getComputedStyle(e).visibility !== 'hidden' && e.getClientRects().length)
    .map((e) => [e.textContent.trim() || e.className, e.getBoundingClientRect().toJSON()]);
  return {
    zoom: m.getZoom(),
    labels: [...box('.unit-pin', (e) => !e.classList.contains('compact')),
             ...box('.mae-place-label'), ...box('.border-name span')],
    markers: [...box('.callout-marker'), ...box('.unit-pin.compact')],
  };
}"""


def overlaps(seen: dict[str, Any]) -> list[str]:
    def hit(a: dict[str, float], b: dict[str, float]) -> bool:
        return (a["left"] < b["right"] and b["left"] < a["right"]
                and a["top"] < b["bottom"] and b["top"] < a["bottom"])

    labels, markers = seen["labels"], seen["markers"]
    out = [f"{a} / {b}" for i, (a, ra) in enumerate(labels) for b, rb in labels[i + 1:]
           if hit(ra, rb)]
    return out + [f"{a} / {b}" for a, ra in labels for b, rb in markers if hit(ra, rb)]


def test_map_labels_do_not_overlap_at_county_zoom_and_names_show_closer_in(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    """Callouts in Boden and Luleå, near two units' pins: at the county view no name covers
    another or a pin (a unit whose name would is a dot, named in its tooltip); zoomed in on
    the unit, its name is back."""
    busy_board(server, dispatcher)
    context, page = open_board(browser, server)
    expect(page.locator(".callout-pin")).to_have_count(2)
    expect(page.locator(".unit-pin")).to_have_count(3)
    page.wait_for_function("() => window.maeDispatch.map.bounds")
    expect(page.locator(".mae-place-label").first).to_be_attached()
    seen = page.evaluate(LABELS)
    assert seen["zoom"] <= 8, seen["zoom"]  # the county
    assert any("Kiruna" in name for name, _ in seen["labels"])  # names where there is room
    assert overlaps(seen) == [], overlaps(seen)
    screenshot(page, "dispatcher-county-labels")

    dots = page.eval_on_selector_all(".unit-pin.compact", """ps => ps.map((p) => {
      const r = p.getBoundingClientRect();  // [unit, whether a callout's pin lies over it]
      const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return [p.dataset.unit, !p.contains(top)];
    })""")
    assert dots, "no unit needed to give way: the test's callouts should be beside them"
    unit = next(u for u, under in dots if not under)
    pin = page.locator(f".unit-pin[data-unit='{unit}']")
    assert pin.get_attribute("aria-label")  # the dot still says which unit and its status
    pin.hover()
    expect(page.locator(".leaflet-tooltip", has_text="MAE")).to_be_visible()
    page.evaluate("(id) => { const m = window.maeDispatch.map;"
                  " m.map.setView(m.units.get(id).getLatLng(), 12, { animate: false }); }", unit)
    page.wait_for_function(
        "(id) => { const p = document.querySelector(`.unit-pin[data-unit='${id}']`);"
        " return p && !p.classList.contains('compact') && p.getBoundingClientRect().width > 40; }",
        arg=unit)
    closer = page.evaluate(LABELS)
    assert closer["zoom"] == 12
    assert overlaps(closer) == [], overlaps(closer)
    context.close()


#: Emoji and other pictographs (a screen with no emoji font draws them as empty boxes).
PICTOGRAPHS = "(el) => [...el.textContent].filter((c) => /\\p{Extended_Pictographic}/u.test(c))"


def test_the_alarm_banners_icon_is_drawn_not_an_emoji(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    context, page = open_board(browser, server)
    crew = server.socket("/ws/crew", "crew_sun")
    crew.ready()
    assert crew.request({"type": "assist", "lat": 65.67, "lon": 21.98})["type"] == "ok"
    crew.close()
    banner = page.locator(".alert-banner.assist")
    expect(banner).to_contain_text("NÖDLARM")
    assert banner.evaluate(PICTOGRAPHS) == []
    icon = banner.locator(".alert-icon")
    expect(icon).to_be_visible()
    size = icon.bounding_box()
    assert size is not None and size["width"] >= 12 and size["height"] >= 12
    assert icon.get_attribute("aria-hidden") == "true"  # the words say it
    assert page.locator("body").evaluate(PICTOGRAPHS) == []  # nor anywhere else on the page
    context.close()


def test_a_transporting_crew_is_told_where_to_and_can_change_it_before_arriving(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    """Alarm, assignment, acknowledged, en route, on scene, transporting: the card names the
    facility the route goes to (the nearest psychiatric emergency unit), the navigation app
    goes there, the field for "Vid mottagning" holds it already; the crew picks another and
    the card, the route and the reported facility follow."""
    cid = raise_alarm(server)
    assert dispatcher.request({"type": "assign", "callout_id": cid,
                         "unit_id": "MAE-SUNDERBY"})["type"] == "ok"
    context, page = open_crew(browser, server, PHONE)
    page.set_default_timeout(WAIT_MS)
    page.click("#ack")
    expect(page.locator("#job-callout-status")).to_have_text("Kvitterad")
    dest = page.locator("#job-dest")
    expect(page.locator("#job-dest-label")).to_be_hidden()  # on the way to the patient
    page.click("[data-status=en_route]")
    page.click("[data-status=on_scene]")
    expect(page.locator("#unit-status")).to_have_attribute("data-status", "on_scene")
    expect(dest).to_be_hidden()
    page.click("[data-status=transporting]")
    page.wait_for_function("() => window.maeCrew.route && window.maeCrew.route.to")
    to = page.evaluate("window.maeCrew.route.to")
    with server.http("crew_sun") as http:
        facilities = http.get("/api/map").json()["facilities"]
    target = next(f for f in facilities if f["name"] == to)
    assert "psychiatric_emergency" in target["kinds"]
    expect(page.locator("#job-dest-label")).to_have_text("Kör till")
    expect(dest).to_be_visible()
    expect(dest).to_have_text(to)
    expect(page.locator("#job-dest-note")).to_have_text("närmaste psykiatriska akutmottagning")
    expect(page.locator("#facility")).to_have_value(to)
    nav = page.locator("#job-dest-nav")  # the navigation app goes there, not to the pickup
    expect(nav).to_be_visible()
    assert (nav.get_attribute("href") or "").startswith(
        f"geo:{target['lat']:.6f},{target['lon']:.6f}"), nav.get_attribute("href")
    expect(page.locator("#job-nav")).to_be_hidden()
    page.evaluate("() => window.scrollTo(0, 0)")
    screenshot(page, "crew-transport-destination")

    page.click("#job-dest-change")
    expect(page.locator("#facility")).to_be_focused()
    other = next(f for f in facilities if f["name"] != to and f["kind"] == "hospital")
    page.fill("#facility", other["name"])
    page.dispatch_event("#facility", "change")
    expect(dest).to_have_text(other["name"])
    expect(page.locator("#job-dest-note")).to_have_text("")
    page.wait_for_function(f"() => window.maeCrew.route.to === {other['name']!r}")
    page.click("#lang")
    expect(page.locator("#job-dest-label")).to_have_text("Destination")
    expect(page.locator("#job-dest-change")).to_have_text("Change destination")
    page.click("#lang")

    page.click("[data-status=at_facility]")  # no typing: the field holds the destination
    expect(page.locator("#unit-status")).to_have_attribute("data-status", "at_facility")
    page.wait_for_selector('#outbox[data-count="0"]', state="attached")
    reported = [e for e in stored(server.db) if e["type"] == "UnitStatusChanged"
                and e.get("status") == "at_facility"]
    assert [e["facility"] for e in reported] == [other["name"]]
    expect(dest).to_be_hidden()
    context.close()


#: The header's children: their rectangles and the header's own.
HEADER = """() => ({
  header: document.querySelector('.mae-header').getBoundingClientRect().toJSON(),
  parts: [...document.querySelectorAll('.mae-header > *')]
    .filter((el) => el.getClientRects().length)
    .map((el) => ({ id: el.id || el.tagName, ...el.getBoundingClientRect().toJSON() })),
})"""


@pytest.mark.parametrize("locale", ["sv-SE", "en-GB"])
def test_the_dispatcher_header_fits_one_row_at_1024_px_while_sound_waits_for_a_click(
    browser: Any, server: Server, locale: str
) -> None:
    """The audit saw the header wrap onto two rows at 1024 px, pushed by the sound button's
    long "blocked" text; the short label keeps one row (the button's tooltip explains)."""
    context, page = open_board(browser, server, viewport={"width": 1024, "height": 768})
    if locale != "sv-SE":  # the page keeps its language; no click (a click lets sound play)
        page.evaluate("localStorage.setItem('mae.lang', 'en')")
        page.reload()
        expect(page.locator("#conn")).to_have_attribute("data-state", "open")
        expect(page.locator("#sound-toggle")).to_have_text("Turn sound on")
    expect(page.locator("#sound-toggle")).to_have_attribute("data-sound", "blocked")
    got = page.evaluate(HEADER)
    tops = {round(p["top"]) for p in got["parts"]}
    tallest = max(p["height"] for p in got["parts"])
    assert max(p["bottom"] for p in got["parts"]) - min(tops) <= tallest + 2, got["parts"]
    context.close()


#: The contrast ratio (WCAG 2) of an element's text against its own background colour.
CONTRAST = """(sel) => {
  const e = document.querySelector(sel), s = getComputedStyle(e);
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => { const [r, g, b] = rgb(c).map((v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const [a, b] = [lum(s.color), lum(s.backgroundColor)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


def test_an_off_duty_units_pin_can_be_read(browser: Any, server: Server) -> None:
    """An off-duty unit's pin was white type on pale grey, faded on top: a planner could not
    read the bases' names in a replay before the shifts began. Its type now stands out from
    its own background as WCAG asks of text (4.5:1), as an available unit's does."""
    crew = server.socket("/ws/crew", "crew_pit")
    crew.ready()
    assert crew.request({"type": "shift_end"})["type"] == "ok"
    crew.close()
    context, page = open_board(browser, server, viewport={"width": 1366, "height": 768})
    off = ".unit-pin.status-off_duty[data-unit=MAE-PITEA]"
    expect(page.locator(off)).to_be_visible()
    assert page.evaluate(CONTRAST, off) >= 4.5
    assert page.evaluate(CONTRAST, ".unit-pin.status-available") >= 4.5
    context.close()
