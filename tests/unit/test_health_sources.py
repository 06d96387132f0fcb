"""Each health source against a stateful fake of its system, over real HTTP (the real `kubernetes` client for the
cluster): what it reports for healthy and unhealthy states, and that a 500 or garbage answer is a `SourceError`
(the aggregator's `unknown`), never a wrong status."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes.client import ApiClient, Configuration

from roadbed.adapters.local_git import LocalGitRepoHost
from roadbed.domain.specs import SloTarget
from roadbed.health.argocd import ArgoCdHealth
from roadbed.health.github import GitHubHealth
from roadbed.health.grafana import GrafanaHealth
from roadbed.health.kubernetes import ClusterHealth, DesiredStateHealth
from roadbed.health.model import HealthStatus
from roadbed.health.port import HealthTarget, SourceError
from roadbed.health.prometheus import PrometheusHealth
from roadbed.health.sonarqube import SonarQubeHealth
from roadbed.rendering.grafana_dashboard import dashboard_uid
from tests.fakes.argocd import FakeArgoCd
from tests.fakes.github import FakeGitHub
from tests.fakes.grafana import FakeGrafana
from tests.fakes.kubernetes import FakeKubernetes
from tests.fakes.prometheus import FakePrometheus
from tests.fakes.sonarqube import FakeSonarQube

pytestmark = pytest.mark.asyncio(loop_scope="session")

TARGET = HealthTarget(service="orders", environment="prod", team="payments", namespace="orders-prod", slo=SloTarget(availability=99.9, window_days=30))
SLO_LABELS = {"slo_service": "orders", "slo_environment": "prod", "slo_name": "availability"}


# ---------------------------------------------------------------- Argo CD
@pytest.fixture
def argocd() -> Iterator[FakeArgoCd]:
    with FakeArgoCd(token="argo-t") as fake:
        yield fake


async def test_argocd_maps_sync_and_health(argocd: FakeArgoCd) -> None:
    source = ArgoCdHealth(argocd.url, "argo-t", timeout=2)
    argocd.set_application("orders-prod", revision="a" * 40)
    ok = await source.check(TARGET)
    assert ok.status is HealthStatus.OK and ok.figures["revision"] == "a" * 40 and ok.url == f"{argocd.url}/applications/orders-prod"
    argocd.set_application("orders-prod", sync="OutOfSync")
    assert (await source.check(TARGET)).status is HealthStatus.DEGRADED
    argocd.set_application("orders-prod", health="Degraded", message="Deployment orders exceeded its progress deadline")
    failing = await source.check(TARGET)
    assert failing.status is HealthStatus.FAILING and "progress deadline" in (failing.reason or "")
    argocd.set_application("orders-prod", phase="Failed")
    assert (await source.check(TARGET)).status is HealthStatus.FAILING
    assert argocd.requests[-1].authorization == "Bearer argo-t"


async def test_argocd_missing_app_bad_token_500_and_garbage(argocd: FakeArgoCd) -> None:
    missing = await ArgoCdHealth(argocd.url, "argo-t", timeout=2).check(TARGET)
    assert missing.status is HealthStatus.UNKNOWN and "no application 'orders-prod'" in (missing.reason or "")
    argocd.set_application("orders-prod")
    with pytest.raises(SourceError, match="refused the token"):
        await ArgoCdHealth(argocd.url, "wrong", timeout=2).check(TARGET)
    source = ArgoCdHealth(argocd.url, "argo-t", timeout=2)
    argocd.fail_next("applications", 500)
    with pytest.raises(SourceError, match="HTTP 500"):
        await source.check(TARGET)
    argocd.garbage_next("applications")
    with pytest.raises(SourceError, match="not JSON"):
        await source.check(TARGET)
    assert not ArgoCdHealth(None, None, timeout=2).configured


# ---------------------------------------------------------------- Prometheus
@pytest.fixture
def prometheus() -> Iterator[FakePrometheus]:
    with FakePrometheus() as fake:
        yield fake


def seed_ratios(fake: FakePrometheus, *, r1h: float, r6h: float, r30d: float) -> None:
    for window, value in (("1h", r1h), ("6h", r6h), ("30d", r30d)):
        fake.set_series(f"slo:sli_error:ratio_rate{window}", {**SLO_LABELS, "slo_window": window}, value)


async def test_prometheus_budget_and_burn_rates_from_the_recorded_series(prometheus: FakePrometheus) -> None:
    source = PrometheusHealth(prometheus.url, timeout=2)
    seed_ratios(prometheus, r1h=0.0005, r6h=0.0004, r30d=0.0003)  # budget 0.001: burn 0.5 / 0.4, 70 % left
    ok = await source.check(TARGET)
    assert ok.status is HealthStatus.OK, ok.reason
    assert ok.figures["burn_rate_1h"] == pytest.approx(0.5) and ok.figures["burn_rate_6h"] == pytest.approx(0.4)
    assert ok.figures["error_budget_remaining"] == pytest.approx(0.7)
    (query,) = {r.query["query"][0] for r in prometheus.requests_to("/api/v1/query")}  # one round trip
    assert query.startswith('slo:sli_error:ratio_rate1h{slo_service="orders", slo_environment="prod", slo_name="availability"} or ')
    seed_ratios(prometheus, r1h=0.002, r6h=0.0012, r30d=0.0008)  # 6 h burn 1.2, 20 % left
    degraded = await source.check(TARGET)
    assert degraded.status is HealthStatus.DEGRADED and "6 h burn rate 1.20" in (degraded.reason or "")
    seed_ratios(prometheus, r1h=0.0150, r6h=0.001, r30d=0.0005)  # 1 h burn 15 >= 14.4: the page alert's threshold
    failing = await source.check(TARGET)
    assert failing.status is HealthStatus.FAILING and "1 h burn rate 15.0 at or above 14.4" in (failing.reason or "")
    seed_ratios(prometheus, r1h=math.nan, r6h=math.nan, r30d=0.0011)  # no traffic now; budget overspent
    spent = await source.check(TARGET)
    assert spent.status is HealthStatus.FAILING and spent.figures["burn_rate_1h"] is None and "error budget spent" in (spent.reason or "")


async def test_prometheus_without_series_500_or_garbage(prometheus: FakePrometheus) -> None:
    source = PrometheusHealth(prometheus.url, timeout=2)
    nothing = await source.check(TARGET)
    assert nothing.status is HealthStatus.UNKNOWN and "no recorded series" in (nothing.reason or "")
    seed_ratios(prometheus, r1h=0.0, r6h=0.0, r30d=0.0)
    prometheus.fail_next("query", 503)
    with pytest.raises(SourceError, match="HTTP 503"):
        await source.check(TARGET)
    prometheus.garbage_next("query")
    with pytest.raises(SourceError, match="not JSON"):
        await source.check(TARGET)
    jobs = HealthTarget(**{**TARGET.__dict__, "slo": SloTarget(sli="jobs", availability=99.0)})
    await source.check(jobs)
    assert 'slo_name="job-success"' in prometheus.requests[-1].query["query"][0]
    no_slo = await source.check(HealthTarget(**{**TARGET.__dict__, "slo": None}))
    assert no_slo.status is HealthStatus.NOT_CONFIGURED


# ---------------------------------------------------------------- SonarQube
@pytest.fixture
def sonarqube() -> Iterator[FakeSonarQube]:
    with FakeSonarQube(token="squ_t") as fake:
        yield fake


async def test_sonarqube_gate_and_measures(sonarqube: FakeSonarQube) -> None:
    source = SonarQubeHealth(sonarqube.url, "squ_t", timeout=2)
    sonarqube.set_project("orders", "OK", {"coverage": 81.5, "bugs": 0, "code_smells": 12})
    ok = await source.check(TARGET)
    assert ok.status is HealthStatus.OK and ok.figures["measures"] == {"coverage": 81.5, "bugs": 0.0, "code_smells": 12.0}
    sonarqube.set_project("orders", "ERROR", {"coverage": 40}, failed=("coverage",))
    failing = await source.check(TARGET)
    assert failing.status is HealthStatus.FAILING and failing.reason == "quality gate failed on coverage"
    sonarqube.set_project("orders", "NONE")
    assert (await source.check(TARGET)).status is HealthStatus.UNKNOWN
    with pytest.raises(SourceError, match="refused the token"):
        await SonarQubeHealth(sonarqube.url, "nope", timeout=2).check(TARGET)
    sonarqube.garbage_next("measures")
    with pytest.raises(SourceError, match="not JSON"):
        await source.check(TARGET)
    missing = await source.check(HealthTarget(**{**TARGET.__dict__, "service": "ghost"}))
    assert missing.status is HealthStatus.UNKNOWN and "no project 'ghost'" in (missing.reason or "")


# ---------------------------------------------------------------- GitHub
@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(tmp_path / "gh", token="ghp_t") as fake:
        fake.create_repository("acme", "orders", files={"README.md": b"hi"})
        yield fake
        assert not fake.errors


async def test_github_pull_requests_and_latest_default_branch_run(github: FakeGitHub) -> None:
    source = GitHubHealth(github.url, "ghp_t", "acme", timeout=2)
    none_yet = await source.check(TARGET)
    assert none_yet.status is HealthStatus.OK and none_yet.figures["open_pull_requests"] == 0 and "no workflow run" in (none_yet.reason or "")
    github.open_pull_request("acme", "orders", "Add retries", created_at="2026-11-01T00:00:00Z")
    github.open_pull_request("acme", "orders", "Bump deps")
    github.add_workflow_run("acme", "orders", conclusion="success")
    github.add_workflow_run("acme", "orders", branch="feature", conclusion="failure")  # not the default branch
    ok = await source.check(TARGET)
    assert ok.status is HealthStatus.OK and ok.figures["open_pull_requests"] == 2
    assert ok.figures["pull_requests"][0]["title"] == "Bump deps" and ok.figures["latest_run"]["conclusion"] == "success"
    assert ok.url and ok.url.endswith("/acme/orders")
    github.add_workflow_run("acme", "orders", conclusion="failure")
    failing = await source.check(TARGET)
    assert failing.status is HealthStatus.FAILING and "main" in (failing.reason or "") and "failure" in (failing.reason or "")
    github.fail_next("GET", r"/pulls", 500)
    with pytest.raises(SourceError, match="HTTP 500"):
        await source.check(TARGET)
    github.fail_next("GET", r"/actions/runs", 200)  # a 200 whose body is a message, not runs: garbage
    with pytest.raises(SourceError, match="workflow_runs"):
        await source.check(TARGET)
    other = HealthTarget(**{**TARGET.__dict__, "repository_url": "https://github.example/acme/orders.git"})
    assert (await source.check(other)).figures["repository"] == "acme/orders"
    assert not GitHubHealth(github.url, "ghp_t", "acme", timeout=2, enabled=False).configured


# ---------------------------------------------------------------- Grafana
async def test_grafana_links_the_dashboard_and_its_panels() -> None:
    with FakeGrafana(token="g-t") as grafana:
        source = GrafanaHealth(grafana.url, "g-t", timeout=2)
        uid = dashboard_uid("orders", "prod")
        absent = await source.check(TARGET)
        assert absent.status is HealthStatus.DEGRADED and absent.url == f"{grafana.url}/d/{uid}"
        folder = grafana.seed_folder("payments")
        dashboard = {"uid": uid, "title": "orders (prod)", "panels": [{"id": 1, "type": "stat", "title": "SLI"}, {"id": 2, "type": "row", "title": "r"}]}
        with grafana._lock:
            grafana._save_dashboard({"dashboard": dashboard, "folderUid": folder.uid})
        found = await source.check(TARGET)
        assert found.status is HealthStatus.OK and found.figures["panels"] == [{"title": "SLI", "url": f"{grafana.url}/d-solo/{uid}?panelId=1"}]
        assert found.url and f"/d/{uid}" in found.url


# ---------------------------------------------------------------- Kubernetes
@pytest.fixture
def cluster() -> Iterator[FakeKubernetes]:
    with FakeKubernetes(images=["registry.local/orders:1"]) as fake:
        fake.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "orders-prod"}})
        yield fake


def deployment(replicas: int = 2) -> dict[str, object]:
    labels = {"app.kubernetes.io/name": "orders"}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "orders", "namespace": "orders-prod", "labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": "registry.local/orders:1"}]}}},
    }


async def test_cluster_rollout_pods_restarts_and_events(cluster: FakeKubernetes) -> None:
    source = ClusterHealth(timeout=2, api_client=ApiClient(Configuration(host=cluster.url)))
    missing = await source.check(TARGET)
    assert missing.status is HealthStatus.UNKNOWN and "no Deployment orders-prod/orders" in (missing.reason or "")
    cluster.seed(deployment())
    labels = {"app.kubernetes.io/name": "orders"}
    cluster.add_pod("orders-prod", "orders-a", labels, restarts=1)
    cluster.add_pod("orders-prod", "orders-b", labels, restarts=2)
    cluster.add_pod("orders-prod", "other-x", {"app.kubernetes.io/name": "other"}, restarts=9)
    cluster.add_event("orders-prod", ("Pod", "orders-a"), "Pulled", "pulled image", last_seen="2026-12-01T10:00:00Z")
    cluster.add_event("orders-prod", ("Pod", "orders-b"), "BackOff", "back-off restarting", type="Warning", last_seen="2026-12-01T11:00:00Z")
    ok = await source.check(TARGET)
    assert ok.status is HealthStatus.OK, ok.reason
    assert (ok.figures["desired"], ok.figures["ready"], ok.figures["restarts"]) == (2, 2, 3)
    assert [e["reason"] for e in ok.figures["events"]] == ["BackOff", "Pulled"] and ok.figures["desired_only"] is False
    cluster.add_pod("orders-prod", "orders-c", labels, ready=False, waiting_reason="CrashLoopBackOff", restarts=5)
    degraded = await source.check(TARGET)
    assert degraded.status is HealthStatus.DEGRADED and "orders-c in CrashLoopBackOff" in (degraded.reason or "")


async def test_cluster_failed_rollout_500_and_garbage(cluster: FakeKubernetes) -> None:
    source = ClusterHealth(timeout=2, api_client=ApiClient(Configuration(host=cluster.url)))
    cluster.set_rollout("fail")
    cluster.seed(deployment())
    failing = await source.check(TARGET)
    assert failing.status is HealthStatus.FAILING and failing.reason and failing.reason.startswith("rollout failed")
    cluster.fail_next("GET", r"/pods", 500)
    with pytest.raises(Exception, match="500|Internal"):
        await source.check(TARGET)
    cluster.garbage_next(r"/events")
    with pytest.raises(Exception, match="not JSON"):
        await source.check(TARGET)


async def test_embedded_target_reports_the_desired_state_only(tmp_path: Path) -> None:
    from roadbed.adapters.gitops import GitOpsDeployer
    from roadbed.domain.specs import KubernetesDefaults, WorkloadSpec
    from roadbed.rendering.manifests import render_manifests

    host = LocalGitRepoHost(tmp_path / "repos")
    source = DesiredStateHealth(host)
    with pytest.raises(SourceError):
        await source.check(TARGET)  # no gitops repository at all yet
    spec = WorkloadSpec(
        service="orders", team="payments", environment="prod", environment_id="env-1", namespace="orders-prod", image="registry.local/orders:7",
        golden_path="python-service", golden_path_version="1", kubernetes=KubernetesDefaults(replicas=3), resources={},
    )
    GitOpsDeployer(host).deploy(spec, render_manifests(spec))
    desired = await source.check(TARGET)
    assert desired.status is HealthStatus.OK and desired.figures["desired_only"] is True
    assert (desired.figures["desired"], desired.figures["image"]) == (3, "registry.local/orders:7")
    other = await source.check(HealthTarget(**{**TARGET.__dict__, "service": "billing", "namespace": "billing-prod"}))
    assert other.status is HealthStatus.UNKNOWN and other.figures["desired_only"] is True
