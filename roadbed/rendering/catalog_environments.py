"""One Component per service, describing every live environment of it at once.

A service's environments share one Component (`component:default/<service>`). Each environment's own facts are
recorded on it under Roadbed-owned annotations instead of overwriting each other:

    roadbed.dev/environments: dev,prod                   # the environments it describes, most important first
    roadbed.dev/env.<env>.id: env-…                      # the environment's id
    roadbed.dev/env.<env>.namespace: orders-prod         # its Kubernetes namespace
    roadbed.dev/env.<env>.golden-path-version: 1.0.0     # the golden path version it was provisioned from
    roadbed.dev/env.<env>.resources: postgres:main,…     # its resources, <type>:<name> (absent when none)

(keys stay within Backstage's rules: prefix `roadbed.dev`, name at most 63 characters of `[a-zA-Z0-9-_.]`.)

What a single-valued field must say is derived from that set, with prod > staging > dev as the order of
importance: `spec.lifecycle` is `production` while any prod environment is described (without one, a `production`
that came from a prod environment which has gone becomes `experimental`; any other value, the template's, stays);
`backstage.io/kubernetes-namespace` and `argocd/app-name` (the Argo CD Application is named after the namespace) point
at the most important environment — when they hold a namespace Roadbed derived, never a template's own value; the
Grafana selector lists every described environment's dashboard; `roadbed.dev/environment-id` and
`roadbed.dev/golden-path-version` are the most important environment's; `spec.dependsOn` lists every described
environment's resources (and no longer a dropped environment's).

`describe` is the one function that writes those fields, used when an environment registers (with the others still
live) and when one is released (with the ones left). The last environment's release removes the Component.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict

from roadbed.domain.naming import namespace_for, resource_entity_name
from roadbed.rendering.grafana_dashboard import dashboard_uid

ENVIRONMENTS = "roadbed.dev/environments"
PER_ENVIRONMENT_PREFIX = "roadbed.dev/env."
ENVIRONMENT_ID = "roadbed.dev/environment-id"
GOLDEN_PATH_VERSION = "roadbed.dev/golden-path-version"
KUBERNETES_NAMESPACE = "backstage.io/kubernetes-namespace"
ARGOCD_APP_NAME = "argocd/app-name"
GRAFANA_DASHBOARD_SELECTOR = "grafana/dashboard-selector"
GRAFANA_OVERVIEW_DASHBOARD = "grafana/overview-dashboard"
IMPORTANCE = ("prod", "staging", "dev")
"""Most important first: the environment single-valued fields point at."""
PRODUCTION = "production"
NON_PRODUCTION = "experimental"
DASHBOARD_TAG = "roadbed"


class EnvironmentFacts(BaseModel):
    """What the Component records about one environment of the service."""

    model_config = ConfigDict(frozen=True)

    environment: str
    environment_id: str
    namespace: str
    golden_path_version: str
    resources: tuple[str, ...] = ()
    """`<type>:<name>` of each resource, as the request named them."""

    def resource_refs(self, service: str) -> list[str]:
        return [f"resource:default/{resource_entity_name(service, self.environment, item.split(':', 1)[-1])}" for item in self.resources]


def fact_key(environment: str, fact: str) -> str:
    return f"{PER_ENVIRONMENT_PREFIX}{environment}.{fact}"


def ordered(facts: Iterable[EnvironmentFacts]) -> list[EnvironmentFacts]:
    """Most important first (prod, staging, dev, then any other by name); one entry per environment."""
    unique = {fact.environment: fact for fact in facts}
    rank = {name: index for index, name in enumerate(IMPORTANCE)}
    return sorted(unique.values(), key=lambda fact: (rank.get(fact.environment, len(IMPORTANCE)), fact.environment))


def facts_of(component: dict[str, Any]) -> list[EnvironmentFacts]:
    """The environments a stored Component describes (none for one written before environments were recorded)."""
    annotations = (component.get("metadata") or {}).get("annotations") or {}
    found = []
    for environment in [name.strip() for name in str(annotations.get(ENVIRONMENTS, "")).split(",") if name.strip()]:
        environment_id = annotations.get(fact_key(environment, "id"))
        if not environment_id:
            continue
        resources = [item for item in str(annotations.get(fact_key(environment, "resources"), "")).split(",") if item]
        found.append(
            EnvironmentFacts(
                environment=environment, environment_id=str(environment_id),
                namespace=str(annotations.get(fact_key(environment, "namespace")) or ""),
                golden_path_version=str(annotations.get(fact_key(environment, "golden-path-version")) or ""),
                resources=tuple(resources),
            )
        )
    return ordered(found)


def dashboard_title(service: str, environment: str) -> str:
    """The title of an environment's Grafana dashboard (`roadbed.rendering.grafana_dashboard`)."""
    return f"{service} ({environment})"


def dashboard_selector(service: str, facts: Iterable[EnvironmentFacts]) -> str:
    """The Grafana plugin's selector for the dashboards of the described environments (tagged `roadbed`, by title)."""
    titles = " || ".join(f"title == '{dashboard_title(service, fact.environment)}'" for fact in ordered(facts))
    return f"tags @> '{DASHBOARD_TAG}' && ({titles})"


def describe(
    component: dict[str, Any], facts: Iterable[EnvironmentFacts], *, service: str, dropped: Iterable[EnvironmentFacts] = ()
) -> dict[str, Any]:
    """`component` rewritten to describe exactly `facts` (at least one); `dropped` are environments it described before."""
    described, gone = ordered(facts), list(dropped)
    if not described:
        raise ValueError("a Component describes at least one environment")
    main = described[0]
    body = copy.deepcopy(component)
    metadata, spec = body["metadata"], body["spec"]
    annotations = {key: value for key, value in (metadata.get("annotations") or {}).items() if not key.startswith(PER_ENVIRONMENT_PREFIX)}
    annotations[ENVIRONMENTS] = ",".join(fact.environment for fact in described)
    for fact in described:
        annotations[fact_key(fact.environment, "id")] = fact.environment_id
        annotations[fact_key(fact.environment, "namespace")] = fact.namespace
        annotations[fact_key(fact.environment, "golden-path-version")] = fact.golden_path_version
        if fact.resources:
            annotations[fact_key(fact.environment, "resources")] = ",".join(fact.resources)
    annotations[ENVIRONMENT_ID] = main.environment_id
    annotations[GOLDEN_PATH_VERSION] = main.golden_path_version
    ours = {namespace_for(service, name) for name in IMPORTANCE} | {fact.namespace for fact in [*described, *gone]}
    if annotations.get(KUBERNETES_NAMESPACE) in ours | {None}:
        annotations[KUBERNETES_NAMESPACE] = main.namespace
    if annotations.get(ARGOCD_APP_NAME) in ours:
        annotations[ARGOCD_APP_NAME] = main.namespace
    if str(annotations.get(GRAFANA_DASHBOARD_SELECTOR, "")).startswith(f"tags @> '{DASHBOARD_TAG}' && (title == "):
        annotations[GRAFANA_DASHBOARD_SELECTOR] = dashboard_selector(service, described)
    if GRAFANA_OVERVIEW_DASHBOARD in annotations:
        annotations[GRAFANA_OVERVIEW_DASHBOARD] = _overview_for(str(annotations[GRAFANA_OVERVIEW_DASHBOARD]), service, main.environment)
    metadata["annotations"] = annotations
    if any(fact.environment == "prod" for fact in described):
        spec["lifecycle"] = PRODUCTION
    elif spec.get("lifecycle") == PRODUCTION and any(fact.environment == "prod" for fact in gone):
        spec["lifecycle"] = NON_PRODUCTION
    spec_depends = _depends_on(spec.get("dependsOn") or [], service, described, gone)
    if spec_depends or "dependsOn" in spec:
        spec["dependsOn"] = spec_depends
    return body


def _depends_on(current: list[Any], service: str, described: list[EnvironmentFacts], gone: list[EnvironmentFacts]) -> list[Any]:
    dropped = {ref.lower() for fact in gone for ref in fact.resource_refs(service)}
    kept = [ref for ref in current if str(ref).lower() not in dropped]
    known = {str(ref).lower() for ref in kept}
    for fact in described:
        for ref in fact.resource_refs(service):
            if ref.lower() not in known:
                kept.append(ref)
                known.add(ref.lower())
    return kept


def _overview_for(url: str, service: str, environment: str) -> str:
    """The overview dashboard URL pointed at `environment`'s dashboard (the uid after `/d/` swapped)."""
    for name in IMPORTANCE:
        uid = dashboard_uid(service, name)
        if f"/d/{uid}" in url:
            return url.replace(f"/d/{uid}", f"/d/{dashboard_uid(service, environment)}")
    return url
