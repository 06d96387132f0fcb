"""`GET /v1/services/{service}/health`: a service environment's live picture (CONTRACT.md "Service health").

Readable by every role that reads (developers of any team, platform-admins, viewers), like the environments it
describes: the catalog promises to "find any service and see its health". The aggregator, with its short cache,
lives as long as the app and is built on first use from the app's settings.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Query, Request

from roadbed.api.deps import CurrentPrincipal, State
from roadbed.api.schemas import ERROR_RESPONSES
from roadbed.api.state import ApiState
from roadbed.domain.errors import NotFound
from roadbed.domain.models import EnvironmentName
from roadbed.health.aggregator import HealthAggregator
from roadbed.health.model import HealthDocument
from roadbed.health.port import HealthTarget
from roadbed.health.service import build_aggregator, resolve_target
from roadbed.health.summary import headline

router = APIRouter(prefix="/v1/services", tags=["services"], responses=ERROR_RESPONSES)


def aggregator_of(request: Request, state: ApiState) -> HealthAggregator:
    """The app's one aggregator (no await between the look-up and the store: two first requests cannot race)."""
    aggregator = getattr(request.app.state, "health", None)
    if aggregator is None:
        aggregator = build_aggregator(state.settings, state.database)
        request.app.state.health = aggregator
    return aggregator


def _targets(state: ApiState, wanted: list[tuple[str, str | None]]) -> list[HealthTarget]:
    found = []
    with state.database.transaction() as session:
        for service, environment in wanted:
            try:
                found.append(resolve_target(session, state.golden_paths, service, environment))
            except NotFound:
                continue
    return found


async def page_health(request: Request, wanted: list[tuple[str, str | None]]) -> list[HealthDocument]:
    """Health documents for a portal page: each (service, environment or None for the default) that has a live
    environment, in order; the others are left out. Every source keeps its deadline, so a page waits at most that."""
    state: ApiState = request.app.state.roadbed
    targets = await asyncio.to_thread(_targets, state, wanted)
    aggregator = aggregator_of(request, state)
    return list(await asyncio.gather(*(aggregator.document(target) for target in targets)))


def panel(document: HealthDocument) -> dict[str, Any]:
    """What the portal's health panel shows (templates/_health.html): a row per source with its one-line reading;
    a link only when the source gave an http(s) URL."""
    rows = []
    for name, section in document.sources.items():
        url = section.url if section.url and section.url.lower().startswith(("https://", "http://")) else None
        rows.append({"name": name, "status": section.status.value, "label": section.status.value.replace("_", " "), "url": url,
                     "reading": headline(name, section.model_dump(mode="json")), "reason": section.reason or "", "fetched_at": section.fetched_at})
    return {"service": document.service, "environment": document.environment, "status": document.status.value,
            "label": document.status.value.replace("_", " "), "sources": rows}


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
