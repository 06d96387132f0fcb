"""Request body size limit for every route: a declared or streamed body over the limit is a 413 before any
handler parses it (routes with their own, smaller limits keep them).

A declared `Content-Length` over the limit is refused before a byte is read. A body without one
(`Transfer-Encoding: chunked`) is counted while it streams in: the moment it passes the limit the 413 is
sent, and the app is told the client went away (`http.disconnect`), so it stops reading and whatever it
tries to answer afterwards is dropped. Nothing is raised through the app, because the middlewares and
handlers in between (audit, FastAPI's body parsing) would turn an exception into their own 400 or 500.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from roadbed.api.errors import error_body

MAX_BODY_BYTES = 2 * 1024 * 1024


#: a portal form declared up to this many times the limit is drained so its page can say "too large"; larger: 413
PAGE_DRAIN_FACTOR = 8


def _is_page_form(scope: Scope, headers: dict[bytes, bytes]) -> bool:
    path = scope.get("path", "")
    return (scope.get("method") == "POST" and not path.startswith(("/v1/", "/v1")) and
            headers.get(b"content-type", b"").split(b";")[0].strip() == b"application/x-www-form-urlencoded")


def _drained(receive: Receive) -> Receive:
    """The request's body read to its end and dropped; the app receives one empty body."""
    done = False

    async def empty() -> Message:
        nonlocal done
        if done:
            return await receive()  # after the body: wait for the disconnect, as Starlette expects
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        done = True
        return {"type": "http.request", "body": b"", "more_body": False} if message["type"] == "http.request" else message

    return empty


class BodySizeLimit:
    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            if declared.isdigit() and int(declared) <= PAGE_DRAIN_FACTOR * self.limit and _is_page_form(scope, headers):
                # a browser's form: its page answers "too large" (next to the field) instead of a JSON 413 it would
                # show raw; the body is read and dropped, never kept, and the page sees none of it
                scope.setdefault("state", {})["body_too_large"] = True
                await self.app(scope, _drained(receive), send)
                return
            await self._reject(send)
            return
        seen = 0
        started = False
        rejected = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if rejected:
                return  # the 413 has been answered; the app's late reply has nowhere to go
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        async def limited() -> Message:
            nonlocal seen, rejected
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    if not started:
                        await self._reject(send)
                    rejected = True
                    return {"type": "http.disconnect"}
            return message

        try:
            await self.app(scope, limited, guarded_send)
        except Exception:
            if not rejected:
                raise
            # The app failed only because its body was cut off; the client already has its 413.

    async def _reject(self, send: Send) -> None:
        body = json.dumps(error_body("payload_too_large", f"request body larger than {self.limit} bytes")).encode()
        headers: list[Any] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
