"""Shared workflow machinery: recording status, and undoing steps in reverse order (the saga).

A compensation that keeps failing does not end the workflow: the environment is recorded
`FAILED` with the reason and the workflow waits, durably, for a `retry` update once an operator
has fixed the cause; compensation then resumes where it stopped. Compensation activities are
shielded from workflow cancellation, so a second cancel cannot leave a half-undone environment.

Operator actions that reach a workflow (approve, retry) are written to the audit log by the workflow
itself (`record_audit`), since they can be sent to Temporal without passing through the API. The
call is new in the command sequence, so it sits behind `workflow.patched(AUDIT_PATCH)`: runs started
before it replay without it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from roadbed.activities.contracts import (
        COMPENSATION_ACTIVITIES,
        RECORD_AUDIT,
        RECORD_STATUS,
        AuditEntry,
        CompensationInput,
        StatusUpdate,
        StepResult,
    )
    from roadbed.domain.models import CompensationRetry, EnvironmentStatus, ErrorInfo, StepName
    from roadbed.workflows.policies import COMPENSATION_POLICIES, RECORD_POLICY
    from roadbed.workflows.queues import queue_options

T = TypeVar("T")
AUDIT_PATCH = "audit-operator-actions-from-workflow"


def error_info(step: StepName | None, error: BaseException, prefix: str = "") -> ErrorInfo:
    """The failing step, the error class and message — from the innermost application failure."""
    cause: BaseException | None = error
    while isinstance(cause, ActivityError) and cause.cause is not None:
        cause = cause.cause
    if isinstance(cause, ApplicationError):
        error_class, message = cause.type or "ApplicationError", cause.message
    else:
        error_class, message = type(cause).__name__, str(cause)
    return ErrorInfo(step=step.value if step else None, error_class=error_class, message=prefix + message)


async def record_status(update: StatusUpdate) -> None:
    await workflow.execute_activity(
        RECORD_STATUS, update, start_to_close_timeout=RECORD_POLICY.start_to_close, retry_policy=RECORD_POLICY.retry
    )


async def record_audit(environment_id: str, actor: str, action: str) -> None:
    """Audit an operator action the workflow accepted, keyed by the update's id (idempotent write).

    Guarded: a run whose history predates the audit step replays without it."""
    if not workflow.patched(AUDIT_PATCH):
        return
    update = workflow.current_update_info()
    request_id = update.id if update is not None else workflow.info().workflow_id
    entry = AuditEntry(request_id=request_id, actor=actor, action=action, target=environment_id, at=workflow.now())
    await workflow.execute_activity(
        RECORD_AUDIT, entry, start_to_close_timeout=RECORD_POLICY.start_to_close, retry_policy=RECORD_POLICY.retry
    )


async def shielded(make: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
    """Await to completion even if the workflow is cancelled meanwhile; also says whether it was."""
    task = asyncio.ensure_future(make())
    cancelled = False
    while True:
        try:
            return await asyncio.shield(task), cancelled
        except asyncio.CancelledError:
            if task.cancelled():
                raise
            cancelled = True


class Saga:
    """Undo stack of a workflow run; `undo_all` drives it to empty, waiting for retries on failure."""

    def __init__(self, environment_id: str) -> None:
        self.environment_id = environment_id
        self.registered: list[StepName] = []
        self.retry_requested = False
        self.waiting_for_retry = False
        self.cancel_requested = False
        self.on_step: Callable[[StepName, str], None] = lambda _step, _status: None

    async def accept_retry(self, request: CompensationRetry) -> None:
        """The `retry` update's body, shared by both workflows: resume compensation, and audit who asked."""
        self.retry_requested = True
        await record_audit(self.environment_id, request.requested_by, "environment.compensation_retried")

    def register(self, step: StepName) -> None:
        """Called *before* the step runs: a half-done step needs its undo too."""
        if step in COMPENSATION_ACTIVITIES and step not in self.registered:
            self.registered.append(step)

    async def undo_all(self, data: CompensationInput, error: ErrorInfo | None) -> ErrorInfo | None:
        """Undo every registered step, newest first. Returns the last compensation failure that was retried, if any."""
        last_failure: ErrorInfo | None = None
        while self.registered:
            step = self.registered[-1]
            policy = COMPENSATION_POLICIES[step]
            self.on_step(step, "compensating")
            try:
                _result, cancelled = await shielded(
                    lambda step=step, policy=policy: workflow.execute_activity(
                        COMPENSATION_ACTIVITIES[step], data, result_type=StepResult, **policy.activity_options(), **queue_options(step, data.provision)
                    )
                )
                self.cancel_requested |= cancelled
            except ActivityError as failure:
                last_failure = error_info(step, failure, prefix=f"compensation of {step.value} failed: ")
                self.on_step(step, "failed")
                await self._wait_for_retry(last_failure)
                continue
            self.registered.pop()
            self.on_step(step, "compensated")
        return last_failure

    async def _wait_for_retry(self, failure: ErrorInfo) -> None:
        # Ready for a retry before FAILED is visible: the SDK runs an update's validator ahead of the activity result
        # that arrives in the same activation, so a retry sent as soon as the database says FAILED must find this set
        # (a retry accepted while the status is being recorded is kept: the wait below ends at once).
        self.retry_requested = False
        self.waiting_for_retry = True
        await record_status(StatusUpdate(environment_id=self.environment_id, status=EnvironmentStatus.FAILED, error=failure))
        _none, cancelled = await shielded(lambda: workflow.wait_condition(lambda: self.retry_requested))
        self.cancel_requested |= cancelled
        self.waiting_for_retry = False
        await record_status(StatusUpdate(environment_id=self.environment_id, status=EnvironmentStatus.COMPENSATING, error=failure))
