"""Hostile HTTP input against the real app served by uvicorn: deeply nested JSON, non-ASCII signature
headers and chunked bodies over the size limit are clear 4xx answers, never a 500 or a RecursionError."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from roadbed.api.app import create_app
from roadbed.api.limits import MAX_BODY_BYTES
from roadbed.metrics import sources
from roadbed.settings import load_settings
from roadbed.storage.database import Database
from tests.api.conftest import make_token

SECRET = "s3cret"
NESTED = b"[" * 100_000 + b"]" * 100_000
NESTED_OBJECTS = b'{"a":' * 20_000 + b"1" + b"}" * 20_000  # 120 KB: under every route's own size limit


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served:
    def __init__(self, port: int, token: str, paths: list[tuple[str, str]]) -> None:
        self.port, self.token, self.json_operations = port, token, paths

    def request(self, method: str, path: str, body: bytes | Any = b"", headers: dict[str, Any] | None = None) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.putrequest(method, path)
            all_headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json", **(headers or {})}
            chunked = not isinstance(body, bytes)
            if chunked:
                all_headers["Transfer-Encoding"] = "chunked"
            else:
                all_headers["Content-Length"] = str(len(body))
            for name, value in all_headers.items():
                connection.putheader(name, value)
            connection.endheaders()
            if chunked:
                try:
                    for chunk in body:
                        connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    connection.send(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the server answered early and closed: read its answer
            else:
                connection.send(body)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home: Path = tmp_path_factory.mktemp("hostile")
    config = load_settings(home=home, api_port=_free_port(), github_webhook_secret=SECRET, pagerduty_webhook_secret=SECRET)
    database = Database(config.resolved_database_url)
    database.migrate()
    app = create_app(config, database)
    operations = [
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
        if "application/json" in (operation.get("requestBody") or {}).get("content", {})
    ]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=config.api_port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield Served(config.api_port, make_token(database, "platform-admin"), operations)
    server.should_exit = True
    thread.join(10)
    database.dispose()


def _concrete(path: str) -> str:
    """A real golden path for `{name}` (so the body is parsed, not refused as 404), a placeholder elsewhere."""
    return path.replace("{name}", "python-service").replace("{", "").replace("}", "")


def _assert_clear_refusal(status: int, body: bytes, allowed: tuple[int, ...]) -> None:
    assert status in allowed, (status, body[:300])
    assert b'"error"' in body and b"Traceback" not in body and b"RecursionError" not in body


def test_there_are_json_endpoints_to_try(served: Served) -> None:
    assert ("POST", "/v1/environments") in served.json_operations
    assert len(served.json_operations) >= 5


@pytest.mark.parametrize("document", [NESTED, NESTED_OBJECTS], ids=["arrays", "objects"])
def test_deeply_nested_json_to_every_json_endpoint_is_a_4xx(served: Served, document: bytes) -> None:
    for method, path in served.json_operations:
        status, body = served.request(method, _concrete(path), document)
        _assert_clear_refusal(status, body, (400, 422))


@pytest.mark.parametrize("document", [NESTED, NESTED_OBJECTS], ids=["arrays", "objects"])
@pytest.mark.parametrize(
    ("path", "header", "sign"),
    [
        ("/v1/webhooks/github", "X-Hub-Signature-256", sources.github_signature),
        ("/v1/webhooks/pagerduty", "X-PagerDuty-Signature", sources.pagerduty_signature),
        ("/v1/webhooks/alertmanager", None, None),
    ],
)
def test_deeply_nested_json_to_webhooks_is_a_4xx(served: Served, document: bytes, path: str, header: str | None, sign: Any) -> None:
    headers = {header: sign(SECRET, document), "X-GitHub-Event": "deployment_status"} if header else {}
    status, body = served.request("POST", path, document, headers)
    _assert_clear_refusal(status, body, (400, 422))


@pytest.mark.parametrize(
    ("path", "header"), [("/v1/webhooks/github", "X-Hub-Signature-256"), ("/v1/webhooks/pagerduty", "X-PagerDuty-Signature")]
)
@pytest.mark.parametrize("value", ["sha256=caf\xe9", "v1=\xff\xfe", "\xe9" * 64, "v1=abc, v1=\xe9"])
def test_non_ascii_signature_headers_are_refused_not_crashed(served: Served, path: str, header: str, value: str) -> None:
    status, body = served.request("POST", path, b"{}", {header: value, "X-GitHub-Event": "deployment_status"})
    _assert_clear_refusal(status, body, (400, 401))


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        chunk = b" " * min(size, total - sent)
        sent += len(chunk)
        yield chunk


@pytest.mark.parametrize("path", ["/v1/environments", "/v1/webhooks/github", "/v1/webhooks/alertmanager", "/v1/events/deployments"])
def test_chunked_body_over_the_limit_is_a_413(served: Served, path: str) -> None:
    status, body = served.request("POST", path, _chunks(MAX_BODY_BYTES * 2))
    _assert_clear_refusal(status, body, (413,))


def test_chunked_body_under_the_limit_is_read(served: Served) -> None:
    status, body = served.request("POST", "/v1/webhooks/alertmanager", iter([b'{"version": "4", ', b'"alerts": []}']))
    assert status < 500, body
    assert status != 413, body
