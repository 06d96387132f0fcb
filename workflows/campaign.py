"""`UpgradeCampaignWorkflow`: upgrade every service of a golden path, at most `max_concurrent` at a time.

Each service's upgrade is an ordinary `UpgradeServiceWorkflow`, started as a child (id `upgrade-<upgrade id>`, as
the API would) after an activity has planned it and opened its upgrade row; the semaphore bounds how many children
run at once. Progress is written to the campaign row after each step, so `GET /v1/campaigns/{id}` shows it while
the campaign runs, and a worker that dies mid-way resumes where the history says it was.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ChildWorkflowError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from roadbed.upgrades.contracts import (
        CAMPAIGN_FINISH_ACTIVITY,
        CAMPAIGN_RECORD_ACTIVITY,
        CAMPAIGN_START_ACTIVITY,
        CAMPAIGN_WORKFLOW,
        UPGRADE_WORKFLOW,
        CampaignInput,
        CampaignProgress,
        CampaignService,
        CampaignStart,
        UpgradeInput,
        UpgradeOutcome,
    )

RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(seconds=30), maximum_attempts=5)
RECORD_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10))


@workflow.defn(name=CAMPAIGN_WORKFLOW)
class UpgradeCampaignWorkflow:
    def __init__(self) -> None:
        self.in_flight = 0
        self.max_in_flight = 0

    @workflow.run
    async def run(self, data: CampaignInput) -> int:
        slots = asyncio.Semaphore(max(1, data.max_concurrent))
        await asyncio.gather(*(self._one(data, service, slots) for service in data.services))
        await workflow.execute_activity(CAMPAIGN_FINISH_ACTIVITY, data.campaign_id, start_to_close_timeout=timedelta(seconds=30), retry_policy=RECORD_RETRY)
        return self.max_in_flight

    @workflow.query
    def peak(self) -> int:
        """The most upgrades this campaign has had running at once."""
        return self.max_in_flight

    async def _one(self, data: CampaignInput, service: str, slots: asyncio.Semaphore) -> None:
        async with slots:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                status, upgrade_id, error = await self._upgrade(data, service)
            finally:
                self.in_flight -= 1
        progress = CampaignProgress(
            campaign_id=data.campaign_id, service=service, status=status, upgrade_id=upgrade_id, error=error, max_in_flight=self.max_in_flight,
        )
        await workflow.execute_activity(CAMPAIGN_RECORD_ACTIVITY, progress, start_to_close_timeout=timedelta(seconds=30), retry_policy=RECORD_RETRY)

    async def _upgrade(self, data: CampaignInput, service: str) -> tuple[str, str | None, str | None]:
        try:
            started = await workflow.execute_activity(
                CAMPAIGN_START_ACTIVITY, CampaignService(campaign_id=data.campaign_id, service=service, to_version=data.to_version),
                result_type=CampaignStart, start_to_close_timeout=timedelta(minutes=5), retry_policy=RETRY,
            )
        except ActivityError as failure:
            return "FAILED", None, str(failure.cause or failure)
        if started.upgrade_id is None:
            return started.status, None, started.error
        progress = CampaignProgress(
            campaign_id=data.campaign_id, service=service, status="RUNNING", upgrade_id=started.upgrade_id, max_in_flight=self.max_in_flight,
        )
        await workflow.execute_activity(CAMPAIGN_RECORD_ACTIVITY, progress, start_to_close_timeout=timedelta(seconds=30), retry_policy=RECORD_RETRY)
        try:
            outcome = await workflow.execute_child_workflow(
                UPGRADE_WORKFLOW, UpgradeInput(upgrade_id=started.upgrade_id, service=service, to_version=data.to_version),
                id=f"upgrade-{started.upgrade_id}", result_type=UpgradeOutcome, parent_close_policy=ParentClosePolicy.ABANDON,
            )
        except ChildWorkflowError as failure:
            return "FAILED", started.upgrade_id, str(failure.cause or failure)
        except WorkflowAlreadyStartedError:  # the API runs this very upgrade now: the campaign leaves it to that run
            return "RUNNING", started.upgrade_id, None
        return outcome.status, started.upgrade_id, None
