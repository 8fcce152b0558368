"""The crew's page reloaded without a connection while it holds a job: it opens from the
service worker's cache with the stored job and route, and nothing on it throws or logs an error
(``Invalid LatLng (NaN, NaN)`` at ``RouteView.show`` once did)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import Server, Sock, screenshot
from tests.web.test_pages_crew import DESKTOP, PHONE, WAIT_MS, open_crew, raise_alarm

#: the service of every test here (conftest's ``server``): no acknowledge deadline runs out
SERVER_OPTIONS = {"ack_timeout_s": 3600}


def console_errors(page: Any) -> list[str]:
    """Every uncaught exception and console error of ``page`` from now on."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{exc}\n{getattr(exc, 'stack', '')}"))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


@pytest.mark.parametrize("stopped", [False, True], ids=["offline", "server-down"])
@pytest.mark.parametrize("device", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_crew_page_with_a_job_reloads_offline_without_console_errors(
    browser: Any, server: Server, dispatcher: Sock, device: dict[str, Any], stopped: bool
) -> None:
    cid = raise_alarm(server)
    dispatcher.request({"type": "assign", "callout_id": cid, "unit_id": "MAE-SUNDERBY"})
    context, page = open_crew(browser, server, device)
    page.wait_for_selector("#ack", state="visible", timeout=WAIT_MS)
    page.wait_for_function("() => window.maeCrew.route !== null", timeout=WAIT_MS)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=WAIT_MS)
    errors = console_errors(page)
    if stopped:
        dispatcher.close()
        server.stop()
    context.set_offline(True)
    page.wait_for_selector("#conn[data-conn=offline]", timeout=WAIT_MS)
    response = page.reload()
    assert response is not None and response.from_service_worker
    page.wait_for_selector("#app", state="visible", timeout=WAIT_MS)
    page.wait_for_selector("#ack", state="visible", timeout=WAIT_MS)  # the stored job
    page.wait_for_selector("#conn[data-conn=offline]", timeout=WAIT_MS)
    # the stored route is drawn once the map has a size (drawing before threw)
    page.wait_for_selector('#map path[stroke="#0b4f9c"]', state="attached", timeout=WAIT_MS)
    page.click("#ack")  # works on offline: into the outbox
    page.wait_for_selector('#outbox[data-count]:not([data-count="0"])', state="attached",
                           timeout=WAIT_MS)
    screenshot(page, "crew-job-reloaded-offline")
    assert errors == []
    if stopped:
        context.close()
        return
    context.set_offline(False)
    page.wait_for_selector("#job-callout-status:text('Kvitterad')", timeout=WAIT_MS)
    assert errors == []
    context.close()
