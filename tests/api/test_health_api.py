"""`GET /v1/services/{service}/health` and `roadbed health`: the real app, its engine database and fakes of every
configured system; a hanging source costs the response no more than its deadline."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from roadbed.api.app import create_app
from roadbed.domain.models import EnvironmentName, EnvironmentRequest, EnvironmentStatus, ProvisionInput
from roadbed.settings import Settings, load_settings
from roadbed.storage import environments, events
from roadbed.storage.database import Database
from roadbed.storage.events import IncidentEvent
from tests.api.conftest import make_token
from tests.fakes.argocd import FakeArgoCd
from tests.fakes.prometheus import FakePrometheus
from tests.fakes.sonarqube import FakeSonarQube

ASYNC = pytest.mark.asyncio(loop_scope="session")
NOW = datetime.now(UTC)


@dataclass
class Fakes:
    argocd: FakeArgoCd
    prometheus: FakePrometheus
    sonarqube: FakeSonarQube


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    with FakeArgoCd(token="argo") as argocd, FakePrometheus() as prometheus, FakeSonarQube(token="sq") as sonarqube:
        yield Fakes(argocd, prometheus, sonarqube)


@pytest.fixture
def health_settings(tmp_path: Path, fakes: Fakes) -> Settings:
    return load_settings(
        home=tmp_path / "home", argocd_url=fakes.argocd.url, argocd_token="argo", prometheus_url=fakes.prometheus.url,
        sonarqube_url=fakes.sonarqube.url, sonarqube_token="sq",
    )


@pytest.fixture
def health_db(health_settings: Settings) -> Iterator[Database]:
    db = Database(health_settings.resolved_database_url)
    db.migrate()
    yield db
    db.dispose()


def provision(database: Database, service: str, environment: str, *, team: str = "payments", status: EnvironmentStatus = EnvironmentStatus.SUCCEEDED) -> None:
    request = EnvironmentRequest(service=service, team=team, golden_path="python-service", environment=EnvironmentName(environment))
    accepted = ProvisionInput(environment_id=f"env_{service}_{environment}", request=request, golden_path_version="1.0.0", requested_at=NOW)
    with database.transaction() as session:
        environments.insert_environment(session, accepted, f"provision/{service}/{environment}", status)


def incident(database: Database, key: str, *, opened: datetime, resolved: datetime | None = None, environment: str | None = "prod") -> None:
    event = IncidentEvent(key=key, source="pagerduty", service="orders", environment=environment, title=key, opened_at=opened, resolved_at=resolved)
    with database.transaction() as session:
        events.record_incident(session, event, NOW, authoritative=True)


@asynccontextmanager
async def client(settings: Settings, database: Database, role: str = "developer", teams: list[str] | None = None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database)
    async with app.router.lifespan_context(app):
        headers = {"Authorization": f"Bearer {make_token(database, role, teams if teams is not None else ['payments'])}"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://roadbed", headers=headers) as http:
            yield http


@ASYNC
async def test_one_document_with_every_source(health_settings: Settings, health_db: Database, fakes: Fakes) -> None:
    provision(health_db, "orders", "prod")
    incident(health_db, "inc-open", opened=NOW - timedelta(hours=3))
    incident(health_db, "inc-done", opened=NOW - timedelta(days=2), resolved=NOW - timedelta(days=2) + timedelta(minutes=90))
    incident(health_db, "inc-dev", opened=NOW - timedelta(hours=1), environment="dev")  # another environment's
    fakes.argocd.set_application("orders-prod")
    fakes.sonarqube.set_project("orders", "OK", {"coverage": 88})
    labels = {"slo_service": "orders", "slo_environment": "prod", "slo_name": "availability"}
    for window, ratio in (("1h", 0.0001), ("6h", 0.0001), ("30d", 0.0002)):
        fakes.prometheus.set_series(f"slo:sli_error:ratio_rate{window}", {**labels, "slo_window": window}, ratio)
    async with client(health_settings, health_db) as http:
        response = await http.get("/v1/services/orders/health")
    assert response.status_code == 200, response.text
    doc = response.json()
    assert (doc["service"], doc["environment"]) == ("orders", "prod")
    assert set(doc["sources"]) == {"kubernetes", "argocd", "github", "incidents", "prometheus", "grafana", "sonarqube"}
    sources = doc["sources"]
    assert sources["argocd"]["status"] == "ok" and sources["argocd"]["url"].endswith("/applications/orders-prod")
    assert sources["sonarqube"]["status"] == "ok" and sources["sonarqube"]["measures"] == {"coverage": 88.0}
    assert sources["prometheus"]["status"] == "ok" and sources["prometheus"]["error_budget_remaining"] == pytest.approx(0.8)
    assert sources["github"]["status"] == "not_configured" and sources["grafana"]["status"] == "not_configured"
    assert sources["kubernetes"]["status"] == "unknown"  # embedded target, no gitops repository yet
    assert sources["incidents"]["status"] == "failing" and sources["incidents"]["open"] == 1
    assert sources["incidents"]["median_time_to_restore_hours"] == pytest.approx(1.5)
    assert all("fetched_at" in s for s in sources.values())
    assert doc["status"] == "failing"


@ASYNC
async def test_default_environment_unknown_names_and_missing_services(health_settings: Settings, health_db: Database) -> None:
    provision(health_db, "orders", "dev")
    provision(health_db, "orders", "staging")
    provision(health_db, "billing", "prod", status=EnvironmentStatus.DECOMMISSIONED)
    async with client(health_settings, health_db) as http:
        assert (await http.get("/v1/services/orders/health")).json()["environment"] == "staging"
        assert (await http.get("/v1/services/orders/health", params={"environment": "dev"})).json()["environment"] == "dev"
        assert (await http.get("/v1/services/orders/health", params={"environment": "prod"})).status_code == 404
        assert (await http.get("/v1/services/orders/health", params={"environment": "qa"})).status_code == 422
        assert (await http.get("/v1/services/billing/health")).status_code == 404  # decommissioned is not live
        missing = await http.get("/v1/services/ghost/health")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


@ASYNC
async def test_who_may_read(health_settings: Settings, health_db: Database) -> None:
    provision(health_db, "orders", "prod")
    for role, teams in (("viewer", []), ("developer", ["other-team"]), ("platform-admin", [])):
        async with client(health_settings, health_db, role, teams) as http:
            assert (await http.get("/v1/services/orders/health")).status_code == 200, role
    async with client(health_settings, health_db) as http:
        assert (await http.get("/v1/services/orders/health", headers={"Authorization": ""})).status_code == 401


@ASYNC
async def test_a_hanging_source_costs_only_its_deadline(health_settings: Settings, health_db: Database, fakes: Fakes) -> None:
    provision(health_db, "orders", "prod")
    provision(health_db, "orders", "dev")
    fakes.argocd.set_application("orders-prod")
    fakes.sonarqube.set_project("orders", "OK")
    quick = health_settings.model_copy(update={"health_timeout_seconds": 0.5})
    async with client(quick, health_db) as http:
        assert (await http.get("/v1/services/orders/health", params={"environment": "dev"})).status_code == 200  # the app's first request wires the sources
        fakes.argocd.hang_next("applications", seconds=10)
        fakes.prometheus.garbage_next("query", times=3)
        started = time.monotonic()
        response = await http.get("/v1/services/orders/health")
        elapsed = time.monotonic() - started
        assert response.status_code == 200 and elapsed < 0.5 + 0.5, elapsed  # the deadline, not the 10 s hang
        sources = response.json()["sources"]
        assert sources["argocd"] == {**sources["argocd"], "status": "unknown", "reason": "no answer within 0.5 s"}
        assert sources["prometheus"]["status"] == "unknown" and "not JSON" in sources["prometheus"]["reason"]
        assert sources["sonarqube"]["status"] == "ok" and sources["incidents"]["status"] == "ok"
        cached = await http.get("/v1/services/orders/health")  # within the cache's 10 s: the same answers, no new calls
        assert cached.json()["sources"]["argocd"]["fetched_at"] == sources["argocd"]["fetched_at"]
        assert len(fakes.argocd.requests_to("applications/orders-prod")) == 1


def test_cli_health_table_and_json(health_settings: Settings, health_db: Database, fakes: Fakes, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import uvicorn

    from roadbed.cli.main import app as cli
    from tests.api.test_reports_api import free_port

    provision(health_db, "orders", "prod")
    fakes.argocd.set_application("orders-prod", sync="OutOfSync")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(health_settings, health_db), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        monkeypatch.setenv("ROADBED_API_URL", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("ROADBED_TOKEN", make_token(health_db, "viewer"))
        runner = CliRunner()
        table = runner.invoke(cli, ["health", "orders"], env={"COLUMNS": "200"})
        assert table.exit_code == 0, table.output
        lines = table.stdout.splitlines()  # piped: TSV
        assert lines[0].split("\t") == ["source", "status", "detail", "reason", "link"]
        assert any(line.startswith("argocd") and "degraded" in line and "OutOfSync" in line for line in lines), table.stdout
        as_json = runner.invoke(cli, ["health", "orders", "--env", "prod", "--json"])
        assert as_json.exit_code == 0 and '"argocd"' in as_json.stdout
        missing = runner.invoke(cli, ["health", "orders", "--env", "dev"])
        assert missing.exit_code == 1 and "has no live 'dev' environment" in missing.stderr
    finally:
        server.should_exit = True
        thread.join(timeout=10)
