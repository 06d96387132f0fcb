"""The search page: the same hits as `GET /v1/search`, the query's words highlighted (escaped first, then marked)."""

from __future__ import annotations

import asyncio
import re

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from markupsafe import Markup, escape

from roadbed.api.portal.common import Me, mark_portal
from roadbed.api.portal.views import render
from roadbed.api.routers.search import run_search
from roadbed.catalog import KINDS
from roadbed.domain.errors import FieldError, InvalidRequest
from roadbed.search import MAX_QUERY, terms_of

router = APIRouter(include_in_schema=False, dependencies=[Depends(mark_portal)])


def highlight(text: str, terms: list[str]) -> Markup:
    """`text` escaped, with each case-insensitive occurrence of a term wrapped in <mark>."""
    if not terms:
        return escape(text)
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.IGNORECASE)
    out, at = [], 0
    for found in pattern.finditer(text):
        out.append(escape(text[at:found.start()]))
        out.append(Markup("<mark>%s</mark>") % found.group(0))
        at = found.end()
    out.append(escape(text[at:]))
    return Markup("").join(out)


@router.get("/search")
async def search_page(request: Request, me: Me, q: str = "", kind: str = "") -> Response:
    if len(q) > MAX_QUERY:
        raise InvalidRequest([FieldError("q", f"q must be at most {MAX_QUERY} characters")])
    kinds = sorted(k.lower() for k in KINDS)
    kind = kind.strip().lower() if kind.strip().lower() in kinds else ""
    terms = terms_of(q)
    hits = await asyncio.to_thread(run_search, request.app.state.roadbed, q, kind or None, 50) if terms else []
    return render(request, "search.html", signed_in=me, title=f"Search: {q}" if q else "Search", q=q, kind=kind, kinds=kinds, hits=hits,
                  mark=lambda text: highlight(text, terms))
