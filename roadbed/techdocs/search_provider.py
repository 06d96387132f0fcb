"""TechDocs pages as a provider of the platform search (`roadbed.search`, `GET /v1/search`, `/search`).

Scores are kept on the entity provider's scale so the merge is fair: a page never outranks an entity found by its
exact name (100), exact title (70) or name prefix (50) for the same word, and beats an entity that only mentions
the word in its description (10)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from roadbed import search
from roadbed.techdocs.search import ranked_pages

PER_TERM_CAP = 45.0


def docs_hits(session: Session, terms: list[str], kind: str | None, limit: int) -> list[search.Hit]:
    ranked = ranked_pages(session, terms, limit, kind)
    return [search.Hit(score=min(points, PER_TERM_CAP * len(terms)), **hit) for points, hit in ranked]


def register() -> None:
    search.register_provider(docs_hits)
