"""Upgrade campaigns (`/v1/golden-paths/{name}/upgrades`, `/v1/campaigns/{id}`) and actions on a service
(`/v1/services/{service}/actions`, `/v1/actions/{id}`): CONTRACT.md, "Day 2" → "Upgrades and actions".

A campaign upgrades services of many teams at once, so only a platform-admin may start one (a developer upgrades
their own services one by one, `POST /v1/services/{service}/upgrades`). An action changes one service's repository:
its owning team's developers or a platform-admin. Anyone with a token may read either. Both validate before they
start anything: an unknown version or bad parameters are a 422 naming the field, and nothing runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError

from roadbed.api.deps import CurrentPrincipal, DbSession, State, require_team
from roadbed.api.errors import ApiError
from roadbed.api.schemas import ERROR_RESPONSES
from roadbed.auth import Role
from roadbed.domain.errors import TransientError
from roadbed.storage import services
from roadbed.upgrades import actions, campaigns
from roadbed.upgrades.contracts import ACTION_WORKFLOW, CAMPAIGN_WORKFLOW, ActionInput, CampaignInput

router = APIRouter(tags=["upgrades"], responses=ERROR_RESPONSES)


class CampaignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_version: str = Field(max_length=64, description="the golden-path version every service on it is upgraded to")
    max_concurrent: int = Field(default=4, ge=1, le=50, description="how many services are upgraded at once")


class Started(BaseModel):
    id: str


class CampaignService(BaseModel):
    model_config = ConfigDict(extra="allow")

    service: str
    status: str = Field(description="PENDING|RUNNING|SKIPPED|FAILED, then the upgrade's own status (OPEN, MERGED, ...)")
    upgrade_id: str | None = None


class CampaignView(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    golden_path: str
    to_version: str
    status: str = Field(description="RUNNING|DONE")
    services: list[CampaignService]
    summary: dict[str, Any] = Field(description="services per status, and the services whose upgrade has conflicts")
    max_in_flight: int = Field(description="the most upgrades the campaign had running at once (never above max_concurrent)")


class ActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template: str = Field(max_length=128, description="an action template (`action: true` in /v1/golden-paths)")
    parameters: dict[str, Any] = Field(default_factory=dict, description="validated by the template's JSON Schema")


class ActionStarted(BaseModel):
    id: str
    branch: str
    pull_request_url: str | None = None


class ActionView(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    service: str
    template: str
    status: str = Field(description="PENDING|OPEN|FAILED")
    branch: str
    pull_request_url: str | None = None
    files: list[dict[str, str]] = Field(description="`[{path, result: added|changed}]`: what the branch changes")
    error: str | None = None


async def _start(state: Any, workflow: str, data: BaseModel, workflow_id: str) -> None:
    try:
        await (await state.temporal()).start_workflow(
            workflow, data, id=workflow_id, task_queue=state.settings.task_queue, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except RPCError as exc:
        raise TransientError(f"could not start {workflow}: {exc.message}") from exc


@router.post(
    "/v1/golden-paths/{name}/upgrades", status_code=202, response_model=Started,
    summary="Upgrade every service on a golden path to a version, max_concurrent at a time (platform-admin)",
    responses={404: {"description": "No such golden path"}},
)
async def start_campaign(name: str, body: CampaignRequest, state: State, principal: CurrentPrincipal) -> JSONResponse:
    if principal.role is not Role.PLATFORM_ADMIN:
        raise ApiError(403, "forbidden", f"token {principal.token_id} ({principal.role}) may not start a campaign: it upgrades every team's services")
    row = await run_in_threadpool(
        campaigns.create, state.database, state.golden_paths, name, body.to_version, body.max_concurrent, principal.token_id, datetime.now(UTC),
    )
    data = CampaignInput(campaign_id=row.id, services=[entry["service"] for entry in row.services], to_version=row.to_version, max_concurrent=row.max_concurrent)
    await _start(state, CAMPAIGN_WORKFLOW, data, f"campaign-{row.id}")
    return JSONResponse(status_code=202, content={"id": row.id}, headers={"Location": f"/v1/campaigns/{row.id}"})


@router.get("/v1/campaigns/{campaign_id}", response_model=CampaignView, summary="One campaign: each service's upgrade and a summary",
            responses={404: {"description": "No such campaign"}})
def get_campaign(campaign_id: str, session: DbSession, _principal: CurrentPrincipal) -> dict[str, Any]:
    return campaigns.view(session, campaigns.require(session, campaign_id))


@router.post(
    "/v1/services/{service}/actions", status_code=202, response_model=ActionStarted,
    summary="Run an action template on a service: its files as a branch (a pull request on GitHub), no new repository or environment",
    responses={404: {"description": "No such service, or it has no repository"}},
)
async def start_action(service: str, body: ActionRequest, state: State, principal: CurrentPrincipal) -> JSONResponse:
    with state.database.transaction() as session:
        require_team(principal, services.require_service(session, service).team)
    plan = await run_in_threadpool(actions.plan_action, state.database, state.golden_paths, service, body.template, body.parameters)
    row = actions.create(state.database, plan, body.parameters, datetime.now(UTC))
    await _start(state, ACTION_WORKFLOW, ActionInput(action_id=row.id), f"action-{row.id}")
    return JSONResponse(status_code=202, content={"id": row.id, "branch": row.branch}, headers={"Location": f"/v1/actions/{row.id}"})


@router.get("/v1/actions/{action_id}", response_model=ActionView, summary="One action: its branch, pull request and files",
            responses={404: {"description": "No such action"}})
def get_action(action_id: str, state: State, _principal: CurrentPrincipal) -> dict[str, Any]:
    return actions.view(actions.require(state.database, action_id))
