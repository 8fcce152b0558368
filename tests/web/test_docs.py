"""``/docs`` and ``/redoc`` (web/docs.py) render in a real Chromium with every request outside
this service blocked, their HTML names no other host, and ``/favicon.ico`` exists."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from tests.web.conftest import Server

# Any absolute URL, except XML namespace names (SVG), which are names, not fetches.
EXTERNAL = re.compile(r"(?:https?:)?//(?!www\.w3\.org/)[A-Za-z0-9.-]+\.[A-Za-z]{2,}[/:\"'\s]")


def _offline_page(browser: Any, server: Server) -> tuple[Any, Any, list[str], list[str]]:
    """A page whose requests to any host but this service are aborted (and recorded), and
    whose failed answers from this service are recorded too."""
    context = browser.new_context()
    blocked: list[str] = []
    failed: list[str] = []
    local = urlsplit(server.base).netloc

    def gate(route: Any) -> None:
        if urlsplit(route.request.url).netloc == local:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", gate)
    page = context.new_page()
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400
            else None)
    return context, page, blocked, failed


def test_swagger_ui_renders_the_operations_offline(browser: Any, server: Server) -> None:
    context, page, blocked, failed = _offline_page(browser, server)
    try:
        page.goto(f"{server.base}/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=20_000)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        assert any("/api/alarms/cap" in p for p in paths), paths
        assert any("/api/health" in p for p in paths), paths
        page.wait_for_load_state("networkidle")
        assert blocked == [] and failed == []
    finally:
        context.close()


def test_redoc_renders_the_operations_offline(browser: Any, server: Server) -> None:
    context, page, blocked, failed = _offline_page(browser, server)
    try:
        page.goto(f"{server.base}/redoc")
        page.wait_for_selector("text=Raise an alarm from an OASIS CAP 1.2", timeout=30_000)
        page.wait_for_load_state("networkidle")
        assert blocked == [] and failed == []
    finally:
        context.close()


def test_the_docs_html_names_no_other_host_and_the_favicon_exists(server: Server) -> None:
    with server.http(None) as c:
        for path in ("/docs", "/redoc"):
            r = c.get(path)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
            assert EXTERNAL.search(r.text) is None, EXTERNAL.search(r.text)
            assert 'href="/favicon.ico"' in r.text
            assert "default-src 'self'" in r.headers["content-security-policy"]
        icon = c.get("/favicon.ico")
        assert icon.status_code == 200
        assert icon.headers["content-type"].startswith("image/svg+xml")
        assert icon.text.startswith("<svg")
        assert c.get("/vendor/docs/swagger-ui-bundle.js").status_code == 200
        assert c.get("/vendor/docs/redoc.standalone.js").status_code == 200
