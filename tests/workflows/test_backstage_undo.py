"""Undo of the Backstage location is idempotent: a retry after a failed DELETE still removes it, although
Roadbed's own catalog rows were released by the first attempt; `roadbed doctor` lists a location no live
environment owns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from roadbed.domain.models import ProvisionResult
from roadbed.lifecycle import EnvironmentLifecycle
from roadbed.settings import Settings, load_settings
from roadbed.storage.database import Database
from roadbed.submission import EnvironmentSubmitter
from tests.fakes.backstage import FakeBackstage
from tests.workflows.test_provision import request_body
from tests.workflows.test_saga import StartWorker, doctor, snapshot

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def backstage() -> Iterator[FakeBackstage]:
    fake = FakeBackstage().start()
    yield fake
    fake.stop()


@pytest.fixture
def settings(tmp_path: Path, backstage: FakeBackstage) -> Settings:
    return load_settings(home=tmp_path / "home", task_queue=f"roadbed-{tmp_path.name}", backstage_url=backstage.url, backstage_token=backstage.token)


def register_by_hand(backstage: FakeBackstage, target: str) -> None:
    response = httpx.post(f"{backstage.url}/api/catalog/locations", json={"type": "url", "target": target}, headers={"Authorization": f"Bearer {backstage.token}"})
    assert response.status_code == 201, response.text


async def test_decommission_retries_the_location_removal_until_backstage_lets_go(
    start_worker: StartWorker, submitter: EnvironmentSubmitter, client: Client, database: Database, settings: Settings, backstage: FakeBackstage
) -> None:
    async with start_worker():
        row, _ = await submitter.submit(request_body(resources=[]))
        result = await client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()
        assert result.status == "SUCCEEDED", result.error
        target = (result.outputs.repository_url or "").removesuffix(".git") + "/blob/main/catalog-info.yaml"
        assert [loc["target"] for loc in backstage.locations.values()] == [target]
        assert doctor(settings, database) == []

        backstage.fail_next("DELETE", 503)  # the first removal fails after Roadbed's rows are already released
        workflow_id = await EnvironmentLifecycle(database, client, settings.task_queue).decommission(snapshot(database, row.id)[0], "test", purge=True)
        await client.get_workflow_handle(workflow_id).result()
    decommissioned, steps = snapshot(database, row.id)
    assert decommissioned.status == "DECOMMISSIONED"
    assert backstage.locations == {}
    assert backstage._faults == {"DELETE": []}  # the injected failure was hit: the location went on the retry
    assert doctor(settings, database) == []

    # A location left behind (say, by an older Roadbed) is listed; one of a repository Roadbed never made is not ours.
    register_by_hand(backstage, target)
    register_by_hand(backstage, "https://github.example/someone/else/blob/main/catalog-info.yaml")
    assert doctor(settings, database) == [f"orphan   backstage  {target}  (location of no live environment)"]
