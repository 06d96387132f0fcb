"""The one place where errors become HTTP answers: `{"error": {"code", "message", "details"?}}`.

Domain errors map by type; anything unexpected is logged with its stack and answered with a bare
500, so no trace or internal detail ever reaches a client. A `RecursionError` is the client's doing,
not ours: Python's JSON parser (and every validator walking a parsed document) recurses once per level
of nesting, so `[[[[…` a hundred thousand deep is answered 400 `too_deeply_nested`, whichever route
parsed it.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from roadbed.domain.errors import Conflict, Forbidden, InvalidRequest, NotFound, PermanentError, RoadbedError, TransientError

log = logging.getLogger("roadbed.api")

_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large", 429: "too_many_requests", 415: "unsupported_media_type"}


class ApiError(Exception):
    """An HTTP-level refusal raised by API code itself (auth, malformed body, size)."""

    def __init__(
        self, status: int, code: str, message: str, details: list[Any] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers or {}


def error_body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


def _respond(status: int, code: str, message: str, details: list[Any] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=error_body(code, message, details), headers=headers)


def _status_of(exc: RoadbedError) -> int:
    if isinstance(exc, InvalidRequest):
        return 422
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, TransientError):
        return 503
    if isinstance(exc, PermanentError):
        return 400
    return 500


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        return _respond(exc.status, exc.code, exc.message, exc.details, headers | exc.headers or None)

    @app.exception_handler(RoadbedError)
    async def _domain_error(_request: Request, exc: RoadbedError) -> JSONResponse:
        details = [e.as_dict() for e in exc.errors] if isinstance(exc, InvalidRequest) else None
        return _respond(_status_of(exc), exc.code, str(exc), details)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"field": ".".join(str(p) for p in err["loc"] if p != "body") or "body", "message": err["msg"]} for err in exc.errors()
        ]
        return _respond(422, "invalid_request", "invalid request: " + "; ".join(f"{d['field']}: {d['message']}" for d in details), details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _respond(exc.status_code, _STATUS_CODES.get(exc.status_code, "http_error"), str(exc.detail))

    @app.exception_handler(RecursionError)
    async def _too_deep(request: Request, _exc: RecursionError) -> JSONResponse:
        log.warning("refused a too deeply nested body on %s %s", request.method, request.url.path)
        return _respond(400, "too_deeply_nested", "request body is nested too deeply")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _respond(500, "internal_error", "internal error; see the server log")
