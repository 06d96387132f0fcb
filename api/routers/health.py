"""Liveness and readiness: `/healthz` answers while the process runs; `/readyz` checks DB and Temporal."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from roadbed.api.deps import State
from roadbed.api.responses import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", summary="The engine database and Temporal are reachable", response_model=Readiness,
            responses={503: {"model": Readiness, "description": "A dependency is unreachable"}})
async def readyz(state: State) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        await asyncio.to_thread(state.database.ping)
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        client = await state.temporal()
        await asyncio.wait_for(client.service_client.check_health(), timeout=3)
        checks["temporal"] = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        checks["temporal"] = f"unreachable: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(status_code=200 if ready else 503, content={"status": "ready" if ready else "not ready", "checks": checks})
