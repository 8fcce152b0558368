"""The browser pages: the landing page, the dispatcher and agency pages, their static files
and the bundled Leaflet (from the ``xstatic-leaflet`` package; nothing comes from the internet).

The crew pages live in :mod:`web.crewpage`. Pages are plain HTML with ES modules under
``/static``; they log in with a token kept in localStorage and talk to the REST API and sockets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xstatic.pkg.leaflet
from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

__all__ = ["LEAFLET_DIR", "STATIC_DIR", "router"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
LEAFLET_DIR = Path(xstatic.pkg.leaflet.BASE_DIR)



class _RevalidatedFiles(StaticFiles):
    """Static files the browser must revalidate (a cheap 304 by ETag) before each use, so
    after an update a page never runs a mix of old and new ES modules."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


router = APIRouter(include_in_schema=False)
router.mount("/static", _RevalidatedFiles(directory=STATIC_DIR), name="static")
router.mount("/vendor/leaflet", StaticFiles(directory=LEAFLET_DIR), name="leaflet")

_NO_CACHE = {"Cache-Control": "no-cache"}


def _page(name: str) -> FileResponse:
    path = STATIC_DIR / name
    if not path.is_file():
        raise HTTPException(404, f"{name} is not installed with this service")
    return FileResponse(path, media_type="text/html; charset=utf-8", headers=_NO_CACHE)


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """The MAE icon for browsers that ask for /favicon.ico (the pages also link it)."""
    return FileResponse(STATIC_DIR / "crew" / "icon.svg", media_type="image/svg+xml",
                        headers={"Cache-Control": "max-age=86400"})


@router.get("/")
def landing() -> FileResponse:
    """Links to the dispatcher, agency and crew pages."""
    return _page("index.html")


@router.get("/dispatch")
def dispatcher_page() -> FileResponse:
    """The dispatcher's live board."""
    return _page("dispatcher.html")


@router.get("/agency")
def agency_page() -> FileResponse:
    """Alarm entry and status for agencies without an integration."""
    return _page("agency.html")
