"""The `github` and `cluster` targets end to end: real PyGithub and kubernetes clients against the fakes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client

from roadbed.domain.models import ProvisionResult
from roadbed.domain.specs import DEFAULT_BOOTSTRAP_IMAGE
from roadbed.lifecycle import EnvironmentLifecycle
from roadbed.settings import Settings, load_settings
from roadbed.storage.database import Database
from roadbed.submission import EnvironmentSubmitter
from tests.fakes.backstage import FakeBackstage
from tests.fakes.github import FakeGitHub
from tests.fakes.kubernetes import FakeKubernetes
from tests.workflows.test_provision import request_body
from tests.workflows.test_saga import StartWorker, doctor, snapshot

pytestmark = pytest.mark.asyncio(loop_scope="session")
TOKEN = "ghp_real_targets_token_never_logged"


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    fake = FakeGitHub(tmp_path / "github", token=TOKEN, orgs=("acme",)).start()
    yield fake
    fake.stop()


@pytest.fixture
def cluster() -> Iterator[FakeKubernetes]:
    fake = FakeKubernetes(images=[DEFAULT_BOOTSTRAP_IMAGE]).start()  # provisioning runs the public bootstrap image
    yield fake
    fake.stop()


@pytest.fixture
def backstage() -> Iterator[FakeBackstage]:
    fake = FakeBackstage().start()
    yield fake
    fake.stop()


@pytest.fixture
def settings(tmp_path: Path, github: FakeGitHub, cluster: FakeKubernetes, backstage: FakeBackstage) -> Settings:
    return load_settings(
        backstage_url=backstage.url,
        backstage_token=backstage.token,
        home=tmp_path / "home",
        task_queue=f"roadbed-{tmp_path.name}",
        repo_host="github",
        github_url=github.url,
        github_token=TOKEN,
        github_org="acme",
        github_seconds_between_requests=0,
        github_seconds_between_writes=0,
        kubernetes_target="cluster",
        kubernetes_kubeconfig=cluster.write_kubeconfig(tmp_path / "kubeconfig"),
        kubernetes_poll_interval_seconds=0.05,
        kubernetes_removal_timeout_seconds=0,
    )


def live_repositories(github: FakeGitHub) -> list[str]:
    return sorted(repo.name for repo in github.repositories.values() if not repo.archived)


async def test_provision_compensate_and_decommission_on_real_targets(
    start_worker: StartWorker, submitter: EnvironmentSubmitter, client: Client, database: Database, settings: Settings,
    github: FakeGitHub, cluster: FakeKubernetes, backstage: FakeBackstage,
) -> None:
    assert settings.describe_targets()["repo host"].startswith("github")
    async with start_worker():
        row, _ = await submitter.submit(request_body())
        result = await client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()
    assert result.status == "SUCCEEDED", result.error
    assert live_repositories(github) == ["orders"]
    assert github.branch_sha("acme", "orders") is not None
    assert result.outputs.gitops_path and result.outputs.gitops_path.startswith("cluster://")
    assert {o["metadata"]["name"] for o in cluster.objects("deployments", "orders-dev")} == {"orders"}
    assert cluster.object("namespaces", "orders-dev") is not None
    assert cluster.object("prometheusrules", "orders-slo", "orders-dev") is not None
    repository = (result.outputs.repository_url or "").removesuffix(".git")
    assert [loc["target"] for loc in backstage.locations.values()] == [f"{repository}/blob/main/catalog-info.yaml"]
    assert doctor(settings, database) == []
    assert not any(TOKEN in (r.path or "") for r in github.requests)

    # A fault at the last step compensates everything, leaving nothing on either fake.
    async with start_worker("catalog:permanent"):
        failed, _ = await submitter.submit(request_body("billing"))
        compensated = await client.get_workflow_handle(failed.workflow_id, result_type=ProvisionResult).result()
    assert compensated.status == "COMPENSATED"
    assert len(backstage.locations) == 1  # billing's location came and went; orders' stays
    assert live_repositories(github) == ["orders"]
    assert cluster.object("namespaces", "billing-dev") is None and cluster.objects("deployments", "billing-dev") == []

    # Decommission archives the repository and removes the namespace.
    async with start_worker():
        workflow_id = await EnvironmentLifecycle(database, client, settings.task_queue).decommission(snapshot(database, row.id)[0], "test", purge=False)
        await client.get_workflow_handle(workflow_id).result()
    assert snapshot(database, row.id)[0].status == "DECOMMISSIONED"
    assert live_repositories(github) == []
    assert [repo.name for repo in github.repositories.values() if repo.archived][0].startswith("orders-archived-")
    assert cluster.object("namespaces", "orders-dev") is None
    assert backstage.locations == {}
    assert doctor(settings, database) == []
