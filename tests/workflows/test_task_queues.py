"""Task queues by resource profile: a real provision (embedded targets, a postgres resource) with one worker per queue.

Each step's queue is read back from the workflow history (`ActivityTaskScheduledEventAttributes.task_queue`): the
infrastructure step and its undo on the Terraform queue, everything else on the general one. With only the general
worker running, the infrastructure step waits on its queue — nobody else runs it — and completes, on its first
attempt, once a Terraform worker starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from roadbed.domain.models import ProvisionResult
from roadbed.lifecycle import EnvironmentLifecycle
from roadbed.settings import Settings
from roadbed.storage.database import Database
from roadbed.submission import EnvironmentSubmitter
from roadbed.worker import WorkerQueue, build_ports, build_worker, executor_for
from tests.workflows.test_provision import request_body
from tests.workflows.test_saga import snapshot, wait_status

pytestmark = pytest.mark.asyncio(loop_scope="session")
QueueWorker = Callable[[WorkerQueue], AbstractAsyncContextManager[None]]
GENERAL_ACTIVITIES = ["provision.validate", "provision.repository", "provision.kubernetes", "provision.monitoring", "provision.catalog"]


@pytest.fixture
def queue_worker(client: Client, settings: Settings, database: Database) -> QueueWorker:
    """A worker polling one queue only, as `roadbed worker --queue …` runs it."""

    @asynccontextmanager
    async def start(queue: WorkerQueue) -> AsyncIterator[None]:
        queues = frozenset({queue})
        executor = executor_for(settings, queues)
        async with build_worker(client, settings, build_ports(settings, database), executor, queues):
            yield
        executor.shutdown(wait=True)

    return start


def registered(worker: Worker) -> tuple[str, set[str], set[str], int, timedelta | None]:
    config = worker.config()
    activities = {f"{type(fn.__self__).__name__}.{fn.__name__}" for fn in config.get("activities", [])}
    workflows = {cls.__name__ for cls in config.get("workflows", [])}
    return config["task_queue"], activities, workflows, config["max_concurrent_activities"], config.get("graceful_shutdown_timeout")


async def test_each_queue_worker_registers_only_what_runs_on_its_queue(client: Client, settings: Settings, database: Database) -> None:
    ports = build_ports(settings, database)
    built: list[list[Worker]] = []
    # one at a time: the SDK refuses a second live Worker on a queue of the same client
    for queues, cap in ((frozenset({WorkerQueue.TERRAFORM}), None), (frozenset({WorkerQueue.GENERAL}), 7), (frozenset(WorkerQueue), None)):
        with executor_for(settings, queues, cap) as executor:
            async with build_worker(client, settings, ports, executor, queues, max_concurrent_activities=cap) as workers:
                built.append(workers.workers)
    [terraform], [general], both = built
    cores = settings.resolved_terraform_max_concurrent_activities
    terraform_activities = {"ProvisioningActivities.infrastructure", "CompensationActivities.infrastructure", "DriftActivities.check"}  # drift plans run Terraform too
    assert registered(terraform) == (settings.resolved_terraform_task_queue, terraform_activities, set(), cores, timedelta(seconds=60))
    queue, activities, workflows, cap, _ = registered(general)
    assert (queue, cap) == (settings.task_queue, 7)
    assert workflows >= {"ProvisionEnvironmentWorkflow", "DecommissionEnvironmentWorkflow", "DeployServiceWorkflow"}
    assert not activities & terraform_activities and "ProvisioningActivities.validate" in activities
    # one process polling both: the general queue also keeps the Terraform steps for runs scheduled before the split
    assert [registered(worker)[0] for worker in both] == [settings.task_queue, settings.resolved_terraform_task_queue]
    assert registered(both[0])[1] == activities | terraform_activities
    assert [registered(worker)[3] for worker in both] == [32, cores]


async def scheduled_queues(handle: WorkflowHandle) -> list[tuple[str, str]]:
    """(activity type, task queue) of every activity the workflow scheduled, in order."""
    history = await handle.fetch_history()
    return [
        (event.activity_task_scheduled_event_attributes.activity_type.name, event.activity_task_scheduled_event_attributes.task_queue.name)
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


async def test_terraform_steps_and_their_undo_run_on_the_terraform_queue(
    queue_worker: QueueWorker, submitter: EnvironmentSubmitter, client: Client, database: Database, settings: Settings
) -> None:
    general, terraform = settings.task_queue, settings.resolved_terraform_task_queue
    assert general != terraform
    async with queue_worker(WorkerQueue.GENERAL), queue_worker(WorkerQueue.TERRAFORM):
        row, _ = await submitter.submit(request_body())
        handle = client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult)
        result = await asyncio.wait_for(handle.result(), timeout=90)
        assert result.status == "SUCCEEDED", result.error
        assert "module.postgres_main" in (settings.terraform_dir / row.id / "terraform.tfstate").read_text()

        steps = {name: queue for name, queue in await scheduled_queues(handle) if name.startswith("provision.")}
        assert steps == {name: general for name in GENERAL_ACTIVITIES} | {"provision.infrastructure": terraform}
        assert {queue for name, queue in await scheduled_queues(handle) if name.startswith("environment.")} == {general}

        workflow_id = await EnvironmentLifecycle(database, client, settings.task_queue).decommission(snapshot(database, row.id)[0], "test", purge=True)
        undo = client.get_workflow_handle(workflow_id)
        await asyncio.wait_for(undo.result(), timeout=90)
        undos = {name: queue for name, queue in await scheduled_queues(undo) if name.startswith("compensate.")}
    assert undos == {
        "compensate.catalog": general, "compensate.monitoring": general, "compensate.kubernetes": general,
        "compensate.infrastructure": terraform, "compensate.repository": general,
    }
    assert snapshot(database, row.id)[0].status == "DECOMMISSIONED"


async def test_with_only_the_general_worker_the_infrastructure_step_waits_for_a_terraform_worker(
    queue_worker: QueueWorker, submitter: EnvironmentSubmitter, client: Client, database: Database, settings: Settings
) -> None:
    async with queue_worker(WorkerQueue.GENERAL):
        row, _ = await submitter.submit(request_body())
        handle = client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult)
        pending = await wait_for_pending(handle, "provision.infrastructure")
        await asyncio.sleep(3)  # nobody on the general queue picks it up, however long it waits
        pending = await wait_for_pending(handle, "provision.infrastructure")
        assert pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED and pending.attempt == 1
        steps = {s.name: s for s in snapshot(database, row.id)[1]}
        assert (steps["validate"].status, steps["repository"].status) == ("succeeded", "succeeded")
        assert (steps["infrastructure"].status, steps["infrastructure"].attempts) == ("pending", 0)
        assert not (settings.terraform_dir / row.id).exists()

        async with queue_worker(WorkerQueue.TERRAFORM):
            result = await asyncio.wait_for(handle.result(), timeout=90)
    assert result.status == "SUCCEEDED", result.error
    _, steps = await wait_status(database, row.id, {"SUCCEEDED"})
    assert [(s.name, s.status, s.attempts) for s in steps] == [
        (name, "succeeded", 1) for name in ["validate", "repository", "infrastructure", "kubernetes", "monitoring", "catalog"]
    ]


async def wait_for_pending(handle: WorkflowHandle, activity: str, timeout: float = 30) -> object:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        description = await handle.describe()
        found = [p for p in description.raw_description.pending_activities if p.activity_type.name == activity]
        if found:
            return found[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"{activity} never became pending")
