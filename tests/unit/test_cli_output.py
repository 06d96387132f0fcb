"""What the CLI prints: full values as TSV when piped, `--json` on listings, one `error:` line with documented exit
codes, choices in plain words, a clear line when the API is down, and `--param` typed by the golden path."""

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
from roadbed.cli.output import plural

LONG = "a-golden-path-with-a-really-quite-long-name"
ENVIRONMENT = {"id": "env_0123456789abcdef", "workflow_id": "provision-env_0123456789abcdef", "service": "orders", "environment": "dev",
               "team": "payments", "golden_path": LONG, "golden_path_version": "1.2.3", "status": "PENDING_APPROVAL",
               "created_at": "2026-12-07T10:00:00+00:00", "steps": [], "outputs": {}}
SCHEMA = {"type": "object", "properties": {"python_version": {"type": "string"}, "replicas": {"type": "integer"}}}
runner = CliRunner()


class Stub(BaseHTTPRequestHandler):
    posted: list[Any] = []

    def _answer(self, status: int, body: Any) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:  # noqa: N802
        if self.path.startswith("/v1/golden-paths/"):
            self._answer(200, {"name": "python-service", "parameters": SCHEMA})
        else:
            self._answer(200, [ENVIRONMENT, ENVIRONMENT | {"id": "env_2", "service": "billing [beta]"}])

    def do_POST(self) -> None:  # noqa: N802
        Stub.posted.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self._answer(202, ENVIRONMENT)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setenv("ROADBED_HOME", str(tmp_path))
    monkeypatch.setenv("ROADBED_API_URL", url)
    monkeypatch.setenv("ROADBED_TOKEN", "rbd_test")
    Stub.posted = []
    yield url
    server.shutdown()


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if not line.startswith("targets: ")]


def test_piped_listing_is_tsv_with_full_values(api: str) -> None:
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split("\t") == ["id", "service", "env", "team", "golden path", "status", "created", "expires"]
    assert lines[1].split("\t") == ["env_0123456789abcdef", "orders", "dev", "payments", f"{LONG}@1.2.3", "PENDING_APPROVAL", "2026-12-07T10:00:00", ""]
    assert lines[2].split("\t")[1] == "billing [beta]"  # data is never read as markup
    assert "…" not in result.stdout


def test_json_is_the_apis_answer(api: str) -> None:
    result = runner.invoke(app, ["list", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)[0] == ENVIRONMENT


def test_param_values_follow_the_golden_path_schema(api: str) -> None:
    result = runner.invoke(app, ["create", "orders", "--team", "payments", "--golden-path", "python-service", "--env", "dev",
                                 "--param", "python_version=3.11", "--param", "replicas=2", "--param-json", "extra={\"a\": [1]}",
                                 "--resource", "postgres:db,size=20"])
    assert result.exit_code == 0, result.output
    assert Stub.posted[-1]["parameters"] == {"python_version": "3.11", "replicas": 2, "extra": {"a": [1]}}
    assert Stub.posted[-1]["resources"] == [{"type": "postgres", "name": "db", "size": 20}]


@pytest.mark.parametrize(("args", "code", "line"), [
    (["create", "orders", "--team", "payments", "--golden-path", "python-service", "--env", "qa"], 2,
     "error: --env must be dev, staging or prod (got 'qa') (see `roadbed create --help`)"),
    (["create", "orders", "--team", "payments", "--golden-path", "python-service", "--env", "dev", "--param", "replicas=many"], 2,
     "error: parameter replicas must be an integer, got 'many'"),
    (["list", "--colour"], 2, "error: No such option: --colour (see `roadbed list --help`)"),
    (["audit", "--limit", "lots"], 2, "error: Invalid value for --limit: 'lots' is not a valid integer (see `roadbed audit --help`)"),
    (["status"], 2, "error: Missing argument 'ID' (see `roadbed status --help`)"),
])
def test_bad_usage_is_one_line_and_exit_2(api: str, args: list[str], code: int, line: str) -> None:
    result = runner.invoke(app, args, prog_name="roadbed")
    assert (result.exit_code, errors(result.stderr)) == (code, [line])
    assert Stub.posted == []


def test_an_unreachable_api_is_one_line_and_exit_1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ROADBED_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ROADBED_TOKEN", "rbd_test")
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 1
    [line] = errors(result.stderr)
    assert line.startswith("error: cannot reach the Roadbed API at http://127.0.0.1:9 — is `roadbed up` running?")


def test_no_token_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ROADBED_HOME", str(tmp_path))
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 1 and errors(result.stderr) == [f"error: no API token: set ROADBED_TOKEN or run `roadbed up` (which writes {tmp_path / 'admin-token'})"]


def test_help_documents_the_exit_codes() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "Exit codes: 0 done; 1 failed" in " ".join(result.stdout.split())


def test_plurals() -> None:
    assert [plural(n, "environment") for n in (0, 1, 2)] == ["0 environments", "1 environment", "2 environments"]
    assert plural(1, "entry", "entries") == "1 entry" and plural(3, "entry", "entries") == "3 entries"


def test_the_cli_choices_match_the_domain() -> None:
    """The CLI names the choices without importing pydantic; they must stay those the API accepts."""
    from roadbed.auth import Role
    from roadbed.cli.environments import Env
    from roadbed.cli.tokens import RoleChoice
    from roadbed.domain.models import EnvironmentName

    assert [e.value for e in Env] == [e.value for e in EnvironmentName]
    assert [r.value for r in RoleChoice] == [r.value for r in Role]
