"""Request dependencies: the app state, the authenticated principal and a database session.

Handlers that only talk to the database are plain `def` endpoints taking a `Session` (FastAPI runs them in its
thread pool, as the FastAPI full-stack template does); `async def` stays for handlers that await Temporal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from roadbed.api.errors import ApiError
from roadbed.api.state import ApiState
from roadbed.auth import Principal, authenticate
from roadbed.storage import services

_bearer = HTTPBearer(auto_error=False, description="A Roadbed API token (`roadbed tokens create`, or $ROADBED_HOME/admin-token).")


def get_state(request: Request) -> ApiState:
    return request.app.state.roadbed


State = Annotated[ApiState, Depends(get_state)]


async def get_principal(request: Request, state: State, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    if credentials is None or not credentials.credentials:
        raise ApiError(401, "unauthorized", "missing bearer token")
    principal = await asyncio.to_thread(authenticate, state.database, credentials.credentials, deploy_tokens=True)
    if principal is None:
        raise ApiError(401, "unauthorized", "invalid or revoked token")
    request.state.principal = principal  # for the audit trail
    route = getattr(request.scope.get("route"), "path", request.url.path)
    if not principal.may_call(request.method, route, request.path_params):  # a deployer token: its one deploy call only
        raise ApiError(403, "forbidden", f"token {principal.token_id} ({principal.role}) may only deploy service {principal.service!r}")
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


def _session(state: State, _principal: CurrentPrincipal) -> Iterator[Session]:
    # Depends on the principal so the transaction starts only after authentication, which reads the database
    # on its own: a serialized (write-locked) transaction opened first would block it on SQLite.
    with state.database.transaction() as session:
        yield session


def _serialized_session(state: State, _principal: CurrentPrincipal) -> Iterator[Session]:
    with state.database.transaction(serialized=True) as session:
        yield session


#: `database.transaction()` around the endpoint function: committed (or rolled back on an error, which the
#: error mapping then answers) before the response is sent, so a failed commit is never a 2xx.
DbSession = Annotated[Session, Depends(_session, scope="function")]
#: The same with `transaction(serialized=True)`, for read-then-write decisions that must not interleave.
SerializedSession = Annotated[Session, Depends(_serialized_session, scope="function")]
