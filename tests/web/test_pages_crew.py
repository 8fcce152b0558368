"""The crew's phone page in a real Chromium against a real server: a job arrives with its route,
the crew acknowledges and works it to an outcome; offline, statuses and positions wait in the
outbox and reach the server exactly once and in order when the phone is back (positions
collapse to the latest); a status the world moved past is dropped with a notice; the service
worker opens the page without a connection; a refused token takes the unit's stored data with it
and another unit's login never sees or sends it; times are Swedish whatever the phone's zone."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from dispatch.model import OutcomeKind
from tests.web.conftest import Server, Sock, screenshot
from web import crewpage
from web.auth import PrincipalStore

BASE = {"latitude": 65.67, "longitude": 21.98}  # Sunderby sjukhus, MAE-SUNDERBY's base
MOVED = {"latitude": 65.676, "longitude": 21.99}  # about 800 m on
FURTHER = [{"latitude": 65.683, "longitude": 22.0}, {"latitude": 65.69, "longitude": 22.01},
           {"latitude": 65.697, "longitude": 22.02}]  # and on, 800 m at a time
STOCKHOLM = ZoneInfo("Europe/Stockholm")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
NEW_YORK_PHONE = {**PHONE, "timezone_id": "America/New_York"}  # a phone set to another zone
ALARM = {"type": "alarm", "reference": "P-1", "priority": 1, "category": "suicide_risk",
         "location": {"place": "Boden"}, "police_on_scene": True,
         "note": "Hotar att skada sig"}
WAIT_MS = 15_000


def stored(db: Path, since: int = 0) -> list[dict[str, Any]]:
    """The events after ``since``, read straight from the SQLite file, with their seq."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT seq, data FROM events WHERE seq > ? ORDER BY seq", (since,))
        return [{"seq": int(s), **json.loads(d)} for s, d in rows]


def last_seq(db: Path) -> int:
    events = stored(db)
    return events[-1]["seq"] if events else 0


#: the service of every test here (conftest's ``server``): no acknowledge deadline runs out
SERVER_OPTIONS = {"ack_timeout_s": 3600}


def raise_alarm(server: Server, **changes: Any) -> str:
    police = server.socket("/ws/agency", "police")
    police.ready()
    reply = police.request({**ALARM, **changes})
    police.close()
    assert reply["type"] == "alarm_ack", reply
    return str(reply["callout_id"])


def open_crew(browser: Any, server: Server, device: dict[str, Any]) -> tuple[Any, Any]:
    """A phone (or desktop) logged in as MAE-SUNDERBY's crew, GPS at the base, connected."""
    context = browser.new_context(**device, geolocation=BASE, permissions=["geolocation"])
    page = context.new_page()
    page.goto(f"{server.base}/crew#token={server.tokens['crew_sun']}")
    page.wait_for_function("() => window.maeCrew && window.maeCrew.ready", timeout=WAIT_MS)
    assert "token" not in page.url
    return context, page


def assigned_job(browser: Any, server: Server, dispatcher: Sock) -> tuple[str, Any, Any]:
    """A police alarm assigned to MAE-SUNDERBY, its phone open: (callout id, context, page)."""
    cid = raise_alarm(server)
    dispatcher.request({"type": "assign", "callout_id": cid, "unit_id": "MAE-SUNDERBY"})
    context, page = open_crew(browser, server, PHONE)
    return cid, context, page


def acknowledged_job(browser: Any, server: Server, dispatcher: Sock) -> tuple[str, Any, Any]:
    """The same job acknowledged on the phone."""
    cid, context, page = assigned_job(browser, server, dispatcher)
    page.wait_for_selector("#ack", state="visible", timeout=WAIT_MS)
    page.click("#ack")
    page.wait_for_selector("#job-callout-status:text('Kvitterad')", timeout=WAIT_MS)
    return cid, context, page


def unsent(page: Any, n: int) -> None:
    page.wait_for_selector(f'#outbox[data-count="{n}"]', state="attached", timeout=WAIT_MS)


def test_a_crew_gets_a_job_and_works_it_to_an_outcome(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    cid = raise_alarm(server)
    context, page = open_crew(browser, server, NEW_YORK_PHONE)
    page.wait_for_selector("#idle", state="visible")
    assert page.text_content("#unit-status") == "Tillgänglig"
    assert dispatcher.request({"type": "assign", "callout_id": cid,
                               "unit_id": "MAE-SUNDERBY"})["type"] == "ok"

    page.wait_for_selector("#job", state="visible", timeout=WAIT_MS)
    page.wait_for_selector("#steps li", timeout=WAIT_MS)  # the route from /api/route
    assert page.evaluate("window.maeCrew.alerts") == 1  # beep and vibration once
    assert page.text_content("#job-category") == "Suicidrisk"
    assert page.text_content("#job-priority") == "Prio 1"
    assert page.text_content("#job-callout-status") == "Larmad"  # the crew's own word
    assert "Polis" in (page.text_content("#job-agencies") or "")  # shared vocabulary (lib/vocab.js)
    assert page.text_content("#job-address") == "Boden"
    assert page.text_content(".onscene-police") == "Polis: på plats"
    assert page.text_content(".onscene-ambulance") == "Ambulans: inte på plats"
    assert "Hotar att skada sig" in (page.text_content("#job-notes") or "")
    road = page.text_content("#steps li[data-kind=road]") or ""
    assert "väg 97" in road and "km" in road and "min" in road
    assert page.is_visible("#ack") and page.is_visible("#map .leaflet-interactive")
    eta_at = datetime.fromisoformat(page.evaluate("window.maeCrew.projected().job.eta_at"))
    swedish = eta_at.astimezone(STOCKHOLM).strftime("%H:%M")  # not the phone's New York time
    assert (page.text_content("#job-eta") or "").startswith(f"{swedish} (")
    screenshot(page, "crew-phone")
    desk_context, desk = open_crew(browser, server, DESKTOP)
    desk.wait_for_selector("#steps li", timeout=WAIT_MS)
    screenshot(desk, "crew-desktop")
    desk_context.close()

    def enabled() -> list[str]:
        return list(page.eval_on_selector_all(
            "#status-buttons button:not([disabled])", "bs => bs.map(b => b.dataset.status)"))

    page.click("#ack")
    page.wait_for_selector("#job-callout-status:text('Kvitterad')", timeout=WAIT_MS)
    unsent(page, 0)
    assert enabled() == ["en_route"]
    page.click("[data-status=en_route]")
    page.wait_for_function(
        "() => document.querySelector('[data-status=on_scene]').disabled === false")
    page.click("[data-status=on_scene]")
    page.wait_for_selector("#outcome-panel", state="visible")
    assert enabled() == ["transporting"]
    # on scene, a transport by MAE cannot be recorded yet: the drive is reported first
    assert page.is_disabled("input[value=transported_mae]")
    assert page.is_visible("text=Tryck Transporterar först")
    page.click("[data-status=transporting]")
    page.wait_for_function(
        "() => !document.querySelector('input[value=transported_mae]').disabled")
    assert not page.is_visible("text=Tryck Transporterar först")
    page.fill("#facility", "Sunderby sjukhus")
    page.click("[data-status=at_facility]")
    page.wait_for_selector("#unit-status[data-status=at_facility]", timeout=WAIT_MS)

    page.check("input[value=transported_mae]")
    page.fill("#outcome-facility", "")  # prefilled from Vid mottagning: emptied by hand
    page.click("#outcome-form button[type=submit]")
    assert page.text_content("#outcome-facility-error") == "Ange mottagande enhet för en transport."
    page.fill("#outcome-facility", "Sunderby sjukhus")
    page.check("#followup")
    # the next 1 February (winter time, within the year ahead), typed in Swedish time on a
    # phone in New York; a follow-up in the past is refused on the page first
    today = datetime.now(STOCKHOLM).date()
    year = today.year if today < date(today.year, 2, 1) else today.year + 1
    page.fill("#followup-at", f"{today.year - 1}-02-01T10:00")
    page.click("#outcome-form button[type=submit]")
    assert "från nu" in (page.text_content("#followup-error") or "")
    page.fill("#followup-at", f"{year}-02-01T10:00")
    page.click("#outcome-form button[type=submit]")
    page.wait_for_selector("#idle", state="visible", timeout=WAIT_MS)
    unsent(page, 0)
    assert enabled() == ["available", "returning"]
    page.click("[data-status=returning]")
    page.wait_for_function(
        "() => document.querySelector('[data-status=available]').disabled === false")
    page.click("[data-status=available]")
    page.wait_for_selector("#unit-status[data-status=available]")
    unsent(page, 0)
    page.click("#lang")
    assert page.text_content("#unit-status") == "Available"

    events = [e for e in stored(server.db) if e.get("callout_id") == cid
              or e.get("unit_id") == "MAE-SUNDERBY"]
    kinds = [(e["type"], e.get("status")) for e in events
             if e["type"] not in ("UnitPositionReported", "UnitRegistered", "ShiftStarted")]
    assert kinds == [
        ("AlarmReceived", None), ("UnitAssigned", None), ("AssignmentAcknowledged", None),
        ("UnitStatusChanged", "en_route"), ("UnitStatusChanged", "on_scene"),
        ("UnitStatusChanged", "transporting"), ("UnitStatusChanged", "at_facility"),
        ("OutcomeRecorded", None), ("VisitBooked", None),  # the follow-up asked for (issue 14)
        ("UnitStatusChanged", "returning"), ("UnitStatusChanged", "available"),
    ]
    outcome = next(e["outcome"] for e in events if e["type"] == "OutcomeRecorded")
    assert outcome["kind"] == "transported_mae" and outcome["facility"] == "Sunderby sjukhus"
    assert datetime.fromisoformat(outcome["follow_up_at"]) == datetime(year, 2, 1, 9, 0, tzinfo=UTC)
    context.close()


def test_offline_changes_wait_in_the_outbox_and_arrive_once_in_order(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    _cid, context, page = acknowledged_job(browser, server, dispatcher)
    unsent(page, 0)  # the acknowledgement and the first GPS fix are through
    before = last_seq(server.db)

    context.set_offline(True)
    page.wait_for_selector("#conn[data-conn=offline]", timeout=WAIT_MS)
    page.click("[data-status=en_route]")
    context.set_geolocation(MOVED)  # the car moves 800 m: a position report
    unsent(page, 2)
    page.click("[data-status=on_scene]")
    page.click("[data-status=transporting]")
    unsent(page, 4)
    assert page.text_content("#outbox-count") == "Osänt (4)"
    types = page.eval_on_selector_all("#outbox-list li", "ls => ls.map(l => l.dataset.type)")
    assert types == ["status", "position", "status", "status"]
    assert page.text_content("#unit-status") == "Transporterar"  # shown at once, not yet sent
    ops = page.evaluate("window.maeCrew.outbox.items.map(i => i.op)")
    assert last_seq(server.db) == before

    context.set_offline(False)
    unsent(page, 0)
    page.wait_for_selector("#conn[data-conn=open]", timeout=WAIT_MS)
    arrived = [(e["type"], e.get("status")) for e in stored(server.db, before)]
    assert arrived == [("UnitStatusChanged", "en_route"), ("UnitStatusChanged", "on_scene"),
                       ("UnitStatusChanged", "transporting")]  # positions are not logged
    moved = (MOVED["latitude"], MOVED["longitude"])
    dispatcher.until(lambda m: m.get("type") == "unit_positions" and moved in {
        (p["position"]["lat"], p["position"]["lon"]) for p in m["positions"]})
    with sqlite3.connect(server.db) as conn:
        seqs = [conn.execute("SELECT seq FROM ops WHERE op = ?", (op,)).fetchall() for op in ops]
    statuses = [e["seq"] for e in stored(server.db, before)]
    assert [s[0][0] if s else None for s in seqs] == [statuses[0], None, *statuses[1:]]
    assert page.is_hidden("#outbox-count")
    context.close()


def test_a_status_the_world_moved_past_is_dropped_with_a_notice(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    cid, context, page = acknowledged_job(browser, server, dispatcher)
    unsent(page, 0)
    context.set_offline(True)
    page.wait_for_selector("#conn[data-conn=offline]", timeout=WAIT_MS)
    page.click("[data-status=en_route]")
    unsent(page, 1)
    before = last_seq(server.db)
    assert dispatcher.request({"type": "cancel", "callout_id": cid,
                               "code": "wrong_alarm"})["type"] == "ok"

    context.set_offline(False)
    unsent(page, 0)
    page.wait_for_selector(".crew-notice.error", timeout=WAIT_MS)
    refused = page.text_content(".crew-notice.error") or ""
    # in the page's words, from the error's code: not the service's English message
    assert "Status: På väg. Uppdrag: går inte med uppdraget i dess nuvarande läge." in refused
    assert "no longer" not in refused and f"callout {cid}" not in refused
    assert f"Uppdraget {cid} är avbrutet: Felaktigt larm" in (page.text_content("#notices") or "")
    page.wait_for_selector("#idle", state="visible")
    assert page.text_content("#unit-status") == "Tillgänglig"
    assert [e["type"] for e in stored(server.db, before)] == ["CalloutCancelled"]
    context.close()


def test_the_page_opens_from_the_service_worker_cache_without_a_connection(
    browser: Any, server: Server
) -> None:
    context, page = open_crew(browser, server, PHONE)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=WAIT_MS)
    server.stop()
    context.set_offline(True)
    response = page.reload()
    assert response is not None and response.from_service_worker
    page.wait_for_selector("#app", state="visible", timeout=WAIT_MS)
    assert page.text_content("h1 [data-i18n='crew.title']") == "MAE Besättning"
    assert page.text_content("#unit-status") == "Tillgänglig"  # the last state it knew
    page.wait_for_selector("#conn[data-conn=offline]", timeout=WAIT_MS)
    assert page.evaluate("typeof window.L") == "object"  # Leaflet came from the cache too
    unsent(page, 1)  # the GPS fix after the reload waits for the connection
    page.click("[data-status=unavailable]")
    unsent(page, 2)
    types = page.eval_on_selector_all("#outbox-list li", "ls => ls.map(l => l.dataset.type)")
    assert types == ["position", "status"]
    context.close()


def test_the_shell_the_worker_caches_is_served(server: Server) -> None:
    with httpx.Client(base_url=server.base, timeout=10.0) as http:
        page = http.get("/crew")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        worker = http.get("/crew/sw.js")
        assert worker.status_code == 200
        assert worker.headers["service-worker-allowed"] == "/crew"
        assert worker.headers["cache-control"] == "no-cache"
        assert "javascript" in worker.headers["content-type"]
        found = re.search(r"const SHELL = (\[.*?\]);", worker.text)
        assert found and "__VERSION__" not in worker.text
        shell = json.loads(found.group(1))
        assert {"/crew", "/static/crew/crew.js", "/static/lib/session.js", "/static/mae.css",
                "/vendor/leaflet/leaflet.js"} <= set(shell)
        for url in shell:  # cache.addAll fails on any miss
            assert http.get(url).status_code == 200, url
        manifest = http.get("/crew/manifest.webmanifest")
        assert manifest.headers["content-type"].startswith("application/manifest+json")
        assert manifest.json()["start_url"] == "/crew" and manifest.json()["scope"] == "/crew"
        flow = http.get("/crew/workflow.json").json()
    assert flow["unit_transitions"]["transporting"] == ["at_facility"]
    assert "dispatched" not in flow["reportable"] and "off_duty" not in flow["reportable"]
    assert {k["kind"] for k in flow["outcome_kinds"]} == {k.value for k in OutcomeKind}
    assert sorted(flow["closable"]) == ["on_scene", "transporting"]


def refused_login(browser: Any, server: Server) -> tuple[Any, Any]:
    """A phone's crew page after a well-formed token the service does not know was typed in
    the login form and refused: its browser context and page."""
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(f"{server.base}/crew")
    page.wait_for_selector("#login", state="visible", timeout=WAIT_MS)
    page.fill("#token-input", "mae_0123456789abcdef_not-the-right-secret-at-all")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-error:not(:empty)", timeout=WAIT_MS)
    return context, page


def test_a_bad_token_is_refused_and_the_form_logs_in(browser: Any, server: Server) -> None:
    context, page = refused_login(browser, server)
    assert (page.text_content("#login-error") or "").startswith("Token godtogs inte")
    assert page.get_attribute("#token-input", "aria-invalid") == "true"
    page.fill("#token-input", server.tokens["crew_sun"])
    page.press("#token-input", "Enter")
    page.wait_for_function("() => window.maeCrew.ready", timeout=WAIT_MS)
    assert page.is_visible("#app") and page.is_hidden("#login")
    assert page.text_content("#unit-name") == "· MAE Södra Sunderbyn"
    context.close()


def test_the_header_says_disconnected_after_a_refused_or_revoked_token(
    browser: Any, server: Server
) -> None:
    """The header never says connected while the login form is shown: neither after a token
    the service refused nor after the token is revoked while the page is open."""
    context, page = refused_login(browser, server)
    page.wait_for_selector("#conn[data-state=closed]", state="attached", timeout=WAIT_MS)
    assert page.text_content("#conn") == "Frånkopplad"

    page.fill("#token-input", server.tokens["crew_sun"])
    page.press("#token-input", "Enter")
    page.wait_for_function("() => window.maeCrew.ready", timeout=WAIT_MS)
    assert page.text_content("#conn") == "Ansluten"
    principals = server.principals()
    assert principals.revoke(server.tokens["crew_sun"].split("_")[1])
    principals.close()
    page.evaluate("window.maeCrew.reportPosition(65.671, 21.981)")  # its next message
    page.wait_for_selector("#login", state="visible", timeout=WAIT_MS)
    assert (page.text_content("#login-error") or "").startswith("Token godtogs inte")
    page.wait_for_selector("#conn[data-state=closed]", state="attached", timeout=WAIT_MS)
    assert page.text_content("#conn") == "Frånkopplad"
    context.close()


@pytest.mark.parametrize(("lang", "refused", "closed"), [
    ("sv", "Token godtogs inte: det är ingen token", "Frånkopplad"),
    ("en", "Token not accepted: that is no token", "Disconnected"),
], ids=["sv", "en"])
def test_a_malformed_token_is_refused_in_the_pages_language(
    browser: Any, server: Server, lang: str, refused: str, closed: str
) -> None:
    """A token with characters no token has (a space) is refused in the page's own words, and
    the header says disconnected rather than connecting for ever."""
    context = browser.new_context(**PHONE)
    context.add_init_script(f"localStorage.setItem('mae.lang', '{lang}')")
    page = context.new_page()
    page.goto(f"{server.base}/crew#token=hello%20world")
    page.wait_for_selector("#login-error:not(:empty)", timeout=WAIT_MS)
    error = page.text_content("#login-error") or ""
    assert error.startswith(refused), error
    assert "that is not a token" not in error  # the socket's own words are for developers
    page.wait_for_selector("#conn[data-state=closed]", state="attached", timeout=WAIT_MS)
    assert page.text_content("#conn") == closed
    assert page.evaluate("localStorage.getItem('mae.token.crew')") is None
    context.close()


def test_acknowledging_by_keyboard_moves_focus_to_the_next_step(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    """Enter on "Kvittera uppdraget" hides the button: focus goes on to the status now to
    report (På väg), not back to the page's body."""
    _cid, context, page = assigned_job(browser, server, dispatcher)
    page.wait_for_selector("#ack", state="visible", timeout=WAIT_MS)
    page.focus("#ack")
    page.keyboard.press("Enter")
    page.wait_for_selector("#job-callout-status:text('Kvitterad')", timeout=WAIT_MS)
    page.wait_for_function(
        "() => document.activeElement && document.activeElement.dataset.status === 'en_route'",
        timeout=WAIT_MS)
    assert page.is_hidden("#ack")
    context.close()


def test_offline_positions_collapse_to_the_latest_between_statuses(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    """Hours without a connection do not pile up positions: each new one replaces a position
    waiting last in the outbox, while statuses keep their order around them."""
    _cid, context, page = acknowledged_job(browser, server, dispatcher)
    unsent(page, 0)
    before = last_seq(server.db)

    def last_position_is(where: dict[str, float]) -> None:
        page.wait_for_function(
            """([lat, lon]) => { const items = window.maeCrew.outbox.items;
                const m = items.length && items[items.length - 1].msg;
                return m && m.type === "position" && m.lat === lat && m.lon === lon; }""",
            arg=[where["latitude"], where["longitude"]], timeout=WAIT_MS)

    context.set_offline(True)
    page.wait_for_selector("#conn[data-conn=offline]", timeout=WAIT_MS)
    page.click("[data-status=en_route]")
    for where in (MOVED, *FURTHER[:2]):  # three fixes, 800 m apart
        context.set_geolocation(where)
        last_position_is(where)
    page.click("[data-status=on_scene]")
    context.set_geolocation(FURTHER[2])
    last_position_is(FURTHER[2])
    types = page.eval_on_selector_all("#outbox-list li", "ls => ls.map(l => l.dataset.type)")
    assert types == ["status", "position", "status", "position"]
    assert last_seq(server.db) == before

    seen_before = len(dispatcher.messages)
    context.set_offline(False)
    unsent(page, 0)
    arrived = stored(server.db, before)
    assert [(e["type"], e.get("status")) for e in arrived] == [
        ("UnitStatusChanged", "en_route"), ("UnitStatusChanged", "on_scene")]
    last = (FURTHER[2]["latitude"], FURTHER[2]["longitude"])
    # a position right after another is held by the rate limit, then shown
    dispatcher.until(lambda m: m.get("type") == "unit_positions" and last in {
        (p["position"]["lat"], p["position"]["lon"]) for p in m["positions"]})
    shown = [(p["position"]["lat"], p["position"]["lon"]) for m in
             dispatcher.messages[seen_before:] if m.get("type") == "unit_positions"
             for p in m["positions"] if p["unit_id"] == "MAE-SUNDERBY"]
    assert shown[-1] == last  # positions the outbox replaced never reached the server:
    assert (MOVED["latitude"], MOVED["longitude"]) not in shown
    assert (FURTHER[0]["latitude"], FURTHER[0]["longitude"]) not in shown
    context.close()


CREW_KEYS = """() => Object.keys(localStorage).filter(k => k.startsWith("mae.crew.")
    && k !== "mae.crew.workflow").sort()"""


def test_a_refused_token_takes_the_units_stored_job_and_outbox_with_it(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    _cid, context, page = assigned_job(browser, server, dispatcher)
    page.wait_for_selector("#job-notes li", timeout=WAIT_MS)
    assert page.evaluate(CREW_KEYS) == [
        "mae.crew.outbox.MAE-SUNDERBY", "mae.crew.state.MAE-SUNDERBY", "mae.crew.unit"]
    context.set_offline(True)
    page.wait_for_selector("#conn[data-conn=offline]", timeout=WAIT_MS)
    page.click("#ack")
    page.click("[data-status=en_route]")
    page.wait_for_selector("#outbox-list li[data-type=status]", state="attached", timeout=WAIT_MS)
    waiting = int(page.get_attribute("#outbox", "data-count") or 0)  # and maybe a GPS fix
    assert waiting >= 2
    before = last_seq(server.db)
    principals = PrincipalStore(server.db)
    assert principals.revoke(server.tokens["crew_sun"].split("_")[1])  # the phone was lost
    principals.close()

    context.set_offline(False)
    page.wait_for_selector("#login", state="visible", timeout=WAIT_MS)
    assert (page.text_content("#login-error") or "").startswith("Token godtogs inte")
    assert (page.text_content("#login-notice") or "").startswith(
        f"{waiting} osända poster togs bort")
    assert page.evaluate(CREW_KEYS) == []
    assert page.evaluate("localStorage.getItem('mae.token.crew')") is None
    assert "Hotar att skada sig" not in page.content()
    assert stored(server.db, before) == []  # nothing of the refused token got through

    page.fill("#token-input", server.tokens["crew_pit"])  # the next unit logs in on this phone
    page.press("#token-input", "Enter")
    page.wait_for_function("() => window.maeCrew.ready", timeout=WAIT_MS)
    assert page.is_hidden("#login-notice") and page.is_hidden("#job")
    assert "Sunderby" not in (page.text_content("#unit-name") or "")
    queued = page.evaluate("window.maeCrew.outbox.items.map(i => i.msg.type)")
    assert set(queued) <= {"position"}  # none of Sunderby's acknowledgement and status
    context.close()


def test_another_units_login_never_shows_or_sends_the_first_units_data(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    _cid, context, page = assigned_job(browser, server, dispatcher)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=WAIT_MS)
    page.wait_for_selector("#job-notes li", timeout=WAIT_MS)
    page.click("#ack")
    page.wait_for_selector("#job-callout-status:text('Kvitterad')", timeout=WAIT_MS)
    unsent(page, 0)
    context.set_offline(True)
    page.wait_for_selector("#conn[data-conn=offline]", timeout=WAIT_MS)
    page.click("[data-status=en_route]")
    page.wait_for_selector("#outbox-list li[data-type=status]", state="attached", timeout=WAIT_MS)
    before = last_seq(server.db)

    # Piteå's token arrives (a #token= link) while the phone is still offline: the page opens
    # from the cache and shows nothing of Sunderby's job or queue.
    page.evaluate("t => localStorage.setItem('mae.token.crew', t)", server.tokens["crew_pit"])
    page.reload()
    page.wait_for_selector("#app", state="visible", timeout=WAIT_MS)
    assert page.text_content("#unit-status") == "–" and page.is_hidden("#job")
    unsent(page, 0)
    assert "Hotar att skada sig" not in page.content()
    context.set_offline(False)
    page.wait_for_function("() => window.maeCrew.ready", timeout=WAIT_MS)
    assert "Sunderby" not in (page.text_content("#unit-name") or "")
    assert page.is_hidden("#job")
    assert not [e for e in stored(server.db, before) if e.get("unit_id") == "MAE-SUNDERBY"]

    # Sunderby's token again: its queue was kept for it and goes out now, once.
    page.evaluate("t => localStorage.setItem('mae.token.crew', t)", server.tokens["crew_sun"])
    page.reload()
    page.wait_for_function("() => window.maeCrew.ready", timeout=WAIT_MS)
    unsent(page, 0)
    mine = [(e["type"], e.get("status")) for e in stored(server.db, before)
            if e.get("unit_id") == "MAE-SUNDERBY" and e["type"] != "UnitPositionReported"]
    assert mine == [("UnitStatusChanged", "en_route")]
    context.close()


def test_the_worker_version_follows_the_workflow(monkeypatch: pytest.MonkeyPatch) -> None:
    """A changed workflow is a new worker (and cache), as a changed file is."""
    template = (crewpage.CREW_DIR / "sw.js").read_text(encoding="utf-8")
    before = crewpage._version(template)
    assert crewpage._version(template) == before
    changed = {**crewpage.workflow(), "reportable": ["available"]}
    monkeypatch.setattr(crewpage, "workflow", lambda: changed)
    assert crewpage._version(template) != before


def test_a_changed_workflow_reaches_a_running_page_when_it_reconnects(
    browser: Any, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker is asked again when the socket comes back; the new version (here: a new
    workflow) takes over and the page reloads into it once its outbox is through."""
    context, page = open_crew(browser, server, PHONE)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=WAIT_MS)
    unsent(page, 0)
    page.evaluate("window.oldPage = true")
    context.set_offline(True)
    page.wait_for_selector("#conn[data-conn=offline]", timeout=WAIT_MS)
    before = last_seq(server.db)
    page.click("[data-status=unavailable]")
    page.wait_for_selector("#outbox-list li[data-type=status]", state="attached", timeout=WAIT_MS)
    changed = {**crewpage.workflow(), "revision": 2}
    monkeypatch.setattr(crewpage, "workflow", lambda: changed)  # the service was updated

    context.set_offline(False)
    page.wait_for_function("() => !window.oldPage && window.maeCrew && window.maeCrew.ready",
                           timeout=WAIT_MS)
    assert page.evaluate("JSON.parse(localStorage.getItem('mae.crew.workflow')).revision") == 2
    flow = page.evaluate("fetch('/crew/workflow.json').then(r => r.json())")  # network first
    assert flow["revision"] == 2
    unsent(page, 0)
    statuses = [e.get("status") for e in stored(server.db, before)
                if e["type"] == "UnitStatusChanged"]
    assert statuses == ["unavailable"]  # sent once, before or across the reload
    context.close()



def test_a_page_reloaded_with_a_job_on_it_connects_again_and_shows_the_job(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    """Drawing the stored route before the map had a size threw (a NaN zoom in Leaflet) and
    stopped the page before it connected: a crew that reloaded saw its job but never got news."""
    _cid, context, page = assigned_job(browser, server, dispatcher)
    page.wait_for_selector("#job-notes li", timeout=WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.reload()
    page.wait_for_function("() => window.maeCrew.ready", timeout=WAIT_MS)
    page.wait_for_selector("#job-notes li", timeout=WAIT_MS)
    page.click("#ack")
    page.wait_for_selector("#job-callout-status:text('Kvitterad')", timeout=WAIT_MS)
    assert errors == []
    context.close()


def test_copies_stored_under_the_old_unkeyed_names_are_removed_unread(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    """Builds before the keys named the unit kept a job (its notes) under one key per phone;
    the page never reads such a copy and removes it when the token is bound again."""
    _cid, context, page = assigned_job(browser, server, dispatcher)
    page.wait_for_selector("#job-notes li", timeout=WAIT_MS)
    page.evaluate("""() => {
        localStorage.setItem("mae.crew.state", JSON.stringify({unit: {unit_id: "MAE-SUNDERBY"}}));
        localStorage.setItem("mae.crew.outbox", "[]");
    }""")
    page.reload()
    page.wait_for_function("() => window.maeCrew.ready", timeout=WAIT_MS)
    page.wait_for_function("() => localStorage.getItem('mae.crew.state') === null", timeout=WAIT_MS)
    assert page.evaluate(CREW_KEYS) == [
        "mae.crew.outbox.MAE-SUNDERBY", "mae.crew.state.MAE-SUNDERBY", "mae.crew.unit"]
    context.close()
