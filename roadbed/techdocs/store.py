"""Where TechDocs live: the entity key (checked, lower-cased), the site folder, and the rows of each build."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from roadbed.domain.errors import NotFound
from roadbed.techdocs.pages import IndexedPage
from roadbed.techdocs.tables import TechDocsPageRow, TechDocsSiteRow

# Backstage's entity names and namespaces (letters, digits, `-_.` between them, at most 63) and kinds (letters).
_NAME = re.compile(r"^[a-z0-9]+(?:[-_.][a-z0-9]+)*$")
_KIND = re.compile(r"^[a-z][a-z0-9]{0,31}$")


@dataclass(frozen=True)
class DocsKey:
    namespace: str
    kind: str
    name: str

    @classmethod
    def of(cls, namespace: str, kind: str, name: str) -> DocsKey:
        """Any case in, lower case out; anything else than an entity name (`..`, `/`, `%2e`) is refused."""
        ns, kd, nm = namespace.lower(), kind.lower(), name.lower()
        if not (_NAME.match(ns) and len(ns) <= 63 and _KIND.match(kd) and _NAME.match(nm) and len(nm) <= 63):
            raise NotFound(f"not an entity: {namespace[:70]!r}/{kind[:40]!r}/{name[:70]!r}")
        return cls(ns, kd, nm)

    @property
    def ref(self) -> str:
        return f"{self.kind}:{self.namespace}/{self.name}"

    @property
    def url(self) -> str:
        return f"/docs/{self.namespace}/{self.kind}/{self.name}/"

    def site_dir(self, home: Path) -> Path:
        return home / "techdocs" / self.namespace / self.kind / self.name


def _row(session: Session, key: DocsKey) -> TechDocsSiteRow:
    row = session.get(TechDocsSiteRow, key.ref)
    if row is None:
        row = TechDocsSiteRow(ref=key.ref, namespace=key.namespace, kind=key.kind, name=key.name, state="queued", pages=0)
        session.add(row)
    return row


def mark(session: Session, key: DocsKey, state: str, now: datetime) -> None:
    row = _row(session, key)
    row.state = state
    if state == "queued":
        row.requested_at = now


def record_success(session: Session, key: DocsKey, *, commit: str | None, site_name: str, pages: list[IndexedPage], seconds: float, now: datetime) -> None:
    row = _row(session, key)
    row.state, row.commit, row.built_at, row.pages, row.error, row.site_name, row.seconds = "built", commit, now, len(pages), None, site_name[:200], seconds
    session.flush()
    session.execute(delete(TechDocsPageRow).where(TechDocsPageRow.site_ref == key.ref))
    session.add_all(TechDocsPageRow(site_ref=key.ref, path=p.path[:500], title=p.title[:300], text=p.text) for p in pages)


def record_failure(session: Session, key: DocsKey, error: str) -> None:
    """The published site (if any) stays; the error says why the newer build did not replace it."""
    row = _row(session, key)
    row.state, row.error = "failed", error[:2000]


def status(session: Session, key: DocsKey) -> dict[str, Any] | None:
    row = session.get(TechDocsSiteRow, key.ref)
    if row is None:
        return None
    body: dict[str, Any] = {"built_at": row.built_at.isoformat() if row.built_at else None, "commit": row.commit, "pages": row.pages, "state": row.state}
    if row.error:
        body["error"] = row.error
    return body
