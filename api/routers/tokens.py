"""`/v1/tokens`: API tokens managed through the API (platform-admin only), so each change is audited and lands in
the database the API serves, wherever `ROADBED_API_URL` points (CONTRACT.md, "Processes and commands").

A token is shown once, in the answer to its creation; only its SHA-256 hash is stored, and neither the token nor
its hash is ever listed. The audit trail records method, path, status and actor, never a body, so it cannot hold one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, model_validator

from roadbed.api.deps import CurrentPrincipal, DbSession, SerializedSession
from roadbed.api.errors import ApiError
from roadbed.api.schemas import ERROR_RESPONSES
from roadbed.auth import Principal, Role
from roadbed.domain.naming import DNS_LABEL_MAX
from roadbed.storage import services, tokens
from roadbed.storage.tables import ApiTokenRow

router = APIRouter(prefix="/v1/tokens", tags=["tokens"], responses=ERROR_RESPONSES)
TEAM_PATTERN = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"


def require_admin(principal: CurrentPrincipal) -> Principal:
    """Tokens grant access, so only a platform-admin may see or change them (checked before the body is read)."""
    if principal.role is not Role.PLATFORM_ADMIN:
        raise ApiError(403, "forbidden", f"token {principal.token_id} ({principal.role}) may not manage tokens: platform-admin only")
    return principal


Admin = Annotated[Principal, Depends(require_admin)]


class TokenBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role = Field(description="developer (acts for its teams), platform-admin, viewer or deployer (deploys its one service)")
    teams: list[Annotated[str, Field(min_length=1, max_length=DNS_LABEL_MAX, pattern=TEAM_PATTERN)]] = Field(
        default_factory=list, max_length=100, description="the teams a developer token acts for (at least one for a developer)"
    )
    description: str | None = Field(default=None, max_length=200)
    service: str | None = Field(default=None, min_length=1, max_length=DNS_LABEL_MAX, pattern=TEAM_PATTERN, description="a deployer token's one service")

    @model_validator(mode="after")
    def _developer_has_a_team(self) -> TokenBody:
        if self.role is Role.DEVELOPER and not self.teams:
            raise ValueError("a developer token needs at least one team")
        if (self.role is Role.DEPLOYER) != (self.service is not None):
            raise ValueError("a deployer token needs its service, and only a deployer token has one")
        if self.role is Role.DEPLOYER and self.teams:
            raise ValueError("a deployer token acts for no team: give its service only")
        return self


class TokenView(BaseModel):
    id: str
    role: str
    teams: list[str]
    description: str | None
    created_at: datetime
    revoked_at: datetime | None
    service: str | None = None

    @classmethod
    def of(cls, row: ApiTokenRow) -> TokenView:
        return cls(
            id=row.id, role=row.role, teams=list(row.teams), description=row.description, created_at=row.created_at, revoked_at=row.revoked_at,
            service=row.service,
        )


class CreatedToken(TokenView):
    token: str = Field(description="the token itself: shown only in this answer, stored only as a hash")


@router.post("", status_code=201, response_model=CreatedToken, summary="Create a token (platform-admin); the answer is the only time it is shown")
def create_token(body: TokenBody, _admin: Admin, session: DbSession) -> CreatedToken:
    if body.service is not None and services.get_service(session, body.service) is None:
        raise ApiError(422, "unknown_service", f"no service {body.service!r}: a deployer token is for a service Roadbed provisioned")
    row, token = tokens.create_token(session, body.role.value, body.teams, datetime.now(UTC), body.description, service=body.service)
    return CreatedToken(**TokenView.of(row).model_dump(), token=token)


@router.get("", response_model=list[TokenView], summary="Every token, active and revoked (platform-admin); never a token or its hash")
def list_tokens(_admin: Admin, session: DbSession) -> list[TokenView]:
    return [TokenView.of(row) for row in tokens.list_tokens(session)]


@router.delete(
    "/{token_id}",
    response_model=TokenView,
    summary="Revoke a token (platform-admin): it stops working at once",
    responses={409: {"description": "Already revoked, or the last active platform-admin token"}},
)
def revoke_token(token_id: str, _admin: Admin, session: SerializedSession) -> TokenView:
    row = tokens.get_token(session, token_id)
    if row is None:
        raise ApiError(404, "not_found", f"no token {token_id!r}")
    if row.revoked_at is not None:
        raise ApiError(409, "conflict", f"token {token_id} is already revoked")
    if row.role == Role.PLATFORM_ADMIN.value and len(tokens.active_admin_tokens(session)) == 1:
        raise ApiError(409, "conflict", f"token {token_id} is the last active platform-admin token; create another one first")
    tokens.revoke_token(session, token_id, datetime.now(UTC))
    return TokenView.of(row)
