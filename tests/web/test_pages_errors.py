"""Server errors on the pages, in real Chromium: the words come from the error's code (and the
field it names, and the reason code of a refused value) in Swedish or English, never the
service's English message; an unknown code gets a general text with the code. Every code and
reason the service answers with has words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from dispatch.errors import REASONS
from tests.web.conftest import ManualClock, Server, Sock, screenshot
from tests.web.test_pages_agency import fill_alarm, open_agency, page  # noqa: F401
from tests.web.test_pages_board import alarm, board, police  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "web" / "static"
# Words of the service's own English messages that must never reach a reader.
ENGLISH = re.compile(r"unknown place|max_snap_m|cannot go from|callout C\d+|Atlantis'")


def server_codes() -> set[str]:
    """Every error code the service's Python answers with."""
    codes: set[str] = set()
    for path in (ROOT / "web").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        codes |= set(re.findall(r'ErrorInfo\(\d+, "([a-z_0-9]+)"', text))
        codes |= set(re.findall(r'"error": "([a-z_0-9]+)"', text))
    return codes


def test_every_error_code_of_the_service_has_words_in_both_languages() -> None:
    js = (STATIC / "lib" / "errors.js").read_text(encoding="utf-8")
    sv, en = js.split("\n  en: {", 1)
    same = dict(re.findall(r'(\w+): "(\w+)"', js.split("const SAME = {", 1)[1].split("};")[0]))
    codes = server_codes()
    assert {"unknown_place", "invalid_command", "internal", "too_many_requests"} <= codes
    for code in sorted(codes):
        key = f'"error.{same.get(code, code)}":'
        assert key in sv and key in en, f"no words for the error code {code!r}"


def test_every_reason_code_of_the_core_has_words_in_both_languages() -> None:
    js = (STATIC / "lib" / "errors.js").read_text(encoding="utf-8")
    sv, en = js.split("\n  en: {", 1)
    assert {"personal_number", "unit_on_callout", "before_earliest"} <= REASONS
    for reason in sorted(REASONS):
        key = f'"reason.{reason}":'
        assert key in sv and key in en, f"no words for the reason code {reason!r}"


def test_a_note_with_a_personal_number_is_refused_in_words_and_nothing_is_stored(
    page: Page, server: Server  # noqa: F811
) -> None:
    """The agency types a personal number into the note: the page names the field and the
    reason in Swedish (not "värdet godtas inte"), and no callout was opened."""
    open_agency(page, server)
    page.fill("#place", "Boden")
    fill_alarm(page)
    page.fill("#note", "Pnr 19121212-1212, orolig")
    page.click("#submit")
    expect(page.locator("#err-note")).to_have_text(
        "Meddelande till enheten: innehåller ett personnummer – ta bort det (identiteten lämnas "
        "per telefon).")
    with server.http("psychiatry") as other:
        assert other.get("/api/health").json()["open_callouts"] == 0
    page.fill("#note", "Orolig, ring 070-123 45 67")
    page.click("#submit")
    expect(page.locator("#form-notice.ok")).to_be_visible()


@pytest.mark.parametrize(("lang", "expected"), [
    ("sv", "Plats: ”Atlantis” finns inte på kartan."),
    ("en", "Location: “Atlantis” is not on the map."),
])
def test_an_unknown_place_on_the_agency_page_is_named_in_the_page_s_language(
    page: Page, server: Server, lang: str, expected: str  # noqa: F811
) -> None:
    open_agency(page, server)
    if lang == "en":
        page.click("#lang")
    page.fill("#place", "Atlantis")
    fill_alarm(page)
    page.click("#submit")
    message = page.locator("#err-location")
    expect(message).to_have_text(expected)
    assert not ENGLISH.search(page.locator("#app").inner_text())
    screenshot(page, f"agency-unknown-place-{lang}")


def test_unknown_codes_get_a_general_text_with_the_code(page: Page, server: Server  # noqa: F811
                                                        ) -> None:
    open_agency(page, server)
    words = page.evaluate("""async () => {
        const { errorText } = await import('/static/lib/errors.js');
        const { setLang } = await import('/static/lib/i18n.js');
        const seen = [];
        for (const lang of ['sv', 'en']) {
          setLang(lang);
          seen.push(errorText({ error: 'brand_new', field: null, message: 'Brand new English' }));
          seen.push(errorText({ error: 'invalid_command', field: 'category',
                                message: "category: unknown category 'agitation violence risk'" }));
          seen.push(errorText({ status: 0, code: 'network', message: 'network error: x' }));
          seen.push(errorText({ error: 'database_locked', message: 'database is locked' }));
        }
        return seen;
    }""")
    assert words == [
        "Begäran avvisades (kod brand_new).",
        "Kategori: värdet godtas inte.",
        "Ingen kontakt med tjänsten. Försök igen när anslutningen är tillbaka.",
        "Tjänsten är tillfälligt upptagen. Ingenting ändrades; försök igen om en stund.",
        "The request was refused (code brand_new).",
        "Category: the value is not accepted.",
        "No contact with the service. Try again when the connection is back.",
        "The service is busy for a moment. Nothing changed; try again shortly.",
    ]


def test_a_refused_value_says_its_reason_from_a_reply_or_a_rest_answer(
    page: Page, server: Server  # noqa: F811
) -> None:
    """A reason code picks the words (a socket reply carries it, a REST answer in its body);
    without one, or with one the page has no words for, the general words stay."""
    open_agency(page, server)
    words = page.evaluate("""async () => {
        const { errorText } = await import('/static/lib/errors.js');
        const { ApiError } = await import('/static/lib/session.js');
        const { setLang } = await import('/static/lib/i18n.js');
        setLang('sv');
        const body = { error: 'invalid_command', field: 'latest_start',
                       message: 'latest_start: is before earliest_start',
                       reason: 'before_earliest' };
        return [
          errorText({ ...body }),
          errorText(new ApiError(400, body.message, { field: body.field, code: body.error, body })),
          errorText({ error: 'invalid_command', field: 'unit_id', reason: 'unit_on_callout',
                      message: 'unit_id: unit U1 is already on callout C000001' }),
          errorText({ error: 'invalid_command', field: 'unit_id', reason: 'brand_new' }),
        ];
    }""")
    assert words == [
        "Senast: är före den tidigaste starten.",
        "Senast: är före den tidigaste starten.",
        "Enhet: enheten är på ett uppdrag.",
        "Enhet: går inte med enheten i dess nuvarande läge.",
    ]


@pytest.mark.parametrize(("lang", "expected"), [
    ("sv", "Gick inte: Går inte i uppdragets eller enhetens nuvarande läge (någon hann kanske "
           "före)."),
    ("en", "Failed: Not possible in the callout's or unit's current state (someone may have "
           "been first)."),
])
def test_a_command_the_service_refuses_is_told_in_the_page_s_language(
    board: Page, timed: Server, clock: ManualClock, police: Sock,  # noqa: F811
    lang: str, expected: str,
) -> None:
    """Another dispatcher cancels the callout while this one confirms its own cancel: the
    service refuses the second, and the toast says so in words, not the service's message."""
    cid = police.request(alarm("E-1", 2, "Boden"))["callout_id"]
    if lang == "en":
        board.click("#lang-toggle")
    board.locator(f"[data-callout='{cid}']").first.click()
    board.select_option("#cancel-code", "duplicate")
    board.locator("#cancel").click()
    dialog = board.locator("#cancel-confirm")
    expect(dialog).to_be_visible()
    desk = timed.socket("/ws/dispatch", "dispatcher")
    desk.ready()
    assert desk.request({"type": "cancel", "callout_id": cid, "code": "duplicate"})["type"] \
        == "ok"
    desk.close()
    dialog.locator("#cancel-yes").click()
    toast = board.locator("#toast")
    expect(toast).to_have_text(expected)
    assert not ENGLISH.search(toast.inner_text())
    screenshot(board, f"dispatcher-refused-{lang}")
