"""The crew's outcome form asks the care questions (children present, spoken with, concern
report, SIP, care contact) as yes / no / unknown, with no names; what is ticked is logged on
the outcome, what is left stays unknown, and the form starts unknown again for the next job."""

from __future__ import annotations

from typing import Any

from dispatch.model import CARE_QUESTIONS
from tests.web.conftest import Server, Sock, screenshot
from tests.web.test_pages_crew import (  # noqa: F401 (conftest's server reads SERVER_OPTIONS)
    SERVER_OPTIONS,
    WAIT_MS,
    acknowledged_job,
    stored,
    unsent,
)


def test_the_outcome_form_records_the_care_answers(browser: Any, server: Server,
                                                   dispatcher: Sock) -> None:
    cid, context, page = acknowledged_job(browser, server, dispatcher)
    page.click("[data-status=en_route]")
    page.wait_for_function(
        "() => document.querySelector('[data-status=on_scene]').disabled === false")
    page.click("[data-status=on_scene]")
    page.wait_for_selector("#outcome-panel", state="visible", timeout=WAIT_MS)
    for question in CARE_QUESTIONS:  # every question starts at "unknown"
        checked = page.locator(f"input[name=care-{question}]:checked")
        assert checked.get_attribute("value") == "unknown", question
    assert page.text_content("#care-questions legend") == \
        "Barnperspektiv och samordnad vård (inga namn)"
    assert page.locator("#care-questions input[type=text]").count() == 0  # no names to type
    page.check("input[value=stayed_home]")
    page.check("input[name=care-children_present][value=yes]")
    page.check("input[name=care-children_informed][value=yes]")
    page.check("input[name=care-concern_report][value=no]")
    page.check("input[name=care-sip_requested][value=yes]")
    screenshot(page, "crew-phone-care")
    page.click("#outcome-form button[type=submit]")
    page.wait_for_selector("#idle", state="visible", timeout=WAIT_MS)
    unsent(page, 0)
    outcome = next(e["outcome"] for e in stored(server.db)
                   if e["type"] == "OutcomeRecorded" and e["callout_id"] == cid)
    assert outcome["kind"] == "stayed_home"
    assert {q: outcome[q] for q in CARE_QUESTIONS} == {
        "children_present": "yes", "children_informed": "yes", "concern_report": "no",
        "sip_requested": "yes", "care_contact_informed": "unknown"}
    assert page.locator("input[name=care-children_present]:checked").get_attribute(
        "value") == "unknown"  # the form is reset for the next job
    page.click("#lang")
    assert page.text_content("#care-questions legend") == "Children and coordinated care (no names)"
    context.close()
