"""`ProvisionEnvironmentWorkflow`: (approval,) six steps in order, undone in reverse on failure or cancel.

The live picture is answered by the `progress` query; the engine database holds the same picture
after the workflow closes (steps mirror themselves, `record_status` stores every status change).
Production requests wait durably for the `approve` update (validated: only while waiting) and are
cancelled when the approval times out. A failed compensation waits for the `retry` update.

A cancel always ends CANCELLED. Each step runs with `WAIT_CANCELLATION_COMPLETED` (its undo must not
start while it still works), and such a step may still *finish normally* after the cancel reached it
(it had not heartbeated since) — the SDK then hands back its result and no `CancelledError` is raised.
So `_through_cancel` catches the cancel itself, passes it on to the activity, remembers it, and the
loop checks between steps; a step that fails after a cancel (e.g. a hung step timing out) counts as
cancelled too. Both are new in the command sequence, guarded by `workflow.patched(CANCEL_PATCH)`.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from roadbed.activities.contracts import STEP_ACTIVITIES, CompensationInput, StatusUpdate, StepInput, StepResult
    from roadbed.domain.models import (
        STEP_ORDER,
        Approval,
        CompensationRetry,
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
    from roadbed.domain.workflow_names import PROVISION_WORKFLOW
    from roadbed.workflows.expiry import start_expiry
    from roadbed.workflows.policies import STEP_POLICIES
    from roadbed.workflows.queues import queue_options
    from roadbed.workflows.saga import Saga, error_info, record_audit, record_status

WORKFLOW_NAME = PROVISION_WORKFLOW
CANCEL_PATCH = "cancel-observed-during-a-step"
EXPIRY_PATCH = "ttl-expiry"  # an ephemeral environment's expiry workflow, started at SUCCEEDED (workflows/expiry.py)


class _CancelObserved(Exception):
    """A cancel reached a step that then finished anyway: stop before the next step."""


@workflow.defn(name=WORKFLOW_NAME)
class ProvisionEnvironmentWorkflow:
    @workflow.init
    def __init__(self, data: ProvisionInput) -> None:
        """Built from the input before any update is handled: an approval sent the moment the request was accepted
        (before the run's first line) finds a workflow already waiting for it, instead of a 409."""
        self._progress: ProvisionProgress | None = ProvisionProgress(
            environment_id=data.environment_id,
            status=EnvironmentStatus.PENDING_APPROVAL if data.requires_approval else EnvironmentStatus.RUNNING,
            steps=[StepProgress(name=step) for step in STEP_ORDER],
        )
        self._saga: Saga | None = None
        self._approval: Approval | None = None
        self._awaiting_approval = data.requires_approval
        self._cancel_observed = False

    # -- queries and updates
    @workflow.query(name="progress")
    def progress(self) -> ProvisionProgress:
        assert self._progress is not None
        return self._progress

    @workflow.update(name="approve")
    async def approve(self, approval: Approval) -> ProvisionProgress:
        self._approval = approval
        await record_audit(self.progress().environment_id, approval.approver, "environment.approved")
        return self.progress()

    @approve.validator
    def _approve_only_while_waiting(self, approval: Approval) -> None:
        if not self._awaiting_approval:
            raise ValueError("this request is not waiting for approval")

    @workflow.update(name="retry")
    async def retry(self, request: CompensationRetry) -> ProvisionProgress:
        assert self._saga is not None
        await self._saga.accept_retry(request)
        return self.progress()

    @retry.validator
    def _retry_only_failed_compensation(self, request: CompensationRetry) -> None:
        if self._saga is None or not self._saga.waiting_for_retry:
            raise ValueError("there is no failed compensation to retry")

    # -- the run
    @workflow.run
    async def run(self, data: ProvisionInput) -> ProvisionResult:
        self._saga = saga = Saga(data.environment_id)
        saga.on_step = lambda step, status: setattr(self._step(step), "status", StepStatus(status))
        outputs = EnvironmentOutputs()
        current: StepName | None = None
        try:
            if data.requires_approval and not await self._approved(data):
                error = ErrorInfo(step=None, error_class="ApprovalTimedOut", message=f"not approved within {data.approval_timeout}")
                return await self._finish(data, EnvironmentStatus.CANCELLED, outputs, error)
            for current in STEP_ORDER:
                saga.register(current)
                result = await self._run_step(current, StepInput(provision=data, outputs=outputs))
                outputs = result.outputs
                if self._cancel_observed and workflow.patched(CANCEL_PATCH):
                    raise _CancelObserved
            return await self._finish(data, EnvironmentStatus.SUCCEEDED, outputs, None)
        except ActivityError as failure:
            if not is_cancelled_exception(failure) and not (self._cancel_observed and workflow.patched(CANCEL_PATCH)):
                error = error_info(current, failure)
                return await self._compensate(data, outputs, error, current, EnvironmentStatus.COMPENSATED)
            error = ErrorInfo(step=current.value if current else None, error_class="Cancelled", message="cancelled by request")
            final = EnvironmentStatus.CANCELLED
            saga.cancel_requested = True
        except (asyncio.CancelledError, _CancelObserved):
            error = ErrorInfo(step=current.value if current else None, error_class="Cancelled", message="cancelled by request")
            final = EnvironmentStatus.CANCELLED
            saga.cancel_requested = True
        return await self._compensate(data, outputs, error, current, final)

    async def _approved(self, data: ProvisionInput) -> bool:
        self._awaiting_approval = True
        try:
            await workflow.wait_condition(lambda: self._approval is not None, timeout=data.approval_timeout)
        except TimeoutError:
            return False
        finally:
            self._awaiting_approval = False
        self._set_status(EnvironmentStatus.RUNNING)
        await record_status(StatusUpdate(environment_id=data.environment_id, status=EnvironmentStatus.RUNNING))
        return True

    async def _compensate(
        self, data: ProvisionInput, outputs: EnvironmentOutputs, error: ErrorInfo, failed: StepName | None, final: EnvironmentStatus
    ) -> ProvisionResult:
        assert self._saga is not None
        self._set_status(EnvironmentStatus.COMPENSATING)
        if failed is not None and final is EnvironmentStatus.COMPENSATED:
            self._step(failed).status = StepStatus.FAILED
        await record_status(
            StatusUpdate(environment_id=data.environment_id, status=EnvironmentStatus.COMPENSATING, outputs=outputs, error=error,
                         failed_step=failed if final is EnvironmentStatus.COMPENSATED else None)
        )
        await self._saga.undo_all(CompensationInput(provision=data, outputs=outputs), error)
        if self._saga.cancel_requested:
            final = EnvironmentStatus.CANCELLED
        return await self._finish(data, final, outputs, error)

    async def _finish(self, data: ProvisionInput, status: EnvironmentStatus, outputs: EnvironmentOutputs, error: ErrorInfo | None) -> ProvisionResult:
        assert self._progress is not None
        await workflow.wait_condition(workflow.all_handlers_finished)  # an update still writing its audit entry
        self._set_status(status)
        self._progress.outputs = outputs
        self._progress.error = error
        await record_status(
            StatusUpdate(environment_id=data.environment_id, status=status, outputs=outputs, error=error, finished_at=workflow.now())
        )
        if status is EnvironmentStatus.SUCCEEDED and data.ttl_seconds and workflow.patched(EXPIRY_PATCH):
            await start_expiry(data.environment_id, data.ttl_seconds, data.ttl_warning_before)
        return ProvisionResult(environment_id=data.environment_id, status=status, outputs=outputs, error=error)

    def _set_status(self, status: EnvironmentStatus) -> None:
        assert self._progress is not None
        self._progress.status = status

    def _step(self, name: StepName) -> StepProgress:
        assert self._progress is not None
        return next(step for step in self._progress.steps if step.name == name)

    async def _run_step(self, name: StepName, data: StepInput) -> StepResult:
        policy = STEP_POLICIES[name]
        step = self._step(name)
        step.status = StepStatus.RUNNING
        step.started_at = workflow.now()
        options = policy.activity_options() | queue_options(name, data.provision)  # Terraform steps on their own queue
        result = await self._through_cancel(workflow.start_activity(STEP_ACTIVITIES[name], data, result_type=StepResult, **options))
        step.status = StepStatus.SUCCEEDED
        step.attempts = result.attempt
        step.finished_at = workflow.now()
        step.detail = result.detail
        return result

    async def _through_cancel(self, handle: workflow.ActivityHandle[StepResult]) -> StepResult:
        """Await a step; a workflow cancel meanwhile is passed on to it and remembered, not lost.

        The step then either stops (an `ActivityError` caused by cancellation) or returns normally;
        either way `run` sees `_cancel_observed` and compensates into CANCELLED."""
        while True:
            try:
                return await asyncio.shield(handle)
            except asyncio.CancelledError:
                if handle.cancelled():
                    raise
                if not self._cancel_observed:
                    self._cancel_observed = True
                    handle.cancel()
