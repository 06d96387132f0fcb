"""The workflow audits the operator actions it accepts, however they reached it.

An approval or a compensation retry can be sent straight to Temporal (bypassing the API and its
audit middleware), so the workflow writes the entry itself: `method` WORKFLOW, `path`
`<action> <environment id>`, the approver or requester as actor, and the update id as request id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError

from roadbed.activities.contracts import AuditEntry
from roadbed.activities.recording import RecordingActivities
from roadbed.domain.models import Approval, CompensationRetry, ProvisionProgress, ProvisionResult
from roadbed.storage.database import Database
from roadbed.storage.tables import AuditRow
from roadbed.submission import EnvironmentSubmitter
from tests.workflows.test_cancel import replays
from tests.workflows.test_provision import request_body
from tests.workflows.test_saga import wait_status

pytestmark = pytest.mark.asyncio(loop_scope="session")
StartWorker = Callable[..., AbstractAsyncContextManager[None]]


def audit_rows(database: Database) -> list[tuple[str, str | None, str, str, int, str]]:
    with database.transaction() as session:
        rows = session.scalars(select(AuditRow).order_by(AuditRow.id))
        return [(r.request_id, r.actor, r.method, r.path, r.status, r.outcome) for r in rows]


async def wait_for_approval_wait(handle: WorkflowHandle[Any, Any], timeout: float = 30) -> None:
    """The run must have started waiting: an `approve` in its very first workflow task is refused by the validator."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            if (await handle.query("progress", result_type=ProvisionProgress)).status == "PENDING_APPROVAL":
                return
        except WorkflowQueryFailedError:
            pass
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)


async def test_an_approval_sent_straight_to_temporal_is_audited(
    worker: None, submitter: EnvironmentSubmitter, client: Client, database: Database
) -> None:
    row, _ = await submitter.submit(request_body(environment="prod"))
    handle = client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult)
    await wait_for_approval_wait(handle)
    await handle.execute_update("approve", Approval(approver="tok_direct", comment="no API involved"), id="upd-approve-1")
    assert audit_rows(database) == [("upd-approve-1", "tok_direct", "WORKFLOW", f"environment.approved {row.id}", 200, "success")]
    assert (await handle.result()).status == "SUCCEEDED"
    assert len(audit_rows(database)) == 1
    await replays(client, row.workflow_id)


async def test_a_retry_sent_straight_to_temporal_is_audited(
    start_worker: StartWorker, submitter: EnvironmentSubmitter, client: Client, database: Database
) -> None:
    async with start_worker("catalog:permanent,infrastructure.compensate:permanent"):
        row, _ = await submitter.submit(request_body())
        await wait_status(database, row.id, {"FAILED"})
    handle = client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult)
    async with start_worker():
        await handle.execute_update("retry", CompensationRetry(requested_by="tok_ops"), id="upd-retry-1")
        assert (await handle.result()).status == "COMPENSATED"
        await replays(client, row.workflow_id)
    assert audit_rows(database) == [("upd-retry-1", "tok_ops", "WORKFLOW", f"environment.compensation_retried {row.id}", 200, "success")]


async def test_a_retried_audit_write_is_not_doubled(database: Database) -> None:
    """Activities are at-least-once: the same entry written twice (a lost completion) leaves one row."""
    entry = AuditEntry(request_id="upd-1", actor="tok_admin", action="environment.approved", target="env-1", at=datetime.now(UTC))
    recording = RecordingActivities(database)
    recording.record_audit(entry)
    recording.record_audit(entry)
    assert audit_rows(database) == [("upd-1", "tok_admin", "WORKFLOW", "environment.approved env-1", 200, "success")]
