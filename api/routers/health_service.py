"""`GET /v1/services/{service}/health`: a service environment's live picture (CONTRACT.md "Service health").

Readable by every role that reads (developers of any team, platform-admins, viewers), like the environments it
describes: the catalog promises to "find any service and see its health". The aggregator, with its short cache,
lives as long as the app and is built on first use from the app's settings.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Query, Request

from roadbed.api.deps import CurrentPrincipal, State
from roadbed.api.schemas import ERROR_RESPONSES
from roadbed.api.state import ApiState
from roadbed.domain.models import EnvironmentName
from roadbed.health.aggregator import HealthAggregator
from roadbed.health.model import HealthDocument
from roadbed.health.port import HealthTarget
from roadbed.health.service import build_aggregator, resolve_target

router = APIRouter(prefix="/v1/services", tags=["services"], responses=ERROR_RESPONSES)


def aggregator_of(request: Request, state: ApiState) -> HealthAggregator:
    """The app's one aggregator (no await between the look-up and the store: two first requests cannot race)."""
    aggregator = getattr(request.app.state, "health", None)
    if aggregator is None:
        aggregator = build_aggregator(state.settings, state.database)
        request.app.state.health = aggregator
    return aggregator


def _target(state: ApiState, service: str, environment: str | None) -> HealthTarget:
    with state.database.transaction() as session:
        return resolve_target(session, state.golden_paths, service, environment)


@router.get(
    "/{service}/health",
    response_model=HealthDocument,
    response_model_exclude_none=False,
    summary="A service environment's live picture: one section per source, the worst configured status on top",
    responses={404: {"description": "The service has no live environment (of that name)"}},
)
async def service_health(
    service: str,
    request: Request,
    state: State,
    _principal: CurrentPrincipal,
    environment: EnvironmentName | None = Query(default=None, description="default: the first live of prod, staging, dev"),  # noqa: B008
) -> HealthDocument:
    target = await asyncio.to_thread(_target, state, service, environment.value if environment else None)
    return await aggregator_of(request, state).document(target)
