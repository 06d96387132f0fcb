"""Terraform root modules, Kubernetes manifests, catalog entities, naming and percentiles."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import pytest

from roadbed.bundled import bundled_dir
from roadbed.domain.models import ResourceOutputs, ResourceRequest
from roadbed.domain.naming import DNS_LABEL_MAX, dns_label_problem, namespace_for, resource_entity_name, workflow_id_for
from roadbed.domain.specs import KubernetesDefaults, WorkloadSpec
from roadbed.metrics.percentiles import percentile
from roadbed.rendering.catalog_entities import ServiceDescription, owner_ref, render_entities
from roadbed.rendering.manifests import env_key, render_argocd_application, render_manifests
from roadbed.rendering.terraform import available_resource_types, module_key, module_variables, render_root_module

MODULES = bundled_dir("terraform_modules")
MALICIOUS = '${file("/etc/passwd")}'


# -- Terraform


def render(resources: list[ResourceRequest]) -> tuple[dict[str, Any], dict[str, Any]]:
    return render_root_module(resources, service="checkout", environment="dev", team="payments", modules_dir=MODULES)


def test_available_resource_types_and_module_variables() -> None:
    assert available_resource_types(MODULES) == {"postgres", "redis", "bucket", "queue"}
    assert {"name", "service", "environment", "team", "storage_gb", "engine_version", "instance_class", "master_password"} == module_variables(
        MODULES / "postgres"
    )
    assert available_resource_types(Path("/nonexistent")) == frozenset()


def test_root_module_has_one_module_call_per_resource_with_absolute_source() -> None:
    resources = [
        ResourceRequest(type="postgres", name="main", storage_gb=20),
        ResourceRequest(type="redis", name="session-cache"),
    ]
    root, values = render(resources)
    assert set(root["module"]) == {"postgres_main", "redis_session_cache"}
    for key, resource in zip(["postgres_main", "redis_session_cache"], resources, strict=True):
        source = Path(root["module"][key]["source"])
        assert source.is_absolute()
        assert source == (MODULES / resource.type).resolve()
        assert (source / "main.tf").is_file()
        assert root["variable"][key] == {"type": "any", "sensitive": False}
        assert root["output"][key] == {"value": f"${{module.{key}}}"}
    assert root["module"]["postgres_main"] == {
        "source": str((MODULES / "postgres").resolve()),
        "name": "${var.postgres_main.name}",
        "service": "${var.postgres_main.service}",
        "environment": "${var.postgres_main.environment}",
        "team": "${var.postgres_main.team}",
        "storage_gb": "${var.postgres_main.storage_gb}",
    }
    assert values == {
        "postgres_main": {"name": "main", "service": "checkout", "environment": "dev", "team": "payments", "storage_gb": 20},
        "redis_session_cache": {"name": "session-cache", "service": "checkout", "environment": "dev", "team": "payments"},
    }
    assert root["terraform"]["required_version"].startswith(">=")


def test_request_values_never_reach_the_root_module_source() -> None:
    resources = [ResourceRequest(type="postgres", name="main", engine_version=MALICIOUS, instance_class='"; } resource "x" "y" { ')]
    root, values = render(resources)
    source = json.dumps(root)
    assert "/etc/passwd" not in source
    assert "resource" not in source.replace('"module"', "")
    assert values["postgres_main"]["engine_version"] == MALICIOUS
    assert root["module"]["postgres_main"]["engine_version"] == "${var.postgres_main.engine_version}"
    # the values file round-trips as JSON data
    assert json.loads(json.dumps(values))["postgres_main"]["engine_version"] == MALICIOUS


def test_no_resources_renders_only_the_terraform_block() -> None:
    root, values = render([])
    assert root == {"terraform": {"required_version": ">= 1.5.0"}}
    assert values == {}


def test_module_key_is_a_terraform_identifier() -> None:
    assert module_key(ResourceRequest(type="bucket", name="user-uploads-2")) == "bucket_user_uploads_2"


# -- Kubernetes manifests


def workload(workload_kind: str = "service", resources: dict[str, ResourceOutputs] | None = None) -> WorkloadSpec:
    return WorkloadSpec(
        service="checkout",
        team="payments",
        environment="prod",
        environment_id="env_123",
        namespace="checkout-prod",
        image="registry.local/checkout:1.0.0",
        golden_path="python-service",
        golden_path_version="1.0.0",
        kubernetes=KubernetesDefaults(workload=workload_kind, port=9090, replicas=3, cpu="250m", memory="512Mi", health_path="/healthz"),
        resources=resources
        if resources is not None
        else {
            "main": ResourceOutputs(
                type="postgres",
                name="main",
                outputs={
                    "type": "postgres",
                    "host": "db.internal",
                    "port": 5432,
                    "database": "main",
                    "secret_ref": "checkout-prod-main-credentials",
                    "tags": {"a": "b"},
                },
            ),
            "cache": ResourceOutputs(type="redis", name="cache", outputs={"host": "redis.internal", "port": 6379}),
        },
    )


def by_kind(manifests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    kinds = [m["kind"] for m in manifests]
    assert len(kinds) == len(set(kinds))
    return {m["kind"]: m for m in manifests}


def test_service_workload_renders_namespace_configmap_deployment_service_in_order() -> None:
    manifests = render_manifests(workload())
    assert [m["kind"] for m in manifests] == ["Namespace", "ConfigMap", "Deployment", "Service"]
    kinds = by_kind(manifests)
    assert kinds["Namespace"]["metadata"]["name"] == "checkout-prod"
    for manifest in manifests[1:]:
        assert manifest["metadata"]["namespace"] == "checkout-prod"
        assert manifest["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "roadbed"
        assert manifest["metadata"]["annotations"]["roadbed.dev/golden-path"] == "python-service@1.0.0"
    deployment = kinds["Deployment"]
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "checkout"}
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert all(pod_labels[k] == v for k, v in deployment["spec"]["selector"]["matchLabels"].items())
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.local/checkout:1.0.0"
    assert container["ports"] == [{"name": "http", "containerPort": 9090}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["resources"]["requests"] == {"cpu": "250m", "memory": "512Mi"}
    assert container["securityContext"]["runAsNonRoot"] is True
    assert container["envFrom"] == [{"configMapRef": {"name": kinds["ConfigMap"]["metadata"]["name"]}}]
    service = kinds["Service"]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_config_map_carries_connection_details_but_no_secret() -> None:
    data = by_kind(render_manifests(workload()))["ConfigMap"]["data"]
    assert data == {
        "SERVICE_NAME": "checkout",
        "ENVIRONMENT": "prod",
        "PORT": "9090",
        "POSTGRES_MAIN_HOST": "db.internal",
        "POSTGRES_MAIN_PORT": "5432",
        "POSTGRES_MAIN_DATABASE": "main",
        "REDIS_CACHE_HOST": "redis.internal",
        "REDIS_CACHE_PORT": "6379",
    }
    assert all(isinstance(v, str) for v in data.values())


def test_secrets_reach_the_container_only_as_secret_key_refs() -> None:
    manifests = render_manifests(workload())
    (container,) = by_kind(manifests)["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert container["env"] == [
        {
            "name": "POSTGRES_MAIN_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "checkout-prod-main-credentials", "key": "password", "optional": True}},
        }
    ]
    assert all("value" not in entry for entry in container["env"])
    # the Secret's name appears only inside the secretKeyRef
    assert json.dumps(manifests).count("checkout-prod-main-credentials") == 1
    assert not any(m["kind"] == "Secret" for m in manifests)


def test_worker_workload_has_no_service_and_no_ports_or_probes() -> None:
    manifests = render_manifests(workload("worker"))
    assert [m["kind"] for m in manifests] == ["Namespace", "ConfigMap", "Deployment"]
    (container,) = manifests[2]["spec"]["template"]["spec"]["containers"]
    assert "ports" not in container
    assert "readinessProbe" not in container and "livenessProbe" not in container


def test_env_key_is_a_valid_environment_variable_name() -> None:
    assert env_key("postgres", "user-db", "host") == "POSTGRES_USER_DB_HOST"


def test_argocd_application_points_at_the_namespace() -> None:
    app = render_argocd_application(workload(), "file:///gitops.git", "environments/checkout-prod")
    assert app["spec"]["destination"]["namespace"] == "checkout-prod"
    assert app["spec"]["source"] == {"repoURL": "file:///gitops.git", "targetRevision": "main", "path": "environments/checkout-prod"}


# -- catalog entities


def description(environment: str = "prod", resources: dict[str, ResourceOutputs] | None = None) -> ServiceDescription:
    return ServiceDescription(
        service="checkout",
        team="payments",
        environment=environment,
        environment_id="env_123",
        description="Checkout service",
        golden_path="python-service",
        golden_path_version="1.0.0",
        component_type="service",
        repository_url="file:///git/checkout.git",
        namespace=f"checkout-{environment}",
        resources=resources
        if resources is not None
        else {
            "main": ResourceOutputs(type="postgres", name="main", outputs={}),
            "cache": ResourceOutputs(type="redis", name="cache", outputs={}),
        },
    )


def test_component_and_one_resource_per_resource_linked_both_ways() -> None:
    component, *resources = render_entities(description())
    assert component["kind"] == "Component"
    assert component["metadata"]["name"] == "checkout"
    assert component["spec"]["owner"] == "group:default/payments"
    assert component["spec"]["lifecycle"] == "production"
    assert component["metadata"]["annotations"]["backstage.io/source-template"] == "template:default/python-service"
    assert component["metadata"]["annotations"]["backstage.io/kubernetes-namespace"] == "checkout-prod"
    assert [r["kind"] for r in resources] == ["Resource", "Resource"]
    names = [r["metadata"]["name"] for r in resources]
    assert names == ["checkout-prod-main", "checkout-prod-cache"]
    assert component["spec"]["dependsOn"] == [f"resource:default/{name}" for name in names]
    for resource in resources:
        assert resource["spec"]["owner"] == owner_ref("payments")
        assert resource["spec"]["dependencyOf"] == ["component:default/checkout"]
        assert dns_label_problem(resource["metadata"]["name"]) is None
    assert resources[0]["spec"]["type"] == "postgres"


def test_non_prod_component_is_experimental_and_without_resources_depends_on_nothing() -> None:
    entities = render_entities(description(environment="dev", resources={}))
    assert len(entities) == 1
    assert entities[0]["spec"]["lifecycle"] == "experimental"
    assert entities[0]["spec"]["dependsOn"] == []


# -- naming


def test_short_namespace_is_service_dash_environment() -> None:
    assert namespace_for("checkout", "prod") == "checkout-prod"


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_a_namespace_is_never_shortened(environment: str) -> None:
    """Names are checked at submission (service at most 55 characters), so no step ever cuts one."""
    exact = "s" * (DNS_LABEL_MAX - len(f"-{environment}"))
    assert namespace_for(exact, environment) == f"{exact}-{environment}"
    with pytest.raises(ValueError, match="never shortened"):
        namespace_for(exact + "t", environment)


def test_workflow_id_and_resource_entity_name() -> None:
    assert workflow_id_for("checkout", "dev", "env_1") == "provision/checkout/dev/env_1"
    assert resource_entity_name("checkout", "prod", "main") == "checkout-prod-main"
    with pytest.raises(ValueError, match="never shortened"):
        resource_entity_name("a" * 60, "prod", "main")


# -- percentiles


def test_median_interpolates() -> None:
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile([3, 1, 2], 50) == 2.0


def test_p90_of_one_to_ten() -> None:
    values = list(range(1, 11))
    assert percentile(values, 90) == pytest.approx(9.1)
    assert percentile(values, 90) == pytest.approx(statistics.quantiles(values, n=10, method="inclusive")[8])
    assert percentile(list(reversed(values)), 90) == pytest.approx(9.1)


def test_percentile_bounds() -> None:
    values = [5.0, 1.0, 9.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 9.0


def test_empty_is_none_and_single_value_is_itself() -> None:
    assert percentile([], 50) is None
    assert percentile([], 99) is None
    assert percentile([42], 50) == 42.0
    assert percentile([42], 99) == 42.0
    assert isinstance(percentile([42], 99), float)


@pytest.mark.parametrize("pct", [10, 25, 75, 95, 99])
def test_percentiles_match_the_inclusive_method(pct: int) -> None:
    values = [3.2, 7.5, 1.1, 9.9, 4.4, 6.0, 2.7]
    expected = statistics.quantiles(values, n=100, method="inclusive")[pct - 1]
    assert percentile(values, pct) == pytest.approx(expected)
