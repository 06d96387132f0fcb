"""Operations on an accepted environment: approve, cancel, retry a failed compensation, decommission, extend.

Each checks the environment's state first (409 when the operation makes no sense now) and then
talks to its workflow; Temporal update validators have the last word, so a stale read cannot
approve twice or retry what is not waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from roadbed.domain.errors import Conflict, TransientError
from roadbed.domain.expiry import Extension, expiry_workflow_id
from roadbed.domain.models import Approval, CompensationRetry, DecommissionInput, EnvironmentOutputs, EnvironmentStatus
from roadbed.domain.workflow_names import DECOMMISSION_WORKFLOW
from roadbed.storage import environments
from roadbed.storage.database import Database
from roadbed.storage.tables import EnvironmentRow
from roadbed.submission import provision_input_of
from roadbed.temporal import search_attributes_for

CANCELLABLE = {EnvironmentStatus.PENDING_APPROVAL.value, EnvironmentStatus.RUNNING.value}


def decommission_workflow_id(row: EnvironmentRow) -> str:
    return f"decommission/{row.service}/{row.environment}/{row.id}"


class EnvironmentLifecycle:
    def __init__(self, database: Database, client: Client, task_queue: str) -> None:
        self.database = database
        self.client = client
        self.task_queue = task_queue

    def _row(self, environment_id: str) -> EnvironmentRow:
        with self.database.transaction() as session:
            return environments.get_environment(session, environment_id)

    async def load(self, environment_id: str) -> EnvironmentRow:
        return await asyncio.to_thread(self._row, environment_id)

    async def approve(self, row: EnvironmentRow, approver: str, comment: str | None) -> None:
        if row.status != EnvironmentStatus.PENDING_APPROVAL.value:
            raise Conflict(f"environment {row.id} is {row.status}, not waiting for approval")
        await self._update(row.workflow_id, "approve", Approval(approver=approver, comment=comment))

    async def cancel(self, row: EnvironmentRow) -> None:
        if row.status not in CANCELLABLE:
            raise Conflict(f"environment {row.id} is {row.status}; only PENDING_APPROVAL or RUNNING requests can be cancelled")
        try:
            await self.client.get_workflow_handle(row.workflow_id).cancel()
        except RPCError as exc:
            raise _translate(exc, row.workflow_id) from exc

    async def retry(self, row: EnvironmentRow, requested_by: str) -> None:
        if row.status != EnvironmentStatus.FAILED.value:
            raise Conflict(f"environment {row.id} is {row.status}; only FAILED compensations can be retried")
        workflow_id = decommission_workflow_id(row)
        if not await self._is_running(workflow_id):
            workflow_id = row.workflow_id
        await self._update(workflow_id, "retry", CompensationRetry(requested_by=requested_by))

    def _claim(self, environment_id: str, expected: EnvironmentStatus, new: EnvironmentStatus) -> bool:
        with self.database.transaction() as session:
            return environments.compare_and_set_status(session, environment_id, expected, new)

    async def decommission(self, row: EnvironmentRow, requested_by: str, purge: bool, end_expiry: bool = True) -> str:
        """Mark the environment COMPENSATING (only from SUCCEEDED: one decommission wins), then start the workflow.

        An ephemeral environment's expiry workflow is ended too (`end_expiry`; not when that workflow is the caller)."""
        if not await asyncio.to_thread(self._claim, row.id, EnvironmentStatus.SUCCEEDED, EnvironmentStatus.COMPENSATING):
            raise Conflict(f"environment {row.id} is {row.status}; only SUCCEEDED environments can be decommissioned")
        try:
            workflow_id = await self._start_decommission(row, requested_by, purge)
        except BaseException:
            await asyncio.to_thread(self._claim, row.id, EnvironmentStatus.COMPENSATING, EnvironmentStatus.SUCCEEDED)
            raise
        if end_expiry and provision_input_of(row).ttl_seconds:
            with contextlib.suppress(RPCError):  # already ended (or never started): nothing left to stop
                await self.client.get_workflow_handle(expiry_workflow_id(row.id)).cancel()
        return workflow_id

    async def extend(self, row: EnvironmentRow, by_seconds: int, requested_by: str) -> datetime:
        """Move an ephemeral environment's expiry later (the expiry workflow's `extend` update); the new `expires_at`.

        409 for an environment without a `ttl`, one that is not SUCCEEDED, or one already expiring."""
        if not provision_input_of(row).ttl_seconds:
            raise Conflict(f"environment {row.id} was requested without a ttl; there is no expiry to extend")
        if row.status != EnvironmentStatus.SUCCEEDED.value:
            raise Conflict(f"environment {row.id} is {row.status}; only a SUCCEEDED environment's expiry can be extended")
        workflow_id = expiry_workflow_id(row.id)
        try:
            handle = self.client.get_workflow_handle(workflow_id)
            return await handle.execute_update("extend", Extension(by_seconds=by_seconds, requested_by=requested_by), result_type=datetime)
        except WorkflowUpdateFailedError as exc:
            raise Conflict(getattr(exc.cause, "message", None) or str(exc.cause) or "extend was rejected") from exc
        except RPCError as exc:
            raise _translate(exc, workflow_id) from exc

    async def _start_decommission(self, row: EnvironmentRow, requested_by: str, purge: bool) -> str:
        data = DecommissionInput(
            provision=provision_input_of(row), outputs=EnvironmentOutputs.model_validate(row.outputs or {}), purge=purge, requested_by=requested_by
        )
        workflow_id = decommission_workflow_id(row)
        try:
            await self.client.start_workflow(
                DECOMMISSION_WORKFLOW,
                data,
                id=workflow_id,
                task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                search_attributes=search_attributes_for(row.service, row.team, row.golden_path, row.environment),
            )
        except RPCError as exc:
            raise _translate(exc, workflow_id) from exc
        return workflow_id

    async def _is_running(self, workflow_id: str) -> bool:
        try:
            description = await self.client.get_workflow_handle(workflow_id).describe()
        except RPCError:
            return False
        return description.status is not None and description.status.name == "RUNNING"

    async def _update(self, workflow_id: str, update: str, argument: object) -> None:
        try:
            await self.client.get_workflow_handle(workflow_id).execute_update(update, argument)
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            raise Conflict(getattr(cause, "message", None) or str(cause) or f"{update} was rejected") from exc
        except RPCError as exc:
            raise _translate(exc, workflow_id) from exc


def _translate(exc: RPCError, workflow_id: str) -> Exception:
    if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION, RPCStatusCode.ALREADY_EXISTS):
        return Conflict(f"workflow {workflow_id} cannot take this now: {exc.message}")
    return TransientError(f"Temporal refused: {exc.message}")
