"""The shared core of the small read-only fakes (Argo CD, Prometheus, SonarQube): an HTTP server answering JSON.

Each fake subclasses `JsonApiFake` and implements `route(method, path, query)` over its own state. What they
share are the failure controls a health source must survive, injected per path:
`hang_next(path_regex, seconds)` sleeps before answering (a slow or hung upstream), `fail_next(path_regex, status)`
answers an error (`status=0` drops the connection), `garbage_next(path_regex)` answers 200 with bytes that are
not JSON. `requests` records `(method, path, query, authorization)`; `check_auth` lets a fake refuse a bad token.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

GARBAGE = b"<html><body>502 Bad Gateway</body></html>\x00\xff"


@dataclass
class _Fault:
    kind: str  # "hang" | "fail" | "garbage"
    pattern: re.Pattern[str]
    times: int
    status: int = 0
    seconds: float = 0.0


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str | None


class FakeError(Exception):
    def __init__(self, status: int, payload: Any) -> None:
        super().__init__(status)
        self.status, self.payload = status, payload


class JsonApiFake:
    name = "fake"

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._faults: list[_Fault] = []
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle
    def start(self) -> JsonApiFake:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fake-{self.name}", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "the fake is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- failure controls
    def hang_next(self, path_regex: str = "", seconds: float = 30.0, times: int = 1) -> None:
        with self._lock:
            self._faults.append(_Fault("hang", re.compile(path_regex), times, seconds=seconds))

    def fail_next(self, path_regex: str = "", status: int = 500, times: int = 1) -> None:
        with self._lock:
            self._faults.append(_Fault("fail", re.compile(path_regex), times, status=status))

    def garbage_next(self, path_regex: str = "", times: int = 1) -> None:
        with self._lock:
            self._faults.append(_Fault("garbage", re.compile(path_regex), times))

    def requests_to(self, path_regex: str) -> list[Recorded]:
        pattern = re.compile(path_regex)
        return [r for r in self.requests if pattern.search(r.path)]

    # -- for subclasses
    def check_auth(self, authorization: str | None) -> None:
        """Raise `FakeError(401, ...)` for a missing or wrong credential; the default accepts anything."""

    def route(self, method: str, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        raise NotImplementedError

    # -- request handling (handler threads)
    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and fault.pattern.search(path):
                    fault.times -= 1
                    return fault
        return None

    def handle(self, method: str, raw_path: str, authorization: str | None) -> tuple[int, bytes] | None:
        split = urlsplit(raw_path)
        path, query = unquote(split.path).rstrip("/") or "/", parse_qs(split.query, keep_blank_values=True)
        with self._lock:
            self.requests.append(Recorded(method, path, query, authorization))
        fault = self._take_fault(path)
        if fault is not None and fault.kind == "hang":
            time.sleep(fault.seconds)
        elif fault is not None and fault.kind == "garbage":
            return 200, GARBAGE
        elif fault is not None:
            return None if fault.status == 0 else (fault.status, json.dumps({"error": f"injected {fault.status}"}).encode())
        try:
            self.check_auth(authorization)
            with self._lock:
                status, payload = self.route(method, path, query)
        except FakeError as error:
            status, payload = error.status, error.payload
        return status, json.dumps(payload).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    fake: JsonApiFake

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        try:
            result = self.fake.handle(self.command, self.path, self.headers.get("Authorization"))
        except (BrokenPipeError, ConnectionResetError):
            return
        if result is None:
            self.close_connection = True
            return
        status, body = result
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (a hang outlived its deadline)
            self.close_connection = True

    do_GET = do_POST = _serve  # noqa: N815 - BaseHTTPRequestHandler dispatches on these names

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's signature
        pass
