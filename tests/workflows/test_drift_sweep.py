"""The scheduled drift sweep: `DriftSweepWorkflow` pages over the live environments and checks each under a
concurrency cap on the Terraform queue; the `roadbed-drift` Schedule is created, updated and removed idempotently."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio.client import Client, ScheduleActionStartWorkflow

from bench.harness import request
from roadbed.adapters.local_git import LocalGitRepoHost
from roadbed.domain.models import ProvisionResult
from roadbed.drift.contracts import DRIFT_SCHEDULE_ID, DRIFT_SWEEP_WORKFLOW, SweepInput, SweepResult
from roadbed.drift.schedule import ensure_drift_schedule
from roadbed.drift.store import view_of
from roadbed.settings import Settings
from roadbed.storage.database import Database
from roadbed.submission import EnvironmentSubmitter

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_sweep_checks_every_live_environment_page_by_page(
    worker: None, submitter: EnvironmentSubmitter, client: Client, settings: Settings, database: Database
) -> None:
    ids = []
    for service in ("alpha", "bravo", "charlie"):
        row, _ = await submitter.submit(request(service) | {"parameters": {"description": "sweep"}})
        assert (await client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()).status == "SUCCEEDED"
        ids.append(row.id)
    LocalGitRepoHost(settings.git_dir / "repos").commit_files("bravo", {"monitoring/dev/slo.yaml": None}, "drop the SLO")

    result = await client.execute_workflow(
        DRIFT_SWEEP_WORKFLOW, SweepInput(max_concurrent=2, check_queue=settings.resolved_terraform_task_queue, page_size=2),
        id=f"drift-{uuid.uuid4()}", task_queue=settings.task_queue, result_type=SweepResult, execution_timeout=timedelta(minutes=5),
    )
    assert result.checked == 3
    with database.transaction() as session:
        statuses = {environment_id: view_of(session, environment_id)["status"] for environment_id in ids}
    assert statuses == {ids[0]: "in_sync", ids[1]: "drifted", ids[2]: "in_sync"}


async def test_the_schedule_is_created_updated_and_removed_idempotently(client: Client, settings: Settings) -> None:
    hourly = settings.model_copy(update={"drift_max_concurrent": 3})
    assert await ensure_drift_schedule(client, hourly) == "created"
    assert await ensure_drift_schedule(client, hourly.model_copy(update={"drift_interval": "30m"})) == "updated"
    description = await client.get_schedule_handle(DRIFT_SCHEDULE_ID).describe()
    assert [i.every for i in description.schedule.spec.intervals] == [timedelta(minutes=30)]
    action = description.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow) and action.workflow == DRIFT_SWEEP_WORKFLOW
    assert action.task_queue == settings.task_queue
    off = settings.model_copy(update={"drift_interval": "0"})
    assert await ensure_drift_schedule(client, off) == "deleted"
    assert await ensure_drift_schedule(client, off) == "off"
    assert await ensure_drift_schedule(client, hourly) == "created"
    assert await ensure_drift_schedule(client, off) == "deleted"
