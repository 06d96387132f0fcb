"""`/v1/services/{service}/deployments`: roll a version out through the platform (a DORA input)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from roadbed.api.deps import CurrentPrincipal, State
from roadbed.api.errors import ApiError
from roadbed.api.responses import DeploymentStarted, DeploymentState
from roadbed.api.schemas import ERROR_RESPONSES
from roadbed.deployments import Deployments

router = APIRouter(prefix="/v1/services/{service}/deployments", tags=["deployments"], responses=ERROR_RESPONSES)


class DeploymentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    environment: str = Field(pattern=r"^(dev|staging|prod)$")
    version: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", description="image tag to run")
    commit_sha: str = Field(pattern=r"^[0-9a-fA-F]{7,64}$")
    commit_time: datetime | None = None
    id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:-]{1,100}$", description="idempotency key")


async def _deployments(state: Any) -> Deployments:
    return Deployments(state.database, await state.temporal(), state.settings.task_queue)


@router.post("", status_code=202, response_model=DeploymentStarted, summary="Deploy a version; a failed rollout is rolled back and counted as a failed change",
             responses={404: {"description": "No such environment"}, 409: {"description": "Environment not SUCCEEDED"}})
async def create_deployment(service: str, body: DeploymentRequest, state: State, principal: CurrentPrincipal) -> JSONResponse:
    deployments = await _deployments(state)
    row = await deployments.target(service, body.environment)
    if not principal.can_deploy(service, row.team):  # the owning team, an admin, or this service's own deployer token
        raise ApiError(403, "forbidden", f"token {principal.token_id} ({principal.role}) may not deploy {service!r}")
    deployment_id = await deployments.start(row, body.version, body.commit_sha, body.commit_time, body.id)
    view = {"id": deployment_id, "service": service, "environment": body.environment, "version": body.version, "status": "RUNNING"}
    return JSONResponse(status_code=202, content=view, headers={"Location": f"/v1/services/{service}/deployments/{deployment_id}?environment={body.environment}"})


@router.get("/{deployment_id}", response_model=DeploymentState, response_model_exclude_unset=True,
            summary="One deployment: RUNNING, or its outcome (success, rolled_back, failure)")
async def get_deployment(service: str, deployment_id: str, environment: str, state: State, _principal: CurrentPrincipal) -> dict[str, Any]:
    return await (await _deployments(state)).describe(service, environment, deployment_id)
