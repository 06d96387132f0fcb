"""`/v1/metrics`: reports computed from recorded outcomes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query

from roadbed.api.deps import CurrentPrincipal, State
from roadbed.api.schemas import ERROR_RESPONSES
from roadbed.metrics.time_to_environment import time_to_environment

router = APIRouter(prefix="/v1/metrics", tags=["metrics"], responses=ERROR_RESPONSES)


@router.get("/time-to-environment", summary="Time from request to ready environment (successful runs)")
async def get_time_to_environment(
    state: State,
    _principal: CurrentPrincipal,
    window_days: int = Query(default=30, ge=1, le=3650),
    golden_path: str | None = None,
    environment: str | None = None,
) -> dict[str, Any]:
    def query() -> dict[str, Any]:
        with state.database.transaction() as session:
            return time_to_environment(session, now=datetime.now(UTC), window_days=window_days, golden_path=golden_path, environment=environment)

    return await asyncio.to_thread(query)
