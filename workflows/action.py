"""`ServiceActionWorkflow`: an action template's files as a branch (and pull request) on a service's repository.

One activity writes the branch; a failure its retries cannot fix is recorded on the action (FAILED, with the
reason) so `GET /v1/actions/{id}` shows it.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from roadbed.upgrades.contracts import ACTION_BRANCH_ACTIVITY, ACTION_FAILED_ACTIVITY, ACTION_WORKFLOW, ActionFailure, ActionInput

BRANCH_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(seconds=30), maximum_attempts=5)
RECORD_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10))


@workflow.defn(name=ACTION_WORKFLOW)
class ServiceActionWorkflow:
    @workflow.run
    async def run(self, data: ActionInput) -> str:
        try:
            return await workflow.execute_activity(
                ACTION_BRANCH_ACTIVITY, data, result_type=str, start_to_close_timeout=timedelta(minutes=5), retry_policy=BRANCH_RETRY,
            )
        except ActivityError as failure:
            reason = str(failure.cause) if failure.cause is not None else str(failure)
            await workflow.execute_activity(
                ACTION_FAILED_ACTIVITY, ActionFailure(action_id=data.action_id, error=reason),
                start_to_close_timeout=timedelta(seconds=30), retry_policy=RECORD_RETRY,
            )
            return ""
