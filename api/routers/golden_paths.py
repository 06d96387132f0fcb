"""`/v1/golden-paths`: the templates developers can choose from."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import CurrentPrincipal, State
from api.schemas import ERROR_RESPONSES

router = APIRouter(prefix="/v1/golden-paths", tags=["golden paths"], responses=ERROR_RESPONSES)


@router.get("", summary="List golden paths")
async def list_golden_paths(state: State, _principal: CurrentPrincipal) -> list[dict[str, Any]]:
    return [gp.summary() for gp in state.golden_paths.list()]


@router.get("/{name}", summary="One golden path, with the JSON Schema its parameters must satisfy")
async def get_golden_path(name: str, state: State, _principal: CurrentPrincipal) -> dict[str, Any]:
    golden_path = state.golden_paths.get(name)
    return golden_path.summary() | {
        "parameters": golden_path.parameters,
        "pages": golden_path.pages,
        "kubernetes": golden_path.roadbed.kubernetes.model_dump(),
        "slo": golden_path.roadbed.slo.model_dump(),
        "steps": [{"id": s.id, "name": s.name, "action": s.action} for s in golden_path.steps],
    }
