"""The pages and their static files are served with the right types, and nothing they load
comes from outside the app (the service must work offline)."""

from __future__ import annotations

import re

from tests.web.conftest import Server
from web.pages import LEAFLET_DIR, STATIC_DIR

TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
         ".json": "application/json", ".webmanifest": "application/manifest+json",
         ".png": "image/png", ".svg": "image/svg+xml"}
# Any absolute URL, except XML namespace names (SVG/XHTML), which are names, not fetches.
EXTERNAL = re.compile(r"(?:https?:)?//(?!www\.w3\.org/)[A-Za-z0-9.-]+\.[A-Za-z]{2,}[/:\"'\s]")
SRC_HREF = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def test_pages_are_served_as_html(server: Server) -> None:
    with server.http(None) as c:
        for path, marker in (("/", 'href="/agency"'), ("/agency", 'id="alarm-form"'),
                             ("/dispatch", "<html"), ("/stats", 'id="month-form"')):
            r = c.get(path)
            assert r.status_code == 200, path
            assert r.headers["content-type"].startswith("text/html"), path
            assert marker in r.text, path
        landing = c.get("/").text
        assert all(f'href="{p}"' in landing
                   for p in ("/dispatch", "/agency", "/crew", "/stats"))


def test_static_and_leaflet_files_have_their_content_types(server: Server) -> None:
    with server.http(None) as c:
        for name in ("i18n.js", "session.js", "roads.js", "time.js", "vocab.js"):
            r = c.get(f"/static/lib/{name}")
            assert r.status_code == 200 and r.headers["content-type"].startswith(
                "text/javascript"), name
            assert "export " in r.text
        assert c.get("/static/mae.css").headers["content-type"].startswith("text/css")
        agency = c.get("/static/agency.js")
        assert agency.headers["content-type"].startswith("text/javascript")
        assert agency.headers["cache-control"] == "no-cache"  # revalidated: no stale modules
        again = c.get("/static/agency.js", headers={"If-None-Match": agency.headers["etag"]})
        assert again.status_code == 304
        leaflet = c.get("/vendor/leaflet/leaflet.js")
        assert leaflet.status_code == 200
        assert leaflet.headers["content-type"].startswith("text/javascript")
        assert leaflet.content == (LEAFLET_DIR / "leaflet.js").read_bytes()
        assert c.get("/vendor/leaflet/leaflet.css").headers["content-type"].startswith("text/css")
        assert c.get("/vendor/leaflet/images/marker-icon.png").headers[
            "content-type"] == "image/png"
        for bad in ("/static/../pages.py", "/static/%2e%2e/pages.py", "/static/nothing.js",
                    "/vendor/leaflet/../__init__.py"):
            assert c.get(bad).status_code == 404, bad


def test_nothing_served_loads_from_outside_the_app(server: Server) -> None:
    """Every file under web/static, as served, names no absolute URL of another host, and
    every page's src/href is a path on this app."""
    files = [p for p in STATIC_DIR.rglob("*") if p.is_file()]
    assert len(files) >= 6
    with server.http(None) as c:
        for path in files:
            rel = path.relative_to(STATIC_DIR).as_posix()
            r = c.get(f"/static/{rel}")
            assert r.status_code == 200, rel
            want = TYPES.get(path.suffix)
            if want is not None:
                assert r.headers["content-type"].startswith(want), rel
            if path.suffix in (".html", ".js", ".css", ".json", ".webmanifest", ".svg"):
                found = EXTERNAL.findall(r.text)
                assert not found, f"{rel} names outside URLs: {found}"
        for page in ("/", "/agency", "/dispatch"):
            for ref in SRC_HREF.findall(c.get(page).text):
                assert ref.startswith(("/", "#", "./")) and not ref.startswith("//"), (page, ref)
