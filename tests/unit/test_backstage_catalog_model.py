"""Backstage's own validators (@backstage/catalog-model, installed from npm) accept every entity Roadbed registers.

For every golden path the entities are built as the catalog step builds them — the template's catalog-info.yaml
rendered, Roadbed's entities merged into it, `$text` definitions read from the repository, the System — for a first
environment, a second one, and the Component rewritten when one of them is released; with every plugin configured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from roadbed import environment_specs
from roadbed.domain.models import EnvironmentRequest, ResourceOutputs
from roadbed.golden_paths import GoldenPathRegistry, template_parameters
from roadbed.rendering.catalog_entities import CatalogPlugins, inline_definitions, render_entities, render_system
from roadbed.rendering.catalog_environments import describe, facts_of
from roadbed.rendering.catalog_merge import RUNBOOK_PATH, catalog_info_path, merge_catalog_info
from roadbed.rendering.skeleton import render_repository
from roadbed.settings import load_settings
from tests.catalog_model import REFERENCE, backstage_problems

GOLDEN_PATHS = ["python-service", "node-service", "worker"]
PLUGINS = CatalogPlugins(github_org="acme", argocd=True, grafana_url="https://grafana.example", pagerduty_service_ids={"orders": "PABC123"},
                         sonarqube=True)


@pytest.fixture(scope="module")
def registry() -> GoldenPathRegistry:
    return GoldenPathRegistry(load_settings(home=Path("/nonexistent")).golden_path_dirs)


def registered(registry: GoldenPathRegistry, golden_path: str, environment: str, existing: bytes | None, others: list[Any],
               parameters: dict[str, Any]) -> tuple[list[dict[str, Any]], bytes]:
    """What the catalog step registers for this environment, and the repository's catalog file afterwards."""
    path_ = registry.get(golden_path)
    request = EnvironmentRequest(service="orders", team="payments", golden_path=golden_path, environment=environment, parameters=parameters,
                                 resources=[{"type": "postgres", "name": "main"}, {"type": "redis", "name": "cache"}])
    values = template_parameters(path_, request.parameters, request.service, request.team, request.environment)
    files = render_repository(path_, values)
    path = catalog_info_path(path_.steps, values)
    description = environment_specs.service_description(
        request, path_, environment_id=f"env-{environment}-1", golden_path_version=path_.version, repository_url="https://github.com/acme/orders",
        resources={name: ResourceOutputs(type=kind, name=name, outputs={"host": "h"}) for kind, name in (("postgres", "main"), ("redis", "cache"))},
        others=others, plugins=PLUGINS, catalog_path=path,
    )
    current = existing if existing is not None else files.get(path)
    merged = merge_catalog_info(current, render_entities(description), path=path, runbook=RUNBOOK_PATH in files)
    entities = inline_definitions(merged.entities, lambda ref: files[ref.removeprefix("./")].decode() if ref.removeprefix("./") in files else None)
    system = render_system(description)
    return entities + ([system] if system else []), merged.text.encode()


@pytest.mark.parametrize("golden_path", GOLDEN_PATHS)
@pytest.mark.parametrize("parameters", [{}, {"system": "shop"}], ids=["no-system", "system"])
def test_backstage_accepts_every_entity_roadbed_registers(registry: GoldenPathRegistry, golden_path: str, parameters: dict[str, Any]) -> None:
    dev, file = registered(registry, golden_path, "dev", None, [], parameters)
    prod, _ = registered(registry, golden_path, "prod", file, facts_of(dev[0]), parameters)
    component = prod[0]
    left = [fact for fact in facts_of(component) if fact.environment == "dev"]
    released = describe(component, left, service="orders", dropped=[fact for fact in facts_of(component) if fact.environment == "prod"])
    everything = [*dev, *prod, released]
    kinds = {entity["kind"] for entity in everything}
    assert {"Component", "Resource"} <= kinds
    assert ("API" in kinds) == (golden_path != "worker") and ("System" in kinds) == bool(parameters)
    assert backstage_problems(everything) == {}
    assert component["spec"]["lifecycle"] == "production" and released["spec"]["lifecycle"] == "experimental"
    if golden_path != "worker":
        api = next(entity for entity in prod if entity["kind"] == "API")
        assert api["spec"]["definition"].startswith("# The service's HTTP API") and component["spec"]["providesApis"] == ["api:default/orders"]


def test_the_validators_refuse_what_backstage_refuses() -> None:
    """The harness really validates: an annotation key outside Backstage's rules, a Component without a lifecycle."""
    bad_key = {"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
               "metadata": {"name": "orders", "annotations": {"roadbed.dev/env.dev/namespace": "x"}},
               "spec": {"type": "service", "lifecycle": "experimental", "owner": "payments"}}
    no_lifecycle = {"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "billing"},
                    "spec": {"type": "service", "owner": "payments"}}
    placeholder = {"apiVersion": "backstage.io/v1alpha1", "kind": "API", "metadata": {"name": "orders"},
                   "spec": {"type": "openapi", "lifecycle": "experimental", "owner": "payments", "definition": {"$text": "./openapi.yaml"}}}
    problems = backstage_problems([bad_key, no_lifecycle, placeholder])
    assert set(problems) == {"Component:default/orders", "Component:default/billing", "API:default/orders"}


def test_the_harness_pins_catalog_model() -> None:
    import json

    lock = json.loads((REFERENCE / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/@backstage/catalog-model"]["version"] == "1.10.3"
