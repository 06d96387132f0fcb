"""`/v1/golden-paths`: the templates developers can choose from."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from roadbed.api.deps import CurrentPrincipal, State
from roadbed.api.routers.environments import read_json_body
from roadbed.api.schemas import ERROR_RESPONSES
from roadbed.domain.models import EnvironmentRequest
from roadbed.preview import Preview, preview

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


@router.post("/{name}/preview", summary="Render a request without provisioning anything", response_model=Preview,
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": EnvironmentRequest.model_json_schema()}}}})
async def preview_golden_path(name: str, request: Request, state: State, _principal: CurrentPrincipal) -> Preview:
    state.golden_paths.get(name)
    raw = await read_json_body(request)
    if isinstance(raw, dict):
        raw = raw | {"golden_path": name}
    accepted, golden_path = state.validator.validate(raw)
    return await asyncio.to_thread(preview, accepted, golden_path, state.planner, state.settings.terraform_modules_dir)
