"""Starting and reading deployments of a provisioned environment (`DeployServiceWorkflow`)."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from roadbed.domain.errors import Conflict, FieldError, InvalidRequest, NotFound, TransientError
from roadbed.domain.models import DeployInput, DeployResult, EnvironmentOutputs, EnvironmentStatus
from roadbed.domain.workflow_names import DEPLOY_WORKFLOW
from roadbed.environment_specs import BOOTSTRAP_VERSION
from roadbed.storage import environments
from roadbed.storage.database import Database
from roadbed.storage.tables import EnvironmentRow
from roadbed.submission import provision_input_of
from roadbed.temporal import search_attributes_for


def deployment_workflow_id(service: str, environment: str, deployment_id: str) -> str:
    return f"deploy/{service}/{environment}/{deployment_id}"


class Deployments:
    def __init__(self, database: Database, client: Client, task_queue: str) -> None:
        self.database = database
        self.client = client
        self.task_queue = task_queue

    def _target(self, service: str, environment: str) -> EnvironmentRow:
        with self.database.transaction() as session:
            row = environments.find_live(session, service, environment)
        if row is None:
            raise NotFound(f"service {service!r} has no {environment!r} environment")
        if row.status != EnvironmentStatus.SUCCEEDED.value:
            raise Conflict(f"{service}/{environment} is {row.status}; deployments need a SUCCEEDED environment")
        return row

    async def target(self, service: str, environment: str) -> EnvironmentRow:
        return await asyncio.to_thread(self._target, service, environment)

    async def start(self, row: EnvironmentRow, version: str, commit_sha: str, commit_time: datetime | None, deployment_id: str | None = None) -> str:
        if version == BOOTSTRAP_VERSION:  # reserved: it names the golden path's bootstrap image, not a published one
            raise InvalidRequest([FieldError("version", f"{BOOTSTRAP_VERSION!r} is reserved for the bootstrap image")])
        deployment_id = deployment_id or f"dep-{int(datetime.now(UTC).timestamp() * 1000):011x}{secrets.token_hex(4)}"
        data = DeployInput(
            deployment_id=deployment_id,
            provision=provision_input_of(row),
            outputs=EnvironmentOutputs.model_validate({k: v for k, v in (row.outputs or {}).items() if k in EnvironmentOutputs.model_fields}),
            version=version,
            previous_version=str((row.outputs or {}).get("deployed_version") or BOOTSTRAP_VERSION),  # nothing deployed yet: back to the bootstrap image
            commit_sha=commit_sha,
            commit_time=commit_time,
            requested_at=datetime.now(UTC),
        )
        try:
            await self.client.start_workflow(
                DEPLOY_WORKFLOW, data, id=deployment_workflow_id(row.service, row.environment, deployment_id), task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                search_attributes=search_attributes_for(row.service, row.team, row.golden_path, row.environment),
            )
        except RPCError as exc:
            raise TransientError(f"could not start the deployment: {exc.message}") from exc
        return deployment_id

    async def describe(self, service: str, environment: str, deployment_id: str) -> dict[str, Any]:
        handle = self.client.get_workflow_handle(deployment_workflow_id(service, environment, deployment_id), result_type=DeployResult)
        try:
            description = await handle.describe()
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                raise NotFound(f"deployment {deployment_id!r} of {service}/{environment} not found") from exc
            raise TransientError(f"Temporal refused: {exc.message}") from exc
        view: dict[str, Any] = {"id": deployment_id, "service": service, "environment": environment, "workflow_id": handle.id}
        if description.status is WorkflowExecutionStatus.COMPLETED:
            return view | (await handle.result()).model_dump(mode="json")
        if description.status is WorkflowExecutionStatus.RUNNING:
            return view | {"status": "RUNNING", "phase": await handle.query("phase")}
        return view | {"status": description.status.name if description.status else "UNKNOWN"}
