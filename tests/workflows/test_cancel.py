"""Cancel means cancel: a cancelled run always ends CANCELLED, with everything it made undone.

Each step is held deterministically with the `hang` failpoint (the step blocks, its worker stays
alive and heartbeating, so the cancel reaches it with the next heartbeat). A cancel must interrupt
the hung step well before its heartbeat timeout, compensate, and record CANCELLED in Temporal and
in the engine database; `roadbed doctor` then finds nothing left over. The latencies are measured
from Temporal's own event times (cancel requested → step cancelled → run closed) and printed.

A step that *finishes normally* although the cancel reached it (it had not heartbeated yet, or the
cancel landed as it returned) must not let the run carry on to the next step either.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from roadbed.activities.contracts import STEP_ACTIVITIES, StepInput, StepResult
from roadbed.activities.provisioning import ProvisioningActivities
from roadbed.domain.models import STEP_ORDER, ProvisionResult, StepName
from roadbed.failpoints import Failpoints, InjectedTransientFault
from roadbed.lifecycle import EnvironmentLifecycle
from roadbed.settings import Settings
from roadbed.storage.database import Database
from roadbed.submission import EnvironmentSubmitter
from roadbed.workflows.decommission import DecommissionEnvironmentWorkflow
from roadbed.workflows.deploy import DeployServiceWorkflow
from roadbed.workflows.policies import STEP_POLICIES
from roadbed.workflows.provision import ProvisionEnvironmentWorkflow
from tests.workflows.test_provision import request_body
from tests.workflows.test_saga import doctor, snapshot

pytestmark = pytest.mark.asyncio(loop_scope="session")
StartWorker = Callable[..., AbstractAsyncContextManager[None]]

STEPS = [step.value for step in STEP_ORDER]
HEARTBEAT_TIMEOUT = min(policy.heartbeat.total_seconds() for policy in STEP_POLICIES.values())
PROMPT_SECONDS = 5.0  # cancel → hung step stopped; well under the 10 s heartbeat timeout


async def wait_step(database: Database, environment_id: str, step: str, status: str, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        _, steps = snapshot(database, environment_id)
        if next(s for s in steps if s.name == step).status == status:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{step} of {environment_id} never became {status}: {[(s.name, s.status, s.detail) for s in steps]}")


async def cancel(database: Database, client: Client, settings: Settings, environment_id: str) -> None:
    """The way the API cancels: through the lifecycle, which checks the status first."""
    await EnvironmentLifecycle(database, client, settings.task_queue).cancel(snapshot(database, environment_id)[0])


async def event_times(client: Client, workflow_id: str) -> dict[str, datetime]:
    """When the cancel was requested, when a step activity ended cancelled, when the run closed (server clock)."""
    times: dict[str, datetime] = {}
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        when = event.event_time.ToDatetime()
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
            times.setdefault("cancel", when)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
            times.setdefault("step_stopped", when)
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            times["closed"] = when
    return times


def assert_cancelled_and_clean(result: ProvisionResult, database: Database, settings: Settings, environment_id: str, step: str | None) -> list[str]:
    assert result.status == "CANCELLED", result.error
    assert result.error is not None and result.error.error_class == "Cancelled" and result.error.step == step
    stored, steps = snapshot(database, environment_id)
    assert stored.status == "CANCELLED" and stored.live_key is None
    assert stored.error["error_class"] == "Cancelled"
    assert doctor(settings, database) == []
    return [s.status for s in steps]


async def replays(client: Client, workflow_id: str) -> None:
    """The run's own history replays against the code that made it (the patch markers included)."""
    history: WorkflowHistory = await client.get_workflow_handle(workflow_id).fetch_history()
    replayer = Replayer(workflows=[ProvisionEnvironmentWorkflow, DecommissionEnvironmentWorkflow, DeployServiceWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history, raise_on_replay_failure=True)


async def test_cancel_right_after_submission(
    worker: None, submitter: EnvironmentSubmitter, client: Client, database: Database, settings: Settings
) -> None:
    row, _ = await submitter.submit(request_body())
    await cancel(database, client, settings, row.id)
    result = await client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()
    statuses = assert_cancelled_and_clean(result, database, settings, row.id, result.error.step if result.error else None)
    assert statuses[0] in {"pending", "succeeded", "failed"}, statuses
    assert all(s in {"pending", "compensated"} for s in statuses[1:]), statuses  # whatever had started was undone


@pytest.mark.parametrize("step", STEPS)
async def test_cancel_while_a_step_runs_ends_cancelled_promptly(
    step: str, start_worker: StartWorker, submitter: EnvironmentSubmitter, client: Client, database: Database,
    settings: Settings, capsys: pytest.CaptureFixture[str],
) -> None:
    await cancel_during(step, 0.0, start_worker, submitter, client, database, settings, capsys)


async def test_cancel_deep_into_a_hung_step_is_prompt(
    start_worker: StartWorker, submitter: EnvironmentSubmitter, client: Client, database: Database,
    settings: Settings, capsys: pytest.CaptureFixture[str],
) -> None:
    """Cancelled after its first heartbeats went out: the SDK's default throttle (0.8 x heartbeat timeout)
    would hold the cancel back ~5-8 s; the worker's 1 s throttle (HEARTBEAT_THROTTLE) brings it in ~1 s."""
    await cancel_during("infrastructure", 3.5, start_worker, submitter, client, database, settings, capsys, prompt=2.5)


async def cancel_during(
    step: str, settle: float, start_worker: StartWorker, submitter: EnvironmentSubmitter, client: Client, database: Database,
    settings: Settings, capsys: pytest.CaptureFixture[str], prompt: float = PROMPT_SECONDS,
) -> None:
    async with start_worker(f"{step}:hang"):
        row, _ = await submitter.submit(request_body())
        await wait_step(database, row.id, step, "running")
        await asyncio.sleep(settle)
        handle = client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult)
        await cancel(database, client, settings, row.id)
        result = await asyncio.wait_for(handle.result(), timeout=60)
        await replays(client, row.workflow_id)
    statuses = assert_cancelled_and_clean(result, database, settings, row.id, step)
    index = STEPS.index(step)
    if step == "validate":  # nothing made yet; the interrupted attempt says it was cancelled
        assert statuses == ["failed"] + ["pending"] * 5
        assert "cancelled" in (snapshot(database, row.id)[1][0].detail or "")
    else:
        assert statuses == ["succeeded"] + ["compensated"] * index + ["pending"] * (len(STEPS) - index - 1)
    times = await event_times(client, row.workflow_id)
    stopped = (times["step_stopped"] - times["cancel"]).total_seconds()
    closed = (times["closed"] - times["cancel"]).total_seconds()
    with capsys.disabled():
        print(f"\n[cancel {settle:.1f} s into {step}] cancel -> step stopped {stopped:.2f} s, cancel -> CANCELLED {closed:.2f} s")
    assert stopped < prompt < HEARTBEAT_TIMEOUT


async def test_step_that_finishes_despite_the_cancel_does_not_let_the_run_go_on(
    start_worker: StartWorker, submitter: EnvironmentSubmitter, client: Client, database: Database, settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The measured bug: WAIT_CANCELLATION_COMPLETED hands back the step's normal result and the loop ran on to SUCCEEDED."""
    started, release = threading.Event(), threading.Event()

    class Oblivious(ProvisioningActivities):
        @activity.defn(name=STEP_ACTIVITIES[StepName.KUBERNETES])
        def kubernetes(self, data: StepInput) -> StepResult:
            started.set()
            release.wait(30)  # never heartbeats, so never hears of the cancel, and then succeeds
            return StepResult(step=StepName.KUBERNETES, attempt=1, detail="finished without noticing the cancel", outputs=data.outputs)

    monkeypatch.setattr("roadbed.worker.ProvisioningActivities", Oblivious)
    async with start_worker():
        row, _ = await submitter.submit(request_body())
        assert await asyncio.to_thread(started.wait, 60)
        handle = client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult)
        await cancel(database, client, settings, row.id)
        await wait_for_event(client, row.workflow_id, EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED)
        release.set()
        result = await asyncio.wait_for(handle.result(), timeout=60)
        await replays(client, row.workflow_id)
    statuses = assert_cancelled_and_clean(result, database, settings, row.id, "kubernetes")
    assert statuses == ["succeeded", "compensated", "compensated", "compensated", "pending", "pending"]


async def wait_for_event(client: Client, workflow_id: str, event_type: Any, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
            if event.event_type == event_type:
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {event_type} in {workflow_id}")


async def test_hang_failpoint_returns_promptly_when_cancelled() -> None:
    """It raises (never returns into the step's work) within a poll of the cancel, not after `hang_for`."""
    cancelled = threading.Event()
    threading.Timer(0.2, cancelled.set).start()
    started = time.monotonic()
    with pytest.raises(InjectedTransientFault, match="cancelled"):
        await asyncio.to_thread(Failpoints("catalog:hang").trigger, "catalog", 1, hang_for=30, cancelled=cancelled.is_set)
    assert time.monotonic() - started < 1.0
