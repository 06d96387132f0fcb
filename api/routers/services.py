"""`/v1/services`: who owns each service, and handing a service to another team (audited like every mutation)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from roadbed.api.deps import CurrentPrincipal, DbSession, SerializedSession, require_team
from roadbed.api.schemas import ERROR_RESPONSES
from roadbed.domain.naming import DNS_LABEL_MAX
from roadbed.storage import services
from roadbed.storage.tables import ServiceRow

router = APIRouter(prefix="/v1/services", tags=["services"], responses=ERROR_RESPONSES)


class ServiceView(BaseModel):
    service: str
    team: str = Field(description="the owning team: the only one (with platform-admins) that may act on the service")
    former_teams: list[str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: ServiceRow) -> ServiceView:
        return cls(service=row.name, team=row.team, former_teams=list(row.former_teams), created_at=row.created_at, updated_at=row.updated_at)


class TransferBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_team: str = Field(min_length=1, max_length=DNS_LABEL_MAX, pattern=r"^[a-z]([-a-z0-9]*[a-z0-9])?$", description="the team that will own the service")


@router.get("", response_model=list[ServiceView], summary="Services and their owning teams")
def list_services(session: DbSession, _principal: CurrentPrincipal, team: str | None = None) -> list[ServiceView]:
    return [ServiceView.of(row) for row in services.list_services(session, team)]


@router.get("/{service}", response_model=ServiceView, summary="One service's owner", responses={404: {"description": "No such service"}})
def get_service(service: str, session: DbSession, _principal: CurrentPrincipal) -> ServiceView:
    return ServiceView.of(services.require_service(session, service))


@router.post(
    "/{service}/transfer",
    response_model=ServiceView,
    summary="Hand a service, its environments and its catalog entities to another team (owning team or platform-admin)",
    responses={404: {"description": "No such service"}, 409: {"description": "An environment of the service is in flight"}},
)
def transfer_service(service: str, body: TransferBody, session: SerializedSession, principal: CurrentPrincipal) -> ServiceView:
    require_team(principal, services.require_service(session, service).team)
    return ServiceView.of(services.transfer(session, service, body.to_team, datetime.now(UTC)))
