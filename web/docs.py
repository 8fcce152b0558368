"""``/docs`` (Swagger UI) and ``/redoc`` served offline, and the service's ``/favicon.ico``.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, which a control room without internet
cannot reach. These pages load the same assets from the ``fastapi-offline`` package, mounted
under ``/vendor/docs``; Swagger UI's online validator badge is switched off, and a
Content-Security-Policy keeps ReDoc's "powered by" logo (a CDN image) and anything else from
reaching another host. The favicon is our own small SVG.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, Response

__all__ = ["ASSETS_DIR", "FAVICON_SVG", "router"]

#: Swagger UI and ReDoc bundles shipped inside the ``fastapi-offline`` package.
ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
_ASSETS = "/vendor/docs"
_FAVICON = "/favicon.ico"

#: A blue rounded square with a white cross and an "M": MAE Dispatch's own icon.
FAVICON_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect width="32" height="32" rx="6" fill="#1d4f91"/>'
    '<path d="M13 4h6v7h7v6h-7v0h-6v0H6v-6h7z" fill="#fff" opacity=".35"/>'
    '<path d="M7 27V13l9 8 9-8v14h-4v-6l-5 4-5-4v6z" fill="#fff"/></svg>'
)

#: Only this service: the inline start-up scripts and styles of both pages, ReDoc's search worker.
_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; connect-src 'self'; "
        "frame-ancestors 'none'")

router = APIRouter(include_in_schema=False)
router.mount(_ASSETS, StaticFiles(directory=ASSETS_DIR), name="docs-assets")


def _local(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = _CSP
    return page


def _openapi_url(request: Request) -> str:
    return f"{request.scope.get('root_path', '')}{request.app.openapi_url}"


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """The interactive API reference (Swagger UI), from local assets."""
    root = request.scope.get("root_path", "")
    return _local(get_swagger_ui_html(
        openapi_url=_openapi_url(request), title=f"{request.app.title} - Swagger UI",
        oauth2_redirect_url=f"{root}/docs/oauth2-redirect",
        swagger_js_url=f"{root}{_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{root}{_FAVICON}",
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from swagger.io
    ))


@router.get("/docs/oauth2-redirect")
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    """The API reference as one readable page (ReDoc), from local assets, no web fonts."""
    root = request.scope.get("root_path", "")
    return _local(get_redoc_html(
        openapi_url=_openapi_url(request), title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{root}{_ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{_FAVICON}", with_google_fonts=False,
    ))


@router.get(_FAVICON)
def favicon() -> Response:
    """The service's icon (SVG; browsers go by the content type, not the name)."""
    return Response(FAVICON_SVG, media_type="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})
