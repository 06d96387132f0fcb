"""Search across the platform: catalog entities and TechDocs pages, best first.

The seam is `search(session, q, kind=..., limit=..., providers=...)`: it asks every provider for its hits and
merges them by score. A provider is a function `(session, terms, kind, limit) -> list[Hit]`; `PROVIDERS` holds the
entity provider. TechDocs (`roadbed/techdocs/`) joins by adding its own provider, yielding `Hit(type="docs", ...)`:

    from roadbed import search
    search.register_provider(techdocs_hits)

Entities are found with the engine database's full-text index (migration 0012: SQLite FTS5 `catalog_search`,
PostgreSQL `catalog_entities.search_vector`), built from each row's `search_text` column (written with the body,
see `search_text`). Every word of the query must be the start of a word of the name, title, tags or description
("ledg" finds "ledger"); the query is split into words in Python and each word is quoted, so no input reaches
the engines' query syntax (`roadbed.storage.fulltext`). Matched, scored, ordered and cut in SQL.

Score: 100 when the name is the query (its words joined by "-"), plus the best field any word starts a word of
(name 60, title 30, tags 20, description 10), plus up to 9 from the engine's own relevance over all fields weighted
name > title > tags > description (FTS5 `bm25`, PostgreSQL `ts_rank_cd`, squashed into [0, 1)). Ties by ref.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from roadbed.storage import fulltext
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
# The fields' own control characters become DEL, so a delimiter only ever marks a field boundary: migration 0012
# splits the fields out at the delimiters (SQLite `instr`/`substr`, PostgreSQL `split_part`) into the index.
NAME, TITLE, DESCRIPTION, TAGS, TAG = "\x01", "\x02", "\x03", "\x04", "\x1f"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _fields(body: dict[str, Any]) -> tuple[str, str, str, list[str]]:
    """Lower-cased name, title, description and tags, as the index reads them."""
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    name = str(metadata.get("name") or "").lower()
    title = metadata.get("title").lower() if isinstance(metadata.get("title"), str) else ""
    description = metadata.get("description").lower() if isinstance(metadata.get("description"), str) else ""
    return name, title, description, [t.lower() for t in _strings(metadata.get("tags"))]


def search_text(body: dict[str, Any]) -> str:
    """The `catalog_entities.search_text` of an entity body: what the full-text index holds (migration 0012)."""
    name, title, description, tags = _fields(body)
    name, title, description = (_CONTROL.sub("\x7f", field) for field in (name, title, description))
    tags = [_CONTROL.sub("\x7f", tag) for tag in tags]
    return f"{NAME}{name}{TITLE}{title}{DESCRIPTION}{description}{TAGS}{TAG}{TAG.join(tags)}{TAG}"


_ENTITY_FIELD_POINTS = ((60, "name"), (30, "title"), (20, "tags"))  # else 10: the description


def _sqlite_ranked(kind_filter: str) -> str:
    """Best first, in two steps so that a common word (thousands of matches) reads the index's stored columns only
    for the few that can make the cut: `scored` ranks every match from the index alone (bm25), `cut` is the
    `limit`-th best of those scores, and only the matches at or above it, and those whose name is the query (the
    exact-name bonus can lift a match over the cut; found by the name starting with the query's words), are read."""
    columns = ("name", "title", "tags", "description", "ref", "kind", "label")  # catalog_search (migration 0012)

    def bm25(**weights: float) -> str:
        return f"bm25(catalog_search, {', '.join(str(float(weights.get(column, 0))) for column in columns)})"

    # bm25 weighted on one column only is below 0 exactly when a word is in that column
    fields = " ".join(f"WHEN {bm25(**{column: 1})} < 0 THEN {points}" for points, column in _ENTITY_FIELD_POINTS)
    return f"""
        WITH scored AS MATERIALIZED (
            SELECT rowid AS id,
                   (CASE {fields} ELSE 10 END) + 9.0 * (1.0 - 1.0 / (1.0 - {bm25(name=8, title=4, tags=2, description=1)})) AS points
            FROM catalog_search
            WHERE catalog_search MATCH :match {kind_filter}),
        cut AS (SELECT coalesce((SELECT points FROM scored ORDER BY points DESC LIMIT 1 OFFSET :limit - 1), -1) AS points),
        exact AS (SELECT rowid AS id FROM catalog_search WHERE catalog_search MATCH :exact_match AND name IN (:exact, :exact_words))
        SELECT f.ref, (CASE WHEN f.rowid IN (SELECT id FROM exact) THEN 100 ELSE 0 END) + s.points AS score
        FROM scored s JOIN catalog_search f ON f.rowid = s.id
        WHERE s.points >= (SELECT points FROM cut) OR s.id IN (SELECT id FROM exact)
        ORDER BY score DESC, f.label
        LIMIT :limit"""


def _postgresql_ranked(kind_filter: str) -> str:
    """Best first, in two steps so that a common word (thousands of matches) is not ranked by `ts_rank_cd` (the
    costly part) thousands of times: `tiered` gives every match its exact-name bonus and field points, `cut` is the
    `limit`-th best of those, and only the matches in that tier or above are ranked. Tiers are 10 or more apart and
    the rank adds under 9, so no match below the cut could have made the first `limit`."""
    fields = " ".join(f"WHEN e.search_vector @@ to_tsquery('simple', :{column}) THEN {points}" for points, column in _ENTITY_FIELD_POINTS)
    return f"""
        WITH tiered AS MATERIALIZED (
            SELECT e.ref, (e.kind || ':' || e.namespace || '/' || e.name) AS label, e.search_vector,
                   (CASE WHEN lower(e.name) IN (:exact, :exact_words) THEN 100 ELSE 0 END) + (CASE {fields} ELSE 10 END) AS tier
            FROM catalog_entities e
            WHERE e.search_vector @@ to_tsquery('simple', :match) {kind_filter}),
        cut AS (SELECT coalesce((SELECT tier FROM tiered ORDER BY tier DESC LIMIT 1 OFFSET :limit - 1), 0) AS tier)
        SELECT ref, tier + 9.0 * ts_rank_cd('{{0.1, 0.2, 0.4, 1.0}}', search_vector, to_tsquery('simple', :match), 1 | 32) AS score
        FROM tiered
        WHERE tier >= (SELECT tier FROM cut)
        ORDER BY score DESC, label COLLATE "C"
        LIMIT :limit"""


def entity_hits(session: Session, terms: list[str], kind: str | None, limit: int) -> list[Hit]:
    """Catalog entities matching every word, best first: matched, scored, ordered and cut in SQL (see the module doc)."""
    tokens = fulltext.tokens_of(terms)
    if not tokens or limit <= 0:
        return []
    params: dict[str, Any] = {"exact": "-".join(terms), "exact_words": "-".join(tokens), "limit": limit, "kind": (kind or "").strip().lower()}
    if fulltext.is_postgresql(session):
        params["match"] = fulltext.tsquery_text(tokens)
        weights = {"name": "A", "title": "B", "tags": "C"}
        params.update({column: fulltext.tsquery_text(tokens, weights=weights[column], any_token=True) for _, column in _ENTITY_FIELD_POINTS})
        ranked = session.execute(text(_postgresql_ranked("AND e.kind = :kind" if kind else "")), params).all()
    else:
        params["match"] = fulltext.fts5_query(tokens)
        phrases = dict.fromkeys("^" + fulltext.fts5_phrase(fulltext.words_of(params[key])) for key in ("exact", "exact_words"))
        params["exact_match"] = "{name} : (" + " OR ".join(phrases) + ")"
        ranked = session.execute(text(_sqlite_ranked("AND kind = :kind" if kind else "")), params).all()
    rows = {row.ref: row for row in session.execute(select(CatalogEntityRow.ref, CatalogEntityRow.kind, CatalogEntityRow.namespace,
                                                           CatalogEntityRow.name, CatalogEntityRow.body)
                                                    .where(CatalogEntityRow.ref.in_([ref for ref, _ in ranked])))}
    hits = []
    for ref, points in ranked:
        row = rows.get(ref)
        if row is None:  # removed since the ranking query read the index (another transaction)
            continue
        metadata = (row.body or {}).get("metadata") or {}
        title = metadata.get("title") if isinstance(metadata.get("title"), str) and metadata.get("title") else row.name
        description = metadata.get("description") if isinstance(metadata.get("description"), str) else ""
        tags = ", ".join(_strings(metadata.get("tags")))
        snippet_text = description or (f"Tags: {tags}" if tags else "")
        hits.append(Hit("entity", f"{row.kind}:{row.namespace}/{row.name}", str(title), entity_url(row.kind, row.namespace, row.name),
                        snippet_of(snippet_text, tokens), float(points)))
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
