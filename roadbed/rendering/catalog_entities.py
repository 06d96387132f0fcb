"""Backstage entities describing a provisioned environment (`backstage.io/v1alpha1`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from roadbed.domain.models import ResourceOutputs
from roadbed.domain.naming import resource_entity_name

API_VERSION = "backstage.io/v1alpha1"


class ServiceDescription(BaseModel):
    model_config = ConfigDict(frozen=True)

    service: str
    team: str
    environment: str
    environment_id: str
    description: str
    golden_path: str
    golden_path_version: str
    component_type: str
    repository_url: str
    namespace: str
    resources: dict[str, ResourceOutputs]


def owner_ref(team: str) -> str:
    return f"group:default/{team}"


def planned_entity_refs(service: str, environment: str, resource_names: list[str]) -> list[str]:
    """The refs `render_entities` will produce for this environment, known at submission (before any output exists),
    so a clash with someone else's entity is refused before anything is created."""
    return [f"component:default/{service}", *(f"resource:default/{resource_entity_name(service, environment, name)}" for name in resource_names)]


def render_entities(desc: ServiceDescription) -> list[dict[str, Any]]:
    """A Component for the service and one Resource per provisioned resource, linked by dependsOn."""
    resource_entities = []
    for resource in desc.resources.values():
        name = resource_entity_name(desc.service, desc.environment, resource.name)
        resource_entities.append(
            {
                "apiVersion": API_VERSION,
                "kind": "Resource",
                "metadata": {
                    "name": name,
                    "namespace": "default",
                    "description": f"{resource.type} {resource.name} of {desc.service} ({desc.environment})",
                    "annotations": {"roadbed.dev/environment-id": desc.environment_id, "roadbed.dev/environment": desc.environment},
                    "labels": {"roadbed.dev/resource-type": resource.type},
                },
                "spec": {"type": resource.type, "owner": owner_ref(desc.team), "dependencyOf": [f"component:default/{desc.service}"]},
            }
        )
    component = {
        "apiVersion": API_VERSION,
        "kind": "Component",
        "metadata": {
            "name": desc.service,
            "namespace": "default",
            "description": desc.description,
            "annotations": {
                "backstage.io/source-template": f"template:default/{desc.golden_path}",
                "roadbed.dev/golden-path-version": desc.golden_path_version,
                "roadbed.dev/environment-id": desc.environment_id,
                "backstage.io/techdocs-ref": "dir:.",
                "backstage.io/source-location": f"url:{desc.repository_url}",
                "backstage.io/kubernetes-namespace": desc.namespace,
            },
            "links": [{"url": f"{desc.repository_url}#docs/runbook.md", "title": "Runbook", "type": "runbook"}],
        },
        "spec": {
            "type": desc.component_type,
            "lifecycle": "production" if desc.environment == "prod" else "experimental",
            "owner": owner_ref(desc.team),
            "dependsOn": [f"resource:default/{e['metadata']['name']}" for e in resource_entities],
        },
    }
    return [component, *resource_entities]
