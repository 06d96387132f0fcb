"""Platform SLO report, golden-path adoption, scorecards, Prometheus exposition and the webhook payload
parsers (shapes as in GitHub's, Alertmanager's and PagerDuty's public docs)."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from roadbed.cli.report import duration, percent
from roadbed.domain.errors import InvalidRequest
from roadbed.domain.models import EnvironmentRequest, EnvironmentStatus, ProvisionInput, StepName, StepProgress, StepStatus
from roadbed.golden_paths import GoldenPathRegistry
from roadbed.metrics import sources
from roadbed.metrics.adoption import adoption_report, is_outdated, template_name
from roadbed.metrics.exposition import RoadbedCollector, render
from roadbed.metrics.scorecards import CHECKS, CheckDefinition, scorecards
from roadbed.metrics.slo_report import PLATFORM_SLOS, slo_report
from roadbed.metrics.thresholds import DEFAULT
from roadbed.rendering.monitoring import burn_rate_windows
from roadbed.storage import catalog, environments
from roadbed.storage.database import Database
from roadbed.storage.events import DeploymentEvent, record_deployment
from roadbed.storage.tables import EnvironmentRow

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
_counter = iter(range(1_000_000))


def run(
    database: Database,
    *,
    status: EnvironmentStatus,
    ended: datetime,
    latency: float = 5.0,
    error_class: str | None = None,
    service: str | None = None,
    team: str = "payments",
    approval_wait: float | None = None,
    outputs: dict[str, Any] | None = None,
) -> str:
    """One recorded provisioning run that ended at `ended` (ready `latency` s after the request)."""
    n = next(_counter)
    env_id = f"env_{n:05d}"
    service = service or f"svc-{n}"
    requested = ended - timedelta(seconds=latency + (approval_wait or 0))
    request = EnvironmentRequest(service=service, team=team, golden_path="python-service", environment="prod" if approval_wait else "dev")
    accepted = ProvisionInput(
        environment_id=env_id, request=request, golden_path_version="1.0.0", requested_at=requested, requires_approval=approval_wait is not None
    )
    with database.transaction() as session:
        environments.insert_environment(session, accepted, f"provision/{service}/{env_id}", EnvironmentStatus.RUNNING)
        if approval_wait is not None:
            started = requested + timedelta(seconds=approval_wait)
            environments.record_step(session, env_id, StepProgress(name=StepName.VALIDATE, status=StepStatus.SUCCEEDED, attempts=1, started_at=started, finished_at=started))
        error = {"step": "infrastructure", "error_class": error_class, "message": "boom"} if error_class else None
        environments.record_status(session, env_id, status, error=error, finished_at=ended, outputs=outputs)
    return env_id


def good_runs(database: Database, count: int, ended: datetime) -> None:
    """Many successful runs at once (rows only; the SLO report reads no steps for them)."""
    rows = []
    for _ in range(count):
        n = next(_counter)
        rows.append(
            {
                "id": f"env_{n:05d}", "request_id": None, "live_key": None, "service": f"bulk-{n}", "team": "payments",
                "golden_path": "python-service", "golden_path_version": "1.0.0", "environment": "dev", "status": "SUCCEEDED",
                "workflow_id": f"provision/bulk-{n}/env_{n:05d}", "parameters": {}, "resources": [], "outputs": {}, "provision_input": {},
                "error": None, "created_at": ended - timedelta(seconds=5), "ready_at": ended, "finished_at": ended,
            }
        )
    with database.engine.begin() as connection:
        connection.execute(insert(EnvironmentRow), rows)


# -- platform SLOs


def slo(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(entry for entry in report["slos"] if entry["name"] == name)


def report_of(database: Database, window_days: int = 28) -> dict[str, Any]:
    with database.transaction() as session:
        return slo_report(session, now=NOW, window_days=window_days)


def test_slo_burn_rate_thresholds_are_sloths(database: Database) -> None:
    thirty = slo(report_of(database, 30), "provisioning-success")["burn_rate_thresholds"]
    assert thirty == pytest.approx({"1h": 14.4, "6h": 6, "1d": 3, "3d": 1})
    twenty_eight = slo(report_of(database, 28), "provisioning-success")["burn_rate_thresholds"]
    assert twenty_eight == pytest.approx({"1h": 13.44, "6h": 5.6, "1d": 2.8, "3d": 0.9333}, abs=1e-3)
    assert [w.factor for w in burn_rate_windows(28)] == pytest.approx(list(twenty_eight.values()))


def test_slo_without_events_is_null_and_ok(database: Database) -> None:
    entry = slo(report_of(database), "provisioning-success")
    assert entry["sli"] is None and entry["error_budget_remaining"] is None
    assert entry["burn_rate"] == {"1h": None, "6h": None, "1d": None, "3d": None}
    assert entry["status"] == "ok" and entry["objective"] == 0.999


def test_user_errors_and_cancellations_do_not_burn_the_budget(database: Database) -> None:
    for day in range(10):
        run(database, status=EnvironmentStatus.SUCCEEDED, ended=NOW - timedelta(days=day + 1))
    run(database, status=EnvironmentStatus.COMPENSATED, ended=NOW - timedelta(days=2), error_class="InvalidRequest")
    run(database, status=EnvironmentStatus.COMPENSATED, ended=NOW - timedelta(days=2), error_class="NotFound")
    run(database, status=EnvironmentStatus.CANCELLED, ended=NOW - timedelta(days=2), error_class="Cancelled")
    run(database, status=EnvironmentStatus.CANCELLED, ended=NOW - timedelta(days=2), error_class="ApprovalTimedOut")
    entry = slo(report_of(database), "provisioning-success")
    assert (entry["good_events"], entry["bad_events"], entry["sli"]) == (10, 0, 1.0)
    assert entry["error_budget_remaining"] == 1.0 and entry["status"] == "ok"


def test_platform_failures_spend_the_budget(database: Database) -> None:
    good_runs(database, 999, NOW - timedelta(days=20))
    run(database, status=EnvironmentStatus.COMPENSATED, ended=NOW - timedelta(days=20), error_class="TransientError")
    entry = slo(report_of(database), "provisioning-success")
    # E = 1/1000 = B: the whole budget is spent.
    assert entry["sli"] == pytest.approx(0.999)
    assert entry["error_budget_remaining"] == pytest.approx(0.0, abs=1e-12)
    assert entry["status"] == "exhausted"
    assert entry["burn_rate"]["3d"] is None  # nothing happened in the last 3 days


def test_burn_rate_over_short_windows_and_at_risk(database: Database) -> None:
    good_runs(database, 3000, NOW - timedelta(days=10))
    good_runs(database, 99, NOW - timedelta(minutes=30))
    run(database, status=EnvironmentStatus.FAILED, ended=NOW - timedelta(minutes=10), error_class="ConfigurationError")
    entry = slo(report_of(database), "provisioning-success")
    # Last hour: 1 bad of 100 → E = 0.01, burn rate 10 (below 13.44); last 3 days the same events.
    assert entry["burn_rate"]["1h"] == pytest.approx(10.0)
    assert entry["burn_rate"]["3d"] == pytest.approx(10.0)
    assert entry["alerting_windows"] == ["6h", "1d", "3d"]  # 10 ≥ 5.6, 2.8, 0.93
    assert entry["error_budget_remaining"] == pytest.approx(1 - (1 / 3100) / 0.001)
    assert entry["status"] == "at_risk"


def test_time_to_environment_slo_excludes_approval_waits(database: Database) -> None:
    run(database, status=EnvironmentStatus.SUCCEEDED, ended=NOW - timedelta(hours=1), latency=12)
    run(database, status=EnvironmentStatus.SUCCEEDED, ended=NOW - timedelta(hours=1), latency=90)
    run(database, status=EnvironmentStatus.SUCCEEDED, ended=NOW - timedelta(hours=1), latency=20, approval_wait=7200)
    run(database, status=EnvironmentStatus.COMPENSATED, ended=NOW - timedelta(hours=1), error_class="TransientError")
    entry = slo(report_of(database), "time-to-environment")
    assert (entry["good_events"], entry["bad_events"]) == (2, 1)
    assert entry["threshold_seconds"] == 60 and entry["objective"] == 0.99
    assert [s.name for s in PLATFORM_SLOS] == ["provisioning-success", "time-to-environment"]


# -- adoption and scorecards


def component(name: str, team: str = "payments", *, template: str | None = "python-service", version: str | None = None, **extra: Any) -> dict[str, Any]:
    annotations: dict[str, str] = {}
    if template:
        annotations["backstage.io/source-template"] = f"template:default/{template}"
    if version:
        annotations["roadbed.dev/golden-path-version"] = version
    annotations.update(extra.pop("annotations", {}))
    owner = extra.pop("owner", f"group:default/{team}")
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name, "namespace": "default", "annotations": annotations, **extra},
        "spec": {"type": "service", "lifecycle": "production", "owner": owner},
    }


@pytest.fixture
def registry(tmp_path: Path) -> GoldenPathRegistry:
    root = tmp_path / "paths" / "adoption-path"
    root.mkdir(parents=True)
    (root / "template.yaml").write_text(
        "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: adoption-path}\n"
        "spec:\n  roadbed: {version: 2.1.0}\n  steps: [{id: fetch, action: 'fetch:template', input: {url: ./skeleton}}]\n"
    )
    return GoldenPathRegistry([tmp_path / "paths"])


def register(database: Database, *entities: dict[str, Any]) -> None:
    with database.transaction() as session:
        catalog.upsert_entities(session, list(entities), None, NOW)


def test_adoption(database: Database, registry: GoldenPathRegistry) -> None:
    register(
        database,
        component("current", template="adoption-path", version="2.1.0"),
        component("old", template="adoption-path", version="2.0.9"),
        component("prerelease", template="adoption-path", version="2.1.0-rc1"),
        component("versionless", template="adoption-path"),
        component("elsewhere", template="not-loaded", version="1.0.0"),
        component("handmade", template=None, team="search"),
        {"apiVersion": "backstage.io/v1alpha1", "kind": "Resource", "metadata": {"name": "db"}, "spec": {"type": "postgres", "owner": "group:default/payments"}},
    )
    with database.transaction() as session:
        report = adoption_report(session, registry)
        by_team = adoption_report(session, registry, team="search")
    assert (report["services"], report["on_golden_path"]) == (6, 5)
    assert report["ratio"] == pytest.approx(5 / 6)
    assert report["outdated_template_version"] == 2
    assert [s["service"] for s in report["outdated_services"]] == ["old", "prerelease"]
    assert (report["unknown_golden_path"], report["unknown_version"]) == (1, 1)
    assert report["by_golden_path"]["adoption-path"]["current_version"] == "2.1.0"
    assert report["by_golden_path"]["adoption-path"]["versions"] == {"2.0.9": 1, "2.1.0": 1, "2.1.0-rc1": 1, "unknown": 1}
    assert (by_team["services"], by_team["on_golden_path"], by_team["ratio"]) == (1, 0, 0.0)
    with database.transaction() as session:
        session.execute(catalog.CatalogEntityRow.__table__.delete())
        assert adoption_report(session, registry)["ratio"] is None


def test_semver_and_template_refs() -> None:
    assert is_outdated("1.9.9", "1.10.0") and not is_outdated("1.10.0", "1.10.0") and not is_outdated("2.0.0", "1.10.0")
    assert is_outdated("weird", "1.0.0") and not is_outdated("weird", "weird")
    assert template_name("template:default/python-service") == "python-service"
    assert template_name("python-service") == "python-service"
    assert template_name("component:default/x") is None and template_name(None) is None


def test_scorecards(database: Database, registry: GoldenPathRegistry) -> None:
    register(
        database,
        component(
            "model",
            template="adoption-path",
            version="2.1.0",
            links=[{"url": "https://example.com/runbook", "title": "Runbook", "type": "runbook"}],
        ),
        component("sloppy", template="adoption-path", version="1.0.0", owner="user:default/alice"),
    )
    run(database, status=EnvironmentStatus.SUCCEEDED, ended=NOW - timedelta(days=3), service="model", outputs={"monitoring_files": ["monitoring/alerts.yaml"]})
    run(database, status=EnvironmentStatus.SUCCEEDED, ended=NOW - timedelta(days=3), service="unregistered", team="search")
    with database.transaction() as session:
        for n in range(40):  # daily deploys, fast, no failures: elite
            at = NOW - timedelta(hours=18 * n + 1)
            record_deployment(session, DeploymentEvent("model", "prod", f"c{n}", at, "success", key=f"m{n}", commit_time=at - timedelta(minutes=20)), NOW)
    with database.transaction() as session:
        result = scorecards(session, registry, now=NOW)
        search = scorecards(session, registry, now=NOW, team="search")
    cards = {card["service"]: card for card in result["services"]}
    assert set(cards) == {"model", "sloppy", "unregistered"}
    assert cards["model"]["score"] == 100.0, cards["model"]["checks"]
    sloppy = {check["id"]: check["passed"] for check in cards["sloppy"]["checks"]}
    assert sloppy == {
        "catalog-registered": True, "owner-is-group": False, "runbook-linked": False,
        "golden-path-current": False, "slo-defined": False, "dora-medium": False,
    }
    assert cards["sloppy"]["score"] == pytest.approx(round(100 / 6, 1))
    assert cards["unregistered"]["score"] == 0.0 and cards["unregistered"]["team"] == "search"
    assert result["average"] == pytest.approx(round((100 + round(100 / 6, 1) + 0) / 3, 1))
    assert cards["sloppy"]["team"] is None  # owned by a user, and no provisioning request names a team
    assert result["by_team"] == {"(none)": pytest.approx(round(100 / 6, 1)), "payments": 100.0, "search": 0.0}
    assert [card["service"] for card in search["services"]] == ["unregistered"]
    assert [d["id"] for d in result["definitions"]] == [c.id for c in CHECKS]


def test_scorecard_checks_are_data(database: Database, registry: GoldenPathRegistry) -> None:
    register(database, component("docs", annotations={"backstage.io/techdocs-ref": "dir:."}))
    checks = (
        CheckDefinition("runbook", "Runbook annotation", 1, "runbook_linked", {"link_types": [], "annotations": ["backstage.io/techdocs-ref"]}),
        CheckDefinition("registered", "Registered", 3, "catalog_registered"),
    )
    with database.transaction() as session:
        result = scorecards(session, registry, now=NOW, checks=checks)
    assert result["services"][0]["score"] == 100.0


# -- /metrics exposition


def test_exposition_exports_the_reports_and_omits_nulls(database: Database, registry: GoldenPathRegistry) -> None:
    register(database, component("model", template="adoption-path", version="2.1.0"))
    run(database, status=EnvironmentStatus.SUCCEEDED, ended=NOW - timedelta(hours=2), service="model", latency=4)
    with database.transaction() as session:
        record_deployment(session, DeploymentEvent("model", "prod", "c1", NOW - timedelta(hours=1), "success", key="m1", commit_time=NOW - timedelta(hours=2)), NOW)
    text = render(RoadbedCollector(database, registry, DEFAULT, 24.0, clock=lambda: NOW)).decode()
    assert 'roadbed_dora_deployment_frequency_per_day{environment="prod",service=""} 0.0333' in text
    assert 'roadbed_dora_lead_time_seconds{environment="prod",service="model"} 3600.0' in text
    assert 'roadbed_dora_change_failure_rate{environment="prod",service=""} 0.0' in text
    assert "roadbed_dora_time_to_restore_seconds{" not in text  # no incident: undefined, omitted
    assert 'roadbed_dora_tier{environment="prod",metric="overall",service=""}' in text
    assert "roadbed_golden_path_adoption_ratio 1.0" in text
    assert 'roadbed_time_to_environment_seconds{quantile="0.5"} 4.0' in text
    assert 'roadbed_slo_status{slo="provisioning-success",status="ok"} 1.0' in text
    assert 'roadbed_scorecard_score{service="model",team="payments"}' in text
    assert "roadbed_metrics_collect_errors_total{" not in text  # every section computed


def test_exposition_passes_promtool_check_metrics(database: Database, registry: GoldenPathRegistry) -> None:
    """Prometheus' own linter accepts every metric: no gauge named `*_total`, `quantile` only on a summary."""
    register(database, component("model", template="adoption-path", version="1.0.0"))
    run(database, status=EnvironmentStatus.SUCCEEDED, ended=NOW - timedelta(hours=2), service="model", latency=4)
    run(database, status=EnvironmentStatus.SUCCEEDED, ended=NOW - timedelta(hours=1), service="other", latency=6)
    text = render(RoadbedCollector(database, registry, DEFAULT, 24.0, clock=lambda: NOW))
    checked = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, check=False)
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, b"")
    assert 'roadbed_time_to_environment_seconds{quantile="0.5"} 5.0' in text.decode()  # the dashboards' series kept
    assert "roadbed_time_to_environment_seconds_count 2.0" in text.decode()
    assert "roadbed_time_to_environment_seconds_sum 10.0" in text.decode()


def test_a_failing_section_does_not_hide_the_others(database: Database) -> None:
    register(database, component("model"))
    broken_registry: Any = None  # adoption and scorecards need golden paths; DORA and SLOs do not
    text = render(RoadbedCollector(database, broken_registry, DEFAULT, 24.0, clock=lambda: NOW)).decode()
    assert 'roadbed_metrics_collect_errors_total{section="adoption"} 1.0' in text
    assert 'roadbed_metrics_collect_errors_total{section="scorecards"} 1.0' in text
    assert 'roadbed_slo_objective{slo="provisioning-success"} 0.999' in text


def test_the_grafana_dashboard_uses_exported_metrics(database: Database, registry: GoldenPathRegistry) -> None:
    dashboard = json.loads((Path(__file__).resolve().parents[2] / "roadbed/metrics/grafana/roadbed-platform.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    exprs.append(dashboard["templating"]["list"][1]["definition"])
    used = {name for expr in exprs for name in re.findall(r"roadbed_[a-z_]+", expr)}
    register(database, component("model", template="adoption-path", version="2.1.0"))
    run(database, status=EnvironmentStatus.SUCCEEDED, ended=NOW - timedelta(hours=2), service="model")
    with database.transaction() as session:
        record_deployment(session, DeploymentEvent("model", "prod", "c1", NOW - timedelta(hours=1), "success", key="m1", commit_time=NOW - timedelta(hours=2)), NOW)
        session.add(catalog.CatalogEntityRow(ref="x", kind="component", namespace="default", name="x", owner=None, body={}, updated_at=NOW))
    text = render(RoadbedCollector(database, registry, DEFAULT, 24.0, clock=lambda: NOW)).decode()
    exported = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}
    exported |= {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}
    assert used and used <= exported, used - exported
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])


# -- webhook payloads (shapes from the senders' public documentation)


def github_payload(state: str = "success", *, payload: Any = None) -> dict[str, Any]:
    return {
        "action": "created",
        "deployment_status": {
            "url": "https://api.github.com/repos/octo-org/orders/deployments/42/statuses/7",
            "id": 7,
            "node_id": "MDE2OkRlcGxveW1lbnRTdGF0dXMx",
            "state": state,
            "creator": {"login": "octocat", "id": 1},
            "description": "Deployment finished.",
            "environment": "production",
            "target_url": "",
            "created_at": "2025-05-30T10:05:00Z",
            "updated_at": "2025-05-30T10:05:00Z",
            "deployment_url": "https://api.github.com/repos/octo-org/orders/deployments/42",
            "repository_url": "https://api.github.com/repos/octo-org/orders",
        },
        "deployment": {
            "url": "https://api.github.com/repos/octo-org/orders/deployments/42",
            "id": 42,
            "node_id": "MDEwOkRlcGxveW1lbnQx",
            "sha": "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d",
            "ref": "main",
            "task": "deploy",
            "payload": payload if payload is not None else {},
            "original_environment": "production",
            "environment": "production",
            "description": None,
            "creator": {"login": "octocat", "id": 1},
            "created_at": "2025-05-30T10:00:00Z",
            "updated_at": "2025-05-30T10:05:00Z",
        },
        "repository": {"id": 1296269, "name": "orders", "full_name": "octo-org/orders", "private": False},
        "sender": {"login": "octocat", "id": 1},
    }


def test_github_deployment_status() -> None:
    translation = sources.github_translation("deployment_status", github_payload(payload={"commit_time": "2025-05-30T09:00:00Z"}))
    (event,) = translation.deployments
    assert (event.key, event.service, event.environment, event.status) == ("github:octo-org/orders:42", "orders", "production", "success")
    assert event.deployed_at == datetime(2025, 5, 30, 10, 5, tzinfo=UTC) and event.started_at == datetime(2025, 5, 30, 10, 0, tzinfo=UTC)
    assert event.commit_sha == "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d" and event.commit_time == datetime(2025, 5, 30, 9, 0, tzinfo=UTC)
    assert sources.github_translation("deployment_status", github_payload("error")).deployments[0].status == "failure"
    assert sources.github_translation("deployment_status", github_payload("pending")).ignored
    assert sources.github_translation("push", {"ref": "refs/heads/main"}).ignored
    assert sources.github_translation("deployment_status", github_payload(payload="free text")).deployments[0].commit_time is None
    with pytest.raises(InvalidRequest) as caught:
        sources.github_translation("deployment_status", {"deployment_status": {"state": "success"}, "repository": {}})
    fields = {error.field for error in caught.value.errors}
    assert {"deployment_status.created_at", "deployment", "repository.name"} <= fields


def alertmanager_payload(*alerts: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "roadbed",
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {"alertname": "HighErrorRate"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.org:9093",
        "alerts": list(alerts),
    }


def alert(status: str = "firing", ends: str = "0001-01-01T00:00:00Z", **labels: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "HighErrorRate", "severity": "page", **labels},
        "annotations": {"summary": "5xx above budget"},
        "startsAt": "2025-05-30T10:20:00.123+02:00",
        "endsAt": ends,
        "generatorURL": "http://prometheus.example.org:9090/graph",
        "fingerprint": "c6eadffa33fcdf37",
    }


def test_alertmanager_webhook_v4() -> None:
    labels = ["service", "app", "job"]
    (firing,) = sources.alertmanager_translation(alertmanager_payload(alert(service="orders", env="production")), labels, NOW).incidents
    assert firing.key == "alertmanager:c6eadffa33fcdf37:2025-05-30T08:20:00.123000+00:00"
    assert (firing.service, firing.environment, firing.resolved_at) == ("orders", "production", None)
    assert firing.title == "HighErrorRate — 5xx above budget"
    (resolved,) = sources.alertmanager_translation(alertmanager_payload(alert("resolved", "2025-05-30T09:00:00Z", app="orders")), labels, NOW).incidents
    assert resolved.key == firing.key and resolved.service == "orders" and resolved.resolved_at == datetime(2025, 5, 30, 9, 0, tzinfo=UTC)
    (by_job,) = sources.alertmanager_translation(alertmanager_payload(alert(job="orders-api")), labels, NOW).incidents
    assert by_job.service == "orders-api"
    with pytest.raises(InvalidRequest) as caught:
        sources.alertmanager_translation(alertmanager_payload(alert(service="ok"), alert(instance="x")), labels, NOW)
    assert [error.field for error in caught.value.errors] == ["alerts.1.labels"]
    with pytest.raises(InvalidRequest) as caught:
        sources.alertmanager_translation({**alertmanager_payload(), "version": "3"}, labels, NOW)
    assert caught.value.errors[0].field == "version"


def pagerduty_payload(event_type: str = "incident.triggered", occurred: str = "2025-05-30T10:20:00.000Z") -> dict[str, Any]:
    return {
        "event": {
            "id": "5ac64822-4adc-4fda-ade0-410becf0de4f",
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": occurred,
            "agent": {"id": "PLH1HKV", "summary": "Tenex Engineer", "type": "user_reference"},
            "client": {"name": "PagerDuty"},
            "data": {
                "id": "PGR0VU2",
                "type": "incident",
                "self": "https://api.pagerduty.com/incidents/PGR0VU2",
                "html_url": "https://acme.pagerduty.com/incidents/PGR0VU2",
                "number": 2,
                "status": "triggered",
                "incident_key": "d3640fbd41094207a1c11e58e46b1662",
                "created_at": "2025-05-30T10:20:00Z",
                "title": "A little bump in the road",
                "service": {"id": "PF9KMXH", "summary": "orders", "type": "service_reference"},
                "urgency": "high",
            },
        }
    }


def test_pagerduty_v3() -> None:
    (opened,) = sources.pagerduty_translation(pagerduty_payload()).incidents
    assert (opened.key, opened.service, opened.resolved_at) == ("pagerduty:PGR0VU2", "orders", None)
    (closed,) = sources.pagerduty_translation(pagerduty_payload("incident.resolved", "2025-05-30T11:00:00Z")).incidents
    assert closed.opened_at == datetime(2025, 5, 30, 10, 20, tzinfo=UTC) and closed.resolved_at == datetime(2025, 5, 30, 11, 0, tzinfo=UTC)
    assert sources.pagerduty_translation(pagerduty_payload("incident.acknowledged")).ignored
    broken = pagerduty_payload()
    del broken["event"]["data"]["service"]
    with pytest.raises(InvalidRequest) as caught:
        sources.pagerduty_translation(broken)
    assert caught.value.errors[0].field == "event.data.service"


def test_signatures() -> None:
    body = json.dumps(pagerduty_payload()).encode()
    assert sources.verify_github_signature("s3cret", body, sources.github_signature("s3cret", body))
    assert not sources.verify_github_signature("s3cret", body, sources.github_signature("other", body))
    assert not sources.verify_github_signature("s3cret", body, None)
    rotated = f"v1={'0' * 64}, {sources.pagerduty_signature('s3cret', body)}"
    assert sources.verify_pagerduty_signature("s3cret", body, rotated)
    assert not sources.verify_pagerduty_signature("s3cret", body + b" ", rotated)
    assert not sources.verify_pagerduty_signature("s3cret", body, "v0=abc")


def test_cli_formatting() -> None:
    assert [duration(v) for v in (None, 1.5, 90, 5400, 172800)] == ["-", "1.5s", "1.5m", "1.5h", "2.0d"]
    assert percent(None) == "-" and percent(0.4) == "40.0%"


def _seed_dora_weeks(database: Database) -> None:
    """400 deployments and 60 incidents over 40 days, some exactly on week boundaries, explicit and implicit links."""
    import random

    from roadbed.storage.tables import DeploymentRow, IncidentRow

    rng = random.Random(5)
    boundaries = [NOW - timedelta(days=7 * k) for k in range(6)]
    deployments, incidents = [], []
    for n in range(400):
        at = rng.choice(boundaries) if n % 10 == 0 else NOW - timedelta(seconds=rng.uniform(0, 40 * 86400))
        sha = f"c{rng.randrange(150)}"
        deployments.append({"key": f"d{n}", "source": "t", "service": f"s{rng.randrange(4)}", "environment": "prod" if n % 7 else "staging",
                            "team": None, "version": None, "commit_sha": sha, "commit_time": None if n % 13 == 0 else at - timedelta(hours=rng.uniform(-1, 30)),
                            "started_at": None, "deployed_at": at, "status": rng.choice(["success"] * 6 + ["failure", "rolled_back"]), "received_at": NOW})
    for n in range(60):
        opened = rng.choice(boundaries) if n % 6 == 0 else NOW - timedelta(seconds=rng.uniform(0, 40 * 86400))
        resolved = rng.choice([None, rng.choice(boundaries), opened + timedelta(hours=rng.uniform(0, 50))])
        incidents.append({"key": f"i{n}", "source": "t", "service": f"s{rng.randrange(4)}", "environment": rng.choice([None, "prod"]), "title": None,
                          "opened_at": opened, "resolved_at": resolved if resolved is None or resolved >= opened else None,
                          "caused_by_deployment": f"d{rng.randrange(400)}" if n % 3 == 0 else None, "received_at": NOW, "updated_at": NOW})
    with database.engine.begin() as connection:
        connection.execute(insert(DeploymentRow), deployments)
        connection.execute(insert(IncidentRow), incidents)
    with database.transaction() as session:  # bulk-inserted past record_deployment: roll them up (issue 15's rollups)
        from roadbed.storage import rollups

        rollups.rebuild(session)


def test_dora_weekly_equals_a_report_per_week(any_database: Database) -> None:
    """The grouped weekly series gives each week the four keys (and overall tier) a 7-day dora_report ending then gives,
    with deployments, commits and resolutions exactly on week boundaries, explicit and implicit incident links."""
    from roadbed.metrics.dora import DoraScope, dora_report
    from roadbed.metrics.dora_weekly import WEEKLY_KEYS, dora_weekly

    _seed_dora_weeks(any_database)
    with any_database.transaction() as session:
        for scope in (DoraScope(), DoraScope(service="s1"), DoraScope(environment="staging", link_gap_hours=2)):
            weekly = dora_weekly(session, scope, now=NOW, weeks=5)
            assert [start for start, _ in weekly] == [NOW - timedelta(days=7 * k) for k in range(5, 0, -1)]
            for start, report in weekly:
                single = dora_report(session, DoraScope(scope.environment, 7, scope.service, scope.team, scope.link_gap_hours), now=start + timedelta(days=7))
                assert report == {key: single[key] for key in WEEKLY_KEYS}, (scope, start)


def test_dora_weekly_and_overall_equals_the_whole_span_report(any_database: Database) -> None:
    """The DORA page's fast path: the span's four keys and overall tier from the weekly queries equal a dora_report over
    the same whole weeks (boundaries, explicit and implicit links, commits redeployed across weeks), and the series is dora_weekly's."""
    from roadbed.metrics.dora import DoraScope, dora_report
    from roadbed.metrics.dora_weekly import WEEKLY_KEYS, dora_weekly, dora_weekly_and_overall

    _seed_dora_weeks(any_database)
    with any_database.transaction() as session:
        for scope in (DoraScope(), DoraScope(service="s1"), DoraScope(environment="staging", link_gap_hours=2), DoraScope(service="none")):
            for weeks in (1, 2, 5, 8):
                overall, weekly = dora_weekly_and_overall(session, scope, now=NOW, weeks=weeks)
                whole = dora_report(session, DoraScope(scope.environment, 7 * weeks, scope.service, scope.team, scope.link_gap_hours), now=NOW)
                assert overall == {key: whole[key] for key in WEEKLY_KEYS}, (scope, weeks)
                assert weekly == dora_weekly(session, scope, now=NOW, weeks=weeks)


def test_components_reads_owner_annotations_and_links_as_the_json_columns_do(any_database: Database) -> None:
    """`components` decodes SQLite's JSON text once per row; it gives what reading each part as a JSON column gives
    (strings with quotes, commas, brackets and non-ASCII, nested values, numbers, empty and missing parts)."""
    from sqlalchemy import select

    from roadbed.metrics.adoption import components
    from roadbed.storage.tables import CatalogEntityRow

    specs: list[dict[str, Any]] = [{"owner": 'group:default/te"am, [x]'}, {"owner": "ünï-team"}, {}, {"owner": None}, {"owner": 7}, {"owner": ""}]
    metadatas: list[dict[str, Any]] = [{"annotations": {"roadbed.dev/runbook": "https://x/a,b", "n": {"deep": [1, None, "é"]}}, "links": [{"type": "Runbook", "url": "u"}]},
                                       {"annotations": {}}, {"links": []}, {}, {"annotations": None, "links": [1.5, True, "s"]}]
    rows = [{"ref": f"component:default/c{n}", "kind": "component", "namespace": "default", "name": f"c{n}", "owner": None,
             "body": {"kind": "Component", "metadata": {"name": f"c{n}", **metadatas[n % len(metadatas)]}, "spec": specs[n % len(specs)]},
             "search_text": "", "environment_id": None, "updated_at": NOW} for n in range(30)]
    with any_database.engine.begin() as connection:
        connection.execute(insert(CatalogEntityRow), rows)
    body = CatalogEntityRow.body
    with any_database.transaction() as session:
        typed = session.execute(select(CatalogEntityRow.name, body[("spec", "owner")], body[("metadata", "annotations")], body[("metadata", "links")])
                                .where(CatalogEntityRow.kind == "component").order_by(CatalogEntityRow.ref)).all()
        expected = []
        for name, owner, notes, links in typed:
            metadata = {key: value for key, value in (("annotations", notes), ("links", links)) if value is not None}
            expected.append((name, {"metadata": metadata, "spec": {} if owner is None else {"owner": owner}}))
        assert [(facts.name, facts.body) for facts in components(session)] == expected
        assert [facts.name for facts in components(session, team="ünï-team")] == [name for name, b in expected if b["spec"].get("owner") == "ünï-team"]


def test_scorecards_cards_equal_each_services_own_card(any_database: Database, registry: GoldenPathRegistry) -> None:
    """`scorecards` reads only the live environments' columns the checks use; every card equals `service_scorecard`'s,
    which reads whole EnvironmentRow objects (monitoring files, several live environments, teams from runs, DORA tiers)."""
    from roadbed.metrics.scorecards import service_scorecard

    register(any_database, component("model", template="adoption-path", version="2.1.0", links=[{"url": "u", "type": "RUNBOOK"}]),
             component("sloppy", template="adoption-path", version="1.0.0", owner="user:default/alice"),
             component("noted", template=None, annotations={"roadbed.dev/slo": "yes"}))
    run(any_database, status=EnvironmentStatus.SUCCEEDED, ended=NOW - timedelta(days=3), service="model", outputs={"monitoring_files": ["a.yaml", "b.yaml"]})
    run(any_database, status=EnvironmentStatus.SUCCEEDED, ended=NOW - timedelta(days=2), service="model", approval_wait=5.0, outputs={"monitoring_files": []})
    run(any_database, status=EnvironmentStatus.FAILED, ended=NOW - timedelta(days=3), service="unregistered", team="search", error_class="quota")
    run(any_database, status=EnvironmentStatus.SUCCEEDED, ended=NOW - timedelta(days=1), service="sloppy", team="search", outputs={"monitoring_files": ["x"]})
    with any_database.transaction() as session:
        for n in range(12):
            at = NOW - timedelta(hours=30 * n + 1)
            record_deployment(session, DeploymentEvent("model" if n % 3 else "sloppy", "prod", f"c{n}", at, "success" if n % 4 else "failure", key=f"k{n}",
                                                       commit_time=at - timedelta(hours=n)), NOW)
    with any_database.transaction() as session:
        result = scorecards(session, registry, now=NOW)
        assert {card["service"] for card in result["services"]} == {"model", "sloppy", "noted", "unregistered"}
        for card in result["services"]:
            assert card == service_scorecard(session, registry, card["service"], now=NOW), card["service"]
