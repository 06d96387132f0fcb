"""The delivery loop on the GitHub target: provisioning hands the generated pipeline Roadbed's URL, the registry and
a deployer token through the (fake) GitHub API; retries and a second environment reuse the one token; the undo of a
failed first provisioning and the decommission of the last environment revoke it. The token never reaches a log or
a step's recorded detail."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.client import Client

from roadbed.auth import authenticate
from roadbed.domain.models import ProvisionResult, Role
from roadbed.lifecycle import EnvironmentLifecycle
from roadbed.settings import Settings, load_settings
from roadbed.storage.database import Database
from roadbed.storage.tables import ApiTokenRow
from roadbed.submission import EnvironmentSubmitter
from tests.fakes.github import FakeGitHub
from tests.workflows.test_provision import request_body
from tests.workflows.test_saga import StartWorker, snapshot

pytestmark = pytest.mark.asyncio(loop_scope="session")
TOKEN = "ghp_delivery_loop_token_never_logged"
ROADBED_URL = "https://roadbed.example.com"
REGISTRY = "ghcr.io/acme"


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    fake = FakeGitHub(tmp_path / "github", token=TOKEN, orgs=("acme",)).start()
    yield fake
    fake.stop()
    assert fake.errors == [], "the fake itself failed:\n" + "\n".join(fake.errors)


@pytest.fixture
def settings(tmp_path: Path, github: FakeGitHub) -> Settings:
    return load_settings(
        home=tmp_path / "home",
        task_queue=f"roadbed-{tmp_path.name}",
        repo_host="github",
        github_url=github.url,
        github_token=TOKEN,
        github_org="acme",
        github_seconds_between_requests=0,
        github_seconds_between_writes=0,
        api_url=ROADBED_URL,
        image_registry=REGISTRY,
    )


def deploy_tokens(database: Database, service: str) -> list[ApiTokenRow]:
    with database.transaction() as session:
        return list(session.scalars(select(ApiTokenRow).where(ApiTokenRow.role == Role.DEPLOYER, ApiTokenRow.service == service)))


def recorded_details(database: Database, environment_id: str) -> str:
    return "\n".join(str(step.detail) for step in snapshot(database, environment_id)[1])


async def provision(submitter: EnvironmentSubmitter, client: Client, body: dict[str, object]) -> tuple[str, ProvisionResult]:
    row, _ = await submitter.submit(body)
    return row.id, await client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()


async def test_the_pipeline_gets_its_variables_and_one_deploy_token_for_its_life(
    start_worker: StartWorker, submitter: EnvironmentSubmitter, client: Client, database: Database, settings: Settings,
    github: FakeGitHub, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # The first secret write lands but its answer is lost: the step is retried and must set the same token again.
    github.fail_next("PUT", r"/repos/acme/orders/actions/secrets/ROADBED_DEPLOY_TOKEN$", 0, after=True)
    async with start_worker():
        dev_id, dev = await provision(submitter, client, request_body("orders", resources=[]))
        assert dev.status == "SUCCEEDED", dev.error
        assert github.variables("acme", "orders") == {"ROADBED_URL": ROADBED_URL, "ROADBED_IMAGE_REGISTRY": REGISTRY}
        secret = github.secret("acme", "orders", "ROADBED_DEPLOY_TOKEN")
        assert secret is not None and secret.startswith("rbd_")
        puts = [r for r in github.requests if r.method == "PUT" and r.path.endswith("/actions/secrets/ROADBED_DEPLOY_TOKEN")]
        assert len(puts) == 2, puts  # the lost answer, then the retry
        principal = authenticate(database, secret, deploy_tokens=True)
        assert principal is not None and principal.role is Role.DEPLOYER and principal.service == "orders" and principal.teams == ()
        assert [t.revoked_at for t in deploy_tokens(database, "orders")] == [None]  # the retry minted no second token

        # The service's next environment adopts the repository and hands over the same token.
        staging_id, staging = await provision(submitter, client, request_body("orders", resources=[], environment="staging"))
        assert staging.status == "SUCCEEDED", staging.error
        assert github.secret("acme", "orders", "ROADBED_DEPLOY_TOKEN") == secret
        assert len(deploy_tokens(database, "orders")) == 1

        lifecycle = EnvironmentLifecycle(database, client, settings.task_queue)
        await client.get_workflow_handle(await lifecycle.decommission(snapshot(database, staging_id)[0], "test", purge=False)).result()
        assert authenticate(database, secret, deploy_tokens=True) is not None  # dev still deploys from the repository
        await client.get_workflow_handle(await lifecycle.decommission(snapshot(database, dev_id)[0], "test", purge=False)).result()
    assert snapshot(database, dev_id)[0].status == "DECOMMISSIONED"
    assert authenticate(database, secret, deploy_tokens=True) is None  # the last environment took the token with it
    assert [t.sealed_token for t in deploy_tokens(database, "orders")] == [None]  # nothing left to set again
    assert "revoked deployer token" in recorded_details(database, dev_id)

    for where in (caplog.text, recorded_details(database, dev_id), recorded_details(database, staging_id)):
        assert secret not in where and TOKEN not in where
    assert "deployer token tok_" in recorded_details(database, dev_id)


async def test_a_failed_first_provisioning_revokes_the_token_it_minted(
    start_worker: StartWorker, submitter: EnvironmentSubmitter, client: Client, database: Database, github: FakeGitHub,
) -> None:
    async with start_worker("catalog:permanent"):
        _id, result = await provision(submitter, client, request_body("billing", resources=[]))
    assert result.status == "COMPENSATED"
    minted = deploy_tokens(database, "billing")
    assert len(minted) == 1 and minted[0].revoked_at is not None and minted[0].sealed_token is None
    assert "billing" not in {repo.name for repo in github.repositories.values()}  # the repository went with it
