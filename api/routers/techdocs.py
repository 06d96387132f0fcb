"""`/v1/techdocs/{namespace}/{kind}/{name}/build`: rebuild an entity's TechDocs now (202), or read its last build.

Also the app's TechDocs wiring: one TechDocs per app, the embedded host's refresh pass (started with the lifespan),
and the GitHub webhook's docs hook."""

from __future__ import annotations

import logging
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from roadbed.api.deps import CurrentPrincipal, DbSession, require_team
from roadbed.api.errors import ApiError
from roadbed.api.schemas import ERROR_RESPONSES
from roadbed.auth import Principal, Role
from roadbed.catalog.refs import InvalidRef, parse_ref
from roadbed.settings import RepoHostTarget
from roadbed.storage import catalog
from roadbed.techdocs.push import docs_for_github_event
from roadbed.techdocs.refresh import REFRESH_SECONDS, DocsRefresher
from roadbed.techdocs.service import TechDocs, for_settings, has_docs
from roadbed.techdocs.store import DocsKey

log = logging.getLogger("roadbed.techdocs")
router = APIRouter(prefix="/v1/techdocs", tags=["techdocs"], responses=ERROR_RESPONSES)


_making = threading.Lock()


def techdocs_for(app: FastAPI) -> TechDocs:
    """One TechDocs (and build pool) per app, made on first use (under a lock: the sync endpoints and the webhook
    run in worker threads, where two first requests at once could each make one)."""
    found = getattr(app.state, "techdocs", None)
    if found is None:
        with _making:
            found = getattr(app.state, "techdocs", None)
            if found is None:
                state = app.state.roadbed
                found = app.state.techdocs = for_settings(state.settings, state.database)
    return found


def techdocs_of(request: Request) -> TechDocs:
    return techdocs_for(request.app)


async def _techdocs(request: Request) -> TechDocs:
    return techdocs_of(request)


def start_refresher(app: FastAPI, interval: float = REFRESH_SECONDS) -> DocsRefresher | None:
    """For the lifespan: the embedded repo host sends no webhooks, so its repositories are polled; GitHub's pushes
    arrive at `/v1/webhooks/github` instead (None: nothing to stop)."""
    if app.state.roadbed.settings.repo_host is RepoHostTarget.GITHUB:
        return None
    refresher = DocsRefresher(techdocs_for(app), interval)
    refresher.start()
    return refresher


def docs_for_github_delivery(app: FastAPI, event: str | None, payload: Any, principal: Principal | None) -> list[str]:
    """The webhook's docs hook: a push to a repository's default branch queues its entities' docs rebuild. A sender
    trusted by signature (`principal` None) may announce any repository; a token's holder only its teams' entities,
    as for the build endpoint (403, nothing queued)."""
    if event != "push":
        return []
    authorize = None if principal is None else (lambda owner: authorize_build(principal, owner))
    try:
        return docs_for_github_event(techdocs_for(app), event, payload, authorize)
    except ApiError:
        raise
    except Exception:  # noqa: BLE001 - docs never fail a delivery (say, an API process without a repo host token)
        log.exception("could not queue TechDocs rebuilds for a GitHub push")
        return []


def authorize_build(principal: Principal, owner: str | None) -> None:
    """Developers of the owning team, or platform-admins; viewers never."""
    try:
        team = parse_ref(owner or "", "group").name if owner else ""
    except InvalidRef:
        team = ""
    if not team:
        if principal.role is not Role.PLATFORM_ADMIN:
            raise ApiError(403, "forbidden", f"token {principal.token_id} may not rebuild docs of an entity without an owning group")
        return
    require_team(principal, team)


@router.post("/{namespace}/{kind}/{name}/build", status_code=202, summary="Rebuild the entity's TechDocs now")
def request_build(
    namespace: str, kind: str, name: str, principal: CurrentPrincipal, techdocs: Annotated[TechDocs, Depends(_techdocs)], session: DbSession
) -> JSONResponse:
    key = DocsKey.of(namespace, kind, name)
    row = catalog.get_entity(session, key.kind, key.namespace, key.name)
    authorize_build(principal, row.owner)
    if not has_docs(row.body):
        raise ApiError(422, "no_techdocs", f"{key.ref} has no backstage.io/techdocs-ref annotation")
    # TechDocs marks the build queued and reads its status in transactions of its own; `session` only read the
    # entity, so keeping it open alongside them takes no write lock
    techdocs.request(key)
    return JSONResponse({"ref": key.ref, "url": key.url, "status": techdocs.status(key)}, status_code=202)


@router.get("/{namespace}/{kind}/{name}/build", summary="The entity's last TechDocs build")
def build_status(namespace: str, kind: str, name: str, _principal: CurrentPrincipal, techdocs: Annotated[TechDocs, Depends(_techdocs)]) -> dict[str, Any]:
    """`{"built_at", "commit", "pages", "state", "error"?}`: `built_at`, `commit` and `pages` describe the published site."""
    key = DocsKey.of(namespace, kind, name)
    found = techdocs.status(key)  # TechDocs reads in a transaction of its own: no DbSession here
    if found is None:
        raise ApiError(404, "not_found", f"no TechDocs build for {key.ref}")
    return found
