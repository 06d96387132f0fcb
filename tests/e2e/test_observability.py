"""Observability of a real `roadbed up`: one trace from the HTTP request to every step, worker metrics, JSON logs.

Configured the way an operator does it — environment variables only: `OTEL_TRACES_EXPORTER=console` (spans as JSON
lines on stdout), `ROADBED_WORKER_METRICS_PORT`, `ROADBED_LOG_FORMAT=json` — then one provision, and the process's
output is read back. With no `OTEL_*` variable set, the OpenTelemetry SDK is not even imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from roadbed.observability import environment_of, tracing_requested
from tests.e2e.harness import free_port
from tests.e2e.topology import Part, Topology

STEPS = ["validate", "repository", "infrastructure", "kubernetes", "monitoring", "catalog"]


OBSERVED = {"OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "roadbed-under-test", "ROADBED_LOG_FORMAT": "json"}


@pytest.fixture
def traced(tmp_path: Path, fresh_postgres_url: str) -> Iterator[tuple[Topology, str, Part, Part, int]]:
    """The Temporal dev server (untraced: it reads OTEL_* itself and has no console exporter), an API and a worker
    configured by environment variables only."""
    home = tmp_path / "home"
    home.mkdir()
    topology = Topology(home, fresh_postgres_url)
    metrics_port = free_port()
    try:
        topology.start_temporal()
        api, url = topology.start_api("api", **OBSERVED)
        worker = topology.start_worker("worker", None, ROADBED_WORKER_METRICS_PORT=str(metrics_port), **OBSERVED)
        yield topology, url, api, worker, metrics_port
    finally:
        topology.close()


def json_lines(text: str) -> list[dict[str, Any]]:
    found = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
    return found


def test_one_provision_is_one_trace_with_worker_metrics_and_json_logs(traced: tuple[Topology, str, Part, Part, int]) -> None:
    topology, url, api, worker, metrics_port = traced
    token = (topology.home / "admin-token").read_text().strip()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        response = http.post("/v1/environments", json={"service": "traced", "team": "payments", "golden_path": "python-service",
                                                       "environment": "dev", "resources": [{"type": "postgres", "name": "main"}]},
                             headers={"X-Request-ID": "req-observed-1"})
        assert response.status_code == 202, response.text
        environment_id = response.json()["id"]
        deadline = time.monotonic() + 60
        while (status := http.get(f"/v1/environments/{environment_id}").json()["status"]) != "SUCCEEDED":
            assert status in {"RUNNING"} and time.monotonic() < deadline, status
            time.sleep(0.2)

    metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    assert "temporal_" in metrics and "temporal_activity_execution_latency" in metrics, metrics[:500]
    for part in (api, worker):
        part.process.terminate()  # a clean stop flushes what is still buffered
        assert part.process.wait(timeout=30) == 0, part.output()
    output = api.output() + worker.output()
    records = json_lines(output)

    spans = [r for r in records if "context" in r and "trace_id" in r.get("context", {})]
    assert spans, output[-2000:]
    http_span = next(s for s in spans if s["name"] == "POST /v1/environments")
    trace_id = http_span["context"]["trace_id"]
    in_trace = {s["name"] for s in spans if s["context"]["trace_id"] == trace_id}
    expected = {"StartWorkflow:ProvisionEnvironmentWorkflow", "RunWorkflow:ProvisionEnvironmentWorkflow"}
    expected |= {f"RunActivity:provision.{step}" for step in STEPS}
    assert expected <= in_trace, sorted(in_trace)
    assert all(s["resource"]["attributes"]["service.name"] == "roadbed-under-test" for s in spans)

    logs = [r for r in records if "level" in r and "logger" in r]
    assert logs, output[-2000:]
    access = [r for r in logs if r["logger"] == "roadbed.access" and r["message"].startswith("POST /v1/environments 202")]
    assert [r["request_id"] for r in access] == ["req-observed-1"], logs[-10:]
    steps = [r for r in logs if r["logger"] == "roadbed.steps" and r.get("environment_id") == environment_id]
    assert {r["message"].split()[1] for r in steps} >= {f"provision.{step}" for step in STEPS}, steps
    assert all(r["workflow_id"] == f"provision/traced/dev/{environment_id}" for r in steps)


def test_without_otel_variables_no_sdk_is_imported_or_installed(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from opentelemetry import trace\n"
        "from roadbed.api.app import create_app\n"
        "from roadbed.observability import configure_tracing, temporal_interceptors\n"
        "from roadbed.settings import Settings\n"
        f"create_app(Settings(home={str(tmp_path)!r}))\n"
        "assert configure_tracing() is None and temporal_interceptors() == []\n"
        "print(type(trace.get_tracer_provider()).__name__, 'opentelemetry.sdk' in sys.modules)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ProxyTracerProvider", "False"]


def test_which_variables_turn_tracing_on() -> None:
    assert not tracing_requested({})
    assert not tracing_requested({"OTEL_SERVICE_NAME": "x"})  # naming the service alone exports nothing
    assert not tracing_requested({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert not tracing_requested({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"})
    assert tracing_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert tracing_requested({"OTEL_TRACES_EXPORTER": "console"})
    assert environment_of("provision/svc/dev/env-abc") == "env-abc"
    assert environment_of("deploy/svc/1") is None and environment_of(None) is None
