"""`UpgradeServiceWorkflow`: merge a newer golden-path version onto a service's repository, on a branch.

One activity writes the branch (planning again against the default branch as it is then); a failure the retries
cannot fix is recorded on the upgrade (FAILED, with the reason) so the API shows it. Durable like every Roadbed
workflow: a worker that dies mid-way leaves the activity to be retried, and the branch write is idempotent.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from roadbed.upgrades.contracts import (
        UPGRADE_BRANCH_ACTIVITY,
        UPGRADE_FAILED_ACTIVITY,
        UPGRADE_WORKFLOW,
        UpgradeFailure,
        UpgradeInput,
        UpgradeOutcome,
    )

BRANCH_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(seconds=30), maximum_attempts=5)
RECORD_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10))


@workflow.defn(name=UPGRADE_WORKFLOW)
class UpgradeServiceWorkflow:
    @workflow.run
    async def run(self, data: UpgradeInput) -> UpgradeOutcome:
        try:
            return await workflow.execute_activity(
                UPGRADE_BRANCH_ACTIVITY, data, result_type=UpgradeOutcome, start_to_close_timeout=timedelta(minutes=5), retry_policy=BRANCH_RETRY,
            )
        except ActivityError as failure:
            cause = failure.cause
            reason = str(cause) if cause is not None else str(failure)
            await workflow.execute_activity(
                UPGRADE_FAILED_ACTIVITY, UpgradeFailure(upgrade_id=data.upgrade_id, error=reason),
                start_to_close_timeout=timedelta(seconds=30), retry_policy=RECORD_RETRY,
            )
            return UpgradeOutcome(upgrade_id=data.upgrade_id, status="FAILED", branch="")
