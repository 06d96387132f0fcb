"""DeployServiceWorkflow: a version rolls out and is recorded; a failed rollout is rolled back and is a failed change."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from sqlalchemy import select
from temporalio.client import Client

from roadbed.deployments import Deployments
from roadbed.domain.models import DeployResult, ProvisionResult
from roadbed.metrics.dora import DoraScope, dora_report
from roadbed.settings import Settings
from roadbed.storage.database import Database
from roadbed.storage.tables import DeploymentRow
from roadbed.submission import EnvironmentSubmitter
from tests.workflows.test_provision import request_body
from tests.workflows.test_saga import StartWorker, snapshot

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def deploy(client: Client, database: Database, settings: Settings, version: str, sha: str) -> DeployResult:
    deployments = Deployments(database, client, settings.task_queue)
    row = await deployments.target("orders", "prod")
    deployment_id = await deployments.start(row, version, sha, datetime.now(UTC) - timedelta(hours=2))
    return await client.get_workflow_handle(f"deploy/orders/prod/{deployment_id}", result_type=DeployResult).result()


def gitops_image(settings: Settings) -> str:
    manifest = subprocess.run(
        ["git", "--git-dir", str(settings.git_dir / "repos/gitops.git"), "show", "main:clusters/local/orders-prod/02-deployment.yaml"],
        capture_output=True, text=True, check=True,
    ).stdout
    return yaml.safe_load(manifest)["spec"]["template"]["spec"]["containers"][0]["image"]


async def test_deploy_then_failed_rollout_is_rolled_back(
    start_worker: StartWorker, submitter: EnvironmentSubmitter, client: Client, database: Database, settings: Settings
) -> None:
    submitter.approval_environments = set()  # prod without the approval gate, to keep this test about deployments
    async with start_worker():
        row, _ = await submitter.submit(request_body(environment="prod"))
        assert (await client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()).status == "SUCCEEDED"
        good = await deploy(client, database, settings, "1.1.0", "a1b2c3d4")
    assert good.status == "success" and good.running_version == "1.1.0"
    assert gitops_image(settings) == "registry.local/orders:1.1.0"
    assert snapshot(database, row.id)[0].outputs["deployed_version"] == "1.1.0"

    async with start_worker("kubernetes:permanent"):
        bad = await deploy(client, database, settings, "1.2.0", "e5f6a7b8")
    assert bad.status == "rolled_back" and bad.running_version == "1.1.0"
    assert bad.error is not None and bad.error.error_class == "InjectedPermanentFault"
    assert gitops_image(settings) == "registry.local/orders:1.1.0"

    with database.transaction() as session:
        rows = list(session.scalars(select(DeploymentRow).order_by(DeploymentRow.deployed_at)))
        report = dora_report(session, DoraScope(service="orders", environment="prod", window_days=30), now=datetime.now(UTC) + timedelta(minutes=1))
    assert [(r.version, r.status, r.commit_sha, r.source) for r in rows] == [("1.1.0", "success", "a1b2c3d4", "roadbed"), ("1.2.0", "rolled_back", "e5f6a7b8", "roadbed")]
    assert all(r.started_at and r.started_at <= r.deployed_at and r.commit_time for r in rows)
    assert report["change_failure_rate"]["value"] == 0.5
