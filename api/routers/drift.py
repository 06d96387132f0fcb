"""`/v1/drift` and an environment's drift: list, check now, ignore rules (CONTRACT.md "Changes, drift, expiry").

A check runs in this process, in a thread (`POST .../drift-check` answers with its result): a plan of one
workspace takes about a second on the embedded default, and the scheduled sweep runs the same code in the worker.
Reads are open to every token like the environment list; a check and the ignore rules act for the owning team."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel

from roadbed.api.deps import CurrentPrincipal, DbSession, State, require_team
from roadbed.api.errors import ApiError
from roadbed.api.schemas import ERROR_RESPONSES
from roadbed.domain.models import EnvironmentStatus
from roadbed.drift.model import MAX_IGNORE_RULES, DriftStatus, DriftView, IgnoreRule
from roadbed.drift.service import check_environment, set_ignore_rules
from roadbed.drift.sources import sources_for
from roadbed.drift.store import list_drift
from roadbed.storage import environments

router = APIRouter(tags=["drift"], responses=ERROR_RESPONSES)


class EnvironmentDrift(BaseModel):
    environment_id: str
    service: str
    team: str
    environment: str
    drift: DriftView


@router.get("/v1/drift", response_model=list[EnvironmentDrift], summary="Drift of the live environments")
def list_environment_drift(
    _principal: CurrentPrincipal,
    session: DbSession,
    team: str | None = None,
    status: DriftStatus | None = None,
    limit: int = Query(default=200, ge=1, le=1000),
) -> list[dict[str, Any]]:
    listed = list_drift(session, team=team, status=status.value if status else None, live=EnvironmentStatus.SUCCEEDED.value, limit=limit)
    return [
        {"environment_id": e.environment.id, "service": e.environment.service, "team": e.environment.team,
         "environment": e.environment.environment, "drift": e.drift}
        for e in listed
    ]


@router.post("/v1/environments/{environment_id}/drift-check", response_model=DriftView, summary="Check one environment for drift now",
             responses={409: {"description": "Not a SUCCEEDED environment"}})
async def check_drift(environment_id: str, state: State, principal: CurrentPrincipal) -> dict[str, Any]:
    def owner() -> str:
        with state.database.transaction() as session:
            return environments.get_environment(session, environment_id).team

    require_team(principal, await asyncio.to_thread(owner))
    sources = sources_for(state.settings, state.database, state.golden_paths, state.planner)
    return await asyncio.to_thread(check_environment, sources, environment_id)


@router.put("/v1/environments/{environment_id}/drift-ignore", response_model=list[IgnoreRule], response_model_exclude_none=True, summary="Replace an environment's drift ignore rules")
def put_drift_ignore(environment_id: str, state: State, principal: CurrentPrincipal, rules: Annotated[list[IgnoreRule], Body()]) -> list[dict[str, Any]]:
    if len(rules) > MAX_IGNORE_RULES:
        raise ApiError(422, "invalid_request", f"at most {MAX_IGNORE_RULES} ignore rules per environment")
    with state.database.transaction() as session:
        require_team(principal, environments.get_environment(session, environment_id).team)
    return set_ignore_rules(state.database, environment_id, rules)
