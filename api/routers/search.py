"""`GET /v1/search`: entities (and, once TechDocs registers its provider, docs pages), best first."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from roadbed import search as searching
from roadbed.api.deps import CurrentPrincipal, DbSession
from roadbed.api.schemas import ERROR_RESPONSES

router = APIRouter(prefix="/v1", tags=["search"], responses=ERROR_RESPONSES)

#: printable text only (PostgreSQL refuses NUL), like the reports' filters
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"


def search_hits(session: Session, q: str, kind: str | None, limit: int) -> list[dict[str, str]]:
    return [hit.as_dict() for hit in searching.search(session, q, kind=kind or None, limit=limit)]


def run_search(state: Any, q: str, kind: str | None, limit: int) -> list[dict[str, str]]:
    """The same in a transaction of its own, for the portal's search page."""
    with state.database.transaction() as session:
        return search_hits(session, q, kind, limit)


@router.get(
    "/search",
    summary="Search entities and docs, best first",
    responses={200: {"content": {"application/json": {"example": [
        {"type": "entity", "ref": "component:default/orders", "title": "Orders", "url": "/catalog/component/default/orders", "snippet": "Takes orders"}
    ]}}}},
)
def get_search(
    _principal: CurrentPrincipal,
    session: DbSession,
    q: str = Query(default="", max_length=searching.MAX_QUERY, pattern=TEXT_PATTERN, description="words; every one must match"),
    kind: str | None = Query(default=None, max_length=32, pattern=r"^[A-Za-z]+$", description="an entity kind (any case)"),
    limit: int = Query(default=20, ge=1, le=searching.MAX_LIMIT),
) -> list[dict[str, str]]:
    """Each hit: `type` (`entity` or `docs`), `ref`, `title`, `url` (the portal or docs page), `snippet` (plain text around the match)."""
    return search_hits(session, q, kind, limit)
