"""`/v1/environments`: request, read and list environments; act on them (approve, cancel, retry, decommission, extend)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from roadbed.api.deps import CurrentPrincipal, DbSession, State, require_team
from roadbed.api.errors import ApiError
from roadbed.api.schemas import ERROR_RESPONSES, ApprovalBody, EnvironmentView, documented_body
from roadbed.api.state import ApiState
from roadbed.auth import Principal, Role
from roadbed.domain.models import EnvironmentRequest, EnvironmentStatus
from roadbed.drift import store as drift_store
from roadbed.drift.model import DriftView
from roadbed.expiry import TtlPolicy
from roadbed.storage import environments, expiry
from roadbed.storage.database import Database

router = APIRouter(prefix="/v1/environments", tags=["environments"], responses=ERROR_RESPONSES)

MAX_BODY_BYTES = 256 * 1024


async def read_json_body(request: Request) -> Any:
    """The body as JSON; 413 when too large, 400 when it is not JSON at all."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(413, "payload_too_large", f"request body larger than {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, "malformed_json", f"request body is not valid JSON: {exc}") from exc


def _view_in(session: Session, environment_id: str) -> EnvironmentView:
    row = environments.get_environment(session, environment_id)
    view = EnvironmentView.of(row, environments.steps_of(session, environment_id))
    return view.model_copy(update={"drift": DriftView.model_validate(drift_store.view_of(session, environment_id))})


def _view(database: Database, environment_id: str) -> EnvironmentView:
    """The environment after a request or lifecycle action, in a transaction of its own (called in a thread).

    Those handlers stay `async def`: they read the raw body and await Temporal (submitting, approve, cancel, retry,
    decommission), and the submitter and lifecycle keep their own transactions. A `DbSession`, opened before the
    handler, would hold a pooled connection idle across the Temporal round-trip only to read the view after it."""
    with database.transaction() as session:
        return _view_in(session, environment_id)


@router.post(
    "",
    status_code=202,
    response_model=EnvironmentView,
    summary="Request an environment",
    openapi_extra=documented_body(EnvironmentRequest),
    responses={409: {"description": "A live environment exists for this service and environment, or request_id reuse with another body"}},
)
async def create_environment(request: Request, state: State, principal: CurrentPrincipal) -> JSONResponse:
    raw = await read_json_body(request)
    if isinstance(raw, dict) and isinstance(raw.get("team"), str):
        require_team(principal, raw["team"])
    elif principal.role is Role.VIEWER:
        raise ApiError(403, "forbidden", "viewer tokens are read-only")
    submitter = await state.submitter()
    row, created = await submitter.submit(raw, caller=principal)
    view = await asyncio.to_thread(_view, state.database, row.id)
    return JSONResponse(status_code=202, content=view.model_dump(mode="json"), headers={"Location": f"/v1/environments/{row.id}"})


@router.get("/{environment_id}", response_model=EnvironmentView, summary="One environment with its steps and outputs")
def get_environment(environment_id: str, _principal: CurrentPrincipal, session: DbSession) -> EnvironmentView:
    return _view_in(session, environment_id)


@router.get("", response_model=list[EnvironmentView], summary="List environments")
def list_environments(
    _principal: CurrentPrincipal,
    session: DbSession,
    team: str | None = None,
    service: str | None = None,
    environment: str | None = None,
    status: EnvironmentStatus | None = None,
    limit: int = Query(default=200, ge=1, le=1000),
) -> list[EnvironmentView]:
    rows = environments.list_environments(
        session, team=team, service=service, environment=environment, status=status.value if status else None, limit=limit
    )
    steps = environments.steps_by_environment(session, [r.id for r in rows])
    return [EnvironmentView.of(r, steps[r.id]) for r in rows]


def _require_admin(principal: Principal, action: str) -> None:
    if principal.role is not Role.PLATFORM_ADMIN:
        raise ApiError(403, "forbidden", f"only platform-admin tokens may {action}")


async def _acted_on(state: ApiState, environment_id: str) -> EnvironmentView:
    return await asyncio.to_thread(_view, state.database, environment_id)


@router.post("/{environment_id}/approve", response_model=EnvironmentView, status_code=202, summary="Approve a production request (platform-admin)",
             responses={409: {"description": "Not waiting for approval"}})
async def approve_environment(environment_id: str, state: State, principal: CurrentPrincipal, body: ApprovalBody | None = None) -> EnvironmentView:
    _require_admin(principal, "approve production requests")
    lifecycle = await state.lifecycle()
    row = await lifecycle.load(environment_id)
    await lifecycle.approve(row, approver=principal.token_id, comment=body.comment if body else None)
    return await _acted_on(state, environment_id)


@router.post("/{environment_id}/cancel", response_model=EnvironmentView, status_code=202, summary="Cancel a request; what was done is undone",
             responses={409: {"description": "Already finished"}})
async def cancel_environment(environment_id: str, state: State, principal: CurrentPrincipal) -> EnvironmentView:
    lifecycle = await state.lifecycle()
    row = await lifecycle.load(environment_id)
    require_team(principal, row.team)
    await lifecycle.cancel(row)
    return await _acted_on(state, environment_id)


@router.post("/{environment_id}/retry", response_model=EnvironmentView, status_code=202, summary="Retry a failed compensation",
             responses={409: {"description": "Nothing to retry"}})
async def retry_environment(environment_id: str, state: State, principal: CurrentPrincipal) -> EnvironmentView:
    lifecycle = await state.lifecycle()
    row = await lifecycle.load(environment_id)
    require_team(principal, row.team)
    await lifecycle.retry(row, requested_by=principal.token_id)
    return await _acted_on(state, environment_id)


@router.delete("/{environment_id}", response_model=EnvironmentView, status_code=202, summary="Decommission: every step undone in reverse order",
               responses={409: {"description": "Not a SUCCEEDED environment"}})
async def decommission_environment(
    environment_id: str, state: State, principal: CurrentPrincipal, purge: bool = Query(default=False, description="delete the repository instead of archiving it")
) -> EnvironmentView:
    lifecycle = await state.lifecycle()
    row = await lifecycle.load(environment_id)
    require_team(principal, row.team)
    await lifecycle.decommission(row, requested_by=principal.token_id, purge=purge)
    return await _acted_on(state, environment_id)


class ExtendBody(BaseModel):
    by: str | int = Field(description="how much later: 2d, 12h, 90s, P2D, or seconds")


class EnvironmentEventView(BaseModel):
    at: datetime
    type: str
    message: str


@router.post("/{environment_id}/extend", response_model=EnvironmentView, summary="Extend an ephemeral environment's expiry",
             responses={409: {"description": "No ttl, not SUCCEEDED, or already expiring"}, 422: {"description": "`by` malformed or beyond ROADBED_TTL_MAX"}})
async def extend_environment(environment_id: str, body: ExtendBody, state: State, principal: CurrentPrincipal) -> EnvironmentView:
    lifecycle = await state.lifecycle()
    row = await lifecycle.load(environment_id)
    require_team(principal, row.team)
    by_seconds = TtlPolicy(state.settings).extension(body.by, row.expires_at or datetime.now(UTC), datetime.now(UTC))
    await lifecycle.extend(row, by_seconds, requested_by=principal.token_id)
    return await _acted_on(state, environment_id)


@router.get("/{environment_id}/events", response_model=list[EnvironmentEventView], summary="An environment's events (expiry warning, extended, expired)")
def environment_events(environment_id: str, _principal: CurrentPrincipal, session: DbSession) -> list[EnvironmentEventView]:
    environments.get_environment(session, environment_id)  # 404 for an unknown id
    return [EnvironmentEventView(at=e.at, type=e.type, message=e.message) for e in expiry.events_of(session, environment_id)]
