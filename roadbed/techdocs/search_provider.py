"""TechDocs pages as a provider of the platform search (`roadbed.search`, `GET /v1/search`, `/search`).

`ranked_pages` already scores pages on the entity provider's scale (a page: 5 to 54; an entity found by its name:
60 and up, by its title 30 to 39, by a tag 20 to 29, by its description 10 to 19), so the merge is fair as it is:
a page never outranks an entity found by its name, and a page titled with the word outranks an entity that only
mentions it in its description."""

from __future__ import annotations

from sqlalchemy.orm import Session

from roadbed import search
from roadbed.techdocs.search import ranked_pages


def docs_hits(session: Session, terms: list[str], kind: str | None, limit: int) -> list[search.Hit]:
    return [search.Hit(score=points, **hit) for points, hit in ranked_pages(session, terms, limit, kind)]


def register() -> None:
    search.register_provider(docs_hits)
