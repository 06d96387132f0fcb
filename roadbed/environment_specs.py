"""What an environment's workload, monitoring and catalog entities are made of, built in one place.

The provisioning steps, deployments, compensations and the preview all render from these, so a
preview cannot drift from what a run does.
"""

from __future__ import annotations

from roadbed.domain.models import EnvironmentRequest, ResourceOutputs
from roadbed.domain.naming import namespace_for
from roadbed.domain.specs import MonitoringSpec, WorkloadSpec
from roadbed.golden_paths import GoldenPath, template_parameters
from roadbed.rendering.catalog_entities import ServiceDescription

IMAGE_REGISTRY = "registry.local"
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


def service_description(
    request: EnvironmentRequest,
    golden_path: GoldenPath,
    *,
    environment_id: str,
    golden_path_version: str,
    repository_url: str,
    resources: dict[str, ResourceOutputs],
) -> ServiceDescription:
    parameters = template_parameters(golden_path, request.parameters, request.service, request.team, request.environment)
    return ServiceDescription(
        service=request.service, team=request.team, environment=request.environment, environment_id=environment_id,
        description=str(parameters.get("description") or golden_path.description), golden_path=golden_path.name,
        golden_path_version=golden_path_version, component_type=golden_path.type or "service", repository_url=repository_url,
        namespace=namespace_for(request.service, request.environment), resources=resources,
    )
