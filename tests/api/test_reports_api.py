"""Reports over HTTP — DORA (fed through the events API and webhooks), adoption, scorecards, platform SLOs,
`/metrics` — and `roadbed report` against a served API."""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from roadbed.cli.report import app as report_app
from roadbed.settings import Settings
from roadbed.storage import catalog
from roadbed.storage.database import Database
from tests.api.conftest import make_token
from tests.api.test_events_api import build_app, serve
from tests.unit.test_reports import component, github_payload

NOW = datetime.now(UTC).replace(microsecond=0)
T = NOW - timedelta(days=2)  # "10:00"


async def feed_worked_example(http: httpx.AsyncClient) -> None:
    """Five prod deployments of orders, two of them followed by incidents; one GitHub deployment of billing."""
    for n in range(5):
        at = T + timedelta(hours=2 * n)
        body = {
            "service": "orders", "environment": "prod", "commit_sha": f"c{n}", "commit_time": (at - timedelta(minutes=30)).isoformat(),
            "deployed_at": at.isoformat(), "status": "success", "id": f"orders-{n}",
        }
        assert (await http.post("/v1/events/deployments", json=body)).status_code == 201
    incidents = [
        {"service": "orders", "id": "INC-1", "opened_at": (T + timedelta(minutes=20)).isoformat(), "resolved_at": (T + timedelta(minutes=60)).isoformat()},
        {"service": "orders", "id": "INC-2", "opened_at": (T + timedelta(hours=9)).isoformat(), "resolved_at": (T + timedelta(hours=9, minutes=40)).isoformat(),
         "caused_by_deployment": "orders-3"},
    ]
    for body in incidents:
        assert (await http.post("/v1/events/incidents", json=body)).status_code == 201


async def test_dora_report_shape_and_worked_example(settings: Settings, database: Database) -> None:
    async with serve(settings, database) as http:
        await feed_worked_example(http)
        response = await http.get("/v1/metrics/dora", params={"service": "orders"})
        assert response.status_code == 200, response.text
        report = response.json()
        assert set(report) >= {"deployment_frequency", "lead_time_for_changes", "change_failure_rate", "time_to_restore", "overall_tier", "window"}
        assert set(report["deployment_frequency"]) >= {"value", "unit", "tier"}
        assert set(report["lead_time_for_changes"]) >= {"median_seconds", "tier"}
        assert set(report["change_failure_rate"]) >= {"value", "tier"}
        assert set(report["time_to_restore"]) >= {"median_seconds", "tier"}
        assert report["change_failure_rate"]["value"] == pytest.approx(0.4)
        assert report["time_to_restore"]["median_seconds"] == pytest.approx(40 * 60)
        assert report["failed_deployment_recovery_time"]["median_seconds"] == pytest.approx(statistics.median([60 * 60, 3 * 60 * 60 + 40 * 60]))
        assert report["lead_time_for_changes"]["median_seconds"] == pytest.approx(30 * 60)
        assert report["deployment_frequency"] == report["deployment_frequency"] | {"value": pytest.approx(5 / 30), "unit": "deployments/day", "tier": "high"}
        assert report["window"]["environment"] == "prod" and report["window"]["days"] == 30
        assert report["overall_tier"] in {"elite", "high", "medium", "low"}

        fourkeys = (await http.get("/v1/metrics/dora", params={"service": "orders", "profile": "fourkeys-2019"})).json()
        assert fourkeys["window"]["profile"] == "fourkeys-2019"
        bad = await http.get("/v1/metrics/dora", params={"profile": "nope", "window_days": 0})
        assert bad.status_code == 422
        empty = (await http.get("/v1/metrics/dora", params={"service": "nobody"})).json()
        assert empty["change_failure_rate"]["value"] is None and empty["lead_time_for_changes"]["median_seconds"] is None
        staging = (await http.get("/v1/metrics/dora", params={"environment": "staging"})).json()
        assert staging["change_failure_rate"]["deployments"] == 0
        profiles = (await http.get("/v1/metrics/dora/profiles")).json()
        assert [p["name"] for p in profiles["profiles"]] == ["default", "dora-2021", "fourkeys-2019"]


async def test_webhooks_feed_dora(settings: Settings, database: Database) -> None:
    deployed = (NOW - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    payload = github_payload("failure")
    payload["deployment_status"]["created_at"] = deployed
    payload["deployment"]["created_at"] = deployed
    async with serve(settings, database) as http:
        for _ in range(2):  # a re-delivery
            assert (await http.post("/v1/webhooks/github", json=payload, headers={"X-GitHub-Event": "deployment_status"})).status_code == 200
        report = (await http.get("/v1/metrics/dora", params={"service": "orders"})).json()
    assert report["change_failure_rate"]["deployments"] == 1
    assert report["change_failure_rate"]["value"] == 1.0
    assert report["deployment_frequency"]["successful_deployments"] == 0


async def test_reports_need_a_token_but_viewers_may_read(settings: Settings, database: Database) -> None:
    async with serve(settings, database, role=None) as anonymous:
        for path in ("/v1/metrics/dora", "/v1/metrics/adoption", "/v1/scorecards", "/v1/slo/report"):
            assert (await anonymous.get(path)).status_code == 401, path
        metrics = await anonymous.get("/metrics")  # Prometheus scrapes without credentials
        assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    async with serve(settings, database, role="viewer") as viewer:
        for path in ("/v1/metrics/dora", "/v1/metrics/adoption", "/v1/scorecards", "/v1/slo/report"):
            assert (await viewer.get(path)).status_code == 200, path


async def test_adoption_scorecards_and_slo_shapes(settings: Settings, database: Database) -> None:
    with database.transaction() as session:
        catalog.upsert_entities(session, [component("orders", version="0.0.1"), component("search", template=None, team="search")], None, NOW)
    async with serve(settings, database) as http:
        adoption = (await http.get("/v1/metrics/adoption")).json()
        assert {"services", "on_golden_path", "ratio", "by_golden_path", "outdated_template_version"} <= set(adoption)
        assert (adoption["services"], adoption["on_golden_path"], adoption["ratio"]) == (2, 1, 0.5)
        assert adoption["outdated_template_version"] == 1 and "python-service" in adoption["by_golden_path"]
        cards = (await http.get("/v1/scorecards", params={"team": "search"})).json()
        assert [card["service"] for card in cards["services"]] == ["search"]
        card = cards["services"][0]
        assert set(card) >= {"service", "score", "checks"} and 0 <= card["score"] <= 100
        assert all(set(check) >= {"id", "passed", "detail"} for check in card["checks"])
        assert cards["average"] == card["score"]
        slo = (await http.get("/v1/slo/report", params={"window_days": 28})).json()
        assert [entry["name"] for entry in slo["slos"]] == ["provisioning-success", "time-to-environment"]
        for entry in slo["slos"]:
            assert set(entry) >= {"name", "objective", "sli", "error_budget_remaining", "burn_rate", "status"}
            assert set(entry["burn_rate"]) == {"1h", "6h", "1d", "3d"} and entry["status"] in {"ok", "at_risk", "exhausted"}
        assert (await http.get("/v1/slo/report", params={"window_days": 3})).status_code == 422


async def test_metrics_exposition_has_the_same_figures(settings: Settings, database: Database) -> None:
    async with serve(settings, database) as http:
        await feed_worked_example(http)
        dora = (await http.get("/v1/metrics/dora")).json()
        text = (await http.get("/metrics")).text
    line = next(line for line in text.splitlines() if line.startswith('roadbed_dora_change_failure_rate{environment="prod",service=""}'))
    assert float(line.split()[-1]) == pytest.approx(dora["change_failure_rate"]["value"])
    assert "# TYPE roadbed_slo_burn_rate gauge" in text
    assert 'roadbed_dora_time_to_restore_seconds{environment="prod",service="orders"} 2400.0' in text
    checked = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True, check=False)
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, b"")  # what Prometheus scrapes passes its own linter


# -- roadbed report, against a served API


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def served_api(settings: Settings, database: Database) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(build_app(settings, database), host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_cli_report_commands(served_api: str, database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROADBED_API_URL", served_api)
    monkeypatch.setenv("ROADBED_TOKEN", make_token(database, "viewer"))
    with httpx.Client(base_url=served_api, headers={"Authorization": f"Bearer {make_token(database, 'developer')}"}) as http:
        at = NOW - timedelta(hours=5)
        body = {"service": "orders", "environment": "prod", "commit_sha": "c1", "commit_time": (at - timedelta(hours=1)).isoformat(), "deployed_at": at.isoformat(), "status": "success"}
        assert http.post("/v1/events/deployments", json=body).status_code == 201
    runner = CliRunner()
    result = runner.invoke(report_app, ["dora", "--service", "orders", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["lead_time_for_changes"]["median_seconds"] == pytest.approx(3600)
    for command in (["dora"], ["tte"], ["adoption"], ["scorecards"], ["slo"]):
        result = runner.invoke(report_app, command, env={"COLUMNS": "200"})
        assert result.exit_code == 0, (command, result.output)
    assert "deployment frequency" in runner.invoke(report_app, ["dora"], env={"COLUMNS": "200"}).output
    for command in (["tte", "--json"], ["adoption", "--json"], ["scorecards", "--json"], ["slo", "--json"]):
        result = runner.invoke(report_app, command)
        assert result.exit_code == 0 and isinstance(json.loads(result.output), dict), (command, result.output)
    failing = runner.invoke(report_app, ["slo", "--window-days", "2"])
    assert failing.exit_code == 1 and "window_days" in failing.output
