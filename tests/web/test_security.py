"""Finding 8: every page is sent with CSP, framing, sniffing and referrer headers, and works
under that CSP in a real Chromium (no test context bypasses CSP)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from playwright.sync_api import expect

from tests.web.conftest import Server, free_port, serve_app
from web.security import SecurityHeaders, content_security_policy

PAGES = ["/", "/dispatch", "/agency", "/crew", "/crew/sw.js", "/static/lib/session.js",
         "/api/health"]
WAIT_MS = 20_000
WATCH_CSP = """window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));"""


def test_every_response_carries_the_security_headers(server: Server) -> None:
    for path in PAGES:
        r = httpx.get(server.base + path)
        assert r.status_code == 200, path
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "connect-src 'self' ws: wss:" in csp and "unsafe" not in csp
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"


def test_a_tile_server_is_allowed_for_images_only() -> None:
    csp = content_security_policy("https://{s}.tile.example.org/{z}/{x}/{y}.png")
    images = next(d for d in csp.split("; ") if d.startswith("img-src"))
    assert images == "img-src 'self' data: https://*.tile.example.org"
    assert "example" not in csp.replace(images, "")
    assert "img-src 'self' data:;" in content_security_policy(None) + ";"


def test_a_policy_a_route_set_itself_is_kept(tmp_path: Path) -> None:
    app = FastAPI()

    @app.get("/api/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/docs-like")
    def own() -> PlainTextResponse:
        return PlainTextResponse("x", headers={"Content-Security-Policy": "default-src 'none'"})

    @app.get("/plain")
    def plain() -> PlainTextResponse:
        return PlainTextResponse("y")

    app.add_middleware(SecurityHeaders)
    srv = serve_app(app, free_port(), tmp_path / "unused.sqlite3", {})
    try:
        own_reply = httpx.get(srv.base + "/docs-like")
        assert own_reply.headers.get_list("content-security-policy") == ["default-src 'none'"]
        assert own_reply.headers["x-frame-options"] == "DENY"
        ours = httpx.get(srv.base + "/plain").headers["content-security-policy"]
        assert "default-src 'self'" in ours
    finally:
        srv.stop()


def _open(browser: Any, url: str, **options: Any) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(**options)  # bypass_csp stays False: the real policy
    errors: list[str] = []
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.add_init_script(WATCH_CSP)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.goto(url)
    return context, page, errors


def _no_violations(page: Any, errors: list[str]) -> None:
    page.wait_for_timeout(300)  # let late reports arrive
    assert page.evaluate("window.__csp") == []
    assert errors == []


def test_the_pages_work_under_their_csp_in_chromium(browser: Any, server: Server) -> None:
    context, page, errors = _open(browser, server.base + "/")
    english = page.locator("[data-i18n=intro]")
    page.click("#lang")  # the landing page's script (a file now, no inline code) runs
    expect(english).to_contain_text("Dispatch of mobile acute psychiatry units")
    _no_violations(page, errors)
    context.close()

    for path, who in (("/dispatch", "dispatcher"), ("/agency", "police")):
        context, page, errors = _open(browser, f"{server.base}{path}#token={server.tokens[who]}",
                                      viewport={"width": 1280, "height": 900})
        expect(page.locator("#conn")).to_have_attribute("data-state", "open")
        page.wait_for_selector(".leaflet-container")
        _no_violations(page, errors)
        context.close()

    context, page, errors = _open(browser, f"{server.base}/crew#token="
                                  f"{server.tokens['crew_sun']}",
                                  viewport={"width": 390, "height": 844}, is_mobile=True)
    page.wait_for_function("() => window.maeCrew && window.maeCrew.ready", timeout=WAIT_MS)
    _no_violations(page, errors)
    context.close()
