"""`DecommissionEnvironmentWorkflow`: every provisioning step undone in reverse; the repository archived.

Uses the same saga as a failed provisioning run, so a failing undo is recorded `FAILED` and
resumes on the `retry` update (audited by the workflow itself, see `saga.record_audit`). The
repository is archived (kept) unless `purge` is set.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from roadbed.activities.contracts import CompensationInput, StatusUpdate, UndoReason
    from roadbed.domain.models import COMPENSABLE_STEPS, CompensationRetry, DecommissionInput, EnvironmentStatus
    from roadbed.domain.workflow_names import DECOMMISSION_WORKFLOW
    from roadbed.workflows.saga import Saga, record_status

WORKFLOW_NAME = DECOMMISSION_WORKFLOW


@workflow.defn(name=WORKFLOW_NAME)
class DecommissionEnvironmentWorkflow:
    def __init__(self) -> None:
        self._saga: Saga | None = None
        self._status = EnvironmentStatus.COMPENSATING

    @workflow.query(name="status")
    def status(self) -> EnvironmentStatus:
        return self._status

    @workflow.update(name="retry")
    async def retry(self, request: CompensationRetry) -> EnvironmentStatus:
        assert self._saga is not None
        await self._saga.accept_retry(request)
        return self._status

    @retry.validator
    def _retry_only_failed_compensation(self, request: CompensationRetry) -> None:
        if self._saga is None or not self._saga.waiting_for_retry:
            raise ValueError("there is no failed compensation to retry")

    @workflow.run
    async def run(self, data: DecommissionInput) -> EnvironmentStatus:
        environment_id = data.provision.environment_id
        self._saga = saga = Saga(environment_id)
        for step in COMPENSABLE_STEPS:
            saga.register(step)
        await record_status(StatusUpdate(environment_id=environment_id, status=EnvironmentStatus.COMPENSATING))
        await saga.undo_all(CompensationInput(provision=data.provision, outputs=data.outputs, reason=UndoReason.DECOMMISSION, purge=data.purge), None)
        self._status = EnvironmentStatus.DECOMMISSIONED
        await workflow.wait_condition(workflow.all_handlers_finished)  # a retry still writing its audit entry
        await record_status(StatusUpdate(environment_id=environment_id, status=EnvironmentStatus.DECOMMISSIONED, finished_at=workflow.now()))
        return self._status
