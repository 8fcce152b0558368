"""The pages' live socket (``web/static/lib/session.js``) tells the truth about its connection:
it says it is reconnecting when the browser goes offline, and when the service stops answering
while the socket still looks open (a coverage gap, a dead link, a stopped server), and it comes
back by itself. Real Chromium against a real server."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import free_port, make_tokens, process_server, thread_server
from tests.web.test_pages_dispatcher import alarm, open_page, socks

#: The page pings every 12 s and counts 20 s without an answer to a ping as a lost connection.
SILENCE_MS = 60_000


def test_the_board_says_it_is_reconnecting_as_soon_as_the_browser_goes_offline(
    tmp_path: Path, browser: Any
) -> None:
    """Offline, the header leaves "Ansluten" at once (not after a ping: the test waits less
    than one ping interval) and the page makes no attempt to connect (each could only fail,
    logged as an error); online again after nine seconds, the page reconnects within a
    second or two, and shows an alarm raised meanwhile."""
    db = tmp_path / "offline.sqlite3"
    tokens = make_tokens(db)
    srv = thread_server(db, tokens, port=free_port(), demo_units=True)
    errors: list[str] = []
    context, page = open_page(browser, f"{srv.base}/dispatch#token={tokens['dispatcher']}",
                              errors=errors)
    try:
        conn = page.locator("#conn")
        expect(conn).to_have_attribute("data-state", "open")
        attempts: list[str] = []
        page.on("websocket", lambda ws: attempts.append(ws.url))
        context.set_offline(True)
        expect(conn).to_have_attribute("data-state", "connecting", timeout=5_000)
        expect(conn).not_to_have_text("Ansluten")
        (police,) = socks(srv, ("/ws/agency", "police"))
        cid = police.request(alarm("R-1", 1, "Luleå"))["callout_id"]
        police.close()
        # offline for longer than the first retries' backoff (0.5, 1, 2, 4 s) would wait
        page.wait_for_timeout(9_000)
        assert attempts == []
        context.set_offline(False)
        expect(conn).to_have_attribute("data-state", "open", timeout=3_000)
        expect(page.locator(f"#queue [data-callout='{cid}']")).to_have_count(1)
        assert not errors, errors
    finally:
        context.close()
        srv.stop()


def test_a_service_that_stops_answering_is_noticed_and_the_page_comes_back(
    tmp_path: Path, browser: Any
) -> None:
    """The server process is stopped (SIGSTOP): its socket stays open, nothing answers. The
    page's unanswered ping turns its header to "connecting"; once the server runs again the
    page reconnects and shows an alarm raised after it woke."""
    db = tmp_path / "silent.sqlite3"
    tokens = make_tokens(db)
    srv, proc = process_server(db, tokens, free_port())
    errors: list[str] = []
    context, page = open_page(browser, f"{srv.base}/dispatch#token={tokens['dispatcher']}",
                              errors=errors)
    stopped = False
    try:
        conn = page.locator("#conn")
        expect(conn).to_have_attribute("data-state", "open")
        os.kill(proc.pid, signal.SIGSTOP)
        stopped = True
        expect(conn).to_have_attribute("data-state", "connecting", timeout=SILENCE_MS)
        os.kill(proc.pid, signal.SIGCONT)
        stopped = False
        expect(conn).to_have_attribute("data-state", "open", timeout=SILENCE_MS)
        (police,) = socks(srv, ("/ws/agency", "police"))
        cid = police.request(alarm("R-2", 2, "Kiruna"))["callout_id"]
        police.close()
        expect(page.locator(f"#queue [data-callout='{cid}']")).to_have_count(1)
        assert not errors, errors
    finally:
        if stopped:
            os.kill(proc.pid, signal.SIGCONT)
        context.close()
        srv.stop()
        if proc.stderr is not None:
            proc.stderr.close()
