"""`DriftSweepWorkflow`: one pass of drift checks over every live environment, started by the `roadbed-drift` Schedule.

It pages through the live environments in id order (`drift.page`) and runs `drift.check` for each, at most
`max_concurrent` at once, on the Terraform queue (a check runs a plan). A check that fails after its retries is
left alone: the activity has already recorded `unknown` when it could, and the next sweep checks again. Long sweeps
continue as new between pages, so the history stays small whatever the number of environments."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from roadbed.drift.contracts import DRIFT_CHECK, DRIFT_PAGE, DRIFT_SWEEP_WORKFLOW, PageInput, SweepInput, SweepResult

CHECK_TIMEOUT = timedelta(minutes=10)
CHECK_RETRY = RetryPolicy(maximum_attempts=2, initial_interval=timedelta(seconds=5))


@workflow.defn(name=DRIFT_SWEEP_WORKFLOW)
class DriftSweepWorkflow:
    @workflow.run
    async def run(self, data: SweepInput) -> SweepResult:
        gate = asyncio.Semaphore(max(1, data.max_concurrent))
        after, checked = data.after, data.checked

        async def check(environment_id: str) -> None:
            async with gate:
                try:
                    await workflow.execute_activity(
                        DRIFT_CHECK, environment_id, task_queue=data.check_queue, start_to_close_timeout=CHECK_TIMEOUT, retry_policy=CHECK_RETRY
                    )
                except ActivityError:
                    workflow.logger.info("drift check of %s failed; the next sweep checks it again", environment_id)

        while True:
            page: list[str] = await workflow.execute_activity(
                DRIFT_PAGE, PageInput(after=after, limit=data.page_size), start_to_close_timeout=timedelta(minutes=1), result_type=list[str]
            )
            if not page:
                return SweepResult(checked=checked)
            await asyncio.gather(*(check(environment_id) for environment_id in page))
            after, checked = page[-1], checked + len(page)
            if len(page) < data.page_size:
                return SweepResult(checked=checked)
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(SweepInput(data.max_concurrent, data.check_queue, data.page_size, after, checked))
