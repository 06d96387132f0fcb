"""Request dependencies: the app state and the authenticated principal."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from roadbed.api.errors import ApiError
from roadbed.api.state import ApiState
from sqlalchemy.orm import Session

from roadbed.auth import Principal, authenticate
from roadbed.storage import services

_bearer = HTTPBearer(auto_error=False, description="A Roadbed API token (`roadbed tokens create`, or $ROADBED_HOME/admin-token).")


def get_state(request: Request) -> ApiState:
    return request.app.state.roadbed


State = Annotated[ApiState, Depends(get_state)]


async def get_principal(request: Request, state: State, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    if credentials is None or not credentials.credentials:
        raise ApiError(401, "unauthorized", "missing bearer token")
    principal = await asyncio.to_thread(authenticate, state.database, credentials.credentials)
    if principal is None:
        raise ApiError(401, "unauthorized", "invalid or revoked token")
    request.state.principal = principal  # for the audit trail
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_service_owner(principal: Principal, session: Session, service: str) -> None:
    """Only the owning team (or a platform-admin) may add to a Roadbed service's records, e.g. its DORA events;
    a service Roadbed does not know (deployed elsewhere) has no owner to protect."""
    owned = services.get_service(session, service)
    if owned is not None:
        require_team(principal, owned.team)


def require_team(principal: Principal, team: str) -> None:
    if not principal.can_act_for(team):
        raise ApiError(403, "forbidden", f"token {principal.token_id} ({principal.role}) may not act for team {team!r}")
