"""Where TechDocs live: the entity key (checked, lower-cased), the site folder, and the rows of each build."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from roadbed.domain.errors import NotFound
from roadbed.techdocs.pages import IndexedPage
from roadbed.techdocs.tables import TechDocsPageRow, TechDocsSiteRow

# Backstage's entity names and namespaces (letters, digits, `-_.` between them, at most 63) and kinds (letters).
_NAME = re.compile(r"^[a-z0-9]+(?:[-_.][a-z0-9]+)*$")
_KIND = re.compile(r"^[a-z][a-z0-9]{0,31}$")
# A build queued or running for longer than this was lost (its process stopped): following the repository
# queues it again instead of waiting for it forever.
IN_FLIGHT_FOR_AT_MOST = timedelta(minutes=15)


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


def mark_building(session: Session, key: DocsKey, commit: str | None) -> None:
    """The build read `commit` and is checking it out: what it tries from now on, whatever its outcome."""
    row = _row(session, key)
    row.state, row.attempted_commit = "building", commit


def record_success(session: Session, key: DocsKey, *, commit: str | None, site_name: str, pages: list[IndexedPage], seconds: float, now: datetime) -> None:
    row = _row(session, key)
    row.state, row.commit, row.built_at, row.pages, row.error, row.site_name, row.seconds = "built", commit, now, len(pages), None, site_name[:200], seconds
    row.attempted_commit = commit
    session.flush()
    session.execute(delete(TechDocsPageRow).where(TechDocsPageRow.site_ref == key.ref))
    session.add_all(TechDocsPageRow(site_ref=key.ref, path=p.path[:500], title=p.title[:300], text=p.text) for p in pages)


def record_failure(session: Session, key: DocsKey, error: str, commit: str | None = None) -> None:
    """The published site (if any) stays; the error says why the newer build did not replace it. `commit` (when the
    build got as far as reading it) is remembered, so the same commit is not rebuilt until something changes."""
    row = _row(session, key)
    row.state, row.error, row.attempted_commit = "failed", error[:2000], commit


@dataclass(frozen=True)
class Attempt:
    """What following a repository needs to know of an entity's docs: the commit last tried and whether a build is
    queued or running (since `requested_at`)."""

    state: str
    attempted_commit: str | None
    requested_at: datetime | None

    def needs_build(self, head: str, now: datetime) -> bool:
        """Whether `head` should be built: not when it is the commit last tried or being built, nor while a build is
        queued (it will read the newest head). A build queued or running for too long was lost: it is asked again."""
        if self.state in ("queued", "building"):
            if self.requested_at is not None and now - self.requested_at < IN_FLIGHT_FOR_AT_MOST:
                return self.state == "building" and head != self.attempted_commit
            return True
        return head != self.attempted_commit


def attempts(session: Session, refs: list[str] | None = None) -> dict[str, Attempt]:
    """The last attempt per entity ref (all entities, or those in `refs`), in one query."""
    query = select(TechDocsSiteRow.ref, TechDocsSiteRow.state, TechDocsSiteRow.attempted_commit, TechDocsSiteRow.commit, TechDocsSiteRow.requested_at)
    if refs is not None:
        query = query.where(TechDocsSiteRow.ref.in_(refs))
    # rows built before `attempted_commit` existed: their published commit is the one last tried
    return {ref: Attempt(state, attempted or commit, requested) for ref, state, attempted, commit, requested in session.execute(query)}


def settle_unchanged(session: Session, key: DocsKey) -> None:
    """A queued build found the commit it was asked for already tried: the state goes back to that outcome."""
    row = _row(session, key)
    row.state = "failed" if row.error else "built"


def status(session: Session, key: DocsKey) -> dict[str, Any] | None:
    row = session.get(TechDocsSiteRow, key.ref)
    if row is None:
        return None
    body: dict[str, Any] = {"built_at": row.built_at.isoformat() if row.built_at else None, "commit": row.commit, "pages": row.pages, "state": row.state}
    if row.error:
        body["error"] = row.error
    return body
