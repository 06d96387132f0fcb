"""Search over built TechDocs pages: every word of the query must start a word of the page's title or text (any
case; "oomk" finds "OOMKilled"), best first, with a plain-text snippet around the first match.

Full-text, in the engine database (migration 0012): SQLite's FTS5 `techdocs_search` (kept in sync with
`techdocs_pages` by triggers, so the TechDocs store writes pages as before) ranked by `bm25`, PostgreSQL's
`techdocs_pages.search_vector` (GIN) ranked by `ts_rank_cd`. The query is split into words in Python and each word
quoted (`roadbed.storage.fulltext`), so no input reaches either engine's query syntax.

Score, on the entity search's scale (`roadbed.search`) so the two merge fairly: 25 when a word is in the title, else
5; plus 20 when the title is the query; plus up to 9 from the engine's relevance (title weighted over text, short
pages over long ones). A page never outranks an entity found by its name (60 and up).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from roadbed.storage import fulltext
from roadbed.storage.database import Database
from roadbed.techdocs.tables import TechDocsPageRow, TechDocsSiteRow

MAX_TERMS = fulltext.MAX_TOKENS
SNIPPET_CHARS = 160


def terms_of(query: str) -> list[str]:
    """The query's distinct lower-cased words (letters and digits), at most `MAX_TERMS`."""
    return fulltext.tokens_of([query or ""])


def snippet(text: str, terms: list[str], width: int = SNIPPET_CHARS) -> str:
    lowered = text.lower()
    at = min((i for i in (lowered.find(t) for t in terms) if i >= 0), default=0)
    start = max(0, at - width // 3)
    if start:
        space = text.rfind(" ", 0, start)
        start = space + 1 if space >= 0 and start - space < 20 else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start + width // 2, end)
        end = space if space > 0 else end
    return ("…" if start else "") + text[start:end].strip() + ("…" if end < len(text) else "")


_SQLITE_RANKED = """
    SELECT p.id,
           (CASE WHEN lower(p.title) = :exact THEN 20 ELSE 0 END)
           + (CASE WHEN bm25(techdocs_search, 1.0, 0.0) < 0 THEN 25 ELSE 5 END)
           + 9.0 * (1.0 - 1.0 / (1.0 - bm25(techdocs_search, 4.0, 1.0))) AS score
    FROM techdocs_search
    JOIN techdocs_pages p ON p.id = techdocs_search.rowid
    JOIN techdocs_sites s ON s.ref = p.site_ref
    WHERE techdocs_search MATCH :match {kind_filter}
    ORDER BY score DESC, s.ref, p.path
    LIMIT :limit"""

_POSTGRESQL_RANKED = """
    SELECT p.id,
           (CASE WHEN lower(p.title) = :exact THEN 20 ELSE 0 END)
           + (CASE WHEN p.search_vector @@ to_tsquery('simple', :in_title) THEN 25 ELSE 5 END)
           + 9.0 * ts_rank_cd('{{0.1, 0.2, 0.4, 1.0}}', p.search_vector, to_tsquery('simple', :match), 1 | 32) AS score
    FROM techdocs_pages p
    JOIN techdocs_sites s ON s.ref = p.site_ref
    WHERE p.search_vector @@ to_tsquery('simple', :match) {kind_filter}
    ORDER BY score DESC, s.ref COLLATE "C", p.path COLLATE "C"
    LIMIT :limit"""


def ranked_pages(session: Session, terms: list[str], limit: int, kind: str | None = None) -> list[tuple[float, dict[str, Any]]]:
    """(score, hit) for the pages holding every word, best first; `kind` narrows to one entity kind."""
    tokens = fulltext.tokens_of(terms)
    if not tokens or limit <= 0:
        return []
    params: dict[str, Any] = {"exact": " ".join(t.lower() for t in terms if t), "limit": limit}
    kind_filter = ""
    if kind:
        kind_filter, params["kind"] = "AND s.kind = :kind", kind.strip().lower()
    if fulltext.is_postgresql(session):
        params.update(match=fulltext.tsquery_text(tokens), in_title=fulltext.tsquery_text(tokens, weights="A", any_token=True))
        ranked = session.execute(text(_POSTGRESQL_RANKED.format(kind_filter=kind_filter)), params).all()
    else:
        params["match"] = fulltext.fts5_query(tokens)
        ranked = session.execute(text(_SQLITE_RANKED.format(kind_filter=kind_filter)), params).all()
    rows = {row.TechDocsPageRow.id: row for row in session.execute(
        select(TechDocsPageRow, TechDocsSiteRow).join(TechDocsSiteRow, TechDocsSiteRow.ref == TechDocsPageRow.site_ref)
        .where(TechDocsPageRow.id.in_([r.id for r in ranked])))}
    hits = []
    for page_id, points in ranked:
        if page_id not in rows:  # replaced by a rebuild since the ranking query read the index (another transaction)
            continue
        page, site = rows[page_id].TechDocsPageRow, rows[page_id].TechDocsSiteRow
        name = site.site_name or site.name
        hits.append((float(points), {
            "type": "docs",
            "ref": site.ref,
            "title": page.title if page.title == name else f"{page.title} · {name}",
            "url": f"/docs/{site.namespace}/{site.kind}/{site.name}/{page.path}",
            "snippet": snippet(page.text, tokens),
        }))
    return hits


def search_docs(session_or_db: Session | Database, query: str, limit: int = 20) -> list[dict[str, Any]]:
    """Best first: `{"type": "docs", "ref", "title", "url", "snippet"}` for each page holding every word."""
    if isinstance(session_or_db, Database):
        with session_or_db.transaction() as session:
            return search_docs(session, query, limit)
    return [hit for _points, hit in ranked_pages(session_or_db, terms_of(query), limit)]
