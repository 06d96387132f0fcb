"""Request ids and the audit trail: every response carries `X-Request-ID`, every mutation is recorded.

A client-supplied `X-Request-ID` (bounded, printable) is kept so a portal can correlate; otherwise one
is generated. The actor is whatever token `get_principal` resolved (none for a 401).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from datetime import UTC, datetime

from fastapi import FastAPI, Request, Response
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from roadbed.storage import audit

log = logging.getLogger("roadbed.audit")
MUTATIONS = {"POST", "PUT", "PATCH", "DELETE"}
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class AuditMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        supplied = request.headers.get("x-request-id", "")
        request_id = supplied if _REQUEST_ID.match(supplied) else "req_" + secrets.token_hex(8)
        request.state.request_id = request_id
        response = await call_next(request)
        response.headers["X-Request-ID"] = request_id
        if request.method in MUTATIONS:
            principal = getattr(request.state, "principal", None)
            state = request.app.state.roadbed
            try:
                await asyncio.to_thread(self._write, state.database, request, request_id, principal, response.status_code)
            except Exception:  # noqa: BLE001 - a lost audit row is logged loudly, never turns a success into an error
                log.exception("could not write the audit record of %s %s (%s)", request.method, request.url.path, request_id)
        return response

    @staticmethod
    def _write(database, request: Request, request_id: str, principal, status: int) -> None:  # type: ignore[no-untyped-def]
        with database.transaction() as session:
            audit.record(
                session, at=datetime.now(UTC), request_id=request_id,
                actor=principal.token_id if principal else None, role=principal.role.value if principal else None,
                method=request.method, path=request.url.path, status=status,
            )


def install_audit(app: FastAPI) -> None:
    app.add_middleware(AuditMiddleware)
