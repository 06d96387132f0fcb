"""The service's Component tells the truth at every stage: prod provisioned, dev added, prod decommissioned, dev too.

Real Temporal test server, the embedded targets (local git, GitOps repository, Roadbed's catalog); the plugin
annotations are checked against the objects Roadbed wrote (the Argo CD Application, the Deployment's labels), and
every stored entity against Backstage's own validators.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import yaml
from temporalio.client import Client

from roadbed.adapters.gitops import environment_path
from roadbed.domain.models import ProvisionResult
from roadbed.lifecycle import EnvironmentLifecycle
from roadbed.settings import Settings
from roadbed.storage import catalog, environments
from roadbed.storage.database import Database
from roadbed.submission import EnvironmentSubmitter
from roadbed.worker import build_ports
from tests.catalog_model import backstage_problems

pytestmark = pytest.mark.asyncio(loop_scope="session")


def body(environment: str) -> dict[str, object]:
    return {"service": "orders", "team": "payments", "golden_path": "python-service", "environment": environment,
            "parameters": {"description": "Order intake", "system": "shop"}, "resources": [{"type": "postgres", "name": "main"}]}


def stored(database: Database) -> dict[str, Any]:
    """Every catalog row: ref -> (body, environment id)."""
    with database.transaction() as session:
        return {row.ref: (row.body, row.environment_id) for row in catalog.list_entities(session)}


def repository_file(settings: Settings, database: Database, repository: str, path: str) -> Any:
    content = build_ports(settings, database).repo_host.read_file(repository, path)
    assert content is not None, path
    return list(yaml.safe_load_all(content))


async def provision(submitter: EnvironmentSubmitter, client: Client, lifecycle: EnvironmentLifecycle, environment: str) -> str:
    row, _ = await submitter.submit(body(environment))
    if row.status == "PENDING_APPROVAL":
        await lifecycle.approve(row, "lead", "ship it")
    result = await client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()
    assert result.status == "SUCCEEDED", result.error
    return row.id


async def decommission(client: Client, lifecycle: EnvironmentLifecycle, environment_id: str) -> None:
    workflow_id = await lifecycle.decommission(await lifecycle.load(environment_id), "lead", purge=False)
    await client.get_workflow_handle(workflow_id).result()
    assert (await lifecycle.load(environment_id)).status == "DECOMMISSIONED"


def check_component(settings: Settings, database: Database, live: dict[str, str], lifecycle_value: str) -> dict[str, Any]:
    """The Component describes exactly the `live` environments (name -> id), most important first."""
    rows = stored(database)
    component, owner_environment = rows["component:default/orders"]
    annotations = component["metadata"]["annotations"]
    order = [name for name in ("prod", "staging", "dev") if name in live]
    main = order[0]
    assert annotations["roadbed.dev/environments"] == ",".join(order)
    assert {key for key in annotations if key.startswith("roadbed.dev/env.")} == {
        f"roadbed.dev/env.{name}.{fact}" for name in live for fact in ("id", "namespace", "golden-path-version", "resources")
    }
    for name, environment_id in live.items():
        assert annotations[f"roadbed.dev/env.{name}.id"] == environment_id
        assert annotations[f"roadbed.dev/env.{name}.namespace"] == f"orders-{name}"
        assert annotations[f"roadbed.dev/env.{name}.resources"] == "postgres:main"
    assert component["spec"]["lifecycle"] == lifecycle_value
    assert annotations["backstage.io/kubernetes-namespace"] == f"orders-{main}" and annotations["roadbed.dev/environment-id"] == live[main]
    assert owner_environment in live.values()  # held by one of them (the last to register, or the heir of a release)
    assert sorted(component["spec"]["dependsOn"]) == sorted(f"resource:default/orders-{name}-main" for name in live)
    assert {ref for ref in rows if ref.startswith("resource:")} == {f"resource:default/orders-{name}-main" for name in live}
    # the plugins find what Roadbed wrote: the Argo CD Application and the Deployment's label
    application = repository_file(settings, database, "gitops", f"argocd/orders-{main}.yaml")[0]
    assert annotations["argocd/app-name"] == application["metadata"]["name"]
    assert application["metadata"]["labels"]["backstage.io/kubernetes-id"] == annotations["backstage.io/kubernetes-id"] == "orders"
    assert annotations["grafana/dashboard-selector"] == "tags @> 'roadbed' && (" + " || ".join(f"title == 'orders ({n})'" for n in order) + ")"
    assert component["spec"]["providesApis"] == ["api:default/orders"] and component["spec"]["system"] == "shop"
    assert backstage_problems([entity for entity, _ in rows.values()]) == {}
    return component


async def test_component_is_true_through_prod_dev_and_their_decommissions(
    worker: None, submitter: EnvironmentSubmitter, client: Client, database: Database, settings: Settings
) -> None:
    lifecycle = EnvironmentLifecycle(database, client, settings.task_queue)
    prod = await provision(submitter, client, lifecycle, "prod")
    check_component(settings, database, {"prod": prod}, "production")

    dev = await provision(submitter, client, lifecycle, "dev")  # the last to run, yet prod stays the main environment
    component = check_component(settings, database, {"prod": prod, "dev": dev}, "production")
    directory = environment_path("orders-dev")
    paths = [p for p in build_ports(settings, database).repo_host.list_files("gitops") if p.startswith(directory + "/")]
    objects = [repository_file(settings, database, "gitops", path)[0] for path in paths]
    assert "Deployment" in {o["kind"] for o in objects}  # every object the Kubernetes plugin lists carries the entity's id
    assert {o["metadata"]["labels"]["backstage.io/kubernetes-id"] for o in objects} == {component["metadata"]["annotations"]["backstage.io/kubernetes-id"]}
    file_component = repository_file(settings, database, "orders", "catalog-info.yaml")[0]  # the repository's file says the same
    assert {k: v for k, v in file_component["metadata"]["annotations"].items() if k.startswith(("roadbed.dev/", "backstage.io/kubernetes"))} == {
        k: v for k, v in component["metadata"]["annotations"].items() if k.startswith(("roadbed.dev/", "backstage.io/kubernetes"))
    }
    assert file_component["spec"]["lifecycle"] == "production"
    api, _ = stored(database)["api:default/orders"]
    assert api["spec"]["definition"] == build_ports(settings, database).repo_host.read_file("orders", "openapi.yaml").decode()

    await decommission(client, lifecycle, prod)
    component = check_component(settings, database, {"dev": dev}, "experimental")
    with database.transaction() as session:
        undo = {step.name: step for step in environments.steps_of(session, prod)}["catalog"]
    assert undo.detail == "unregistered entities; the Component now describes dev", undo.detail
    assert "orders-prod" not in str(component)
    assert stored(database)["api:default/orders"][1] == dev  # the API passed to dev with the Component

    await decommission(client, lifecycle, dev)
    rows = stored(database)
    assert set(rows) == {"system:default/shop"}  # the last environment took the Component, API and Resources along
    assert rows["system:default/shop"][0]["spec"]["owner"] == "group:default/payments" and rows["system:default/shop"][1] is None
    with database.transaction() as session:
        assert [row.status for row in environments.list_environments(session, service="orders")] == ["DECOMMISSIONED", "DECOMMISSIONED"]
    await asyncio.sleep(0)
