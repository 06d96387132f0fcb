"""Backstage entities describing a provisioned service (`backstage.io/v1alpha1`).

The Component is the service's, shared by its environments: it is rendered for the registering environment plus the
others still live (`roadbed.rendering.catalog_environments`). Resources are per environment. When the repository
has an OpenAPI document an API entity (`<service>`) is provided by the Component; a `system` parameter puts the
Component (and its API) in a System owned by the team, created by the first service that names it.

The plugin annotations (what lights which Backstage plugin tab) are listed in the README's "Backstage plugins" table.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from roadbed.domain.models import ResourceOutputs
from roadbed.domain.naming import resource_entity_name
from roadbed.rendering.catalog_environments import (
    ARGOCD_APP_NAME,
    GRAFANA_DASHBOARD_SELECTOR,
    GRAFANA_OVERVIEW_DASHBOARD,
    NON_PRODUCTION,
    PRODUCTION,
    EnvironmentFacts,
    dashboard_selector,
    describe,
)
from roadbed.rendering.grafana_dashboard import dashboard_uid

API_VERSION = "backstage.io/v1alpha1"
KUBERNETES_ID = "backstage.io/kubernetes-id"
GITHUB_PROJECT_SLUG = "github.com/project-slug"
PROMETHEUS_ALERT = "prometheus.io/alert"
PROMETHEUS_RULE = "prometheus.io/rule"
PAGERDUTY_SERVICE_ID = "pagerduty.com/service-id"
SONARQUBE_PROJECT_KEY = "sonarqube.org/project-key"
PLUGIN_ANNOTATIONS = (
    KUBERNETES_ID, GITHUB_PROJECT_SLUG, ARGOCD_APP_NAME, PROMETHEUS_ALERT, PROMETHEUS_RULE, GRAFANA_DASHBOARD_SELECTOR,
    GRAFANA_OVERVIEW_DASHBOARD, PAGERDUTY_SERVICE_ID, SONARQUBE_PROJECT_KEY,
)
"""Set by Roadbed when the deployment has the plugin's system; a template's own value is kept (see catalog_merge)."""
RULE_GROUP_LABEL = "slo_environment"
"""The Prometheus plugin draws one line per value of this label (`<query>|<label>`): one per environment."""


class CatalogPlugins(BaseModel):
    """What the deployment runs beside Roadbed (from the settings): which plugin annotations can point somewhere."""

    model_config = ConfigDict(frozen=True)

    github_org: str | None = None
    """The GitHub organisation when the repo host is GitHub: `github.com/project-slug` is `<org>/<service>`."""
    argocd: bool = False
    """The GitOps target: every environment has an Argo CD Application named after its namespace."""
    grafana_url: str | None = None
    pagerduty_service_ids: dict[str, str] = {}
    """service -> PagerDuty service id (`pagerduty.com/service-id`), as the settings name them."""
    sonarqube: bool = False
    """A SonarQube server is configured: the project key is the service's name."""


class ApiDescription(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    """The OpenAPI document in the repository (`$text` is relative to the catalog file)."""
    definition_ref: str


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
    others: tuple[EnvironmentFacts, ...] = ()
    """The service's other live environments, as the stored Component records them."""
    alerts: tuple[str, ...] = ()
    recording_rules: tuple[str, ...] = ()
    plugins: CatalogPlugins = CatalogPlugins()
    api: ApiDescription | None = None
    system: str | None = None

    def facts(self) -> EnvironmentFacts:
        return EnvironmentFacts(
            environment=self.environment, environment_id=self.environment_id, namespace=self.namespace,
            golden_path_version=self.golden_path_version, resources=tuple(f"{r.type}:{r.name}" for r in self.resources.values()),
        )


def owner_ref(team: str) -> str:
    return f"group:default/{team}"


def api_ref(service: str) -> str:
    return f"api:default/{service}"


def system_ref(system: str) -> str:
    return f"system:default/{system}"


def planned_entity_refs(service: str, environment: str, resource_names: list[str], *, api: bool = False, system: str | None = None) -> list[str]:
    """The refs `render_entities` will produce for this environment, known at submission (before any output exists),
    so a clash with someone else's entity is refused before anything is created."""
    return [
        f"component:default/{service}",
        *(f"resource:default/{resource_entity_name(service, environment, name)}" for name in resource_names),
        *([api_ref(service)] if api else []),
        *([system_ref(system)] if system else []),
    ]


def plugin_annotations(desc: ServiceDescription) -> dict[str, str]:
    """The annotations Backstage's plugins look for (README, "Backstage plugins")."""
    plugins = desc.plugins
    found = {KUBERNETES_ID: desc.service}
    if plugins.github_org:
        found[GITHUB_PROJECT_SLUG] = f"{plugins.github_org}/{desc.service}"
    if plugins.argocd:
        found[ARGOCD_APP_NAME] = desc.namespace  # rewritten by `describe` to the most important environment's
    if desc.alerts:
        found[PROMETHEUS_ALERT] = ",".join(desc.alerts)
    if desc.recording_rules:  # the SLI's error ratio (shortest window) and over the SLO period (longest): one graph each
        shown = dict.fromkeys([desc.recording_rules[0], desc.recording_rules[-1]])
        found[PROMETHEUS_RULE] = ",".join(f'{record}{{slo_service="{desc.service}"}}|{RULE_GROUP_LABEL}' for record in shown)
    found[GRAFANA_DASHBOARD_SELECTOR] = dashboard_selector(desc.service, [desc.facts()])
    if plugins.grafana_url:
        found[GRAFANA_OVERVIEW_DASHBOARD] = f"{plugins.grafana_url.rstrip('/')}/d/{dashboard_uid(desc.service, desc.environment)}"
    if plugins.pagerduty_service_ids.get(desc.service):
        found[PAGERDUTY_SERVICE_ID] = plugins.pagerduty_service_ids[desc.service]
    if plugins.sonarqube:
        found[SONARQUBE_PROJECT_KEY] = desc.service
    return found


def render_entities(desc: ServiceDescription) -> list[dict[str, Any]]:
    """The Component (all live environments), one Resource per provisioned resource (dependsOn), then the API.

    The System (when named) is not among them: many services' repositories would each define it, which Backstage
    refuses as conflicting; `render_system` gives it to Roadbed's own catalog."""
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
                "spec": {
                    "type": resource.type, "owner": owner_ref(desc.team), "dependencyOf": [f"component:default/{desc.service}"],
                    **({"system": desc.system} if desc.system else {}),
                },
            }
        )
    lifecycle = PRODUCTION if desc.environment == "prod" else NON_PRODUCTION
    spec: dict[str, Any] = {
        "type": desc.component_type,
        "lifecycle": lifecycle,
        "owner": owner_ref(desc.team),
        "dependsOn": [f"resource:default/{e['metadata']['name']}" for e in resource_entities],
    }
    if desc.api is not None:
        spec["providesApis"] = [api_ref(desc.service)]
    if desc.system:
        spec["system"] = desc.system
    component = {
        "apiVersion": API_VERSION,
        "kind": "Component",
        "metadata": {
            "name": desc.service,
            "namespace": "default",
            "description": desc.description,
            "annotations": {
                "backstage.io/source-template": f"template:default/{desc.golden_path}",
                "backstage.io/techdocs-ref": "dir:.",
                "backstage.io/source-location": f"url:{desc.repository_url}",
                **plugin_annotations(desc),
            },
            "links": [{"url": f"{desc.repository_url}#docs/runbook.md", "title": "Runbook", "type": "runbook"}],
        },
        "spec": spec,
    }
    component = describe(component, [desc.facts(), *(other for other in desc.others if other.environment != desc.environment)], service=desc.service)
    return [component, *resource_entities, *([render_api(desc, component["spec"]["lifecycle"])] if desc.api else [])]


def render_api(desc: ServiceDescription, lifecycle: str) -> dict[str, Any]:
    """The API the service provides; its definition a `$text` placeholder Backstage reads from the repository."""
    assert desc.api is not None
    return {
        "apiVersion": API_VERSION,
        "kind": "API",
        "metadata": {
            "name": desc.service,
            "namespace": "default",
            "description": f"The HTTP API of {desc.service} (OpenAPI, {desc.api.path} in its repository)",
        },
        "spec": {
            "type": "openapi", "lifecycle": lifecycle, "owner": owner_ref(desc.team),
            "definition": {"$text": desc.api.definition_ref},
            **({"system": desc.system} if desc.system else {}),
        },
    }


def render_system(desc: ServiceDescription) -> dict[str, Any] | None:
    """The System the service joins, owned by its team (created by the first service naming it, then shared)."""
    if not desc.system:
        return None
    return {
        "apiVersion": API_VERSION,
        "kind": "System",
        "metadata": {"name": desc.system, "namespace": "default", "description": f"System {desc.system} of team {desc.team}"},
        "spec": {"owner": owner_ref(desc.team)},
    }


def inline_definitions(entities: list[dict[str, Any]], read: Any) -> list[dict[str, Any]]:
    """APIs whose definition is a `{$text: path}` placeholder get the file's text (`read(path) -> str | None`), as
    Backstage resolves it when it reads the repository; one whose file is missing keeps its placeholder."""
    resolved = []
    for entity in entities:
        definition = (entity.get("spec") or {}).get("definition") if entity.get("kind") == "API" else None
        if isinstance(definition, dict) and isinstance(definition.get("$text"), str):
            text = read(definition["$text"])
            if text is not None:
                entity = {**entity, "spec": {**entity["spec"], "definition": text}}
        resolved.append(entity)
    return resolved
