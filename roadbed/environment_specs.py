"""What an environment's workload, monitoring and catalog entities are made of, built in one place.

The provisioning steps, deployments, compensations and the preview all render from these, so a
preview cannot drift from what a run does.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from typing import Any

from roadbed.domain.models import EnvironmentRequest, ResourceOutputs
from roadbed.domain.naming import namespace_for
from roadbed.domain.specs import MonitoringSpec, WorkloadSpec
from roadbed.golden_paths import GoldenPath, template_parameters
from roadbed.rendering.catalog_entities import ApiDescription, CatalogPlugins, ServiceDescription
from roadbed.rendering.catalog_environments import EnvironmentFacts
from roadbed.rendering.prometheus_rules import prometheus_rules
from roadbed.rendering.slo_queries import SloQueries
from roadbed.rendering.sloth import sloth_spec

IMAGE_REGISTRY = "registry.local"
OPENAPI_DOCUMENT = "openapi.yaml"
"""A golden path provides an API when its skeleton has this file at the repository's root."""
SYSTEM_PARAMETER = "system"
# The version an environment runs before its first `roadbed deploy`: the golden path's bootstrap image.
BOOTSTRAP_VERSION = "bootstrap"


def image_for(service: str, golden_path: GoldenPath, version: str | None, image_registry: str = IMAGE_REGISTRY) -> str:
    """The image of `version`: the service's own `<registry>/<service>:<version>` once its CI publishes one; before
    that (provisioning, or a rollback with nothing deployed yet) the golden path's bootstrap image, because a
    rollout of an image nobody published never becomes available on a real cluster."""
    if version is None or version == BOOTSTRAP_VERSION:
        return golden_path.roadbed.kubernetes.bootstrap_image
    return f"{image_registry.rstrip('/')}/{service}:{version}"


def workload_spec(
    request: EnvironmentRequest,
    golden_path: GoldenPath,
    *,
    environment_id: str,
    golden_path_version: str,
    resources: dict[str, ResourceOutputs],
    version: str | None = None,
    image_registry: str = IMAGE_REGISTRY,
) -> WorkloadSpec:
    """The workload at `version`; provisioning (no version) deploys the bootstrap image (see `image_for`)."""
    return WorkloadSpec(
        service=request.service, team=request.team, environment=request.environment, environment_id=environment_id,
        namespace=namespace_for(request.service, request.environment), image=image_for(request.service, golden_path, version, image_registry),
        golden_path=golden_path.name, golden_path_version=golden_path_version, kubernetes=golden_path.roadbed.kubernetes,
        resources=resources,
    )


def monitoring_spec(request: EnvironmentRequest, golden_path: GoldenPath) -> MonitoringSpec:
    return MonitoringSpec(
        service=request.service, environment=request.environment, team=request.team,
        namespace=namespace_for(request.service, request.environment), slo=golden_path.roadbed.slo,
    )


def monitoring_rule_names(spec: MonitoringSpec) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The alert names and the recording rule names of the environment's generated Prometheus rules, each once."""
    queries = SloQueries(spec)
    rules = [rule for group in prometheus_rules(spec, queries, sloth_spec(spec, queries))["groups"] for rule in group["rules"]]
    alerts = tuple(dict.fromkeys(rule["alert"] for rule in rules if "alert" in rule))
    records = tuple(dict.fromkeys(rule["record"] for rule in rules if "record" in rule))
    return alerts, records


def api_document(golden_path: GoldenPath) -> str | None:
    """The OpenAPI document the golden path's skeleton ships at the repository root (`fetch:template` at `.`)."""
    for step in golden_path.steps:
        url = step.input.get("url") if step.action == "fetch:template" else None
        target = str(step.input.get("targetPath") or ".").strip("./")
        if isinstance(url, str) and "${{" not in url and not target and (golden_path.directory / url / OPENAPI_DOCUMENT).is_file():
            return OPENAPI_DOCUMENT
    return None


def requested_system(parameters: dict[str, Any]) -> str | None:
    value = parameters.get(SYSTEM_PARAMETER)
    return value if isinstance(value, str) and value else None


def service_description(
    request: EnvironmentRequest,
    golden_path: GoldenPath,
    *,
    environment_id: str,
    golden_path_version: str,
    repository_url: str,
    resources: dict[str, ResourceOutputs],
    others: Iterable[EnvironmentFacts] = (),
    plugins: CatalogPlugins | None = None,
    catalog_path: str = "catalog-info.yaml",
) -> ServiceDescription:
    """What the catalog says about the service, from this environment (`others`: the ones still live)."""
    parameters = template_parameters(golden_path, request.parameters, request.service, request.team, request.environment)
    alerts, records = monitoring_rule_names(monitoring_spec(request, golden_path))
    document = api_document(golden_path)
    api = None
    if document is not None:  # `$text` is read relative to the catalog file
        relative = posixpath.relpath(document, posixpath.dirname(catalog_path) or ".")
        api = ApiDescription(path=document, definition_ref=relative if relative.startswith("..") else f"./{relative}")
    return ServiceDescription(
        service=request.service, team=request.team, environment=request.environment, environment_id=environment_id,
        description=str(parameters.get("description") or golden_path.description), golden_path=golden_path.name,
        golden_path_version=golden_path_version, component_type=golden_path.type or "service", repository_url=repository_url,
        namespace=namespace_for(request.service, request.environment), resources=resources, others=tuple(others),
        alerts=alerts, recording_rules=records, plugins=plugins or CatalogPlugins(), api=api, system=requested_system(request.parameters),
    )
