"""Each Backstage plugin annotation on the Component matches the object the plugin looks for (README "Backstage plugins")."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from roadbed import environment_specs
from roadbed.adapters.github_repo_host import GitHubRepoHost
from roadbed.domain.models import EnvironmentRequest, ResourceOutputs
from roadbed.golden_paths import GoldenPathRegistry
from roadbed.rendering.catalog_entities import CatalogPlugins, render_entities
from roadbed.rendering.catalog_environments import EnvironmentFacts
from roadbed.rendering.manifests import render_argocd_application, render_manifests
from roadbed.rendering.monitoring import render_monitoring
from roadbed.settings import load_settings
from roadbed.worker import catalog_plugins

GOLDEN_PATHS = ["python-service", "node-service", "worker"]


@pytest.fixture(scope="module")
def registry() -> GoldenPathRegistry:
    return GoldenPathRegistry(load_settings(home=Path("/nonexistent")).golden_path_dirs)


def request(golden_path: str, environment: str = "dev", service: str = "orders") -> EnvironmentRequest:
    return EnvironmentRequest(service=service, team="payments", golden_path=golden_path, environment=environment,
                              resources=[{"type": "postgres", "name": "main"}])


def component(registry: GoldenPathRegistry, golden_path: str, plugins: CatalogPlugins, environment: str = "dev",
              others: tuple[EnvironmentFacts, ...] = (), service: str = "orders") -> dict[str, Any]:
    description = environment_specs.service_description(
        request(golden_path, environment, service), registry.get(golden_path), environment_id=f"env-{environment}", golden_path_version="1.0.0",
        repository_url=f"https://github.com/acme/{service}", resources={"main": ResourceOutputs(type="postgres", name="main", outputs={})},
        others=others, plugins=plugins,
    )
    return render_entities(description)[0]


def workload(registry: GoldenPathRegistry, golden_path: str, environment: str = "dev") -> Any:
    return environment_specs.workload_spec(request(golden_path, environment), registry.get(golden_path), environment_id=f"env-{environment}",
                                           golden_path_version="1.0.0", resources={})


def annotations(entity: dict[str, Any]) -> dict[str, str]:
    return entity["metadata"]["annotations"]


def rules_of(registry: GoldenPathRegistry, golden_path: str, environment: str) -> list[dict[str, Any]]:
    files = render_monitoring(environment_specs.monitoring_spec(request(golden_path, environment), registry.get(golden_path)))
    return [rule for group in yaml.safe_load(files[f"monitoring/{environment}/prometheus-rules.yaml"])["groups"] for rule in group["rules"]]


def dashboard_of(registry: GoldenPathRegistry, golden_path: str, environment: str) -> dict[str, Any]:
    files = render_monitoring(environment_specs.monitoring_spec(request(golden_path, environment), registry.get(golden_path)))
    return json.loads(files[f"monitoring/{environment}/grafana-dashboard.json"])


@pytest.mark.parametrize("golden_path", GOLDEN_PATHS)
def test_kubernetes_id_is_the_label_on_every_rendered_object(registry: GoldenPathRegistry, golden_path: str) -> None:
    spec = workload(registry, golden_path)
    kubernetes_id = annotations(component(registry, golden_path, CatalogPlugins()))["backstage.io/kubernetes-id"]
    objects = [*render_manifests(spec), render_argocd_application(spec, "https://git.example/gitops", "clusters/orders-dev")]
    assert [o["metadata"]["labels"]["backstage.io/kubernetes-id"] for o in objects] == [kubernetes_id] * len(objects)
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    assert deployment["spec"]["template"]["metadata"]["labels"]["backstage.io/kubernetes-id"] == kubernetes_id  # the pods too


def test_argocd_app_name_is_the_application_roadbed_writes_for_the_most_important_environment(registry: GoldenPathRegistry) -> None:
    plugins = CatalogPlugins(argocd=True)
    dev = component(registry, "python-service", plugins)
    assert annotations(dev)["argocd/app-name"] == render_argocd_application(workload(registry, "python-service"), "u", "p")["metadata"]["name"]
    prod_facts = EnvironmentFacts(environment="prod", environment_id="env-prod", namespace="orders-prod", golden_path_version="1.0.0")
    both = component(registry, "python-service", plugins, others=(prod_facts,))
    prod_app = render_argocd_application(workload(registry, "python-service", "prod"), "u", "p")
    assert annotations(both)["argocd/app-name"] == prod_app["metadata"]["name"] == annotations(both)["backstage.io/kubernetes-namespace"]
    assert "argocd/app-name" not in annotations(component(registry, "python-service", CatalogPlugins()))  # the cluster target writes none


@pytest.mark.parametrize("golden_path", GOLDEN_PATHS)
def test_prometheus_alert_names_are_the_generated_alerts(registry: GoldenPathRegistry, golden_path: str) -> None:
    alerts = annotations(component(registry, golden_path, CatalogPlugins()))["prometheus.io/alert"].split(",")  # the plugin splits on ','
    for environment in ("dev", "prod"):
        assert alerts == [rule["alert"] for rule in rules_of(registry, golden_path, environment) if "alert" in rule]


@pytest.mark.parametrize("golden_path", GOLDEN_PATHS)
def test_prometheus_rules_are_recorded_series_with_their_labels(registry: GoldenPathRegistry, golden_path: str) -> None:
    queries = [item.split("|") for item in annotations(component(registry, golden_path, CatalogPlugins()))["prometheus.io/rule"].split(",")]
    rules = [rule for rule in rules_of(registry, golden_path, "dev") if "record" in rule]
    assert len(queries) == 2
    for query, group_by in queries:
        name, selector = re.fullmatch(r"([^{]+)\{([^}]*)\}", query).groups()  # type: ignore[union-attr]
        label, value = re.fullmatch(r'(\w+)="([^"]*)"', selector).groups()  # type: ignore[union-attr]
        matching = [rule for rule in rules if rule["record"] == name and rule["labels"].get(label) == value]
        assert matching and all(group_by in rule["labels"] for rule in matching), (query, group_by)


def _selected(selector: str, dashboard: dict[str, Any]) -> bool:
    """The Grafana plugin's selector, for the form Roadbed writes: tags @> 'x' && (title == 'a' || title == 'b')."""
    match = re.fullmatch(r"tags @> '([^']*)' && \((.*)\)", selector)
    assert match, selector
    titles = re.findall(r"title == '([^']*)'", match.group(2))
    assert " || ".join(f"title == '{t}'" for t in titles) == match.group(2)
    return match.group(1) in dashboard["tags"] and dashboard["title"] in titles


def test_grafana_selector_selects_the_live_environments_dashboards_only(registry: GoldenPathRegistry) -> None:
    prod_facts = EnvironmentFacts(environment="prod", environment_id="env-prod", namespace="orders-prod", golden_path_version="1.0.0")
    selector = annotations(component(registry, "python-service", CatalogPlugins(), others=(prod_facts,)))["grafana/dashboard-selector"]
    assert _selected(selector, dashboard_of(registry, "python-service", "dev"))
    assert _selected(selector, dashboard_of(registry, "python-service", "prod"))
    assert not _selected(selector, dashboard_of(registry, "python-service", "staging"))
    only_dev = annotations(component(registry, "python-service", CatalogPlugins()))["grafana/dashboard-selector"]
    assert not _selected(only_dev, dashboard_of(registry, "python-service", "prod"))


def test_grafana_overview_dashboard_is_the_most_important_environments_when_grafana_is_configured(registry: GoldenPathRegistry) -> None:
    plugins = CatalogPlugins(grafana_url="https://grafana.example/sub/")
    dev = annotations(component(registry, "python-service", plugins))
    assert dev["grafana/overview-dashboard"] == f"https://grafana.example/sub/d/{dashboard_of(registry, 'python-service', 'dev')['uid']}"
    prod_facts = EnvironmentFacts(environment="prod", environment_id="env-prod", namespace="orders-prod", golden_path_version="1.0.0")
    both = annotations(component(registry, "python-service", plugins, others=(prod_facts,)))
    assert both["grafana/overview-dashboard"].endswith(f"/d/{dashboard_of(registry, 'python-service', 'prod')['uid']}")
    assert "grafana/overview-dashboard" not in annotations(component(registry, "python-service", CatalogPlugins()))


def test_github_project_slug_is_the_repository_roadbed_creates(registry: GoldenPathRegistry, tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, repo_host="github", github_org="acme", github_token="t")
    slug = annotations(component(registry, "python-service", catalog_plugins(settings)))["github.com/project-slug"]
    host = GitHubRepoHost(settings.github_url, "t", "acme")
    assert slug == host._full("orders") == "acme/orders"
    assert "github.com/project-slug" not in annotations(component(registry, "python-service", catalog_plugins(load_settings(home=tmp_path))))


def test_pagerduty_service_id_comes_from_the_setting_naming_the_service(registry: GoldenPathRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROADBED_PAGERDUTY_SERVICE_IDS", '{"orders": "PABC123"}')
    plugins = catalog_plugins(load_settings(home=tmp_path))
    assert annotations(component(registry, "python-service", plugins))["pagerduty.com/service-id"] == "PABC123"
    assert "pagerduty.com/service-id" not in annotations(component(registry, "python-service", plugins, service="billing"))


def test_sonarqube_project_key_is_the_service_name_when_configured(registry: GoldenPathRegistry, tmp_path: Path) -> None:
    """The key the golden paths' CI passes to the scanner and roadbed.health.sonarqube queries: the service's name."""
    plugins = catalog_plugins(load_settings(home=tmp_path, sonarqube_url="https://sonar.example"))
    assert annotations(component(registry, "python-service", plugins))["sonarqube.org/project-key"] == "orders"
    assert "sonarqube.org/project-key" not in annotations(component(registry, "python-service", catalog_plugins(load_settings(home=tmp_path))))
