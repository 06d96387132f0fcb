"""`roadbed drift`: the live environments' drift as a table (TSV when piped), one environment's differences with
`--env`, `--check` posting a check first, filters passed to the API, and `--json` as the API's answer."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from roadbed.cli.main import app

DRIFTED = {"status": "drifted", "checked_at": "2026-12-08T02:00:00+00:00", "error": None, "items": [
    {"source": "gitops", "object": "clusters/local/orders-dev/02-deployment.yaml", "field": "spec.replicas", "since": "2026-12-08T01:00:00+00:00"},
    {"source": "terraform", "object": "module.postgres_main.terraform_data.this", "field": None, "since": "2026-12-08T01:30:00+00:00"}]}
LISTED = [{"environment_id": "env_1", "service": "orders", "team": "payments", "environment": "dev", "drift": DRIFTED},
          {"environment_id": "env_2", "service": "billing", "team": "payments", "environment": "dev",
           "drift": {"status": "unknown", "checked_at": None, "items": [], "error": None}}]
runner = CliRunner()


class Stub(BaseHTTPRequestHandler):
    seen: list[tuple[str, str]] = []

    def _answer(self, body: Any) -> None:
        Stub.seen.append((self.command, self.path))
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(LISTED if self.path.startswith("/v1/drift") else {"id": "env_1", "drift": DRIFTED | {"status": "in_sync", "items": []}})

    def do_POST(self) -> None:  # noqa: N802
        self._answer(DRIFTED)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("ROADBED_HOME", str(tmp_path))
    monkeypatch.setenv("ROADBED_API_URL", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("ROADBED_TOKEN", "rbd_test")
    Stub.seen = []
    yield ""
    server.shutdown()


def test_the_list_is_one_row_per_live_environment(api: str) -> None:
    result = runner.invoke(app, ["drift", "--team", "payments", "--status", "drifted"])
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert lines == [["id", "service", "env", "team", "drift", "checked", "items"],
                     ["env_1", "orders", "dev", "payments", "drifted", "2026-12-08T02:00:00", "2"],
                     ["env_2", "billing", "dev", "payments", "unknown", "never", "0"]]
    assert Stub.seen == [("GET", "/v1/drift?team=payments&status=drifted")]


def test_one_environment_shows_its_differences_and_check_runs_one(api: str) -> None:
    shown = runner.invoke(app, ["drift", "--env", "env_1"])
    assert shown.exit_code == 0 and shown.stdout.splitlines() == ["source\tobject\tfield\tsince"]
    checked = runner.invoke(app, ["drift", "--env", "env_1", "--check"])
    assert checked.exit_code == 0, checked.output
    rows = [line.split("\t") for line in checked.stdout.splitlines()]
    assert rows[1] == ["gitops", "clusters/local/orders-dev/02-deployment.yaml", "spec.replicas", "2026-12-08T01:00:00"]
    assert rows[2] == ["terraform", "module.postgres_main.terraform_data.this", "", "2026-12-08T01:30:00"]
    assert "env_1: drifted" in checked.stderr
    assert Stub.seen == [("GET", "/v1/environments/env_1"), ("POST", "/v1/environments/env_1/drift-check")]
    as_json = runner.invoke(app, ["drift", "--env", "env_1", "--check", "--json"])
    assert json.loads(as_json.stdout) == DRIFTED
