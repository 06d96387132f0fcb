"""Each built-in golden path's generated pipeline closes the delivery loop: test → publish (the image pushed to
`vars.ROADBED_IMAGE_REGISTRY`) → deploy-dev (every push to the default branch) → deploy-prod (behind the
`production` environment's approval), deploying through `POST /v1/services/<service>/deployments`.

The workflow is parsed and its jobs checked; then its own shell steps run here, as a runner would run them, with
each `${{ … }}` expression replaced by what GitHub would put there: the identify step against a git repository
holding Roadbed's marker, the deploy step with curl against a local HTTP server standing in for Roadbed, whose
recorded request must be one the deployments endpoint accepts."""

from __future__ import annotations

import json
import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from roadbed.api.routers.deployments import DeploymentRequest
from roadbed.domain.specs import RepositoryMarker
from roadbed.golden_paths import GoldenPath
from roadbed.ports import MARKER_PATH
from roadbed.rendering.skeleton import render_repository
from tests.unit.test_golden_paths_builtin import GOLDEN_PATHS, SERVICE, TEAM, parameters_for

CI = ".github/workflows/ci.yaml"
DEPLOY_TOKEN = "rbd_pipeline-token-for-the-test"
ON_DEFAULT_BRANCH = "github.event_name == 'push' && github.ref == format('refs/heads/{0}', github.event.repository.default_branch)"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@pytest.fixture(scope="module", params=GOLDEN_PATHS, ids=lambda gp: gp.name)
def workflow(request: pytest.FixtureRequest) -> dict[str, Any]:
    golden_path: GoldenPath = request.param
    files = render_repository(golden_path, parameters_for(golden_path, {}))
    return yaml.load(files[CI], Loader=yaml.BaseLoader)  # BaseLoader: every scalar a string, `on` stays "on"


class Recorder(BaseHTTPRequestHandler):
    """Roadbed's stand-in: records each request and answers 202 (or `status`) like the deployments endpoint."""

    requests: list[dict[str, Any]]
    status = 202

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.requests.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
        answer = json.dumps({"id": "x", "status": "RUNNING"} if self.status == 202 else {"error": {"code": "forbidden"}}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def roadbed() -> Iterator[tuple[str, type[Recorder]]]:
    handler = type("Handler", (Recorder,), {"requests": [], "status": 202})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", handler
    server.shutdown()
    server.server_close()


def substitute(value: str, context: dict[str, str]) -> str:
    """What GitHub puts in place of each expression; an expression this test does not know fails it."""

    def one(match: re.Match[str]) -> str:
        assert match.group(1) in context, f"unexpected expression {match.group(0)!r}"
        return context[match.group(1)]

    return EXPRESSION.sub(one, value)


def run_step(step: dict[str, Any], context: dict[str, str], extra_env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", **extra_env, **{name: substitute(value, context) for name, value in step.get("env", {}).items()}}
    return subprocess.run(["bash", "-e", "-c", step["run"]], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False)


def named(job: dict[str, Any], name: str) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if s.get("name") == name]
    return step


def test_the_jobs_chain_test_publish_deploy_dev_deploy_prod(workflow: dict[str, Any]) -> None:
    assert workflow["on"]["push"]["branches"] == ["main"] and "pull_request" in workflow["on"]
    jobs = workflow["jobs"]
    assert list(jobs) == ["test", "publish", "deploy-dev", "deploy-prod"]
    assert jobs["publish"]["needs"] == "test" and jobs["deploy-dev"]["needs"] == "publish"
    assert jobs["deploy-prod"]["needs"] == ["publish", "deploy-dev"]
    for name, job in jobs.items():
        assert job["runs-on"] == "ubuntu-latest", name
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), (name, step)
    assert ON_DEFAULT_BRANCH in jobs["deploy-dev"]["if"] and ON_DEFAULT_BRANCH in jobs["deploy-prod"]["if"]
    assert ON_DEFAULT_BRANCH in jobs["publish"]["env"]["PUBLISH"]
    assert "environment" not in jobs["deploy-dev"]  # dev deploys on every push, no approval
    assert jobs["deploy-prod"]["environment"] == "production"  # the approval: the GitHub environment's required reviewers
    assert "!failure()" in jobs["deploy-prod"]["if"]  # never after a failed dev deployment


def test_publish_pushes_to_the_configured_registry(workflow: dict[str, Any]) -> None:
    publish = workflow["jobs"]["publish"]
    assert publish["env"]["REGISTRY"] == "${{ vars.ROADBED_IMAGE_REGISTRY }}"
    assert publish["permissions"]["packages"] == "write"
    push = named(publish, "Push container image")
    assert push["if"] == "env.PUBLISH == 'true'" and push["run"].strip() == 'docker push "$IMAGE"'
    assert named(publish, "Log in to the registry")["if"] == "env.PUBLISH == 'true'"
    assert named(publish, "Build container image")["run"].strip() == 'docker build -t "$IMAGE" .'


def test_the_identify_step_reads_roadbeds_marker(workflow: dict[str, Any], tmp_path: Path) -> None:
    marker = RepositoryMarker(service=SERVICE, team=TEAM, golden_path="x", golden_path_version="1.0.0", environments=("dev", "prod"))
    (tmp_path / MARKER_PATH).parent.mkdir(parents=True)
    (tmp_path / MARKER_PATH).write_bytes(marker.to_bytes())
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first"], cwd=tmp_path, check=True)
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, check=True, capture_output=True, text=True).stdout.strip()
    outputs, github_env = tmp_path / "outputs", tmp_path / "env"
    step = named(workflow["jobs"]["publish"], "Identify the service")
    result = run_step(step, {}, {"GITHUB_OUTPUT": str(outputs), "GITHUB_ENV": str(github_env), "GITHUB_SHA": sha, "REGISTRY": "ghcr.io/acme"}, tmp_path)
    assert result.returncode == 0, result.stderr
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert values["service"] == SERVICE and json.loads(values["environments"]) == ["dev", "prod"]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$", values["commit_time"])
    assert github_env.read_text().strip() == f"IMAGE=ghcr.io/acme/{SERVICE}:{sha}"  # the image Roadbed deploys: registry/service:version
    for job in ("deploy-dev", "deploy-prod"):  # what the deploy jobs read from publish's outputs exists
        assert set(re.findall(r"needs\.publish\.outputs\.(\w+)", json.dumps(workflow["jobs"][job]))) <= set(values)


@pytest.mark.parametrize("job,environment", [("deploy-dev", "dev"), ("deploy-prod", "prod")])
def test_the_deploy_step_calls_roadbeds_deployments_endpoint(
    workflow: dict[str, Any], job: str, environment: str, roadbed: tuple[str, type[Recorder]], tmp_path: Path
) -> None:
    url, recorder = roadbed
    step = named(workflow["jobs"][job], "Deploy through Roadbed")
    assert step["env"]["ROADBED_URL"] == "${{ vars.ROADBED_URL }}"
    assert step["env"]["ROADBED_DEPLOY_TOKEN"] == "${{ secrets.ROADBED_DEPLOY_TOKEN }}"
    assert "${{" not in step["run"]  # expressions reach the script only through env: nothing is injected into the shell
    sha = "0123456789abcdef0123456789abcdef01234567"
    context = {
        "vars.ROADBED_URL": url,  # with the trailing slash a variable may well have
        "secrets.ROADBED_DEPLOY_TOKEN": DEPLOY_TOKEN,
        "needs.publish.outputs.service": SERVICE,
        "needs.publish.outputs.commit_time": "2026-01-02T03:04:05+00:00",
        "github.sha": sha,
        "github.run_id": "9876",
        "github.run_attempt": "2",
    }
    result = run_step(step, context, {}, tmp_path)
    assert result.returncode == 0, result.stderr
    (sent,) = recorder.requests
    assert sent["path"] == f"/v1/services/{SERVICE}/deployments"
    assert sent["headers"]["Authorization"] == f"Bearer {DEPLOY_TOKEN}"
    request = DeploymentRequest.model_validate(sent["body"])  # exactly what the endpoint accepts (extra fields forbidden)
    assert request.environment == environment and request.version == sha and request.commit_sha == sha
    assert request.commit_time is not None and request.commit_time.isoformat() == "2026-01-02T03:04:05+00:00"
    assert request.id == f"gh-9876-2-{environment}"  # a retried call is the same deployment

    recorder.status = 403  # a refusal fails the job
    refused = run_step(step, context, {}, tmp_path)
    assert refused.returncode != 0 and DEPLOY_TOKEN not in refused.stdout + refused.stderr
