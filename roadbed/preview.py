"""Preview of a request: everything a run would create, rendered for real, nothing provisioned.

The files the repository would get (path, size, first lines), the real Terraform plan of the
resources, the Kubernetes manifests, the monitoring files and the catalog entities — produced by
the same rendering code the steps use, so the preview cannot drift from what a run does.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from roadbed.domain.models import EnvironmentRequest, ResourceOutputs
from roadbed.domain.naming import namespace_for
from roadbed.environment_specs import monitoring_spec, service_description, workload_spec
from roadbed.golden_paths import GoldenPath, template_parameters
from roadbed.ports import InfrastructureRunner
from roadbed.rendering.catalog_entities import render_entities
from roadbed.rendering.manifests import render_manifests
from roadbed.rendering.monitoring import render_monitoring
from roadbed.rendering.skeleton import render_repository
from roadbed.rendering.terraform import render_root_module

HEAD_BYTES = 400


class PreviewFile(BaseModel):
    path: str
    size: int
    binary: bool
    head: str | None


class Preview(BaseModel):
    golden_path: str
    version: str
    namespace: str
    files: list[PreviewFile]
    terraform: dict[str, Any]
    manifests: list[dict[str, Any]]
    monitoring_files: list[str]
    catalog_entities: list[dict[str, Any]]


def _file(path: str, content: bytes) -> PreviewFile:
    try:
        text = content.decode("utf-8")
        binary = "\x00" in text
    except UnicodeDecodeError:
        binary = True
    return PreviewFile(path=path, size=len(content), binary=binary, head=None if binary else text[:HEAD_BYTES])


def preview(request: EnvironmentRequest, golden_path: GoldenPath, planner: InfrastructureRunner, modules_dir: Any) -> Preview:
    parameters = template_parameters(golden_path, request.parameters, request.service, request.team, request.environment)
    files = render_repository(golden_path, parameters)
    namespace = namespace_for(request.service, request.environment)
    terraform: dict[str, Any] = {"resource_changes": [], "summary": {"add": 0, "change": 0, "remove": 0}}
    if request.resources:
        root, values = render_root_module(
            list(request.resources), service=request.service, environment=request.environment, team=request.team, modules_dir=modules_dir
        )
        terraform = planner.plan(root, values)
    planned = {r.name: ResourceOutputs(type=r.type, name=r.name, outputs={"secret_ref": f"{request.service}-{r.name}-{r.type}"}) for r in request.resources}
    common = {"environment_id": "(preview)", "golden_path_version": golden_path.version, "resources": planned}
    spec = workload_spec(request, golden_path, **common)
    monitoring = render_monitoring(monitoring_spec(request, golden_path))
    entities = render_entities(service_description(request, golden_path, repository_url="(preview)", **common))
    return Preview(
        golden_path=golden_path.name,
        version=golden_path.version,
        namespace=namespace,
        files=[_file(path, content) for path, content in sorted(files.items())],
        terraform=terraform,
        manifests=render_manifests(spec),
        monitoring_files=sorted(monitoring),
        catalog_entities=entities,
    )
