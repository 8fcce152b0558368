"""Every text shown exists in Swedish and English: each page's registered text tables have the
same keys in both languages, a page switched to English shows no Swedish-only text (static
HTML, dynamic parts and panels redrawn on the switch), and no script writes a Swedish or
English sentence to the page outside the text tables."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import Server, screenshot
from tests.web.test_pages_crew import BASE, WAIT_MS

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
