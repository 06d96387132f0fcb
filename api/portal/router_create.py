"""Golden paths: the gallery, and the create flow (form pages → review with the preview → Create)."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from roadbed.api.deps import require_team
from roadbed.api.errors import ApiError
from roadbed.api.portal.common import Me, mark_portal, posted
from roadbed.api.portal.forms import Form, attach_errors, carried, error_map, form_pages, last, page_of, request_body
from roadbed.api.portal.sessions import SignedIn
from roadbed.api.portal.views import render
from roadbed.api.routers.golden_paths import _preview_pool
from roadbed.auth import Role
from roadbed.domain.errors import Conflict, InvalidRequest, RoadbedError
from roadbed.golden_paths import GoldenPath
from roadbed.preview import preview
from roadbed.storage import portal

router = APIRouter(include_in_schema=False, dependencies=[Depends(mark_portal)])


@router.get("/golden-paths")
async def gallery(request: Request, me: Me, tag: str = "") -> Response:
    state = request.app.state.roadbed

    def used() -> dict[str, int]:
        with state.database.transaction() as session:
            return portal.services_per_golden_path(session)

    counts = await asyncio.to_thread(used)
    every = state.golden_paths.list()
    tags = sorted({t for gp in every if gp.valid for t in gp.tags})
    valid = [gp for gp in every if gp.valid and (not tag or tag in gp.tags)]
    return render(request, "golden_paths.html", signed_in=me, title="Golden paths", paths=valid, invalid=[gp for gp in every if not gp.valid],
                  tags=tags, tag=tag, counts=counts, may_create=me.principal.role is not Role.VIEWER)


def _golden_path(request: Request, me: SignedIn, name: str) -> GoldenPath:
    if me.principal.role is Role.VIEWER:
        raise ApiError(403, "forbidden", f"token {me.principal.token_id} (viewer) may not create environments: a developer or platform-admin token is needed")
    golden_path = request.app.state.roadbed.golden_paths.get(name)
    if not golden_path.valid:
        raise InvalidRequest([], f"golden path {name!r} cannot be used: {'; '.join(golden_path.problems)}")
    return golden_path


def _form_page(request: Request, me: SignedIn, golden_path: GoldenPath, form: Form, index: int, errors: dict[str, str] | None = None,
               status_code: int = 200, problem: str | None = None) -> Response:
    state = request.app.state.roadbed
    pages = form_pages(golden_path, state.settings.terraform_modules_dir, form, me.principal.teams, me.principal.role is Role.PLATFORM_ADMIN)
    index = max(0, min(index, len(pages) - 1))
    errors = errors or {}
    attach_errors(pages, errors)
    page = pages[index]
    summary = [(name, message, f"f-{name.replace('.', '-')}" if name in page.names() else None) for name, message in errors.items()]
    if problem:
        summary.insert(0, ("", problem, None))
    title = ("Error: " if summary else "") + f"{golden_path.title} — {page.title}"
    return render(request, "create.html", status_code=status_code, signed_in=me, title=title, gp=golden_path, page=page, index=index,
                  count=len(pages), hidden=carried(form, page.names() | {"request_id"}), summary=summary,
                  request_id=last(form, "request_id") or secrets.token_hex(12))


@router.get("/golden-paths/{name}/create")
async def create_form(request: Request, name: str, me: Me) -> Response:
    return _form_page(request, me, _golden_path(request, me, name), {}, 0)


def _validate(state: Any, golden_path: GoldenPath, form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    body, rows = request_body(golden_path, state.settings.terraform_modules_dir, form)
    try:
        state.validator.validate(body)
    except InvalidRequest as exc:
        return body, error_map([e.as_dict() for e in exc.errors], rows)
    return body, {}


@router.post("/golden-paths/{name}/create")
async def create_step(request: Request, name: str) -> Response:
    """Next / Back / Review / Change / Create: one endpoint, the button pressed says which."""
    me, form = await posted(request)
    golden_path = _golden_path(request, me, name)
    state = request.app.state.roadbed
    index = int(last(form, "_page", "0")) if last(form, "_page", "0").isdigit() else 0
    action = last(form, "_action", "review")
    pages = form_pages(golden_path, state.settings.terraform_modules_dir, form, me.principal.teams, me.principal.role is Role.PLATFORM_ADMIN)
    if action == "back":
        return _form_page(request, me, golden_path, form, index - 1)
    if action.startswith("change-"):
        return _form_page(request, me, golden_path, form, int(action[7:]) if action[7:].isdigit() else 0)
    if team := last(form, "team"):
        require_team(me.principal, team)  # as the API: a developer acts only for its own teams
    body, errors = await asyncio.to_thread(_validate, state, golden_path, form)
    if action == "next":
        here = {k: v for k, v in errors.items() if page_of(pages, k) == index}
        if here:
            return _form_page(request, me, golden_path, form, index, here, 422)
        return _form_page(request, me, golden_path, form, index + 1)
    if errors:
        first = min((p for p in (page_of(pages, k) for k in errors) if p is not None), default=index)
        return _form_page(request, me, golden_path, form, first, errors, 422)
    if action == "create":
        return await _create(request, me, golden_path, form, body)
    return await _review(request, me, golden_path, form, body, pages)


async def _review(request: Request, me: SignedIn, golden_path: GoldenPath, form: Form, body: dict[str, Any], pages: list[Any]) -> Response:
    state = request.app.state.roadbed
    accepted, _ = state.validator.validate(body)
    problem, result = None, None
    try:
        result = await _preview_pool(request, state).run(preview, accepted, golden_path, state.planner, state.settings.terraform_modules_dir)
    except RoadbedError as exc:
        problem = str(exc)
    sections = [(i, page.title, [(n, form.get(n, [])) for n in sorted(page.names()) if any(v != "" for v in form.get(n, []))]) for i, page in enumerate(pages)]
    return render(request, "review.html", signed_in=me, title=f"Check before you create — {golden_path.title}", gp=golden_path, body=body,
                  hidden=carried(form, set()), preview=result, problem=problem, sections=sections)


async def _create(request: Request, me: SignedIn, golden_path: GoldenPath, form: Form, body: dict[str, Any]) -> Response:
    state = request.app.state.roadbed
    submitter = await state.submitter()
    try:
        row, _created = await submitter.submit(body, caller=me.principal)  # policies see the signed-in role and teams, as over the API
    except InvalidRequest as exc:
        _, rows = request_body(golden_path, state.settings.terraform_modules_dir, form)
        return _form_page(request, me, golden_path, form, 0, error_map([e.as_dict() for e in exc.errors], rows), 422)
    except Conflict as exc:
        return _form_page(request, me, golden_path, form, 0, {}, 409, problem=str(exc))
    return RedirectResponse(f"/environments/{row.id}", status_code=303)
