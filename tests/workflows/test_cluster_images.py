"""Provisioning and deployments on the `cluster` target, against a fake cluster that pulls only published images.

Provisioning runs the golden path's bootstrap image (public, so always pullable); `roadbed deploy`
rolls out `<ROADBED_IMAGE_REGISTRY>/<service>:<version>`, which becomes available only once the
service's CI has published it — before that the rollout times out and is rolled back to the bootstrap.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.client import Client

from roadbed.deployments import Deployments
from roadbed.domain.errors import InvalidRequest
from roadbed.domain.models import DeployResult, ProvisionResult
from roadbed.domain.specs import DEFAULT_BOOTSTRAP_IMAGE
from roadbed.settings import Settings, load_settings
from roadbed.storage.database import Database
from roadbed.submission import EnvironmentSubmitter
from tests.fakes.kubernetes import FakeKubernetes
from tests.workflows.test_provision import request_body
from tests.workflows.test_saga import StartWorker

pytestmark = pytest.mark.asyncio(loop_scope="session")
REGISTRY = "ghcr.io/acme"


@pytest.fixture
def cluster() -> Iterator[FakeKubernetes]:
    with FakeKubernetes(images=[DEFAULT_BOOTSTRAP_IMAGE]) as fake:  # the public bootstrap image is pullable; nothing of the service is yet
        yield fake


@pytest.fixture
def settings(tmp_path: Path, cluster: FakeKubernetes) -> Settings:
    return load_settings(
        home=tmp_path / "home",
        task_queue=f"roadbed-{tmp_path.name}",
        kubernetes_target="cluster",
        kubernetes_kubeconfig=cluster.write_kubeconfig(tmp_path / "kubeconfig"),
        kubernetes_poll_interval_seconds=0.05,
        kubernetes_rollout_timeout_seconds=1.0,
        kubernetes_removal_timeout_seconds=0,
        image_registry=REGISTRY,
    )


def running_image(cluster: FakeKubernetes) -> str:
    deployment = cluster.object("deployments", "orders", "orders-dev") or {}
    return str(deployment["spec"]["template"]["spec"]["containers"][0]["image"])


async def deploy(client: Client, database: Database, settings: Settings, version: str) -> DeployResult:
    deployments = Deployments(database, client, settings.task_queue)
    row = await deployments.target("orders", "dev")
    deployment_id = await deployments.start(row, version, "a1b2c3d4", datetime.now(UTC))
    return await client.get_workflow_handle(f"deploy/orders/dev/{deployment_id}", result_type=DeployResult).result()


async def test_bootstrap_then_a_deploy_that_is_ready_only_once_its_image_is_published(
    start_worker: StartWorker, submitter: EnvironmentSubmitter, client: Client, database: Database, settings: Settings, cluster: FakeKubernetes
) -> None:
    async with start_worker():
        row, _ = await submitter.submit(request_body(resources=[]))
        provisioned = await client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()
        assert provisioned.status == "SUCCEEDED", provisioned.error
        assert running_image(cluster) == DEFAULT_BOOTSTRAP_IMAGE
        assert (cluster.object("deployments", "orders", "orders-dev") or {})["status"]["availableReplicas"] == 2

        unpublished = await deploy(client, database, settings, "1.1.0")
        assert unpublished.status == "rolled_back" and unpublished.running_version == "bootstrap"
        assert unpublished.error is not None and "did not complete" in unpublished.error.message
        assert running_image(cluster) == DEFAULT_BOOTSTRAP_IMAGE

        cluster.publish_image(f"{REGISTRY}/orders:1.1.0")  # the service's CI pushed its image
        published = await deploy(client, database, settings, "1.1.0")
        assert published.status == "success" and published.running_version == "1.1.0"
        assert running_image(cluster) == f"{REGISTRY}/orders:1.1.0"

        with pytest.raises(InvalidRequest, match="reserved"):
            await deploy(client, database, settings, "bootstrap")
