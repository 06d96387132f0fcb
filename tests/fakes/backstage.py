"""A stateful fake of Backstage's catalog locations API (`/api/catalog/locations`), strict like the real one.

Test control: `fail_next(method, status=500, times=1)` makes the next `times` requests of `method` answer
`status` without touching any location, as a Backstage under load or mid-restart would.
"""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeBackstage:
    def __init__(self, token: str = "backstage-token") -> None:
        self.token = token
        self.locations: dict[str, dict[str, str]] = {}
        self._ids = itertools.count(1)
        self._faults: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail_next(self, method: str, status: int = 500, times: int = 1) -> None:
        with self._lock:
            self._faults.setdefault(method.upper(), []).extend([status] * times)

    def _take_fault(self, method: str) -> int | None:
        with self._lock:
            queued = self._faults.get(method)
            return queued.pop(0) if queued else None

    def start(self) -> FakeBackstage:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def _answer(self, status: int, body: Any = None) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                fault = fake._take_fault(self.command)
                if fault is not None:
                    self._answer(fault, {"error": {"name": "ServiceUnavailableError", "message": "injected fault"}})
                    return False
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    self._answer(401, {"error": {"name": "AuthenticationError", "message": "Missing credentials"}})
                    return False
                return True

            def do_GET(self) -> None:  # noqa: N802
                if self._authorised() and self.path == "/api/catalog/locations":
                    with fake._lock:
                        self._answer(200, [{"data": loc} for loc in fake.locations.values()])
                elif self.path != "/api/catalog/locations":
                    self._answer(404, {"error": {"name": "NotFoundError", "message": "not found"}})

            def do_POST(self) -> None:  # noqa: N802
                if not self._authorised():
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if self.path != "/api/catalog/locations" or body.get("type") not in {"url", "file"} or not body.get("target"):
                    self._answer(400, {"error": {"name": "InputError", "message": "invalid location"}})
                    return
                with fake._lock:
                    if any(loc["target"] == body["target"] for loc in fake.locations.values()):
                        self._answer(409, {"error": {"name": "ConflictError", "message": f"Location url:{body['target']} already exists"}})
                        return
                    location = {"id": f"loc-{next(fake._ids)}", "type": body["type"], "target": body["target"]}
                    fake.locations[location["id"]] = location
                self._answer(201, {"location": location, "entities": []})

            def do_DELETE(self) -> None:  # noqa: N802
                if not self._authorised():
                    return
                location_id = self.path.removeprefix("/api/catalog/locations/")
                with fake._lock:
                    if fake.locations.pop(location_id, None) is None:
                        self._answer(404, {"error": {"name": "NotFoundError", "message": f"Found no location with ID {location_id}"}})
                        return
                self._answer(204)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
