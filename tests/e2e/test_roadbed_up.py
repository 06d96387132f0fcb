"""End to end: `roadbed up` as a subprocess on a fresh data dir and free ports, used over HTTP and the CLI."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.e2e.harness import RoadbedUp

pytestmark = pytest.mark.e2e


def wait_for(http: httpx.Client, environment_id: str, predicate: Any, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        environment = http.get(f"/v1/environments/{environment_id}").json()
        if predicate(environment):
            return environment
        time.sleep(0.1)
    raise AssertionError(f"condition not met for {environment_id}: {environment}")


def step(environment: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in environment["steps"] if s["name"] == name)


def test_up_provisions_survives_restart_and_stops_cleanly(roadbed: RoadbedUp, tmp_path: Path) -> None:
    # First run: the infrastructure step fails transiently twice, and we stop `up` in the middle of it.
    roadbed.start(ROADBED_FAILPOINTS="infrastructure:transient:2")
    with roadbed.http() as http:
        response = http.post(
            "/v1/environments",
            json={"service": "orders", "team": "payments", "golden_path": "python-service", "environment": "dev", "resources": [{"type": "postgres", "name": "main"}]},
        )
        assert response.status_code == 202, response.text
        environment_id = response.json()["id"]
        wait_for(http, environment_id, lambda e: step(e, "infrastructure")["attempts"] >= 2)
    assert roadbed.stop() == 0
    printed = roadbed.log.read_text()
    portal = printed.index(f"Portal           {roadbed.url}/")  # the portal first, then the other places the README lists
    for line in (f"Roadbed API      {roadbed.url}", "Temporal UI", f"Admin token in   {roadbed.home / 'admin-token'}", f"Data dir         {roadbed.home}"):
        assert printed.index(line) > portal, line
    assert " INFO alembic" not in printed, "no Alembic narration at start (issue 11)"
    temporal_port = int(roadbed.env["ROADBED_TEMPORAL_PORT"])
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", temporal_port), timeout=1).close()

    # Second run on the same data dir resumes the unfinished workflow.
    roadbed.start()
    with roadbed.http() as http:
        environment = wait_for(http, environment_id, lambda e: e["status"] not in {"RUNNING"})
        assert environment["status"] == "SUCCEEDED", environment
        assert [s["status"] for s in environment["steps"]] == ["succeeded"] * 6
        assert step(environment, "infrastructure")["attempts"] >= 3

        clone = tmp_path / "clone"
        subprocess.run(["git", "clone", "-q", environment["outputs"]["repository_url"], str(clone)], check=True)
        component = next(yaml.safe_load_all((clone / "catalog-info.yaml").read_text()))
        assert component["metadata"]["name"] == "orders"
        assert component["spec"]["owner"] == "group:default/payments"
        state = json.loads((roadbed.home / "terraform" / environment_id / "terraform.tfstate").read_text())
        assert state["outputs"]["postgres_main"]["value"]["host"] == "orders-main.orders-dev.svc.cluster.local"
        entity = http.get("/v1/catalog/entities/component/default/orders").json()
        assert entity["metadata"]["annotations"]["roadbed.dev/environment-id"] == environment_id
        assert http.get("/v1/metrics/time-to-environment").json()["count"] == 1

    # The CLI against the running instance: --wait exits 0 on success, bad input exits non-zero with one line.
    created = roadbed.cli("create", "billing", "--team", "payments", "--golden-path", "python-service", "--env", "dev", "--resource", "redis:cache", "--wait")
    assert created.returncode == 0, created.stdout + created.stderr
    assert "succeeded" in created.stdout and "ready" in created.stdout
    rejected = roadbed.cli("create", "Bad_Name", "--team", "payments", "--golden-path", "python-service", "--env", "dev")
    assert rejected.returncode == 1
    lines = rejected.stderr.strip().splitlines()
    assert lines[0].startswith("targets: repo host=local") and len(lines) == 2
    assert lines[1].startswith("error: HTTP 422") and "service" in lines[1]
    misused = roadbed.cli("create", "billing", "--team", "payments", "--golden-path", "python-service", "--env", "qa")
    assert misused.returncode == 2 and misused.stderr.strip().splitlines()[1:] == ["error: --env must be dev, staging or prod (got 'qa') (see `roadbed create --help`)"]
    listed = roadbed.cli("list", "--json")
    assert listed.returncode == 0 and {e["service"] for e in json.loads(listed.stdout)} == {"orders", "billing"}
    decommissioned = roadbed.cli("decommission", "billing", "--env", "dev", "--wait")
    assert decommissioned.returncode == 0, decommissioned.stdout + decommissioned.stderr
    assert "DECOMMISSIONED" in decommissioned.stderr  # piped: the environment's line on stderr, stdout one TSV grid of steps
    assert "step\tstatus\tattempts\tseconds\tdetail" in decommissioned.stdout.splitlines()
    assert (roadbed.home / "git/archive").is_dir() and not (roadbed.home / "git/repos/billing.git").exists()
    audit = roadbed.cli("doctor")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    prod = roadbed.cli("create", "ledger", "--team", "payments", "--golden-path", "python-service", "--env", "prod")
    assert prod.returncode == 0
    ledger_id = prod.stdout.split()[1]
    assert roadbed.cli("approve", ledger_id).returncode == 0
    assert roadbed.cli("status", ledger_id, "--watch").returncode == 0
    assert roadbed.cli("approve", ledger_id).returncode == 1  # already approved: a one-line 409
    ui = httpx.get(f"http://127.0.0.1:{roadbed.env['ROADBED_TEMPORAL_UI_PORT']}/", timeout=10)
    assert ui.status_code == 200
    assert roadbed.stop() == 0
