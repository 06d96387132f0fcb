"""`EnvironmentExpiryWorkflow`: one per environment requested with a `ttl`, id `expiry/<environment id>`.

Started by the provision workflow when the environment reaches SUCCEEDED (a child it abandons), so it lives as
long as the environment does, on durable timers: a restart of Roadbed or months of waiting lose nothing.
It stores `expires_at`, sleeps until the warning time (records `expiry_warning`), then until expiry, and then
decommissions the environment exactly as `DELETE /v1/environments/{id}` does (the `expire_environment` activity
calls `EnvironmentLifecycle.decommission`) and records `expired`. The `extend` update moves the expiry later (and
records `extended`); a manual decommission cancels this workflow, which then simply ends.

Kept out of `ProvisionEnvironmentWorkflow` so the provision histories stay as they were.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from roadbed.domain.expiry import (
        EXPIRE_ENVIRONMENT,
        EXPIRY_WORKFLOW,
        RECORD_EXPIRY,
        EventType,
        ExpiryInput,
        ExpiryRecord,
        Extension,
        describe,
        expiry_workflow_id,
    )
    from roadbed.workflows.policies import RECORD_POLICY

WORKFLOW_NAME = EXPIRY_WORKFLOW
DEFAULT_WARNING_BEFORE = timedelta(days=1)  # ROADBED_TTL_WARNING_BEFORE's default, for an input that did not carry one
EXPIRE_TIMEOUT = timedelta(minutes=2)  # starting a decommission: a database write and a workflow start


@workflow.defn(name=WORKFLOW_NAME)
class EnvironmentExpiryWorkflow:
    @workflow.init
    def __init__(self, data: ExpiryInput) -> None:
        self._environment_id = data.environment_id
        self._expires_at = data.expires_at
        self._expiring = False

    @workflow.query(name="expires_at")
    def expires_at(self) -> datetime:
        return self._expires_at

    @workflow.update(name="extend")
    async def extend(self, extension: Extension) -> datetime:
        """Move the expiry `by_seconds` later; stored with an `extended` event before the caller hears back."""
        self._expires_at += timedelta(seconds=extension.by_seconds)
        message = f"extended by {describe(extension.by_seconds)} by {extension.requested_by}; now expires at {self._expires_at.isoformat()}"
        await self._record(EventType.EXTENDED, workflow.now(), message)
        return self._expires_at

    @extend.validator
    def _extend_only_before_expiry(self, extension: Extension) -> None:
        if self._expiring:
            raise ValueError("the environment has expired and is being decommissioned")
        if extension.by_seconds <= 0:
            raise ValueError("an extension must be longer than zero")

    @workflow.run
    async def run(self, data: ExpiryInput) -> str:
        try:
            await self._record(None, None, "")
            while True:
                await self._wait_for_expiry(data.warning_before)
                self._expiring = True
                await workflow.wait_condition(workflow.all_handlers_finished)  # an extension accepted just before
                if self._expires_at <= workflow.now():
                    break
                self._expiring = False
        except asyncio.CancelledError:
            return "ended: the environment was decommissioned by hand"
        expired = ExpiryRecord(
            environment_id=self._environment_id, expires_at=self._expires_at, event=EventType.EXPIRED, at=workflow.now(),
            message=f"expired at {self._expires_at.isoformat()}: decommissioned like a manual one (everything undone in reverse, repository archived)",
        )
        return await workflow.execute_activity(
            EXPIRE_ENVIRONMENT, expired, result_type=str, start_to_close_timeout=EXPIRE_TIMEOUT, retry_policy=RECORD_POLICY.retry
        )

    async def _wait_for_expiry(self, warning_before: timedelta) -> None:
        """Sleep until the warning time (record it), then until expiry; an extension wakes it to recompute both."""
        warned_for: datetime | None = None  # the expiry the last warning was about
        while (now := workflow.now()) < self._expires_at:
            warn_at = self._expires_at - warning_before
            if warned_for is not None and warned_for != self._expires_at and warn_at > now:
                warned_for = None  # extended past the warning time: warn again before the new expiry
            if warned_for is None and now >= warn_at:
                message = f"expires at {self._expires_at.isoformat()} (in {describe((self._expires_at - now).total_seconds())})"
                await self._record(EventType.EXPIRY_WARNING, now, message)
                warned_for = self._expires_at
                continue
            deadline = self._expires_at if warned_for is not None else warn_at
            with contextlib.suppress(TimeoutError):  # woken early by an extension, or on time
                await workflow.wait_condition(lambda before=self._expires_at: self._expires_at != before, timeout=deadline - now)

    async def _record(self, event: EventType | None, at: datetime | None, message: str) -> None:
        record = ExpiryRecord(environment_id=self._environment_id, expires_at=self._expires_at, event=event, at=at, message=message)
        await workflow.execute_activity(RECORD_EXPIRY, record, start_to_close_timeout=RECORD_POLICY.start_to_close, retry_policy=RECORD_POLICY.retry)


async def start_expiry(environment_id: str, ttl_seconds: int, warning_before: timedelta | None) -> None:
    """From the provision workflow at SUCCEEDED: start this environment's expiry as a child it abandons (it outlives
    the provisioning run). Expiry counts from now; a start already made (a replayed task) is not repeated."""
    data = ExpiryInput(
        environment_id=environment_id,
        expires_at=workflow.now() + timedelta(seconds=ttl_seconds),
        warning_before=warning_before if warning_before is not None else DEFAULT_WARNING_BEFORE,
    )
    try:
        await workflow.start_child_workflow(
            EXPIRY_WORKFLOW, data, id=expiry_workflow_id(environment_id), parent_close_policy=workflow.ParentClosePolicy.ABANDON
        )
    except WorkflowAlreadyStartedError:
        workflow.logger.info("expiry of %s already started", environment_id)
