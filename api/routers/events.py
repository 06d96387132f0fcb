"""`/v1/events`: deployments and incidents reported by any tool (DORA inputs).

Both endpoints are idempotent on the event's identity (`id`; for a deployment without one, a digest of
its fields): the same event again answers 200 with the stored event and changes nothing; a new one
answers 201. Writers only: `developer` and `platform-admin` tokens (deployment events name services, not
teams, so a developer may report for any service); `viewer` tokens get 403.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from roadbed.api.deps import CurrentPrincipal, DbSession, require_service_owner, require_team
from roadbed.api.errors import ApiError
from roadbed.api.responses import DeploymentEventView, IncidentEventView
from roadbed.api.schemas import ERROR_RESPONSES
from roadbed.auth import Principal, Role
from roadbed.metrics.sources import Moment, Printable
from roadbed.storage import events
from roadbed.storage.tables import DeploymentRow, IncidentRow

router = APIRouter(prefix="/v1/events", tags=["events"], responses=ERROR_RESPONSES)

ENVIRONMENT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


def require_writer(principal: Principal) -> None:
    if principal.role not in (Role.DEVELOPER, Role.PLATFORM_ADMIN):
        raise ApiError(403, "forbidden", f"token {principal.token_id} ({principal.role}) may not report events")


class DeploymentEventBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    service: Printable = Field(min_length=1, max_length=255)
    environment: str = Field(min_length=1, max_length=63, pattern=ENVIRONMENT_PATTERN)
    commit_sha: Printable = Field(min_length=1, max_length=100)
    commit_time: Moment
    deployed_at: Moment
    status: Literal["success", "failure", "rolled_back"]
    id: Printable | None = Field(default=None, min_length=1, max_length=255)
    team: Printable | None = Field(default=None, min_length=1, max_length=63)
    version: Printable | None = Field(default=None, max_length=128)
    started_at: Moment | None = None


class IncidentEventBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    service: Printable = Field(min_length=1, max_length=255)
    id: Printable = Field(min_length=1, max_length=255)
    opened_at: Moment
    resolved_at: Moment | None = None
    caused_by_deployment: Printable | None = Field(default=None, min_length=1, max_length=255)
    environment: str | None = Field(default=None, min_length=1, max_length=63, pattern=ENVIRONMENT_PATTERN)
    title: Printable | None = Field(default=None, max_length=500)

    @field_validator("resolved_at")
    @classmethod
    def _not_before_opened(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        opened = info.data.get("opened_at")
        if value is not None and opened is not None and value < opened:
            raise ValueError("must not be before opened_at")
        return value


def deployment_view(row: DeploymentRow, outcome: str) -> dict[str, Any]:
    return {
        "id": row.key,
        "service": row.service,
        "environment": row.environment,
        "team": row.team,
        "version": row.version,
        "commit_sha": row.commit_sha,
        "commit_time": row.commit_time,
        "deployed_at": row.deployed_at,
        "status": row.status,
        "source": row.source,
        "outcome": outcome,
    }


def incident_view(row: IncidentRow, outcome: str) -> dict[str, Any]:
    return {
        "id": row.key,
        "service": row.service,
        "environment": row.environment,
        "title": row.title,
        "opened_at": row.opened_at,
        "resolved_at": row.resolved_at,
        "caused_by_deployment": row.caused_by_deployment,
        "source": row.source,
        "outcome": outcome,
    }


@router.post("/deployments", status_code=201, response_model=DeploymentEventView, responses={200: {"model": DeploymentEventView, "description": "Already stored: the stored event, nothing changed"}},
             summary="Report a deployment (idempotent on id)")
def post_deployment(body: DeploymentEventBody, principal: CurrentPrincipal, session: DbSession, response: Response) -> dict[str, Any]:
    require_writer(principal)
    event = events.DeploymentEvent(
        key=body.id,
        source="api",
        service=body.service,
        environment=body.environment,
        commit_sha=body.commit_sha,
        commit_time=body.commit_time,
        started_at=body.started_at,
        deployed_at=body.deployed_at,
        status=body.status,
        team=body.team,
        version=body.version,
    )

    if body.team is not None:
        require_team(principal, body.team)
    require_service_owner(principal, session, body.service)
    view = deployment_view(*events.record_deployment(session, event, datetime.now(UTC)))
    if view["outcome"] != "created":
        response.status_code = 200
    return view


@router.post("/incidents", status_code=201, response_model=IncidentEventView, responses={200: {"model": IncidentEventView, "description": "Already stored, or updated with its resolution"}},
             summary="Report an incident or its resolution (idempotent on id)")
def post_incident(body: IncidentEventBody, principal: CurrentPrincipal, session: DbSession, response: Response) -> dict[str, Any]:
    require_writer(principal)
    event = events.IncidentEvent(
        key=body.id,
        source="api",
        service=body.service,
        environment=body.environment,
        title=body.title,
        opened_at=body.opened_at,
        resolved_at=body.resolved_at,
        caused_by_deployment=body.caused_by_deployment,
    )
    require_service_owner(principal, session, body.service)
    view = incident_view(*events.record_incident(session, event, datetime.now(UTC), authoritative=True))
    if view["outcome"] != "created":
        response.status_code = 200
    return view
