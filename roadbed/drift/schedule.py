"""The `roadbed-drift` Temporal Schedule: created or brought up to date at worker start, removed when the interval is 0.

Idempotent: every worker start (several workers, restarts) converges the one schedule to the settings. Overlaps are
skipped: a sweep still running when the next is due is not doubled."""

from __future__ import annotations

import logging
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from roadbed.drift.contracts import DRIFT_SCHEDULE_ID, DRIFT_SWEEP_WORKFLOW, DRIFT_SWEEP_WORKFLOW_ID, SweepInput
from roadbed.settings import Settings

log = logging.getLogger(__name__)


def drift_schedule(settings: Settings) -> Schedule:
    sweep = SweepInput(max_concurrent=settings.drift_max_concurrent, check_queue=settings.resolved_terraform_task_queue)
    return Schedule(
        action=ScheduleActionStartWorkflow(DRIFT_SWEEP_WORKFLOW, sweep, id=DRIFT_SWEEP_WORKFLOW_ID, task_queue=settings.task_queue),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=settings.drift_interval_seconds))]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_drift_schedule(client: Client, settings: Settings) -> str:
    """Create, update or (interval 0) delete the schedule; returns what was done."""
    handle = client.get_schedule_handle(DRIFT_SCHEDULE_ID)
    if settings.drift_interval_seconds == 0:
        try:
            await handle.delete()
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            return "off"
        return "deleted"
    schedule = drift_schedule(settings)
    try:
        await client.create_schedule(DRIFT_SCHEDULE_ID, schedule)
        return "created"
    except ScheduleAlreadyRunningError:
        def update(_current: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await handle.update(update)
        return "updated"
