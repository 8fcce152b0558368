"""The crew's phone page: ``GET /crew``, its service worker and web app manifest, and the unit
workflow it enforces offline.

The page (``web/static/crew/``) works offline first: sign-ons, statuses, positions and outcomes
wait in an outbox until the server has answered each (see :mod:`web.sockets` for the ``op`` ids
that make them exactly-once). The service worker ``/crew/sw.js`` caches the app shell; it is
served with ``Service-Worker-Allowed: /crew`` so that its scope covers the page at ``/crew``
itself (the default scope of a script under ``/crew/`` would be ``/crew/``, which does not
contain ``/crew``). Its cache version is a fingerprint of the shell files and of the workflow,
so a changed file or rule reaches phones on their next visit (the worker also fetches the
workflow network-first, its cached copy only a fallback offline). ``/crew/workflow.json`` is the
transition table of :mod:`dispatch.status` and the crew rules of
:func:`dispatch.commands.decide` as data, so the page enables only legal next statuses without a
copy of the table in JavaScript.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, JSONResponse, Response

from dispatch.model import Agency, Category, OutcomeKind
from dispatch.status import CALLOUT_TRANSITIONS, UNIT_TRANSITIONS, CalloutStatus, UnitStatus
from web.pages import LEAFLET_DIR, STATIC_DIR

__all__ = ["router", "shell_urls", "workflow"]

CREW_DIR = STATIC_DIR / "crew"
SCOPE = "/crew"
_NO_CACHE = {"Cache-Control": "no-cache"}
_LEAFLET_FILES = ("leaflet.js", "leaflet.css")

router = APIRouter(include_in_schema=False)


def _shell_files() -> list[tuple[str, Path]]:
    """(URL, file) of every static file of the app shell."""
    files: list[tuple[str, Path]] = []
    for path in sorted(CREW_DIR.iterdir()):
        if path.is_file() and path.name != "sw.js":
            files.append((f"/static/crew/{path.name}", path))
    for path in sorted((STATIC_DIR / "lib").glob("*.js")):
        files.append((f"/static/lib/{path.name}", path))
    files.append(("/static/mae.css", STATIC_DIR / "mae.css"))
    for name in _LEAFLET_FILES:
        files.append((f"/vendor/leaflet/{name}", LEAFLET_DIR / name))
    for path in sorted((LEAFLET_DIR / "images").glob("*.png")):
        files.append((f"/vendor/leaflet/images/{path.name}", path))
    return [(url, path) for url, path in files if path.is_file()]


def shell_urls() -> list[str]:
    """What the service worker caches so the page opens without a connection."""
    return [SCOPE, f"{SCOPE}/manifest.webmanifest", f"{SCOPE}/workflow.json",
            *(url for url, _ in _shell_files())]


def _version(template: str) -> str:
    """A fingerprint of the shell: changes whenever a file, the worker itself or the workflow
    (which the page caches with the shell) does."""
    digest = hashlib.sha256(template.encode())
    digest.update(json.dumps(workflow(), sort_keys=True).encode())
    for url, path in _shell_files():
        stat = path.stat()
        digest.update(f"{url}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def workflow() -> dict[str, Any]:
    """The unit workflow as the crew page needs it, from the core's tables and rules."""
    follow = {UnitStatus.EN_ROUTE: CalloutStatus.EN_ROUTE,
              UnitStatus.ON_SCENE: CalloutStatus.ON_SCENE,
              UnitStatus.TRANSPORTING: CalloutStatus.TRANSPORTING}
    return {
        "unit_transitions": {s.value: sorted(t.value for t in n)
                             for s, n in UNIT_TRANSITIONS.items()},
        "callout_transitions": {s.value: sorted(t.value for t in n)
                                for s, n in CALLOUT_TRANSITIONS.items()},
        # decide(): DISPATCHED comes from an assignment, OFF_DUTY from ending the shift.
        "reportable": [s.value for s in UnitStatus
                       if s not in (UnitStatus.DISPATCHED, UnitStatus.OFF_DUTY)],
        "needs_job": [s.value for s in follow],
        "not_on_job": [UnitStatus.AVAILABLE.value, UnitStatus.RETURNING.value,
                       UnitStatus.UNAVAILABLE.value],
        "needs_facility": [UnitStatus.AT_FACILITY.value],
        "follow": {u.value: c.value for u, c in follow.items()},
        "closable": [s.value for s, n in CALLOUT_TRANSITIONS.items()
                     if CalloutStatus.CLOSED in n],
        "outcome_kinds": [{"kind": k.value, "transport": k.is_transport,
                           "after_transporting": k.after_transporting} for k in OutcomeKind],
        "categories": [c.value for c in Category],
        "agencies": [a.value for a in Agency],
    }


@router.get("/crew")
def crew_page() -> FileResponse:
    """The crew's phone page."""
    path = CREW_DIR / "index.html"
    if not path.is_file():
        raise HTTPException(404, "the crew page is not installed with this service")
    return FileResponse(path, media_type="text/html; charset=utf-8", headers=_NO_CACHE)


@router.get("/crew/sw.js")
def service_worker() -> Response:
    """The service worker caching the app shell, scoped to ``/crew``."""
    template = (CREW_DIR / "sw.js").read_text(encoding="utf-8")
    body = (template.replace("__VERSION__", _version(template))
            .replace("__SHELL__", json.dumps(shell_urls())))
    return Response(body, media_type="text/javascript; charset=utf-8",
                    headers={**_NO_CACHE, "Service-Worker-Allowed": SCOPE})


@router.get("/crew/manifest.webmanifest")
def manifest() -> JSONResponse:
    """The web app manifest, so the page can be added to a phone's home screen."""
    return JSONResponse({
        "name": "MAE Besättning", "short_name": "MAE", "lang": "sv",
        "start_url": SCOPE, "scope": SCOPE, "display": "standalone",
        "background_color": "#ffffff", "theme_color": "#0f1b2d",
        "icons": [{"src": "/static/crew/icon.svg", "sizes": "any", "type": "image/svg+xml"}],
    }, media_type="application/manifest+json", headers=_NO_CACHE)


@router.get("/crew/workflow.json")
def workflow_json() -> JSONResponse:
    """Statuses, transitions and outcome kinds for the page (public: no patient data)."""
    return JSONResponse(workflow(), headers=_NO_CACHE)
