"""The catalog step keeps a template's own catalog-info.yaml and merges Roadbed's additions into it, in the text."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from roadbed.domain.models import ResourceOutputs
from roadbed.domain.specs import TemplateStep
from roadbed.rendering import plain_yaml
from roadbed.rendering.catalog_entities import ServiceDescription, render_entities
from roadbed.rendering.catalog_environments import EnvironmentFacts, facts_of
from roadbed.rendering.catalog_merge import CatalogInfoError, catalog_info_path, merge_catalog_info

PATH = "catalog-info.yaml"

TEMPLATE_FILE = """\
# Written by the template.
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: orders
  title: Orders  # shown in the catalog
  annotations:
    example.com/team-channel: "#orders"   # keep me
    backstage.io/source-template: template:default/something-else
  tags:
    - python
  links:
  - url: https://dash.example/orders
    title: Dashboard
spec:
  type: service
  lifecycle: production
  owner: payments
  system: shop
  providesApis: [orders-api]
  dependsOn:
    - resource:default/shared-cache
# trailing comment
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: orders-api
spec:
  type: openapi
  lifecycle: production
  owner: payments
  definition: |
    openapi: 3.0.0
"""


ADDED_ANNOTATIONS = """\
    backstage.io/source-location: url:file:///git/orders.git
    backstage.io/kubernetes-id: orders
    grafana/dashboard-selector: tags @> 'roadbed' && (title == 'orders (dev)')
    roadbed.dev/environments: dev
    roadbed.dev/env.dev.id: env-1
    roadbed.dev/env.dev.namespace: orders-dev
    roadbed.dev/env.dev.golden-path-version: 1.2.0
    roadbed.dev/env.dev.resources: postgres:main
    roadbed.dev/environment-id: env-1
    roadbed.dev/golden-path-version: 1.2.0
    backstage.io/kubernetes-namespace: orders-dev"""
ADDED_LINK = """\
  - url: file:///git/orders.git#docs/runbook.md
    title: Runbook
    type: runbook
"""


def roadbed_entities(
    *resources: str, environment: str = "dev", environment_id: str = "env-1", others: tuple[EnvironmentFacts, ...] = ()
) -> list[dict[str, Any]]:
    return render_entities(
        ServiceDescription(
            service="orders", team="payments", environment=environment, environment_id=environment_id, description="Takes orders",
            golden_path="python-service", golden_path_version="1.2.0", component_type="service", repository_url="file:///git/orders.git",
            namespace=f"orders-{environment}", resources={name: ResourceOutputs(type="postgres", name=name, outputs={}) for name in resources},
            others=others,
        )
    )


def merge(text: str, entities: list[dict[str, Any]] | None = None, *, runbook: bool = True) -> Any:
    return merge_catalog_info(text.encode(), entities or roadbed_entities("main"), path=PATH, runbook=runbook)


def test_without_a_file_roadbed_writes_its_own_entities_as_before() -> None:
    entities = roadbed_entities("main")
    merged = merge_catalog_info(None, entities, path=PATH, runbook=False)
    assert merged.changed and merged.text == plain_yaml.dump_all(entities) and merged.entities == entities


def test_template_entity_is_kept_and_only_roadbed_additions_are_inserted() -> None:
    merged = merge(TEMPLATE_FILE)
    component, api, resource = merged.entities
    annotations = component["metadata"]["annotations"]
    assert annotations["example.com/team-channel"] == "#orders"
    assert annotations["backstage.io/source-template"] == "template:default/python-service"  # Roadbed knows what ran
    assert annotations["roadbed.dev/golden-path-version"] == "1.2.0" and annotations["roadbed.dev/environment-id"] == "env-1"
    assert annotations["backstage.io/kubernetes-namespace"] == "orders-dev"
    assert component["metadata"]["title"] == "Orders" and component["metadata"]["tags"] == ["python"]
    assert component["spec"] | {"dependsOn": None} == {
        "type": "service", "lifecycle": "production", "owner": "payments", "system": "shop", "providesApis": ["orders-api"], "dependsOn": None,
    }
    assert component["spec"]["dependsOn"] == ["resource:default/shared-cache", "resource:default/orders-dev-main"]
    assert [link["title"] for link in component["metadata"]["links"]] == ["Dashboard", "Runbook"]
    assert api["kind"] == "API" and resource["metadata"]["name"] == "orders-dev-main"
    # The file: the template's text (comments included) with Roadbed's lines inserted, its Resource appended.
    expected = (
        TEMPLATE_FILE.replace("template:default/something-else", "template:default/python-service\n" + ADDED_ANNOTATIONS)
        .replace("    title: Dashboard\n", "    title: Dashboard\n" + ADDED_LINK)
        .replace("    - resource:default/shared-cache\n", "    - resource:default/shared-cache\n    - resource:default/orders-dev-main\n")
    )
    assert merged.text == expected + "---\n" + plain_yaml.dump(resource)
    assert list(yaml.safe_load_all(merged.text)) == [component, api, resource]


def test_retry_changes_nothing() -> None:
    first = merge(TEMPLATE_FILE)
    again = merge(first.text)
    assert not again.changed and again.text == first.text and again.entities == first.entities


def test_a_second_environment_adds_its_resources_and_keeps_the_first() -> None:
    dev = merge(TEMPLATE_FILE)
    prod = merge(dev.text, roadbed_entities("main", environment="prod", environment_id="env-2", others=tuple(facts_of(dev.entities[0]))))
    component = prod.entities[0]
    assert component["spec"]["dependsOn"][-2:] == ["resource:default/orders-dev-main", "resource:default/orders-prod-main"]
    annotations = component["metadata"]["annotations"]
    assert annotations["roadbed.dev/environment-id"] == "env-2" and annotations["roadbed.dev/environments"] == "prod,dev"
    assert annotations["backstage.io/kubernetes-namespace"] == "orders-prod" and annotations["roadbed.dev/env.dev.id"] == "env-1"
    assert [e["metadata"]["name"] for e in prod.entities] == ["orders", "orders-api", "orders-dev-main", "orders-prod-main"]


def test_a_changed_roadbed_resource_document_is_replaced() -> None:
    first = merge(TEMPLATE_FILE)
    redone = merge(first.text, roadbed_entities("main", environment_id="env-9"))
    documents = list(yaml.safe_load_all(redone.text))
    assert [d["kind"] for d in documents] == ["Component", "API", "Resource"]
    assert documents[2]["metadata"]["annotations"]["roadbed.dev/environment-id"] == "env-9"


def test_template_values_win_where_roadbed_only_supplies_defaults() -> None:
    text = TEMPLATE_FILE.replace("    backstage.io/source-template", "    backstage.io/kubernetes-namespace: shop\n    backstage.io/source-template")
    text = text.replace("    title: Dashboard\n", "    title: Dashboard\n  - url: https://runbooks.example/orders\n    type: runbook\n")
    component = merge(text).entities[0]
    assert component["metadata"]["annotations"]["backstage.io/kubernetes-namespace"] == "shop"
    assert [link["url"] for link in component["metadata"]["links"]] == ["https://dash.example/orders", "https://runbooks.example/orders"]


def test_the_owner_is_the_service_s_team_in_the_template_s_spelling_when_it_agrees() -> None:
    assert merge(TEMPLATE_FILE).entities[0]["spec"]["owner"] == "payments"
    moved = merge(TEMPLATE_FILE.replace("  owner: payments\n  system", "  owner: group:default/platform\n  system"))
    assert moved.entities[0]["spec"]["owner"] == "group:default/payments"
    assert "  owner: group:default/payments\n  system: shop\n" in moved.text


def test_no_runbook_link_when_the_repository_has_no_runbook() -> None:
    component = merge(TEMPLATE_FILE, runbook=False).entities[0]
    assert [link["title"] for link in component["metadata"]["links"]] == ["Dashboard"]


def test_missing_sections_are_added_and_flow_style_falls_back_to_rewriting_the_component_only() -> None:
    bare = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: orders}\nspec:\n  type: service\n  lifecycle: dev\n  owner: payments\n"
    merged = merge(bare + "---\n# the API\napiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: orders-api}\n"
                   "spec: {type: openapi, lifecycle: dev, owner: payments, definition: x}\n")
    assert "# the API\napiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: orders-api}\n" in merged.text
    component = merged.entities[0]
    assert component["spec"]["dependsOn"] == ["resource:default/orders-dev-main"] and component["spec"]["lifecycle"] == "dev"
    assert list(yaml.safe_load_all(merged.text))[0] == component
    assert not merge(merged.text).changed


def test_a_file_without_a_component_gets_roadbed_s() -> None:
    api_only = "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: orders-api\nspec:\n  type: openapi\n  lifecycle: dev\n  owner: payments\n  definition: x\n"
    merged = merge(api_only)
    assert merged.text.startswith(api_only + "---\n")
    assert [e["kind"] for e in merged.entities] == ["Component", "API", "Resource"]
    assert merged.entities[0] == roadbed_entities("main")[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: Component\nmetadata:\n  name: orders\n   title: x\n", "catalog-info.yaml:4: not valid YAML"),
        (TEMPLATE_FILE.replace("  lifecycle: production\n  owner: payments\n  system", "  owner: payments\n  system"),
         "catalog-info.yaml:2: not a valid catalog entity: spec.lifecycle: Field required"),
        (TEMPLATE_FILE.replace("  name: orders\n", "  name: shop-orders\n"),
         "catalog-info.yaml:2: the Component is component:default/shop-orders, but this service registers as component:default/orders"),
        (TEMPLATE_FILE + "---\n" + TEMPLATE_FILE.split("---\n")[1], "catalog-info.yaml:36: api:default/orders-api is already defined at line 25"),
        ("- just\n- a list\n", "catalog-info.yaml:1: not a valid catalog entity: entity: an entity must be an object"),
    ],
)
def test_a_file_roadbed_cannot_merge_fails_naming_file_and_line(text: str, message: str) -> None:
    with pytest.raises(CatalogInfoError) as caught:
        merge(text)
    assert str(caught.value).startswith(message)


def test_not_utf8_fails_clearly() -> None:
    with pytest.raises(CatalogInfoError, match="catalog-info.yaml: not UTF-8"):
        merge_catalog_info(b"\xff\xfe", roadbed_entities(), path=PATH, runbook=False)


def test_catalog_info_path_follows_the_register_and_publish_steps() -> None:
    register = TemplateStep(id="register", action="catalog:register", input={"repoContentsUrl": "${{ steps.publish.output.repoContentsUrl }}",
                                                                              "catalogInfoPath": "/${{ parameters.dir }}/catalog-info.yaml"})
    publish = TemplateStep(id="publish", action="publish:github", input={"sourcePath": "./service"})
    assert catalog_info_path([], {}) == "catalog-info.yaml"
    assert catalog_info_path([register], {"dir": "meta"}) == "meta/catalog-info.yaml"
    assert catalog_info_path([publish, register], {"dir": "meta"}) == "service/meta/catalog-info.yaml"
    with pytest.raises(CatalogInfoError, match="leaves the repository"):
        catalog_info_path([register], {"dir": ".."})
