"""`/v1/metrics`: reports computed from recorded outcomes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query

from roadbed.api.deps import CurrentPrincipal, DbSession
from roadbed.api.responses import TimeToEnvironment
from roadbed.api.schemas import ERROR_RESPONSES
from roadbed.metrics.time_to_environment import time_to_environment

router = APIRouter(prefix="/v1/metrics", tags=["metrics"], responses=ERROR_RESPONSES)


@router.get(
    "/time-to-environment",
    response_model=TimeToEnvironment,
    summary="Time from request to ready environment (successful runs)",
    description=(
        "`count` and `p50_seconds`/`p90_seconds`/`p99_seconds` are **provisioning time** (`measures`: `provisioning`): "
        "from the approval to ready for production requests that waited for one, from the request to ready otherwise. "
        "`approval_wait` has the percentiles of request → approval over the runs that waited (its own `count`); "
        "`total` has request → ready over every successful run, approval wait included. `failed` counts runs that "
        "ended without an environment. The same blocks appear per golden path (`by_golden_path`) and per environment "
        "(`by_environment`)."
    ),
)
def get_time_to_environment(
    session: DbSession,
    _principal: CurrentPrincipal,
    window_days: int = Query(default=30, ge=1, le=3650),
    golden_path: str | None = None,
    environment: str | None = None,
) -> dict[str, Any]:
    return time_to_environment(session, now=datetime.now(UTC), window_days=window_days, golden_path=golden_path, environment=environment)
