"""Search across the platform: catalog entities now, TechDocs pages later, best first.

The seam is `search(session, q, kind=..., limit=..., providers=...)`: it asks every provider for its hits and
merges them by score. A provider is a function `(session, terms, kind, limit) -> list[Hit]`; `PROVIDERS` holds the
entity provider. TechDocs (`roadbed/techdocs/`) joins by adding its own provider, yielding `Hit(type="docs", ...)`:

    from roadbed import search
    search.register_provider(techdocs_hits)

Entities are ranked by a LIKE query that works on SQLite and PostgreSQL alike: the database narrows the
candidates (the name column, and the stored body text for title, description and tags) and orders them exact name
first, then name prefix, then name substring; the score below decides the final order.

Score (per query term, summed; every term must match name, title, description or a tag):
exact name 100, name prefix 60, exact title 55, exact tag 45, name substring 35, title substring 30,
tag substring 20, description substring 10.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, case, cast, func, or_, select
from sqlalchemy.orm import Session

from roadbed.storage.tables import CatalogEntityRow

MAX_QUERY = 200
MAX_LIMIT = 100
CANDIDATES = 2000
SNIPPET = 160


@dataclass(frozen=True)
class Hit:
    type: str  # "entity" | "docs"
    ref: str
    title: str
    url: str
    snippet: str
    score: float

    def as_dict(self) -> dict[str, str]:
        return {"type": self.type, "ref": self.ref, "title": self.title, "url": self.url, "snippet": self.snippet}


Provider = Callable[[Session, list[str], "str | None", int], list[Hit]]


def terms_of(q: str) -> list[str]:
    """Lower-cased words of the query (at most 8), control characters dropped."""
    cleaned = re.sub(r"[\x00-\x1f\x7f]", " ", q[:MAX_QUERY]).lower()
    return [t for t in cleaned.split() if t][:8]


def entity_url(kind: str, namespace: str, name: str) -> str:
    return f"/catalog/{kind.lower()}/{namespace}/{name}"


def snippet_of(text: str, terms: list[str], width: int = SNIPPET) -> str:
    """Plain text around the first match of a term (the whole text when short)."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    lowered = text.lower()
    at = min((i for i in (lowered.find(t) for t in terms) if i >= 0), default=0)
    start = max(0, at - width // 3)
    end = min(len(text), start + width)
    return ("…" if start else "") + text[start:end].strip() + ("…" if end < len(text) else "")


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _json_safe(text: str) -> bool:
    return all(" " <= c <= "~" for c in text) and '"' not in text and "\\" not in text


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def score_entity(body: dict[str, Any], terms: list[str]) -> float:
    """The entity's score for the terms (0 when a term matches none of name, title, description and tags)."""
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    name = str(metadata.get("name") or "").lower()
    title = metadata.get("title").lower() if isinstance(metadata.get("title"), str) else ""
    description = metadata.get("description").lower() if isinstance(metadata.get("description"), str) else ""
    tags = [t.lower() for t in _strings(metadata.get("tags"))]
    total = 0.0
    for term in terms:
        points = max(
            100 if name == term else 60 if name.startswith(term) else 35 if term in name else 0,
            55 if title == term else 30 if term in title else 0,
            45 if term in tags else 20 if any(term in t for t in tags) else 0,
            10 if term in description else 0,
        )
        if not points:
            return 0.0
        total += points
    return total


def entity_hits(session: Session, terms: list[str], kind: str | None, limit: int) -> list[Hit]:
    """Catalog entities matching every term, best first."""
    if not terms:
        return []
    body_text = func.lower(cast(CatalogEntityRow.body, Text))
    name = func.lower(CatalogEntityRow.name)
    query = select(CatalogEntityRow.kind, CatalogEntityRow.namespace, CatalogEntityRow.name, CatalogEntityRow.body)
    if kind:
        query = query.where(CatalogEntityRow.kind == kind.strip().lower())
    for term in (t for t in terms if _json_safe(t)):  # other terms (JSON escapes them in the body text) are checked below only
        query = query.where(or_(name.like(_like(term), escape="\\"), body_text.like(_like(term), escape="\\")))
    first = terms[0]
    query = query.order_by(
        case((name == first, 0), (name.like(_like(first)[1:], escape="\\"), 1), (name.like(_like(first), escape="\\"), 2), else_=3),
        CatalogEntityRow.ref,
    ).limit(CANDIDATES)
    hits = []
    for row_kind, namespace, row_name, body in session.execute(query):
        score = score_entity(body, terms)
        if not score:
            continue
        metadata = body.get("metadata") or {}
        title = metadata.get("title") if isinstance(metadata.get("title"), str) and metadata.get("title") else row_name
        description = metadata.get("description") if isinstance(metadata.get("description"), str) else ""
        tags = ", ".join(_strings(metadata.get("tags")))
        text = description or (f"Tags: {tags}" if tags else "")
        hits.append(Hit("entity", f"{row_kind}:{namespace}/{row_name}", str(title), entity_url(row_kind, namespace, row_name),
                        snippet_of(text, terms), score))
    hits.sort(key=lambda h: (-h.score, h.ref))
    return hits[:limit]


PROVIDERS: list[Provider] = [entity_hits]


def register_provider(provider: Provider) -> None:
    """Add a provider (TechDocs adds its page index here); adding the same one twice changes nothing."""
    if provider not in PROVIDERS:
        PROVIDERS.append(provider)


def merge(hit_lists: Iterable[list[Hit]], limit: int) -> list[Hit]:
    """Hits of every provider in one list, best score first (ties: entities before docs, then by ref); no ref twice."""
    seen: set[tuple[str, str]] = set()
    merged = []
    for hit in sorted((h for hits in hit_lists for h in hits), key=lambda h: (-h.score, h.type != "entity", h.ref, h.url)):
        if (hit.type, hit.url) not in seen:
            seen.add((hit.type, hit.url))
            merged.append(hit)
    return merged[:limit]


def search(session: Session, q: str, *, kind: str | None = None, limit: int = 20, providers: Iterable[Provider] | None = None) -> list[Hit]:
    """Hits for `q` from every provider, best first; `kind` narrows to one entity kind."""
    terms = terms_of(q)
    limit = max(1, min(limit, MAX_LIMIT))
    return merge((provider(session, terms, kind, limit) for provider in (PROVIDERS if providers is None else providers)), limit)
