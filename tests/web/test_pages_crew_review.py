"""What a review of the crew's phone page found, in real Chromium against a real server: an
acknowledgement still in the outbox is not shown as at dispatch (its deadline stays and warns);
a new job is noticed wherever the crew has scrolled; the destination chosen and the facility
reported at survive a reload; the crew's own finished visit is no change of plan; a #token= link
opened in the running page logs in with it (asking first); nothing spills sideways at 320 px;
success notices fade and no notice covers the unsent badge; ending the shift asks first; the
outbox shows the service's clock; the map's zoom buttons are big enough; no vibration (and no
console error) before the first tap."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from dispatch.events import OutcomeRecorded, UnitStatusChanged
from tests.web.conftest import ManualClock, Server, Sock, screenshot
from tests.web.test_pages_crew import (
    BASE,
    PHONE,
    WAIT_MS,
    acknowledged_job,
    assigned_job,
    open_crew,
    raise_alarm,
    unsent,
)
from tests.web.test_pages_visits import visits_server

#: the service of every test here (conftest's ``server``): no acknowledge deadline runs out
SERVER_OPTIONS = {"ack_timeout_s": 3600}

#: a phone 320 px wide (the narrowest in use), in Swedish
NARROW = {**PHONE, "viewport": {"width": 320, "height": 700}}


def console_errors(page: Any) -> list[str]:
    """Every uncaught exception and console error of ``page`` from now on."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def transporting(page: Any) -> None:
    """An acknowledged job driven to the patient and on to a facility; the map's facilities
    known (the card names the nearest psychiatric emergency unit)."""
    for status in ("en_route", "on_scene", "transporting"):
        page.click(f"[data-status={status}]")
        page.wait_for_selector(f"#unit-status[data-status={status}]", timeout=WAIT_MS)
    page.wait_for_function("() => document.querySelectorAll('#facilities option').length > 1",
                           timeout=WAIT_MS)
    expect(page.locator("#facility")).not_to_have_value("")
    unsent(page, 0)


# -- 1: an acknowledgement in a coverage gap -------------------------------------------------

def test_an_acknowledgement_still_in_the_outbox_is_not_shown_as_at_dispatch(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    _cid, context, page = assigned_job(browser, server, dispatcher)
    page.wait_for_selector("#ack", state="visible", timeout=WAIT_MS)
    deadline = page.text_content("#job-deadline") or ""
    assert deadline.startswith("Kvittera senast ")
    time = deadline.removeprefix("Kvittera senast ")
    context.set_offline(True)
    page.wait_for_selector("#conn[data-conn=offline]", timeout=WAIT_MS)
    page.click("#ack")
    unsent(page, 1)
    status = page.locator("#job-callout-status")
    expect(status).to_have_text("Kvittens ej framme – skickas vid täckning")
    card = page.locator("#job-deadline")
    expect(card).to_be_visible()
    expect(card).to_contain_text(time)  # the deadline stays, and warns
    expect(card).to_have_attribute("data-warn", "unsent")
    assert "Kvitterad" not in (page.text_content("#job") or "")
    # Driving off while the acknowledgement waits: still not at dispatch. Past the deadline
    # (the service's clock says so) the card says the job may be gone.
    job = page.evaluate("window.maeCrew.projected().job")
    late = datetime.fromisoformat(job["ack_deadline"]) + timedelta(seconds=30)
    page.evaluate("at => window.maeCrew.clock.learn(at)", late.isoformat())
    page.click("[data-status=en_route]")
    unsent(page, 2)
    expect(status).to_have_text("Kvittens ej framme – skickas vid täckning")
    expect(card).to_have_attribute("data-warn", "late")
    expect(card).to_contain_text("Ring ledningen")
    screenshot(page, "crew-ack-unsent")
    context.set_offline(False)  # the server has it now (its deadline is an hour off)
    unsent(page, 0)
    expect(status).to_have_text("På väg")
    expect(card).to_have_text("")
    context.close()


# -- 2: a new job while the crew has scrolled down -------------------------------------------

def test_a_new_job_is_noticed_wherever_the_crew_has_scrolled_and_a_tap_leads_to_it(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    context, page = open_crew(browser, server, PHONE)
    page.wait_for_selector("#idle", state="visible", timeout=WAIT_MS)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    assert page.title() == "MAE Besättning"
    cid = raise_alarm(server)
    dispatcher.request({"type": "assign", "callout_id": cid, "unit_id": "MAE-SUNDERBY"})
    note = page.locator(f".crew-notice[data-job='{cid}']")
    expect(note).to_be_in_viewport()
    expect(note).to_contain_text(f"Nytt uppdrag {cid}")
    assert f"Nytt uppdrag {cid}" in page.title()
    expect(page.locator("#job")).not_to_be_in_viewport()
    screenshot(page, "crew-new-job-scrolled")
    note.locator(".notice-go").click()
    expect(page.locator("#ack")).to_be_in_viewport()
    expect(note).to_have_count(0)
    assert f"Nytt uppdrag {cid}" in page.title()  # until acknowledged
    page.click("#ack")
    expect(page).to_have_title("MAE Besättning")
    context.close()


# -- 3 and 4: the destination and the facility after a reload --------------------------------

def test_a_changed_destination_survives_a_reload(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    _cid, context, page = acknowledged_job(browser, server, dispatcher)
    transporting(page)
    nearest = page.input_value("#facility")
    names = page.eval_on_selector_all("#facilities option", "os => os.map(o => o.value)")
    other = next(n for n in names if n != nearest)
    page.click("#job-dest-change")
    page.fill("#facility", other)
    page.press("#facility", "Tab")  # the field's change
    expect(page.locator("#job-dest")).to_have_text(other)
    page.wait_for_function("to => window.maeCrew.route && window.maeCrew.route.to === to",
                           arg=other, timeout=WAIT_MS)
    page.reload()
    page.wait_for_function("() => window.maeCrew && window.maeCrew.ready", timeout=WAIT_MS)
    expect(page.locator("#facility")).to_have_value(other)
    expect(page.locator("#job-dest")).to_have_text(other)
    page.wait_for_function("() => document.querySelectorAll('#facilities option').length > 1",
                           timeout=WAIT_MS)
    page.wait_for_timeout(300)  # a route the page might (wrongly) fetch anew would start now
    page.wait_for_function("to => window.maeCrew.route && window.maeCrew.route.to === to",
                           arg=other, timeout=WAIT_MS)
    page.click("[data-status=at_facility]")
    unsent(page, 0)
    reported = [e.event for e in server.events() if isinstance(e.event, UnitStatusChanged)]
    assert reported[-1].facility == other
    context.close()


def test_the_facility_reported_at_is_in_the_outcome_form_after_a_reload(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    """Reported in a coverage gap, and the page reloaded before the phone is back."""
    _cid, context, page = acknowledged_job(browser, server, dispatcher)
    transporting(page)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=WAIT_MS)
    facility = page.input_value("#facility")
    context.set_offline(True)
    page.wait_for_selector("#conn[data-conn=offline]", timeout=WAIT_MS)
    page.click("[data-status=at_facility]")
    page.wait_for_selector("#unit-status[data-status=at_facility]", timeout=WAIT_MS)
    unsent(page, 1)
    page.reload()
    page.wait_for_selector("#outcome-panel", state="visible", timeout=WAIT_MS)
    expect(page.locator("#outcome-facility")).to_have_value(facility)
    context.set_offline(False)
    unsent(page, 0)
    page.check("input[value=transported_mae]")
    page.click("#outcome-form button[type=submit]")
    page.wait_for_selector("#idle", state="visible", timeout=WAIT_MS)
    assert page.text_content("#outcome-facility-error") == ""
    unsent(page, 0)
    outcome = [e.event for e in server.events() if isinstance(e.event, OutcomeRecorded)]
    assert len(outcome) == 1 and outcome[0].outcome.facility == facility
    context.close()


# -- 5: a visit the crew finished -------------------------------------------------------------

MORNING = datetime(2026, 1, 15, 7, 0, tzinfo=UTC)  # 08:00 in Stockholm


@pytest.fixture
def day(tmp_path: Path) -> Iterator[Server]:
    """The demo service at 08:00, planning visits quickly."""
    srv = visits_server(tmp_path, MORNING)
    yield srv
    srv.stop()


def test_finishing_a_visit_is_no_change_of_plan(browser: Any, day: Server) -> None:
    with day.http("psychiatry") as c:
        booked = c.post("/api/visits", json={
            "patient_ref": "P-301", "location": {"place": "Luleå"},
            "earliest_start": "2026-01-15T09:00:00+01:00",
            "latest_start": "2026-01-15T12:00:00+01:00", "duration_min": 45})
    assert booked.status_code < 300, booked.text
    visit = booked.json()["visit_id"]
    with day.http("dispatcher") as c:
        assert c.post(f"/api/visits/{visit}/pin", json={"unit_id": "MAE-SUNDERBY"}
                      ).status_code == 200
    context, page = open_crew(browser, day, PHONE)
    item = f"#visits-panel li[data-visit='{visit}']"
    page.click(f"{item} button.visit-start", timeout=WAIT_MS)
    unsent(page, 0)
    revision = page.get_attribute("#visits-panel", "data-revision")
    page.click(f"{item} button.visit-done")
    unsent(page, 0)
    # the day is planned again without the visit done: the phone takes that plan
    page.wait_for_selector(item, state="detached", timeout=WAIT_MS)
    page.wait_for_function(
        "r => document.querySelector('#visits-panel').dataset.revision !== r",
        arg=revision, timeout=WAIT_MS)
    with day.http("dispatcher") as c:
        latest = c.get("/api/visits/plan").json()["revision"]
    page.wait_for_selector(f"#visits-panel[data-revision='{latest}']", state="attached",
                           timeout=WAIT_MS)
    expect(page.locator("#visits-panel .visits-changed")).to_have_count(0)
    context.close()


# -- 6: another unit's link in the same tab ---------------------------------------------------

def test_a_token_link_opened_in_the_running_page_logs_in_with_it_after_asking(
    browser: Any, server: Server
) -> None:
    context, page = open_crew(browser, server, PHONE)
    expect(page.locator("#unit-name")).to_contain_text("Sunderby")
    asked: list[str] = []

    def answer(dialog: Any, accept: bool) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    pit = server.tokens["crew_pit"]
    page.once("dialog", lambda d: answer(d, False))
    page.evaluate("t => { location.hash = 'token=' + t; }", pit)
    page.wait_for_function("() => !location.hash.includes('token')", timeout=WAIT_MS)
    for _ in range(100):  # Playwright hands the dialog to its handler on its own turn
        if asked:
            break
        page.wait_for_timeout(50)
    # (it names unsent items when there are any: a position report may still be queued)
    assert asked and asked[0].startswith("Länken loggar in med en annan token.")
    expect(page.locator("#unit-name")).to_contain_text("Sunderby")  # said no: still Sunderby
    assert page.evaluate("localStorage.getItem('mae.token.crew')") == server.tokens["crew_sun"]

    page.once("dialog", lambda d: answer(d, True))
    page.evaluate("t => { location.hash = 'token=' + t; }", pit)
    expect(page.locator("#unit-name")).to_contain_text("Piteå")
    page.wait_for_function("() => window.maeCrew.ready", timeout=WAIT_MS)
    assert len(asked) == 2 and "token" not in page.url
    assert page.evaluate("localStorage.getItem('mae.token.crew')") == pit
    context.close()


# -- 7: 320 px wide, in Swedish ---------------------------------------------------------------

#: Words of ``selector``'s text that the layout split over two lines (Range rectangles).
SPLIT_WORDS = """sel => {
  const split = [];
  for (const root of document.querySelectorAll(sel)) {
    if (!root.offsetParent) continue;
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.parentElement.offsetParent) continue;
      for (const m of node.data.matchAll(/[^\\s\\-\\/]+/g)) {
        const r = document.createRange();
        r.setStart(node, m.index);
        r.setEnd(node, m.index + m[0].length);
        const tops = new Set([...r.getClientRects()].map((q) => Math.round(q.top)));
        if (tops.size > 1) split.push(m[0]);
      }
    }
  }
  return split;
}"""


def test_nothing_spills_sideways_at_320_px_in_swedish_with_a_job(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    cid = raise_alarm(server)
    dispatcher.request({"type": "assign", "callout_id": cid, "unit_id": "MAE-SUNDERBY"})
    context = browser.new_context(**NARROW, geolocation=BASE, permissions=["geolocation"])
    page = context.new_page()
    page.goto(f"{server.base}/crew#token={server.tokens['crew_sun']}")
    page.wait_for_function("() => window.maeCrew && window.maeCrew.ready", timeout=WAIT_MS)
    context.set_offline(True)  # the acknowledgement's warning (the longest words) first
    page.wait_for_selector("#conn[data-conn=offline]", timeout=WAIT_MS)
    page.click("#ack")
    expect(page.locator("#job-deadline")).to_have_attribute("data-warn", "unsent")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    context.set_offline(False)
    unsent(page, 0)
    transporting(page)
    page.wait_for_selector("#steps li", timeout=WAIT_MS)
    screenshot(page, "crew-320-transporting")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    spilled = page.eval_on_selector_all(
        "#status-buttons button, .route-head > *, #job button, #job a",
        "els => els.filter(e => e.offsetParent && (e.scrollWidth > e.clientWidth + 1"
        " || e.getBoundingClientRect().right > innerWidth)).map(e => e.textContent)")
    assert spilled == []
    assert page.evaluate(SPLIT_WORDS, "#job, #status-panel, #route .route-head") == []
    context.close()


# -- 8: notices ------------------------------------------------------------------------------

def test_a_success_notice_fades_and_no_notice_covers_the_unsent_badge(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    cid, context, page = acknowledged_job(browser, server, dispatcher)
    dispatcher.request({"type": "message", "unit_id": "MAE-SUNDERBY", "text": "Ring oss"})
    message = page.locator(".crew-notice", has_text="Ring oss")
    expect(message).to_be_visible()
    page.click("[data-status=en_route]")
    page.click("[data-status=on_scene]")
    page.check("input[value=stayed_home]")
    page.click("#outcome-form button[type=submit]")
    closed = page.locator(".crew-notice.ok", has_text=f"Uppdraget {cid} är avslutat")
    expect(closed).to_be_visible()
    context.set_offline(True)
    page.wait_for_selector("#conn[data-conn=offline]", timeout=WAIT_MS)
    page.fill("#message-text", "Uppfattat")
    page.click("#message-form button[type=submit]")
    badge = page.locator("#outbox-count")
    expect(badge).to_be_visible()
    # wherever the crew scrolls the status bar to, the badge is never under a notice
    top = page.evaluate("document.querySelector('.crew-status-bar').getBoundingClientRect().top"
                        " + scrollY")
    header = page.evaluate("document.querySelector('.crew-header').offsetHeight")
    for y in range(0, int(top) + 200, 20):
        page.evaluate("y => window.scrollTo(0, y)", y)
        covered = page.evaluate("""() => {
          const b = document.getElementById('outbox-count').getBoundingClientRect();
          const x = b.left + b.width / 2, y = b.top + b.height / 2;
          if (y < 0 || y > innerHeight) return false;
          const hit = document.elementFromPoint(x, y);
          return Boolean(hit && hit.closest('.crew-notices'));
        }""")
        assert not covered, f"a notice covers the unsent badge at scrollY {y} (header {header})"
    expect(closed).to_have_count(0, timeout=WAIT_MS)  # gone by itself
    expect(message).to_be_visible()  # a message stays until dismissed
    context.close()


# -- 9: small things ---------------------------------------------------------------------------

def test_ending_the_shift_asks_first(browser: Any, server: Server) -> None:
    context, page = open_crew(browser, server, PHONE)
    page.wait_for_selector("#shift-end", state="visible", timeout=WAIT_MS)
    asked: list[str] = []

    def answer(dialog: Any, accept: bool) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    page.click("#shift-end")
    assert asked and "Avsluta passet" in asked[0]
    page.wait_for_timeout(300)  # a shift end sent anyway would be back by now
    assert page.text_content("#unit-status") == "Tillgänglig"
    page.once("dialog", lambda d: answer(d, True))
    page.click("#shift-end")
    page.wait_for_selector("#unit-status[data-status=off_duty]", timeout=WAIT_MS)
    context.close()


@pytest.fixture
def afternoon(tmp_path: Path) -> Iterator[Server]:
    """The demo service whose clock stands at 2026-01-15 15:00 Swedish time (not the phone's)."""
    from tests.web.conftest import make_tokens, thread_server

    db = tmp_path / "afternoon.sqlite3"
    srv = thread_server(db, make_tokens(db), clock=ManualClock(), demo_units=True,
                        ack_timeout_s=3600)
    yield srv
    srv.stop()


def test_the_outbox_shows_the_services_clock(browser: Any, afternoon: Server) -> None:
    context, page = open_crew(browser, afternoon, PHONE)
    page.wait_for_function("() => window.maeCrew.clock.known", timeout=WAIT_MS)
    context.set_offline(True)
    page.wait_for_selector("#conn[data-conn=offline]", timeout=WAIT_MS)
    page.fill("#message-text", "Hej")
    page.click("#message-form button[type=submit]")
    item = page.locator("#outbox-list li[data-type=message]")
    expect(item).to_have_count(1)
    assert (item.text_content() or "").startswith("15:00 ")  # the service's 15:00
    context.close()


def test_the_maps_zoom_buttons_are_big_enough_to_tap(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    _cid, context, page = assigned_job(browser, server, dispatcher)
    page.wait_for_selector("#map .leaflet-control-zoom a", timeout=WAIT_MS)
    for button in page.locator("#map .leaflet-control-zoom a").all():
        box = button.bounding_box()
        assert box and box["width"] >= 44 and box["height"] >= 44, box
    context.close()


def test_no_vibration_and_no_console_error_before_the_first_tap(
    browser: Any, server: Server, dispatcher: Sock
) -> None:
    context = browser.new_context(**PHONE, geolocation=BASE, permissions=["geolocation"])
    context.add_init_script("""
      window.vibrated = 0;
      const vibrate = navigator.vibrate.bind(navigator);
      navigator.vibrate = (p) => { window.vibrated += 1; return vibrate(p); };
    """)
    page = context.new_page()
    errors = console_errors(page)
    page.goto(f"{server.base}/crew#token={server.tokens['crew_sun']}")
    page.wait_for_function("() => window.maeCrew && window.maeCrew.ready", timeout=WAIT_MS)
    first = raise_alarm(server)
    dispatcher.request({"type": "assign", "callout_id": first, "unit_id": "MAE-SUNDERBY"})
    page.wait_for_function("() => window.maeCrew.alerts === 1", timeout=WAIT_MS)
    assert page.evaluate("window.vibrated") == 0
    assert [e for e in errors if "vibrate" in e] == []
    page.click("#ack")  # a tap: the next job vibrates
    unsent(page, 0)
    dispatcher.request({"type": "cancel", "callout_id": first, "code": "duplicate"})
    page.wait_for_selector("#idle", state="visible", timeout=WAIT_MS)
    second = raise_alarm(server, reference="P-2")
    dispatcher.request({"type": "assign", "callout_id": second, "unit_id": "MAE-SUNDERBY"})
    page.wait_for_function("() => window.maeCrew.alerts === 2", timeout=WAIT_MS)
    assert page.evaluate("window.vibrated") == 1
    assert [e for e in errors if "vibrate" in e] == []
    context.close()
