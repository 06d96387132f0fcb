"""Activity contracts: names and typed inputs/outputs, shared by workflows and the worker.

Plain data only (no adapters), so workflow code can import it inside the sandbox. Every step
activity takes a `StepInput` (the request plus the outputs of the steps before it) and returns a
`StepResult` (the outputs so far, with its own added), which keeps the workflow a simple loop.
"""

from __future__ import annotations

from datetime import datetime

from roadbed.domain.models import (
    EnvironmentOutputs,
    EnvironmentStatus,
    ErrorInfo,
    Frozen,
    ProvisionInput,
    StepName,
)

STEP_ACTIVITIES: dict[StepName, str] = {step: f"provision.{step.value}" for step in StepName}
RECORD_OUTCOME = "provision.record"


class StepInput(Frozen):
    provision: ProvisionInput
    outputs: EnvironmentOutputs


class StepResult(Frozen):
    step: StepName
    attempt: int
    detail: str
    outputs: EnvironmentOutputs


class OutcomeInput(Frozen):
    """What the always-run `record` step stores: final status, outputs and, on failure, the reason."""

    environment_id: str
    status: EnvironmentStatus
    outputs: EnvironmentOutputs
    error: ErrorInfo | None = None
    finished_at: datetime
