"""Search over built TechDocs pages: every word of the query must appear (title or text, any case), ranked by
where and how often it appears, with a plain-text snippet around the first match.

Ranked LIKE, the same on SQLite and PostgreSQL: candidates come from the database (all words present), the
ranking and snippets are computed here over at most `MAX_CANDIDATES` pages.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from roadbed.storage.database import Database
from roadbed.techdocs.tables import TechDocsPageRow, TechDocsSiteRow

MAX_TERMS = 8
MAX_CANDIDATES = 500
SNIPPET_CHARS = 160
_WORD = re.compile(r"[\w.:/-]+", re.UNICODE)


def terms_of(query: str) -> list[str]:
    words = [w.strip(".:/-").lower() for w in _WORD.findall(query or "")]
    return list(dict.fromkeys(w for w in words if len(w) >= 2))[:MAX_TERMS]


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


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


def score(title: str, text: str, terms: list[str]) -> float:
    title_l, text_l = title.lower(), text.lower()
    points = 40.0 if title_l.strip() == " ".join(terms) else 0.0  # the page titled exactly what was asked
    for term in terms:
        points += 10.0 * (term in title_l) + min(text_l.count(term), 20) + (5.0 if re.search(rf"\b{re.escape(term)}\b", text_l) else 0.0)
    return points / (1.0 + len(text_l) / 20_000)  # a short page about the words beats a long one mentioning them


def ranked_pages(session: Session, terms: list[str], limit: int, kind: str | None = None) -> list[tuple[float, dict[str, Any]]]:
    """(score, hit) for the pages holding every term, best first; `kind` narrows to one entity kind."""
    terms = [t.lower() for t in terms if t][:MAX_TERMS]
    if not terms or limit <= 0:
        return []
    conditions = [or_(TechDocsPageRow.title.ilike(_like(t), escape="\\"), TechDocsPageRow.text.ilike(_like(t), escape="\\")) for t in terms]
    if kind:
        conditions.append(TechDocsSiteRow.kind == kind.lower())
    rows = session.execute(
        select(TechDocsPageRow.path, TechDocsPageRow.title, TechDocsPageRow.text, TechDocsSiteRow)
        .join(TechDocsSiteRow, TechDocsSiteRow.ref == TechDocsPageRow.site_ref)
        .where(and_(*conditions))
        .limit(MAX_CANDIDATES)
    ).all()
    scored = sorted(((score(r.title, r.text, terms), r) for r in rows), key=lambda pair: (-pair[0], pair[1].TechDocsSiteRow.ref, pair[1].path))
    hits = []
    for points, row in scored[:limit]:
        site = row.TechDocsSiteRow
        name = site.site_name or site.name
        hits.append((points, {
            "type": "docs",
            "ref": site.ref,
            "title": row.title if row.title == name else f"{row.title} · {name}",
            "url": f"/docs/{site.namespace}/{site.kind}/{site.name}/{row.path}",
            "snippet": snippet(row.text, terms),
        }))
    return hits


def search_docs(session_or_db: Session | Database, query: str, limit: int = 20) -> list[dict[str, Any]]:
    """Best first: `{"type": "docs", "ref", "title", "url", "snippet"}` for each page holding every word."""
    if isinstance(session_or_db, Database):
        with session_or_db.transaction() as session:
            return search_docs(session, query, limit)
    return [hit for _points, hit in ranked_pages(session_or_db, terms_of(query), limit)]
