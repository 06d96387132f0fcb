"""One Component per service: `describe` and the merge keep it true for the live environments, and only those."""

from __future__ import annotations

from typing import Any

import yaml

from roadbed.domain.models import ResourceOutputs
from roadbed.rendering.catalog_entities import ServiceDescription, render_entities
from roadbed.rendering.catalog_environments import EnvironmentFacts, describe, facts_of
from roadbed.rendering.catalog_merge import merge_catalog_info

PROD = EnvironmentFacts(environment="prod", environment_id="env-p", namespace="orders-prod", golden_path_version="1.0.0", resources=("postgres:main",))
STAGING = EnvironmentFacts(environment="staging", environment_id="env-s", namespace="orders-staging", golden_path_version="1.1.0")


def entities(environment: str, environment_id: str, others: tuple[EnvironmentFacts, ...] = ()) -> list[dict[str, Any]]:
    return render_entities(
        ServiceDescription(
            service="orders", team="payments", environment=environment, environment_id=environment_id, description="Takes orders",
            golden_path="python-service", golden_path_version="1.2.0", component_type="service", repository_url="file:///git/orders.git",
            namespace=f"orders-{environment}", resources={"main": ResourceOutputs(type="postgres", name="main", outputs={})}, others=others,
        )
    )


def test_dev_after_prod_keeps_prod_the_main_environment() -> None:
    component = entities("dev", "env-d", (PROD, STAGING))[0]
    annotations = component["metadata"]["annotations"]
    assert annotations["roadbed.dev/environments"] == "prod,staging,dev"
    assert annotations["backstage.io/kubernetes-namespace"] == "orders-prod" and annotations["roadbed.dev/environment-id"] == "env-p"
    assert annotations["roadbed.dev/golden-path-version"] == "1.0.0" and annotations["roadbed.dev/env.staging.golden-path-version"] == "1.1.0"
    assert "roadbed.dev/env.staging.resources" not in annotations  # staging has none
    assert component["spec"]["lifecycle"] == "production"
    assert component["spec"]["dependsOn"] == ["resource:default/orders-dev-main", "resource:default/orders-prod-main"]
    assert facts_of(component) == [PROD, STAGING, facts_of(component)[2]] and facts_of(component)[2].environment_id == "env-d"


def test_releasing_prod_rewrites_everything_prod_gave() -> None:
    component = entities("dev", "env-d", (PROD,))[0]
    dev = [fact for fact in facts_of(component) if fact.environment == "dev"]
    released = describe(component, dev, service="orders", dropped=[PROD])
    annotations = released["metadata"]["annotations"]
    assert released["spec"]["lifecycle"] == "experimental" and released["spec"]["dependsOn"] == ["resource:default/orders-dev-main"]
    assert annotations["backstage.io/kubernetes-namespace"] == "orders-dev" and annotations["roadbed.dev/environments"] == "dev"
    assert not [key for key in annotations if key.startswith("roadbed.dev/env.prod")]
    assert annotations["grafana/dashboard-selector"] == "tags @> 'roadbed' && (title == 'orders (dev)')"


def test_template_values_are_kept_when_they_are_not_roadbeds() -> None:
    component = entities("dev", "env-d")[0]
    component["metadata"]["annotations"]["backstage.io/kubernetes-namespace"] = "shared"
    component["spec"]["lifecycle"] = "deprecated"
    released = describe(component, facts_of(component), service="orders")
    assert released["metadata"]["annotations"]["backstage.io/kubernetes-namespace"] == "shared" and released["spec"]["lifecycle"] == "deprecated"


def test_the_file_drops_a_released_environments_resource_at_the_next_registration() -> None:
    prod_file = merge_catalog_info(None, entities("prod", "env-p"), path="catalog-info.yaml", runbook=False)
    both = merge_catalog_info(prod_file.text.encode(), entities("dev", "env-d", (PROD,)), path="catalog-info.yaml", runbook=False)
    assert [d["metadata"]["name"] for d in yaml.safe_load_all(both.text)] == ["orders", "orders-prod-main", "orders-dev-main"]
    # prod released (the file was not rewritten then); dev registers again: the file forgets prod
    again = merge_catalog_info(both.text.encode(), entities("dev", "env-d"), path="catalog-info.yaml", runbook=False)
    documents = list(yaml.safe_load_all(again.text))
    assert [d["metadata"]["name"] for d in documents] == ["orders", "orders-dev-main"] and documents == again.entities
    assert documents[0]["spec"]["lifecycle"] == "experimental" and documents[0]["spec"]["dependsOn"] == ["resource:default/orders-dev-main"]
    assert "orders-prod" not in again.text
