"""Portal pages: sign in and out, home, the environment list, one environment (live) and its actions."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from roadbed.api.deps import require_team
from roadbed.api.errors import ApiError
from roadbed.api.portal import csrf
from roadbed.api.portal.common import Me, mark_portal, posted, sessions
from roadbed.api.portal.forms import last, read_form
from roadbed.api.portal.sessions import LOGIN_COOKIE, LOGIN_MAX_AGE, SESSION_COOKIE, SESSION_MAX_AGE, SignedIn, safe_next, set_cookie
from roadbed.api.portal.views import FINAL_STATUSES, between, render
from roadbed.api.routers.health_service import page_health, panel
from roadbed.api.schemas import EnvironmentView
from roadbed.auth import Principal, Role
from roadbed.domain.models import EnvironmentStatus
from roadbed.health.model import HealthStatus
from roadbed.lifecycle import CANCELLABLE
from roadbed.storage import environments, portal

router = APIRouter(include_in_schema=False, dependencies=[Depends(mark_portal)])

PAGE_SIZE = 25
STATUSES = [s.value for s in EnvironmentStatus]


# -- sign in / out --------------------------------------------------------------------------------------------------
def _login_form(request: Request, nonce_and_cookie: tuple[str, str] | None, status: int = 200, error: str | None = None,
                next_path: str = "/", csrf_token: str = "") -> HTMLResponse:
    response = render(request, "login.html", status_code=status, csrf_token=csrf_token, error=error, next_path=next_path, title="Sign in")
    if nonce_and_cookie:
        set_cookie(response, request, LOGIN_COOKIE, nonce_and_cookie[1], LOGIN_MAX_AGE)
    return response


@router.get("/login")
async def login_page(request: Request, next: str = "/") -> Response:  # noqa: A002 - the contract's query name
    store = await sessions(request)
    nonce = store.login_nonce(request)
    fresh = None if nonce else store.new_login_cookie()
    return _login_form(request, fresh, next_path=safe_next(next), csrf_token=store.login_csrf(nonce or fresh[0]))  # type: ignore[index]


@router.post("/login")
async def login(request: Request) -> Response:
    store = await sessions(request)
    form = await read_form(request)
    nonce = store.login_nonce(request)
    csrf.check(store.login_csrf(nonce) if nonce else None, csrf.presented(request, form))
    next_path = safe_next(last(form, "next"))
    signed = await asyncio.to_thread(store.sign_in, last(form, "token").strip())
    if signed is None:
        return _login_form(request, None, 401, "That token is not valid: it may be mistyped or revoked. Ask a platform-admin for a new one.",
                           next_path, store.login_csrf(nonce))  # type: ignore[arg-type]
    request.state.principal = signed[0]
    response = RedirectResponse(next_path, status_code=303)
    set_cookie(response, request, SESSION_COOKIE, signed[1], SESSION_MAX_AGE)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.get("/logout")
async def logout_page(request: Request, me: Me) -> Response:
    return render(request, "logout.html", signed_in=me, title="Sign out")


@router.post("/logout")
async def logout(request: Request) -> Response:
    me, _form = await posted(request)
    await asyncio.to_thread((await sessions(request)).sign_out, me.session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- lists ----------------------------------------------------------------------------------------------------------
def _summary(row: Any) -> dict[str, Any]:
    started = row.approved_at or row.created_at
    error = row.error or {}
    return {"id": row.id, "service": row.service, "team": row.team, "golden_path": row.golden_path, "environment": row.environment,
            "status": row.status, "created_at": row.created_at, "tte": between(started, row.ready_at), "expires_at": row.expires_at,
            "reason": error.get("message") if isinstance(error, dict) else None, "step": error.get("step") if isinstance(error, dict) else None}


def _scope(principal: Principal) -> list[str] | None:
    return list(principal.teams) if principal.teams else None


@router.get("/")
async def home(request: Request, me: Me, q: str = "") -> Response:
    state = request.app.state.roadbed
    teams = _scope(me.principal)

    def query() -> dict[str, Any]:
        with state.database.transaction() as session:
            mine, total = portal.page_environments(session, teams=teams, q=q.strip() or None, limit=10)
            approvals = portal.page_environments(session, status=["PENDING_APPROVAL"], limit=20)[0] if me.principal.role is Role.PLATFORM_ADMIN else []
            failures = portal.page_environments(session, teams=teams, status=["FAILED", "COMPENSATED"], limit=5)[0]
            return {"mine": [_summary(r) for r in mine], "mine_total": total, "approvals": [_summary(r) for r in approvals],
                    "failures": [_summary(r) for r in failures]}

    found = await asyncio.to_thread(query)
    ids = {(r["service"], r["environment"]): r["id"] for r in found["mine"] if r["status"] == EnvironmentStatus.SUCCEEDED}
    failing = [panel(d) | {"href": f"/environments/{ids[(d.service, d.environment)]}"}
               for d in await page_health(request, list(ids)) if d.status is HealthStatus.FAILING]  # flagged on top
    return render(request, "home.html", signed_in=me, title="Home", q=q, failing=failing, **found)


def _int(text: str, default: int) -> int:
    return int(text) if text.isdigit() and 0 < int(text) < 100000 else default


@router.get("/environments")
async def environment_list(request: Request, me: Me, team: str = "", status: str = "", golden_path: str = "", environment: str = "", page: str = "1") -> Response:
    state = request.app.state.roadbed
    number = _int(page, 1)
    filters = {"team": team, "status": status.upper() if status.upper() in STATUSES else "", "golden_path": golden_path, "environment": environment}

    def query() -> tuple[list[Any], int]:
        with state.database.transaction() as session:
            return portal.page_environments(session, team=filters["team"] or None, status=[filters["status"]] if filters["status"] else None,
                                            golden_path=golden_path or None, environment=environment or None,
                                            offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE)

    rows, total = await asyncio.to_thread(query)
    pages = max(1, -(-total // PAGE_SIZE))
    kept = {k: v for k, v in filters.items() if v}
    link = lambda n: "/environments?" + urlencode(kept | {"page": n})  # noqa: E731
    return render(request, "environments.html", signed_in=me, title="Environments", rows=[_summary(r) for r in rows], total=total,
                  filters=filters, statuses=STATUSES, environments_=("dev", "staging", "prod"), golden_paths=[gp.name for gp in state.golden_paths.list()],
                  page=number, pages=pages, previous=link(number - 1) if number > 1 else None, next_link=link(number + 1) if number < pages else None)


# -- one environment ------------------------------------------------------------------------------------------------
def _load(state: Any, environment_id: str) -> EnvironmentView:
    with state.database.transaction() as session:
        return EnvironmentView.of(environments.get_environment(session, environment_id), environments.steps_of(session, environment_id))


def allowed_actions(principal: Principal, view: EnvironmentView) -> list[str]:
    """The mutating buttons this role may use on this environment now (the API refuses the rest)."""
    actions = []
    if principal.role is Role.PLATFORM_ADMIN and view.status == EnvironmentStatus.PENDING_APPROVAL.value:
        actions.append("approve")
    if principal.can_act_for(view.team):
        if view.status in CANCELLABLE:
            actions.append("cancel")
        if view.status == EnvironmentStatus.FAILED.value:
            actions.append("retry")
        if view.status == EnvironmentStatus.SUCCEEDED.value:
            actions.append("decommission")
    return actions


def _links(state: Any, view: EnvironmentView) -> dict[str, str]:
    links = {}
    if url := view.outputs.get("repository_url"):
        links["Repository"] = str(url)
    if ref := view.outputs.get("catalog_ref"):
        kind, _, rest = str(ref).partition(":")
        namespace, _, name = rest.partition("/") if "/" in rest else ("default", "", rest)
        links["Catalog entity"] = f"/catalog/{kind.lower()}/{namespace}/{name}"
    settings = state.settings
    ui = settings.temporal_ui_url.rstrip("/")
    links["Run in the Temporal UI"] = f"{ui}/namespaces/{settings.temporal_namespace}/workflows/{view.workflow_id}"
    return links


async def _environment_page(request: Request, me: SignedIn, environment_id: str, status_code: int = 200, confirm_error: str | None = None,
                            confirm_value: str = "") -> Response:
    state = request.app.state.roadbed
    view = await asyncio.to_thread(_load, state, environment_id)
    outputs = {k: v for k, v in view.outputs.items() if k != "resources"}
    live = await page_health(request, [(view.service, view.environment)]) if view.status == EnvironmentStatus.SUCCEEDED else []
    return render(request, "environment.html", status_code=status_code, signed_in=me, title=f"{view.service} in {view.environment}", env=view,
                  final=view.status in FINAL_STATUSES, actions=allowed_actions(me.principal, view), links=_links(state, view), outputs=outputs,
                  resource_outputs=view.outputs.get("resources") or {}, confirm_error=confirm_error, confirm_value=confirm_value,
                  json=lambda v: json.dumps(v, indent=2, sort_keys=True, default=str), health=panel(live[0]) if live else None)


@router.get("/environments/{environment_id}")
async def environment_page(request: Request, environment_id: str, me: Me) -> Response:
    return await _environment_page(request, me, environment_id)


async def _act(request: Request, environment_id: str, action: str) -> Response:
    me, form = await posted(request)
    principal = me.principal
    state = request.app.state.roadbed
    lifecycle = await state.lifecycle()
    row = await lifecycle.load(environment_id)
    if action == "approve":
        if principal.role is not Role.PLATFORM_ADMIN:
            raise ApiError(403, "forbidden", "only platform-admin tokens may approve production requests")
        await lifecycle.approve(row, approver=principal.token_id, comment=last(form, "comment") or None)
    else:
        require_team(principal, row.team)
        if action == "cancel":
            await lifecycle.cancel(row)
        elif action == "retry":
            await lifecycle.retry(row, requested_by=principal.token_id)
        else:
            typed = last(form, "confirm").strip()
            if typed != row.service:
                return await _environment_page(request, me, environment_id, 422, f"Type the service name {row.service} to confirm", typed)
            await lifecycle.decommission(row, requested_by=principal.token_id, purge=False)
    return RedirectResponse(f"/environments/{environment_id}", status_code=303)


@router.post("/environments/{environment_id}/approve")
async def approve(request: Request, environment_id: str) -> Response:
    return await _act(request, environment_id, "approve")


@router.post("/environments/{environment_id}/cancel")
async def cancel(request: Request, environment_id: str) -> Response:
    return await _act(request, environment_id, "cancel")


@router.post("/environments/{environment_id}/retry")
async def retry(request: Request, environment_id: str) -> Response:
    return await _act(request, environment_id, "retry")


@router.post("/environments/{environment_id}/decommission")
async def decommission(request: Request, environment_id: str) -> Response:
    return await _act(request, environment_id, "decommission")


# -- live updates ---------------------------------------------------------------------------------------------------
def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


async def watch(load: Any, poll_seconds: float = 0.5, max_seconds: float = 3600) -> AsyncIterator[str]:
    """`event: step` per step change and `event: status` per status change; a last `status` at a final status, then the end."""
    seen_steps: dict[str, tuple[Any, ...]] = {}
    seen_status = None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_seconds
    while loop.time() < deadline:
        view = await asyncio.to_thread(load)
        for step in view.steps:
            key = (step.status, step.attempts, step.detail, step.started_at, step.finished_at)
            if seen_steps.get(step.name) != key:
                seen_steps[step.name] = key
                yield sse("step", step.model_dump(mode="json"))
        if view.status in FINAL_STATUSES:
            yield sse("status", {"status": view.status, "final": True, "error": view.error})
            return
        if view.status != seen_status:
            seen_status = view.status
            yield sse("status", {"status": view.status, "final": False})
        await asyncio.sleep(poll_seconds)


@router.get("/environments/{environment_id}/events")
async def environment_events(request: Request, environment_id: str, me: Me) -> Response:
    state = request.app.state.roadbed
    await asyncio.to_thread(_load, state, environment_id)  # 404 before the stream starts
    return StreamingResponse(watch(lambda: _load(state, environment_id)), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
