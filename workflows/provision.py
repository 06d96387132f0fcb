"""`ProvisionEnvironmentWorkflow`: six steps in order, then the outcome is always recorded.

The live picture is answered by the `progress` query; the engine database holds the same picture
for after the workflow closes (steps mirror themselves, `record` stores the outcome).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import RECORD_OUTCOME, STEP_ACTIVITIES, OutcomeInput, StepInput, StepResult
    from roadbed.domain.models import (
        STEP_ORDER,
        EnvironmentOutputs,
        EnvironmentStatus,
        ErrorInfo,
        ProvisionInput,
        ProvisionProgress,
        ProvisionResult,
        StepName,
        StepProgress,
        StepStatus,
    )
    from workflows.policies import RECORD_POLICY, STEP_POLICIES

WORKFLOW_NAME = "ProvisionEnvironmentWorkflow"


def error_info(step: StepName | None, error: BaseException) -> ErrorInfo:
    """The failing step, the error class and message — from the innermost application failure."""
    cause: BaseException | None = error
    while isinstance(cause, ActivityError) and cause.cause is not None:
        cause = cause.cause
    if isinstance(cause, ApplicationError):
        return ErrorInfo(step=step.value if step else None, error_class=cause.type or "ApplicationError", message=cause.message)
    return ErrorInfo(step=step.value if step else None, error_class=type(cause).__name__, message=str(cause))


@workflow.defn(name=WORKFLOW_NAME)
class ProvisionEnvironmentWorkflow:
    def __init__(self) -> None:
        self._progress: ProvisionProgress | None = None

    @workflow.query(name="progress")
    def progress(self) -> ProvisionProgress:
        assert self._progress is not None
        return self._progress

    @workflow.run
    async def run(self, data: ProvisionInput) -> ProvisionResult:
        self._progress = ProvisionProgress(
            environment_id=data.environment_id,
            status=EnvironmentStatus.RUNNING,
            steps=[StepProgress(name=step) for step in STEP_ORDER],
        )
        outputs = EnvironmentOutputs()
        current: StepName | None = None
        error: ErrorInfo | None = None
        try:
            for current in STEP_ORDER:
                result = await self._run_step(current, StepInput(provision=data, outputs=outputs))
                outputs = result.outputs
            self._progress.status = EnvironmentStatus.SUCCEEDED
        except ActivityError as failure:
            error = error_info(current, failure)
            self._progress.status = EnvironmentStatus.FAILED
            self._step(current).status = StepStatus.FAILED
        finally:
            self._progress.outputs = outputs
            self._progress.error = error
            await workflow.execute_activity(
                RECORD_OUTCOME,
                OutcomeInput(environment_id=data.environment_id, status=self._progress.status, outputs=outputs, error=error, finished_at=workflow.now()),
                start_to_close_timeout=RECORD_POLICY.start_to_close,
                retry_policy=RECORD_POLICY.retry,
            )
        return ProvisionResult(environment_id=data.environment_id, status=self._progress.status, outputs=outputs, error=error)

    def _step(self, name: StepName | None) -> StepProgress:
        assert self._progress is not None
        return next(step for step in self._progress.steps if step.name == name)

    async def _run_step(self, name: StepName, data: StepInput) -> StepResult:
        policy = STEP_POLICIES[name]
        step = self._step(name)
        step.status = StepStatus.RUNNING
        step.started_at = workflow.now()
        result: StepResult = await workflow.execute_activity(
            STEP_ACTIVITIES[name],
            data,
            result_type=StepResult,
            start_to_close_timeout=policy.start_to_close,
            heartbeat_timeout=policy.heartbeat,
            retry_policy=policy.retry,
            schedule_to_close_timeout=policy.start_to_close * (policy.retry.maximum_attempts or 1) + timedelta(minutes=5),
        )
        step.status = StepStatus.SUCCEEDED
        step.attempts = result.attempt
        step.finished_at = workflow.now()
        step.detail = result.detail
        return result
