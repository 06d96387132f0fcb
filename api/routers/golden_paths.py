"""`/v1/golden-paths`: the templates developers can choose from.

A preview acts for the request's team (it runs a real `terraform plan` with that team's inputs), so it is
authorised like a request: viewers never, developers for their own teams, admins always. Previews run in
the app's `PreviewPool` (`ROADBED_PREVIEW_CONCURRENCY` at once, a short line behind them, 429 with
`Retry-After` beyond), never on the event loop, so a flood of previews cannot stall other requests.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from roadbed.api.deps import CurrentPrincipal, State, require_team
from roadbed.api.errors import ApiError
from roadbed.api.responses import GoldenPathDetail, GoldenPathSummary
from roadbed.api.routers.environments import read_json_body
from roadbed.api.schemas import ERROR_RESPONSES, documented_body
from roadbed.auth import Role
from roadbed.domain.models import EnvironmentRequest
from roadbed.preview import Preview, PreviewPool, PreviewsBusy, preview

router = APIRouter(prefix="/v1/golden-paths", tags=["golden paths"], responses=ERROR_RESPONSES)


@router.get("", response_model=list[GoldenPathSummary], summary="List golden paths")
async def list_golden_paths(state: State, _principal: CurrentPrincipal) -> list[dict[str, Any]]:
    return [gp.summary() for gp in state.golden_paths.list()]


@router.get("/{name}", response_model=GoldenPathDetail, summary="One golden path, with the JSON Schema its parameters must satisfy")
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
             openapi_extra=documented_body(EnvironmentRequest))
async def preview_golden_path(name: str, request: Request, state: State, principal: CurrentPrincipal) -> Preview:
    if principal.role is Role.VIEWER:
        raise ApiError(403, "forbidden", f"token {principal.token_id} (viewer) may not preview: previews act for a team")
    state.golden_paths.get(name)
    raw = await read_json_body(request)
    if isinstance(raw, dict):
        raw = raw | {"golden_path": name}
    accepted, golden_path = state.validator.validate(raw)
    require_team(principal, accepted.team)
    try:
        return await _preview_pool(request, state).run(preview, accepted, golden_path, state.planner, state.settings.terraform_modules_dir)
    except PreviewsBusy as busy:
        raise ApiError(429, busy.code, str(busy), headers={"Retry-After": str(busy.retry_after)}) from None


def _preview_pool(request: Request, state: Any) -> PreviewPool:
    """The app's one pool, made on first use (no work at import or app creation)."""
    pool = getattr(request.app.state, "preview_pool", None)
    if pool is None:
        pool = request.app.state.preview_pool = PreviewPool(state.settings.preview_concurrency)
    return pool
