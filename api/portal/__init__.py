"""The portal: server-rendered pages served by the API process (CONTRACT.md, "Portal").

`install_portal(app)` adds the page routes and the stylesheet, and makes errors raised on a page answer as HTML
pages (the API's JSON handlers stay as they are for `/v1/...`). Pages call the same services as the routers.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from roadbed.api.errors import ApiError
from roadbed.api.portal import router_catalog, router_create, router_pages, router_reports, router_search
from roadbed.api.portal.csrf import CsrfRefused
from roadbed.api.portal.router_docs import install_techdocs
from roadbed.api.portal.sessions import SignInRequired, login_url
from roadbed.api.portal.views import error_page
from roadbed.domain.errors import Conflict, Forbidden, InvalidRequest, NotFound, RoadbedError, TransientError

STATIC = Path(__file__).resolve().parent / "static"
_API_PATHS = ("/v1", "/docs", "/openapi.json", "/metrics", "/healthz", "/readyz", "/static")


def _is_page(request: Request) -> bool:
    if getattr(request.state, "portal", False):
        return True
    return not request.url.path.startswith(_API_PATHS) and "text/html" in request.headers.get("accept", "")


def _status(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, ApiError):
        return exc.status, exc.message
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code, str(exc.detail)
    if isinstance(exc, RequestValidationError):
        return 422, "Some values in the address are not valid."
    for kind, status in ((InvalidRequest, 422), (NotFound, 404), (Conflict, 409), (Forbidden, 403), (TransientError, 503)):
        if isinstance(exc, kind):
            return status, str(exc)
    if isinstance(exc, RoadbedError):
        return 400, str(exc)
    return 500, "Something went wrong on our side; the server log has the details."


def install_portal(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="portal-static")
    app.include_router(router_pages.router)
    app.include_router(router_create.router)
    app.include_router(router_catalog.router)
    app.include_router(router_reports.router)
    app.include_router(router_search.router)
    install_techdocs(app)  # /v1/techdocs builds and the /docs/{namespace}/{kind}/{name}/ pages

    @app.exception_handler(SignInRequired)
    async def _sign_in(_request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(login_url(exc.next_path), status_code=303)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        return error_page(request, 403, str(exc), getattr(request.state, "signed_in", None))

    for kind in (ApiError, RoadbedError, StarletteHTTPException, RequestValidationError, Exception):
        _wrap(app, kind)


def _wrap(app: FastAPI, kind: type[Exception]) -> None:
    """Pages get an HTML page for what the API answers as JSON; everything else keeps the API's handler."""
    original: Any = app.exception_handlers.get(kind)

    async def handler(request: Request, exc: Exception) -> Response:
        if _is_page(request) or original is None:
            status, message = _status(exc)
            if status == 500:
                logging.getLogger("roadbed.portal").error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
            return error_page(request, status, message, getattr(request.state, "signed_in", None))
        return await original(request, exc)

    app.add_exception_handler(kind, handler)
