"""Search across the platform: catalog entities now, TechDocs pages later, best first.

The seam is `search(session, q, kind=..., limit=..., providers=...)`: it asks every provider for its hits and
merges them by score. A provider is a function `(session, terms, kind, limit) -> list[Hit]`; `PROVIDERS` holds the
entity provider. TechDocs (`roadbed/techdocs/`) joins by adding its own provider, yielding `Hit(type="docs", ...)`:

    from roadbed import search
    search.register_provider(techdocs_hits)

Entities are ranked in SQL, the same on SQLite and PostgreSQL: each row's `search_text` column (written with the
body, see `search_text`) holds its lower-cased name, title, description and tags between delimiter characters that
no query term can contain, so one LIKE pattern per field and term tests each rule below; the score is a CASE sum
and the database returns only the best `limit` rows (ties by ref).

Score (per query term, summed; every term must match name, title, description or a tag):
exact name 100, name prefix 60, exact title 55, exact tag 45, name substring 35, title substring 30,
tag substring 20, description substring 10.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, select
from sqlalchemy.orm import Session

from roadbed.storage.tables import CatalogEntityRow

MAX_QUERY = 200
MAX_LIMIT = 100
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


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


# search_text layout: NAME + name + TITLE + title + DESCRIPTION + description + TAGS + (TAG + tag)... + TAG.
# Query terms never hold control characters (`terms_of`), and the fields' own control characters become DEL
# (also never in a term), so a delimiter only ever marks a field boundary and no match spans two fields.
NAME, TITLE, DESCRIPTION, TAGS, TAG = "\x01", "\x02", "\x03", "\x04", "\x1f"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _fields(body: dict[str, Any]) -> tuple[str, str, str, list[str]]:
    """Lower-cased name, title, description and tags, as the score reads them."""
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    name = str(metadata.get("name") or "").lower()
    title = metadata.get("title").lower() if isinstance(metadata.get("title"), str) else ""
    description = metadata.get("description").lower() if isinstance(metadata.get("description"), str) else ""
    return name, title, description, [t.lower() for t in _strings(metadata.get("tags"))]


def search_text(body: dict[str, Any]) -> str:
    """The `catalog_entities.search_text` of an entity body (what `entity_hits` matches and ranks in SQL)."""
    name, title, description, tags = _fields(body)
    name, title, description = (_CONTROL.sub("\x7f", field) for field in (name, title, description))
    tags = [_CONTROL.sub("\x7f", tag) for tag in tags]
    return f"{NAME}{name}{TITLE}{title}{DESCRIPTION}{description}{TAGS}{TAG}{TAG.join(tags)}{TAG}"


def score_entity(body: dict[str, Any], terms: list[str]) -> float:
    """The entity's score for the terms (0 when a term matches none of name, title, description and tags)."""
    name, title, description, tags = _fields(body)
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


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _term_points(column: Any, term: str) -> ColumnElement[int]:
    """`score_entity`'s points of one term as SQL: the rules in descending order of points, so the first that holds is the max."""
    t = _escaped(term)

    def like(pattern: str) -> ColumnElement[bool]:
        return column.like(pattern, escape="\\")

    return case(
        (like(f"{NAME}{t}{TITLE}%"), 100),
        (like(f"{NAME}{t}%"), 60),
        (like(f"%{TITLE}{t}{DESCRIPTION}%"), 55),
        (like(f"%{TAG}{t}{TAG}%"), 45),
        (like(f"{NAME}%{t}%{TITLE}%"), 35),
        (like(f"%{TITLE}%{t}%{DESCRIPTION}%"), 30),
        (like(f"%{TAGS}%{t}%"), 20),
        (like(f"%{DESCRIPTION}%{t}%{TAGS}%"), 10),
        else_=0,
    )


def entity_hits(session: Session, terms: list[str], kind: str | None, limit: int) -> list[Hit]:
    """Catalog entities matching every term, best first: matched, scored, ordered and cut in SQL."""
    if not terms:
        return []
    text = CatalogEntityRow.search_text
    score = sum((_term_points(text, term) for term in terms[1:]), _term_points(text, terms[0]))
    ref = CatalogEntityRow.kind + ":" + CatalogEntityRow.namespace + "/" + CatalogEntityRow.name  # the hit's ref, in code-point order
    if session.get_bind().dialect.name == "postgresql":
        ref = ref.collate("C")
    query = select(CatalogEntityRow.kind, CatalogEntityRow.namespace, CatalogEntityRow.name, CatalogEntityRow.body, score.label("score"))
    if kind:
        query = query.where(CatalogEntityRow.kind == kind.strip().lower())
    for term in terms:  # every term in some field (no term holds a delimiter, so a match stays inside one field)
        query = query.where(text.like(f"%{_escaped(term)}%", escape="\\"))
    query = query.order_by(score.desc(), ref).limit(limit)
    hits = []
    for row_kind, namespace, row_name, body, points in session.execute(query):
        metadata = body.get("metadata") or {}
        title = metadata.get("title") if isinstance(metadata.get("title"), str) and metadata.get("title") else row_name
        description = metadata.get("description") if isinstance(metadata.get("description"), str) else ""
        tags = ", ".join(_strings(metadata.get("tags")))
        snippet_text = description or (f"Tags: {tags}" if tags else "")
        hits.append(Hit("entity", f"{row_kind}:{namespace}/{row_name}", str(title), entity_url(row_kind, namespace, row_name),
                        snippet_of(snippet_text, terms), float(points)))
    return hits


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
