"""`/v1/services/{service}/upgrades` and `/v1/upgrades/{id}`: bring a service's repository to a newer golden-path
version by a three-way merge (roadbed.upgrades), as a dry run or on a branch (CONTRACT.md, "Day 2").

Only the owning team's developers and platform-admins may ask (403 otherwise); anyone with a token may read an
upgrade. The dry run and the request's validation plan in the API (the same code the workflow runs), so a missing
required parameter of the new version is a 422 naming it and nothing is started.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError

from roadbed.api.deps import CurrentPrincipal, DbSession, State, require_team
from roadbed.api.schemas import ERROR_RESPONSES
from roadbed.domain.errors import Conflict, TransientError
from roadbed.storage import services
from roadbed.techdocs.service import repo_host_for
from roadbed.upgrades import records
from roadbed.upgrades.contracts import UPGRADE_WORKFLOW, UpgradeInput
from roadbed.upgrades.plan import UpgradePlan, plan_upgrade
from roadbed.upgrades.tables import UpgradeRow

router = APIRouter(tags=["upgrades"], responses=ERROR_RESPONSES)


class UpgradeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_version: str | None = Field(default=None, max_length=64, description="the golden-path version to upgrade to (default: its current one)")
    parameters: dict[str, Any] = Field(default_factory=dict, description="values for parameters the new version adds (merged over the recorded ones)")
    dry_run: bool = Field(default=False, description="answer with the per-file result and write nothing")


class FileChange(BaseModel):
    path: str
    result: str = Field(description="clean|merged|conflict|deleted|kept-deleted|added")


class UpgradePreview(BaseModel):
    from_version: str
    to_version: str
    files: list[FileChange]


class UpgradeStarted(BaseModel):
    id: str


class UpgradeView(BaseModel):
    id: str
    service: str
    from_version: str
    to_version: str
    status: str = Field(description="PENDING|OPEN|MERGED|CLOSED|FAILED")
    branch: str
    pull_request_url: str | None = None
    files: list[FileChange]
    error: str | None = None

    @classmethod
    def of(cls, row: UpgradeRow) -> UpgradeView:
        return cls(
            id=row.id, service=row.service, from_version=row.from_version, to_version=row.to_version, status=row.status, branch=row.branch,
            pull_request_url=row.pull_request_url, files=[FileChange(**f) for f in row.files], error=row.error,
        )


def workflow_id(upgrade_id: str) -> str:
    return f"upgrade-{upgrade_id}"


async def _plan(state: Any, service: str, body: UpgradeRequest) -> UpgradePlan:
    host = repo_host_for(state.settings)
    try:
        return await run_in_threadpool(plan_upgrade, state.database, state.golden_paths, host, service, body.to_version, body.parameters)
    finally:
        close = getattr(host, "close", None)  # GitHub: its per-thread clients
        if close is not None:
            close()


@router.post(
    "/v1/services/{service}/upgrades", status_code=202, response_model=UpgradeStarted,
    summary="Upgrade a service's repository to a golden-path version by a three-way merge, on a branch (dry_run: the per-file result, 200)",
    responses={200: {"model": UpgradePreview, "description": "dry run: what the upgrade would do, nothing written"},
               404: {"description": "No such service"}, 409: {"description": "Already on that version"}},
)
async def request_upgrade(service: str, body: UpgradeRequest, state: State, principal: CurrentPrincipal) -> JSONResponse:
    with state.database.transaction() as session:
        require_team(principal, services.require_service(session, service).team)
    plan = await _plan(state, service, body)
    if body.dry_run:
        preview = UpgradePreview(from_version=plan.service.version, to_version=plan.to_version, files=[FileChange(**f) for f in plan.files()])
        return JSONResponse(status_code=200, content=preview.model_dump())
    if plan.to_version == plan.service.version:
        raise Conflict(f"service {service!r} is already on {plan.service.golden_path} {plan.to_version}")
    values = {
        "service": service, "team": plan.service.team, "golden_path": plan.service.golden_path, "from_version": plan.service.version,
        "to_version": plan.to_version, "branch": plan.branch, "parameters": plan.parameters, "files": plan.files(),
    }
    row, _created = records.open_or_existing(state.database, values, datetime.now(UTC))
    data = UpgradeInput(upgrade_id=row.id, service=service, to_version=plan.to_version, parameters=body.parameters)
    try:  # asked again: a finished run runs again (the branch follows the default branch), a running one is joined
        await (await state.temporal()).start_workflow(
            UPGRADE_WORKFLOW, data, id=workflow_id(row.id), task_queue=state.settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    except RPCError as exc:
        raise TransientError(f"could not start the upgrade: {exc.message}") from exc
    return JSONResponse(status_code=202, content={"id": row.id}, headers={"Location": f"/v1/upgrades/{row.id}"})


@router.get("/v1/upgrades/{upgrade_id}", response_model=UpgradeView, summary="One upgrade: its branch, status and per-file result",
            responses={404: {"description": "No such upgrade"}})
def get_upgrade(upgrade_id: str, session: DbSession, _principal: CurrentPrincipal) -> UpgradeView:
    return UpgradeView.of(records.require(session, upgrade_id))


@router.post("/v1/upgrades/{upgrade_id}/merged", response_model=UpgradeView,
             summary="Say the upgrade branch was merged: the service is on the new version (owning team or platform-admin)",
             responses={404: {"description": "No such upgrade"}, 409: {"description": "The upgrade is not OPEN"}})
def upgrade_merged(upgrade_id: str, session: DbSession, principal: CurrentPrincipal) -> UpgradeView:
    require_team(principal, services.require_service(session, records.require(session, upgrade_id).service).team)
    return UpgradeView.of(records.mark_merged(session, upgrade_id, datetime.now(UTC)))
