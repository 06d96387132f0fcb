"""ProvisionEnvironmentWorkflow against a real Temporal dev server and the embedded adapters."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from temporalio.client import Client

from bench.harness import request
from roadbed.domain.models import ProvisionResult
from roadbed.settings import Settings
from roadbed.storage import catalog, environments
from roadbed.storage.database import Database
from roadbed.submission import EnvironmentSubmitter

pytestmark = pytest.mark.asyncio(loop_scope="session")


def request_body(service: str = "orders", **extra: object) -> dict[str, object]:
    return request(service) | {"parameters": {"description": "Order intake"}} | extra


async def test_provisions_all_six_steps(worker: None, submitter: EnvironmentSubmitter, client: Client, database: Database, settings: Settings, tmp_path: Path) -> None:
    row, created = await submitter.submit(request_body())
    assert created
    result = await client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()

    assert result.status == "SUCCEEDED", result.error
    with database.transaction() as session:
        stored = environments.get_environment(session, row.id)
        steps = environments.steps_of(session, row.id)
        component = catalog.get_entity(session, "component", "default", "orders")
        resource = catalog.get_entity(session, "resource", "default", "orders-dev-main")
    assert stored.status == "SUCCEEDED" and stored.finished_at is not None
    assert [(s.name, s.status, s.attempts) for s in steps] == [
        (name, "succeeded", 1) for name in ("validate", "repository", "infrastructure", "kubernetes", "monitoring", "catalog")
    ]
    assert all(s.started_at and s.finished_at and s.started_at <= s.finished_at for s in steps)
    outputs = stored.outputs
    assert outputs["kubernetes_namespace"] == "orders-dev"
    assert outputs["catalog_ref"] == "component:default/orders"
    postgres = outputs["resources"]["main"]["outputs"]
    assert postgres["host"] == "orders-main.orders-dev.svc.cluster.local" and postgres["port"] == 5432
    assert postgres["secret_ref"] == "orders-main-postgres"
    assert component.body["spec"]["owner"] == "group:default/payments"
    assert component.body["spec"]["dependsOn"] == ["resource:default/orders-dev-main"]
    assert resource.body["spec"]["type"] == "postgres"

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", outputs["repository_url"], str(clone)], check=True)
    documents = list(yaml.safe_load_all((clone / "catalog-info.yaml").read_text()))
    assert documents[0]["metadata"]["name"] == "orders"
    assert documents[0]["spec"]["owner"] == "group:default/payments"
    assert (clone / "monitoring/dev/prometheus-rules.yaml").exists()
    assert (clone / "app/main.py").exists() and (clone / "docs/runbook.md").exists()
    state = json.loads((settings.terraform_dir / row.id / "terraform.tfstate").read_text())
    assert {r["module"] for r in state["resources"]} == {"module.postgres_main"}

    gitops = tmp_path / "gitops"
    subprocess.run(["git", "clone", "-q", (settings.git_dir / "repos/gitops.git").as_uri(), str(gitops)], check=True)
    kinds = [yaml.safe_load(p.read_text())["kind"] for p in sorted((gitops / "clusters/local/orders-dev").iterdir())]
    assert kinds == ["Namespace", "ConfigMap", "Deployment", "Service"]
    deployment = yaml.safe_load((gitops / "clusters/local/orders-dev/02-deployment.yaml").read_text())
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "POSTGRES_MAIN_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "orders-main-postgres", "key": "password", "optional": True}}}]
    assert (gitops / "argocd/orders-dev.yaml").exists()


async def test_progress_query_and_search_attributes(worker: None, submitter: EnvironmentSubmitter, client: Client) -> None:
    row, _ = await submitter.submit(request_body("billing", resources=[]))
    handle = client.get_workflow_handle(row.workflow_id)
    await handle.result()
    progress = await handle.query("progress")
    assert progress["status"] == "SUCCEEDED"
    assert [s["status"] for s in progress["steps"]] == ["succeeded"] * 6
    description = await handle.describe()
    assert description.typed_search_attributes.get(__import__("roadbed.temporal", fromlist=["x"]).SEARCH_SERVICE) == "billing"
