"""Activity contracts: names and typed inputs/outputs, shared by workflows and the worker.

Plain data only (no adapters), so workflow code can import it inside the sandbox. Every step
activity takes a `StepInput` (the request plus the outputs of the steps before it) and returns a
`StepResult` (the outputs so far, with its own added), which keeps the workflow a simple loop.
Each compensable step has an undo activity taking a `CompensationInput`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from roadbed.domain.models import (
    COMPENSABLE_STEPS,
    DeployInput,
    DeployResult,
    EnvironmentOutputs,
    EnvironmentStatus,
    ErrorInfo,
    Frozen,
    ProvisionInput,
    StepName,
)

STEP_ACTIVITIES: dict[StepName, str] = {step: f"provision.{step.value}" for step in StepName}
COMPENSATION_ACTIVITIES: dict[StepName, str] = {step: f"compensate.{step.value}" for step in COMPENSABLE_STEPS}
RECORD_STATUS = "environment.record_status"
RECORD_AUDIT = "environment.record_audit"


class StepInput(Frozen):
    provision: ProvisionInput
    outputs: EnvironmentOutputs


class StepResult(Frozen):
    step: StepName
    attempt: int
    detail: str
    outputs: EnvironmentOutputs


class UndoReason(StrEnum):
    """Why a step is undone: a failed/cancelled run (delete what was made) or a decommission (archive the repo)."""

    COMPENSATE = "compensate"
    DECOMMISSION = "decommission"


class CompensationInput(Frozen):
    provision: ProvisionInput
    outputs: EnvironmentOutputs
    reason: UndoReason = UndoReason.COMPENSATE
    purge: bool = False


class StatusUpdate(Frozen):
    """A status change of an environment, stored by the `record_status` activity.

    `finished_at` marks the outcome (the always-run record step); `failed_step` marks that step failed.
    """

    environment_id: str
    status: EnvironmentStatus
    outputs: EnvironmentOutputs | None = None
    error: ErrorInfo | None = None
    failed_step: StepName | None = None
    finished_at: datetime | None = None


class AuditEntry(Frozen):
    """An operator action a workflow accepted (an approval, a compensation retry), for the audit log.

    Written by the workflow itself because updates can reach Temporal without the API. `request_id`
    is the Temporal update id, so a retried write of the same entry is recognised and not doubled.
    """

    request_id: str
    actor: str
    action: str  # environment.approved | environment.compensation_retried
    target: str  # the environment id
    at: datetime


DEPLOY_ROLLOUT = "deploy.rollout"
DEPLOY_RECORD = "deploy.record"


class RolloutInput(Frozen):
    deploy: DeployInput
    version: str


class DeploymentRecord(Frozen):
    deploy: DeployInput
    result: DeployResult


def activity_types() -> dict[str, tuple[type, type | None]]:
    """Every activity name with its one input type and its result type: the registry the worker's implementations and
    the workflows' calls must agree with (tests/unit/test_activity_registry.py checks the implementations)."""
    return {
        **{name: (StepInput, StepResult) for name in STEP_ACTIVITIES.values()},
        **{name: (CompensationInput, StepResult) for name in COMPENSATION_ACTIVITIES.values()},
        RECORD_STATUS: (StatusUpdate, None),
        RECORD_AUDIT: (AuditEntry, None),
        DEPLOY_ROLLOUT: (RolloutInput, str),
        DEPLOY_RECORD: (DeploymentRecord, None),
    }
