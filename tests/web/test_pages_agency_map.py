"""The agency page's map in a real Chromium: it opens on the county at a zoom where its towns
can be read, its names give way to the chosen point and to each other (as on the dispatcher's
map), and a click far from every road is refused at once in plain words (Swedish and English),
while a click next to a road is taken."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import Server, screenshot
from tests.web.test_pages_agency import TIMEOUT_MS, open_agency
from tests.web.test_pages_audit import overlaps

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 1000}}
SMALL_DESKTOP = {"viewport": {"width": 1024, "height": 768}}
SEA = (64.9, 23.2)  # the Bothnian Bay, tens of kilometres from any road
LULEA = (65.584, 22.154)

#: The map's names once it has settled, {zoom, labels, markers}: the town and municipality
#: names shown and the pins they must not cover (the chosen point's), each [name, rectangle].
NAMES = """async () => {
  const m = document.getElementById('map').maeMap;
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  while (m._animatingZoom) await frame();
  await frame(); await frame(); await frame();
  const box = (sel) => [...document.querySelectorAll(sel)]
    .filter((e) => getComputedStyle(e).visibility !== 'hidden' && e.getClientRects().length)
    .map((e) => [e.textContent.trim() || 'the chosen point', e.getBoundingClientRect().toJSON()]);
  return {
    zoom: m.getZoom(),
    labels: [...box('.mae-place-label'), ...box('.border-name span')],
    markers: box('.leaflet-marker-icon:not(.border-name)'),
  };
}"""


def new_page(browser: Any, device: dict[str, Any], errors: list[str]) -> Any:
    context = browser.new_context(**device, locale="sv-SE")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page


def view(page: Any) -> dict[str, Any]:
    return dict(page.evaluate("""() => {
        const m = document.getElementById('map').maeMap, b = m.getBounds();
        return {zoom: m.getZoom(), s: b.getSouth(), w: b.getWest(), n: b.getNorth(),
                e: b.getEast()};
    }"""))


def zoom_step(page: Any, button: str) -> None:
    """Click a zoom button and wait until the step is done: Leaflet starts its animation a frame
    after the click and drops a zoom asked for meanwhile (a second click, too soon, is lost)."""
    before = view(page)["zoom"]
    page.locator(f".leaflet-control-zoom-{button}").click()
    page.wait_for_function("""(z) => { const m = document.getElementById('map').maeMap;
        return !m._animatingZoom && m.getZoom() !== z; }""", arg=before)


def click_at(page: Any, lat: float, lon: float) -> None:
    """Click the map where ``(lat, lon)`` is, without moving the view."""
    page.locator("#map").scroll_into_view_if_needed()
    xy = page.evaluate("""([lat, lon]) => {
        const p = document.getElementById('map').maeMap.latLngToContainerPoint([lat, lon]);
        return {x: p.x, y: p.y};
    }""", [lat, lon])
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])


@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_map_opens_on_the_county_with_its_towns_readable(
    browser: Any, server: Server, device: dict[str, Any]
) -> None:
    errors: list[str] = []
    page = new_page(browser, device, errors)
    open_agency(page, server)
    with server.http("police") as police:
        data = police.get("/api/map").json()
    (south, west), (north, east) = data["bounds"]
    shown = view(page)
    # the whole county (the loaded map's bounds) is in view...
    assert shown["s"] <= south and shown["n"] >= north, shown
    assert shown["w"] <= west and shown["e"] >= east, shown
    # ...and fills it: not a country-wide view with the county a small patch in the middle
    assert (shown["n"] - shown["s"]) < 1.6 * (north - south), shown
    assert shown["zoom"] >= (6 if device is DESKTOP else 5.5), shown
    # the labelled towns are on the map and no two labels overlap
    boxes = page.eval_on_selector_all(
        ".mae-place-label", """ls => ls.map(l => { const r = l.getBoundingClientRect();
            return {text: l.textContent, x: r.x, y: r.y, w: r.width, h: r.height}; })""")
    names = {b["text"] for b in boxes}
    assert {"Luleå", "Piteå", "Kiruna", "Gällivare", "Boden"} <= names
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            apart = (a["x"] + a["w"] <= b["x"] or b["x"] + b["w"] <= a["x"]
                     or a["y"] + a["h"] <= b["y"] or b["y"] + b["h"] <= a["y"])
            assert apart, f"the labels {a['text']} and {b['text']} overlap"
    expect(page.locator("path.water").first).to_be_attached()  # the base layers are in
    expect(page.locator("path.border-line").first).to_be_attached()
    screenshot(page, f"agency-map-county-{'desktop' if device is DESKTOP else 'phone'}")
    assert errors == []
    page.context.close()


def shown_names(seen: dict[str, Any]) -> set[str]:
    return {name for name, _ in seen["labels"]}


@pytest.mark.parametrize("device", [SMALL_DESKTOP, PHONE], ids=["1024x768", "phone"])
def test_the_maps_names_give_way_to_the_chosen_point_and_to_each_other(
    browser: Any, server: Server, device: dict[str, Any]
) -> None:
    """The dispatcher's rule on the agency's map: one zoom step out from the county view,
    where Luleå's, Boden's and Piteå's names would overlap, no name covers another (Luleå's,
    placed first, stays); at the county view a point chosen in Luleå is covered by no name
    (Luleå's and Boden's would); closer in, Boden's name is back."""
    errors: list[str] = []
    page = new_page(browser, device, errors)
    open_agency(page, server)
    county = view(page)["zoom"]
    zoom_step(page, "out")
    out = page.evaluate(NAMES)
    assert out["zoom"] < county, out["zoom"]
    assert overlaps(out) == [], overlaps(out)
    assert {"Luleå", "Kiruna", "Gällivare"} <= shown_names(out), shown_names(out)
    screenshot(page, f"agency-map-names-zoomed-out-{device['viewport']['width']}")

    zoom_step(page, "in")  # (a click computed mid-zoom would land at the old zoom's place)
    click_at(page, *LULEA)
    expect(page.locator("#point")).to_contain_text("Vald punkt")
    page.mouse.move(0, 0)  # off the map: no town named for the pointer (once its name has
    expect(page.locator(".mae-place-label:not(.permanent)")).to_have_count(0)  # faded out)
    seen = page.evaluate(NAMES)
    assert seen["zoom"] == county
    assert len(seen["markers"]) == 1, seen["markers"]  # the chosen point
    assert overlaps(seen) == [], overlaps(seen)
    assert {"Kiruna", "Gällivare", "Piteå"} <= shown_names(seen), shown_names(seen)
    screenshot(page, f"agency-map-names-point-{device['viewport']['width']}")

    page.evaluate("""() => { document.getElementById('map').maeMap  // Luleå and Boden
        .setView([65.70, 21.92], 9, {animate: false}); }""")
    closer = page.evaluate(NAMES)
    assert closer["zoom"] == 9
    assert overlaps(closer) == [], overlaps(closer)
    assert "Boden" in shown_names(closer), shown_names(closer)
    assert errors == []
    page.context.close()


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_a_click_far_from_any_road_is_refused_at_once(
    browser: Any, server: Server, lang: str
) -> None:
    errors: list[str] = []
    page = new_page(browser, DESKTOP, errors)
    open_agency(page, server)
    if lang == "en":
        page.click("#lang")
    page.evaluate("""([lat, lon]) => { document.getElementById('map').maeMap
        .setView([lat, lon], 8, {animate: false}); }""", list(SEA))
    click_at(page, *SEA)
    message = page.locator("#err-location")
    if lang == "sv":
        expect(message).to_have_text(re.compile(
            r"^Plats: Ingen väg inom \d+(,\d)? km från punkten\. Klicka närmare en väg eller "
            r"skriv ett ortnamn\.$"))
        expect(page.locator("#point")).to_have_text("…eller klicka på kartan.")
    else:
        expect(message).to_have_text(re.compile(
            r"^Location: No road within \d+(\.\d)? km of the point\. Click closer to a road or "
            r"type a place name\.$"))
        expect(page.locator("#point")).to_have_text("…or click on the map.")
    expect(page.locator("#place")).to_have_attribute("aria-invalid", "true")
    assert page.locator(".leaflet-marker-icon:not(.border-name)").count() == 0  # no point
    screenshot(page, f"agency-map-click-off-road-{lang}")
    # a click next to a road is taken and clears the message
    with server.http("police") as police:
        road = police.get("/api/map").json()["roads"][0]["coords"]
    lat, lon = (road[0][0] + road[1][0]) / 2, (road[0][1] + road[1][1]) / 2
    page.evaluate("""([lat, lon]) => { document.getElementById('map').maeMap
        .setView([lat, lon], 9, {animate: false}); }""", [lat, lon])
    click_at(page, lat, lon)
    expect(page.locator("#point")).to_contain_text("Vald punkt" if lang == "sv" else "Chosen point")
    expect(message).to_have_text("")
    assert page.locator(".leaflet-marker-icon:not(.border-name)").count() == 1  # its pin
    assert errors == []
    page.context.close()


def test_the_sea_and_lakes_are_drawn_so_the_coast_shows(browser: Any, server: Server) -> None:
    """SCB's municipality borders cover land only: the sea outside them (not Finland or
    Norway, also outside them) and the lakes they leave out are filled as water."""
    import shapely

    with server.http("police") as police:
        water = police.get("/api/borders").json()["water"]
    assert water, "no water over the county"
    sea = shapely.union_all([shapely.Polygon([(x, y) for y, x in rings[0]],
                                             [[(x, y) for y, x in r] for r in rings[1:]])
                             for rings in water])
    def wet(lat: float, lon: float) -> bool:
        return bool(sea.contains(shapely.Point(lon, lat)))

    assert wet(65.5, 22.45) and wet(65.0, 22.8)  # Luleå's archipelago, the Bothnian Bay
    assert not wet(65.584, 22.154) and not wet(67.855, 20.225)  # Luleå, Kiruna
    assert not wet(65.85, 24.2) and not wet(68.35, 17.7)  # Tornio (Finland), Norway
    assert not wet(65.01, 25.47) and not wet(65.736, 24.564)  # Oulu and Kemi, Finnish shore
    errors: list[str] = []
    page = new_page(browser, DESKTOP, errors)
    open_agency(page, server)
    expect(page.locator("path.water").first).to_be_attached()
    page.evaluate("() => { document.getElementById('map').maeMap"
                  ".setView([65.55, 22.2], 10, {animate: false}); }")  # Luleå and its coast
    page.wait_for_timeout(300)
    screenshot(page, "agency-map-coast-lulea")
    assert errors == []
    page.context.close()


def test_a_place_typed_while_a_click_is_checked_wins(browser: Any, server: Server) -> None:
    """The road check of a click answers after the person typed a place name: the name stays
    and the late answer chooses no point (the answer is held back by the test)."""
    errors: list[str] = []
    page = new_page(browser, DESKTOP, errors)
    open_agency(page, server)
    held: list[Any] = []
    page.route("**/api/map/reach*", lambda route: held.append(route))
    with server.http("police") as police:
        road = police.get("/api/map").json()["roads"][0]["coords"]
    lat, lon = (road[0][0] + road[1][0]) / 2, (road[0][1] + road[1][1]) / 2
    page.evaluate("""([lat, lon]) => { document.getElementById('map').maeMap
        .setView([lat, lon], 9, {animate: false}); }""", [lat, lon])
    click_at(page, lat, lon)
    expect(page.locator("#point")).to_have_attribute("data-checking", "true")
    page.fill("#place", "Kalix")
    page.wait_for_timeout(200)
    assert len(held) == 1
    held[0].continue_()
    page.wait_for_timeout(500)
    expect(page.locator("#place")).to_have_value("Kalix")
    expect(page.locator("#point")).to_have_text("…eller klicka på kartan.")
    assert page.locator(".leaflet-marker-icon:not(.border-name)").count() == 0
    assert errors == []
    page.context.close()


#: Where ``[lat, lon]`` is in the window (Leaflet counts from inside the map's border).
ON_SCREEN = """([lat, lon]) => {
  const m = document.getElementById('map').maeMap, box = m.getContainer();
  const r = box.getBoundingClientRect(), p = m.latLngToContainerPoint([lat, lon]);
  return { x: r.left + box.clientLeft + p.x, y: r.top + box.clientTop + p.y };
}"""

#: The rectangle of a town's name as shown on the map, or null where it is hidden.
TOWN_NAME = """(name) => {
  const label = [...document.querySelectorAll('.mae-place-label.permanent')]
    .find((e) => e.textContent.trim() === name);
  return label && getComputedStyle(label).visibility !== 'hidden'
    ? label.getBoundingClientRect().toJSON() : null;
}"""

#: Where the chosen point is on screen, what a click at its pin's middle hits and the map's box.
PIN = """([lat, lon]) => {
  const m = document.getElementById('map').maeMap, box = m.getContainer();
  const map = box.getBoundingClientRect(), p = m.latLngToContainerPoint([lat, lon]);
  const pin = document.querySelector('.leaflet-marker-icon:not(.border-name)');
  const r = pin.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return { x: map.left + box.clientLeft + p.x, y: map.top + box.clientTop + p.y,
           map: map.toJSON(), pin: r.toJSON(),
           hit: Boolean(hit && pin.contains(hit)) };
}"""


@pytest.mark.parametrize("device", [SMALL_DESKTOP, PHONE], ids=["1024x768", "phone"])
def test_a_point_chosen_on_a_town_leaves_the_towns_name_readable(
    browser: Any, server: Server, device: dict[str, Any]
) -> None:
    """A point chosen right on Luleå (a click on its dot takes the town's own coordinates)
    hid Luleå's name at every zoom: the chosen point's pin won over it, so one could not read
    where one had clicked. The name now stands beside the pin, next to its town (within 30 px
    of the point), whole on the map and covered by no pin or other name, and the pin shows
    whole and a click at its middle reaches it: zoomed in, and at the county view."""
    with server.http("police") as police:
        places = police.get("/api/map").json()["places"]
    town = next((p["lat"], p["lon"]) for p in places if p["name"] == "Luleå")
    errors: list[str] = []
    page = new_page(browser, device, errors)
    open_agency(page, server)
    county = view(page)["zoom"]
    page.evaluate("""([lat, lon]) => { document.getElementById('map').maeMap
        .setView([lat, lon], 9, {animate: false}); }""", list(town))
    page.locator("#map").scroll_into_view_if_needed()
    on_town = page.evaluate(ON_SCREEN, list(town))
    page.mouse.click(on_town["x"], on_town["y"])
    expect(page.locator("#point")).to_contain_text("Vald punkt")
    pin = page.evaluate(PIN, list(town))  # its tip right on the town's dot
    tip = (pin["pin"]["left"] + pin["pin"]["right"]) / 2, pin["pin"]["bottom"]
    assert abs(tip[0] - pin["x"]) <= 1.5 and abs(tip[1] - pin["y"]) <= 1.5, pin
    page.mouse.move(0, 0)  # off the map: no town named for the pointer
    expect(page.locator(".mae-place-label:not(.permanent)")).to_have_count(0)
    for zoom in (9, county):
        if zoom != 9:
            page.evaluate("""([lat, lon, zoom]) => { document.getElementById('map').maeMap
                .setView([lat, lon], zoom, {animate: false}); }""", [*town, zoom])
        seen = page.evaluate(NAMES)
        assert seen["zoom"] == zoom
        assert len(seen["markers"]) == 1, seen["markers"]  # the chosen point
        assert overlaps(seen) == [], overlaps(seen)
        label = page.evaluate(TOWN_NAME, "Luleå")  # the town's (not the municipality's)
        assert label is not None, (zoom, shown_names(seen))
        pin = page.evaluate(PIN, list(town))
        assert pin["hit"], pin
        dx = max(label["left"] - pin["x"], 0, pin["x"] - label["right"])
        dy = max(label["top"] - pin["y"], 0, pin["y"] - label["bottom"])
        assert (dx * dx + dy * dy) ** 0.5 <= 30, (label, pin)  # by its town
        for r in (label, pin["pin"]):  # whole on the map
            assert pin["map"]["left"] <= r["left"] and r["right"] <= pin["map"]["right"], r
            assert pin["map"]["top"] <= r["top"] and r["bottom"] <= pin["map"]["bottom"], r
        screenshot(page, f"agency-map-point-on-town-{device['viewport']['width']}-{zoom}")
    assert errors == []
    page.context.close()


def test_choosing_a_point_never_moves_the_map_under_the_next_click(
    browser: Any, server: Server
) -> None:
    """Two clicks aimed from one look at the map, on Luleå's dot and then on Kalix's: the
    first point's row (with its remove button) must not push the map down, so the second click
    lands on Kalix, not tens of kilometres north of it (a town's dot under the pointer does not
    move the point either)."""
    errors: list[str] = []
    page = new_page(browser, SMALL_DESKTOP, errors)
    open_agency(page, server)
    page.locator("#map").scroll_into_view_if_needed()
    kalix = (65.853, 23.156)
    aims = page.evaluate("""(points) => points.map(([lat, lon]) => {
        const p = document.getElementById('map').maeMap.latLngToContainerPoint([lat, lon]);
        return {x: p.x, y: p.y};
    })""", [list(LULEA), list(kalix)])
    box = page.locator("#map").bounding_box()
    chosen = []
    for aim in aims:
        shown = page.locator("#point").text_content() or ""
        page.mouse.click(box["x"] + aim["x"], box["y"] + aim["y"])
        expect(page.locator("#point")).not_to_have_text(shown)  # taken, once its reach is known
        expect(page.locator("#clear-point")).to_be_visible()
        chosen.append(page.evaluate("""() => {
            const ll = [...document.querySelectorAll('.leaflet-marker-icon')]
              .filter((e) => !e.classList.contains('border-name'))[0];
            const m = document.getElementById('map').maeMap;
            const r = ll.getBoundingClientRect(), c = m.getContainer().getBoundingClientRect();
            const p = m.containerPointToLatLng([r.left + r.width / 2 - c.left, r.bottom - c.top]);
            return [p.lat, p.lng];
        }"""))
        assert page.locator("#map").bounding_box() == box  # the map stayed where it was
    for (lat, lon), (want_lat, want_lon) in zip(chosen, (LULEA, kalix), strict=True):
        assert abs(lat - want_lat) < 0.05 and abs(lon - want_lon) < 0.1, (chosen, lat, lon)
    assert errors == []
    page.context.close()
