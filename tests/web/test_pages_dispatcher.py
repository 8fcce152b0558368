"""The dispatcher's live map page (/dispatch) in real Chromium against a real server, with the
other actors (agencies, crews) driven over their sockets; and the two read-only socket messages
the page uses for its timeline and follow-up list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.web.conftest import (
    T0,
    ManualClock,
    Server,
    Sock,
    free_port,
    make_tokens,
    screenshot,
    thread_server,
)

WAIT_MS = 15_000


def alarm(ref: str, priority: int, place: str, **extra: Any) -> dict[str, Any]:
    return {"type": "alarm", "reference": ref, "priority": priority, "category": "psychosis",
            "location": {"place": place}, **extra}


REPEAT_JS = """async () => {
  const { DispatchStore } = await import("/static/dispatcher/store.js");
  const store = new DispatchStore();
  const at = "2026-01-15T14:00:00+00:00";
  const ev = { type: "AlarmReceived", at, actor: "p1", callout_id: "C1", merged_reason: "",
    alarm: { agency: "police", reference: "R", received_at: at, priority: 1, category: "other",
             location: { lat: 65.8, lon: 21.7, label: "Boden", resolved_from: "" }, note: "" } };
  const first = store.apply(1, ev) !== null;
  const again = store.apply(1, ev);
  return { first, again, alarms: store.callouts.get("C1").alarms.length,
           timeline: store.timeline("C1").length };
}"""


def open_page(browser: Any, url: str, *, errors: list[str]) -> tuple[Any, Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 900},
                                  timezone_id="Europe/Stockholm", locale="sv-SE")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    return context, page


def socks(server: Server, *who: tuple[str, str]) -> list[Sock]:
    out = []
    for path, name in who:
        sock = server.socket(path, name)
        sock.ready()
        out.append(sock)
    return out


def job_for(crew: Sock) -> dict[str, Any]:
    msg = crew.until(lambda m: m.get("type") == "event" and m["event"]["type"] == "UnitAssigned")
    job: dict[str, Any] = msg["job"]
    return job


def test_board_assigns_by_click_and_key_draws_routes_coverage_and_flags_a_missed_ack(
    timed: Server, clock: ManualClock, browser: Any
) -> None:
    """Alarms appear in the queue (priority first) and on the map with their agencies; picking
    one shows ranked units with ETAs and the coverage they leave; one click assigns (the crew
    gets the job, the route is drawn), and so do the keys 1 + Enter; the coverage overlay
    shows and refreshes when a unit's status changes; a follow-up visit is listed; a job
    nobody acknowledged raises a red banner with a beep, and its button offers the next unit."""
    errors: list[str] = []
    context, page = open_page(browser, f"{timed.base}/dispatch#token={timed.tokens['dispatcher']}",
                              errors=errors)
    try:
        expect(page.locator("#conn")).to_have_attribute("data-state", "open")
        assert "token" not in page.url  # taken from the fragment, kept in localStorage
        expect(page.locator("#units .unit-item")).to_have_count(3)
        expect(page.locator(".unit-marker")).to_have_count(3)
        police, psych, crew_sun, crew_pit = socks(
            timed, ("/ws/agency", "police"), ("/ws/agency", "psychiatry"),
            ("/ws/crew", "crew_sun"), ("/ws/crew", "crew_pit"))
        boden = police.request(alarm("R-1", 2, "Boden"))["callout_id"]
        pitea = psych.request(alarm("PS-1", 1, "Piteå"))["callout_id"]

        queue = page.locator("#queue .callout-item")
        expect(queue).to_have_count(2)
        assert [queue.nth(i).get_attribute("data-callout") for i in range(2)] == [pitea, boden]
        expect(queue.nth(0).locator(".agency-psychiatry")).to_be_visible()
        expect(queue.nth(1).locator(".agency-police")).to_be_visible()
        expect(page.locator(f".callout-pin[data-callout='{boden}']")).to_be_visible()

        # Select on the map; the ranked units carry ETA and the coverage they leave behind.
        page.locator(f".callout-pin[data-callout='{pitea}']").click()
        recs = page.locator("#recs li")
        expect(recs).to_have_count(3)
        expect(recs.first).to_have_attribute("data-unit", "MAE-PITEA")
        expect(recs.first.locator(".eta")).to_contain_text("min")
        expect(recs.first.locator(".uncovered")).to_contain_text("> 60 min")
        recs.first.get_by_role("button", name="Tilldela").click()
        assert job_for(crew_pit)["callout_id"] == pitea
        expect(page.locator("path.route-line")).to_have_count(1)
        expect(page.locator(f"#active [data-callout='{pitea}']")).to_contain_text("MAE Piteå")

        # The keyboard: pick the first recommendation, Enter assigns it.
        page.locator(f"#queue [data-callout='{boden}']").click()
        expect(page.locator("#recs li").first).to_have_attribute("data-unit", "MAE-SUNDERBY")
        page.keyboard.press("1")
        page.keyboard.press("Enter")
        assert job_for(crew_sun)["callout_id"] == boden
        expect(page.locator("#queue .callout-item")).to_have_count(0)
        assert crew_sun.request({"type": "ack", "callout_id": boden})["type"] == "ok"

        # Coverage: shown on "c", fetched again after a unit changes status.
        with page.expect_request(lambda r: "/api/coverage" in r.url):
            page.keyboard.press("c")
        expect(page.locator(".coverage-legend")).to_be_visible()
        assert page.locator("path.coverage-dot").count() > 0
        with page.expect_request(lambda r: "/api/coverage" in r.url):
            assert crew_sun.request({"type": "status", "status": "en_route"})["type"] == "ok"

        # A follow-up visit asked for in an outcome is listed for today.
        assert crew_sun.request({"type": "status", "status": "on_scene"})["type"] == "ok"
        follow_up = (T0 + timedelta(hours=3)).isoformat()
        assert crew_sun.request({"type": "outcome", "callout_id": boden, "kind": "stayed_home",
                                 "follow_up_at": follow_up})["type"] == "ok"
        expect(page.locator("#followups .followup")).to_contain_text(boden)

        # Piteå never acknowledges: the tick times it out, the page flags it loudly.
        clock.advance(61)
        banner = page.locator(f".alert-banner[data-callout='{pitea}']")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("MAE Piteå")
        assert int(page.evaluate("document.body.dataset.beeps || 0")) >= 1
        banner.locator("button[data-action=select]").click()
        expect(page.locator("#detail-title")).to_contain_text(pitea)
        expect(page.locator("#recs li").first).to_be_visible()
        picked = page.locator("#recs li.picked")  # what Enter would assign: not the late unit
        expect(picked).to_have_count(1)
        expect(picked).not_to_have_attribute("data-unit", "MAE-PITEA")
        screenshot(page, "dispatcher-desktop")
        banner.locator("button[data-action=offer]").click()
        expect(banner).to_have_count(0)
        with timed.http("dispatcher") as rest:
            taken = rest.get(f"/api/callouts/{pitea}").json()
        assert taken["status"] == "assigned" and taken["unit_id"] not in (None, "MAE-PITEA")
        expect(page.locator(f"#active [data-callout='{pitea}']")).to_contain_text("Gällivare")
        expect(page.locator("path.route-line")).to_have_count(1)
        page.keyboard.press("c")
        expect(page.locator(".coverage-legend")).to_have_count(0)
        for s in (police, psych, crew_sun, crew_pit):
            s.close()
        assert not errors, errors
    finally:
        context.close()


def test_timeline_actions_language_help_and_catch_up_after_a_drop(
    tmp_path: Path, browser: Any
) -> None:
    """Logging in with the token form (a wrong or an agency's token is refused); the timeline
    lists each event with who caused it; note, merge, split and cancel work from the page;
    English on one click, shortcuts on "?"; when the connection drops and the server
    restarts, an alarm raised meanwhile appears once after the page resumes with since=, and
    a repeated event changes nothing; the phone layout works."""
    db = tmp_path / "drop.sqlite3"
    tokens = make_tokens(db)
    port = free_port()
    srv = thread_server(db, tokens, port=port, demo_units=True)
    errors: list[str] = []
    context, page = open_page(browser, f"{srv.base}/dispatch", errors=errors)
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    try:
        expect(page.locator("#login")).to_be_visible()
        page.locator("#token").fill("mae_0123456789abcdef_" + "x" * 30)
        page.get_by_role("button", name="Logga in").click()
        expect(page.locator("#login-error")).to_contain_text("godtogs inte")
        page.locator("#token").fill(tokens["police"])  # a real token, but not a dispatcher's
        page.get_by_role("button", name="Logga in").click()
        expect(page.locator("#login-error")).to_be_visible()
        page.locator("#token").fill(tokens["dispatcher"])
        page.get_by_role("button", name="Logga in").click()
        expect(page.locator("#conn")).to_have_attribute("data-state", "open")
        expect(page.locator("#conn")).to_have_text("Ansluten")  # shared vocabulary (lib/vocab.js)
        police, psych = socks(srv, ("/ws/agency", "police"), ("/ws/agency", "psychiatry"))
        first = police.request(alarm("R-7", 2, "Boden"))["callout_id"]
        second = psych.request(alarm("PS-7", 1, "Kiruna"))["callout_id"]

        page.locator(f"#queue [data-callout='{first}']").click()
        timeline = page.locator("#timeline li")
        expect(timeline.filter(has_text="Larm från Polis (R-7)")).to_contain_text("police")

        page.locator("#note-text").fill("Anhörig väntar i trapphuset")
        page.get_by_role("button", name="Lägg till anteckning").click()
        expect(page.locator("#timeline li[data-type=NoteAdded]")).to_contain_text("dispatcher")
        expect(page.locator("#note-text")).to_have_value("")

        page.locator("#merge-with").select_option(second)
        page.get_by_role("button", name="Slå ihop hit").click()
        expect(page.locator("#detail-alarms li")).to_have_count(2)
        expect(page.locator(f"#queue [data-callout='{second}']")).to_have_count(0)
        expect(page.locator("#timeline li[data-type=CalloutsMerged]")).to_have_count(1)
        expect(page.locator("#timeline li[data-type=AlarmReceived]")).to_have_count(2)

        page.locator("#detail-alarms button[data-split='psychiatry/PS-7']").click()
        expect(page.locator("#detail-alarms li")).to_have_count(1)
        expect(page.locator("#queue .callout-item")).to_have_count(2)
        split_off = next(c for c in page.locator("#queue .callout-item").evaluate_all(
            "els => els.map(e => e.dataset.callout)") if c not in (first, second))

        page.select_option("#cancel-code", "wrong_alarm")
        page.locator("#cancel-reason").fill("Falsklarm")
        page.get_by_role("button", name="Avbryt uppdraget").click()
        page.get_by_role("button", name="Ja, avbryt uppdraget").click()  # asked first
        expect(page.locator(f"#queue [data-callout='{first}']")).to_have_count(0)
        expect(page.locator("#timeline li[data-type=CalloutCancelled]")).to_contain_text(
            "Falsklarm")
        with srv.http("dispatcher") as rest:
            done = rest.get(f"/api/callouts/{first}").json()
            merged = rest.get(f"/api/callouts/{second}").json()
        assert done["status"] == "cancelled" and done["alarm_ids"] == ["police/R-7"]
        assert [n["text"] for n in done["notes"]] == ["Anhörig väntar i trapphuset"]
        assert merged["status"] == "merged" and merged["merged_into"] == first

        page.get_by_role("button", name="English").click()
        expect(page.locator("#queue-title")).to_contain_text("Queue")
        page.get_by_role("button", name="Svenska").click()
        expect(page.locator("#queue-title")).to_contain_text("Kö")
        page.locator("body").press("?")
        expect(page.locator("#help")).to_be_visible()
        expect(page.locator("#help")).to_contain_text("Enter")
        page.keyboard.press("Escape")
        expect(page.locator("#help")).to_be_hidden()

        # The network drops and the server restarts; an alarm arrives meanwhile.
        police.close()
        psych.close()
        context.set_offline(True)
        srv.stop()
        srv = thread_server(db, tokens, port=port, demo_units=True)
        (police,) = socks(srv, ("/ws/agency", "police"))
        late = police.request(alarm("R-8", 1, "Luleå"))["callout_id"]
        context.set_offline(False)
        expect(page.locator(f"#queue [data-callout='{late}']")).to_have_count(1, timeout=30_000)
        expect(page.locator("#conn")).to_have_attribute("data-state", "open")
        assert any("since=" in url for url in sockets[1:]), sockets
        page.locator(f"#queue [data-callout='{late}']").click()
        expect(page.locator("#timeline li[data-type=AlarmReceived]")).to_have_count(1)
        expect(page.locator(f".callout-pin[data-callout='{late}']")).to_have_count(1)
        expect(page.locator("#queue .callout-item")).to_have_count(2)  # split_off and late
        assert split_off != late

        # The page's fold ignores an event it has already applied (same seq).
        assert page.evaluate(REPEAT_JS) == {"first": True, "again": None, "alarms": 1,
                                            "timeline": 1}

        page.set_viewport_size({"width": 390, "height": 844})
        expect(page.locator("#recs li").first).to_be_visible()
        screenshot(page, "dispatcher-phone")
        police.close()
        assert not errors, errors
    finally:
        context.close()
        srv.stop()


def test_history_and_follow_up_messages(server: Server) -> None:
    """``history`` returns the logged events of a callout and those merged into it, in order,
    with actor names (notes hidden from planners); ``follow_ups`` lists planned visits; an
    unknown callout is a 404 naming callout_id; agencies and crews cannot ask."""
    police, psych, disp, crew = socks(
        server, ("/ws/agency", "police"), ("/ws/agency", "psychiatry"),
        ("/ws/dispatch", "dispatcher"), ("/ws/crew", "crew_sun"))
    visit = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    cid = police.request(alarm("H-1", 1, "Boden"))["callout_id"]
    other = psych.request(alarm("H-2", 2, "Kiruna"))["callout_id"]
    for msg in ({"type": "merge", "target_id": cid, "source_id": other},
                {"type": "note", "callout_id": cid, "text": "Hemligt"},
                {"type": "assign", "callout_id": cid, "unit_id": "MAE-SUNDERBY"}):
        assert disp.request(msg)["type"] == "ok", msg
    for msg in ({"type": "ack", "callout_id": cid}, {"type": "status", "status": "en_route"},
                {"type": "status", "status": "on_scene"},
                {"type": "outcome", "callout_id": cid, "kind": "stayed_home",
                 "follow_up_at": visit}):
        assert crew.request(msg)["type"] == "ok", msg

    reply = disp.request({"type": "history", "callout_id": cid})
    kinds = [e["event"]["type"] for e in reply["events"]]
    assert kinds == ["AlarmReceived", "AlarmReceived", "CalloutsMerged", "NoteAdded",
                     "UnitAssigned", "AssignmentAcknowledged", "UnitStatusChanged",
                     "UnitStatusChanged", "OutcomeRecorded"]
    seqs = [e["seq"] for e in reply["events"]]
    assert seqs == sorted(seqs) and reply["seq"] >= seqs[-1]
    assert set(reply["actors"].values()) >= {"police", "psychiatry", "dispatcher", "crew_sun"}
    assert reply["events"][3]["event"]["text"] == "Hemligt"
    (planner,) = socks(server, ("/ws/dispatch", "planner"))
    hidden = planner.request({"type": "history", "callout_id": cid})
    assert hidden["events"][3]["event"]["text"] == ""

    missing = disp.request({"type": "history", "callout_id": "C999999"})
    assert missing["type"] == "error" and missing["status"] == 404
    assert missing["field"] == "callout_id"
    assert disp.request({"type": "history"})["field"] == "callout_id"

    follow = disp.request({"type": "follow_ups"})
    assert [(f["callout_id"], f["requested_by"]) for f in follow["follow_ups"]] == [
        (cid, "MAE-SUNDERBY")]
    assert follow["follow_ups"][0]["location"]["label"] == "Boden" and follow["at"]
    assert police.request({"type": "history", "callout_id": cid})["field"] == "type"
    for s in (police, psych, disp, crew, planner):
        s.close()


def test_the_timeline_says_when_older_events_are_beyond_the_kept_window(
        tmp_path: Path, browser: Any) -> None:
    """A callout opened before the server's audience window (here 3 events) gets a truncated
    history: its timeline says it shows the latest events; a callout inside it does not."""
    db = tmp_path / "window.sqlite3"
    tokens = make_tokens(db)
    srv = thread_server(db, tokens, demo_units=True, backlog_window=3)
    police, disp = socks(srv, ("/ws/agency", "police"), ("/ws/dispatch", "dispatcher"))
    old = police.request(alarm("W-1", 2, "Boden"))["callout_id"]
    for i in range(5):
        assert disp.request({"type": "note", "callout_id": old, "text": f"n{i}"})["type"] == "ok"
    new = police.request(alarm("W-2", 2, "Kiruna"))["callout_id"]
    police.close()
    disp.close()
    errors: list[str] = []  # the page opens after all this: it learns the past from histories
    context, page = open_page(browser, f"{srv.base}/dispatch#token={tokens['dispatcher']}",
                              errors=errors)
    try:
        expect(page.locator("#conn")).to_have_attribute("data-state", "open")
        page.locator(f"#queue [data-callout='{old}']").click()
        expect(page.locator("#timeline li[data-truncated]")).to_have_text(
            "Visar de senaste händelserna.")
        expect(page.locator("#timeline li[data-type=AlarmReceived]")).to_have_count(0)
        page.locator(f"#queue [data-callout='{new}']").click()
        expect(page.locator("#timeline li[data-type=AlarmReceived]")).to_have_count(1)
        expect(page.locator("#timeline li[data-truncated]")).to_have_count(0)
        assert not errors, errors
    finally:
        context.close()
        srv.stop()


def test_the_page_unpacks_a_batch_frame_when_it_resumes(tmp_path: Path, browser: Any) -> None:
    """The page asks for batches (?batch=1); two alarms raised while it was away come back in
    one batch frame when it resumes with since=, and both appear in the queue once. Away for
    longer than the server keeps a backlog, it gets a snapshot instead and shows it all."""
    db = tmp_path / "batch.sqlite3"
    tokens = make_tokens(db)
    port = free_port()
    srv = thread_server(db, tokens, port=port, demo_units=True)
    errors: list[str] = []
    frames: list[str] = []
    urls: list[str] = []

    def watch(ws: Any) -> None:
        urls.append(ws.url)
        ws.on("framereceived", lambda payload: frames.append(str(payload)))

    context, page = open_page(browser, f"{srv.base}/dispatch#token={tokens['dispatcher']}",
                              errors=errors)
    page.on("websocket", watch)
    try:
        page.reload()
        expect(page.locator("#conn")).to_have_attribute("data-state", "open")
        context.set_offline(True)
        srv.stop()
        srv = thread_server(db, tokens, port=port, demo_units=True)
        (police,) = socks(srv, ("/ws/agency", "police"))
        one = police.request(alarm("R-1", 1, "Luleå"))["callout_id"]
        two = police.request(alarm("R-2", 2, "Kiruna"))["callout_id"]
        police.close()
        context.set_offline(False)
        for cid in (one, two):
            expect(page.locator(f"#queue [data-callout='{cid}']")).to_have_count(
                1, timeout=30_000)
        expect(page.locator("#queue .callout-item")).to_have_count(2)
        assert all("batch=1" in url for url in urls) and any("since=" in u for u in urls[1:])
        assert any(f.startswith('{"type":"batch"') and "R-1" in f and "R-2" in f
                   for f in frames), frames[-3:]

        context.set_offline(True)  # away again; this server keeps a backlog of one event
        srv.stop()
        srv = thread_server(db, tokens, port=port, demo_units=True, backlog_window=1)
        (police,) = socks(srv, ("/ws/agency", "police"))
        more = [police.request(alarm(f"R-{i}", 2, town))["callout_id"]
                for i, town in ((3, "Boden"), (4, "Piteå"))]
        police.close()
        frames.clear()
        context.set_offline(False)
        for cid in (one, two, *more):
            expect(page.locator(f"#queue [data-callout='{cid}']")).to_have_count(
                1, timeout=30_000)
        expect(page.locator("#queue .callout-item")).to_have_count(4)
        assert any(f.startswith('{"type":"snapshot"') for f in frames), frames[:2]
        assert not errors, errors
    finally:
        context.close()
        srv.stop()


def test_a_unit_retired_or_renamed_by_the_region_file_changes_on_an_open_board(
    tmp_path: Path, browser: Any
) -> None:
    """The service restarts with a region file that drops one unit and renames another: the
    open page, once it has caught up, shows the new name and no longer shows the retired unit
    (on the map or in the list), and a fresh load of the page agrees."""
    from web.regions import BUNDLED_REGION

    db = tmp_path / "region.sqlite3"
    tokens = make_tokens(db)
    port = free_port()
    region = tmp_path / "region.toml"
    text = BUNDLED_REGION.read_text(encoding="utf-8")
    region.write_text(text, encoding="utf-8")
    srv = thread_server(db, tokens, port=port, region=region)
    errors: list[str] = []
    context, page = open_page(browser, f"{srv.base}/dispatch#token={tokens['dispatcher']}",
                              errors=errors)
    try:
        units = page.locator("#units .unit-item")
        expect(units).to_have_count(3)
        expect(page.locator(".unit-pin[data-unit='MAE-GALLIVARE']")).to_have_count(1)
        context.set_offline(True)
        srv.stop()
        gallivare = text.index('[[units]]\nid = "MAE-GALLIVARE"')
        fewer = text[:gallivare] + text[text.index("\n\n", gallivare) + 2:]
        rota = text.index('[[rota]]\nunit = "MAE-GALLIVARE"')
        fewer = fewer.replace(text[rota:text.index("\n\n", rota) + 2], "").replace(
            'name = "MAE Piteå"', 'name = "MAE Piteå älvdal"')
        region.write_text(fewer, encoding="utf-8")
        srv = thread_server(db, tokens, port=port, region=region)
        context.set_offline(False)
        expect(units).to_have_count(2, timeout=30_000)
        expect(page.locator("#units [data-unit='MAE-PITEA'] .name")).to_have_text(
            "MAE Piteå älvdal")
        expect(page.locator(".unit-pin[data-unit='MAE-GALLIVARE']")).to_have_count(0)
        expect(page.locator(".unit-pin[data-unit='MAE-PITEA']")).to_have_count(1)
        page.reload()
        expect(units).to_have_count(2)
        expect(page.locator("#units [data-unit='MAE-GALLIVARE']")).to_have_count(0)
        assert not errors, errors
    finally:
        context.close()
        srv.stop()


# Where the pin is drawn, as the map place under its element's centre, read in one go in the
# page (a re-rendered pin is a new element), and the place its marker holds. Read on the map
# rather than the screen, so a view that moves meanwhile cannot pass for the pin moving.
PIN_AT = """() => { const map = window.maeDispatch.map.map,
    r = document.querySelector(".unit-pin[data-unit=MAE-SUNDERBY]").getBoundingClientRect(),
    box = map.getContainer().getBoundingClientRect(),
    drawn = map.containerPointToLatLng([r.x + r.width / 2 - box.x, r.y + r.height / 2 - box.y]),
    held = window.maeDispatch.map.units.get("MAE-SUNDERBY").getLatLng();
    return {lat: drawn.lat, lon: drawn.lng, held: [held.lat, held.lng]}; }"""


def test_units_move_on_the_map_as_positions_arrive(browser: Any, timed: Server,
                                                    clock: ManualClock) -> None:
    """Positions are not logged events but ``unit_positions`` messages: the unit's pin moves.
    The unit drives 80 km north-east of Sunderbyn, to Överkalix, where no other pin is (a pin
    among others may be nudged aside by the map's decluttering)."""
    errors: list[str] = []
    context, page = open_page(browser, f"{timed.base}/dispatch#token={timed.tokens['dispatcher']}",
                              errors=errors)
    (crew,) = socks(timed, ("/ws/crew", "crew_sun"))
    try:
        pin = page.locator(".unit-pin[data-unit=MAE-SUNDERBY]")
        expect(pin).to_be_visible()
        before = page.evaluate(PIN_AT)
        assert crew.request({"type": "position", "lat": 66.33, "lon": 22.84})["kept"] is True
        page.wait_for_function(f"() => ({PIN_AT})().held[0] === 66.33")
        after = page.evaluate(PIN_AT)
        assert after["held"] == [66.33, 22.84]
        # drawn there: north (0.66°) and east (0.86°) of where it was, within a few pixels
        assert after["lat"] - before["lat"] > 0.4 and after["lon"] - before["lon"] > 0.5, (
            before, after)
        assert errors == []
    finally:
        crew.close()
        context.close()


def test_the_selected_callout_survives_a_reload(server: Server, browser: Any) -> None:
    """The callout picked on the board is kept in the address (#callout=…): a reload shows it
    selected again with its details; one that is no longer there is dropped quietly."""
    errors: list[str] = []
    url = f"{server.base}/dispatch#token={server.tokens['dispatcher']}"
    context, page = open_page(browser, url, errors=errors)
    try:
        expect(page.locator("#conn")).to_have_attribute("data-state", "open")
        (police,) = socks(server, ("/ws/agency", "police"))
        boden = police.request(alarm("R-1", 2, "Boden"))["callout_id"]
        police.request(alarm("R-2", 1, "Piteå"))
        police.close()
        page.locator(f"#queue [data-callout='{boden}']").click()
        expect(page.locator("#detail-title")).to_contain_text(boden)

        page.reload()
        expect(page.locator("#conn")).to_have_attribute("data-state", "open")
        expect(page.locator(f"#queue [data-callout='{boden}']")).to_have_attribute(
            "aria-pressed", "true")
        expect(page.locator("#detail-title")).to_contain_text(boden)
        expect(page.locator("#recs li")).to_have_count(3)  # its recommendations are loaded

        page.keyboard.press("Escape")  # nothing selected: nothing comes back
        expect(page.locator("#detail-empty")).to_be_visible()
        page.reload()
        expect(page.locator("#queue .callout-item")).to_have_count(2)
        expect(page.locator("#queue [aria-pressed=true]")).to_have_count(0)

        page.evaluate("location.hash = '#callout=C-gone'")  # a callout that is not there
        page.reload()
        expect(page.locator("#queue .callout-item")).to_have_count(2)
        expect(page.locator("#detail-empty")).to_be_visible()
        page.wait_for_function("() => !location.hash.includes('callout=')")  # and forgotten
        assert errors == []
    finally:
        context.close()
