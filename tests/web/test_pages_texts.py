"""Every text shown exists in Swedish and English: each page's registered text tables have the
same keys in both languages, a page switched to English shows no Swedish-only text (static
HTML, dynamic parts and panels redrawn on the switch), and no script writes a Swedish or
English sentence to the page outside the text tables."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.dispatch._stats_month import MONTH
from tests.web.conftest import ManualClock, Server, free_port, make_tokens, screenshot, serve_app
from tests.web.test_pages_agency import fill_alarm, open_agency
from tests.web.test_pages_agency_map import SEA, click_at
from tests.web.test_pages_crew import BASE, WAIT_MS
from tests.web.test_pages_stats import month_server  # noqa: F401 (a fixture)
from tests.web.test_replay import NAME as REPLAY
from tests.web.test_replay import log, replay_dir, srv  # noqa: F401 (fixtures)
from web.app import create_app
from web.settings import Settings

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
PAGES = {  # page: (path, token, language switch, what shows it is up)
    "dispatcher": ("/dispatch", "dispatcher", "#lang-toggle", "#conn[data-state=open]"),
    "crew": ("/crew", "crew_sun", "#lang", "#app:not([hidden])"),
    "agency": ("/agency", "psychiatry", "#lang", "#conn[data-state=open]"),
    "stats": ("/stats", "manager", "#lang", "#app:not([hidden])"),
    "index": ("/", "", "#lang", "main"),
}
TABLES_JS = """async () => {
    const { textTable } = await import('/static/lib/i18n.js');
    return { sv: textTable('sv'), en: textTable('en') };
}"""


def swedish_only(tables: dict[str, dict[str, str]]) -> list[str]:
    """The literal parts (6+ characters, placeholders removed) of Swedish texts that are not
    also part of an English one: what an English page must not show."""
    english = " | ".join(tables["en"].values())
    parts = set()
    for text in tables["sv"].values():
        for part in re.split(r"\{\w+\}", text):
            part = part.strip(" .,:;–-()…")
            if len(part) >= 6 and re.search(r"[a-zåäö]{3}", part) and part not in english:
                parts.add(part)
    return sorted(parts)


@pytest.mark.parametrize("name", list(PAGES))
def test_each_page_s_texts_exist_in_both_languages_and_english_shows_no_swedish(
    browser: Any, server: Server, name: str
) -> None:
    path, who, switch, ready = PAGES[name]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE",
                                  geolocation=BASE, permissions=["geolocation"])
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.base}{path}#token={server.tokens[who]}" if who else f"{server.base}{path}")
    page.wait_for_selector(ready, state="attached")
    page.wait_for_timeout(500)  # panels that fill from a first REST reply
    tables = page.evaluate(TABLES_JS)
    only_sv = sorted(set(tables["sv"]) - set(tables["en"]))
    only_en = sorted(set(tables["en"]) - set(tables["sv"]))
    assert only_sv == [] and only_en == [], f"{name}: no English {only_sv}; no Swedish {only_en}"
    assert not [k for k, v in tables["en"].items() if not v.strip()], "an empty English text"

    page.click(switch)
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    page.wait_for_timeout(300)
    shown = page.evaluate("document.body.innerText")
    left = [part for part in swedish_only(tables) if part in shown]
    screenshot(page, f"{name}-english")
    assert left == [], f"{name} in English still shows Swedish: {left}"
    assert errors == []
    context.close()


# -- no sentence written to the page outside the text tables ---------------------------------

TABLE_START = re.compile(r"^(export const \w+ = \{|register\(\{)\s*$|^  (sv|en): \{\s*$")
UI_WRITE = re.compile(
    r"""(textContent|innerText|title|placeholder|alt|label)\s*=\s*(["'`])(?P<text>[^"'`$]*[A-Za-zÅÄÖåäö]{3}[^"'`]*)\2"""
    r"""|setAttribute\(\s*["'](aria-label|title|placeholder|alt)["']\s*,\s*(["'`])(?P<attr>[^"'`]*[A-Za-zÅÄÖåäö]{3}[^"'`]*)\6""")
SWEDISH = re.compile(r"""(["'`])[^"'`\n]*[åäöÅÄÖ][^"'`\n]*\1""")
# Words that are names, not language: units, places and the languages' own names.
NAMES = re.compile(r"English|Svenska|MAE|Piteå|Luleå|Gällivare|Sunderby|Norrbotten|Kalix")


def _outside_tables(text: str) -> list[tuple[int, str]]:
    """The lines of a script with its text tables (``sv: {...}`` / ``en: {...}``) blanked."""
    chars = list(text)
    for m in re.finditer(r"\b(sv|en): \{", text):
        depth, i = 0, m.end() - 1
        start = i
        while i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                break
            i += 1
        for j in range(start, i + 1):
            if chars[j] != "\n":
                chars[j] = " "
    return list(enumerate("".join(chars).splitlines(), 1))


def test_no_script_writes_a_sentence_outside_the_text_tables() -> None:
    found = []
    for path in sorted(STATIC.rglob("*.js")):
        for i, line in _outside_tables(path.read_text(encoding="utf-8")):
            code = line.split("//", 1)[0]
            if code.lstrip().startswith(("*", "/*")):
                continue
            for m in SWEDISH.finditer(code):
                if not NAMES.search(m.group(0)):
                    found.append(f"{path.relative_to(STATIC)}:{i}: {m.group(0)}")
            for m in UI_WRITE.finditer(code):
                words = m.group("text") or m.group("attr") or ""
                if " " in words.strip() and not NAMES.search(words):
                    found.append(f"{path.relative_to(STATIC)}:{i}: {words}")
    assert found == [], "texts shown to people belong in the text tables:\n" + "\n".join(found)


def test_pages_busy_with_a_callout_show_no_swedish_in_english(browser: Any, server: Server
                                                              ) -> None:
    """The same check with something on the pages: an alarm in the agency's list, the callout
    selected on the dispatcher's board (details, recommendations, timeline) and the job on the
    crew's phone."""
    police = server.socket("/ws/agency", "police")
    police.ready()
    cid = police.request({"type": "alarm", "reference": "EN-1", "priority": 1,
                          "category": "agitation_violence_risk", "location": {"place": "Boden"},
                          "police_on_scene": True, "callback": "+46701234567"})["callout_id"]
    police.close()
    desk = server.socket("/ws/dispatch", "dispatcher")
    desk.ready()
    other = server.socket("/ws/agency", "ambulance")
    other.ready()
    waiting = other.request({"type": "alarm", "reference": "EN-2", "priority": 2,
                             "category": "psychosis", "location": {"place": "Kiruna"}})
    other.close()
    assert desk.request({"type": "assign", "callout_id": cid,
                         "unit_id": "MAE-SUNDERBY"})["type"] == "ok"
    desk.close()
    errors: list[str] = []
    for name, path, who, switch, ready, act in (
        ("agency", "/agency", "police", "#lang", "#alarms li[data-alarm-id='police/EN-1']",
         None),
        ("dispatcher", "/dispatch", "dispatcher", "#lang-toggle",
         f"#queue [data-callout='{waiting['callout_id']}']",
         f"#queue [data-callout='{waiting['callout_id']}']"),
        ("crew", "/crew", "crew_sun", "#lang", "#ack", None),
    ):
        context = browser.new_context(  # its own: the language chosen is kept per origin
            viewport={"width": 1280, "height": 900}, locale="sv-SE", geolocation=BASE,
            permissions=["geolocation"])
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{server.base}{path}#token={server.tokens[who]}")
        page.wait_for_selector(ready)
        if act:
            page.click(act)
            page.wait_for_selector("#recs li")
        page.click(switch)
        page.wait_for_function("() => document.documentElement.lang === 'en'")
        page.wait_for_timeout(300)
        tables = page.evaluate(TABLES_JS)
        shown = page.evaluate("document.body.innerText")
        left = [part for part in swedish_only(tables) if part in shown]
        screenshot(page, f"{name}-english-busy")
        assert left == [], f"{name} in English still shows Swedish: {left}"
        context.close()
    assert errors == []


# -- every dialog and state, in English and in Swedish ---------------------------------------

#: Everything a person can read on the page: the text, the options of visible lists and the
#: titles, placeholders and labels of visible elements (the map's zoom buttons too; not the
#: language switch, which names the other language on purpose).
SHOWN_JS = """() => {
  const parts = [document.body.innerText];
  const seen = (el) => !el.checkVisibility || el.checkVisibility();
  for (const sel of document.querySelectorAll('select')) {
    if (seen(sel)) for (const o of sel.options) parts.push(o.textContent);
  }
  for (const el of document.querySelectorAll('[title], [placeholder], [aria-label]')) {
    if (!seen(el) || el.closest('#lang, #lang-toggle')) continue;
    for (const a of ['title', 'placeholder', 'aria-label']) {
      if (el.getAttribute(a)) parts.push(el.getAttribute(a));
    }
  }
  return parts.join('\\n');
}"""
#: A code as the server sends it (``agitation_violence_risk``, ``not_needed``): never shown.
RAW_CODE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
#: Common Swedish and English words that are no name: a page in the other language shows none
#: (place, unit and facility names are data and contain none of them).
SV_WORDS = re.compile(r"\b(och|inte|för|från|eller|till|med|är|på|vid|väntar|enhet|uppdrag|"
                      r"saknas|måste|ingen|inga|väg|orsak|meddelande|besök)\b", re.IGNORECASE)
EN_WORDS = re.compile(r"\b(the|and|with|from|waiting|unit|callout|not|road|reason|message|"
                      r"visit|unknown|please|sent|zoom|cancel(?:led)?)\b", re.IGNORECASE)


def english_only(tables: dict[str, dict[str, str]]) -> list[str]:
    """The literal parts of English texts that no Swedish text has: what a Swedish page must
    not show."""
    return swedish_only({"sv": tables["en"], "en": tables["sv"]})


class Reader:
    """Reads a page in one language at each state a test brings it to and notes every text of
    the other language, every word of it outside the tables and every raw code shown."""

    def __init__(self, lang: str, data: Iterable[str] = ()) -> None:
        self.lang = lang
        self.data = set(data)  # names that are data: the tests' token names ("crew_sun")
        self.problems: list[str] = []

    def check(self, page: Any, state: str, *, extra: str = "") -> None:
        page.wait_for_timeout(150)  # a redraw after the last action
        tables = page.evaluate(TABLES_JS)
        shown = page.evaluate(SHOWN_JS) + "\n" + extra
        other = swedish_only(tables) if self.lang == "en" else english_only(tables)
        words = SV_WORDS if self.lang == "en" else EN_WORDS
        left = [part for part in other if part in shown]
        left += sorted({f"word {m.group(0)!r} in {line.strip()[:80]!r}"
                        for line in shown.splitlines() for m in words.finditer(line)})
        left += sorted({f"code {m.group(0)!r}" for m in RAW_CODE.finditer(shown)
                        if m.group(0) not in self.data})
        left += sorted({f"unfilled {m.group(0)!r}" for m in re.finditer(r"\{\w+\}", shown)})
        if left:
            self.problems.append(f"{state} ({self.lang}): {left}")
        screenshot(page, f"texts-{state}-{self.lang}")

    def done(self) -> None:
        assert self.problems == [], "\n".join(self.problems)


def in_language(browser: Any, lang: str, device: dict[str, Any], errors: list[str]) -> Any:
    """A page in a context whose stored language choice is ``lang`` before any script runs."""
    context = browser.new_context(**device, locale="sv-SE", timezone_id="Europe/Stockholm",
                                  geolocation=BASE, permissions=["geolocation"])
    context.add_init_script(f"localStorage.setItem('mae.lang', '{lang}')")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page


MORNING = datetime(2026, 1, 15, 7, 0, tzinfo=UTC)  # 08:00 in Stockholm
DESKTOP = {"viewport": {"width": 1440, "height": 900}}


@pytest.fixture
def morning(tmp_path: Path) -> Iterator[Server]:
    """A service at 08:00 that plans the day's visits quickly, with one visit booked."""
    db = tmp_path / "texts.sqlite3"
    port = free_port()
    app = create_app(Settings(database=db, port=port, demo_units=True, tick_interval_s=0.2,
                              ack_timeout_s=3600, plan_time_limit_s=0.3,
                              replan_time_limit_s=0.2), clock=ManualClock(MORNING))
    service = serve_app(app, port, db, make_tokens(db))
    with service.http("psychiatry") as c:
        booked = c.post("/api/visits", json={
            "patient_ref": "P-101", "location": {"place": "Luleå"}, "duration_min": 45,
            "earliest_start": "2026-01-15T09:00:00+01:00",
            "latest_start": "2026-01-15T12:00:00+01:00"})
        assert booked.status_code == 201, booked.text
    yield service
    service.stop()


def raise_on(server: Server, agency: str, **alarm: Any) -> str:
    sock = server.socket("/ws/agency", agency)
    sock.ready()
    reply = sock.request({"type": "alarm", **alarm})
    sock.close()
    assert reply["type"] == "alarm_ack", reply
    return str(reply["callout_id"])


@pytest.mark.parametrize("lang", ["en", "sv"])
def test_every_dispatcher_dialog_and_state_is_in_one_language(
    browser: Any, morning: Server, lang: str
) -> None:
    """The board with an alarm just in (sound switch, title), a callout selected (merge list,
    recommendations), the toast after assigning, a unit's detail, the message dialog and a
    crew's message, the assist alarm, the cancel form's errors and its confirmation, the toast
    and reopen offer after it, the history (search, no match, a callout's full timeline) and
    the visit pin form: each shows only the page's language and no raw code."""
    reader, errors = Reader(lang, data=morning.tokens), list[str]()
    page = in_language(browser, lang, DESKTOP, errors)
    page.goto(f"{morning.base}/dispatch#token={morning.tokens['dispatcher']}")
    page.wait_for_selector("#conn[data-state=open]", state="attached")
    page.wait_for_selector("#visits-board .seg.visit", state="attached")
    reader.check(page, "dispatcher-sound-blocked")

    first = raise_on(morning, "police", reference="T-1", priority=1,
                     category="agitation_violence_risk", location={"place": "Boden"},
                     police_on_scene=True, callback="+46701234567")
    page.wait_for_selector(f"#queue [data-callout='{first}']")
    second = raise_on(morning, "ambulance", reference="T-2", priority=2,
                      category="intoxication_psychiatric", location={"place": "Luleå"})
    page.wait_for_selector(f"#queue [data-callout='{second}']")
    reader.check(page, "dispatcher-new-alarm")

    page.click(f"#queue [data-callout='{first}']")
    page.wait_for_selector("#recs li[data-unit='MAE-SUNDERBY']")
    page.wait_for_selector("#merge-with option", state="attached")
    reader.check(page, "dispatcher-selected")
    page.locator("#recs li[data-unit='MAE-SUNDERBY']").get_by_role("button").click()
    page.wait_for_selector("#toast:not([hidden])")
    reader.check(page, "dispatcher-assigned-toast")

    page.click("[data-unit-open='MAE-PITEA']")
    page.wait_for_selector(".leaflet-tooltip:not(.mae-place-label)")  # the unit's, not a town's
    reader.check(page, "dispatcher-unit-detail")

    page.click("#units [data-unit-message='MAE-SUNDERBY']")
    page.wait_for_selector("#message-dialog[open]")
    reader.check(page, "dispatcher-message-dialog")
    page.fill("#message-text", "5 min")
    page.click("#message-send")
    page.wait_for_selector("#message-dialog:not([open])", state="attached")
    crew = morning.socket("/ws/crew", "crew_sun")
    crew.ready()
    assert crew.request({"type": "message", "text": "OK"})["type"] == "ok"
    page.wait_for_selector(".alert-banner.message")
    assert crew.request({"type": "assist", "lat": 65.67, "lon": 21.98})["type"] == "ok"
    page.wait_for_selector(".alert-banner.assist")
    reader.check(page, "dispatcher-messages-and-assist")
    page.fill("#note-text", "5 min")  # the selected callout: the first
    page.click("#note-add")
    page.wait_for_selector("#timeline li[data-type=NoteAdded]")
    assert crew.request({"type": "ack", "callout_id": first})["type"] == "ok"
    for status in ("en_route", "on_scene", "transporting", "at_facility"):
        assert crew.request({"type": "status", "status": status, "callout_id": first,
                             "facility": "Sunderby sjukhus"})["type"] == "ok", status
    assert crew.request({"type": "outcome", "callout_id": first, "kind": "compulsory_care_lpt",
                         "facility": "Sunderby sjukhus", "children_present": "yes",
                         "concern_report": "no"})["type"] == "ok"
    crew.close()

    page.click(f"#queue [data-callout='{second}']")
    page.wait_for_selector("#detail-title")
    page.click("#cancel")
    page.wait_for_function("() => document.querySelector('#cancel-error').textContent !== ''")
    reader.check(page, "dispatcher-cancel-no-reason")
    page.select_option("#cancel-code", "other")
    page.click("#cancel")
    reader.check(page, "dispatcher-cancel-other-empty")
    page.select_option("#cancel-code", "patient_not_found")
    page.click("#cancel")
    page.wait_for_selector("#cancel-confirm[open]")
    reader.check(page, "dispatcher-cancel-confirm")
    page.click("#cancel-yes")
    page.wait_for_selector("#reopen-box:not([hidden])")
    reader.check(page, "dispatcher-cancelled-reopen")

    page.click("#history-button")
    page.wait_for_selector(f"#history-results tr[data-callout='{second}']")
    reader.check(page, "dispatcher-history")
    page.fill("#history-q", "zzz")
    page.click("#history-form button[type=submit]")
    page.wait_for_selector(f"#history-results tr[data-callout='{second}']", state="detached")
    reader.check(page, "dispatcher-history-no-match")
    page.fill("#history-q", "")
    page.click("#history-form button[type=submit]")
    page.click(f"#history-results tr[data-callout='{second}']")
    page.wait_for_selector("#timeline li[data-type=CalloutCancelled]")
    reader.check(page, "dispatcher-history-timeline")
    page.click("#history-button")
    page.click(f"#history-results tr[data-callout='{first}']")
    page.wait_for_selector("#timeline li[data-type=OutcomeRecorded]")
    reader.check(page, "dispatcher-history-timeline-closed")

    page.click("#help-button")
    page.wait_for_selector("#help[open]")
    reader.check(page, "dispatcher-help")
    page.keyboard.press("Escape")

    page.click("#detail-close")
    page.click("#visits-board .seg.visit")
    page.wait_for_selector("#visits-board .visit-pin-unit")
    reader.check(page, "dispatcher-visit-pin")
    page.select_option("#visits-board .visit-pin-unit", "MAE-PITEA")
    page.click("#visits-board .visit-pin-button")
    page.wait_for_selector("#visits-board .visit-pin-status:not(:empty)")
    reader.check(page, "dispatcher-visit-pinned")
    page.context.close()
    assert errors == []
    reader.done()


PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.mark.parametrize("lang", ["en", "sv"])
def test_every_crew_dialog_and_state_is_in_one_language(
    browser: Any, morning: Server, lang: str
) -> None:
    """The phone with its day's visits, then a job that re-plans them (flagged), the route's
    steps, the assist button's question, the outcome form (kinds, facility, care questions, its
    error), a message from dispatch, the logout question and the notice of a cancelled job:
    each shows only the page's language and no raw code."""
    reader, errors, asked = Reader(lang), list[str](), list[str]()

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page = in_language(browser, lang, PHONE, errors)
    page.goto(f"{morning.base}/crew#token={morning.tokens['crew_sun']}")
    page.wait_for_function("() => window.maeCrew && window.maeCrew.ready")
    page.wait_for_selector("#visits-panel li.visit-item")
    page.click("#visits-panel li.visit-item button.visit-route")
    page.wait_for_selector("#visits-panel .visit-steps li")
    reader.check(page, "crew-visits")

    cid = raise_on(morning, "police", reference="T-1", priority=1,
                   category="agitation_violence_risk", location={"place": "Boden"},
                   police_on_scene=True, callback="+46701234567")
    desk = morning.socket("/ws/dispatch", "dispatcher")
    desk.ready()
    assert desk.request({"type": "assign", "callout_id": cid,
                         "unit_id": "MAE-SUNDERBY"})["type"] == "ok"
    page.wait_for_selector("#ack")
    page.wait_for_selector("#steps li")
    page.wait_for_selector("#visits-panel .visits-changed")
    reader.check(page, "crew-job-and-replan")
    # A numbered road is said in the page's language; a signed one (E4) stays as it is.
    roads = page.locator("#steps li[data-kind] strong").all_text_contents()
    assert ("road 97" if lang == "en" else "väg 97") in roads, roads

    page.once("dialog", answer)
    page.click("#assist")
    assert desk.request({"type": "cancel", "callout_id": cid,
                         "code": "other_agency"})["type"] == "ok"
    page.wait_for_selector(f".crew-notice:has-text('{cid}')")
    reader.check(page, "crew-cancel-notice", extra="\n".join(asked))

    second = raise_on(morning, "ambulance", reference="T-2", priority=2,
                      category="intoxication_psychiatric", location={"place": "Boden"})
    assert desk.request({"type": "assign", "callout_id": second,
                         "unit_id": "MAE-SUNDERBY"})["type"] == "ok"
    page.click("#ack")
    page.click("[data-status=en_route]")
    page.wait_for_function(
        "() => document.querySelector('[data-status=on_scene]').disabled === false")
    page.click("[data-status=on_scene]")
    page.wait_for_selector("#outcome-panel", state="visible")
    page.click("#outcome-form button[type=submit]")
    page.wait_for_function(
        "() => document.querySelector('#outcome-kind-error').textContent !== ''")
    reader.check(page, "crew-outcome-form")
    page.click("[data-status=transporting]")
    page.wait_for_selector("#facility-box", state="visible")
    reader.check(page, "crew-transporting")

    assert desk.request({"type": "message", "unit_id": "MAE-SUNDERBY",
                         "text": "5 min"})["type"] == "ok"
    page.wait_for_selector("#message-list li")
    page.fill("#message-text", "OK")
    page.click("#message-form button[type=submit]")
    page.wait_for_function("() => document.querySelectorAll('#message-list li').length >= 2")
    asked.clear()
    page.once("dialog", answer)
    page.click("#logout")
    reader.check(page, "crew-messages", extra="\n".join(asked))
    assert len(asked) == 1

    page.context.set_offline(True)  # what waits to be sent, and the connection's state
    page.fill("#facility", "Sunderby sjukhus")
    page.click("[data-status=at_facility]")
    page.wait_for_selector("#outbox-list li")
    reader.check(page, "crew-offline-outbox")
    page.context.set_offline(False)
    desk.close()
    page.context.close()
    assert errors == []
    reader.done()


@pytest.mark.parametrize("lang", ["en", "sv"])
def test_every_agency_message_and_list_is_in_one_language(
    browser: Any, morning: Server, lang: str
) -> None:
    """The agency's alarm list with a callout's status, the form's checks before sending, an
    unknown place, a map click far from any road, the visit form's errors and the visit list:
    each shows only the page's language and no raw code."""
    reader, errors = Reader(lang), list[str]()
    cid = raise_on(morning, "psychiatry", reference="T-1", priority=2,
                   category="worried_relative", location={"place": "Boden"})
    other = raise_on(morning, "psychiatry", reference="T-2", priority=3,
                     category="follow_up_request", location={"place": "Luleå"})
    page = in_language(browser, lang, {"viewport": {"width": 1280, "height": 1000}}, errors)
    open_agency(page, morning, "psychiatry")
    page.wait_for_selector("#alarms li")
    page.wait_for_selector("#visit-list li")
    reader.check(page, "agency-lists")
    desk = morning.socket("/ws/dispatch", "dispatcher")
    desk.ready()
    assert desk.request({"type": "assign", "callout_id": cid,
                         "unit_id": "MAE-PITEA"})["type"] == "ok"
    assert desk.request({"type": "cancel", "callout_id": other, "code": "wrong_alarm",
                         "reason": "T-9"})["type"] == "ok"
    desk.close()
    page.wait_for_selector("#alarms li[data-alarm-id='psychiatry/T-2'][data-status=cancelled]",
                           state="attached")
    reader.check(page, "agency-assigned-and-cancelled")
    page.click("#submit")
    page.wait_for_function("() => document.querySelector('#err-priority').textContent !== ''")
    reader.check(page, "agency-form-checked")
    fill_alarm(page)
    page.fill("#note", "")
    page.fill("#place", "Atlantis")
    page.click("#submit")
    page.wait_for_function("() => document.querySelector('#err-location').textContent"
                           ".includes('Atlantis')")
    reader.check(page, "agency-unknown-place")
    page.fill("#place", "")
    page.evaluate("""([lat, lon]) => { document.getElementById('map').maeMap
        .setView([lat, lon], 8, {animate: false}); }""", list(SEA))
    click_at(page, *SEA)
    page.wait_for_selector("#place[aria-invalid=true]")
    reader.check(page, "agency-map-click-refused")
    page.click("#visit-book")
    page.wait_for_function("() => document.querySelector('#visit-error').textContent !== ''")
    assert page.text_content("#visit-error") == (  # not sent: the empty field is named
        "Patient reference: is missing or has the wrong form." if lang == "en"
        else "Patientreferens: saknas eller har fel form.")
    reader.check(page, "agency-visit-form-checked")
    page.fill("#visit-ref", "P-102")
    page.fill("#visit-place", "Atlantis")
    page.fill("#visit-from", "2026-01-15T10:00")
    page.fill("#visit-to", "2026-01-15T12:00")
    before = page.text_content("#visit-error")
    page.click("#visit-book")
    page.wait_for_function("t => !['', t].includes("
                           "document.querySelector('#visit-error').textContent)", arg=before)
    reader.check(page, "agency-visit-unknown-place")
    page.context.close()
    assert errors == []
    reader.done()


@pytest.mark.parametrize("lang", ["en", "sv"])
def test_the_stats_tables_are_in_the_page_s_language(
    browser: Any, month_server: Server, lang: str  # noqa: F811
) -> None:
    """The service sends the report's titles, columns, row labels and notes in English (the
    words of its files); the page shows them in its language, codes (categories, outcomes,
    agencies) through the shared vocabulary. Data shown as sent: municipality names, months,
    age bands, priorities, hours and base ids."""
    reader, errors = Reader(lang), list[str]()
    page = in_language(browser, lang, {"viewport": {"width": 1280, "height": 1000}}, errors)
    page.goto(f"{month_server.base}/stats#token={month_server.tokens['manager']}")
    page.wait_for_selector("#app:not([hidden])")
    page.fill("#month", MONTH)
    page.click("#month-form button[type=submit]")
    page.wait_for_selector(f"#app[data-month='{MONTH}']", state="attached")
    reader.check(page, "stats")
    category = page.locator(
        "#table-callouts_by_category tr[data-label='agitation_violence_risk'] th")
    agencies = page.locator("#table-callouts_by_agencies tr[data-label='other + police'] th")
    if lang == "sv":
        assert category.text_content() == "Agitation / våldsrisk"
        assert agencies.text_content() == "Annan + Polis"
        assert page.text_content("#table-by_sex h2") == "Uppdrag per kön"
    else:
        assert category.text_content() == "Agitation / violence risk"
        assert agencies.text_content() == "Other + Police"
        assert page.text_content("#table-by_sex h2") == "Callouts by sex"
    page.context.close()
    assert errors == []
    reader.done()


@pytest.mark.parametrize("lang", ["en", "sv"])
@pytest.mark.parametrize("name", ["dispatcher", "crew", "agency", "stats"])
def test_a_refused_login_is_in_one_language(
    browser: Any, server: Server, name: str, lang: str
) -> None:
    """A token the service refuses: the login form and its error in the page's language."""
    path, _, _, _ = PAGES[name]
    reader, errors = Reader(lang), list[str]()
    page = in_language(browser, lang, {"viewport": {"width": 1280, "height": 900}}, errors)
    page.goto(f"{server.base}{path}#token=mae_not-a-token")
    error = {"dispatcher": "#login-error", "crew": "#login-error", "agency": "#err-token",
             "stats": "#err-token"}[name]
    page.wait_for_function(f"() => document.querySelector('{error}').textContent.trim() !== ''")
    reader.check(page, f"{name}-login-refused")
    page.context.close()
    assert errors == []
    reader.done()


@pytest.mark.parametrize("lang", ["en", "sv"])
def test_coverage_and_a_missed_acknowledgement_are_in_one_language(
    browser: Any, timed: Server, clock: ManualClock, lang: str
) -> None:
    """The coverage layer with its legend and tooltips, a job that came back unacknowledged
    (its timeline and the flag on the unit recommended again) and the escalated queue."""
    reader, errors = Reader(lang, data=timed.tokens), list[str]()
    page = in_language(browser, lang, DESKTOP, errors)
    page.goto(f"{timed.base}/dispatch#token={timed.tokens['dispatcher']}")
    page.wait_for_selector("#conn[data-state=open]", state="attached")
    page.click("#coverage-toggle")
    page.wait_for_selector("#coverage-toggle[aria-pressed=true]")
    page.wait_for_timeout(500)  # the coverage reply
    reader.check(page, "dispatcher-coverage")
    page.click("#coverage-toggle")
    cid = raise_on(timed, "police", reference="T-1", priority=1, category="suicide_risk",
                   location={"place": "Boden"})
    desk = timed.socket("/ws/dispatch", "dispatcher")
    desk.ready()
    assert desk.request({"type": "assign", "callout_id": cid,
                         "unit_id": "MAE-SUNDERBY"})["type"] == "ok"
    desk.close()
    clock.advance(6 * 60)  # nobody acknowledges: the job comes back and waits on
    raise_on(timed, "ambulance", reference="T-2", priority=3, category="other",
             location={"place": "Piteå"})  # the page learns the service's time from it
    page.wait_for_selector(f"#queue [data-callout='{cid}'][data-escalation='3']")
    page.click(f"#queue [data-callout='{cid}']")
    page.wait_for_selector("#recs li[data-unit='MAE-SUNDERBY'] .missed-ack")
    reader.check(page, "dispatcher-missed-ack")
    page.context.close()
    assert errors == []
    reader.done()


@pytest.mark.parametrize("lang", ["en", "sv"])
@pytest.mark.parametrize("name", ["dispatcher", "crew", "agency", "stats"])
def test_the_login_page_after_logging_out_is_in_one_language(
    browser: Any, server: Server, name: str, lang: str
) -> None:
    """Logging out (the crew says yes to the question) leads to the login form and whatever
    notice it shows, in the page's language."""
    path, who, _, ready = PAGES[name]
    reader, errors, asked = Reader(lang), list[str](), list[str]()
    page = in_language(browser, lang, {"viewport": {"width": 1280, "height": 900}}, errors)

    def answer(dialog: Any) -> None:  # the crew says yes
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    page.goto(f"{server.base}{path}#token={server.tokens[who]}")
    page.wait_for_selector(ready, state="attached")
    page.locator("#logout").click()
    page.wait_for_selector("#login:not([hidden])")
    reader.check(page, f"{name}-logged-out", extra="\n".join(asked))
    page.context.close()
    assert errors == []
    reader.done()


@pytest.mark.parametrize("lang", ["en", "sv"])
def test_a_replay_on_the_dispatcher_page_is_in_one_language(
    browser: Any, srv: Server, lang: str  # noqa: F811
) -> None:
    """A simulation's log played on the board (its controls, callouts and units) to its end,
    and a log that does not exist."""
    reader, errors = Reader(lang, data=srv.tokens), list[str]()
    page = in_language(browser, lang, {"viewport": {"width": 1280, "height": 900}}, errors)
    page.goto(f"{srv.base}/dispatch?replay={REPLAY}#token={srv.tokens['dispatcher']}")
    page.wait_for_selector("#replay-controls button:not([disabled])")
    page.select_option("#replay-controls select", "1800")
    page.locator("#replay-controls button").first.click()
    page.wait_for_selector(".callout-marker", timeout=20_000)
    reader.check(page, "replay-playing")
    page.goto(f"{srv.base}/dispatch?replay=nothing-here")
    page.wait_for_selector("#replay-controls button[disabled]")
    page.wait_for_timeout(300)
    reader.check(page, "replay-missing-log")
    page.context.close()
    assert errors == []
    reader.done()
