"""`DeployServiceWorkflow`: roll a new version out; a failed rollout is rolled back and counted as a failed change.

Every outcome is recorded as a deployment (commit, commit time, start, finish, status), which is
what DORA's four keys are computed from.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from roadbed.activities.contracts import DEPLOY_RECORD, DEPLOY_ROLLOUT, DeploymentRecord, RolloutInput
    from roadbed.domain.models import DeployInput, DeploymentStatus, DeployResult, ErrorInfo, StepName
    from roadbed.domain.workflow_names import DEPLOY_WORKFLOW
    from roadbed.workflows.policies import DEPLOY_ROLLOUT_RETRY, RECORD_POLICY, STEP_POLICIES
    from roadbed.workflows.saga import error_info

WORKFLOW_NAME = DEPLOY_WORKFLOW
ROLLOUT = STEP_POLICIES[StepName.KUBERNETES]


@workflow.defn(name=WORKFLOW_NAME)
class DeployServiceWorkflow:
    def __init__(self) -> None:
        self._phase = "rolling out"

    @workflow.query(name="phase")
    def phase(self) -> str:
        return self._phase

    @workflow.run
    async def run(self, data: DeployInput) -> DeployResult:
        started = workflow.now()
        error: ErrorInfo | None = None
        try:
            await self._rollout(data, data.version)
            status, running = DeploymentStatus.SUCCESS, data.version
        except ActivityError as failure:
            error = error_info(StepName.KUBERNETES, failure)
            self._phase = "rolling back"
            try:
                await self._rollout(data, data.previous_version)
                status, running = DeploymentStatus.ROLLED_BACK, data.previous_version
            except ActivityError:
                status, running = DeploymentStatus.FAILURE, data.version
        self._phase = status.value
        result = DeployResult(
            deployment_id=data.deployment_id, status=status, version=data.version, running_version=running, error=error,
            started_at=started, finished_at=workflow.now(),
        )
        await workflow.execute_activity(
            DEPLOY_RECORD, DeploymentRecord(deploy=data, result=result),
            start_to_close_timeout=RECORD_POLICY.start_to_close, retry_policy=RECORD_POLICY.retry,
        )
        return result

    async def _rollout(self, data: DeployInput, version: str) -> None:
        await workflow.execute_activity(
            DEPLOY_ROLLOUT,
            RolloutInput(deploy=data, version=version),
            start_to_close_timeout=ROLLOUT.start_to_close,
            heartbeat_timeout=ROLLOUT.heartbeat,
            retry_policy=DEPLOY_ROLLOUT_RETRY,
        )
