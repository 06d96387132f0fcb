"""`/v1/catalog`: the software catalog in Backstage's entity model."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter

from api.deps import CurrentPrincipal, State
from api.schemas import ERROR_RESPONSES
from roadbed.storage import catalog

router = APIRouter(prefix="/v1/catalog", tags=["catalog"], responses=ERROR_RESPONSES)


@router.get("/entities", summary="List entities")
async def list_entities(
    state: State, _principal: CurrentPrincipal, kind: str | None = None, owner: str | None = None, system: str | None = None, q: str | None = None
) -> list[dict[str, Any]]:
    def query() -> list[dict[str, Any]]:
        with state.database.transaction() as session:
            rows = catalog.list_entities(session, kind=kind, owner=owner, q=q)
            bodies = [row.body for row in rows]
        if system:
            bodies = [b for b in bodies if (b.get("spec") or {}).get("system") == system]
        return bodies

    return await asyncio.to_thread(query)


@router.get("/entities/{kind}/{namespace}/{name}", summary="One entity with its relations")
async def get_entity(kind: str, namespace: str, name: str, state: State, _principal: CurrentPrincipal) -> dict[str, Any]:
    def query() -> dict[str, Any]:
        with state.database.transaction() as session:
            row = catalog.get_entity(session, kind, namespace, name)
            return row.body | {"relations": catalog.relations_of(session, row)}

    return await asyncio.to_thread(query)
