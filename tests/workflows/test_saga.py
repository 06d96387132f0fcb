"""Never half-built: retries, compensation in reverse order, failed compensations, cancel, approval, decommission."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from roadbed.doctor import audit
from roadbed.domain.errors import Conflict
from roadbed.domain.models import COMPENSABLE_STEPS, STEP_ORDER, CompensationRetry, ProvisionResult
from roadbed.lifecycle import EnvironmentLifecycle
from roadbed.settings import Settings
from roadbed.storage import environments
from roadbed.storage.database import Database
from roadbed.submission import EnvironmentSubmitter
from roadbed.temporal import SEARCH_ATTRIBUTES
from roadbed.worker import build_ports
from tests.workflows.test_provision import request_body

pytestmark = pytest.mark.asyncio(loop_scope="session")
StartWorker = Callable[..., AbstractAsyncContextManager[None]]


def snapshot(database: Database, environment_id: str) -> tuple[Any, list[Any]]:
    with database.transaction() as session:
        return environments.get_environment(session, environment_id), environments.steps_of(session, environment_id)


async def wait_status(database: Database, environment_id: str, statuses: set[str], timeout: float = 90) -> tuple[Any, list[Any]]:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        row, steps = snapshot(database, environment_id)
        if row.status in statuses:
            return row, steps
        await asyncio.sleep(0.1)
    raise AssertionError(f"{environment_id} stuck in {row.status}: {[(s.name, s.status, s.detail) for s in steps]}")


async def compensations_in_order(client: Client, workflow_id: str) -> list[str]:
    names = []
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            if name.startswith("compensate."):
                names.append(name.removeprefix("compensate."))
    return names


def doctor(settings: Settings, database: Database) -> list[str]:
    ports = build_ports(settings, database)
    return [f.line() for f in audit(database, ports.repo_host, ports.infrastructure, ports.kubernetes, ports.catalog)]


async def test_transient_faults_are_retried(start_worker: StartWorker, submitter: EnvironmentSubmitter, client: Client, database: Database) -> None:
    async with start_worker("infrastructure:transient:2"):
        row, _ = await submitter.submit(request_body())
        result = await client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()
    assert result.status == "SUCCEEDED"
    _, steps = snapshot(database, row.id)
    infrastructure = next(s for s in steps if s.name == "infrastructure")
    assert infrastructure.status == "succeeded" and infrastructure.attempts == 3


@pytest.mark.parametrize("failing", [step.value for step in STEP_ORDER])
async def test_permanent_fault_compensates_earlier_steps_in_reverse(
    failing: str, start_worker: StartWorker, submitter: EnvironmentSubmitter, client: Client, database: Database, settings: Settings
) -> None:
    async with start_worker(f"{failing}:permanent"):
        row, _ = await submitter.submit(request_body())
        result = await client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()
    assert result.status == "COMPENSATED"
    stored, steps = snapshot(database, row.id)
    assert stored.status == "COMPENSATED" and stored.live_key is None
    assert stored.error == {"step": failing, "error_class": "InjectedPermanentFault", "message": f"failpoint {failing}: injected permanent fault"}
    names = [s.value for s in STEP_ORDER]
    ran = names[: names.index(failing) + 1]
    undone = [s.value for s in COMPENSABLE_STEPS if s.value in ran]
    assert await compensations_in_order(client, row.workflow_id) == list(reversed(undone))
    # the failing step keeps "failed" (and its error) while its partial work is undone; the steps before it are "compensated"
    expected = {name: ("failed" if name == failing else "compensated" if name in undone else "succeeded" if name in ran else "pending") for name in names}
    assert {s.name: s.status for s in steps} == expected
    assert "injected permanent fault" in next(s.detail for s in steps if s.name == failing)  # its own error, not the undo's words
    for step in steps:  # every undo has its own clock, inside the run; the forward run's times are its own
        if step.name in undone:
            assert step.compensation_started_at is not None and step.compensation_finished_at is not None
            assert step.started_at <= step.compensation_started_at <= step.compensation_finished_at
            assert step.finished_at is None or step.finished_at <= step.compensation_started_at
    assert doctor(settings, database) == []


async def test_failed_compensation_is_visible_and_retryable(
    start_worker: StartWorker, submitter: EnvironmentSubmitter, client: Client, database: Database, settings: Settings
) -> None:
    async with start_worker("catalog:permanent,infrastructure.compensate:permanent"):
        row, _ = await submitter.submit(request_body())
        failed, steps = await wait_status(database, row.id, {"FAILED"})
    assert failed.error["step"] == "infrastructure"
    assert failed.error["message"].startswith("compensation of infrastructure failed")
    assert {s.name: s.status for s in steps}["infrastructure"] == "failed"
    assert failed.live_key == "orders/dev"  # still holds its slot: nothing may be requested on top of a half-undone one
    lifecycle = EnvironmentLifecycle(database, client, settings.task_queue)
    async with start_worker():
        await lifecycle.retry(failed, requested_by="test")
        result = await client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()
    assert result.status == "COMPENSATED"
    stored, steps = snapshot(database, row.id)
    assert stored.status == "COMPENSATED"
    assert [s.status for s in steps] == ["succeeded", "compensated", "compensated", "compensated", "compensated", "failed"]
    assert doctor(settings, database) == []
    again, _ = await submitter.submit(request_body())
    assert again.id != row.id


async def test_hanging_step_times_out_and_compensates(start_worker: StartWorker, submitter: EnvironmentSubmitter, client: Client, database: Database) -> None:
    async with start_worker("catalog:hang"):
        row, _ = await submitter.submit(request_body())
        result = await client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()
    assert result.status == "COMPENSATED"
    assert result.error is not None and result.error.step == "catalog"
    _, steps = snapshot(database, row.id)
    assert [s.status for s in steps] == ["succeeded", "compensated", "compensated", "compensated", "compensated", "failed"]  # the step that hung


async def test_cancel_during_a_step_undoes_what_was_done(
    start_worker: StartWorker, submitter: EnvironmentSubmitter, client: Client, database: Database, settings: Settings
) -> None:
    async with start_worker("kubernetes:transient:4"):
        row, _ = await submitter.submit(request_body())
        deadline = asyncio.get_running_loop().time() + 30
        while next(s for s in snapshot(database, row.id)[1] if s.name == "kubernetes").attempts < 1:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
        await EnvironmentLifecycle(database, client, settings.task_queue).cancel(snapshot(database, row.id)[0])
        result = await client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()
    assert result.status == "CANCELLED"
    stored, steps = snapshot(database, row.id)
    assert stored.status == "CANCELLED" and stored.error["error_class"] == "Cancelled"
    assert [s.status for s in steps] == ["succeeded", "compensated", "compensated", "compensated", "pending", "pending"]
    assert doctor(settings, database) == []


async def test_prod_waits_for_approval_then_provisions(worker: None, submitter: EnvironmentSubmitter, client: Client, database: Database, settings: Settings) -> None:
    row, _ = await submitter.submit(request_body(environment="prod"))
    assert row.status == "PENDING_APPROVAL"
    lifecycle = EnvironmentLifecycle(database, client, settings.task_queue)
    handle = client.get_workflow_handle(row.workflow_id)
    await asyncio.sleep(0.3)
    _, steps = snapshot(database, row.id)
    assert [s.status for s in steps] == ["pending"] * 6
    with pytest.raises(WorkflowUpdateFailedError):  # the validator rejects, nothing is written to history
        await handle.execute_update("retry", CompensationRetry(requested_by="nobody"))
    await lifecycle.approve(row, approver="tok_admin", comment="go")
    result = await client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()
    assert result.status == "SUCCEEDED"
    with pytest.raises(Conflict):
        await lifecycle.approve(snapshot(database, row.id)[0], approver="late", comment=None)


async def test_cancel_while_waiting_for_approval(worker: None, submitter: EnvironmentSubmitter, client: Client, database: Database, settings: Settings) -> None:
    row, _ = await submitter.submit(request_body(environment="prod"))
    await EnvironmentLifecycle(database, client, settings.task_queue).cancel(row)
    result = await client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()
    assert result.status == "CANCELLED"
    stored, steps = snapshot(database, row.id)
    assert stored.status == "CANCELLED" and stored.live_key is None
    assert [s.status for s in steps] == ["pending"] * 6
    assert doctor(settings, database) == []


async def test_decommission_then_request_again(worker: None, submitter: EnvironmentSubmitter, client: Client, database: Database, settings: Settings) -> None:
    row, _ = await submitter.submit(request_body())
    await client.get_workflow_handle(row.workflow_id).result()
    lifecycle = EnvironmentLifecycle(database, client, settings.task_queue)
    stored, _ = snapshot(database, row.id)
    workflow_id = await lifecycle.decommission(stored, requested_by="test", purge=False)
    await client.get_workflow_handle(workflow_id).result()
    stored, steps = snapshot(database, row.id)
    assert stored.status == "DECOMMISSIONED" and stored.live_key is None and stored.ready_at is not None
    assert all(s.status == "compensated" for s in steps[1:])
    archived = list((settings.git_dir / "archive").glob("orders-*.git"))
    assert len(archived) == 1 and not (settings.git_dir / "repos/orders.git").exists()
    assert doctor(settings, database) == []
    again, _ = await submitter.submit(request_body())
    result = await client.get_workflow_handle(again.workflow_id, result_type=ProvisionResult).result()
    assert result.status == "SUCCEEDED"
    assert doctor(settings, database) == []


@pytest_asyncio.fixture(loop_scope="session")
async def skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=__import__("shutil").which("temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=list(SEARCH_ATTRIBUTES),
        dev_server_extra_args=["--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true"],
    )
    yield env
    await env.shutdown()


async def test_approval_times_out_into_cancelled(
    skipping_env: WorkflowEnvironment, start_worker: StartWorker, database: Database, settings: Settings
) -> None:
    submitter = EnvironmentSubmitter(database, skipping_env.client, build_ports(settings, database).validator, settings)
    async with start_worker(on=skipping_env.client):
        row, _ = await submitter.submit(request_body(environment="prod"))
        started = asyncio.get_running_loop().time()
        result = await skipping_env.client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()
    assert asyncio.get_running_loop().time() - started < 30
    assert result.status == "CANCELLED"
    assert result.error is not None and result.error.error_class == "ApprovalTimedOut"
    assert str(timedelta(hours=72)) in result.error.message
    stored, _ = snapshot(database, row.id)
    assert stored.status == "CANCELLED" and stored.live_key is None
